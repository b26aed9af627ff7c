// timer.ts: sleeping with a timeout.
// Linux 4.6.2: kernel/time/timer.c (schedule_timeout, process_timeout). Book: §3.3.1
// (sk_wait_data sleeps in schedule_timeout(timeo); SO_RCVTIMEO makes timeo finite).
//
// Interface: schedule_timeout(k, timeout) sleeps (the caller has set its state) until woken or
// until `timeout` ns pass; returns the time left (0 when the timer fired), as the kernel does.
// MAX_SCHEDULE_TIMEOUT sleeps without a timer.
//
// Model vs kernel: ns instead of jiffies; the timer interrupt costs no CPU time.

import type { Kernel } from "./kernel";
import { schedule, wake_up_process, MAX_SCHEDULE_TIMEOUT, StepRecord, type KGen, type Op, type TaskStruct } from "./sched";
import type { SimEvent } from "../sim/engine";

/** process_timeout: the timer callback: wake the sleeper. */
function process_timeout(a: { k: Kernel; p: TaskStruct }): void {
  a.k.tr?.setContext("timer");
  a.k.tr?.enter("process_timeout", `process_timeout(${a.p.comm})`, "SO_RCVTIMEO / schedule_timeout expired");
  wake_up_process(a.k, a.p);
  a.k.tr?.exit();
}

/** schedule_timeout(timeout): sleep until woken or until `timeout` passes; the time left.
 *  A record, not a generator (see schedule() in sched.ts): step 0 arms the timer and enters
 *  schedule(), step 1 runs when the task is back on a CPU (schedule() finishes, the timer is
 *  deleted). */
export function schedule_timeout(k: Kernel, timeout: number): KGen<number> {
  return new ScheduleTimeout(k, timeout) as unknown as KGen<number>;
}

class ScheduleTimeout extends StepRecord<number> {
  private sched: KGen<void> | null = null;
  private timer: SimEvent | null = null;
  private expire = 0;
  constructor(private readonly k: Kernel, private readonly timeout: number) {
    super();
  }
  next(v?: unknown): IteratorResult<Op, number> {
    const k = this.k, timeout = this.timeout;
    if (this.step === 0) {
      if (timeout === MAX_SCHEDULE_TIMEOUT) {
        k.tr?.enter("schedule_timeout", "schedule_timeout(MAX_SCHEDULE_TIMEOUT)", "no timer: schedule()", "schedule_timeout(");
      } else if (timeout <= 0) {
        k.current.state = 0; // __set_current_state(TASK_RUNNING)
        this.step = 2;
        return { done: true, value: 0 };
      } else {
        k.tr?.enter("schedule_timeout", `schedule_timeout(${timeout})`, undefined, "schedule_timeout(");
        this.expire = k.now + timeout;
        this.timer = k.engine.at(this.expire, process_timeout, { k, p: k.current }); // __mod_timer
      }
      this.sched = schedule(k);
      this.step = 1;
      v = undefined;
    }
    if (this.step === 1) {
      const r = this.sched!.next(v);
      if (!r.done) return r;
      this.sched = null;
      this.step = 2;
      if (timeout === MAX_SCHEDULE_TIMEOUT) {
        k.tr?.exit();
        return { done: true, value: MAX_SCHEDULE_TIMEOUT };
      }
      k.engine.cancel(this.timer); // del_singleshot_timer_sync
      this.timer = null;
      k.tr?.exit();
      return { done: true, value: Math.max(0, this.expire - k.now) };
    }
    throw new Error("schedule_timeout: resumed after it returned");
  }
}
