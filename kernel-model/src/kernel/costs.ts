// costs.ts: what each modelled step costs in CPU time, with the source of every default.
// No Linux file: these are the timing model's parameters. Book: §3.3.3, §3.5 (the numbers).
//
// Interface:
// * DEFAULT_COSTS: the defaults below; makeCosts(partial) overrides some of them.
// * A probe of the real kernel (npm run probe) can supply ctxSwitch, syscall, wakeup, ipi and
//   idleExit (scenarios/calibrate.ts: costsFromProbe).
// * ipi and idleExit are latencies, not CPU time: nobody burns them. They delay the moment the
//   woken task's CPU notices the reschedule (sched.ts: resched_curr's remote path).
//
// Model vs kernel: a real kernel's costs vary with cache state, CPU frequency and load; the
// model charges a fixed number of ns per step. Sources are reference/kernel-ch3.md §6 unless
// marked "model estimate" (no published number; calibrate with the probe).

export interface Costs {
  /** One process context switch (__schedule -> context_switch). */
  ctxSwitch: number;
  /** Syscall entry + exit (the two halves are charged separately, half each). */
  syscall: number;
  /** try_to_wake_up: select_task_rq, enqueue, check_preempt_curr. */
  wakeup: number;
  /** Hard IRQ: do_IRQ -> igb_msix_ring -> napi_schedule -> irq_exit. */
  hardirq: number;
  /** One softirq run (__do_softirq -> net_rx_action) excluding per-packet work. */
  softirqEntry: number;
  /** Per packet in NET_RX: igb_clean_rx_irq -> napi_gro_receive -> ip_rcv -> tcp_v4_rcv/udp_rcv. */
  rxPacket: number;
  /** Copying received payload to user space, per byte (skb_copy_datagram_msg). */
  copyPerByte: number;
  /** The protocol's recvmsg path excluding the copy (lock_sock, queue walk, release_sock). */
  recvmsg: number;
  /** TCP processing of one segment (tcp_v4_do_rcv -> tcp_rcv_established), in softirq or, via
   *  the prequeue or the backlog, in the reader's process context. */
  tcpSegment: number;
  /** UDP processing of one datagram (__udp4_lib_rcv -> sock_queue_rcv_skb). */
  udpDatagram: number;
  /** socket(): sock_alloc + inet_create + sk_alloc + sock_map_fd. */
  socketCreate: number;
  /** One epoll_ctl (rb-tree walk, ep_insert/ep_modify/ep_remove, one ->poll()). */
  epollCtl: number;
  /** epoll_wait fixed part (ep_poll bookkeeping, ep_scan_ready_list). */
  epollWait: number;
  /** epoll_wait per delivered event (ep_item_poll re-check + copy to user). */
  epollEvent: number;
  /** ep_poll_callback in softirq (adds the epitem to rdllist, wakes ep->wq). */
  epollCallback: number;
  /** poll()/select() per fd per scan: fdget + f_op->poll + the mask (do_pollfd). */
  pollFd: number;
  /** poll()/select() per registration: __pollwait (poll_get_entry, get_file, add_wait_queue)
   *  and its undoing in poll_freewait (remove_wait_queue, fput). */
  pollWait: number;
  /** The protocol's sendmsg excluding the copy (udp_sendmsg: route, ip_make_skb, headers). */
  sendmsg: number;
  /** Per packet on the way down: ip_local_out -> ip_output -> dev_queue_xmit -> loopback_xmit -> netif_rx. */
  txPacket: number;
  /** Per packet in process_backlog (__netif_receive_skb -> ip_rcv), the loopback receive: no driver. */
  backlogPacket: number;
  /** The reschedule IPI's delivery, waker -> target CPU (resched_curr -> smp_send_reschedule ->
   *  scheduler_ipi). A latency: the target's schedule() starts this much later. */
  ipi: number;
  /** Leaving the idle state (HLT, mwait; in a VM a VM exit and the host rescheduling the vCPU)
   *  when the IPI finds its target CPU idle. A latency on top of ipi. */
  idleExit: number;
}

export const DEFAULT_COSTS: Readonly<Costs> = {
  ctxSwitch: 3500, // book §3.3.3: 3-5 µs per switch; author's pipe ping-pong test ≈3.5 µs
  syscall: 200, // "系统调用开销是200ns起步" (author's syscall-cost article)
  wakeup: 500, // model estimate: try_to_wake_up + enqueue_task on an idle or busy runqueue
  hardirq: 600, // model estimate: MSI-X vector entry, igb_msix_ring, irq_exit
  softirqEntry: 400, // with rxPacket + tcpSegment: ≈3.4 µs per one-packet softirq, the author's
  rxPacket: 2000, // measurement (16-core box, 1.2% si at 56,000 softirq/s: "软中断会吃掉你多少CPU")
  copyPerByte: 0.1, // model estimate: ~10 GB/s copy_to_user
  recvmsg: 300, // model estimate
  tcpSegment: 1000, // model estimate: tcp_v4_do_rcv -> tcp_rcv_established fast path
  udpDatagram: 1000, // model estimate
  socketCreate: 2000, // model estimate
  epollCtl: 400, // model estimate
  epollWait: 300, // model estimate
  epollEvent: 100, // model estimate: one tcp_poll + two __put_user
  epollCallback: 200, // model estimate
  pollFd: 100, // model estimate: one ->poll, as epollEvent's re-check
  pollWait: 100, // model estimate: two list operations under the queue's spinlock + a refcount pair
  sendmsg: 500, // model estimate
  txPacket: 700, // model estimate
  backlogPacket: 800, // model estimate: rxPacket without igb_clean_rx_irq's descriptor and skb build
  // The book's model has neither: 0 by default, so a run without a probe is the book's. This
  // machine (2 vCPUs, Firecracker VM, Linux 6.18) measures both: the committed probe reference
  // (scripts/probe/reference.json, quiet, 2026-11-25) has their sum, a wakeup on the other, idle
  // CPU p50 21.4 µs minus one on the same CPU 3.1 µs = 18.2 µs; the newer probe's wakeup to the
  // other CPU kept busy splits it (2026-12-01, every run disturbed by other load; median of five
  // runs, busy minus same CPU: 11.2 µs of IPI, so about 7 µs of idle exit). Bare metal is faster
  // (an IPI in about 1 µs, C1 exit in a few µs, deep C-states 100 µs and more). `--calibrate
  // PROBE.json` and `compare` take them from a probe (costsFromProbe).
  ipi: 0,
  idleExit: 0,
};

/** Defaults with some fields replaced, e.g. from a probe calibration. */
export function makeCosts(over: Partial<Costs> = {}): Costs {
  const c = { ...DEFAULT_COSTS, ...over };
  for (const [k, v] of Object.entries(c)) {
    if (!(typeof v === "number" && v >= 0 && Number.isFinite(v))) {
      throw new RangeError(`costs.${k} must be a non-negative number of ns, got ${v}`);
    }
  }
  return c;
}
