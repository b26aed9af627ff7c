// tcp_output.ts: TCP segments leaving a socket: the SYN of connect(), data, ACKs, the SYN-ACK.
// Linux 4.6.2: net/ipv4/tcp_output.c (tcp_connect, tcp_transmit_skb, tcp_write_xmit,
// tcp_send_ack; not among the 70 files: read from the same pristine commit, the generator reads them: scripts/gen-lines.mjs PRISTINE_FILES),
// net/ipv4/tcp_ipv4.c (tcp_v4_connect, tcp_v4_send_synack). Book: the send side over `lo`.
//
// Interface:
// * tcp_v4_connect(k, sk, port) (process context, socket locked): route to lo, an ephemeral
//   port (inet_hash_connect), TCP_SYN_SENT, hashed in ehash; tcp_connect sends the SYN.
// * tcp_write_xmit(k, sk): send what sk_write_queue holds beyond snd_nxt while packets_out <
//   snd_cwnd; tcp_transmit_skb -> ip_queue_xmit -> ip_local_out -> lo (ip_output.ts).
// * tcp_send_ack(k, sk), tcp_v4_send_synack(k, req): segments sent from softirq or from TCP
//   processing in a reader's context, with bottom halves off (atomicRun): what they queue on
//   this CPU's backlog runs in the softirq already running, or at the caller's next
//   bottom-half enable (release_sock, after tcp_prequeue_process: bhEnablePoint).
// * tcp_send_fin(k, sk) (generator, tcp_shutdown in process context, bottom halves on): the
//   FIN's NET_RX runs at ip_finish_output2's rcu_read_unlock_bh, inside the call.
// * The receive window: tcp_select_initial_window (the SYN-ACK's), __tcp_select_window (what
//   the buffer allows now), tcp_select_window (never shrink; rcv_wnd, rcv_wup), with
//   include/net/tcp.h's tcp_receive_window, tcp_space, tcp_full_space, tcp_win_from_space.
//   tcpSendAckRemote(k, sk, peer): tcp_send_ack to a host behind eth0: the window is chosen as
//   for a real ACK and the peer (skb->peer, net/peer.ts) is told ack and right edge.
//
// Model vs kernel (documented simplifications):
// * TCP_NODELAY semantics (the probe sets it): no Nagle, no autocorking, no TSQ; one skb per
//   send() of at most one MSS (lo: 65483).
// * Congestion control: a fixed snd_cwnd of 10 segments (TCP_INIT_CWND), never reduced: lo
//   loses nothing, so no retransmission timers, RTO or fast retransmit are modelled.
// * The receiver ACKs every data segment at once (quick-ACK mode); delayed ACKs (ATO, 40 ms
//   minimum) are not modelled. Over lo no window is advertised (no options either) and the
//   sender ignores it; tcp_cleanup_rbuf's window updates go to remote peers only.
// * The window, to remote peers: window scaling on with rcv_wscale 7 (tcp_rmem[2] = 6 MB);
//   icsk_ack.rcv_mss is a full segment (1448), advmss 1460; window_clamp is derived from
//   sk_rcvbuf as tcp_init_buffer_space sets it, and tcp_fixup_rcvbuf's raise of sk_rcvbuf and
//   receive-buffer autotuning (tcp_rcv_space_adjust) are not modelled (sk_rcvbuf stays
//   tcp_rmem[1] = 87380 unless SO_RCVBUF sets it); never under memory pressure.
// * Initial sequence numbers are 0 on both sides (data starts at 1).

import type { Kernel } from "./kernel";
import { charge, holdPayInPlace, OP_BURN, OP_SCHED, type KGen } from "./sched";
import { ip_local_out, type Flowi4 } from "./ip_output";
import { skbAllocTruesize, skb_set_owner_w } from "./sock_wmem";
import { TCP_CLOSE, TCP_SYN_SENT, type SkBuff, type Sock, type TcpRemote } from "./sock";
import { IPPROTO_TCP } from "./socket";
import { tcp_sk, type TcpSock } from "./tcp";
import { ehashKey, loAddrNo, type RequestSock } from "./inet_hashtables";
import { IP_LOCAL_PORT_RANGE } from "./af_inet_send";
import { EADDRNOTAVAIL } from "./errno";
import { isEmptyQueue } from "./list";

/** TCP_INIT_CWND (include/net/tcp.h). */
export const TCP_INIT_CWND = 10;
/** lo's MTU 65536 minus IP and TCP headers (no options): the MSS over lo. */
export const TCP_LO_MSS = 65483;
/** MAX_TCP_HEADER headroom of a TCP skb (4.6 on x86-64: 320 bytes, an estimate). */
const MAX_TCP_HEADER = 320;

// ---- the receive window (tcp_output.c tcp_select_window, include/net/tcp.h) ----

/** tp->advmss of a connection over eth0: dst_metric_advmss, MTU 1500 minus IP and TCP headers. */
export const TCP_ADVMSS = 1460;
/** icsk_ack.rcv_mss, the model's fixed guess of the peer's MSS: a full segment with
 *  timestamps (1460 - TCPOLEN_TSTAMP_ALIGNED), what tcp_measure_rcv_mss settles on for a bulk
 *  sender. Also the mss tcp_openreq_init_rwin rounds the initial window by. */
export const TCP_RCV_MSS = 1448;
/** rx_opt.rcv_wscale: what tcp_select_initial_window picks for sysctl_tcp_rmem[2] = 6 MB
 *  (6291456 >> 7 <= 65535); both ends are Linux, so window scaling is on. */
export const TCP_RCV_WSCALE = 7;
/** sysctl_tcp_rmem[2] (tcp_init on a machine with a few GB): __tcp_grow_window's yardstick. */
export const TCP_RMEM_MAX = 6291456;

/** tcp_win_from_space(space) with sysctl_tcp_adv_win_scale = 1: half of the buffer is
 *  offered as window, the other half is left for skb overhead (truesize beyond the payload). */
export function tcp_win_from_space(space: number): number {
  return space - (space >> 1);
}

/** tcp_space(sk): window for the buffer still free (negative when sk_rmem_alloc is over
 *  sk_rcvbuf; "caller must be prepared to deal with negative returns"). */
export function tcp_space(sk: Sock): number {
  return tcp_win_from_space(sk.sk_rcvbuf - sk.sk_backlog.rmem_alloc);
}

/** tcp_full_space(sk): window for the whole buffer. */
export function tcp_full_space(sk: Sock): number {
  return tcp_win_from_space(sk.sk_rcvbuf);
}

/** tcp_receive_window(tp): what is left of the window last advertised. */
export function tcp_receive_window(tp: TcpSock): number {
  const win = tp.rcv_wup + tp.rcv_wnd - tp.rcv_nxt;
  return win < 0 ? 0 : win;
}

/** tp->window_clamp as tcp_init_buffer_space leaves it (tcp_app_win = 31 changes nothing;
 *  "Force reservation of one segment"): tcp_full_space minus one advmss. MODEL: derived from
 *  the current sk_rcvbuf instead of stored when the connection is established. */
export function tcpWindowClamp(sk: Sock): number {
  const maxwin = tcp_full_space(sk);
  return maxwin > 2 * TCP_ADVMSS ? Math.max(2 * TCP_ADVMSS, maxwin - TCP_ADVMSS) : maxwin;
}

/** tcp_default_init_rwnd(mss) (tcp_output.c): twice TCP_INIT_CWND segments. */
function tcp_default_init_rwnd(mss: number): number {
  return mss > 1460 ? Math.max(Math.floor((1460 * TCP_INIT_CWND * 2) / mss), 2) : TCP_INIT_CWND * 2;
}

/** tcp_select_initial_window(__space, mss, &rcv_wnd, ...) as tcp_openreq_init_rwin calls it for
 *  a passive open (space = tcp_full_space(listener), no window_clamp set, window scaling on):
 *  the rcv_wnd of the SYN-ACK, which is also the child's rcv_wnd and rcv_ssthresh. With the
 *  defaults: min(43690 rounded down to 30 * 1448, 20 * 1448) = 28960. */
export function tcp_select_initial_window(space: number, mss: number): number {
  if (space < 0) space = 0;
  if (space > mss) space = Math.floor(space / mss) * mss; // Quantize space offering to a multiple of mss
  let rcv_wnd = space; // sysctl_tcp_workaround_signed_windows = 0
  if (mss > 1 << TCP_RCV_WSCALE) rcv_wnd = Math.min(rcv_wnd, tcp_default_init_rwnd(mss) * mss);
  return rcv_wnd;
}

/** __tcp_select_window(sk): the window the buffer allows now ("raw": neither the never-shrink
 *  rule nor scaling applied). With window scaling on: zero when less than half of the space is
 *  free and that is below 1/16 of the buffer or one MSS; else the free space, at most
 *  rcv_ssthresh, rounded up to a multiple of 1 << rcv_wscale. MODEL: never under memory
 *  pressure (tcp_under_memory_pressure). */
export function __tcp_select_window(sk: Sock): number {
  const tp = tcp_sk(sk);
  let mss = TCP_RCV_MSS; // icsk->icsk_ack.rcv_mss
  let free_space = tcp_space(sk);
  const allowed_space = tcp_full_space(sk);
  const full_space = Math.min(tcpWindowClamp(sk), allowed_space);
  if (mss > full_space) mss = full_space;
  if (free_space < full_space >> 1) {
    // free_space might become our new window, make sure we don't increase it due to wscale
    free_space &= ~((1 << TCP_RCV_WSCALE) - 1); // round_down
    if (free_space < allowed_space >> 4 || free_space < mss) return 0;
  }
  if (free_space > tp.rcv_ssthresh) free_space = tp.rcv_ssthresh;
  // rx_opt.rcv_wscale != 0: advertise enough space so that it won't get scaled away
  let window = free_space;
  if ((window >> TCP_RCV_WSCALE) << TCP_RCV_WSCALE !== window) window = ((window >> TCP_RCV_WSCALE) + 1) << TCP_RCV_WSCALE;
  return window;
}

/** tcp_select_window(sk): choose the window to advertise, never shrinking the one offered
 *  before; record it (rcv_wnd, rcv_wup = rcv_nxt) and return the header's 16-bit window
 *  field (the window >> rcv_wscale). */
export function tcp_select_window(sk: Sock): number {
  const tp = tcp_sk(sk);
  const cur_win = tcp_receive_window(tp);
  let new_win = __tcp_select_window(sk);
  if (new_win < cur_win) {
    // Never shrink the offered window: ALIGN(cur_win, 1 << rcv_wscale)
    new_win = (cur_win + (1 << TCP_RCV_WSCALE) - 1) & ~((1 << TCP_RCV_WSCALE) - 1);
  }
  tp.rcv_wnd = new_win;
  tp.rcv_wup = tp.rcv_nxt;
  new_win = Math.min(new_win, 65535 << TCP_RCV_WSCALE);
  return new_win >> TCP_RCV_WSCALE; // RFC1323 scaling applied
}

/** tcp_send_ack(sk) to a host behind eth0 (tcp_transmit_skb -> tcp_select_window): the model
 *  puts no ACK on the wire and traces none; the window is chosen (rcv_wnd, rcv_wup) and the
 *  peer, when it reads ACKs (skb->peer), is told their two facts: the cumulative ack and the
 *  right edge of the window, as the sender reads the scaled field. */
export function tcpSendAckRemote(k: Kernel, sk: Sock, peer: TcpRemote | undefined): void {
  const tp = tcp_sk(sk);
  const field = tcp_select_window(sk);
  peer?.onAck(k.now, tp.rcv_nxt, tp.rcv_wup + field * (1 << TCP_RCV_WSCALE));
}

/** Run a transmit path from code that cannot sleep (softirq, or TCP processing with bottom
 *  halves off): its CPU time is charged, softirqs it raises stay pending (bh disabled). */
export function atomicRun<R>(k: Kernel, g: KGen<R>): R {
  const rq = k.cpu!;
  rq.bh_disable_cnt++;
  const restore = holdPayInPlace(); // every burn reaches the loop below, to be charged
  try {
    for (;;) {
      const r = g.next();
      if (r.done) return r.value;
      if (r.value.op === OP_BURN) charge(k, r.value.ns);
      else if (r.value.op === OP_SCHED) throw new Error("atomicRun: a transmit path tried to sleep in atomic context");
    }
  } finally {
    restore();
    rq.bh_disable_cnt--;
  }
}

/** A TCP segment of sk (or of a request sock) to the peer. */
function tcpSkb(k: Kernel, sport: number, dport: number, len: number, seq: number, flags: { syn?: boolean; ack?: boolean; fin?: boolean; rst?: boolean }): SkBuff {
  return {
    len, truesize: skbAllocTruesize(len + MAX_TCP_HEADER), protocol: IPPROTO_TCP, saddr: "127.0.0.1", saddrNo: loAddrNo(k.hash), sport, dport, hash: 0,
    seq, end_seq: seq + len + (flags.syn ? 1 : 0) + (flags.fin ? 1 : 0), syn: !!flags.syn, ack: flags.ack ?? true, fin: !!flags.fin,
    rst: !!flags.rst, tstamp: 0, msgId: -1, used: 0,
    onDrop: undefined, peer: undefined, sk: null, destructor: null, ack_seq: undefined, peeked: false,
  };
}

/** sk_stream_alloc_skb for `len` bytes of data at write_seq (tcp_sendmsg). */
export function tcpDataSkb(k: Kernel, tp: TcpSock, len: number): SkBuff {
  return tcpSkb(k, tp.inet_num, tp.inet_dport, len, tp.write_seq, { ack: true });
}

/** Is this connection over lo (the only place the model's TCP transmits)? */
export function tcpOverLo(sk: Sock): boolean {
  return sk.inet_daddr === "127.0.0.1";
}

function flow(k: Kernel, sk: Sock): Flowi4 {
  return { daddr: "127.0.0.1", saddr: "127.0.0.1", fl4_dport: sk.inet_dport, fl4_sport: sk.inet_num, dev: k.lo! };
}

/** tcp_wfree(skb): the clone left the host (loopback_xmit's skb_orphan): uncharge sk_wmem_alloc. */
function tcp_wfree(k: Kernel, skb: SkBuff): void {
  skb.sk!.sk_wmem_alloc -= skb.truesize;
}

/** ip_queue_xmit(sk, skb, fl): the connection's cached route (lo), the IP header, ip_local_out. */
function* ip_queue_xmit(k: Kernel, sk: Sock, skb: SkBuff): KGen<number> {
  k.tr?.enter("ip_queue_xmit", "icsk->icsk_af_ops->queue_xmit(sk, skb, &inet->cork.fl) = ip_queue_xmit(sk, skb, fl)", "rt = sk->sk_dst_cache (lo); iph->saddr/daddr");
  const r = yield* ip_local_out(k, skb, flow(k, sk));
  k.tr?.exit();
  return r;
}

/** tcp_transmit_skb(sk, skb, clone_it, gfp): clone (clone_it), TCP header, charge
 *  sk_wmem_alloc (skb->destructor = tcp_wfree), ip_queue_xmit. A data clone goes down while the
 *  original stays on sk_write_queue until it is ACKed; a bare ACK (clone_it 0) goes itself,
 *  uncharged (model: its sock_wfree charge of a pure ACK is not modelled). */
function* tcp_transmit_skb(k: Kernel, sk: Sock, skb: SkBuff, cloneIt = true): KGen<number> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_transmit_skb", `tcp_transmit_skb(sk, ${cloneIt ? "skb, 1, gfp" : "buff, 0, (__force gfp_t)0"})`, `seq ${skb.seq}${skb.syn ? " SYN" : ""}${skb.fin ? " FIN" : ""}${skb.len ? ` len ${skb.len}` : ""} ack ${tp.rcv_nxt}`);
  const clone: SkBuff = cloneIt ? { ...skb, ack_seq: tp.rcv_nxt, ack: !skb.syn || sk.sk_state !== TCP_SYN_SENT } : skb;
  if (cloneIt) {
    skb_set_owner_w(k, clone, sk, "atomic_add(skb->truesize, &sk->sk_wmem_alloc);");
    clone.destructor = tcp_wfree; // TSQ's destructor: no sk_write_space (tcp_ack's job for TCP)
  }
  const r = yield* ip_queue_xmit(k, sk, clone);
  k.tr?.exit();
  return r;
}

/** tcp_write_xmit(sk, mss_now, nonagle, push_one, gfp): send queued segments the cwnd allows. */
export function* tcp_write_xmit(k: Kernel, sk: Sock): KGen<number> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_write_xmit", "tcp_write_xmit(sk, mss_now, TCP_NAGLE_OFF, 0, sk->sk_allocation)");
  let sent = 0;
  try {
    for (const skb of tp.sk_write_queue) {
      if (skb.seq < tp.snd_nxt) continue; // sent already (tcp_send_head is past it)
      if (tp.packets_out >= tp.snd_cwnd) {
        k.tr?.leaf(`tcp_cwnd_test(): packets_out ${tp.packets_out} >= snd_cwnd ${tp.snd_cwnd}`, "wait for an ACK");
        break;
      }
      yield* tcp_transmit_skb(k, sk, skb);
      tp.snd_nxt = skb.end_seq; // tcp_event_new_data_sent
      tp.packets_out++;
      sent++;
    }
    return sent;
  } finally {
    k.tr?.exit();
  }
}

/** tcp_send_ack(sk): a bare ACK for rcv_nxt (not queued, not retransmitted). */
export function tcp_send_ack(k: Kernel, sk: Sock): void {
  if (sk.sk_state === TCP_CLOSE) return; // If we have been reset, we may not send again.
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_send_ack", "tcp_send_ack(sk)", `ack ${tp.rcv_nxt}`);
  const buff = tcpSkb(k, sk.inet_num, sk.inet_dport, 0, tp.snd_nxt, { ack: true });
  buff.ack_seq = tp.rcv_nxt;
  atomicRun(k, tcp_transmit_skb(k, sk, buff, false));
  k.tr?.exit();
}

/** tcp_send_fin(sk): a FIN after the queued data (it takes one sequence number). Process
 *  context (tcp_shutdown) with bottom halves on (lock_sock re-enabled them): the outermost
 *  rcu_read_unlock_bh of ip_finish_output2 runs the NET_RX the FIN raised, inside this call. */
export function* tcp_send_fin(k: Kernel, sk: Sock): KGen<void> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_send_fin", "tcp_send_fin(sk)", `seq ${tp.write_seq}`);
  const fin = tcpSkb(k, sk.inet_num, sk.inet_dport, 0, tp.write_seq, { fin: true, ack: true });
  tp.write_seq++;
  if (isEmptyQueue(tp.sk_write_queue)) tp.sk_write_queue = []; // allocated on first use
  tp.sk_write_queue.push(fin); // tcp_queue_skb
  tp.sk_wmem_queued += fin.truesize;
  yield* tcp_write_xmit(k, sk); // __tcp_push_pending_frames(sk, mss_now, TCP_NAGLE_OFF)
  k.tr?.exit();
}

/** tcp_v4_send_synack(sk, dst, fl, req, ...): the SYN-ACK of a local connection, over lo. */
export function tcp_v4_send_synack(k: Kernel, req: RequestSock): void {
  k.tr?.enter("tcp_v4_send_synack", "af_ops->send_synack(sk, dst, &fl, req, &foc, false) = tcp_v4_send_synack(sk, dst, fl, req, foc, attach_req)", "tcp_make_synack");
  const skb = tcpSkb(k, req.dport, req.sport, 0, 0, { syn: true, ack: true });
  skb.ack_seq = req.rcv_isn + 1;
  const fl4: Flowi4 = { daddr: req.saddr, saddr: "127.0.0.1", fl4_dport: req.sport, fl4_sport: req.dport, dev: k.lo! };
  k.tr?.enter("ip_build_and_send_pkt", "ip_build_and_send_pkt(skb, sk, ireq->ir_loc_addr, ireq->ir_rmt_addr, ireq->opt)", "the IP header");
  atomicRun(k, ip_local_out(k, skb, fl4));
  k.tr?.exit();
  k.tr?.exit();
}

/** tcp_v4_connect(sk, uaddr, addr_len): route, port, SYN_SENT, hash, tcp_connect. */
export function* tcp_v4_connect(k: Kernel, sk: Sock, port: number): KGen<number> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_v4_connect", `sk->sk_prot->connect(sk, uaddr, addr_len) = tcp_v4_connect(sk, {127.0.0.1:${port}})`);
  try {
    k.tr?.leaf("rt = ip_route_connect(fl4, nexthop, inet->inet_saddr, ...)", "127.0.0.1: dst->dev = lo", "ip_route_connect");
    sk.inet_daddr = "127.0.0.1";
    sk.inet_dport = port;
    sk.sk_state = TCP_SYN_SENT; // tcp_set_state(sk, TCP_SYN_SENT)
    // inet_hash_connect: the first free ephemeral port, then __inet_hash_connect hashes us
    let lport = 0;
    for (let p = Math.max(IP_LOCAL_PORT_RANGE[0], k.ephemeralFrom); p <= IP_LOCAL_PORT_RANGE[1] && !lport; p++) {
      if (!k.tcpPorts.has(p) && !k.hash.ehash.has(ehashKey(k.hash, "127.0.0.1", port, p))) lport = p;
    }
    if (lport) k.ephemeralFrom = lport + 1; // the ports before it are all in tcpPorts, for good
    if (!lport) {
      sk.sk_state = TCP_CLOSE;
      return -EADDRNOTAVAIL;
    }
    sk.inet_num = lport;
    k.tcpPorts.add(lport);
    k.hash.ehash.set(ehashKey(k.hash, "127.0.0.1", port, lport), sk);
    k.tr?.leaf(`inet_hash_connect(&tcp_death_row, sk): inet_num = ${lport}`, "TCP_SYN_SENT, hashed in ehash", "inet_hash_connect");
    return yield* tcp_connect(k, tp);
  } finally {
    k.tr?.exit();
  }
}

/** tcp_connect(sk): queue the SYN (it counts as sent data until ACKed) and transmit it. */
function* tcp_connect(k: Kernel, tp: TcpSock): KGen<number> {
  k.tr?.enter("tcp_connect", "tcp_connect(sk)", "tcp_connect_init; tcp_init_nondata_skb(buff, tp->write_seq++, TCPHDR_SYN)");
  const buff = tcpSkb(k, tp.inet_num, tp.inet_dport, 0, 0, { syn: true, ack: false });
  tp.write_seq = 1;
  tp.snd_una = 0;
  if (isEmptyQueue(tp.sk_write_queue)) tp.sk_write_queue = []; // allocated on first use
  tp.sk_write_queue.push(buff); // tcp_connect_queue_skb
  tp.sk_wmem_queued += buff.truesize;
  yield* tcp_transmit_skb(k, tp, buff);
  tp.snd_nxt = tp.write_seq;
  tp.packets_out++;
  k.tr?.exit();
  return 0;
}
