// softirq.ts: softirqs: raised in hard IRQ, run at irq_exit(), or by ksoftirqd/N under load.
// Linux 4.6.2: kernel/softirq.c. Book: §3.3.2 软中断模块 (and the Kernel note on ksoftirqd).
//
// Interface:
// * open_softirq(nr, action) registers a handler (net_dev_init: NET_RX_SOFTIRQ -> net_rx_action).
// * __raise_softirq_irqoff(k, rq, nr): set the per-CPU pending bit (the softirq will run on the
//   CPU that raised it).
// * irq_exit(k, rq) (generator, hard-IRQ context): if not already in a softirq and something is
//   pending, invoke_softirq -> __do_softirq right there, on the interrupted task's time.
// * __do_softirq: runs the pending handlers; restarts while new bits appear, at most
//   MAX_SOFTIRQ_RESTART (10) passes, while jiffies is before end = jiffies + MAX_SOFTIRQ_TIME
//   (msecs_to_jiffies(2) = 1 jiffy at HZ=250: until the next tick, 0-4 ms away), and not if
//   need_resched; then leaves the rest to ksoftirqd/N (wakeup_softirqd), a real task that
//   competes for the CPU.
//
// * rcu_read_lock_bh / rcu_read_unlock_bh (the transmit path): the outermost re-enable runs
//   pending softirqs in the current task's context (do_softirq); their time is softirq time.
//
// Model vs kernel: the book says softirqs are "handled by ksoftirqd"; in 4.6 they normally run
// in irq_exit and ksoftirqd only takes over past the limits above (reference §0.2 item 4); in
// 4.6 ksoftirqd also runs softirqs raised outside interrupt context (raise_softirq_irqoff wakes
// it when !in_interrupt()), which the model never does: it raises NET_RX only from the IRQ.
// No threadirqs.

import type { Kernel } from "./kernel";
import { JIFFY_NS } from "./dev";
import {
  burn, payCharges, returned, schedule, wake_up_process, TASK_INTERRUPTIBLE, TASK_RUNNING, preemptPoint, type KGen, type Rq, type TaskStruct,
} from "./sched";

/** enum { HI_SOFTIRQ=0, TIMER_SOFTIRQ, NET_TX_SOFTIRQ, NET_RX_SOFTIRQ, ... } (include/linux/interrupt.h). */
export const HI_SOFTIRQ = 0;
export const TIMER_SOFTIRQ = 1;
export const NET_TX_SOFTIRQ = 2;
export const NET_RX_SOFTIRQ = 3;
export const SOFTIRQ_NAMES = ["HI", "TIMER", "NET_TX", "NET_RX", "BLOCK", "BLOCK_IOPOLL", "TASKLET", "SCHED", "HRTIMER", "RCU"];
/** kernel/softirq.c */
/** MAX_SOFTIRQ_TIME = msecs_to_jiffies(2), in jiffies: 1 at HZ=250 (jiffies round up). */
export const MAX_SOFTIRQ_TIME = Math.ceil(2_000_000 / (1_000_000_000 / 250)); // 250 = HZ (dev.ts; not imported: a cycle at load time)
export const MAX_SOFTIRQ_RESTART = 10;

export type SoftirqAction = (k: Kernel, rq: Rq) => KGen<void>;

/** softirq_vec[]: filled by open_softirq. */
export function open_softirq(k: Kernel, nr: number, action: SoftirqAction): void {
  k.softirq_vec[nr] = action;
}

/** __raise_softirq_irqoff(nr): or_softirq_pending(1 << nr) on this CPU. */
export function __raise_softirq_irqoff(k: Kernel, rq: Rq, nr: number): void {
  k.tr?.leaf(`__raise_softirq_irqoff(${SOFTIRQ_NAMES[nr]}_SOFTIRQ)`, "per-CPU pending bit: runs on the CPU that took the IRQ", "__raise_softirq_irqoff");
  rq.softirq_pending |= 1 << nr;
}

/** irq_exit(): leave hard-IRQ context; run pending softirqs unless already inside one. */
export function* irq_exit(k: Kernel, rq: Rq): KGen<void> {
  k.tr?.enter("irq_exit", "irq_exit()");
  if (!rq.in_softirq && rq.softirq_pending) {
    k.tr?.enter("invoke_softirq", "invoke_softirq()", "!in_interrupt() && local_softirq_pending()");
    yield* __do_softirq(k, rq);
    k.tr?.exit();
  }
  k.tr?.exit();
}

/** __do_softirq(): the restart loop and its limits. */
export function* __do_softirq(k: Kernel, rq: Rq): KGen<void> {
  k.tr?.enter("__do_softirq", "__do_softirq()");
  const end = (Math.floor(k.now / JIFFY_NS) + MAX_SOFTIRQ_TIME) * JIFFY_NS; // jiffies + MAX_SOFTIRQ_TIME
  let max_restart = MAX_SOFTIRQ_RESTART;
  const frame = rq.irqs[rq.irqs.length - 1];
  const savedMode = frame?.mode;
  if (frame) frame.mode = "softirq";
  rq.in_softirq = true; // __local_bh_disable_ip(SOFTIRQ_OFFSET)
  k.stats.softirqRuns++;
  yield* burn(k.costs.softirqEntry, "softirq");
  let pending = rq.softirq_pending;
  for (;;) {
    rq.softirq_pending = 0; // set_softirq_pending(0)
    for (let nr = 0; pending; nr++, pending >>= 1) {
      if (pending & 1 && k.softirq_vec[nr]) {
        k.tr?.enter("", `h->action(h)`, `= ${nr === NET_RX_SOFTIRQ ? "net_rx_action" : SOFTIRQ_NAMES[nr]}`);
        yield* k.softirq_vec[nr]!(k, rq);
        k.tr?.exit();
      }
    }
    // softirq work charged by plain functions (TCP, wakeups) is softirq time, and it must be
    // paid before the pending bits are read: an IRQ during it raises bits this loop must see
    yield* payCharges(k);
    pending = rq.softirq_pending;
    if (!pending) break;
    if (k.now < end && !rq.need_resched && --max_restart) {
      k.stats.softirqRestarts++;
      continue;
    }
    wakeup_softirqd(k, rq); // too much work: hand the rest to ksoftirqd/N
    break;
  }
  rq.in_softirq = false;
  if (frame) frame.mode = savedMode!;
  k.tr?.exit();
}

/** wakeup_softirqd(): wake this CPU's ksoftirqd unless it is already running. */
export function wakeup_softirqd(k: Kernel, rq: Rq): void {
  k.tr?.leaf(`wakeup_softirqd(): wake_up_process(ksoftirqd/${rq.cpu})`, "past 10 passes, the next jiffy (MAX_SOFTIRQ_TIME), or need_resched", "wakeup_softirqd");
  k.stats.ksoftirqdWakeups++;
  // MODEL: ksoftirqd/N is created the first time it is needed (Linux starts it at boot, asleep).
  if (!rq.ksoftirqd) rq.ksoftirqd = spawnKsoftirqd(k, rq);
  else if (rq.ksoftirqd.state !== TASK_RUNNING) wake_up_process(k, rq.ksoftirqd);
}

/** ksoftirqd/N: run_ksoftirqd while softirqs are pending, then sleep (smpboot thread loop). */
export function spawnKsoftirqd(k: Kernel, rq: Rq): TaskStruct {
  const p = k.spawn(`ksoftirqd/${rq.cpu}`, function* () {
    for (;;) {
      // smpboot_thread_fn: sleep until ksoftirqd_should_run()
      while (!rq.softirq_pending) {
        p.state = TASK_INTERRUPTIBLE;
        yield* schedule(k);
      }
      p.inKernel = true;
      k.tr?.enter("run_ksoftirqd", `run_ksoftirqd(cpu=${rq.cpu})`);
      if (rq.softirq_pending && !rq.in_softirq) yield* __do_softirq(k, rq);
      k.tr?.exit();
      p.inKernel = false;
      yield* preemptPoint(k); // cond_resched_rcu_qs()
    }
  }, { cpu: rq.cpu, kthread: true, pinned: true });
  return p;
}

// ---- bottom halves disabled in process context (the transmit path) ----
// include/linux/bottom_half.h, include/linux/rcupdate.h, kernel/softirq.c. A task that raises
// NET_RX itself (loopback_xmit -> netif_rx) runs it where it re-enables bottom halves: the
// outermost rcu_read_unlock_bh -> local_bh_enable -> __local_bh_enable_ip -> do_softirq, on its
// own CPU and in its own context (current stays the sending task).

/** rcu_read_lock_bh() = local_bh_disable(): softirqs may not run on this CPU until re-enabled. */
export function rcu_read_lock_bh(k: Kernel): void {
  k.cpu!.bh_disable_cnt++;
}

/** rcu_read_unlock_bh() -> local_bh_enable() -> __local_bh_enable_ip(): the outermost one runs
 *  what was raised meanwhile (do_softirq). PREEMPT_NONE: preempt_check_resched() is a no-op. */
export function* rcu_read_unlock_bh(k: Kernel): KGen<void> {
  const rq = k.cpu!;
  rq.bh_disable_cnt--;
  if (softirqsDueAtBhEnable(rq)) {
    k.tr?.enter("rcu_read_unlock_bh", "rcu_read_unlock_bh()");
    k.tr?.enter("local_bh_enable", "local_bh_enable()");
    yield* localBhEnableRun(k, rq, "__local_bh_enable_ip(_THIS_IP_, SOFTIRQ_DISABLE_OFFSET)");
    k.tr?.exit();
    k.tr?.exit();
  } else {
    k.tr?.leaf("rcu_read_unlock_bh()", rq.bh_disable_cnt ? "nested: softirqs still off" : "nothing pending", "rcu_read_unlock_bh");
  }
}

/** do_softirq(): run the pending softirqs now, on this CPU's irq stack, in the current task's
 *  context (x86-64: do_softirq_own_stack in entry_64.S -> __do_softirq). */
export function* do_softirq(k: Kernel, rq: Rq): KGen<void> {
  k.tr?.enter("do_softirq", "do_softirq()", `in task context: current = ${k.current.comm}`);
  // the task's own system time up to here is paid as sys before softirq time starts
  yield* payCharges(k);
  if (!rq.in_softirq && rq.softirq_pending) {
    k.tr?.enter("", "do_softirq_own_stack()", "arch/x86/entry/entry_64.S: switch to the irq stack");
    yield* __do_softirq(k, rq);
    k.tr?.exit();
  }
  k.tr?.exit();
}

/** A bottom-half enable in process context after TCP processing ran with BHs off:
 *  release_sock's spin_unlock_bh(&sk->sk_lock.slock) (sock.c:2453), or tcp_prequeue_process's
 *  local_bh_enable() (tcp.c:1441). What that processing raised (segments it sent over lo sit
 *  on this CPU's backlog) runs here. The model reaches this point after the function's own
 *  lines, so the trace reopens its frame for that last statement. */
export function bhEnablePoint(k: Kernel, from: "release_sock" | "tcp_prequeue_process"): KGen<void> {
  const rq = k.cpu;
  if (!rq || !softirqsDueAtBhEnable(rq)) return returned(); // nothing pending: no generator
  return bhEnableRun(k, rq, from);
}

function* bhEnableRun(k: Kernel, rq: Rq, from: "release_sock" | "tcp_prequeue_process"): KGen<void> {
  if (from === "release_sock") {
    k.tr?.enter("release_sock", "release_sock(sk)", "its spin_unlock_bh: the softirqs raised with BHs off run now");
    k.tr?.enter("", "spin_unlock_bh(&sk->sk_lock.slock)");
    yield* localBhEnableRun(k, rq, "__local_bh_enable_ip(_RET_IP_, SOFTIRQ_LOCK_OFFSET)");
  } else {
    k.tr?.enter("tcp_prequeue_process", "tcp_prequeue_process(sk)", "its local_bh_enable: the softirqs raised with BHs off run now");
    k.tr?.enter("local_bh_enable", "local_bh_enable()");
    yield* localBhEnableRun(k, rq, "__local_bh_enable_ip(_THIS_IP_, SOFTIRQ_DISABLE_OFFSET)");
  }
  k.tr?.exit();
  k.tr?.exit();
}

/** __local_bh_enable_ip's test once the count is back to 0: `!in_interrupt() &&
 *  local_softirq_pending()` (no bh-disabled section left, not serving a softirq, not in hard IRQ). */
function softirqsDueAtBhEnable(rq: Rq): boolean {
  return rq.bh_disable_cnt === 0 && !rq.in_softirq && rq.irqs.length === 0 && rq.softirq_pending !== 0;
}

/** The __local_bh_enable_ip frame that runs do_softirq; `text` is its call as the caller spells it. */
function* localBhEnableRun(k: Kernel, rq: Rq, text: string): KGen<void> {
  k.tr?.enter("__local_bh_enable_ip", text, "!in_interrupt() && local_softirq_pending()");
  yield* do_softirq(k, rq);
  k.tr?.exit();
}
