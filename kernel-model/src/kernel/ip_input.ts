// ip_input.ts: IPv4 receive, from ip_rcv to the transport's handler.
// Linux 4.6.2: net/ipv4/ip_input.c, net/ipv4/af_inet.c (inet_protos). Book: §3.3.2.
//
// Interface: ip_rcv(k, skb) -> NF_HOOK(PRE_ROUTING) -> ip_rcv_finish -> dst_input =
// ip_local_deliver -> NF_HOOK(LOCAL_IN) -> ip_local_deliver_finish ->
// inet_protos[protocol]->handler (tcp_v4_rcv | udp_rcv, registered by inet_init).
//
// Model vs kernel: every frame is for this host (no forwarding, fragments, options, netfilter
// rules or early demux); the hooks are shown in traces because readers meet them in the book.

import type { Kernel } from "./kernel";
import type { SkBuff } from "./sock";

/** struct net_protocol (include/net/protocol.h). */
export interface NetProtocol {
  name: string;
  handler: (k: Kernel, skb: SkBuff) => number;
}

export function inet_add_protocol(k: Kernel, prot: NetProtocol, protocol: number): void {
  k.inet_protos[protocol] = prot;
}

export function ip_rcv(k: Kernel, skb: SkBuff): number {
  const tr = k.tr;
  if (tr) {
    tr.enter("ip_rcv", "ip_rcv(skb, dev, pt, orig_dev)");
    tr.enter("NF_HOOK", "NF_HOOK(NFPROTO_IPV4, NF_INET_PRE_ROUTING, net, NULL, skb, dev, NULL, ip_rcv_finish)");
    tr.enter("NF_HOOK_THRESH", "NF_HOOK_THRESH(pf, hook, net, sk, skb, in, out, okfn, INT_MIN)", "no hooks: nf_hook_thresh() returns 1");
    tr.enter("ip_rcv_finish", "okfn(net, sk, skb) = ip_rcv_finish(net, sk, skb)");
    tr.enter("dst_input", "dst_input(skb)");
    tr.enter("ip_local_deliver", "skb_dst(skb)->input(skb) = ip_local_deliver(skb)");
    tr.enter("NF_HOOK", "NF_HOOK(NFPROTO_IPV4, NF_INET_LOCAL_IN, net, NULL, skb, skb->dev, NULL, ip_local_deliver_finish)");
    tr.enter("NF_HOOK_THRESH", "NF_HOOK_THRESH(pf, hook, net, sk, skb, in, out, okfn, INT_MIN)");
    tr.enter("ip_local_deliver_finish", "okfn(net, sk, skb) = ip_local_deliver_finish(net, sk, skb)");
  }
  const ipprot = k.inet_protos[skb.protocol];
  let ret = 0;
  if (ipprot) {
    tr?.enter("", "ipprot->handler(skb)", `= ${ipprot.name}`);
    ret = ipprot.handler(k, skb);
    tr?.exit();
  }
  if (tr) for (let i = 0; i < 9; i++) tr.exit();
  return ret;
}
