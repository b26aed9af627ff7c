// traces-lo.ts: the named traces of the send side over `lo` (`npx kernel-model trace <name>`).
// No Linux file. Book: §3.3.2 seen from a local sender (the probe's experiment, §3.6).
//
// Interface: LO_TRACES (merged into traces.ts's TRACES):
// * sendto-lo-udp: a reader blocked in recv() on CPU 1, a sender on CPU 0 calls sendto(); the
//   sender's call tree runs the whole path down to loopback_xmit -> netif_rx, then, at
//   ip_finish_output2's rcu_read_unlock_bh, the NET_RX softirq in the sender's own context
//   (process_backlog -> ip_rcv -> udp_rcv -> sock_def_readable -> try_to_wake_up), and the
//   reader's recv() resumes on CPU 1.
//
// * connect-lo-tcp, send-lo-tcp: the TCP handshake and one message over lo (tcp_output.ts).
//
// Every trace is a real run of the model: nothing here is written out by hand.

import { Kernel } from "../kernel/kernel";
import type { TraceNode } from "../sim/trace";
import { AF_INET, SOCK_DGRAM, SOCK_STREAM, type Socket } from "../kernel/socket";
import type { Sock } from "../kernel/sock";
import type { TraceSpec } from "./traces";

/** A UDP reader blocked on port 53 (CPU 1) and a sender that sends one 64-byte datagram (CPU 0).
 *  Returns the kernel and what the calls returned. */
export function sendtoLoUdp(): { k: Kernel; sent: number; got: number; senderSk: Sock | null } {
  const k = new Kernel({ trace: true, cpus: 2 });
  const r = { k, sent: 0, got: 0, senderSk: null as Sock | null };
  k.spawn("reader", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    yield* sys.bind(fd, 53);
    r.got = yield* sys.recv(fd, 1024, 0);
  }, { cpu: 1, pinned: true });
  k.spawn("sender", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    r.senderSk = (sys.task.files.fd[fd]!.private_data as Socket).sk;
    yield* sys.compute(50_000); // the reader is asleep in recv() by now
    r.sent = yield* sys.sendto(fd, 64, 0, 53);
  }, { cpu: 0, pinned: true });
  k.runUntilIdle();
  return r;
}

/** A TCP server on CPU 1 blocked in read() on an accepted connection, a client on CPU 0 that
 *  connects (traced) and sends one 64-byte message (traced). */
export function tcpLo(): Kernel {
  const k = new Kernel({ trace: true, cpus: 2 });
  k.spawn("server", function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 8);
    const fd = yield* sys.accept(lfd);
    yield* sys.read(fd, 1024);
  }, { cpu: 1, pinned: true });
  k.spawn("client", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.compute(50_000);
    yield* sys.connect(fd, 80);
    yield* sys.compute(50_000); // the server is back in read() by now
    yield* sys.send(fd, 64);
    yield* sys.pause(); // keep the connection open for the ACK
  }, { cpu: 0, pinned: true });
  k.runUntilIdle();
  return k;
}

export const LO_TRACES: Record<string, TraceSpec> = {
  "sendto-lo-udp": {
    title: "sendto() of a UDP datagram over lo: udp_sendmsg -> ip_output -> dev_queue_xmit -> loopback_xmit -> netif_rx; " +
      "NET_RX runs in the sender's context at rcu_read_unlock_bh and wakes the reader on the other CPU",
    section: "3.3.2",
    run: (): TraceNode[] => {
      const { k } = sendtoLoUdp();
      const roots = k.tr!.roots;
      const send = roots.find((n) => n.text.startsWith("sendto("))!;
      const recv = roots.find((n) => n.text.startsWith("recv("))!;
      send.comment = "发送方进程: 整条接收路径在它的上下文里运行";
      return [send, { ...recv, text: `${recv.text}   (the reader's call, resumed after the wakeup)` }];
    },
  },
  "connect-lo-tcp": {
    title: "connect() to a local listener: SYN over lo, the listener's SYN-ACK and the client's ACK, all in the caller's softirqs " +
      "(the SYN-ACK waits in the locked socket's sk_backlog until inet_wait_for_connect's release_sock)",
    section: "3.4.4",
    run: (): TraceNode[] => [tcpLo().tr!.roots.find((n) => n.text.startsWith("connect("))!],
  },
  "send-lo-tcp": {
    title: "send() on a TCP connection over lo: tcp_sendmsg -> tcp_write_xmit -> lo; the reader's prequeue wakeup; " +
      "the reader runs TCP, ACKs from its own CPU, and tcp_ack frees the sender's skb",
    section: "3.3.2",
    run: (): TraceNode[] => {
      const roots = tcpLo().tr!.roots;
      const send = roots.find((n) => n.text.startsWith("send("))!;
      const read = roots.filter((n) => n.text.startsWith("read(")).pop()!;
      return [send, { ...read, text: `${read.text}   (the reader's call, resumed after the wakeup)` }];
    },
  },
};
