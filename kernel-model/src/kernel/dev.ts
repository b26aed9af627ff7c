// dev.ts: the NIC (igb-like, multi-queue), its hard IRQ, NAPI and the NET_RX softirq.
// Linux 4.6.2: net/core/dev.c, include/linux/netdevice.h, drivers/net/ethernet/intel/igb/
// igb_main.c, arch/x86/kernel/irq.c. Book: §3.3.2 软中断模块 (the path from the wire to ip_rcv).
//
// Interface:
// * net_dev_init(k, opts) at boot: eth0 with one RX queue per CPU (RSS), each queue's MSI-X
//   IRQ bound to CPU i (or all to `irqAffinity`), RX rings of `rxRing` descriptors (igb: 256);
//   open_softirq(NET_RX_SOFTIRQ, net_rx_action).
// * nicRx(k, skb) (an engine event at the frame's arrival): DMA into the queue's ring (full ->
//   rx_missed_errors), and if that queue's IRQ is armed, raise it on its CPU: do_IRQ ->
//   handle_irq -> handle_edge_irq -> handle_irq_event -> igb_msix_ring -> napi_schedule ->
//   ____napi_schedule -> __raise_softirq_irqoff(NET_RX_SOFTIRQ); exiting_irq -> irq_exit.
// * Each CPU's softnet_data also holds the backlog NAPI (poll = process_backlog, dev_xmit.ts)
//   that netif_rx feeds: loopback traffic reaches ip_rcv through it instead of igb_poll.
// * net_rx_action: netdev_budget (300) packets or 2 jiffies per run, NAPI weight 64 per poll;
//   igb_poll -> igb_clean_rx_irq -> napi_gro_receive -> ... -> __netif_receive_skb_core, which
//   calls the only match, ip_rcv, as pt_prev->func (no tap: no deliver_skb); a queue that used its whole
//   weight stays on the poll list (repoll), one that ran dry re-arms its IRQ (napi_complete_done).
//
// Model vs kernel: no GRO merging (every frame is GRO_NORMAL), no RPS/RFS, no interrupt
// throttling (ITR), no TX completions. The IRQ stays masked while NAPI polls, as in igb.

import type { Kernel } from "./kernel";
import { burn, cpuInterrupt, type IrqFrame, type KGen, type Rq } from "./sched";
import { __raise_softirq_irqoff, irq_exit, open_softirq, NET_RX_SOFTIRQ } from "./softirq";
import { ip_rcv } from "./ip_input";
import { process_backlog, weight_p } from "./dev_xmit";
import type { SkBuff } from "./sock";

/** HZ of the modelled kernel (CONFIG_HZ_250, the common distribution setting). */
export const HZ = 250;
export const JIFFY_NS = 1_000_000_000 / HZ;
/** net.core.netdev_budget */
export const NETDEV_BUDGET = 300;
/** igb's NAPI weight (netif_napi_add(..., igb_poll, 64)). */
export const NAPI_POLL_WEIGHT = 64;

/** struct napi_struct (include/linux/netdevice.h). */
export interface NapiStruct {
  /** NAPI_STATE_SCHED: on some CPU's poll_list (or being polled). */
  sched: boolean;
  weight: number;
  /** The RX queue an igb NAPI cleans; null for a CPU's backlog NAPI (process_backlog). */
  ring: RxRing | null;
  poll: (k: Kernel, n: NapiStruct, budget: number) => KGen<number>;
}

/** One RX queue: its descriptor ring (igb_ring) and its MSI-X vector. */
export interface RxRing {
  index: number;
  /** Filled descriptors waiting for igb_clean_rx_irq, oldest first. */
  skbs: SkBuff[];
  size: number;
  /** CPU that takes this queue's IRQ (/proc/irq/N/smp_affinity). */
  irqCpu: number;
  /** The queue's interrupt is armed (igb_ring_irq_enable); masked while NAPI polls. */
  irqEnabled: boolean;
  napi: NapiStruct;
  rx_packets: number;
  /** Frames lost because the ring was full (rx_missed_errors / rx_fifo_errors). */
  rx_missed: number;
}

/** struct net_device, reduced to eth0's receive side and lo's transmit (loopback.ts). */
export interface NetDevice {
  name: string;
  rings: RxRing[];
  /** dev->netdev_ops->ndo_start_xmit (lo: loopback_xmit); null for eth0 (the model never
   *  transmits on the wire). */
  ndo_start_xmit: ((k: Kernel, skb: SkBuff, dev: NetDevice) => number) | null;
  /** lstats / dev->stats. */
  tx_packets: number;
  rx_packets: number;
  rx_dropped: number;
}

/** struct softnet_data (include/linux/netdevice.h): per CPU. */
export interface SoftnetData {
  /** NAPI instances with work, in the order they were scheduled. */
  poll_list: NapiStruct[];
  processed: number;
  /** net_rx_action ran out of budget or time with work left (/proc/net/softnet_stat col 3). */
  time_squeeze: number;
  /** netif_rx's per-CPU queue (dev_xmit.ts: enqueue_to_backlog) and process_backlog's own. */
  input_pkt_queue: SkBuff[];
  process_queue: SkBuff[];
  /** The backlog NAPI (poll = process_backlog), scheduled when input_pkt_queue gets its first skb. */
  backlog: NapiStruct;
  /** input_pkt_queue over netdev_max_backlog (/proc/net/softnet_stat col 2). */
  dropped: number;
}

export interface NetDevOptions {
  /** RX queues (default: one per CPU). */
  rxQueues?: number;
  /** Descriptors per RX ring (igb default 256). */
  rxRing?: number;
  /** Send every queue's IRQ to this CPU (default: queue i -> CPU i mod ncpus). */
  irqAffinity?: number;
}

/** net_dev_init + igb_probe: the softirq handler, softnet_data, eth0 and its queues. */
export function net_dev_init(k: Kernel, opts: NetDevOptions = {}): void {
  const ncpu = k.rqs.length;
  const nq = opts.rxQueues ?? ncpu;
  if (!(nq >= 1 && nq <= 64)) throw new RangeError(`rxQueues must be 1..64, got ${nq}`);
  if (opts.irqAffinity !== undefined && !(opts.irqAffinity >= 0 && opts.irqAffinity < ncpu)) {
    throw new RangeError(`irqAffinity: no CPU ${opts.irqAffinity}`);
  }
  k.softnet = k.rqs.map(() => ({
    poll_list: [], processed: 0, time_squeeze: 0, input_pkt_queue: [], process_queue: [], dropped: 0,
    backlog: { sched: false, weight: weight_p, ring: null, poll: process_backlog },
  }));
  const rings: RxRing[] = [];
  for (let i = 0; i < nq; i++) {
    const ring = {
      index: i, skbs: [], size: opts.rxRing ?? 256, irqCpu: opts.irqAffinity ?? i % ncpu, irqEnabled: true,
      rx_packets: 0, rx_missed: 0,
    } as unknown as RxRing;
    ring.napi = { sched: false, weight: NAPI_POLL_WEIGHT, ring, poll: igb_poll };
    rings.push(ring);
  }
  k.dev = { name: "eth0", rings, ndo_start_xmit: null, tx_packets: 0, rx_packets: 0, rx_dropped: 0 };
  open_softirq(k, NET_RX_SOFTIRQ, net_rx_action);
}

/** The frame reaches the NIC: RSS picks the queue, DMA fills a descriptor, maybe an IRQ. */
export function nicRx(k: Kernel, skb: SkBuff): void {
  const dev = k.dev!;
  const ring = dev.rings[skb.hash % dev.rings.length];
  skb.tstamp = k.now;
  if (ring.skbs.length >= ring.size) {
    ring.rx_missed++;
    k.stats.ringDrops++;
    skb.onDrop?.(k, skb, "ring");
    return;
  }
  ring.skbs.push(skb);
  if (ring.irqEnabled) raiseRxIrq(k, ring);
}

/** "cpu0 irq": one string per CPU, not one per interrupt. */
const IRQ_LABELS: string[] = [];
function irqLabel(cpu: number): string {
  return (IRQ_LABELS[cpu] ??= `cpu${cpu} irq`);
}

/** The queue's MSI-X vector fires on its CPU. */
function raiseRxIrq(k: Kernel, ring: RxRing): void {
  ring.irqEnabled = false; // masked until napi_complete_done re-arms it
  const rq = k.rqs[ring.irqCpu];
  const frame: IrqFrame = {
    label: irqLabel(rq.cpu), gen: null, resume: undefined, left: 0, leftMode: "irq", ctxLeft: 0, pending: null, mode: "irq",
  };
  frame.gen = do_IRQ(k, rq, ring);
  cpuInterrupt(k, rq, frame);
}

/** do_IRQ -> handle_irq -> handle_irq_event -> igb_msix_ring, then irq_exit (softirqs). */
function* do_IRQ(k: Kernel, rq: Rq, ring: RxRing): KGen<void> {
  k.stats.hardirqs++;
  k.tr?.enter("do_IRQ", `do_IRQ(regs)`, `eth0-rx-${ring.index} on cpu${rq.cpu}: irq_enter()`);
  yield* burn(k.costs.hardirq, "irq");
  // arch/x86/kernel/irq_64.c handle_irq -> generic_handle_irq_desc -> desc->handle_irq
  // (handle_edge_irq for an MSI-X vector) -> handle_irq_event -> handle_irq_event_percpu
  k.tr?.enter("handle_irq", "handle_irq(desc, regs)");
  k.tr?.enter("generic_handle_irq_desc", "generic_handle_irq_desc(desc)");
  k.tr?.enter("handle_edge_irq", "desc->handle_irq(desc) = handle_edge_irq(desc)", "MSI-X: edge");
  k.tr?.enter("handle_irq_event", "handle_irq_event(desc)");
  k.tr?.enter("handle_irq_event_percpu", "handle_irq_event_percpu(desc)");
  k.tr?.enter("igb_msix_ring", "action->handler(irq, action->dev_id) = igb_msix_ring(irq, q_vector)");
  napi_schedule(k, rq, ring.napi);
  for (let i = 0; i < 6; i++) k.tr?.exit();
  k.tr?.enter("exiting_irq", "exiting_irq()");
  yield* irq_exit(k, rq);
  k.tr?.exit();
  k.tr?.exit();
}

/** napi_schedule(n): if not already scheduled, put n on this CPU's poll_list and raise NET_RX. */
export function napi_schedule(k: Kernel, rq: Rq, n: NapiStruct): void {
  k.tr?.enter("napi_schedule", "napi_schedule(&q_vector->napi)");
  if (!n.sched) {
    // napi_schedule_prep: test_and_set_bit(NAPI_STATE_SCHED)
    n.sched = true;
    k.tr?.enter("__napi_schedule", "__napi_schedule(n)");
    k.tr?.enter("____napi_schedule", "____napi_schedule(this_cpu_ptr(&softnet_data), n)");
    k.tr?.leaf("list_add_tail(&napi->poll_list, &sd->poll_list)");
    k.softnet[rq.cpu].poll_list.push(n);
    __raise_softirq_irqoff(k, rq, NET_RX_SOFTIRQ); // dev.c:3419, inside ____napi_schedule
    k.tr?.exit();
    k.tr?.exit();
  } else {
    k.tr?.leaf("napi_schedule_prep(n): already scheduled", "no duplicate poll_list entry");
  }
  k.tr?.exit();
}

/** net_rx_action: the NET_RX_SOFTIRQ handler. */
export function* net_rx_action(k: Kernel, rq: Rq): KGen<void> {
  const sd = k.softnet[rq.cpu];
  const time_limit = k.now + 2 * JIFFY_NS;
  let budget = NETDEV_BUDGET;
  k.tr?.enter("net_rx_action", `net_rx_action(h)`, `budget = netdev_budget (${NETDEV_BUDGET})`);
  const list = sd.poll_list.splice(0); // list_splice_init(&sd->poll_list, &list) under irq off
  const repoll: NapiStruct[] = [];
  let early = false;
  for (;;) {
    if (list.length === 0) {
      if (repoll.length === 0) {
        early = true; // nothing left: return without re-raising
        break;
      }
      break;
    }
    const n = list.shift()!;
    budget -= yield* napi_poll(k, n, repoll);
    if (budget <= 0 || k.now >= time_limit) {
      sd.time_squeeze++;
      k.tr?.leaf("budget or time exhausted: sd->time_squeeze++");
      break;
    }
  }
  if (!early) {
    // list_splice_tail_init(&sd->poll_list, &list); list_splice_tail(&repoll, &list); list_splice(&list, &sd->poll_list)
    const rest = [...list, ...sd.poll_list.splice(0), ...repoll];
    sd.poll_list.push(...rest);
    if (sd.poll_list.length > 0) __raise_softirq_irqoff(k, rq, NET_RX_SOFTIRQ);
  }
  k.tr?.exit();
}

/** napi_poll(n, repoll): call n->poll with its weight; a full-weight poll goes back on repoll. */
function* napi_poll(k: Kernel, n: NapiStruct, repoll: NapiStruct[]): KGen<number> {
  k.tr?.enter("napi_poll", "napi_poll(n, &repoll)");
  let work = 0;
  if (n.sched) work = yield* n.poll(k, n, n.weight);
  if (work === n.weight) repoll.push(n); // still busy: stay in polling mode
  k.tr?.exit();
  return work;
}

/** igb_poll: clean up to `budget` RX descriptors; when the ring ran dry, complete and re-arm. */
function* igb_poll(k: Kernel, n: NapiStruct, budget: number): KGen<number> {
  k.tr?.enter("igb_poll", "n->poll(n, weight) = igb_poll(napi, budget)");
  const ring = n.ring!;
  const work = yield* igb_clean_rx_irq(k, ring, budget);
  if (work < budget) {
    k.tr?.leaf("napi_complete_done(napi, work_done); igb_ring_irq_enable(q_vector)", "ring empty: leave polling mode, re-arm the IRQ", "napi_complete_done");
    n.sched = false;
    ring.irqEnabled = true;
    // frames that landed after the last descriptor was read raise the re-armed IRQ at once
    if (ring.skbs.length > 0) k.engine.at(k.now, (r: RxRing) => r.irqEnabled && raiseRxIrq(k, r), ring);
  }
  k.tr?.exit();
  return work;
}

/** igb_clean_rx_irq: per descriptor, build the skb and hand it to the stack (napi_gro_receive). */
function* igb_clean_rx_irq(k: Kernel, ring: RxRing, budget: number): KGen<number> {
  k.tr?.enter("igb_clean_rx_irq", "igb_clean_rx_irq(q_vector, budget)");
  let total = 0;
  while (total < budget) {
    const skb = ring.skbs.shift();
    if (!skb) break; // !igb_test_staterr(rx_desc, E1000_RXD_STAT_DD): ring drained
    yield* burn(k.costs.rxPacket, "softirq");
    ring.rx_packets++;
    k.softnet[k.cpu ? k.cpu.cpu : ring.irqCpu].processed++;
    napi_gro_receive(k, skb);
    total++;
  }
  k.tr?.exit();
  return total;
}

/** napi_gro_receive -> napi_skb_finish(GRO_NORMAL) -> netif_receive_skb_internal -> ... -> ip_rcv. */
export function napi_gro_receive(k: Kernel, skb: SkBuff): void {
  const tr = k.tr;
  if (tr) {
    tr.enter("napi_gro_receive", "napi_gro_receive(&q_vector->napi, skb)");
    tr.enter("napi_skb_finish", "napi_skb_finish(dev_gro_receive(napi, skb), skb)", "GRO_NORMAL");
    tr.enter("netif_receive_skb_internal", "netif_receive_skb_internal(skb)", "书中 3.10: netif_receive_skb");
  }
  __netif_receive_skb(k, skb);
  if (tr) for (let i = 0; i < 3; i++) tr.exit();
}

/** __netif_receive_skb(skb) -> __netif_receive_skb_core -> pt_prev->func = ip_rcv: protocol
 *  delivery, shared by the NIC path (napi_gro_receive) and the backlog's (process_backlog). */
export function __netif_receive_skb(k: Kernel, skb: SkBuff): void {
  const tr = k.tr;
  if (tr) {
    tr.enter("__netif_receive_skb", "__netif_receive_skb(skb)");
    tr.enter("__netif_receive_skb_core", "__netif_receive_skb_core(skb, false)");
    // no packet tap: the last (only) match is called directly (dev.c:4160); deliver_skb runs
    // only for earlier matches
    tr.enter("", "ret = pt_prev->func(skb, skb->dev, pt_prev, orig_dev)", "= ip_rcv (ETH_P_IP, the only match)");
  }
  ip_rcv(k, skb);
  if (tr) for (let i = 0; i < 3; i++) tr.exit();
}
