// poll() and select() (fs/select.c): the scan, __pollwait's registrations, pollwake, poll_freewait,
// timeouts, errors, nested readiness through an epoll fd, and the poll server.
import { describe, expect, it } from "vitest";
import {
  Kernel, udpSend, kill, wake_up_interruptible_poll, pollCounters, runServer, formatTrace, walkTrace, runTrace,
  AF_INET, SOCK_DGRAM, SOCK_NONBLOCK, POLLIN, POLLOUT, POLLNVAL, EPOLLIN, EPOLLET, EPOLL_CTL_ADD,
  EINTR, EINVAL, EFAULT, EBADF, TASK_INTERRUPTIBLE,
  type Sys, type KGen, type Pollfd, type Socket, type TaskStruct, type EpollEvent,
} from "kernel-model";
import { runApp } from "./helpers";

function* udp(sys: Sys, port: number): KGen<number> {
  const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  expect(yield* sys.bind(fd, port)).toBe(0);
  return fd;
}
const wq = (p: TaskStruct, fd: number) => (p.files.fd[fd]!.private_data as Socket).wq.wait;
/** The socket behind fd, kept so that its wait queue can be read after the task exits. */
const sockOf = (p: TaskStruct, fd: number) => p.files.fd[fd]!.private_data as Socket;

describe("poll()", () => {
  it("sleeps with one pollwake entry on every socket's wait queue, wakes on a datagram, rescans all, unhooks all", () => {
    const k = new Kernel();
    const N = 5;
    const seen: { n: number; revents: number[]; t: number } = { n: -1, revents: [], t: 0 };
    const fds: number[] = [];
    const p = k.spawn("app", function* (sys) {
      for (let i = 0; i < N; i++) fds.push(yield* udp(sys, 9000 + i));
      const pfds: Pollfd[] = fds.map((fd) => ({ fd, events: POLLIN, revents: -1 }));
      seen.n = yield* sys.poll(pfds, N, -1);
      seen.revents = pfds.map((x) => x.revents);
      seen.t = k.now;
    });
    k.run(1_000_000);
    expect(p.state).toBe(TASK_INTERRUPTIBLE);
    const socks = fds.map((fd) => sockOf(p, fd));
    for (const sock of socks) expect(sock.wq.wait.task_list.map((w) => w.func.name)).toEqual(["pollwake"]);
    const c0 = { ...pollCounters(k) };
    expect(c0).toEqual({ pollwaits: N, freewaits: 0, fdsPolled: N });
    udpSend(k, { dport: 9003, bytes: 10, at: 2_000_000 });
    k.runUntilIdle();
    expect(seen.n).toBe(1);
    expect(seen.revents).toEqual([0, 0, 0, POLLIN, 0]);
    expect(seen.t).toBeGreaterThan(2_000_000);
    // the wakeup costs a second scan of every fd, and every registration is undone
    expect(pollCounters(k)).toEqual({ pollwaits: N, freewaits: N, fdsPolled: 2 * N });
    for (const sock of socks) expect(sock.wq.wait.task_list.length).toBe(0);
  });

  it("a ready fd at the first scan stops registration (pt->_qproc = NULL) for the fds after it", () => {
    const { k, result } = runApp(function* (sys, k) {
      const a = yield* udp(sys, 9000);
      const b = yield* udp(sys, 9001);
      const c = yield* udp(sys, 9002);
      udpSend(k, { dport: 9001, bytes: 10, at: k.now });
      yield* sys.compute(50_000);
      const pfds: Pollfd[] = [a, b, c].map((fd) => ({ fd, events: POLLIN, revents: 0 }));
      return [yield* sys.poll(pfds, 3, 1000), pfds.map((x) => x.revents)];
    });
    expect(result).toEqual([1, [0, POLLIN, 0]]);
    expect(pollCounters(k).pollwaits).toBe(2); // a, and b (its ->poll registered, then reported ready); not c
  });

  it("times out with 0 after timeout + select_estimate_accuracy's slack; 0 ms never sleeps", () => {
    const { result } = runApp(function* (sys, k) {
      const a = yield* udp(sys, 9000);
      const t0 = k.now;
      const r1 = yield* sys.poll([{ fd: a, events: POLLIN, revents: 0 }], 1, 10);
      const dt = k.now - t0;
      const t1 = k.now;
      const r2 = yield* sys.poll([{ fd: a, events: POLLIN, revents: 0 }], 1, 0);
      return { r1, dt, r2, dt2: k.now - t1, nv: sys.task.nvcsw };
    });
    expect(result.r1).toBe(0);
    expect(result.dt).toBeGreaterThanOrEqual(10_000_000 + 10_000); // 0.1% slack of 10 ms
    expect(result.dt).toBeLessThan(10_200_000);
    expect(result.r2).toBe(0);
    expect(result.dt2).toBeLessThan(10_000);
  });

  it("errors: nfds > RLIMIT_NOFILE -> EINVAL; an unmapped ufds -> EFAULT; a closed fd -> POLLNVAL; fd < 0 ignored", () => {
    const { result } = runApp(function* (sys) {
      const a = yield* udp(sys, 9000);
      const e1 = yield* sys.poll([], 1025, 0);
      const e2 = yield* sys.poll(null, 1, 0);
      const e3 = yield* sys.poll(null, 0, 0); // nothing to copy: no fault
      const pf: Pollfd[] = [{ fd: 77, events: POLLIN, revents: 0 }, { fd: -1, events: POLLIN, revents: 9 }, { fd: a, events: POLLOUT, revents: 0 }];
      const n = yield* sys.poll(pf, 3, 0);
      return [e1, e2, e3, n, pf.map((x) => x.revents)];
    });
    expect(result).toEqual([-EINVAL, -EFAULT, 0, 2, [POLLNVAL, 0, POLLOUT]]);
  });

  it("a signal ends the sleep with EINTR (ERESTART_RESTARTBLOCK, seen through a handler)", () => {
    const k = new Kernel();
    let r = 0;
    const p = k.spawn("app", function* (sys) {
      const a = yield* udp(sys, 9000);
      r = yield* sys.poll([{ fd: a, events: POLLIN, revents: 0 }], 1, -1);
    });
    k.run(100_000);
    k.engine.at(200_000, () => kill(k, p));
    k.runUntilIdle();
    expect(r).toBe(-EINTR);
  });

  it("pollwake ignores a wakeup whose key has none of the entry's events", () => {
    const k = new Kernel();
    let r = 0;
    let fd = -1;
    const p = k.spawn("app", function* (sys) {
      fd = yield* udp(sys, 9000);
      r = yield* sys.poll([{ fd, events: POLLIN, revents: 0 }], 1, -1);
    });
    k.run(100_000);
    k.engine.at(200_000, () => wake_up_interruptible_poll(k, wq(p, fd), POLLOUT)); // sk_write_space's key
    k.run(1_000_000);
    expect(p.state).toBe(TASK_INTERRUPTIBLE);
    udpSend(k, { dport: 9000, bytes: 1, at: 2_000_000 });
    k.runUntilIdle();
    expect(r).toBe(1);
  });

  it("on an epoll fd: readiness of the sockets inside, through ep_eventpoll_poll (epoll_wakeup.epoll5, epoll6)", () => {
    const { result } = runApp(function* (sys, k) {
      const s = yield* udp(sys, 9000);
      const lt = yield* sys.epoll_create(1);
      const et = yield* sys.epoll_create(1);
      yield* sys.epoll_ctl(lt, EPOLL_CTL_ADD, s, { events: EPOLLIN, data: s });
      yield* sys.epoll_ctl(et, EPOLL_CTL_ADD, s, { events: (EPOLLIN | EPOLLET) >>> 0, data: s });
      udpSend(k, { dport: 9000, bytes: 1, at: k.now });
      yield* sys.compute(50_000);
      const ev: EpollEvent[] = [];
      const out: number[] = [];
      for (const efd of [lt, et]) {
        for (let i = 0; i < 2; i++) {
          out.push(yield* sys.poll([{ fd: efd, events: POLLIN, revents: 0 }], 1, 0));
          out.push(yield* sys.epoll_wait(efd, ev, 1, 0));
        }
      }
      return out;
    });
    // LT (epoll5): 1 1 1 1; ET (epoll6): poll 1, epoll_wait 1, then 0 0
    expect(result).toEqual([1, 1, 1, 1, 1, 1, 0, 0]);
  });

  it("a poll() sleeping on an epoll fd is woken by a datagram on a socket inside it", () => {
    const k = new Kernel();
    let r = -9;
    k.spawn("app", function* (sys) {
      const s = yield* udp(sys, 9000);
      const efd = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(efd, EPOLL_CTL_ADD, s, { events: EPOLLIN, data: s });
      r = yield* sys.poll([{ fd: efd, events: POLLIN, revents: 0 }], 1, 1000);
    });
    udpSend(k, { dport: 9000, bytes: 1, at: 500_000 });
    k.runUntilIdle();
    expect(r).toBe(1);
    expect(k.now).toBeLessThan(10_000_000);
  });

  it("traces as fs/select.c does: SYSC_poll -> do_sys_poll -> do_poll -> do_pollfd -> ->poll -> __pollwait, then poll_freewait", () => {
    const k = new Kernel({ trace: true });
    k.spawn("app", function* (sys) {
      const a = yield* udp(sys, 9000);
      udpSend(k, { dport: 9000, bytes: 1, at: k.now + 50_000 });
      yield* sys.poll([{ fd: a, events: POLLIN, revents: 0 }], 1, -1);
    });
    k.runUntilIdle();
    const text = formatTrace(k.tr!.roots);
    const nodes = walkTrace(k.tr!.roots);
    const at = (fn: string) => nodes.find((n) => n.fn === fn)!.t;
    expect(text).toMatch(/SYSC_poll\(ufds, nfds = 1, timeout_msecs = -1\)\s+\(fs\/select\.c:9\d\d\)/);
    expect(text).toMatch(/do_sys_poll\(ufds, nfds, to\)\s+\(fs\/select\.c:8\d\d\)/);
    expect(text).toMatch(/__pollwait\(file, .*\(fs\/select\.c:2[12]\d\)/);
    expect(text).toMatch(/pollwake\(wait, mode, sync, key=0x[0-9a-f]+\)\s+\(fs\/select\.c:2[01]\d\)/);
    expect(at("poll_freewait")).toBeGreaterThan(at("pollwake")); // unhooked after the wakeup, on the way out
  });
});

describe("trace poll-wait", () => {
  it("registers on each of the three sockets, sleeps, is woken by pollwake, rescans all three, then unhooks them", () => {
    const { roots } = runTrace("poll-wait");
    const nodes = walkTrace(roots);
    expect(nodes.filter((n) => n.fn === "__pollwait").length).toBe(3);
    expect(nodes.filter((n) => n.fn === "pollwake").length).toBe(1);
    expect(nodes.filter((n) => n.fn === "sock_poll").length).toBe(6); // two scans of three fds
    expect(nodes.some((n) => n.fn === "poll_freewait")).toBe(true);
  });
});

describe("select()", () => {
  it("returns the ready fds in the sets, writes back the time left, and unhooks its entries", () => {
    const k = new Kernel();
    const out: { r: number; rd: number[]; wr: number[]; tv: { tv_sec: number; tv_usec: number } } = { r: 0, rd: [], wr: [], tv: { tv_sec: 0, tv_usec: 0 } };
    let p: TaskStruct | null = null;
    let fds: number[] = [];
    let socks: Socket[] = [];
    p = k.spawn("app", function* (sys) {
      fds = [yield* udp(sys, 9000), yield* udp(sys, 9001)];
      socks = fds.map((fd) => sockOf(sys.task, fd));
      const rd = new Set(fds);
      const tv = { tv_sec: 2, tv_usec: 500_000 };
      out.r = yield* sys.select(fds[1] + 1, rd, null, null, tv);
      out.rd = [...rd];
      out.tv = tv;
      const wr = new Set(fds);
      out.wr = [(yield* sys.select(fds[1] + 1, null, wr, null, { tv_sec: 0, tv_usec: 0 })), ...wr];
    });
    udpSend(k, { dport: 9001, bytes: 1, at: 1_000_000_000 });
    k.runUntilIdle();
    expect(out.r).toBe(1);
    expect(out.rd).toEqual([fds[1]]);
    expect(out.tv.tv_sec).toBe(1);
    expect(out.tv.tv_usec).toBeGreaterThan(490_000);
    expect(out.wr).toEqual([2, ...fds]); // UDP sockets are writable
    for (const sock of socks) expect(sock.wq.wait.task_list.length).toBe(0);
    expect(p.exitCode).toBe(0);
  });

  it("errors in 4.6.2's order: n < 0 and a bad timeval -> EINVAL; a set fd that is not open -> EBADF; fds >= n ignored", () => {
    const { result } = runApp(function* (sys) {
      const a = yield* udp(sys, 9000);
      return [
        yield* sys.select(-1, new Set([a]), null, null, { tv_sec: 0, tv_usec: 0 }),
        yield* sys.select(a + 1, new Set([a]), null, null, { tv_sec: -1, tv_usec: 0 }),
        yield* sys.select(a + 1, new Set([a]), null, null, { tv_sec: 0, tv_usec: -1 }),
        yield* sys.select(40, new Set([a, 30]), null, null, { tv_sec: 0, tv_usec: 0 }),
        yield* sys.select(a + 1, new Set([a, 30]), null, null, { tv_sec: 0, tv_usec: 0 }),
      ];
    });
    expect(result).toEqual([-EINVAL, -EINVAL, -EINVAL, -EBADF, 0]);
  });
});

describe("the poll server (run --model poll)", () => {
  it("reads every message; each poll() scans every connection: more sys time per message than epoll at 1000 conns", () => {
    const o = { conns: 1000, msgs: 5000, rate: 10_000, seed: 3 };
    const poll = runServer({ model: "poll", ...o });
    const epoll = runServer({ model: "epoll", ...o });
    expect(poll.summary.delivered).toBe(o.msgs);
    expect(poll.summary.dropped).toBe(0);
    const c = pollCounters(poll.kernel);
    // every call unhooks what it hooked: only the sleeping call's entries (1000 conns + listener) remain
    expect(c.pollwaits - c.freewaits).toBe(o.conns + 1);
    // each poll() that slept had registered on all 1000 connections first (epoll: on none)
    expect(c.pollwaits / o.msgs).toBeGreaterThanOrEqual(o.conns * poll.summary.vcswPerMsg);
    const sysPerMsg = (r: typeof poll) => r.summary.cpuNs.sys / r.summary.delivered;
    expect(sysPerMsg(poll)).toBeGreaterThan(3 * sysPerMsg(epoll));
  });
});
