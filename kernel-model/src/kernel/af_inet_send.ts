// af_inet_send.ts: the PF_INET entry of sendmsg, the implicit bind a sender gets, shutdown.
// Linux 4.6.2: net/ipv4/af_inet.c (inet_sendmsg, inet_autobind, inet_shutdown). Book: the sender's half of §3.3.
//
// Interface:
// * inet_shutdown(k, sock, how): shutdown(2) for PF_INET sockets (TCP's part: tcp_shutdown).
// * inet_sendmsg(k, sock, msg, size): an unbound socket is bound to an ephemeral port first
//   (inet_autobind -> sk_prot->get_port(sk, 0); -EAGAIN when none is free) unless the protocol
//   says no_autobind (TCP), then sk->sk_prot->sendmsg (udp_sendmsg, tcp_sendmsg).
//
// Model vs kernel: ephemeral ports are taken in order from ip_local_port_range's start (32768)
// rather than from a random offset; no RPS flow recording.

import type { Kernel } from "./kernel";
import type { KGen } from "./sched";
import type { Socket } from "./socket";
import type { Sock } from "./sock";
import type { SendMsghdr } from "./socket_send";
import { EAGAIN, EINVAL, ENOTCONN, EOPNOTSUPP } from "./errno";
import { udp_prot } from "./udp";
import { lock_sock, release_sock, SHUTDOWN_MASK, RCV_SHUTDOWN, TCP_CLOSE, TCP_LISTEN, TCP_SYN_SENT } from "./sock";
import { SS_CONNECTING, SS_CONNECTED, SS_DISCONNECTING, SS_UNCONNECTED } from "./socket";
import type { SockaddrIn } from "./socket";
import { TASK_INTERRUPTIBLE } from "./sched";
import { DEFINE_WAIT, finish_wait, prepare_to_wait } from "./wait";
import { schedule_timeout } from "./timer";
import { bhEnablePoint } from "./softirq";
import { sk_sleep, sock_error, sock_intr_errno, TCP_ESTABLISHED, TCP_SYN_RECV } from "./sock";
import { sock_sndtimeo } from "./sock_wmem";
import { O_NONBLOCK } from "./fs";
import { EALREADY, ECONNABORTED, EINPROGRESS, EISCONN } from "./errno";

/** shutdown(2)'s how (include/linux/net.h). */
export const SHUT_RD = 0;
export const SHUT_WR = 1;
export const SHUT_RDWR = 2;

/** inet_shutdown(sock, how): how + 1 becomes the RCV_SHUTDOWN / SEND_SHUTDOWN bits; the
 *  protocol's shutdown (tcp_shutdown: FIN) runs, and sk_state_change wakes every waiter. An
 *  unconnected socket (TCP_CLOSE, e.g. a bound UDP socket) gets -ENOTCONN but is shut down
 *  all the same ("Hack to wake up other listeners ... -- RR"). */
export function* inet_shutdown(k: Kernel, sock: Socket, how: number): KGen<number> {
  k.tr?.enter("inet_shutdown", `inet_shutdown(sock, how = ${how})`);
  try {
    how++; // maps 0->1 (RCV_SHUTDOWN), 1->2 (SEND_SHUTDOWN), 2->3
    if (how & ~SHUTDOWN_MASK || !how) return -EINVAL;
    const sk = sock.sk!;
    yield* lock_sock(k, sk);
    let err = 0;
    if (sock.state === SS_CONNECTING) sock.state = sk.sk_state === TCP_SYN_SENT || sk.sk_state === TCP_CLOSE ? SS_DISCONNECTING : SS_CONNECTED;
    if (sk.sk_state === TCP_LISTEN || sk.sk_state === TCP_SYN_SENT) {
      // listen(2) sockets: only SHUT_RD does anything (disconnect); the model has no active opens
      if (how & RCV_SHUTDOWN) k.tr?.leaf("sk->sk_prot->disconnect(sk, O_NONBLOCK)", "not modelled: the listener stays");
    } else {
      if (sk.sk_state === TCP_CLOSE) err = -ENOTCONN;
      sk.sk_shutdown |= how;
      k.tr?.leaf(`sk->sk_shutdown |= ${how}`, err ? "TCP_CLOSE: -ENOTCONN, shut down anyway" : undefined);
      const shutdown = sk.sk_prot.shutdown as ((k: Kernel, sk: Sock, how: number) => KGen<void>) | undefined;
      if (typeof shutdown === "function") yield* shutdown(k, sk, how);
    }
    sk.sk_state_change(k, sk); // Wake up anyone sleeping in poll.
    release_sock(k, sk);
    return err;
  } finally {
    k.tr?.exit();
  }
}

/** net.ipv4.ip_local_port_range (4.6 default 32768 60999). */
export const IP_LOCAL_PORT_RANGE = [32768, 60999] as const;

/** inet_autobind(sk): udp_v4_get_port(sk, 0): the first free port of the local range. */
export function inet_autobind(k: Kernel, sk: Sock): number {
  k.tr?.enter("inet_autobind", "inet_autobind(sk)", "not bound yet: sk->sk_prot->get_port(sk, 0)");
  try {
    if (sk.sk_prot !== udp_prot) return -EAGAIN; // only UDP gets here (tcp_prot.no_autobind)
    for (let port = IP_LOCAL_PORT_RANGE[0]; port <= IP_LOCAL_PORT_RANGE[1]; port++) {
      if (!k.hash.udp.has(port)) {
        sk.inet_num = port;
        k.hash.udp.set(port, sk);
        k.tr?.leaf("sk->sk_prot->get_port(sk, 0)", `udp_v4_get_port: inet->inet_num = ${port}`);
        k.tr?.leaf("inet->inet_sport = htons(inet->inet_num);", `${port}`);
        return 0;
      }
    }
    return -EAGAIN;
  } finally {
    k.tr?.exit();
  }
}

/** inet_dgram_connect -> ip4_datagram_connect: a UDP socket gets a default destination (send()
 *  then needs no address) and TCP_ESTABLISHED; port 0 -> -EINVAL. */
export function* inet_dgram_connect(k: Kernel, sock: Socket, addr: SockaddrIn, flags: number): KGen<number> {
  k.tr?.enter("inet_dgram_connect", "sock->ops->connect(sock, uaddr, addr_len, flags) = inet_dgram_connect(sock, uaddr, addr_len, flags)");
  try {
    const sk = sock.sk!;
    if (!sk.inet_num && inet_autobind(k, sk)) return -EAGAIN;
    k.tr?.enter("ip4_datagram_connect", "sk->sk_prot->connect(sk, uaddr, addr_len) = ip4_datagram_connect(sk, uaddr, addr_len)");
    try {
      if (addr.sin_port === 0) return -EINVAL; // the model has no AF_UNSPEC disconnect
      sk.inet_daddr = addr.sin_addr;
      sk.inet_dport = addr.sin_port;
      sk.sk_state = TCP_ESTABLISHED;
      k.tr?.leaf(`inet->inet_daddr = ${addr.sin_addr}; inet->inet_dport = ${addr.sin_port}; sk->sk_state = TCP_ESTABLISHED`);
      return 0;
    } finally {
      k.tr?.exit();
    }
  } finally {
    k.tr?.exit();
    void flags;
  }
}

/** inet_wait_for_connect(sk, timeo, writebias): sleep until the handshake is over. */
function* inet_wait_for_connect(k: Kernel, sk: Sock, timeo: number): KGen<number> {
  k.tr?.enter("inet_wait_for_connect", "inet_wait_for_connect(sk, timeo, 0)");
  const wait = DEFINE_WAIT(k);
  prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
  while (sk.sk_state === TCP_SYN_SENT || sk.sk_state === TCP_SYN_RECV) {
    release_sock(k, sk); // the SYN-ACK may be waiting in sk_backlog: ESTABLISHED, our ACK queued
    yield* bhEnablePoint(k, "release_sock"); // ... and sent to the listener here
    timeo = yield* schedule_timeout(k, timeo);
    yield* lock_sock(k, sk);
    if (k.current.sigpending || !timeo) break;
    prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
  }
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return timeo;
}

/** inet_stream_connect -> __inet_stream_connect(sock, uaddr, addr_len, flags), under lock_sock. */
export function* inet_stream_connect(k: Kernel, sock: Socket, addr: SockaddrIn, flags: number): KGen<number> {
  k.tr?.enter("inet_stream_connect", "sock->ops->connect(sock, uaddr, addr_len, flags) = inet_stream_connect(sock, uaddr, addr_len, flags)");
  const sk = sock.sk!;
  yield* lock_sock(k, sk);
  let err = 0;
  try {
    k.tr?.enter("__inet_stream_connect", "__inet_stream_connect(sock, uaddr, addr_len, flags)");
    try {
      if (sock.state === SS_CONNECTED) return (err = -EISCONN);
      if (sock.state === SS_CONNECTING) err = -EALREADY;
      else if (sock.state === SS_UNCONNECTED) {
        if (sk.sk_state !== TCP_CLOSE) return (err = -EISCONN);
        const connect = sk.sk_prot.connect as (k: Kernel, sk: Sock, port: number) => KGen<number>;
        err = yield* connect(k, sk, addr.sin_port);
        if (err < 0) return err;
        sock.state = SS_CONNECTING;
        err = -EINPROGRESS;
      } else return (err = -EINVAL);
      const timeo = sock_sndtimeo(sk, flags & O_NONBLOCK);
      if (sk.sk_state === TCP_SYN_SENT || sk.sk_state === TCP_SYN_RECV) {
        if (!timeo) return err; // -EINPROGRESS (O_NONBLOCK)
        if (yield* inet_wait_for_connect(k, sk, timeo)) {
          // woken by the handshake's end (or a signal)
        } else return err;
        if (k.current.sigpending) return (err = sock_intr_errno(timeo));
      }
      if (sk.sk_state === TCP_CLOSE) {
        err = sock_error(sk) || -ECONNABORTED; // sock_error
        sock.state = SS_UNCONNECTED;
        return err;
      }
      sock.state = SS_CONNECTED;
      return (err = 0);
    } finally {
      k.tr?.exit();
    }
  } finally {
    release_sock(k, sk);
    yield* bhEnablePoint(k, "release_sock");
    k.tr?.exit();
  }
}

/** inet_sendmsg(sock, msg, size). */
export function* inet_sendmsg(k: Kernel, sock: Socket, msg: SendMsghdr, size: number): KGen<number> {
  k.tr?.enter("inet_sendmsg", "inet_sendmsg(sock, msg, size)");
  const sk = sock.sk!;
  try {
    if (!sk.inet_num && !sk.sk_prot.no_autobind && inet_autobind(k, sk)) return -EAGAIN;
    const sendmsg = sk.sk_prot.sendmsg as ((k: Kernel, sk: Sock, m: SendMsghdr, len: number) => KGen<number>) | undefined;
    if (typeof sendmsg !== "function") return -EOPNOTSUPP;
    k.tr?.enter("", "sk->sk_prot->sendmsg(sk, msg, size)", `= ${sk.sk_prot.name === "UDP" ? "udp_sendmsg" : "tcp_sendmsg"}`);
    const r = yield* sendmsg(k, sk, msg, size);
    k.tr?.exit();
    return r;
  } finally {
    k.tr?.exit();
  }
}
