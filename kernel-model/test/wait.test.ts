import { describe, expect, it } from "vitest";
import {
  Kernel, init_waitqueue_head, init_waitqueue_func_entry, add_wait_queue, add_wait_queue_exclusive,
  __add_wait_queue_exclusive, prepare_to_wait, prepare_to_wait_exclusive, finish_wait, __wake_up_common,
  DEFINE_WAIT, schedule, TASK_INTERRUPTIBLE, TASK_RUNNING, WQ_FLAG_EXCLUSIVE, wake_up_interruptible_sync_poll,
  type WaitQueueEntry, type WaitQueueHead, type WaitQueueFunc,
} from "kernel-model";

/** An entry whose func records its name and returns `ret`. */
function entry(log: string[], name: string, ret: number): WaitQueueEntry {
  const f: WaitQueueFunc = () => {
    log.push(name);
    return ret;
  };
  return init_waitqueue_func_entry(f, name);
}

describe("wait queue insertion (4.6.2)", () => {
  it("add_wait_queue inserts at the head, add_wait_queue_exclusive at the tail, __add_wait_queue_exclusive at the head", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const log: string[] = [];
    const a = entry(log, "a", 1), b = entry(log, "b", 1), c = entry(log, "c", 1), d = entry(log, "d", 1);
    add_wait_queue(k, q, a);
    add_wait_queue(k, q, b); // head: b a
    add_wait_queue_exclusive(k, q, c); // tail: b a c
    __add_wait_queue_exclusive(q, d); // head, exclusive: d b a c
    expect(q.task_list.map((w) => w.private)).toEqual(["d", "b", "a", "c"]);
    expect(q.task_list.map((w) => w.flags & WQ_FLAG_EXCLUSIVE)).toEqual([1, 0, 0, 1]);
  });

  it("add_wait_queue clears a stale WQ_FLAG_EXCLUSIVE", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const e = entry([], "e", 1);
    e.flags = WQ_FLAG_EXCLUSIVE;
    add_wait_queue(k, q, e);
    expect(e.flags & WQ_FLAG_EXCLUSIVE).toBe(0);
  });
});

describe("__wake_up_common(nr_exclusive)", () => {
  function build(k: Kernel, q: WaitQueueHead, log: string[], spec: [string, boolean, number][]) {
    // build in list order: add each at the tail with its exclusivity
    for (const [name, excl, ret] of spec) {
      const e = entry(log, name, ret);
      if (excl) add_wait_queue_exclusive(k, q, e);
      else {
        e.flags = 0;
        q.task_list.push(e);
        e.head = q;
      }
    }
  }

  it("calls every non-exclusive entry and stops after nr_exclusive exclusive ones returned non-zero", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const log: string[] = [];
    build(k, q, log, [["n1", false, 1], ["n2", false, 1], ["x1", true, 1], ["n3", false, 1], ["x2", true, 1]]);
    __wake_up_common(k, q, TASK_INTERRUPTIBLE, 1, 0, null);
    expect(log).toEqual(["n1", "n2", "x1"]); // non-exclusive entries never count
  });

  it("an exclusive entry that returns 0 does not count (EPOLLEXCLUSIVE with no sleeper)", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const log: string[] = [];
    build(k, q, log, [["x1", true, 0], ["x2", true, 1], ["x3", true, 1]]);
    __wake_up_common(k, q, TASK_INTERRUPTIBLE, 1, 0, null);
    expect(log).toEqual(["x1", "x2"]);
  });

  it("nr_exclusive = 0 wakes everything; nr_exclusive = 2 stops after two exclusive wakeups", () => {
    const k = new Kernel();
    const q = init_waitqueue_head("q");
    const log: string[] = [];
    build(k, q, log, [["x1", true, 1], ["x2", true, 1], ["x3", true, 1]]);
    __wake_up_common(k, q, TASK_INTERRUPTIBLE, 0, 0, null);
    expect(log).toEqual(["x1", "x2", "x3"]);
    log.length = 0;
    __wake_up_common(k, q, TASK_INTERRUPTIBLE, 2, 0, null);
    expect(log).toEqual(["x1", "x2"]);
  });
});

describe("prepare_to_wait / autoremove_wake_function with real tasks", () => {
  /** n tasks each sleep on q with prepare_to_wait (TCP-style) or prepare_to_wait_exclusive (UDP-style). */
  function sleepers(n: number, exclusive: boolean) {
    const k = new Kernel();
    const q = init_waitqueue_head("sk_wq->wait");
    const woke: string[] = [];
    for (let i = 0; i < n; i++) {
      k.spawn(`r${i}`, function* () {
        const wait = DEFINE_WAIT(k);
        if (exclusive) prepare_to_wait_exclusive(k, q, wait, TASK_INTERRUPTIBLE);
        else prepare_to_wait(k, q, wait, TASK_INTERRUPTIBLE);
        yield* schedule(k);
        finish_wait(k, q, wait);
        woke.push(`r${i}`);
      });
    }
    k.runUntilIdle();
    return { k, q, woke };
  }

  it("non-exclusive sleepers (TCP readers) all wake on one sync wakeup with nr_exclusive = 1", () => {
    const { k, q, woke } = sleepers(3, false);
    expect(q.task_list.length).toBe(3);
    expect(k.tasks.map((t) => t.state)).toEqual([1, 1, 1]);
    k.engine.at(k.now + 1000, () => wake_up_interruptible_sync_poll(k, q, 1));
    k.runUntilIdle();
    expect(woke.sort()).toEqual(["r0", "r1", "r2"]);
    expect(q.task_list.length).toBe(0); // autoremove_wake_function unlinked each woken entry
  });

  it("exclusive sleepers (UDP readers) wake one per wakeup, in FIFO order (tail insertion)", () => {
    const { k, q, woke } = sleepers(3, true);
    k.engine.at(k.now + 1000, () => wake_up_interruptible_sync_poll(k, q, 1));
    k.runUntilIdle();
    expect(woke).toEqual(["r0"]);
    expect(q.task_list.length).toBe(2);
    k.engine.at(k.now + 1000, () => wake_up_interruptible_sync_poll(k, q, 1));
    k.runUntilIdle();
    expect(woke).toEqual(["r0", "r1"]);
    expect(k.tasks.map((t) => t.state)).toEqual([64, 64, TASK_INTERRUPTIBLE]);
    expect(TASK_RUNNING).toBe(0);
  });
});
