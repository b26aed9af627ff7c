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
import { schedule, wake_up_process, MAX_SCHEDULE_TIMEOUT, type KGen, type TaskStruct } from "./sched";

/** process_timeout: the timer callback: wake the sleeper. */
function process_timeout(a: { k: Kernel; p: TaskStruct }): void {
  a.k.tr?.setContext("timer");
  a.k.tr?.enter("process_timeout", `process_timeout(${a.p.comm})`, "SO_RCVTIMEO / schedule_timeout expired");
  wake_up_process(a.k, a.p);
  a.k.tr?.exit();
}

export function* schedule_timeout(k: Kernel, timeout: number): KGen<number> {
  if (timeout === MAX_SCHEDULE_TIMEOUT) {
    k.tr?.enter("schedule_timeout", "schedule_timeout(MAX_SCHEDULE_TIMEOUT)", "no timer: schedule()", "schedule_timeout(");
    yield* schedule(k);
    k.tr?.exit();
    return MAX_SCHEDULE_TIMEOUT;
  }
  if (timeout <= 0) {
    k.current.state = 0; // __set_current_state(TASK_RUNNING)
    return 0;
  }
  k.tr?.enter("schedule_timeout", `schedule_timeout(${timeout})`, undefined, "schedule_timeout(");
  const expire = k.now + timeout;
  const timer = k.engine.at(expire, process_timeout, { k, p: k.current }); // __mod_timer
  yield* schedule(k);
  k.engine.cancel(timer); // del_singleshot_timer_sync
  k.tr?.exit();
  return Math.max(0, expire - k.now);
}
