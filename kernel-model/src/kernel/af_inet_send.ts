// af_inet_send.ts: the PF_INET entry of sendmsg, and the implicit bind a sender gets.
// Linux 4.6.2: net/ipv4/af_inet.c (inet_sendmsg, inet_autobind). Book: the sender's half of §3.3.
//
// Interface:
// * inet_sendmsg(k, sock, msg, size): an unbound socket is bound to an ephemeral port first
//   (inet_autobind -> sk_prot->get_port(sk, 0); -EAGAIN when none is free), then
//   sk->sk_prot->sendmsg (udp_sendmsg).
//
// Model vs kernel: ephemeral ports are taken in order from ip_local_port_range's start (32768)
// rather than from a random offset; no RPS flow recording.

import type { Kernel } from "./kernel";
import type { KGen } from "./sched";
import type { Socket } from "./socket";
import type { Sock } from "./sock";
import type { SendMsghdr } from "./socket_send";
import { EAGAIN, EOPNOTSUPP } from "./errno";
import { udp_prot } from "./udp";

/** net.ipv4.ip_local_port_range (4.6 default 32768 60999). */
export const IP_LOCAL_PORT_RANGE = [32768, 60999] as const;

/** inet_autobind(sk): udp_v4_get_port(sk, 0): the first free port of the local range. */
export function inet_autobind(k: Kernel, sk: Sock): number {
  k.tr?.enter("inet_autobind", "inet_autobind(sk)", "not bound yet: sk->sk_prot->get_port(sk, 0)");
  try {
    if (sk.sk_prot !== udp_prot) return -EAGAIN; // TCP binds in connect (tcp_v4_connect)
    for (let port = IP_LOCAL_PORT_RANGE[0]; port <= IP_LOCAL_PORT_RANGE[1]; port++) {
      if (!k.hash.udp.has(port)) {
        sk.inet_num = port;
        k.hash.udp.set(port, sk);
        k.tr?.leaf(`inet->inet_num = ${port}; inet->inet_sport = htons(${port})`);
        return 0;
      }
    }
    return -EAGAIN;
  } finally {
    k.tr?.exit();
  }
}

/** inet_sendmsg(sock, msg, size). */
export function* inet_sendmsg(k: Kernel, sock: Socket, msg: SendMsghdr, size: number): KGen<number> {
  k.tr?.enter("inet_sendmsg", "inet_sendmsg(sock, msg, size)");
  const sk = sock.sk!;
  try {
    if (!sk.inet_num && inet_autobind(k, sk)) return -EAGAIN;
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
