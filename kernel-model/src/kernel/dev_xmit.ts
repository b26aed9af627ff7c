// dev_xmit.ts: the transmit half of the device layer and the per-CPU backlog it feeds.
// Linux 4.6.2: net/core/dev.c (dev_queue_xmit, dev_hard_start_xmit, netif_rx,
// enqueue_to_backlog, process_backlog), include/linux/netdevice.h (netdev_start_xmit).
// Book: §3.3.2's receive path, entered from the other end (a local sender over `lo`).
//
// Interface:
// * dev_queue_xmit(k, skb, dev) (process context, bottom halves disabled by the caller's
//   rcu_read_lock_bh): lo has no qdisc (noqueue), so __dev_queue_xmit calls
//   dev_hard_start_xmit -> xmit_one -> netdev_start_xmit -> ndo_start_xmit (= loopback_xmit).
// * netif_rx(k, skb) -> netif_rx_internal -> enqueue_to_backlog(skb, smp_processor_id()):
//   append to this CPU's softnet_data.input_pkt_queue (over netdev_max_backlog: drop,
//   sd->dropped++); the first skb schedules the backlog NAPI (____napi_schedule) and raises
//   NET_RX on this CPU. The softirq runs when the sender's outermost rcu_read_unlock_bh
//   re-enables bottom halves (softirq.ts: do_softirq), or at the next irq_exit on this CPU.
// * process_backlog(k, napi, quota) (net_rx_action's n->poll for the backlog NAPI): move
//   input_pkt_queue to process_queue and hand each skb to __netif_receive_skb (dev.ts, shared with the NIC path) -> ip_rcv, at most
//   `quota` (weight_p = 64) per poll; an empty queue completes the NAPI (napi->state = 0).
//
// Model vs kernel: no RPS (netif_rx_internal's get_rps_cpu branch is off, as it is by
// default), no flow limit, no TX queues or qdiscs (lo is IFF_NO_QUEUE), no xmit recursion
// counter. Cost: costs.txPacket per skb in dev_queue_xmit (with ip_output's share),
// costs.backlogPacket per skb in process_backlog (no driver work: the skb is already built).

import type { Kernel } from "./kernel";
import { burn, type KGen, type Rq } from "./sched";
import { __raise_softirq_irqoff, rcu_read_lock_bh, rcu_read_unlock_bh, NET_RX_SOFTIRQ } from "./softirq";
import { __netif_receive_skb, type NapiStruct, type NetDevice } from "./dev";
import type { SkBuff } from "./sock";

/** net.core.netdev_max_backlog (default 1000). */
export const NETDEV_MAX_BACKLOG = 1000;
/** net.core.dev_weight: weight_p, the backlog NAPI's quota per poll (64). */
export const weight_p = 64;
/** include/linux/netdevice.h */
export const NETDEV_TX_OK = 0;
export const NET_RX_SUCCESS = 0;
export const NET_RX_DROP = 1;

/** dev_queue_xmit(skb) -> __dev_queue_xmit(skb, NULL). */
export function* dev_queue_xmit(k: Kernel, skb: SkBuff, dev: NetDevice): KGen<number> {
  const tr = k.tr;
  tr?.enter("dev_queue_xmit", "dev_queue_xmit(skb)");
  tr?.enter("__dev_queue_xmit", "__dev_queue_xmit(skb, NULL)", `dev = ${dev.name}: rcu_read_lock_bh()`);
  rcu_read_lock_bh(k);
  yield* burn(k.costs.txPacket, "sys");
  // q->enqueue == NULL for lo (noqueue): straight to the driver
  tr?.leaf("q = rcu_dereference_bh(txq->qdisc): no q->enqueue", `${dev.name} has no queue: dev_hard_start_xmit`);
  tr?.enter("dev_hard_start_xmit", "dev_hard_start_xmit(skb, dev, txq, &rc)");
  tr?.enter("xmit_one", "xmit_one(skb, dev, txq, more)");
  tr?.enter("netdev_start_xmit", "netdev_start_xmit(skb, dev, txq, more)");
  tr?.enter("__netdev_start_xmit", "__netdev_start_xmit(ops, skb, dev, more)");
  tr?.enter("", "ops->ndo_start_xmit(skb, dev)", dev.ndo_start_xmit ? `= ${dev.name === "lo" ? "loopback_xmit" : "?"}` : "NULL");
  const rc = dev.ndo_start_xmit ? dev.ndo_start_xmit(k, skb, dev) : NETDEV_TX_OK;
  if (rc === NETDEV_TX_OK) dev.tx_packets++;
  for (let i = 0; i < 5; i++) tr?.exit();
  // nested inside ip_finish_output2's rcu_read_lock_bh: softirqs stay off here
  yield* rcu_read_unlock_bh(k);
  tr?.exit();
  tr?.exit();
  return rc;
}

/** netif_rx(skb) -> netif_rx_internal(skb) -> enqueue_to_backlog(skb, get_cpu(), &qtail). */
export function netif_rx(k: Kernel, skb: SkBuff): number {
  const tr = k.tr;
  tr?.enter("netif_rx", "netif_rx(skb)");
  tr?.enter("netif_rx_internal", "netif_rx_internal(skb)", "no RPS: the CPU that sends");
  skb.tstamp = skb.tstamp || k.now; // net_timestamp_check
  const ret = enqueue_to_backlog(k, skb, k.cpu!);
  tr?.exit();
  tr?.exit();
  return ret;
}

/** enqueue_to_backlog(skb, cpu, &qtail): queue on cpu's input_pkt_queue; the first skb
 *  schedules the backlog NAPI there and raises NET_RX. */
export function enqueue_to_backlog(k: Kernel, skb: SkBuff, rq: Rq): number {
  const sd = k.softnet[rq.cpu];
  const tr = k.tr;
  tr?.enter("enqueue_to_backlog", `enqueue_to_backlog(skb, cpu = ${rq.cpu}, &qtail)`);
  try {
    const qlen = sd.input_pkt_queue.length;
    if (qlen <= NETDEV_MAX_BACKLOG) {
      if (qlen === 0 && !sd.backlog.sched) {
        // !__test_and_set_bit(NAPI_STATE_SCHED, &sd->backlog.state)
        sd.backlog.sched = true;
        tr?.enter("____napi_schedule", "____napi_schedule(sd, &sd->backlog)", "first skb: schedule the backlog NAPI");
        tr?.leaf("list_add_tail(&napi->poll_list, &sd->poll_list)");
        sd.poll_list.push(sd.backlog);
        __raise_softirq_irqoff(k, rq, NET_RX_SOFTIRQ);
        tr?.exit();
      }
      sd.input_pkt_queue.push(skb); // __skb_queue_tail(&sd->input_pkt_queue, skb)
      tr?.leaf(`__skb_queue_tail(&sd->input_pkt_queue, skb)`, `qlen ${qlen + 1}`);
      return NET_RX_SUCCESS;
    }
    sd.dropped++;
    k.stats.backlogDrops++;
    tr?.leaf(`qlen ${qlen} > netdev_max_backlog (${NETDEV_MAX_BACKLOG}): drop, sd->dropped++`);
    skb.onDrop?.(k, skb, "backlog");
    return NET_RX_DROP;
  } finally {
    tr?.exit();
  }
}

/** process_backlog(napi, quota): the backlog NAPI's poll. */
export function* process_backlog(k: Kernel, napi: NapiStruct, quota: number): KGen<number> {
  const sd = k.softnet[k.cpu!.cpu];
  const tr = k.tr;
  tr?.enter("process_backlog", "n->poll(n, weight) = process_backlog(napi, quota)");
  let work = 0;
  napi.weight = weight_p;
  try {
    for (;;) {
      let skb: SkBuff | undefined;
      while ((skb = sd.process_queue.shift())) {
        yield* burn(k.costs.backlogPacket, "softirq");
        sd.processed++;
        __netif_receive_skb(k, skb);
        if (++work >= quota) return work;
      }
      if (sd.input_pkt_queue.length === 0) {
        napi.sched = false; // napi->state = 0: an inline __napi_complete
        tr?.leaf("skb_queue_empty(&sd->input_pkt_queue): napi->state = 0", "backlog drained: NAPI complete");
        break;
      }
      tr?.leaf(`skb_queue_splice_tail_init(&sd->input_pkt_queue, &sd->process_queue)`, `${sd.input_pkt_queue.length} skb`);
      sd.process_queue.push(...sd.input_pkt_queue.splice(0));
    }
    return work;
  } finally {
    tr?.exit();
  }
}
