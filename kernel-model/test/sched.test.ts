import { describe, expect, it } from "vitest";
import {
  Kernel, init_waitqueue_head, prepare_to_wait, finish_wait, DEFINE_WAIT, schedule, wake_up_interruptible_all,
  TASK_INTERRUPTIBLE, kill, EINTR,
} from "kernel-model";

/** A task that sleeps on q `n` times and records when it got the CPU back each time. */
function sleeper(k: Kernel, q: ReturnType<typeof init_waitqueue_head>, n: number, seen: number[], cpu = 0) {
  return k.spawn("sleeper", function* () {
    for (let i = 0; i < n; i++) {
      const wait = DEFINE_WAIT(k);
      prepare_to_wait(k, q, wait, TASK_INTERRUPTIBLE);
      yield* schedule(k);
      finish_wait(k, q, wait);
      seen.push(k.now);
    }
  }, { cpu });
}

describe("context switches as /proc/PID/status counts them", () => {
  it("a task that blocks once and is woken once: 1 voluntary switch, 0 involuntary", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const seen: number[] = [];
    const p = sleeper(k, q, 1, seen);
    k.run(50_000);
    expect(p.state).toBe(TASK_INTERRUPTIBLE);
    expect(p.nvcsw).toBe(1);
    k.engine.at(100_000, () => wake_up_interruptible_all(k, q));
    k.runUntilIdle();
    // the sleeper ran again after the wakeup, paid one context switch, and exited (another nvcsw)
    expect(seen[0]).toBe(100_000 + k.costs.wakeup * 0 + k.costs.ctxSwitch);
    expect(p.nvcsw).toBe(2);
    expect(p.nivcsw).toBe(0);
    expect(k.stats.runqLatency).toContain(0); // woken onto an idle CPU: on CPU at once
  });

  it("two CPU-bound tasks on one CPU preempt each other (nivcsw) and share the CPU fairly", () => {
    const k = new Kernel();
    const a = k.spawn("a", function* (sys) { yield* sys.compute(100_000_000); });
    const b = k.spawn("b", function* (sys) { yield* sys.compute(100_000_000); });
    k.run(60_000_000);
    expect(a.nivcsw).toBeGreaterThan(2);
    expect(b.nivcsw).toBeGreaterThan(2);
    expect(a.nvcsw + b.nvcsw).toBe(0);
    expect(Math.abs(a.utime - b.utime)).toBeLessThanOrEqual(k.sched.sched_latency);
  });

  it("a woken sleeper preempts a CPU hog (wakeup preemption)", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const seen: number[] = [];
    sleeper(k, q, 1, seen);
    const hog = k.spawn("hog", function* (sys) { yield* sys.compute(50_000_000); });
    k.engine.at(20_000_000, () => wake_up_interruptible_all(k, q));
    k.run(30_000_000);
    expect(seen.length).toBe(1);
    expect(seen[0] - 20_000_000).toBeLessThan(10_000); // not after the hog's 50 ms
    expect(hog.nivcsw).toBeGreaterThanOrEqual(1);
  });
});

describe("wakeup placement (select_task_rq)", () => {
  it("the previous CPU if idle, else an idle CPU, else the previous CPU's queue", () => {
    const k = new Kernel({ cpus: 2 });
    const q = init_waitqueue_head("q");
    const seen: number[] = [];
    const p = sleeper(k, q, 2, seen, 0);
    k.run(10_000);
    // cpu0 idle: wake on cpu0
    k.engine.at(20_000, () => wake_up_interruptible_all(k, q));
    k.run(30_000);
    expect(p.cpu).toBe(0);
    // cpu0 busy with a hog, cpu1 idle: wake on cpu1
    k.spawn("hog", function* (sys) { yield* sys.compute(10_000_000); }, { cpu: 0 });
    k.engine.at(k.now + 50_000, () => wake_up_interruptible_all(k, q));
    k.run(100_000);
    expect(p.cpu).toBe(1);
  });
});

describe("CPU time accounting", () => {
  it("user + sys + softirq + irq + idle = elapsed time x CPUs", () => {
    const k = new Kernel({ cpus: 2 });
    k.spawn("a", function* (sys) { yield* sys.compute(3_000_000); yield* sys.pause(); });
    k.spawn("b", function* (sys) { yield* sys.compute(1_000_000); });
    k.run(10_000_000);
    const t = k.cpuTime();
    expect(t.user + t.sys + t.softirq + t.irq + t.idle).toBe(20_000_000);
    expect(t.user).toBe(4_000_000);
  });
});

describe("signals", () => {
  it("a signal ends pause() with -EINTR", () => {
    const k = new Kernel();
    let r = 0;
    const p = k.spawn("app", function* (sys) { r = yield* sys.pause(); });
    k.run(1_000_000);
    expect(p.state).toBe(TASK_INTERRUPTIBLE);
    kill(k, p);
    k.runUntilIdle();
    expect(r).toBe(-EINTR);
  });
});

describe("cross-CPU wakeups: the reschedule IPI and the exit from idle (costs.ipi, costs.idleExit)", () => {
  // A sleeper pinned to cpu1, woken at t = 20 ms by code running on cpu0 (a task there); with
  // busyCpu1 a hog on cpu1 has run 20 ms by then, so wakeup preemption picks the sleeper.
  function wakeFromCpu0(costs: { ipi: number; idleExit: number }, busyCpu1: boolean) {
    const k = new Kernel({ cpus: 2, costs });
    const q = init_waitqueue_head("q");
    const seen: number[] = [];
    sleeper(k, q, 1, seen, 1);
    if (busyCpu1) k.spawn("hog", function* (sys) { yield* sys.compute(100_000_000); }, { cpu: 1 });
    let wokeAt = -1;
    k.spawn("waker", function* (sys) {
      yield* sys.compute(20_000_000);
      wokeAt = k.now;
      wake_up_interruptible_all(k, q);
    }, { cpu: 0 });
    k.run(40_000_000);
    return { k, ranAfter: seen[0] - wokeAt };
  }

  it("an idle target CPU runs the woken task ipi + idleExit later (plus the switch), not at once", () => {
    const none = wakeFromCpu0({ ipi: 0, idleExit: 0 }, false);
    const both = wakeFromCpu0({ ipi: 7_000, idleExit: 11_000 }, false);
    expect(both.ranAfter - none.ranAfter).toBe(18_000);
  });

  it("a busy target CPU pays the IPI but not the idle exit", () => {
    const none = wakeFromCpu0({ ipi: 0, idleExit: 0 }, true);
    const both = wakeFromCpu0({ ipi: 7_000, idleExit: 11_000 }, true);
    expect(both.ranAfter - none.ranAfter).toBe(7_000);
  });

  it("the latency is not CPU time: the waker's CPU burns no more with a slow IPI", () => {
    const none = wakeFromCpu0({ ipi: 0, idleExit: 0 }, false);
    const both = wakeFromCpu0({ ipi: 7_000, idleExit: 11_000 }, false);
    const busy = (k: Kernel) => k.rqs[0].time.user + k.rqs[0].time.sys;
    expect(busy(both.k)).toBe(busy(none.k));
  });

  it("a wakeup on the waker's own CPU sends no IPI", () => {
    const k = new Kernel({ cpus: 1, costs: { ipi: 50_000, idleExit: 50_000 } });
    const q = init_waitqueue_head("q");
    const seen: number[] = [];
    sleeper(k, q, 1, seen, 0);
    k.run(10_000);
    k.engine.at(100_000, () => wake_up_interruptible_all(k, q));
    k.runUntilIdle();
    expect(seen[0]).toBe(100_000 + k.costs.ctxSwitch);
  });
});
