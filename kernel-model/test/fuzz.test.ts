// Fuzzing the syscall boundary (fast-check): random programs of syscalls with random, also
// invalid, arguments, fds, flags and timing, in 1-3 threads on 1-4 CPUs, with UDP traffic from
// outside and the send side over lo (sendto / send / write, connect, shutdown).
// Invariants, checked after every program:
// * nothing throws out of the model, and every syscall returns a count or a known -errno;
// * no task waits for a CPU longer than a few scheduling periods (bcc runqlat's max);
// * sent = read + queued + dropped (+ purged unread when a socket is closed with data, + freed by
//   a copy fault), counting the datagrams from outside and those the programs send over lo;
// * no syscall leaves a wait entry of its task on its files' wait queues when it returns, and
//   after close and exit nothing is left: no socket, sock, file, epitem, eppoll_entry or
//   poll_table_entry;
// * the same program and seed give the same results, syscall by syscall.
// The budget is bounded (numRuns below, a few seconds); the counters print one summary line.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Kernel, udpSend, kill, epollGlobals, pollCounters, errnoName, SIGKILL, SIGUSR1, sigmask,
  AF_INET, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_CLOEXEC, POLLIN, POLLOUT, EPOLLIN, EPOLLOUT, EPOLLET, EPOLLONESHOT,
  EPOLLEXCLUSIVE, MSG_DONTWAIT, MSG_PEEK, KERNEL_ADDR, UNMAPPED_ADDR, SOL_SOCKET, SO_RCVBUF, SO_RCVTIMEO,
  socket_file_ops, eventpoll_fops,
  type Sys, type KGen, type UserMsghdr, type TaskStruct, type WaitQueueHead, type Socket, type Eventpoll,
} from "kernel-model";
import { expectSoftirqsRun } from "./helpers";

const PORTS = [7000, 7001, 7002];
const fdArb = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 3, max: 9 }) }, fc.integer({ min: -2, max: 14 }));
const ptrArb = <T>(good: fc.Arbitrary<T>) => fc.oneof({ weight: 6, arbitrary: good }, fc.constant(null), fc.constant(KERNEL_ADDR), fc.constant(UNMAPPED_ADDR));
const evArb = fc.record({
  events: fc.constantFrom(EPOLLIN, EPOLLOUT, (EPOLLIN | EPOLLET) >>> 0, (EPOLLIN | EPOLLONESHOT) >>> 0, (EPOLLIN | EPOLLEXCLUSIVE) >>> 0, 0, 0xffffffff),
  data: fc.integer({ min: 0, max: 20 }),
});
const timeoutArb = fc.constantFrom(-1, 0, 0, 1, 3);

/** One syscall with its arguments. */
const opArb = fc.oneof(
  fc.tuple(fc.constant("socket"), fc.constantFrom(AF_INET, AF_INET, 0, 10, 99), fc.constantFrom(SOCK_DGRAM, SOCK_STREAM, SOCK_DGRAM | SOCK_NONBLOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 3, 75), fc.constantFrom(0, 0, 6, 17, 1)),
  fc.tuple(fc.constant("close"), fdArb),
  fc.tuple(fc.constant("dup"), fdArb),
  fc.tuple(fc.constant("bind"), fdArb, fc.constantFrom(...PORTS, 80)),
  fc.tuple(fc.constant("listen"), fdArb, fc.integer({ min: -1, max: 4 })),
  fc.tuple(fc.constant("accept4"), fdArb, fc.constantFrom(0, SOCK_NONBLOCK, 1)),
  fc.tuple(fc.constant("read"), fdArb, fc.integer({ min: 0, max: 2000 })),
  fc.tuple(fc.constant("recv"), fdArb, fc.integer({ min: 0, max: 2000 }), fc.constantFrom(0, MSG_DONTWAIT, MSG_PEEK | MSG_DONTWAIT, 0x1), ptrArb(fc.constant({}))),
  fc.tuple(fc.constant("recvfrom"), fdArb, fc.integer({ min: 0, max: 2000 }), fc.constantFrom(0, MSG_DONTWAIT, MSG_PEEK | MSG_DONTWAIT),
    fc.option(fc.record({ addrlen: fc.constantFrom(-1, 0, 4, 16), addrPtr: fc.constantFrom(undefined, undefined, KERNEL_ADDR, UNMAPPED_ADDR), addrlenPtr: fc.constantFrom(undefined, undefined, undefined, KERNEL_ADDR) })),
    ptrArb(fc.constant({}))),
  fc.tuple(fc.constant("sendto"), fdArb, fc.integer({ min: 0, max: 2000 }), fc.constantFrom(0, MSG_DONTWAIT, 0x1), fc.constantFrom(...PORTS, 7009, 80, 0)),
  fc.tuple(fc.constant("send"), fdArb, fc.integer({ min: 0, max: 2000 }), fc.constantFrom(0, MSG_DONTWAIT, 0x1)),
  fc.tuple(fc.constant("write"), fdArb, fc.integer({ min: 0, max: 2000 })),
  fc.tuple(fc.constant("connect"), fdArb, fc.constantFrom(...PORTS, 7009, 80, 0)),
  fc.tuple(fc.constant("shutdown"), fdArb, fc.integer({ min: -1, max: 3 })),
  fc.tuple(fc.constant("recvmsg"), fdArb, ptrArb(fc.record({ iovlen: fc.integer({ min: -1, max: 3 }), len: fc.integer({ min: -1, max: 1500 }), base: ptrArb(fc.constant({})) })), fc.constantFrom(0, MSG_DONTWAIT, -1)),
  fc.tuple(fc.constant("setsockopt"), fdArb, fc.constantFrom(SOL_SOCKET, 6), fc.constantFrom(SO_RCVBUF, SO_RCVTIMEO, 99), fc.integer({ min: -1, max: 20_000_000 })),
  fc.tuple(fc.constant("fcntl"), fdArb, fc.constantFrom(1, 2, 3, 4, 99), fc.integer({ min: 0, max: 0o4001 })),
  fc.tuple(fc.constant("epoll_create"), fc.integer({ min: -1, max: 2 })),
  fc.tuple(fc.constant("epoll_create1"), fc.constantFrom(0, SOCK_CLOEXEC, -1)),
  fc.tuple(fc.constant("epoll_ctl"), fdArb, fc.integer({ min: -1, max: 4 }), fdArb, ptrArb(evArb)),
  fc.tuple(fc.constant("epoll_wait"), fdArb, ptrArb(fc.constant([])), fc.integer({ min: -1, max: 4 }), timeoutArb),
  fc.tuple(fc.constant("epoll_pwait"), fdArb, fc.integer({ min: 0, max: 4 }), timeoutArb, ptrArb(fc.constantFrom(0, sigmask(SIGUSR1))), fc.constantFrom(8, 8, 4)),
  fc.tuple(fc.constant("poll"), fc.array(fc.record({ fd: fdArb, events: fc.constantFrom(POLLIN, POLLOUT, POLLIN | POLLOUT, 0) }), { maxLength: 4 }), timeoutArb, fc.boolean()),
  fc.tuple(fc.constant("select"), fc.integer({ min: -1, max: 14 }), fc.array(fdArb, { maxLength: 3 }), fc.array(fdArb, { maxLength: 2 }), fc.option(fc.record({ tv_sec: fc.constantFrom(0, 0, -1), tv_usec: fc.constantFrom(0, 1000, 2_000_000, -5) }))),
  fc.tuple(fc.constant("sigprocmask"), fc.integer({ min: -1, max: 3 }), fc.constantFrom(0, sigmask(SIGUSR1))),
  fc.tuple(fc.constant("compute"), fc.integer({ min: 0, max: 8_000_000 })),
);
type Op = typeof opArb extends fc.Arbitrary<infer T> ? T : never;

const caseArb = fc.record({
  seed: fc.integer({ min: 1, max: 1_000_000 }),
  cpus: fc.integer({ min: 1, max: 4 }),
  threads: fc.array(fc.array(opArb, { minLength: 1, maxLength: 25 }), { minLength: 1, maxLength: 3 }),
  traffic: fc.array(fc.record({ at: fc.integer({ min: 0, max: 40_000_000 }), port: fc.constantFrom(...PORTS, 7009), bytes: fc.integer({ min: 1, max: 1400 }) }), { maxLength: 40 }),
});
type Case = typeof caseArb extends fc.Arbitrary<infer T> ? T : never;

function* runOp(sys: Sys, op: Op, tcp: boolean): KGen<number> {
  switch (op[0]) {
    case "socket": return yield* sys.socket(op[1], op[2], op[3]);
    case "close": return yield* sys.close(op[1]);
    case "dup": return yield* sys.dup(op[1]);
    case "bind": return yield* sys.bind(op[1], op[2]);
    case "listen": return yield* sys.listen(op[1], op[2]);
    case "accept4": return yield* sys.accept4(op[1], op[2]);
    case "read": return yield* sys.read(op[1], op[2]);
    case "recv": return yield* sys.recv(op[1], op[2], op[3], op[4]);
    case "recvfrom": return yield* sys.recvfrom(op[1], op[2], op[3], op[4] ? { addr: null, ...op[4] } : null, op[5]);
    case "sendto": return yield* sys.sendto(op[1], op[2], op[3], op[4]);
    case "send": return yield* sys.send(op[1], op[2], op[3]);
    case "write": return yield* sys.write(op[1], op[2]);
    case "connect": {
      // UDP-only programs: a TCP connect would put segments on lo, which share the drop and
      // no-socket counters with the datagrams and would blur their balance (the xmit hook checks)
      const f = sys.task.files.fd[op[1]];
      if (!tcp && f?.f_op === socket_file_ops && (f.private_data as Socket).type === SOCK_STREAM) return 0;
      return yield* sys.connect(op[1], op[2]);
    }
    case "shutdown": return yield* sys.shutdown(op[1], op[2]);
    case "recvmsg": {
      const m = op[2];
      const msg = m === null || !("iovlen" in m) ? m : {
        msg_name: {}, msg_namelen: 16, msg_iov: Array.from({ length: Math.max(0, m.iovlen) }, () => ({ iov_base: m.base, iov_len: m.len })),
        msg_iovlen: m.iovlen, msg_control: null, msg_controllen: 0, msg_flags: 0,
      } satisfies UserMsghdr;
      return yield* sys.recvmsg(op[1], msg, op[3]);
    }
    case "setsockopt": return yield* sys.setsockopt(op[1], op[2], op[3], op[4]);
    case "fcntl": return yield* sys.fcntl(op[1], op[2], op[3]);
    case "epoll_create": return yield* sys.epoll_create(op[1]);
    case "epoll_create1": return yield* sys.epoll_create1(op[1]);
    case "epoll_ctl": return yield* sys.epoll_ctl(op[1], op[2], op[3], op[4] as never);
    case "epoll_wait": return yield* sys.epoll_wait(op[1], Array.isArray(op[2]) ? [] : op[2], op[3], op[4]);
    case "epoll_pwait": return yield* sys.epoll_pwait(op[1], [], op[2], op[3], op[4], op[5]);
    case "poll": {
      const fds = op[1].map((x) => ({ ...x, revents: 0 }));
      return yield* sys.poll(op[3] ? fds : null, fds.length, op[2]);
    }
    case "select": return yield* sys.select(op[1], new Set(op[2]), new Set(op[3]), null, op[4] ? { ...op[4] } : null);
    case "sigprocmask": return yield* sys.sigprocmask(op[1], op[2]);
    case "compute":
      yield* sys.compute(op[1]);
      return 0;
  }
}

/** Wait entries that belong to task p (a task waiter, or a poll table entry of p's) on the wait
 *  queues of p's files: after a syscall returns there must be none (each call unhooks itself). */
function leftoverWaits(p: TaskStruct): string[] {
  const out: string[] = [];
  const mine = (w: { private: unknown }) => w.private === p || (w.private as { polling_task?: unknown } | null)?.polling_task === p;
  for (const [fd, f] of p.files.fd.entries()) {
    if (!f) continue;
    const heads: (WaitQueueHead | null)[] = [];
    if (f.f_op === socket_file_ops) {
      const sock = f.private_data as Socket;
      heads.push(sock.wq.wait, sock.sk?.sk_lock.wq ?? null);
    } else if (f.f_op === eventpoll_fops) {
      const ep = f.private_data as Eventpoll;
      heads.push(ep.wq, ep.poll_wait);
    }
    for (const h of heads) if (h) for (const w of h.task_list) if (mine(w)) out.push(`fd ${fd} ${h.name}: ${w.func.name}`);
  }
  return out;
}

const totals = { tcpLo: 0, programs: 0, syscalls: 0, errnos: new Map<string, number>(), maxRunqNs: 0, ticks: 0, udpLo: 0, copyFaults: 0, sends: 0 };

/** Run one case; returns everything the invariants and the determinism check look at. With
 *  `tcp`, fds 6-8 are a TCP listener on port 80 and two TCP sockets, and connect() goes through. */
function runCase(c: Case, tcp = false) {
  const k = new Kernel({ seed: c.seed, cpus: c.cpus });
  const rets: string[] = [];
  const leaks: string[] = [];
  /** One syscall, its result, and the check that it left no wait entry of its task behind. */
  function* step(sys: Sys, t: number, op: Op): KGen<string> {
    const r = `${t}:${op[0]}=${errnoName(yield* runOp(sys, op, tcp))}`;
    for (const l of leftoverWaits(sys.task)) leaks.push(`${r}: ${l}`);
    return r;
  }
  let udpRead = 0;
  k.onDeliver = (_p, skb) => { if (skb.protocol === 17) udpRead++; };
  // the datagrams the programs send over lo (loopback_xmit sees each once)
  let udpLo = 0;
  let tcpLo = 0;
  const xmit = k.lo!.ndo_start_xmit!;
  k.lo!.ndo_start_xmit = (kk, skb, dev) => {
    if (skb.protocol === 17) udpLo++;
    else tcpLo++;
    return xmit(kk, skb, dev);
  };
  const main = k.spawn("t0", function* (sys) {
    // the sockets the traffic goes to, shared by every thread (and closable by any)
    for (const port of PORTS) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | (port === 7000 ? 0 : SOCK_NONBLOCK), 0);
      yield* sys.bind(fd, port);
    }
    if (tcp) {
      const l = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(l, 80);
      yield* sys.listen(l, 2);
      yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    }
    for (const [i, ops] of c.threads.slice(1).entries()) {
      k.spawn(`t${i + 1}`, function* (sys) { for (const op of ops) rets.push(yield* step(sys, i + 1, op)); }, { thread: sys.task });
    }
    for (const op of c.threads[0]) rets.push(yield* step(sys, 0, op));
  });
  void main;
  for (const t of c.traffic) udpSend(k, { dport: t.port, bytes: t.bytes, at: 1_000_000 + t.at });
  const end = 50_000_000;
  k.run(end);
  // the reaper: SIGKILL (never blocked) to every live task until all have exited
  for (let round = 0; round < 2000 && k.tasks.some((p) => p.exitCode === null && !p.kthread); round++) {
    for (const p of k.tasks) if (p.exitCode === null && !p.kthread) kill(k, p, SIGKILL);
    k.run(5_000_000);
  }
  return { k, rets, udpRead, udpLo, tcpLo, leaks };
}

/** Every invariant of one case (and its rerun for determinism). */
function check(c: Case, tcp: boolean): void {
  const { k, rets, udpRead, udpLo, tcpLo, leaks } = runCase(c, tcp);
  expect(leaks).toEqual([]);
  totals.programs++;
  totals.syscalls += rets.length;
  for (const r of rets) {
    const e = r.split("=")[1];
    expect(e).not.toMatch(/^-E\d+$/); // an errno the kernel has (errnoName knows it)
    if (e.startsWith("-")) totals.errnos.set(e, (totals.errnos.get(e) ?? 0) + 1);
    if (/^\d+:(sendto|send|write|connect|shutdown)=/.test(r)) totals.sends++;
  }
  // every task ran to its end
  expect(k.tasks.filter((p) => !p.kthread && p.exitCode === null).map((p) => p.comm)).toEqual([]);
  // nobody waited for a CPU longer than a few periods
  const maxRunq = k.stats.runqLatency.reduce((a, b) => Math.max(a, b), 0);
  totals.maxRunqNs = Math.max(totals.maxRunqNs, maxRunq);
  totals.ticks += k.stats.ticks;
  expect(maxRunq).toBeLessThan(3 * k.sched.sched_latency);
  // sent = read + queued + dropped (+ purged at close, + freed by a copy fault), the datagrams
  // from outside and over lo; every socket is closed by now
  const s = k.stats;
  if (!tcp) expect(tcpLo).toBe(0);
  else totals.tcpLo += tcpLo;
  totals.udpLo += udpLo;
  totals.copyFaults += s.recvCopyFaults;
  if (!tcp) expect(udpRead + s.ringDrops + s.backlogDrops + s.socketDrops + s.noSocket + s.freedUnread + s.recvCopyFaults).toBe(c.traffic.length + udpLo);
  // nothing left after close and exit
  expect([k.sockets_in_use, k.socks_alive]).toEqual([0, 0]);
  const g = epollGlobals(k);
  expect([g.epitems_alive, g.pwqs_alive]).toEqual([0, 0]);
  const pc = pollCounters(k);
  expect(pc.pollwaits).toBe(pc.freewaits);
  expectSoftirqsRun(k); // no CPU idle with a softirq pending
  expect(s.filesFreed).toBe(k.nextFileId - 1 + (k.tty.f_count === 0 ? 1 : 0)); // every file, and the tty once unused
  for (const p of k.tasks) expect(p.files.fd.filter((f) => f && f !== k.tty)).toEqual([]);
  // determinism: the same case again, syscall by syscall
  const again = runCase(c, tcp);
  expect(again.rets).toEqual(rets);
  expect(again.k.now).toBe(k.now);
  expect(again.k.engine.events).toBe(k.engine.events);
}

describe("fuzz: random syscall programs (fast-check)", () => {
  it("keep every invariant, and the same seed gives the same run", () => {
    fc.assert(
      fc.property(caseArb, (c) => check(c, false)),
      { numRuns: 150, seed: 12, endOnFailure: true },
    );
    const top = [...totals.errnos].sort((a, b) => b[1] - a[1]).slice(0, 8).map(([e, n]) => `${e} ${n}`).join(", ");
    console.log(`fuzz: ${totals.programs} programs, ${totals.syscalls} syscalls, max runqlat ${(totals.maxRunqNs / 1e6).toFixed(1)} ms, ${totals.ticks} ticks; ${totals.sends} send-side calls, ${totals.udpLo} datagrams over lo, ${totals.copyFaults} freed by a copy fault; errnos: ${top}`);
    expect(totals.programs).toBe(150);
  });

  it("with TCP over lo (a listener on 80, two TCP sockets, connect through): the same invariants but the datagram balance", () => {
    const before = { programs: totals.programs, syscalls: totals.syscalls, sends: totals.sends };
    fc.assert(
      fc.property(caseArb, (c) => check(c, true)),
      { numRuns: 100, seed: 13, endOnFailure: true },
    );
    console.log(`fuzz (TCP over lo): ${totals.programs - before.programs} programs, ${totals.syscalls - before.syscalls} syscalls, ${totals.sends - before.sends} send-side calls, ${totals.tcpLo} TCP segments over lo`);
    expect(totals.programs - before.programs).toBe(100);
    expect(totals.tcpLo).toBeGreaterThan(0); // the programs did reach TCP over lo
  });
});
