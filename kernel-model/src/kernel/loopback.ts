// loopback.ts: the loopback device `lo`: every packet it transmits is received by this host.
// Linux 4.6.2: drivers/net/loopback.c (loopback_xmit, loopback_setup), include/linux/skbuff.h
// (skb_orphan). Book: §3.3.2 from the sender's side (the probe's experiment runs on lo).
//
// Interface:
// * loopback_net_init(k) at boot: k.lo, a NetDevice whose ndo_start_xmit is loopback_xmit.
// * loopback_xmit(k, skb, dev): skb_orphan (the sender's sk_wmem_alloc is released at once,
//   through sock_wfree -> sk_write_space), eth_type_trans, then netif_rx(skb) queues it on
//   *this* CPU's backlog. It returns NETDEV_TX_OK; the receive path runs later, when the
//   sender's bottom halves are re-enabled (do_softirq in the sender's context).
//
// Model vs kernel: no per-CPU lstats (one counter), no dst refcounting, no checksums
// (CHECKSUM_UNNECESSARY on lo anyway), MTU 65536 never reached by the model's messages.

import type { Kernel } from "./kernel";
import { netif_rx, NETDEV_TX_OK, NET_RX_SUCCESS } from "./dev_xmit";
import type { NetDevice } from "./dev";
import type { SkBuff } from "./sock";

/** loopback_net_init + loopback_setup: register `lo` (ifindex 1, LOOPBACK_IFINDEX). */
export function loopback_net_init(k: Kernel): void {
  k.lo = { name: "lo", rings: [], ndo_start_xmit: loopback_xmit, tx_packets: 0, rx_packets: 0, rx_dropped: 0 };
}

/** skb_orphan(skb): run the destructor (sock_wfree for a sent skb) and forget the owner. */
export function skb_orphan(k: Kernel, skb: SkBuff): void {
  if (skb.destructor) {
    k.tr?.enter("skb_orphan", "skb_orphan(skb)", "skb->destructor(skb) = sock_wfree: the sender's sndbuf is free again");
    const d = skb.destructor;
    skb.destructor = null;
    d(k, skb);
    skb.sk = null;
    k.tr?.exit();
  }
}

/** loopback_xmit(skb, dev): lo's ndo_start_xmit. */
export function loopback_xmit(k: Kernel, skb: SkBuff, dev: NetDevice): number {
  k.tr?.enter("loopback_xmit", "loopback_xmit(skb, dev)");
  skb_orphan(k, skb);
  k.tr?.leaf("skb->protocol = eth_type_trans(skb, dev)", "ETH_P_IP; pkt_type PACKET_HOST");
  if (netif_rx(k, skb) === NET_RX_SUCCESS) dev.rx_packets++;
  else dev.rx_dropped++;
  k.tr?.exit();
  return NETDEV_TX_OK;
}
