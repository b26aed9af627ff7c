import { describe, expect, it } from "vitest";
import {
  Kernel, TcpPeer, udpSend, walkTrace, kill, ep_poll_callback, epollGlobals, epRbtreeItems, epRdllistItems, EP_UNACTIVE_PTR,
  EPOLLIN, EPOLLRDHUP, EPOLLET, EPOLLEXCLUSIVE, EPOLL_CTL_ADD, AF_INET, SOCK_STREAM, SOCK_NONBLOCK,
  EAGAIN, ELOOP, EINVAL, TASK_INTERRUPTIBLE, type EpollEvent, type Sys, type TaskStruct,
} from "kernel-model";
import { runApp } from "./helpers";
import { arrive, epOf, epollState, inheritFd, sockWq, udpSocket } from "./epoll-helpers";

const ev = (events: number, data: number): EpollEvent => ({ events: events >>> 0, data });

/** A process that sets up an epoll fd (3) watching a UDP socket on port 1000 (4), then pauses. */
function sharedEpoll(k: Kernel, flags: number): TaskStruct {
  return k.spawn("main", function* (sys) {
    const epfd = yield* sys.epoll_create1(0);
    const fd = yield* udpSocket(sys, 1000);
    yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | flags, fd));
    yield* sys.pause();
  });
}

/** A thread looping epoll_wait(3) -> recv(4), logging what each step returned. */
function waiter(log: string[], name: string, delay: number) {
  return function* (sys: Sys) {
    yield* sys.compute(delay);
    const events: EpollEvent[] = [];
    for (;;) {
      const n = yield* sys.epoll_wait(3, events, 8, -1);
      const r = yield* sys.recv(4, 1024);
      log.push(`${name}:${n}:${r === -EAGAIN ? "EAGAIN" : r}`);
    }
  };
}

describe("ep->wq: exclusive waiters, woken LIFO (§3.4.3)", () => {
  it("two threads in epoll_wait on one epfd: the one that started waiting last is woken, every time", () => {
    const k = new Kernel();
    const main = sharedEpoll(k, EPOLLET);
    k.run(1_000_000);
    const log: string[] = [];
    const a = k.spawn("A", waiter(log, "A", 0), { thread: main });
    const b = k.spawn("B", waiter(log, "B", 500_000), { thread: main });
    k.run(2_000_000);
    const ep = epOf(main, 3);
    expect(ep.wq.task_list.map((w) => (w.private as TaskStruct).comm)).toEqual(["B", "A"]); // head insertion
    const aSwitches = a.nvcsw;
    for (const t of [5_000_000, 10_000_000, 15_000_000]) udpSend(k, { dport: 1000, bytes: 100, at: t });
    k.run(20_000_000);
    expect(log).toEqual(["B:1:100", "B:1:100", "B:1:100"]);
    expect(a.nvcsw).toBe(aSwitches); // A never woke
    expect(a.state).toBe(TASK_INTERRUPTIBLE);
    expect(b.state).toBe(TASK_INTERRUPTIBLE);
  });

  it("level-triggered: the woken waiter's scan leaves the item on rdllist and wakes the next one too (4.6.2)", () => {
    const run = (flags: number) => {
      const k = new Kernel({ trace: true });
      const main = sharedEpoll(k, flags);
      k.run(1_000_000);
      const log: string[] = [];
      const a = k.spawn("A", waiter(log, "A", 0), { thread: main });
      const b = k.spawn("B", waiter(log, "B", 500_000), { thread: main });
      k.run(2_000_000);
      const before = [a.nvcsw, b.nvcsw];
      udpSend(k, { dport: 1000, bytes: 100, at: 3_000_000 });
      k.run(10_000_000);
      // the wakeups B's own epoll_wait did (after its scan): who did they wake?
      const bCall = k.tr!.roots.filter((r) => r.ctx.startsWith("task B") && r.text.startsWith("epoll_wait(")).find((r) => r.text.endsWith("= 1"))!;
      const woken = walkTrace([bCall]).filter((n) => n.fn === "try_to_wake_up").map((n) => n.text);
      return { log, woke: [a.nvcsw - before[0], b.nvcsw - before[1]], woken };
    };
    // LT: B returns with the event; its ep_scan_ready_list sees rdllist non-empty and wakes A, which
    // finds the datagram already read (the re-poll says not ready) and goes back to sleep
    const lt = run(0);
    expect(lt.log).toEqual(["B:1:100"]);
    expect(lt.woken).toEqual(["try_to_wake_up(p=A, state=TASK_NORMAL, wake_flags=0)"]);
    expect(lt.woke).toEqual([1, 1]);
    // ET: the item is not put back, A is not disturbed
    const et = run(EPOLLET);
    expect(et.log).toEqual(["B:1:100"]);
    expect(et.woken).toEqual([]);
    expect(et.woke).toEqual([0, 1]);
  });
});

describe("ep->mtx: one copy-out loop at a time", () => {
  it("a thread calling epoll_wait while another copies events sleeps on ep->mtx, then finds nothing left (ET)", () => {
    const k = new Kernel({ cpus: 2, trace: true, costs: { epollEvent: 1000 } });
    const N = 50;
    const mainTask = k.spawn("A", function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      for (let i = 0; i < N; i++) {
        const fd = yield* udpSocket(sys, 1000 + i);
        yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | EPOLLET, fd));
      }
      for (let i = 0; i < N; i++) yield* arrive(sys, k, 1000 + i);
      const ep = epOf(sys.task, epfd);
      ep.onScan = (k) => {
        ep.onScan = null;
        kill(k, b); // B leaves pause() on the other CPU and calls epoll_wait during A's copy
      };
      const events: EpollEvent[] = [];
      got.A = yield* sys.epoll_wait(epfd, events, 64, -1);
      yield* sys.pause();
    }, { cpu: 0 });
    const got: Record<string, number> = {};
    const b = k.spawn("B", function* (sys) {
      yield* sys.pause();
      got.B = yield* sys.epoll_wait(3, [], 64, 0);
    }, { thread: mainTask, cpu: 1 });
    k.runUntilIdle();
    expect(got).toEqual({ A: N, B: 0 });
    const bCall = k.tr!.roots.find((r) => r.ctx.startsWith("task B") && r.text.startsWith("epoll_wait("))!;
    const sleptOnMutex = walkTrace([bCall]).find((n) => n.fn === "mutex_lock")!;
    expect(sleptOnMutex.comment).toBe("held by A: sleep");
    expect(walkTrace([bCall]).some((n) => n.fn === "context_switch")).toBe(true);
  });
});

describe("EPOLLEXCLUSIVE across epoll instances (4.5+)", () => {
  /** N worker processes, each with its own epoll fd watching one inherited UDP socket; after each
   *  datagram a worker spends `work` ns before it waits again. */
  function workers(n: number, exclusive: boolean, datagrams: number[], work = 0, cpus = 1) {
    const k = new Kernel({ cpus });
    const parent = k.spawn("parent", function* (sys) {
      yield* udpSocket(sys, 53); // fd 3
      yield* sys.pause();
    });
    k.run(1_000_000);
    const got: string[] = [];
    const ws: TaskStruct[] = [];
    for (let i = 0; i < n; i++) {
      const w = k.spawn(`w${i}`, function* (sys) {
        const epfd = yield* sys.epoll_create1(0);
        yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, 3, ev(EPOLLIN | (exclusive ? EPOLLEXCLUSIVE : 0), 3));
        const events: EpollEvent[] = [];
        for (;;) {
          yield* sys.epoll_wait(epfd, events, 8, -1);
          const r = yield* sys.recv(3, 1024);
          got.push(`${sys.task.comm}:${r === -EAGAIN ? "EAGAIN" : r}`);
          yield* sys.compute(work);
        }
      });
      inheritFd(parent, 3, w); // fork(): the child shares the parent's socket
      ws.push(w);
    }
    k.run(1_000_000);
    const before = ws.map((w) => w.nvcsw);
    for (const at of datagrams) udpSend(k, { dport: 53, bytes: 100, at });
    k.run(20_000_000);
    return { got, parent, woken: ws.map((w, i) => w.nvcsw - before[i]) };
  }

  it("without it, one datagram wakes every worker; one reads it, the others find nothing and sleep again", () => {
    const { got, woken } = workers(4, false, [5_000_000]);
    expect(woken).toEqual([1, 1, 1, 1]); // the thundering herd: four wakeups, four context switches
    expect(got).toEqual(["w3:100"]); // the last to add its hook is at the head of the socket's queue
  });

  it("with it, one datagram wakes one worker: __wake_up_common stops after the first ep_poll_callback that woke a task", () => {
    const { got, woken, parent } = workers(4, true, [5_000_000]);
    expect(woken).toEqual([1, 0, 0, 0]);
    expect(got).toEqual(["w0:100"]); // exclusive hooks are added at the tail: the first worker is first
    const q = sockWq(parent, 3);
    expect(q.task_list.every((w) => w.func === ep_poll_callback && w.flags & 1)).toBe(true);
  });

  it("an instance with no task in epoll_wait returns 0 (ewake), so a busy worker's datagram wakes the next", () => {
    // 2 CPUs: w0 works on one while the second datagram arrives; w1 wakes on the other
    const { got, woken } = workers(4, true, [5_000_000, 5_500_000], 1_000_000, 2);
    expect(got).toEqual(["w0:100", "w1:100"]);
    expect(woken).toEqual([1, 1, 0, 0]);
  });

  it("while the woken task has not run yet its entry is still on ep->wq: a second datagram goes to it too", () => {
    const { got, woken } = workers(4, true, [5_000_000, 5_000_001]);
    expect(got).toEqual(["w0:100", "w0:100"]);
    expect(woken).toEqual([1, 0, 0, 0]);
  });
});

describe("ovflist: events that come while ep_scan_ready_list copies (§3.4.4)", () => {
  it("a callback during the copy chains on ovflist, wakes nobody, and is on rdllist after the scan", () => {
    const k = new Kernel({ trace: true });
    const got: number[][] = [];
    const p = k.spawn("app", function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      const fds = [yield* udpSocket(sys, 1000), yield* udpSocket(sys, 1001), yield* udpSocket(sys, 1002)];
      for (const fd of fds) yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | EPOLLET, fd));
      yield* arrive(sys, k, 1000);
      yield* arrive(sys, k, 1001);
      const ep = epOf(sys.task, epfd);
      ep.onScan = (k) => {
        ep.onScan = null;
        udpSend(k, { dport: 1002, bytes: 100, at: k.now }); // its IRQ interrupts the copy loop
      };
      const events: EpollEvent[] = [];
      yield* sys.epoll_wait(epfd, events, 8, -1);
      got.push(events.map((e) => e.data));
      expect(ep.ovflist).toBe(EP_UNACTIVE_PTR);
      expect(epRdllistItems(ep).map((e) => e.ffd.fd)).toEqual([6]);
      expect(epRbtreeItems(ep).every((e) => e.next === EP_UNACTIVE_PTR)).toBe(true);
      yield* sys.epoll_wait(epfd, events, 8, 0);
      got.push(events.map((e) => e.data));
    });
    k.runUntilIdle();
    expect(p.exitCode).toBe(0);
    expect(got).toEqual([[4, 5], [6]]); // epfd 3, sockets 4, 5, 6
    const irq = k.tr!.roots.filter((r) => r.text.startsWith("do_IRQ")).at(-1)!;
    const lines = walkTrace([irq]).map((n) => n.text);
    expect(lines).toContain("epi->next = ep->ovflist; ep->ovflist = epi");
    expect(lines.some((l) => l.startsWith("__wake_up_locked"))).toBe(false); // no wakeup during the scan
  });

  it("an LT item that gets data while it is still on txlist is chained, and linked only once afterwards", () => {
    const { k, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fds = [yield* udpSocket(sys, 1000), yield* udpSocket(sys, 1001)]; // 4, 5
      for (const fd of fds) yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      yield* arrive(sys, k, 1000);
      yield* arrive(sys, k, 1001);
      const ep = epOf(sys.task, epfd);
      ep.onScan = (k, ep) => {
        ep.onScan = null;
        udpSend(k, { dport: 1001, bytes: 100, at: k.now }); // fd 5 is still on txlist
      };
      const events: EpollEvent[] = [];
      const n = yield* sys.epoll_wait(epfd, events, 8, -1);
      return { n, rdl: epRdllistItems(ep).map((e) => e.ffd.fd) };
    }, { trace: true });
    const irq = k.tr!.roots.filter((r) => r.text.startsWith("do_IRQ")).at(-1)!;
    expect(walkTrace([irq]).map((n) => n.text)).toContain("epi->next = ep->ovflist; ep->ovflist = epi");
    expect(result.n).toBe(2);
    expect(result.rdl).toEqual([4, 5]); // LT re-adds both; the chained 5 is not linked a second time
  });
});

describe("close(): the epitem lives as long as the struct file (§1.9 of the reference)", () => {
  it("closing one of two dup'd fds keeps the epitem; events keep coming with the old data; the last close removes it", () => {
    const { k, task, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      const fd2 = yield* sys.dup(fd);
      const q = sockWq(sys.task, fd);
      yield* sys.close(fd);
      const ep = epOf(sys.task, epfd);
      const kept = { items: ep.rbr.size(), hooks: q.task_list.length };
      yield* arrive(sys, k, 1000);
      const events: EpollEvent[] = [];
      const n = yield* sys.epoll_wait(epfd, events, 8, 0);
      const got = [...events];
      const r = yield* sys.recv(fd2, 1024);
      yield* sys.close(fd2);
      return { kept, n, got, r, q, epfd };
    });
    expect(result.kept).toEqual({ items: 1, hooks: 1 });
    expect(result.n).toBe(1);
    expect(result.got).toEqual([{ events: EPOLLIN, data: 4 }]); // fd 4 is closed: the data is stale
    expect(result.r).toBe(100);
    expect(epOf(task, result.epfd).rbr.size()).toBe(0);
    expect(result.q.task_list).toEqual([]); // ep_poll_callback unhooked from the (freed) socket
    const g = epollGlobals(k);
    expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive, k.sockets_in_use]).toEqual([0, 0, 0, 0]);
  });

  it("closing the epoll fd frees its items and unhooks them; another epoll watching the same socket is untouched", () => {
    const { k, task, result } = runApp(function* (sys, k) {
      const ep1 = yield* sys.epoll_create1(0);
      const ep2 = yield* sys.epoll_create1(0);
      const a = yield* udpSocket(sys, 1000);
      const b = yield* udpSocket(sys, 1001);
      yield* sys.epoll_ctl(ep1, EPOLL_CTL_ADD, a, ev(EPOLLIN, a));
      yield* sys.epoll_ctl(ep1, EPOLL_CTL_ADD, b, ev(EPOLLIN, b));
      yield* sys.epoll_ctl(ep2, EPOLL_CTL_ADD, b, ev(EPOLLIN, b));
      yield* arrive(sys, k, 1001);
      const ep = epOf(sys.task, ep1);
      yield* sys.close(ep1);
      const events: EpollEvent[] = [];
      return { a, b, ep2, ep, n: yield* sys.epoll_wait(ep2, events, 8, 0) };
    });
    expect(result.ep.rbr.size()).toBe(0);
    expect(epRdllistItems(result.ep)).toEqual([]);
    expect(sockWq(task, result.a).task_list).toEqual([]);
    expect(sockWq(task, result.b).task_list).toHaveLength(1);
    expect(result.n).toBe(1);
    const g = epollGlobals(k);
    expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive]).toEqual([1, 1, 1]);
  });

  it("exit() closes everything: no epitem or wait entry is left", () => {
    const { k } = runApp(function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      for (let i = 0; i < 4; i++) {
        const fd = yield* udpSocket(sys, 1000 + i);
        yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
        yield* sys.dup(fd);
      }
    }, { exit: true });
    const g = epollGlobals(k);
    expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive, k.sockets_in_use]).toEqual([0, 0, 0, 0]);
  });
});

describe("TCP readiness: a listener, a FIN", () => {
  it("a new connection makes the listening socket EPOLLIN; accept4(SOCK_NONBLOCK) drains it, then EAGAIN", () => {
    const k = new Kernel();
    const out: unknown[] = [];
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 16);
      const epfd = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, ev(EPOLLIN, lfd));
      const events: EpollEvent[] = [];
      out.push(yield* sys.epoll_wait(epfd, events, 8, -1), [...events]);
      out.push(yield* sys.accept4(lfd, SOCK_NONBLOCK), yield* sys.accept4(lfd, SOCK_NONBLOCK));
      out.push(yield* sys.epoll_wait(epfd, events, 8, 0));
    });
    new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    k.runUntilIdle();
    expect(out).toEqual([1, [{ events: EPOLLIN, data: 3 }], 5, -EAGAIN, 0]);
  });

  it("the peer's FIN: EPOLLIN | EPOLLRDHUP, and read() returns 0", () => {
    const k = new Kernel();
    const out: unknown[] = [];
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 16);
      const fd = yield* sys.accept4(lfd, SOCK_NONBLOCK);
      const epfd = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | EPOLLRDHUP | EPOLLET, fd));
      const events: EpollEvent[] = [];
      out.push(yield* sys.epoll_wait(epfd, events, 8, -1), [...events]);
      out.push(yield* sys.read(fd, 1024), yield* sys.read(fd, 1024));
      out.push(yield* sys.epoll_wait(epfd, events, 8, -1), [...events]);
      out.push(yield* sys.read(fd, 1024));
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    peer.send(100, 3_000_000);
    peer.close(5_000_000);
    k.runUntilIdle();
    expect(out).toEqual([1, [{ events: EPOLLIN, data: 4 }], 100, -EAGAIN, 1, [{ events: EPOLLIN | EPOLLRDHUP, data: 4 }], 0]);
  });
});

describe("nested epoll: an epoll fd watched by another (ep_eventpoll_poll, ep->poll_wait)", () => {
  it("a datagram for the inner epoll's socket wakes the task waiting on the outer one", () => {
    const k = new Kernel();
    const out: unknown[] = [];
    const p = k.spawn("app", function* (sys) {
      const s = yield* udpSocket(sys, 1000); // 3
      const inner = yield* sys.epoll_create1(0); // 4
      const outer = yield* sys.epoll_create1(0); // 5
      yield* sys.epoll_ctl(inner, EPOLL_CTL_ADD, s, ev(EPOLLIN, s));
      yield* sys.epoll_ctl(outer, EPOLL_CTL_ADD, inner, ev(EPOLLIN, inner));
      const events: EpollEvent[] = [];
      out.push(yield* sys.epoll_wait(outer, events, 8, -1), [...events]);
      out.push(yield* sys.epoll_wait(inner, events, 8, 0), [...events]);
      yield* sys.pause();
    });
    k.run(1_000_000);
    const inner = epOf(p, 4);
    expect(inner.poll_wait.task_list.map((w) => w.func)).toEqual([ep_poll_callback]); // the outer's hook
    udpSend(k, { dport: 1000, bytes: 100, at: 2_000_000 });
    k.runUntilIdle();
    expect(out).toEqual([1, [{ events: EPOLLIN, data: 4 }], 1, [{ events: EPOLLIN, data: 3 }]]);
  });

  it("closing the inner epoll fd removes it from the outer one (eventpoll_release on its file)", () => {
    const { task, result } = runApp(function* (sys) {
      const inner = yield* sys.epoll_create1(0);
      const outer = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(outer, EPOLL_CTL_ADD, inner, ev(EPOLLIN, inner));
      yield* sys.close(inner);
      return outer;
    });
    expect(epOf(task, result).rbr.size()).toBe(0);
  });

  it("ELOOP: a cycle (directly or through a third), and 6 levels of epolls below the target", () => {
    const { result } = runApp(function* (sys, k) {
      const e: number[] = [];
      for (let i = 0; i < 10; i++) e.push(yield* sys.epoll_create1(0));
      const r: Record<string, number | boolean> = {};
      r.ab = yield* sys.epoll_ctl(e[0], EPOLL_CTL_ADD, e[1], ev(EPOLLIN, 0));
      r.bc = yield* sys.epoll_ctl(e[1], EPOLL_CTL_ADD, e[2], ev(EPOLLIN, 0));
      let before = epollState(k, sys.task);
      r.ba = yield* sys.epoll_ctl(e[1], EPOLL_CTL_ADD, e[0], ev(EPOLLIN, 0));
      r.ca = yield* sys.epoll_ctl(e[2], EPOLL_CTL_ADD, e[0], ev(EPOLLIN, 0));
      r.cycleUnchanged = epollState(k, sys.task) === before;
      // a chain e3 > e4 > ... > e8, built top-down (each add looks only below its target)
      for (let i = 3; i < 8; i++) r[`chain${i}`] = yield* sys.epoll_ctl(e[i], EPOLL_CTL_ADD, e[i + 1], ev(EPOLLIN, 0));
      before = epollState(k, sys.task);
      r.deep = yield* sys.epoll_ctl(e[9], EPOLL_CTL_ADD, e[3], ev(EPOLLIN, 0)); // e3 has 5 levels below it
      r.deepUnchanged = epollState(k, sys.task) === before;
      r.shallow = yield* sys.epoll_ctl(e[9], EPOLL_CTL_ADD, e[4], ev(EPOLLIN, 0)); // e4 has 4
      return r;
    });
    expect(result).toEqual({
      ab: 0, bc: 0, ba: -ELOOP, ca: -ELOOP, cycleUnchanged: true, chain3: 0, chain4: 0, chain5: 0, chain6: 0, chain7: 0,
      deep: -ELOOP, deepUnchanged: true, shallow: 0,
    });
  });

  it("reverse_path_check: at most 10 wakeup paths of length 5 from a socket; -EINVAL and nothing changes", () => {
    const { result } = runApp(function* (sys, k) {
      const s = yield* udpSocket(sys, 1000);
      const chain = [s];
      const r: number[] = [];
      for (let i = 0; i < 4; i++) {
        const e = yield* sys.epoll_create1(0); // s <- a <- b <- c <- d
        r.push(yield* sys.epoll_ctl(e, EPOLL_CTL_ADD, chain[i], ev(EPOLLIN, 0)));
        chain.push(e);
      }
      let unchanged = false;
      for (let i = 0; i < 11; i++) {
        const e = yield* sys.epoll_create1(0);
        const before = epollState(k, sys.task);
        r.push(yield* sys.epoll_ctl(e, EPOLL_CTL_ADD, chain[4], ev(EPOLLIN, 0))); // ... <- d <- e_i
        if (i === 10) unchanged = epollState(k, sys.task) === before;
      }
      return { r, unchanged };
    });
    expect(result.r).toEqual([...Array(14).fill(0), -EINVAL]);
    expect(result.unchanged).toBe(true);
  });

  it("reverse_path_check: a wakeup path longer than 5 epolls above a socket is refused (-EINVAL)", () => {
    const { result } = runApp(function* (sys) {
      let below = yield* udpSocket(sys, 1000);
      const r: number[] = [];
      for (let i = 0; i < 6; i++) {
        const e = yield* sys.epoll_create1(0);
        r.push(yield* sys.epoll_ctl(e, EPOLL_CTL_ADD, below, ev(EPOLLIN, 0)));
        below = e;
      }
      return r;
    });
    expect(result).toEqual([0, 0, 0, 0, 0, -EINVAL]);
  });
});
