// udp_send.ts: sending a UDP datagram: udp_sendmsg's uncorked fast path and udp_send_skb.
// Linux 4.6.2: net/ipv4/udp.c (udp_sendmsg, udp_send_skb). Book: the probe's sender (§3.6).
//
// Interface:
// * udp_sendmsg(k, sk, msg, len): len > 0xFFFF -> -EMSGSIZE; MSG_OOB -> -EOPNOTSUPP; the
//   destination from msg_name (port 0 -> -EINVAL) or the connected peer (none ->
//   -EDESTADDRREQ); ip_route_output_flow; ip_make_skb (sndbuf charge, may sleep or -EAGAIN);
//   udp_send_skb -> ip_send_skb. Returns len, or the error.
//
// Model vs kernel: no corking (MSG_MORE, UDP_CORK), no checksum (lo: CHECKSUM_PARTIAL, never
// computed), no control messages, no MSG_CONFIRM. Cost: costs.sendmsg (the protocol's own work)
// plus the copy (costs.copyPerByte).

import type { Kernel } from "./kernel";
import { charge, type KGen } from "./sched";
import { ip_make_skb, ip_route_output_flow, ip_send_skb, type Flowi4 } from "./ip_output";
import { TCP_ESTABLISHED, type SkBuff, type Sock } from "./sock";
import type { SendMsghdr } from "./socket_send";
import { SOCK_NOSPACE } from "./sock_wmem";
import { EDESTADDRREQ, EINVAL, EMSGSIZE, ENOBUFS, EOPNOTSUPP } from "./errno";

/** sizeof(struct udphdr) */
export const UDP_HLEN = 8;
/** include/linux/socket.h */
export const MSG_OOB = 1;

/** udp_send_skb(skb, fl4): the UDP header, then ip_send_skb. */
function* udp_send_skb(k: Kernel, skb: SkBuff, fl4: Flowi4): KGen<number> {
  k.tr?.enter("udp_send_skb", "udp_send_skb(skb, fl4)");
  k.tr?.leaf("uh->source = inet->inet_sport;", `UDP 头: source ${fl4.fl4_sport}, dest ${fl4.fl4_dport}, len ${skb.len + UDP_HLEN} (lo: CHECKSUM_PARTIAL, no csum)`);
  let err = yield* ip_send_skb(k, skb, fl4);
  if (err === -ENOBUFS) err = 0; // !inet->recverr: UDP_MIB_SNDBUFERRORS, reported as sent
  k.tr?.exit();
  return err;
}

/** udp_sendmsg(sk, msg, len). */
export function* udp_sendmsg(k: Kernel, sk: Sock, msg: SendMsghdr, len: number): KGen<number> {
  k.tr?.enter("udp_sendmsg", "udp_sendmsg(sk, msg, len)");
  try {
    if (len > 0xffff) return -EMSGSIZE;
    if (msg.msg_flags & MSG_OOB) return -EOPNOTSUPP;
    const ulen = len + UDP_HLEN;
    let daddr: string;
    let dport: number;
    if (msg.msg_name) {
      daddr = msg.msg_name.sin_addr;
      dport = msg.msg_name.sin_port;
      if (dport === 0) return -EINVAL;
    } else {
      if (sk.sk_state !== TCP_ESTABLISHED) return -EDESTADDRREQ;
      daddr = sk.inet_daddr;
      dport = sk.inet_dport;
    }
    charge(k, k.costs.sendmsg);
    const fl4 = ip_route_output_flow(k, daddr, dport, sk);
    // Lockless fast path for the non-corking case.
    const r = yield* ip_make_skb(k, sk, fl4, ulen, UDP_HLEN, msg.msg_flags);
    let err: number;
    if (typeof r === "number") {
      err = r;
    } else {
      r.msgId = msg.msgId;
      r.tstamp = msg.tstamp;
      err = yield* udp_send_skb(k, r, fl4);
    }
    if (!err) return len;
    if (sk.sk_socket && sk.sk_socket.flags & (1 << SOCK_NOSPACE)) {
      k.tr?.leaf("test_bit(SOCK_NOSPACE, &sk->sk_socket->flags): UDP_MIB_SNDBUFERRORS++");
    }
    return err;
  } finally {
    k.tr?.exit();
  }
}
