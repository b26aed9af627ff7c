// udp.ts: the UDP socket: udp_prot, inet_dgram_ops, receive (udp_rcv) and udp_recvmsg.
// Linux 4.6.2: net/ipv4/udp.c, net/ipv4/af_inet.c (inet_dgram_ops). Book: §3.2 (the seed's
// socket(AF_INET, SOCK_DGRAM, 0) trace), §3.3.
//
// Interface:
// * udp_rcv -> __udp4_lib_rcv -> udp_queue_rcv_skb [softirq]: drop when sk_rcvqueues_full;
//   socket not owned -> __udp_queue_rcv_skb -> sock_queue_rcv_skb -> sk_data_ready; owned ->
//   sk_add_backlog. No socket on the port -> ICMP port unreachable (counted).
// * udp_recvmsg -> __skb_recv_datagram (datagram.ts): one datagram per call, truncated
//   (MSG_TRUNC) when the buffer is short; readers wait EXCLUSIVELY: one woken per datagram.
// * udp_poll -> datagram_poll.
//
// Model vs kernel: no checksums, multicast, connected-socket lookups or encapsulation.

import type { Kernel } from "./kernel";
import { charge, type KGen } from "./sched";
import { AF_INET, PF_INET, MSG_PEEK, MSG_TRUNC, SIZEOF_SOCKADDR_IN, type Msghdr, type ProtoOps, type Socket } from "./socket";
import {
  sk_free, sk_zero, sk_add_backlog, sk_rcvqueues_full, sock_owned_by_user, sock_queue_rcv_skb, TCP_CLOSE,
  type Proto, type SkBuff, type Sock,
} from "./sock";
import { inet_release, inet_recvmsg, inet_bind } from "./af_inet";
import { __skb_recv_datagram, datagram_poll, skb_copy_datagram_msg, skb_free_datagram_locked } from "./datagram";
import type { File, PollTable } from "./fs";
import { udp_sendmsg } from "./udp_send";
import { inet_dgram_connect, inet_sendmsg, inet_shutdown } from "./af_inet_send";
import type { SendMsghdr } from "./socket_send";
import type { SockaddrIn } from "./socket";
import { EFAULT } from "./errno";

/** udp_lib_close -> sk_common_release: unhash and free. */
export function udp_lib_close(k: Kernel, sk: Sock, timeout: number): void {
  k.tr?.enter("udp_lib_close", "sk->sk_prot->close(sk, timeout) = udp_lib_close(sk, timeout)");
  if (sk.inet_num && k.hash.udp.get(sk.inet_num) === sk) k.hash.udp.delete(sk.inet_num);
  sk.sk_state = TCP_CLOSE;
  sk_free(k, sk);
  k.tr?.exit();
  void timeout;
}

/** udp_rcv: inet_protos[IPPROTO_UDP]->handler. */
export function udp_rcv(k: Kernel, skb: SkBuff): number {
  k.tr?.enter("udp_rcv", "udp_rcv(skb)");
  k.tr?.enter("__udp4_lib_rcv", "__udp4_lib_rcv(skb, &udp_table, IPPROTO_UDP)");
  const sk = k.hash.udp.get(skb.dport); // __udp4_lib_lookup_skb
  if (!sk) {
    k.tr?.leaf("no socket: icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0)", "UDP_MIB_NOPORTS", "icmp_send");
    k.stats.noSocket++;
  } else {
    udp_queue_rcv_skb(k, sk, skb);
  }
  k.tr?.exit();
  k.tr?.exit();
  return 0;
}

/** udp_queue_rcv_skb(sk, skb): the receive-buffer check, then queue or backlog. */
function udp_queue_rcv_skb(k: Kernel, sk: Sock, skb: SkBuff): number {
  k.tr?.enter("udp_queue_rcv_skb", "udp_queue_rcv_skb(sk, skb)");
  try {
    charge(k, k.costs.udpDatagram);
    if (sk_rcvqueues_full(sk, sk.sk_rcvbuf)) {
      k.tr?.leaf("sk_rcvqueues_full(sk, sk->sk_rcvbuf): drop (UDP_MIB_RCVBUFERRORS)", "接收缓冲区满");
      return drop(k, sk, skb);
    }
    if (!sock_owned_by_user(sk)) {
      if (__udp_queue_rcv_skb(k, sk, skb) < 0) return -1;
    } else if (sk_add_backlog(sk, skb, sk.sk_rcvbuf)) {
      return drop(k, sk, skb);
    }
    return 0;
  } finally {
    k.tr?.exit();
  }
}

function drop(k: Kernel, sk: Sock, skb: SkBuff): number {
  sk.sk_drops++;
  k.stats.socketDrops++;
  skb.onDrop?.(k, skb, "rcvbuf");
  return -1;
}

/** __udp_queue_rcv_skb: udp_prot.backlog_rcv -> sock_queue_rcv_skb. */
export function __udp_queue_rcv_skb(k: Kernel, sk: Sock, skb: SkBuff): number {
  k.tr?.enter("__udp_queue_rcv_skb", "__udp_queue_rcv_skb(sk, skb)", undefined, "__udp_queue_rcv_skb(|sk->sk_backlog_rcv(");
  const rc = sock_queue_rcv_skb(k, sk, skb);
  if (rc < 0) {
    k.stats.socketDrops++; // sock_queue_rcv_skb counted sk_drops
    skb.onDrop?.(k, skb, "rcvbuf");
  }
  k.tr?.exit();
  return rc;
}

/** udp_recvmsg(sk, msg, len, noblock, flags, &addr_len). */
export function* udp_recvmsg(k: Kernel, sk: Sock, msg: Msghdr, len: number, noblock: number, flags: number): KGen<number> {
  k.tr?.enter("udp_recvmsg", "udp_recvmsg(sk, msg, len, noblock, flags, &addr_len)");
  try {
    charge(k, k.costs.recvmsg);
    const out = { peeked: false };
    const r = yield* __skb_recv_datagram(k, sk, flags | (noblock ? 0x40 : 0), out);
    if (typeof r === "number") return r;
    const skb = r;
    const ulen = skb.len;
    let copied = len;
    if (copied > ulen) copied = ulen;
    else if (copied < ulen) msg.msg_flags |= MSG_TRUNC; // the rest of the datagram is lost
    if (k.tr) skb_copy_datagram_msg(k, `skb, sizeof(struct udphdr), msg, copied = ${copied}`, copied < ulen ? "截断: MSG_TRUNC" : "拷贝到用户空间 (after the 8-byte UDP header)");
    if (copied > 0 && msg.msg_iter.fault) {
      // the copy faulted (an unmapped buffer): trace_kfree_skb; sk_drops++ unless peeked (4.6.2
      // counts a faulted MSG_PEEK too, though the datagram stays queued); goto out_free
      if (!out.peeked) sk.sk_drops++;
      if (!(flags & MSG_PEEK)) {
        k.stats.recvCopyFaults++;
        skb_free_datagram_locked(sk, skb);
      } // MSG_PEEK: only the peek's reference is dropped, as below
      return -EFAULT;
    }
    charge(k, copied * k.costs.copyPerByte);
    if (msg.msg_name) {
      // Copy the address: sin->sin_port = udp_hdr(skb)->source; sin_addr = ip_hdr(skb)->saddr
      msg.msg_name.sin_family = AF_INET;
      msg.msg_name.sin_port = skb.sport;
      msg.msg_name.sin_addr = skb.saddr;
      msg.msg_namelen = SIZEOF_SOCKADDR_IN; // *addr_len = sizeof(*sin); inet_recvmsg copies it
    }
    if (!(flags & MSG_PEEK)) {
      msg.msg_iter.consumed.push(skb);
      skb_free_datagram_locked(sk, skb);
    } // MSG_PEEK: skb_free_datagram_locked only drops the peek's reference; the skb stays queued
    return flags & MSG_TRUNC ? ulen : copied;
  } finally {
    k.tr?.exit();
  }
}

/** udp_poll -> datagram_poll. */
export function udp_poll(k: Kernel, file: File, sock: Socket, wait: PollTable | null): number {
  k.tr?.enter("udp_poll", "sock->ops->poll(file, sock, wait) = udp_poll(file, sock, wait)");
  const mask = datagram_poll(k, file, sock, wait);
  k.tr?.exit();
  return mask;
}

export const udp_prot: Proto = {
  name: "UDP",
  alloc: (k: Kernel): Sock => sk_zero(k, udp_prot),
  init: null,
  close: udp_lib_close,
  recvmsg: udp_recvmsg,
  backlog_rcv: __udp_queue_rcv_skb,
  // called through a closure: udp_send.ts imports this file back
  sendmsg: (k: Kernel, sk: Sock, msg: SendMsghdr, len: number) => udp_sendmsg(k, sk, msg, len),
};

export const inet_dgram_ops: ProtoOps = {
  name: "inet_dgram_ops",
  family: PF_INET,
  release: inet_release,
  bind: inet_bind,
  poll: udp_poll,
  recvmsg: inet_recvmsg,
  sendmsg: (k: Kernel, sock: Socket, msg: SendMsghdr, size: number) => inet_sendmsg(k, sock, msg, size),
  shutdown: (k: Kernel, sock: Socket, how: number) => inet_shutdown(k, sock, how),
  connect: (k: Kernel, sock: Socket, addr: SockaddrIn, flags: number) => inet_dgram_connect(k, sock, addr, flags),
};
