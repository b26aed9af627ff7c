// hrtimer.ts: sleeping until an absolute time with a high-resolution timer, and its slack.
// Linux 4.6.2: kernel/time/hrtimer.c (schedule_hrtimeout_range, hrtimer_wakeup),
// fs/select.c (select_estimate_accuracy). Book: §3.4.3 (epoll_wait's timeout).
//
// Interface:
// * select_estimate_accuracy(k, end): the slack a poll/select/epoll timeout may be late by:
//   0.1% of the time left, at most 100 ms, at least current->timer_slack_ns (50 µs).
// * schedule_hrtimeout_range(k, expires | null, delta) (a step record): the caller has set its
//   state; sleep until woken or until the timer fires. null sleeps forever (plain schedule()).
//   Returns 0 when the timer fired, -EINTR when something else woke the task, as 4.6 does.
//
// Model vs kernel: the timer is an engine event at the HARD expiry (expires + delta): on an
// idle machine nothing else fires the range timer early, so 4.6 also wakes at expires + slack.
// Timer interrupts cost no CPU time. No RT tasks (their slack would be 0), all tasks nice 0.

import type { Kernel } from "./kernel";
import { schedule, wake_up_process, TASK_INTERRUPTIBLE, TASK_RUNNING, StepRecord, type KGen, type Op, type TaskStruct } from "./sched";
import type { SimEvent } from "../sim/engine";
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

/** schedule_hrtimeout_range(expires, delta, HRTIMER_MODE_ABS) -> schedule_hrtimeout_range_clock.
 *  A record, not a generator (as schedule_timeout in timer.ts): step 0 arms the timer and
 *  enters schedule(), step 1 runs when the task is back on a CPU. */
export function schedule_hrtimeout_range(k: Kernel, expires: number | null, delta: number): KGen<number> {
  return new ScheduleHrtimeout(k, expires, delta) as unknown as KGen<number>;
}

class ScheduleHrtimeout extends StepRecord<number> {
  private sched: KGen<void> | null = null;
  /** hrtimer_init_sleeper(&t, current): the task to wake; hrtimer_wakeup clears it. */
  private t: HrtimerSleeper | null = null;
  private timer: SimEvent | null = null;
  constructor(private readonly k: Kernel, private readonly expires: number | null, private readonly delta: number) {
    super();
  }
  next(v?: unknown): IteratorResult<Op, number> {
    const k = this.k, expires = this.expires;
    if (this.step === 0) {
      k.tr?.enter("schedule_hrtimeout_range", `schedule_hrtimeout_range(${expires === null ? "NULL" : "&expires"}, ${this.delta}, HRTIMER_MODE_ABS)`,
        expires === null ? "让出 CPU, 主动进入睡眠状态 (no timeout)" : "让出 CPU, 主动进入睡眠状态 (hrtimer armed)");
      k.tr?.enter("schedule_hrtimeout_range_clock", "schedule_hrtimeout_range_clock(expires, delta, mode, CLOCK_MONOTONIC)");
      if (expires !== null) {
        this.t = { k, task: k.current };
        this.timer = k.engine.at(Math.max(k.now, expires + this.delta), hrtimer_wakeup, this.t); // hrtimer_start_expires
      }
      this.step = 1;
      if (expires === null || this.t!.task) this.sched = schedule(k); // if (likely(t.task)) schedule()
      v = undefined;
    }
    if (this.step === 1) {
      if (this.sched) {
        const r = this.sched.next(v);
        if (!r.done) return r;
        this.sched = null;
      }
      this.step = 2;
      let ret = -EINTR;
      if (expires !== null) {
        k.engine.cancel(this.timer); // hrtimer_cancel
        this.timer = null;
        k.current.state = TASK_RUNNING;
        ret = this.t!.task === null ? 0 : -EINTR;
      }
      k.tr?.exit();
      k.tr?.exit();
      return { done: true, value: ret };
    }
    throw new Error("schedule_hrtimeout_range: resumed after it returned");
  }
}

/** clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t) -> hrtimer_nanosleep -> do_nanosleep:
 *  sleep in TASK_INTERRUPTIBLE until `expires` (absolute ns) plus current->timer_slack_ns
 *  (50 µs: the range timer fires at its hard end on an otherwise quiet CPU). 0, or -EINTR when
 *  a signal woke the task (an absolute sleep is not restarted with a remainder). */
export function* hrtimer_nanosleep(k: Kernel, expires: number): KGen<number> {
  k.tr?.enter("hrtimer_nanosleep", `hrtimer_nanosleep(&t, NULL, HRTIMER_MODE_ABS, CLOCK_MONOTONIC)`, `slack = current->timer_slack_ns (${TIMER_SLACK_NS})`);
  try {
    if (expires <= k.now) return 0; // an expired absolute timer does not sleep
    k.current.state = TASK_INTERRUPTIBLE; // do_nanosleep: set_current_state
    const r = yield* schedule_hrtimeout_range(k, expires, TIMER_SLACK_NS);
    return r === 0 ? 0 : -EINTR;
  } finally {
    k.tr?.exit();
  }
}
