// signal.ts: the little of signals the chapter needs: pending signals, the blocked mask, and a
// signal waking an interruptible sleeper.
// Linux 4.6.2: kernel/signal.c, include/linux/sched.h (signal_pending). Book: §3.3
// (TASK_INTERRUPTIBLE: a signal ends the wait; EINTR), §3.4.3 (epoll_pwait's mask).
//
// Interface:
// * kill(k, p, sig = SIGUSR1): send_signal -> complete_signal: sig joins p's pending set; if p
//   does not block it (wants_signal), TIF_SIGPENDING (p.sigpending) is set and
//   signal_wake_up_state wakes p from TASK_INTERRUPTIBLE.
// * set_current_blocked(k, mask) / sigprocmask(k, how, set): change current->blocked (SIGKILL and
//   SIGSTOP cannot be blocked), then recalc_sigpending.
// * do_signal(k, p) on the way back to user space: every pending signal p does not block is
//   delivered to its handler (a no-op), then a mask saved by set_restore_sigmask is restored.
// * SYSC_pause: sleep until a signal arrives; returns -EINTR (ERESTARTNOHAND seen by user).
//
// Model vs kernel: one handler for every signal (a no-op installed without SA_RESTART), so an
// interrupted syscall returns -EINTR; no queue of siginfo, no real-time signals, no default
// actions (SIGKILL does not kill). Signal sets are bit masks of signals 1..31 (bit sig - 1).

import type { Kernel } from "./kernel";
import { schedule, try_to_wake_up, TASK_INTERRUPTIBLE, type KGen, type TaskStruct } from "./sched";
import { EINTR, EINVAL } from "./errno";

// arch/x86/include/uapi/asm/signal.h
export const SIGINT = 2;
export const SIGKILL = 9;
export const SIGUSR1 = 10;
export const SIGUSR2 = 12;
export const SIGALRM = 14;
export const SIGSTOP = 19;
// include/uapi/asm-generic/signal-defs.h
export const SIG_BLOCK = 0;
export const SIG_UNBLOCK = 1;
export const SIG_SETMASK = 2;
/** sizeof(sigset_t) on x86-64 (_NSIG = 64 bits): the sigsetsize rt_sigprocmask and epoll_pwait want. */
export const SIGSET_SIZE = 8;

/** sigmask(sig): the bit of one signal in a sigset. */
export function sigmask(sig: number): number {
  return (1 << (sig - 1)) >>> 0;
}

/** recalc_sigpending: TIF_SIGPENDING <=> a pending signal is not blocked. */
export function recalc_sigpending(p: TaskStruct): void {
  p.sigpending = (p.sigPendingSet & ~p.blocked) !== 0;
}

/** kill(pid, sig) as seen by the target: pending + signal_wake_up_state(t, 0) if not blocked. */
export function kill(k: Kernel, p: TaskStruct, sig = SIGUSR1): void {
  p.sigPendingSet = (p.sigPendingSet | sigmask(sig)) >>> 0;
  if (p.blocked & sigmask(sig)) return; // wants_signal: blocked, stays pending, no wakeup
  p.sigpending = true;
  k.tr?.enter("signal_wake_up_state", `signal_wake_up_state(${p.comm}, 0)`, "signal pending: wake an interruptible sleep");
  try_to_wake_up(k, p, TASK_INTERRUPTIBLE, 0);
  k.tr?.exit();
}

/** set_current_blocked(newset): SIGKILL and SIGSTOP stay unblocked; recalc_sigpending. */
export function set_current_blocked(k: Kernel, newset: number): void {
  const p = k.current;
  p.blocked = (newset & ~(sigmask(SIGKILL) | sigmask(SIGSTOP))) >>> 0;
  recalc_sigpending(p);
}

/** sigprocmask(how, set, oldset): 0, or -EINVAL for a bad how. Returns the old mask in old.v. */
export function sigprocmask(k: Kernel, how: number, set: number, old?: { v: number }): number {
  const p = k.current;
  if (old) old.v = p.blocked;
  let newset: number;
  if (how === SIG_BLOCK) newset = p.blocked | set;
  else if (how === SIG_UNBLOCK) newset = p.blocked & ~set;
  else if (how === SIG_SETMASK) newset = set;
  else return -EINVAL;
  set_current_blocked(k, newset);
  return 0;
}

/** do_signal (arch/x86/kernel/signal.c) on the return to user space: deliver every pending
 *  signal that is not blocked (the no-op handler runs), then restore_saved_sigmask. */
export function do_signal(p: TaskStruct): void {
  if (p.sigpending) p.sigPendingSet = (p.sigPendingSet & p.blocked) >>> 0; // handlers ran
  if (p.saved_sigmask !== null) {
    // set_restore_sigmask(): the mask epoll_pwait / pselect replaced comes back after delivery
    p.blocked = p.saved_sigmask;
    p.saved_sigmask = null;
  }
  recalc_sigpending(p);
}

/** SYSCALL_DEFINE0(pause): sleep in TASK_INTERRUPTIBLE until a signal is pending. */
export function* SYSC_pause(k: Kernel): KGen<number> {
  while (!k.current.sigpending) {
    k.current.state = TASK_INTERRUPTIBLE;
    yield* schedule(k);
  }
  return -EINTR;
}
