// recv-peek-poll.test.ts: MSG_PEEK, tcp_poll on a closed socket, recvfrom's address (issue #12, 1 and 2).
import { describe, expect, it } from "vitest";
import {
  Kernel, TcpPeer, udpSend, fdget, sock_from_file, sock_recvmsg, tcp_poll, AF_INET, SOCK_DGRAM, SOCK_STREAM, MSG_PEEK, MSG_TRUNC, MSG_DONTWAIT,
  POLLIN, POLLOUT, POLLWRNORM, POLLHUP, SEND_SHUTDOWN, type Msghdr, type RecvfromAddr, type Socket,
} from "kernel-model";

const sockOf = (k: Kernel, fd: number) => sock_from_file(fdget(k, fd)!) as Socket;

describe("MSG_PEEK does not consume (net/core/datagram.c:225, net/ipv4/tcp.c peek_seq)", () => {
  it("UDP: recv(25, MSG_PEEK) of a 28-byte datagram returns 25 with MSG_TRUNC; the next recv gets the whole datagram", () => {
    const k = new Kernel();
    const got: number[] = [];
    let flags = -1;
    k.spawn("r", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      yield* sys.bind(fd, 53);
      got.push(yield* sys.recv(fd, 25, MSG_PEEK));
      const msg: Msghdr = { msg_flags: 0, msg_iter: { count: 25, consumed: [] } };
      got.push(yield* sock_recvmsg(k, sockOf(k, fd), msg, 25, MSG_PEEK));
      flags = msg.msg_flags;
      expect(sockOf(k, fd).sk!.sk_receive_queue).toHaveLength(1); // still queued
      got.push(yield* sys.recv(fd, 1500, 0));
      got.push(yield* sys.recv(fd, 1500, MSG_DONTWAIT)); // nothing left: -EAGAIN
    });
    udpSend(k, { dport: 53, bytes: 28, at: 1_000_000 });
    k.runUntilIdle();
    expect(got).toEqual([25, 25, 28, -11]);
    expect(flags & MSG_TRUNC).toBe(MSG_TRUNC);
  });

  it("TCP: a MSG_PEEK read copies at peek_seq and leaves copied_seq; the next read returns the same bytes", () => {
    const k = new Kernel();
    const got: number[] = [];
    const seqs: number[] = [];
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 16);
      const fd = yield* sys.accept(lfd);
      const tp = sockOf(k, fd).sk as unknown as { copied_seq: number };
      got.push(yield* sys.recv(fd, 60, MSG_PEEK));
      seqs.push(tp.copied_seq);
      got.push(yield* sys.recv(fd, 1000, MSG_PEEK));
      got.push(yield* sys.recv(fd, 1000, 0));
      seqs.push(tp.copied_seq);
    });
    new TcpPeer(k, { dport: 80 }).connect(100_000).send(100, 1_000_000);
    k.runUntilIdle();
    expect(got).toEqual([60, 100, 100]);
    expect(seqs[1] - seqs[0]).toBe(100); // only the real read advanced copied_seq
  });
});

describe("tcp_poll on a TCP_CLOSE socket (net/ipv4/tcp.c:504)", () => {
  it("reports POLLOUT | POLLWRNORM | POLLHUP, and POLLOUT still when SEND_SHUTDOWN is set", () => {
    const k = new Kernel();
    const masks: number[] = [];
    k.spawn("p", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0); // never connected: TCP_CLOSE
      const sock = sockOf(k, fd);
      masks.push(tcp_poll(k, fdget(k, fd)!, sock, null));
      sock.sk!.sk_shutdown |= SEND_SHUTDOWN;
      masks.push(tcp_poll(k, fdget(k, fd)!, sock, null));
    });
    k.runUntilIdle();
    expect(masks[0]).toBe(POLLOUT | POLLWRNORM | POLLHUP);
    expect(masks[1] & (POLLOUT | POLLHUP)).toBe(POLLOUT | POLLHUP);
    expect(masks[0] & POLLIN).toBe(0);
  });
});

describe("recvfrom() with its address arguments (move_addr_to_user)", () => {
  it("UDP gives the sender's sockaddr_in and addrlen 16; a short buffer still learns the true length; TCP gives addrlen 0", () => {
    const k = new Kernel();
    const from: RecvfromAddr = { addr: null, addrlen: 16 };
    const short: RecvfromAddr = { addr: null, addrlen: 0 };
    const n: number[] = [];
    k.spawn("r", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      yield* sys.bind(fd, 53);
      n.push(yield* sys.recvfrom(fd, 1500, 0, from));
      n.push(yield* sys.recvfrom(fd, 1500, 0, short));
    });
    udpSend(k, { dport: 53, bytes: 28, at: 1_000_000, saddr: "10.0.9.9", sport: 4242 });
    udpSend(k, { dport: 53, bytes: 10, at: 2_000_000 });
    k.runUntilIdle();
    expect(n).toEqual([28, 10]);
    expect(from).toEqual({ addr: { sin_family: AF_INET, sin_port: 4242, sin_addr: "10.0.9.9" }, addrlen: 16 });
    expect(short).toEqual({ addr: null, addrlen: 16 }); // nothing copied (len 0), the true length reported

    const t = new Kernel();
    const tcpFrom: RecvfromAddr = { addr: null, addrlen: 16 };
    t.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 16);
      const fd = yield* sys.accept(lfd);
      n.push(yield* sys.recvfrom(fd, 1000, 0, tcpFrom));
    });
    new TcpPeer(t, { dport: 80 }).connect(100_000).send(50, 1_000_000);
    t.runUntilIdle();
    expect(n[2]).toBe(50);
    expect(tcpFrom).toEqual({ addr: null, addrlen: 0 }); // tcp_recvmsg leaves addr_len 0
  });
});
