// udp.ts: the UDP socket: udp_prot, inet_dgram_ops, udp_lib_close.
// Linux 4.6.2: net/ipv4/udp.c, net/ipv4/af_inet.c (inet_dgram_ops). Book: §3.2 (the seed's
// socket(AF_INET, SOCK_DGRAM, 0) trace), §3.3 (udp_recvmsg).
//
// Interface: udp_prot (struct proto: no init in 4.6), inet_dgram_ops (struct proto_ops).
//
// Model vs kernel: no checksums, multicast or encapsulation.

import type { Kernel } from "./kernel";
import { PF_INET, type ProtoOps } from "./socket";
import { sk_free, sk_zero, TCP_CLOSE, type Proto, type Sock } from "./sock";
import { inet_release, inet_recvmsg } from "./af_inet";

/** udp_lib_close -> sk_common_release: unhash and free. */
export function udp_lib_close(k: Kernel, sk: Sock, timeout: number): void {
  k.tr?.enter("udp_lib_close", "sk->sk_prot->close(sk, timeout) = udp_lib_close(sk, timeout)");
  sk.sk_state = TCP_CLOSE;
  sk_free(k, sk);
  k.tr?.exit();
  void timeout;
}

export const udp_prot: Proto = {
  name: "UDP",
  alloc: (k: Kernel): Sock => sk_zero(k, udp_prot),
  init: null,
  close: udp_lib_close,
  recvmsg: null,
  backlog_rcv: null,
};

export const inet_dgram_ops: ProtoOps = {
  name: "inet_dgram_ops",
  family: PF_INET,
  release: inet_release,
  poll: null,
  recvmsg: inet_recvmsg,
};
