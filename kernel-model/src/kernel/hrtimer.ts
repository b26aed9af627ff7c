// hrtimer.ts: sleeping until an absolute time with a high-resolution timer, and its slack.
// Linux 4.6.2: kernel/time/hrtimer.c (schedule_hrtimeout_range, hrtimer_wakeup),
// fs/select.c (select_estimate_accuracy). Book: §3.4.3 (epoll_wait's timeout).
//
// Interface:
// * select_estimate_accuracy(k, end): the slack a poll/select/epoll timeout may be late by:
//   0.1% of the time left, at most 100 ms, at least current->timer_slack_ns (50 µs).
// * schedule_hrtimeout_range(k, expires | null, delta) (generator): the caller has set its
//   state; sleep until woken or until the timer fires. null sleeps forever (plain schedule()).
//   Returns 0 when the timer fired, -EINTR when something else woke the task, as 4.6 does.
//
// Model vs kernel: the timer is an engine event at the HARD expiry (expires + delta): on an
// idle machine nothing else fires the range timer early, so 4.6 also wakes at expires + slack.
// Timer interrupts cost no CPU time. No RT tasks (their slack would be 0), all tasks nice 0.

import type { Kernel } from "./kernel";
import { schedule, wake_up_process, TASK_RUNNING, type KGen, type TaskStruct } from "./sched";
import { EINTR } from "./errno";

/** include/linux/sched.h: the default current->timer_slack_ns. */
export const TIMER_SLACK_NS = 50_000;
/** fs/select.c: MAX_SLACK (100 ms). */
export const MAX_SLACK = 100_000_000;

/** select_estimate_accuracy(&end_time): slack in ns for a sleep ending at `end` (absolute ns). */
export function select_estimate_accuracy(k: Kernel, end: number): number {
  const left = end - k.now;
  if (left < 0) return TIMER_SLACK_NS;
  const slack = Math.min(Math.floor(left / 1000), MAX_SLACK); // __estimate_accuracy: divfactor 1000 (nice <= 0)
  return Math.max(slack, TIMER_SLACK_NS);
}

/** struct hrtimer_sleeper: the task to wake; hrtimer_wakeup clears it. */
interface HrtimerSleeper {
  k: Kernel;
  task: TaskStruct | null;
}

/** hrtimer_wakeup: the timer fired: t->task = NULL; wake_up_process(task). */
function hrtimer_wakeup(t: HrtimerSleeper): void {
  const { k } = t;
  const task = t.task;
  t.task = null;
  k.tr?.setContext("timer");
  k.tr?.enter("hrtimer_wakeup", `hrtimer_wakeup(timer) -> wake_up_process(${task?.comm})`, "hrtimer expired");
  if (task) wake_up_process(k, task);
  k.tr?.exit();
}

/** schedule_hrtimeout_range(expires, delta, HRTIMER_MODE_ABS). */
export function* schedule_hrtimeout_range(k: Kernel, expires: number | null, delta: number): KGen<number> {
  k.tr?.enter("schedule_hrtimeout_range", `schedule_hrtimeout_range(${expires === null ? "NULL" : "&expires"}, ${delta}, HRTIMER_MODE_ABS)`,
    expires === null ? "让出 CPU, 主动进入睡眠状态 (no timeout)" : "让出 CPU, 主动进入睡眠状态 (hrtimer armed)");
  // schedule_hrtimeout_range -> schedule_hrtimeout_range_clock(expires, delta, mode, CLOCK_MONOTONIC)
  k.tr?.enter("schedule_hrtimeout_range_clock", "schedule_hrtimeout_range_clock(expires, delta, mode, CLOCK_MONOTONIC)");
  try {
    if (expires === null) {
      yield* schedule(k);
      return -EINTR;
    }
    const t: HrtimerSleeper = { k, task: k.current }; // hrtimer_init_sleeper(&t, current)
    const timer = k.engine.at(Math.max(k.now, expires + delta), hrtimer_wakeup, t); // hrtimer_start_expires
    if (t.task) yield* schedule(k);
    k.engine.cancel(timer); // hrtimer_cancel
    k.current.state = TASK_RUNNING;
    return t.task === null ? 0 : -EINTR;
  } finally {
    k.tr?.exit();
    k.tr?.exit();
  }
}
