// lock_sock / __lock_sock / release_sock (net/core/sock.c): the socket lock a process holds,
// and the livelock of issue #12 (defect 4) that the missing sleep caused.
import { describe, expect, it } from "vitest";
import {
  Kernel, runServer, lock_sock, release_sock, sk_zero, burn, socket_file_ops, TASK_UNINTERRUPTIBLE,
  runTrace, walkTrace, formatTrace, type Proto, type Socket, type Sock,
} from "kernel-model";

function holder(k: Kernel, sk: Sock, name: string, hold: number, log: string[], cpu: number) {
  return k.spawn(name, function* () {
    yield* lock_sock(k, sk);
    log.push(`${name} locked at ${k.now}`);
    yield* burn(hold, "sys");
    log.push(`${name} releases at ${k.now}`);
    release_sock(k, sk);
  }, { cpu, pinned: true });
}

describe("lock_sock sleeps while another process owns the socket", () => {
  it("a second owner sleeps TASK_UNINTERRUPTIBLE on sk_lock.wq until release_sock wakes it", () => {
    const k = new Kernel({ cpus: 2 });
    const sk = sk_zero(k, {} as Proto);
    const log: string[] = [];
    holder(k, sk, "a", 100_000, log, 0);
    k.run(10_000);
    const b = holder(k, sk, "b", 100_000, log, 1);
    k.run(50_000);
    expect(b.state).toBe(TASK_UNINTERRUPTIBLE);
    expect(sk.sk_lock.wq!.task_list.length).toBe(1);
    expect(sk.sk_lock.wq!.task_list[0].flags & 1).toBe(1); // WQ_FLAG_EXCLUSIVE
    k.runUntilIdle();
    expect(log.map((l) => l.split(" at ")[0])).toEqual(["a locked", "a releases", "b locked", "b releases"]);
    const t = (s: string) => Number(log.find((l) => l.startsWith(s))!.split(" at ")[1]);
    expect(t("b locked")).toBeGreaterThanOrEqual(t("a releases")); // never two owners
    expect(sk.sk_lock.owned).toBe(0);
    expect(sk.sk_lock.wq!.task_list.length).toBe(0);
  });

  it("one release_sock wakes one waiter (exclusive): three waiters get the lock one by one", () => {
    const k = new Kernel({ cpus: 4 });
    const sk = sk_zero(k, {} as Proto);
    const log: string[] = [];
    holder(k, sk, "a", 100_000, log, 0);
    k.run(10_000);
    for (const [i, n] of ["b", "c", "d"].entries()) holder(k, sk, n, 100_000, log, i + 1);
    k.run(120_000); // a released once: exactly one of b, c, d runs
    expect(log.filter((l) => l.includes("locked")).length).toBe(2);
    k.runUntilIdle();
    const order = log.map((l) => l.split(" at ")[0]);
    for (let i = 0; i < order.length; i += 2) expect(order[i + 1]).toBe(order[i].replace("locked", "releases"));
    expect(order.length).toBe(8);
  });
});

describe("issue #12 defect 4: epoll --threads 3 --cpus 2 finishes", () => {
  it("every message is read, queued or dropped; two threads contended for a socket lock", () => {
    let progressCalls = 0;
    const run = runServer({
      model: "epoll", epollThreads: 3, cpus: 2, conns: 10, msgs: 2_000, seed: 1,
      onProgress: () => {
        if (++progressCalls > 50) throw new Error("livelock: 5M events for 2000 messages");
      },
    });
    const k = run.kernel;
    const socks: Sock[] = [];
    for (const p of k.tasks) {
      for (const f of p.files.fd) if (f && f.f_op === socket_file_ops && (f.private_data as Socket).sk) socks.push((f.private_data as Socket).sk!);
    }
    const queued = socks.reduce((n, sk) => n + sk.sk_receive_queue.length + sk.sk_backlog.queue.length, 0);
    expect(run.summary.delivered + queued + run.summary.dropped).toBe(2_000);
    expect(run.summary.delivered).toBe(2_000);
    for (const sk of socks) expect(sk.sk_lock.owned).toBe(0);
    expect(socks.some((sk) => sk.sk_lock.wq !== null)).toBe(true); // __lock_sock slept at least once
  });
});

describe("trace lock-sock-contended", () => {
  it("the second reader sleeps in __lock_sock (exclusive, uninterruptible) and release_sock's wake_up lets it in", () => {
    const { roots } = runTrace("lock-sock-contended");
    const nodes = walkTrace(roots);
    const lockSleep = nodes.find((n) => n.fn === "__lock_sock")!;
    expect(lockSleep).toBeDefined();
    expect(lockSleep.loc).toMatch(/^net\/core\/sock\.c:19[5-6]\d$/); // inside __lock_sock (sock.c:1955-1971)
    const text = formatTrace(roots);
    expect(text).toMatch(/prepare_to_wait_exclusive\(sk_lock\.wq of sock \d+, &wait, TASK_UNINTERRUPTIBLE\)/);
    expect(text).toMatch(/release_sock\(sk\)\s+\/\/ sk_lock\.wq has a waiter/);
    const wake = nodes.find((n) => n.fn === "__wake_up" && n.text.includes("sk_lock.wq"))!;
    expect(wake).toBeDefined();
    expect(wake.t).toBeGreaterThan(lockSleep.t);
  });
});
