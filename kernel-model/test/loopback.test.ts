// The send side over lo: sendto/send/write on UDP, the loopback device, the softirq run by the
// sender's rcu_read_unlock_bh, the send buffer (sk_wmem_alloc, sock_wfree, sk_write_space,
// EAGAIN / blocking), the sendto-lo-udp trace and the loopback sender experiment.
import { describe, expect, it } from "vitest";
import {
  Kernel, runServer, runTrace, sendtoLoUdp, sock_alloc_send_skb, sock_wfree, SOURCE, walkTrace,
  AF_INET, SOCK_DGRAM, SOCK_STREAM, SOCK_NONBLOCK, MSG_DONTWAIT, SOL_SOCKET, SO_SNDBUF,
  TcpPeer, TCP_CLOSE, SHUTDOWN_MASK, RCV_SHUTDOWN, EPOLLERR, EPOLLHUP, EPOLLRDHUP, ECONNRESET,
  SHUT_RD, SHUT_WR, SHUT_RDWR, TCP_FIN_WAIT1, EPIPE, ENOTCONN, sock_poll, POLLIN, POLLOUT, POLLHUP, POLLRDHUP,
  EPOLLIN, EPOLLOUT, EPOLL_CTL_ADD, EAGAIN, EBADF, EDESTADDRREQ, EINVAL, ENOTSOCK, EOPNOTSUPP,
  type EpollEvent, type SkBuff, type Socket, type Sock, type TraceNode,
} from "kernel-model";
import { expectSoftirqsRun, runApp } from "./helpers";
import { main } from "../src/cli";

function preorder(n: TraceNode, out: TraceNode[] = []): TraceNode[] {
  out.push(n);
  for (const c of n.children) preorder(c, out);
  return out;
}

describe("sendto over lo (UDP)", () => {
  it("runs udp_sendmsg -> ip_output -> dev_queue_xmit -> loopback_xmit -> netif_rx, then NET_RX at rcu_read_unlock_bh, in that order", () => {
    const { k, sent, got } = sendtoLoUdp();
    expect([sent, got]).toEqual([64, 64]);
    const send = k.tr!.roots.find((r) => r.text.startsWith("sendto("))!;
    const fns = preorder(send).map((n) => n.fn).filter(Boolean);
    const order = [
      "SYSC_sendto", "sock_sendmsg", "inet_sendmsg", "inet_autobind", "udp_sendmsg", "ip_make_skb", "__ip_append_data",
      "sock_alloc_send_skb", "skb_set_owner_w", "udp_send_skb", "ip_send_skb", "ip_local_out", "ip_output", "ip_finish_output2",
      "dev_queue_xmit", "__dev_queue_xmit", "loopback_xmit", "skb_orphan", "sock_wfree", "sock_def_write_space", "netif_rx",
      "enqueue_to_backlog", "____napi_schedule", "rcu_read_unlock_bh", "local_bh_enable", "do_softirq", "__do_softirq",
      "net_rx_action", "process_backlog", "__netif_receive_skb", "ip_rcv", "udp_rcv", "sock_queue_rcv_skb", "sock_def_readable",
      "try_to_wake_up",
    ];
    let at = -1;
    for (const fn of order) {
      const i = fns.indexOf(fn, at + 1);
      expect(i, `${fn} after position ${at}`).toBeGreaterThan(at);
      at = i;
    }
    // the softirq is entered at ip_finish_output2's (outermost) rcu_read_unlock_bh, not at
    // __dev_queue_xmit's nested one
    const of2 = preorder(send).find((n) => n.fn === "ip_finish_output2")!;
    expect(of2.children.some((c) => c.fn === "rcu_read_unlock_bh" && preorder(c).some((d) => d.fn === "do_softirq"))).toBe(true);
    const dqx = preorder(send).find((n) => n.fn === "__dev_queue_xmit")!;
    expect(preorder(dqx).some((d) => d.fn === "do_softirq")).toBe(false);
  });

  it("the softirq runs in the sender's context on the sender's CPU: no hard IRQ, no softirq time on the reader's CPU", () => {
    const { k } = sendtoLoUdp();
    const send = k.tr!.roots.find((r) => r.text.startsWith("sendto("))!;
    const sender = k.tasks.find((t) => t.comm === "sender")!;
    const rx = preorder(send).filter((n) => ["net_rx_action", "udp_rcv", "try_to_wake_up"].includes(n.fn));
    expect(rx.length).toBe(3);
    for (const n of rx) expect(n.ctx).toBe(sender.label);
    expect(k.stats.hardirqs).toBe(0);
    expect(k.rqs[0].time.softirq).toBeGreaterThan(0);
    expect(k.rqs[1].time.softirq).toBe(0);
    expect(k.softnet[0].processed).toBe(1);
    expect(k.lo!.tx_packets).toBe(1);
  });

  it("sk_wmem_alloc is charged the skb's truesize and returns to 0 when loopback_xmit orphans it", () => {
    const { k, senderSk } = sendtoLoUdp();
    const sk = senderSk!;
    expect(sk.sk_wmem_alloc).toBe(0);
    const send = k.tr!.roots.find((r) => r.text.startsWith("sendto("))!;
    const owner = preorder(send).find((n) => n.fn === "skb_set_owner_w")!;
    expect(owner.text).toMatch(/sk_wmem_alloc \+= 768 \(= 768\)/);
    expect(sk.inet_num).toBe(32768); // inet_autobind: the first port of ip_local_port_range
  });

  it("send() and write() on an unconnected UDP socket are EDESTADDRREQ; bad fds, port 0, a stream socket before connect", () => {
    const { result } = runApp(function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      const tfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      return [
        yield* sys.send(fd, 10), yield* sys.write(fd, 10), yield* sys.sendto(fd, 10, 0, 0), yield* sys.sendto(99, 10, 0, 53),
        yield* sys.sendto(0, 10, 0, 53), yield* sys.write(99, 1), yield* sys.send(tfd, 10),
      ];
    });
    expect(result).toEqual([-EDESTADDRREQ, -EDESTADDRREQ, -EINVAL, -EBADF, -ENOTSOCK, -EBADF, -EPIPE]);
  });

  it("a datagram to a port nobody has bound is counted as no-socket (ICMP port unreachable) and sendto still succeeds", () => {
    const { k, result } = runApp(function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      return yield* sys.sendto(fd, 100, 0, 9999);
    });
    expect(result).toBe(100);
    expect(k.stats.noSocket).toBe(1);
  });
});

describe("the send buffer: sock_alloc_send_skb, sock_wfree, sk_write_space", () => {
  /** A UDP socket with SO_SNDBUF 4608 (the minimum) whose skbs the test holds "in flight",
   *  as a NIC's TX ring would; frees them at `freeAt` with sock_wfree (a TX completion). */
  function fullSndbuf(nonblock: boolean, freeAt: number) {
    const k = new Kernel({ cpus: 1 });
    const held: SkBuff[] = [];
    const out: { results: number[]; waitedUntil: number; events: EpollEvent[]; n: number; sk: Sock | null } = { results: [], waitedUntil: 0, events: [], n: -1, sk: null };
    k.spawn("app", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | (nonblock ? SOCK_NONBLOCK : 0), 0);
      yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1); // -> SOCK_MIN_SNDBUF 4608
      const sk = (out.sk = (sys.task.files.fd[fd]!.private_data as Socket).sk!);
      // kernel code, as __ip_append_data calls it: charge until the buffer is full
      while (sk.sk_wmem_alloc < sk.sk_sndbuf) held.push((yield* sock_alloc_send_skb(k, sk, 100, 1)) as SkBuff); // 768 each
      out.results.push(sk.sk_wmem_alloc);
      out.results.push(yield* sys.sendto(fd, 64, MSG_DONTWAIT, 53));
      const ep = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, { events: EPOLLOUT | EPOLLIN, data: fd });
      out.n = yield* sys.epoll_wait(ep, out.events, 8, 0); // not writable, not readable
      out.results.push(out.n);
      if (nonblock) {
        out.n = yield* sys.epoll_wait(ep, out.events, 8, -1);
        out.waitedUntil = k.now;
      } else {
        out.results.push(yield* sys.sendto(fd, 64, 0, 53)); // sleeps in sock_wait_for_wmem
        out.waitedUntil = k.now;
      }
    });
    k.engine.at(freeAt, () => {
      for (const skb of held.splice(0)) sock_wfree(k, skb);
    });
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    return { k, out };
  }

  it("a full buffer gives -EAGAIN with MSG_DONTWAIT, and poll shows no EPOLLOUT", () => {
    const { out } = fullSndbuf(true, 1_000_000);
    expect(out.results[0]).toBeGreaterThanOrEqual(4608);
    expect(out.results[1]).toBe(-EAGAIN);
    expect(out.results[2]).toBe(0);
  });

  it("EPOLLOUT arrives when sock_wfree frees the space (sock_def_write_space wakes the epoll waiter)", () => {
    const { out } = fullSndbuf(true, 1_000_000);
    expect(out.n).toBe(1);
    expect(out.events[0].events & EPOLLOUT).toBe(EPOLLOUT);
    expect(out.waitedUntil).toBeGreaterThanOrEqual(1_000_000);
  });

  it("a blocking sendto sleeps in sock_wait_for_wmem until the space is freed, then sends", () => {
    const { k, out } = fullSndbuf(false, 2_000_000);
    expect(out.results[3]).toBe(64);
    expect(out.waitedUntil).toBeGreaterThanOrEqual(2_000_000);
    const app = k.tasks.find((t) => t.comm === "app")!;
    expect(app.nvcsw).toBeGreaterThanOrEqual(1);
    expect(out.sk!.sk_wmem_alloc).toBe(0);
  });

  it("sock_def_write_space wakes nobody until at least half of sk_sndbuf is free", () => {
    const k = new Kernel();
    let woke = -1;
    const held: SkBuff[] = [];
    k.spawn("app", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, 1);
      const sk = (sys.task.files.fd[fd]!.private_data as Socket).sk!;
      for (let i = 0; i < 6; i++) held.push((yield* sock_alloc_send_skb(k, sk, 100, 1)) as SkBuff); // 6 x 768 = 4608: full
      const ep = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, { events: EPOLLOUT, data: fd });
      const ev: EpollEvent[] = [];
      yield* sys.epoll_wait(ep, ev, 8, -1);
      woke = k.now;
    });
    // free one skb at 1 ms (3840 in flight: 2 x 3840 > 4608, no wakeup), three more at 2 ms
    // (1536 in flight: a wakeup, and poll's sock_writeable 1536 < 2304 reports EPOLLOUT)
    k.engine.at(1_000_000, () => sock_wfree(k, held.shift()!));
    k.engine.at(2_000_000, () => { for (let i = 0; i < 3; i++) sock_wfree(k, held.shift()!); });
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    expect(woke).toBeGreaterThanOrEqual(2_000_000);
  });
});

describe("the loopback sender (the probe's experiment)", () => {
  const base = { proto: "udp" as const, conns: 100, msgs: 20_000, cpus: 2, sender: "loopback" as const };

  it("100 UDP sockets, 20,000 messages back to back, 2 CPUs: blocking ~1 voluntary switch per message, epoll well below, no drops", () => {
    const b = runServer({ ...base, model: "blocking" });
    const e = runServer({ ...base, model: "epoll" });
    expect(b.summary.delivered).toBe(20_000);
    expect(e.summary.delivered).toBe(20_000);
    expect(b.summary.dropped).toBe(0);
    expect(e.summary.dropped).toBe(0);
    expect(b.summary.vcswPerMsg).toBeGreaterThan(0.9); // the kernel: 0.99
    expect(b.summary.vcswPerMsg).toBeLessThanOrEqual(1);
    expect(e.summary.vcswPerMsg).toBeLessThan(b.summary.vcswPerMsg / 2);
    // closed loop: every datagram went through lo, none through the NIC
    expect(b.kernel.stats.hardirqs).toBe(0);
    expect(b.kernel.lo!.tx_packets).toBe(20_000);
    expect(b.sender!.sent).toBe(20_000);
  });

  it("paced (--rate) blocking gives one voluntary switch per message, and the sender sleeps between sends", () => {
    const r = runServer({ ...base, msgs: 2000, model: "blocking", rate: 5000, pattern: "fixed" });
    expect(r.summary.vcswPerMsg).toBe(1);
    expect(r.sender!.task.nvcsw).toBeGreaterThan(1500); // clock_nanosleep at 200 µs gaps
    expect(r.summary.simNs).toBeGreaterThan(0.39e9);
  });

  it("is deterministic and tracing does not change it", () => {
    const a = runServer({ ...base, msgs: 3000, model: "epoll", seed: 7 }).summary;
    const b = runServer({ ...base, msgs: 3000, model: "epoll", seed: 7, trace: true }).summary;
    expect({ ...b, wallMs: 0 }).toEqual({ ...a, wallMs: 0 });
  });

  it("TCP over lo, 100 connections, 20,000 messages: blocking ~1 switch per message, epoll below, no drops, every byte ACKed", () => {
    const b = runServer({ ...base, proto: "tcp", model: "blocking" });
    const e = runServer({ ...base, proto: "tcp", model: "epoll" });
    for (const r of [b, e]) {
      expect(r.summary.delivered).toBe(20_000);
      expect(r.summary.dropped).toBe(0);
      expect(r.kernel.stats.hardirqs).toBe(0);
      expectSoftirqsRun(r.kernel);
    }
    expect(b.summary.vcswPerMsg).toBeGreaterThan(0.9);
    expect(e.summary.vcswPerMsg).toBeLessThan(b.summary.vcswPerMsg * 0.8);
  });
});

describe("traces and source lines", () => {
  it("sendto-lo-udp: the sender's call and the reader's resumed recv, every call located at its callee's first statement", () => {
    const { roots } = runTrace("sendto-lo-udp");
    expect(roots.map((r) => r.text.split("(")[0])).toEqual(["sendto", "recv"]);
    const calls = walkTrace(roots).filter((n) => n.fn);
    expect(calls.length).toBeGreaterThan(50);
    for (const n of calls) expect(n.loc, n.text).toBe(`${SOURCE.funcs[n.fn][0]}:${SOURCE.funcs[n.fn][4]}`);
    // the transmit path's files outside ../shared come from the generator too
    for (const fn of ["ip_finish_output2", "loopback_xmit", "udp_send_skb"]) expect(calls.some((n) => n.fn === fn), fn).toBe(true);
  });

  it("send-lo-tcp: the reader runs TCP in its own context (prequeue), sends the ACK, and the sender's tcp_ack runs there too", () => {
    const { roots } = runTrace("send-lo-tcp");
    expect(roots.map((r) => r.text.split("(")[0])).toEqual(["send", "read"]);
    const [send, read] = roots;
    expect(walkTrace([send]).some((n) => n.fn === "tcp_prequeue")).toBe(true);
    const ack = walkTrace([read]).filter((n) => n.fn === "tcp_ack");
    expect(ack.length).toBe(1);
    expect(ack[0].ctx).toBe(read.ctx);
    expect(walkTrace([read]).map((n) => n.fn).filter((f) => ["tcp_prequeue_process", "tcp_send_ack", "local_bh_enable", "tcp_ack"].includes(f)))
      .toEqual(["tcp_prequeue_process", "tcp_send_ack", "tcp_prequeue_process", "local_bh_enable", "tcp_ack"]); // the second: its local_bh_enable (tcp.c:1441)
    for (const n of walkTrace(roots).filter((n) => n.fn)) expect(n.loc, n.text).toBe(`${SOURCE.funcs[n.fn][0]}:${SOURCE.funcs[n.fn][4]}`);
    expect(runTrace("connect-lo-tcp").roots[0].text).toMatch(/^connect\(3, \{AF_INET, 127\.0\.0\.1:80\}, 16\) = 0/);
  });
});

describe("a remote peer that resets or half-closes (tcp_reset, tcp_fin)", () => {
  /** A server that accepts one connection, then waits in recv() (or in epoll_wait) for `event`. */
  function server(event: (p: TcpPeer) => void, useEpoll: boolean) {
    const k = new Kernel();
    const out: { r: number[]; ev: EpollEvent[]; sk: Sock | null } = { r: [], ev: [], sk: null };
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 8);
      const fd = yield* sys.accept(lfd);
      out.sk = (sys.task.files.fd[fd]!.private_data as Socket).sk;
      if (useEpoll) {
        const ep = yield* sys.epoll_create1(0);
        yield* sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, { events: EPOLLIN | EPOLLRDHUP, data: fd });
        out.r.push(yield* sys.epoll_wait(ep, out.ev, 8, -1));
      }
      out.r.push(yield* sys.recv(fd, 1024, 0));
      out.r.push(yield* sys.recv(fd, 1024, 0));
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(100_000);
    event(peer);
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    return out;
  }

  it("RST: recv returns -ECONNRESET, then 0; epoll reports EPOLLERR | EPOLLHUP; the sock is TCP_CLOSE with SHUTDOWN_MASK", () => {
    const b = server((p) => p.reset(1_000_000), false);
    expect(b.r).toEqual([-ECONNRESET, 0]);
    expect(b.sk!.sk_state).toBe(TCP_CLOSE);
    expect(b.sk!.sk_shutdown).toBe(SHUTDOWN_MASK);
    const e = server((p) => p.reset(1_000_000), true);
    expect(e.r[0]).toBe(1);
    expect(e.ev[0].events & (EPOLLERR | EPOLLHUP)).toBe(EPOLLERR | EPOLLHUP);
    expect(e.r[1]).toBe(-ECONNRESET);
  });

  it("a RST off rcv_nxt is ignored (RFC 5961 challenge ACK): the data before it is still read", () => {
    const b = server((p) => {
      p.send(100, 1_000_000);
      p.k.engine.at(2_000_000, () => { p.write_seq -= 50; p.reset(2_000_000); p.write_seq += 50; p.close(3_000_000); });
    }, false);
    expect(b.r).toEqual([100, 0]);
  });

  it("half-close (the peer's FIN): EPOLLIN | EPOLLRDHUP, read returns 0, sending is still allowed (no EPOLLHUP)", () => {
    const e = server((p) => p.shutdownWrite(1_000_000), true);
    expect(e.r).toEqual([1, 0, 0]);
    expect(e.ev[0].events & (EPOLLIN | EPOLLRDHUP)).toBe(EPOLLIN | EPOLLRDHUP);
    expect(e.ev[0].events & (EPOLLHUP | EPOLLERR)).toBe(0);
    expect(e.sk!.sk_shutdown).toBe(RCV_SHUTDOWN);
  });
});

describe("shutdown()", () => {
  it("UDP: SHUT_RD on an unconnected socket is -ENOTCONN but still wakes the blocked reader with EOF; SHUT_RDWR adds POLLHUP", () => {
    const k = new Kernel();
    const r: number[] = [];
    let masks: number[] = [];
    k.spawn("reader", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      yield* sys.bind(fd, 53);
      k.spawn("closer", function* (sys2) {
        yield* sys2.compute(100_000);
        r.push(yield* sys2.shutdown(fd, SHUT_RD));
        const file = sys2.task.files.fd[fd]!;
        masks.push(sock_poll(k, file, null));
        r.push(yield* sys2.shutdown(fd, SHUT_RDWR), yield* sys2.shutdown(fd, 3), yield* sys2.shutdown(99, SHUT_RD));
        masks.push(sock_poll(k, file, null));
      }, { thread: sys.task });
      r.push(yield* sys.recv(fd, 100, 0));
    });
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    masks = masks.map((m) => m & (POLLIN | POLLRDHUP | POLLHUP | POLLOUT));
    expect(r).toEqual([-ENOTCONN, -ENOTCONN, -EINVAL, -EBADF, 0]); // the woken reader runs after the closer
    expect(masks).toEqual([POLLIN | POLLRDHUP | POLLOUT, POLLIN | POLLRDHUP | POLLHUP | POLLOUT]);
  });

  it("TCP: SHUT_WR moves ESTABLISHED to FIN_WAIT1, send() is -EPIPE and so POLLOUT stays (tcp.c:533), reading still works", () => {
    const k = new Kernel();
    const r: number[] = [];
    let mask = -1;
    let state = -1;
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 8);
      const fd = yield* sys.accept(lfd);
      const sk = (sys.task.files.fd[fd]!.private_data as Socket).sk!;
      r.push(yield* sys.shutdown(fd, SHUT_WR));
      state = sk.sk_state;
      mask = sock_poll(k, sys.task.files.fd[fd]!, null);
      r.push(yield* sys.send(fd, 10), yield* sys.recv(fd, 100, 0));
    });
    new TcpPeer(k, { dport: 80 }).connect(100_000).send(100, 1_000_000);
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    expect(r).toEqual([0, -EPIPE, 100]);
    expect(state).toBe(TCP_FIN_WAIT1);
    expect(mask & POLLOUT).toBe(POLLOUT); // SEND_SHUTDOWN: a write would not block, it fails
  });
});

describe("TCP over lo: connect, send, ACKs, the send buffer", () => {
  /** A listener on CPU 1 and a client on CPU 0 that connects and sends `n` messages of `len`. */
  function tcpPair(opts: { costs?: { ipi: number; idleExit: number }; n: number; len?: number; trace?: boolean; sndbuf?: number; nonblock?: boolean; busyReaderCpu?: boolean }) {
    const k = new Kernel({ cpus: 2, trace: opts.trace, costs: opts.costs });
    const out = { conn: 99, sent: [] as number[], got: 0, csk: null as Sock | null, events: [] as EpollEvent[], n: -1, tWake: 0, tFull: 0 };
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 8);
      const fd = yield* sys.accept(lfd);
      for (;;) {
        const r = yield* sys.read(fd, 65536);
        if (r <= 0) break;
        out.got += r;
      }
    }, { cpu: 1, pinned: true });
    if (opts.busyReaderCpu) {
      // keeps CPU 1 busy so the woken reader waits for it: the ACKs wait with it (prequeue)
      k.spawn("hog", function* (sys) {
        yield* sys.clock_nanosleep_abs(1_000_000); // the reader is asleep in read() by then
        yield* sys.compute(5_000_000);
      }, { cpu: 1, pinned: true });
    }
    k.spawn("client", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_STREAM | (opts.nonblock ? SOCK_NONBLOCK : 0), 0);
      if (opts.sndbuf) yield* sys.setsockopt(fd, SOL_SOCKET, SO_SNDBUF, opts.sndbuf);
      out.csk = (sys.task.files.fd[fd]!.private_data as Socket).sk;
      yield* sys.compute(200_000);
      out.conn = yield* sys.connect(fd, 80);
      if (opts.busyReaderCpu) yield* sys.clock_nanosleep_abs(1_100_000); // while the hog runs
      for (let i = 0; i < opts.n; i++) {
        const r = yield* sys.send(fd, opts.len ?? 64);
        out.sent.push(r);
        if (r === -EAGAIN) {
          out.tFull = k.now;
          const ep = yield* sys.epoll_create1(0);
          yield* sys.epoll_ctl(ep, EPOLL_CTL_ADD, fd, { events: EPOLLOUT, data: fd });
          out.n = yield* sys.epoll_wait(ep, out.events, 8, -1);
          out.tWake = k.now;
          break;
        }
      }
      yield* sys.shutdown(fd, SHUT_WR);
    }, { cpu: 0, pinned: true });
    k.runUntilIdle();
    expectSoftirqsRun(k); // no CPU left with a softirq pending
    return { k, out };
  }

  it("connect() runs the handshake over lo inside the caller's own softirqs and returns 0; the server accepts; data and FIN arrive", () => {
    const { k, out } = tcpPair({ n: 5, trace: true });
    expect(out.conn).toBe(0);
    expect(out.sent).toEqual([64, 64, 64, 64, 64]);
    expect(out.got).toBe(320);
    const connect = k.tr!.roots.find((r) => r.text.startsWith("connect("))!;
    const fns = preorder(connect).map((n) => n.fn).filter(Boolean);
    const order = ["SYSC_connect", "inet_stream_connect", "tcp_v4_connect", "tcp_connect", "tcp_transmit_skb", "loopback_xmit", "do_softirq",
      "tcp_v4_rcv", "tcp_v4_conn_request", "tcp_v4_send_synack", "tcp_v4_rcv", "inet_wait_for_connect", "release_sock",
      "tcp_rcv_synsent_state_process", "tcp_finish_connect", "tcp_send_ack", "__local_bh_enable_ip", "tcp_v4_rcv", "tcp_check_req"];
    let at = -1;
    for (const fn of order) {
      const i = fns.indexOf(fn, at + 1);
      expect(i, `${fn} after position ${at}`).toBeGreaterThan(at);
      at = i;
    }
    const client = k.tasks.find((t) => t.comm === "client")!;
    for (const n of preorder(connect)) expect(n.ctx).toBe(client.label);
  });

  it("tcp_ack frees what was sent: sk_wmem_queued and packets_out return to 0, and sk_wmem_alloc too", () => {
    const { out } = tcpPair({ n: 50, len: 1000 });
    expect(out.got).toBe(50_000);
    const tp = out.csk as Sock & { sk_wmem_queued: number; packets_out: number };
    expect(tp.sk_wmem_queued).toBe(0);
    expect(tp.packets_out).toBe(0);
    expect(tp.sk_wmem_alloc).toBe(0);
  });

  it("with a cross-CPU wakeup latency the last ACKs arrive after close(): the orphan (FIN_WAIT1) takes them, no RST", () => {
    // ipi + idleExit as this machine's probe measures them (costs.ts): the reader on CPU 1 falls
    // behind, so the sender's close() comes before the ACKs of its last segments and of its FIN
    const { k, out } = tcpPair({ n: 100, len: 1000, trace: true, costs: { ipi: 11_000, idleExit: 7_000 } });
    expect(out.got).toBe(100_000);
    const tp = out.csk as Sock & { sk_wmem_queued: number; packets_out: number; snd_una: number; write_seq: number };
    expect([tp.snd_una, tp.write_seq]).toEqual([100_002, 100_002]);
    expect([tp.sk_wmem_queued, tp.packets_out, tp.sk_wmem_alloc]).toEqual([0, 0, 0]);
    expect(k.stats.noSocket).toBe(0); // no ACK met an unhashed socket (tcp_v4_send_reset)
    const all = k.tr!.roots.flatMap((r) => preorder(r));
    expect(all.some((n) => n.text === "sock_orphan(sk)"), "close() came before the last ACKs").toBe(true);
    expect(all.some((n) => n.fn === "tcp_done")).toBe(true); // the orphan dies when its FIN is ACKed
    expect(tp.sk_state).toBe(TCP_CLOSE);
    expect(k.socks_alive).toBe(0);
  });

  it("shutdown(SHUT_WR): the FIN's NET_RX runs at ip_finish_output2's rcu_read_unlock_bh, inside tcp_send_fin (bottom halves on)", () => {
    const { k } = tcpPair({ n: 3, trace: true });
    const fin = k.tr!.roots.flatMap((r) => preorder(r)).find((n) => n.fn === "tcp_send_fin")!;
    const inside = preorder(fin).map((n) => n.fn);
    expect(inside.indexOf("rcu_read_unlock_bh")).toBeGreaterThan(inside.indexOf("loopback_xmit"));
    expect(inside.indexOf("do_softirq")).toBeGreaterThan(inside.indexOf("rcu_read_unlock_bh"));
    expect(inside).toContain("tcp_v4_rcv");
  });

  it("a full send buffer: -EAGAIN (MSG_DONTWAIT), then EPOLLOUT once the reader's ACKs free it (sk_stream_write_space)", () => {
    const { out } = tcpPair({ n: 100, len: 1000, sndbuf: 1, nonblock: true, busyReaderCpu: true });
    expect(out.sent[out.sent.length - 1]).toBe(-EAGAIN);
    expect(out.sent.filter((r) => r === 1000).length).toBeGreaterThan(0);
    expect(out.n).toBe(1);
    expect(out.events[0].events & EPOLLOUT).toBe(EPOLLOUT);
    expect(out.tWake).toBeGreaterThan(out.tFull);
    expect(out.got).toBe(out.sent.filter((r) => r === 1000).length * 1000);
  });

  it("a blocking send on a full buffer sleeps in sk_stream_wait_memory and completes after the ACKs", () => {
    const { k, out } = tcpPair({ n: 20, len: 1000, sndbuf: 1, busyReaderCpu: true });
    expect(out.sent).toEqual(Array(20).fill(1000));
    expect(out.got).toBe(20_000);
    expect(k.tasks.find((t) => t.comm === "client")!.nvcsw).toBeGreaterThan(0);
  });
});

describe("kernel-model run --sender loopback", () => {
  function cli(...args: string[]) {
    let out = "";
    const errs: string[] = [];
    const w = process.stderr.write;
    process.stderr.write = ((m: string) => { errs.push(String(m)); return true; }) as typeof process.stderr.write;
    try {
      const code = main(args, (t) => { out += t; });
      return { code, out, err: errs.join("") };
    } finally {
      process.stderr.write = w;
    }
  }

  it("runs the loopback experiment (UDP and TCP), back to back by default, and echoes the sender", () => {
    for (const proto of ["udp", "tcp"]) {
      const r = cli("run", "--model", "blocking", "--proto", proto, "--conns", "10", "--msgs", "300", "--cpus", "2", "--sender", "loopback", "--json");
      expect(r.code, r.err).toBe(0);
      const s = JSON.parse(r.out);
      expect(s.delivered).toBe(300);
      expect(s.dropped).toBe(0);
      expect(r.err).toMatch(/sender loopback \(cpu 0\).*rate back-to-back/);
    }
  });

  it("--rate paces it; --sender-cpu outside the machine is a one-line error naming the flag, exit 2", () => {
    const r = cli("run", "--model", "blocking", "--proto", "udp", "--conns", "5", "--msgs", "100", "--cpus", "2", "--sender", "loopback", "--rate", "10000", "--pattern", "fixed", "--json");
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out).simNs).toBeGreaterThan(9_800_000); // 100 messages 100 µs apart
    const bad = cli("run", "--model", "blocking", "--proto", "udp", "--conns", "5", "--msgs", "100", "--cpus", "2", "--sender", "loopback", "--sender-cpu", "2");
    expect(bad.code).toBe(2);
    expect(bad.err.trim().split("\n").pop()).toMatch(/--sender-cpu/);
    expect(cli("run", "--model", "blocking", "--conns", "5", "--msgs", "10", "--sender", "nobody").code).toBe(2);
  });
});
