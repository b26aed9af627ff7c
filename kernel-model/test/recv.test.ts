import { describe, expect, it } from "vitest";
import {
  Kernel, TcpPeer, udpSend, walkTrace, kill, AF_INET, SOCK_STREAM, SOCK_DGRAM, SOCK_NONBLOCK, MSG_DONTWAIT,
  EAGAIN, EBADF, EINTR, EINVAL, ENOTSOCK, SOL_SOCKET, SO_RCVTIMEO, SO_RCVLOWAT, SO_RCVBUF, F_SETFL, O_NONBLOCK,
  TASK_INTERRUPTIBLE, JIFFY_NS, type Sys, type TraceNode, type KGen,
} from "kernel-model";

/** A TCP server task: listen on 80, accept one connection, then run `body(fd)`. */
function tcpServer(k: Kernel, body: (sys: Sys, fd: number) => KGen<unknown>, name = "server") {
  return k.spawn(name, function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 128);
    const fd = yield* sys.accept(lfd);
    yield* body(sys, fd);
  });
}

function udpServer(k: Kernel, body: (sys: Sys, fd: number) => KGen<unknown>, name = "server") {
  return k.spawn(name, function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    yield* sys.bind(fd, 53);
    yield* body(sys, fd);
  });
}

const fns = (roots: TraceNode[]) => walkTrace(roots).map((n) => n.fn).filter(Boolean);
const texts = (roots: TraceNode[]) => walkTrace(roots).map((n) => n.text);

describe("one blocked reader, one packet (§3.3)", () => {
  it("1 voluntary context switch; the latency is the sum of the documented costs", () => {
    const k = new Kernel();
    const reads: number[] = [];
    const srv = tcpServer(k, function* (sys, fd) {
      reads.push(yield* sys.read(fd, 1024));
      yield* sys.pause();
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    k.run(1_900_000); // accepted; now blocked in read
    expect(srv.state).toBe(TASK_INTERRUPTIBLE);
    const before = srv.nvcsw;
    peer.send(100, 2_000_000);
    k.run(1_000_000);
    expect(reads).toEqual([100]);
    expect(srv.nvcsw - before).toBe(1); // the sleep in pause() after the read
    const c = k.costs;
    // NIC -> hardirq -> softirq (prequeue, wakeup) -> switch -> TCP in process context -> copy -> syscall exit
    const want = c.hardirq + c.softirqEntry + c.rxPacket + c.wakeup + c.ctxSwitch + c.tcpSegment + 100 * c.copyPerByte + c.syscall / 2;
    expect(k.stats.e2eLatency).toEqual([want]);
  });
});

describe("TCP delivery paths in 4.6.2 order", () => {
  function run(opts: { lowLatency?: boolean; busyWhenDataArrives?: boolean }) {
    const k = new Kernel({ trace: true });
    if (opts.lowLatency) k.sysctl.tcp_low_latency = 1;
    const reads: number[] = [];
    tcpServer(k, function* (sys, fd) {
      if (opts.busyWhenDataArrives) {
        // inside tcp_recvmsg with the socket owned while the segment arrives: it goes to the backlog
        yield* sys.compute(2_000_000);
        reads.push(yield* sys.recv(fd, 50, MSG_DONTWAIT));
      }
      reads.push(yield* sys.read(fd, 1024));
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    peer.send(100, 2_000_000);
    k.runUntilIdle();
    return { k, reads, roots: k.tr!.roots };
  }

  it("default (tcp_low_latency = 0): a sleeping reader gets the segment on the prequeue and runs TCP itself", () => {
    const { reads, roots } = run({});
    expect(reads).toEqual([100]);
    const f = fns(roots);
    expect(f).toContain("tcp_prequeue");
    expect(f).toContain("tcp_prequeue_process");
    expect(texts(roots).some((t) => t.startsWith("tcp_copy_to_iovec"))).toBe(true);
    expect(texts(roots).some((t) => t.startsWith("tcp_queue_rcv"))).toBe(false);
  });

  it("tcp_low_latency = 1: tcp_v4_rcv still calls tcp_prequeue (it returns false), then tcp_rcv_established -> step5 -> tcp_data_queue -> tcp_queue_rcv -> sock_def_readable -> wakeup", () => {
    const { reads, roots } = run({ lowLatency: true });
    expect(reads).toEqual([100]);
    const f = fns(roots);
    expect(texts(roots)).toContain("tcp_prequeue(sk, skb) = false");
    const chain = ["tcp_v4_rcv", "tcp_prequeue", "tcp_v4_do_rcv", "tcp_rcv_established", "tcp_ack", "tcp_data_queue", "tcp_queue_rcv", "sock_def_readable", "__wake_up_sync_key",
      "__wake_up_common", "autoremove_wake_function", "default_wake_function", "try_to_wake_up"];
    let i = -1;
    for (const c of chain) {
      const j = f.indexOf(c, i + 1);
      expect(j, c).toBeGreaterThan(i);
      i = j;
    }
  });

  it("a segment arriving while the process owns the socket goes to the backlog, processed at release_sock", () => {
    // a slow copy (50 ns/byte): segments arrive while tcp_recvmsg holds the socket lock
    const k = new Kernel({ trace: true, costs: { copyPerByte: 50 } });
    k.sysctl.tcp_low_latency = 1;
    const reads: number[] = [];
    tcpServer(k, function* (sys, fd) {
      for (;;) {
        const n = yield* sys.read(fd, 1_000_000);
        if (n <= 0) break;
        reads.push(n);
      }
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
    for (let i = 0; i < 40; i++) peer.send(1448, 2_000_000 + i * 2_000);
    peer.close(3_000_000);
    k.runUntilIdle();
    const t = texts(k.tr!.roots);
    expect(t.some((x) => x.startsWith("sk_add_backlog"))).toBe(true);
    expect(fns(k.tr!.roots)).toContain("__release_sock");
    expect(reads.reduce((a, b) => a + b, 0)).toBe(40 * 1448);
  });
});

describe("UDP readers wait exclusively, TCP readers do not", () => {
  it("3 UDP readers on one socket: one datagram wakes one of them", () => {
    const k = new Kernel();
    const woke: string[] = [];
    let fd = -1;
    k.spawn("opener", function* (sys) {
      fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      yield* sys.bind(fd, 53);
      for (let i = 0; i < 3; i++) {
        k.spawn(`r${i}`, function* (s2) {
          const n = yield* s2.recv(fd, 1500);
          woke.push(`r${i}:${n}`);
        }, { thread: sys.task });
      }
      yield* sys.pause();
    });
    k.run(1_000_000);
    udpSend(k, { dport: 53, bytes: 64, at: 2_000_000 });
    k.run(2_000_000);
    expect(woke).toEqual(["r0:64"]); // FIFO: the first to wait (tail insertion) is woken
    udpSend(k, { dport: 53, bytes: 64, at: 5_000_000 });
    k.run(4_000_000);
    expect(woke).toEqual(["r0:64", "r1:64"]);
    expect(k.tasks.filter((t) => t.comm.startsWith("r") && t.state === TASK_INTERRUPTIBLE)).toHaveLength(1);
  });

  it("3 TCP readers on one socket: one segment wakes all three (non-exclusive prepare_to_wait); the losers sleep again", () => {
    for (const lowLatency of [0, 1]) {
      const k = new Kernel();
      k.sysctl.tcp_low_latency = lowLatency;
      const got: string[] = [];
      tcpServer(k, function* (sys, fd) {
        for (let i = 0; i < 3; i++) {
          k.spawn(`r${i}`, function* (s2) {
            const n = yield* s2.read(fd, 1024);
            got.push(`r${i}:${n}`);
          }, { thread: sys.task });
        }
        yield* sys.pause();
      });
      const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000);
      k.run(2_000_000);
      const readers = k.tasks.filter((t) => t.comm.startsWith("r"));
      const sleptBefore = readers.map((t) => t.nvcsw);
      expect(readers.every((t) => t.state === TASK_INTERRUPTIBLE)).toBe(true);
      const wakeups = k.stats.wakeups;
      peer.send(100, 3_000_000);
      k.run(2_000_000);
      expect(got, `tcp_low_latency=${lowLatency}`).toHaveLength(1); // one reader gets the data
      // but all three were woken (thundering herd); with the prequeue the winner's own
      // sk_data_ready (process context) wakes the two losers a second time
      expect(k.stats.wakeups - wakeups).toBe(lowLatency ? 3 : 5);
      const more = readers.map((t, i) => t.nvcsw - sleptBefore[i]);
      expect(more.filter((d) => d >= 1)).toHaveLength(3); // each ran and slept again (or exited)
      expect(readers.filter((t) => t.state === TASK_INTERRUPTIBLE)).toHaveLength(2);
    }
  });
});

describe("errors and edge cases of a blocking read", () => {
  it("MSG_DONTWAIT and O_NONBLOCK -> -EAGAIN; bad fd -> -EBADF; a non-socket -> -ENOTSOCK (recv) / -EINVAL (read of a tty)", () => {
    const k = new Kernel();
    let r: number[] = [];
    udpServer(k, function* (sys, fd) {
      r.push(yield* sys.recv(fd, 100, MSG_DONTWAIT));
      r.push(yield* sys.fcntl(fd, F_SETFL, O_NONBLOCK));
      r.push(yield* sys.read(fd, 100));
      r.push(yield* sys.recv(77, 100));
      r.push(yield* sys.recv(0, 100));
      r.push(yield* sys.read(0, 100));
      const nb = yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      r.push(yield* sys.recv(nb, 100)); // never connected
    });
    k.runUntilIdle();
    expect(r).toEqual([-EAGAIN, 0, -EAGAIN, -EBADF, -ENOTSOCK, -EINVAL, -107 /* -ENOTCONN */]);
  });

  it("SO_RCVTIMEO: -EAGAIN after the timeout, rounded up to whole jiffies", () => {
    const k = new Kernel();
    let r = 0, at = 0;
    udpServer(k, function* (sys, fd) {
      yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, 10_000_000); // 10 ms -> 3 jiffies at HZ=250
      const t0 = k.now;
      r = yield* sys.recv(fd, 100);
      at = k.now - t0;
    });
    k.runUntilIdle();
    expect(r).toBe(-EAGAIN);
    expect(at).toBeGreaterThanOrEqual(3 * JIFFY_NS);
    expect(at).toBeLessThan(3 * JIFFY_NS + 50_000);
  });

  it("a signal to a sleeping reader -> -EINTR", () => {
    const k = new Kernel();
    let r = 0;
    const p = udpServer(k, function* (sys, fd) {
      r = yield* sys.recv(fd, 100);
    });
    k.run(1_000_000);
    kill(k, p);
    k.runUntilIdle();
    expect(r).toBe(-EINTR);
  });

  it("the peer's FIN: buffered data first, then 0 (EOF), and 0 again", () => {
    const k = new Kernel();
    const r: number[] = [];
    tcpServer(k, function* (sys, fd) {
      for (let i = 0; i < 3; i++) r.push(yield* sys.read(fd, 1000));
    });
    new TcpPeer(k, { dport: 80 }).connect(1_000_000).send(300, 2_000_000).close(2_000_000);
    k.runUntilIdle();
    expect(r).toEqual([300, 0, 0]);
  });

  it("partial reads take what fits; SO_RCVLOWAT makes a read wait for more", () => {
    const k = new Kernel();
    const r: [number, number][] = [];
    tcpServer(k, function* (sys, fd) {
      r.push([yield* sys.read(fd, 60), k.now]);
      r.push([yield* sys.read(fd, 1000), k.now]);
      yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVLOWAT, 250);
      r.push([yield* sys.read(fd, 1000), k.now]);
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(1_000_000).send(100, 2_000_000);
    peer.send(100, 3_000_000).send(100, 4_000_000).send(100, 5_000_000);
    k.runUntilIdle();
    expect(r.map((x) => x[0])).toEqual([60, 40, 300]);
    expect(r[2][1]).toBeGreaterThan(5_000_000); // waited for the third segment: 300 >= 250
  });

  it("a UDP datagram is read whole or truncated; the rest is lost", () => {
    const k = new Kernel();
    const r: number[] = [];
    udpServer(k, function* (sys, fd) {
      r.push(yield* sys.recv(fd, 10));
      r.push(yield* sys.recv(fd, 1000));
    });
    udpSend(k, { dport: 53, bytes: 100, at: 1_000_000 });
    udpSend(k, { dport: 53, bytes: 100, at: 2_000_000 });
    k.runUntilIdle();
    expect(r).toEqual([10, 100]);
  });
});
