// signal.ts: the little of signals the chapter needs: a signal wakes an interruptible sleeper.
// Linux 4.6.2: kernel/signal.c. Book: §3.3 (TASK_INTERRUPTIBLE: a signal ends the wait; EINTR).
//
// Interface:
// * kill(k, p): send a signal to p (send_signal -> complete_signal -> signal_wake_up_state):
//   sets the pending flag and wakes p if it sleeps in TASK_INTERRUPTIBLE.
// * SYSC_pause: sleep until a signal arrives; returns -EINTR (ERESTARTNOHAND seen by user).
//
// Model vs kernel: one signal kind with a no-op handler installed without SA_RESTART, so the
// interrupted syscall returns -EINTR; no signal masks, queues or real-time signals.

import type { Kernel } from "./kernel";
import { schedule, try_to_wake_up, TASK_INTERRUPTIBLE, type KGen, type TaskStruct } from "./sched";
import { EINTR } from "./errno";

/** kill(pid, sig) as seen by the target: pending + signal_wake_up_state(t, 0). */
export function kill(k: Kernel, p: TaskStruct): void {
  p.sigpending = true;
  k.tr?.enter("signal_wake_up_state", `signal_wake_up_state(${p.comm}, 0)`, "signal pending: wake an interruptible sleep");
  try_to_wake_up(k, p, TASK_INTERRUPTIBLE, 0);
  k.tr?.exit();
}

/** SYSCALL_DEFINE0(pause): sleep in TASK_INTERRUPTIBLE until a signal is pending. */
export function* SYSC_pause(k: Kernel): KGen<number> {
  while (!k.current.sigpending) {
    k.current.state = TASK_INTERRUPTIBLE;
    yield* schedule(k);
  }
  return -EINTR;
}
