// ip_output.ts: IPv4 output: building a datagram's skb and sending it down to the device.
// Linux 4.6.2: net/ipv4/ip_output.c (not among the 70 files in ../shared/linux-4.6.2: read
// from the same pristine commit, the generator reads them: scripts/gen-lines.mjs PRISTINE_FILES), include/net/dst.h (dst_output,
// dst_neigh_output), include/net/neighbour.h (neigh_hh_output). Book: the send side of §3.3.
//
// Interface:
// * ip_make_skb(k, sk, fl4, len, transhdrlen, flags) (UDP's uncorked fast path) ->
//   __ip_append_data -> sock_alloc_send_skb (may sleep for sndbuf room or fail -EAGAIN), the
//   copy from user space (getfrag = ip_generic_getfrag), __ip_make_skb (the IP header).
// * ip_send_skb(k, skb) -> ip_local_out -> __ip_local_out (NF_INET_LOCAL_OUT) -> dst_output
//   = ip_output -> NF_HOOK_COND(POST_ROUTING) -> ip_finish_output -> ip_finish_output2:
//   rcu_read_lock_bh, dst_neigh_output -> neigh_hh_output -> dev_queue_xmit, then
//   rcu_read_unlock_bh, the outermost bh-enable of the path: NET_RX raised by loopback_xmit
//   runs right there, in the sender's context (softirq.ts: do_softirq).
//
// Model vs kernel: one route (everything the model's tasks send goes to 127.0.0.1 via lo:
// ip_route_output_flow is a trace line), no fragmentation (messages are below lo's MTU), no
// netfilter rules, no IP options, corking or GSO.

import type { Kernel } from "./kernel";
import { charge, type KGen } from "./sched";
import { rcu_read_lock_bh, rcu_read_unlock_bh } from "./softirq";
import { dev_queue_xmit } from "./dev_xmit";
import { ehashAddr } from "./inet_hashtables";
import { sock_alloc_send_skb } from "./sock_wmem";
import type { NetDevice } from "./dev";
import type { SkBuff, Sock } from "./sock";
import { MSG_DONTWAIT } from "./socket";

/** struct flowi4, reduced: where the datagram goes and the device the route chose. */
export interface Flowi4 {
  daddr: string;
  saddr: string;
  fl4_dport: number;
  fl4_sport: number;
  /** skb_dst(skb)->dev of the route (the model's only route: lo). */
  dev: NetDevice;
}

/** sizeof(struct iphdr), LL_RESERVED_SPACE(lo) (ETH_HLEN 14 rounded to 16). */
export const IP_HLEN = 20;
const HH_LEN = 16;

/** ip_route_output_flow(net, fl4, sk): the model routes every local destination to lo. */
export function ip_route_output_flow(k: Kernel, daddr: string, dport: number, sk: Sock): Flowi4 {
  k.tr?.leaf(`rt = ip_route_output_flow(net, fl4, sk)`, `${daddr}: local route, dst->dev = lo`, "ip_route_output_flow");
  return { daddr, saddr: "127.0.0.1", fl4_dport: dport, fl4_sport: sk.inet_num, dev: k.lo! };
}

/** ip_make_skb(sk, fl4, getfrag, msg, length, transhdrlen, ipc, &rt, flags): one skb holding
 *  the whole datagram (length includes the transport header), or a negative errno. */
export function* ip_make_skb(k: Kernel, sk: Sock, fl4: Flowi4, length: number, transhdrlen: number, flags: number): KGen<SkBuff | number> {
  k.tr?.enter("ip_make_skb", "ip_make_skb(sk, fl4, getfrag, msg, ulen, sizeof(struct udphdr), &ipc, &rt, msg->msg_flags)");
  try {
    k.tr?.enter("__ip_append_data", "__ip_append_data(sk, fl4, &queue, &cork, &current->task_frag, getfrag, from, length, transhdrlen, flags)");
    const alloclen = IP_HLEN + length; // fragheaderlen + datalen (transhdrlen is inside length)
    // transhdrlen != 0: the first fragment is charged against sk_sndbuf and may wait for room
    const r = yield* sock_alloc_send_skb(k, sk, alloclen + HH_LEN + 15, flags & MSG_DONTWAIT);
    if (typeof r === "number") {
      k.tr?.exit();
      return r;
    }
    const skb = r;
    skb.len = length - transhdrlen; // payload; the model keeps headers out of len
    k.tr?.leaf(`getfrag(from, data + transhdrlen, 0, ${length - transhdrlen}, ...) = ip_generic_getfrag`, "copy_from_iter: 从用户空间拷贝数据");
    charge(k, skb.len * k.costs.copyPerByte);
    k.tr?.exit();
    k.tr?.leaf("__ip_make_skb(sk, fl4, &queue, &cork): iph->saddr/daddr/protocol, skb->priority", "IP 头", "__ip_make_skb");
    skb.saddr = fl4.saddr;
    skb.saddrNo = ehashAddr(k.hash, fl4.saddr);
    skb.sport = fl4.fl4_sport;
    skb.dport = fl4.fl4_dport;
    skb.protocol = sk.sk_protocol;
    return skb;
  } finally {
    k.tr?.exit();
  }
}

/** ip_send_skb(net, skb) -> ip_local_out; NET_XMIT errors become IPSTATS_MIB_OUTDISCARDS. */
export function* ip_send_skb(k: Kernel, skb: SkBuff, fl4: Flowi4): KGen<number> {
  k.tr?.enter("ip_send_skb", "ip_send_skb(net, skb)");
  const err = yield* ip_local_out(k, skb, fl4);
  k.tr?.exit();
  return err;
}

/** ip_local_out(net, sk, skb): __ip_local_out (LOCAL_OUT hook), then dst_output. */
export function* ip_local_out(k: Kernel, skb: SkBuff, fl4: Flowi4): KGen<number> {
  const tr = k.tr;
  tr?.enter("ip_local_out", "ip_local_out(net, skb->sk, skb)");
  tr?.enter("__ip_local_out", "__ip_local_out(net, sk, skb)", "iph->tot_len; ip_send_check(iph)");
  tr?.leaf("nf_hook(NFPROTO_IPV4, NF_INET_LOCAL_OUT, net, sk, skb, NULL, skb_dst(skb)->dev, dst_output)", "no rules: 1 (continue)");
  tr?.exit();
  tr?.enter("dst_output", "dst_output(net, sk, skb)");
  tr?.enter("ip_output", "skb_dst(skb)->output(net, sk, skb) = ip_output(net, sk, skb)", `skb->dev = ${fl4.dev.name}; skb->protocol = htons(ETH_P_IP)`);
  tr?.enter("", "NF_HOOK_COND(NFPROTO_IPV4, NF_INET_POST_ROUTING, ..., ip_finish_output)");
  tr?.enter("ip_finish_output", "okfn(net, sk, skb) = ip_finish_output(net, sk, skb)", "skb->len <= mtu: no fragmentation", "okfn(");
  const rc = yield* ip_finish_output2(k, skb, fl4.dev);
  for (let i = 0; i < 5; i++) tr?.exit();
  return rc;
}

/** ip_finish_output2(net, sk, skb): neighbour output inside rcu_read_lock_bh. */
function* ip_finish_output2(k: Kernel, skb: SkBuff, dev: NetDevice): KGen<number> {
  const tr = k.tr;
  tr?.enter("ip_finish_output2", "ip_finish_output2(net, sk, skb)");
  tr?.leaf("rcu_read_lock_bh()", "local_bh_disable(): softirqs raised from here on wait", "rcu_read_lock_bh");
  rcu_read_lock_bh(k);
  tr?.leaf("neigh = __ipv4_neigh_lookup_noref(dev, nexthop)", `${dev.name}: NUD_NOARP, hh cached`);
  tr?.enter("dst_neigh_output", "dst_neigh_output(dst, neigh, skb)");
  tr?.enter("neigh_hh_output", "neigh_hh_output(hh, skb)", "copy the cached link-layer header");
  const res = yield* dev_queue_xmit(k, skb, dev);
  tr?.exit();
  tr?.exit();
  // the outermost bottom-half enable of the transmit path: the softirq runs here if raised
  yield* rcu_read_unlock_bh(k);
  tr?.exit();
  return res;
}
