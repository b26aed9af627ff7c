// peer.ts: the other end of the wire: remote hosts that open TCP connections and send data.
// No Linux file: these are the machines the book's server talks to; the sender side follows
// net/ipv4/tcp_output.c (tcp_write_xmit's window and cwnd tests), tcp_input.c (tcp_ack,
// tcp_cong_avoid), tcp_cong.c (Reno) and tcp_timer.c (tcp_retransmit_timer). Book: §3.3-§3.5.
//
// Interface:
// * new TcpPeer(k, {dport, saddr?, sport?, rtt?, flowControl?}): peer.connect(at) sends a SYN
//   that reaches the NIC at `at`; when the model's SYN-ACK leaves, the peer's ACK arrives one RTT
//   later, then any data sent meanwhile. peer.send(bytes, at, msgId) cuts bytes into MSS-sized
//   segments the application hands over so that, unhindered, they reach the NIC at `at` (or
//   right after the handshake); peer.close(at) (or shutdownWrite) sends a FIN: a half-close, the
//   model's socket sees EOF; peer.reset(at) sends a RST.
// * A sender as TCP is one (flowControl, the default): a segment leaves only if it fits the
//   receiver's window and the congestion window, snd_nxt + len <= min(tcp_wnd_end, ...) with
//   packets in flight < snd_cwnd (TCP_INIT_CWND = 10 at first; Reno slow start and congestion
//   avoidance on ACKs, while cwnd-limited). A segment that may not go waits here, in order, and
//   leaves when an ACK opens the window, so an overload shows up as latency, not drops.
// * What the model's socket would ACK to this host (rcv_nxt and the window's right edge
//   rcv_wup + rcv_wnd, tcp_output.ts tcpSendAckRemote) reaches it through onAck, and counts
//   for segments reaching our NIC one RTT after the ACK left (rtt/2 back, rtt/2 forward). No
//   engine event is spent on an ACK: the peer keeps the ACKs of the last RTT and reads them when
//   its next segment is due; only a peer that is held back schedules one event, for the ACK
//   that may release it.
// * A segment the model drops (ring, backlog or receive buffer full: skb->onDrop) is found out
//   when the retransmission timer fires: one timer per connection, armed at the first drop for
//   icsk_rto (TCP_RTO_MIN, doubled per timeout, icsk_backoff, until new data is ACKed). The
//   timeout enters loss as tcp_enter_loss does (ssthresh = max(cwnd / 2, 2) once per loss
//   episode, cwnd = 1, what was dropped is marked lost), sends the first lost segment again at
//   once, and the others before new data as ACKs open the cwnd (slow start). With flowControl
//   false the peer is the open-loop sender of old: every segment at its time, a dropped one
//   sent again TCP_RTO_MIN later, nothing else.
// * udpSend(k, {dport, bytes, at, ...}) sends one datagram (no retransmission: UDP).
//
// Model vs kernel: the wire has no loss, reordering or bandwidth limit (a window's worth of
// segments leaves back to back); `at` is the time a frame reaches our NIC. At a timeout the
// sender knows exactly which segments were dropped and takes every other one sent so far as
// SACKed (the receiver holds it), so only dropped segments are sent again; no fast retransmit,
// no RTT estimation (icsk_rto starts at TCP_RTO_MIN, what a 100 us path gives), no zero-window
// probes (the window update is never lost), no restart after idle, no Nagle or coalescing of
// queued messages (each send() keeps its own segments, so messages stay countable).

import type { Kernel } from "../kernel/kernel";
import { nicRx } from "../kernel/dev";
import { skbTruesize, type SkBuff, type TcpRemote } from "../kernel/sock";
import { IPPROTO_TCP, IPPROTO_UDP } from "../kernel/socket";
import { ehashAddr } from "../kernel/inet_hashtables";
import { TCP_INIT_CWND } from "../kernel/tcp_output";

/** Ethernet MTU 1500 minus IP and TCP headers with timestamps: the usual MSS on the wire. */
export const TCP_MSS = 1448;
/** TCP_RTO_MIN (include/net/tcp.h): 200 ms, the earliest retransmission. */
export const TCP_RTO_MIN = 200_000_000;
/** TCP_RTO_MAX (include/net/tcp.h): 120 s, the longest a backed-off RTO grows. */
export const TCP_RTO_MAX = 120_000_000_000;
/** TCP_TIMEOUT_INIT: 1 s, the first SYN retransmission. */
export const TCP_TIMEOUT_INIT = 1_000_000_000;
/** TCP_INFINITE_SSTHRESH (include/net/tcp.h): slow start until the first loss. */
export const TCP_INFINITE_SSTHRESH = 0x7fffffff;

/** A stable 32-bit hash of a flow (stands in for the NIC's Toeplitz RSS hash): FNV-1a of the
 *  text "saddr:sport:dport", computed without building the text. */
export function flowHash(saddr: string, sport: number, dport: number): number {
  let h = 2166136261;
  for (let i = 0; i < saddr.length; i++) h = Math.imul(h ^ saddr.charCodeAt(i), 16777619);
  h = fnvDecimal(Math.imul(h ^ 58, 16777619), sport); // ':'
  h = fnvDecimal(Math.imul(h ^ 58, 16777619), dport);
  return h >>> 0;
}

/** FNV-1a over the decimal digits of a non-negative integer, most significant first. */
function fnvDecimal(h: number, n: number): number {
  let d = 1;
  while (d * 10 <= n) d *= 10;
  for (; d >= 1; d /= 10) h = Math.imul(h ^ (48 + (Math.floor(n / d) % 10)), 16777619);
  return h;
}

/** A frame from a remote host. onDrop and peer are in the literal, so setting them later (every
 *  TCP frame has them) adds no out-of-object property store. */
function newSkb(proto: number, saddr: string, saddrNo: number, sport: number, dport: number, len: number, msgId: number, hash = flowHash(saddr, sport, dport)): SkBuff {
  return {
    len, truesize: skbTruesize(len), protocol: proto, saddr, saddrNo, sport, dport, hash,
    seq: 0, end_seq: 0, syn: false, ack: true, fin: false, rst: false, tstamp: 0, msgId, used: 0, onDrop: undefined, peer: undefined,
    sk: null, destructor: null, ack_seq: undefined, peeked: false,
  };
}

export interface TcpPeerOptions {
  dport: number;
  saddr?: string;
  sport?: number;
  /** Round-trip time to this host, ns (default 100 µs: a data-centre network). */
  rtt?: number;
  /** Send as TCP does, within the receiver's window and a congestion window (default true);
   *  false: every segment at its time whatever the receiver can take (the open-loop peer). */
  flowControl?: boolean;
}

/** States of a segment in TcpPeer's retransmission queue (TCP_SKB_CB(skb)->sacked). */
const RTX_FLIGHT = 0;
const RTX_SACKED = 1;
const RTX_LOST = 2;
const RTX_RETRANS = 3;

/** A remote TCP client of the modelled server. */
export class TcpPeer implements TcpRemote {
  readonly saddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly rtt: number;
  readonly flowControl: boolean;
  /** The flow's RSS hash, the same for every frame of the connection. */
  readonly hash: number;
  /** Model: this host's address as numbered in the server's ehash keys (SkBuff.saddrNo). */
  readonly saddrNo: number;
  /** Time the peer's handshake ACK reaches us (Infinity until the SYN-ACK left). */
  establishedAt = Infinity;
  /** Sequence number of the next byte the application hands over (data starts at 1: ISN 0). */
  write_seq = 1;
  /** Oldest byte not yet ACKed, and the next one to transmit, as far as this host knows. */
  snd_una = 1;
  snd_nxt = 1;
  /** tcp_wnd_end(tp): the right edge of the receiver's window (the SYN-ACK's, then each ACK's). */
  snd_wnd_end = 1;
  /** The congestion window (segments in flight), slow-start threshold and the count of ACKed
   *  segments towards the next increase in congestion avoidance (snd_cwnd_cnt). */
  snd_cwnd = TCP_INIT_CWND;
  snd_ssthresh = TCP_INFINITE_SSTHRESH;
  snd_cwnd_cnt = 0;
  /** tcp_enter_loss: snd_nxt at the timeout; the loss episode lasts until snd_una passes it. */
  high_seq = 1;
  /** icsk_backoff: how many times the RTO has doubled since new data was last ACKed. */
  icsk_backoff = 0;
  /** Payload bytes handed to send(); segments sent again (TcpRetransSegs). */
  bytesSent = 0;
  retransmits = 0;
  /** Segments that had to wait here for the window or cwnd, and how often the sender went from
   *  sending to waiting. */
  delayed = 0;
  stalls = 0;
  private held: { skb: SkBuff; at: number }[] = [];
  /** The retransmission queue: end_seq of every segment sent and not yet ACKed, in sequence
   *  order (packets_out = its length), and each one's state: in flight, SACKed, lost, or sent
   *  again (RTX_*). sacked_out and lost_out count the second and third. */
  private rtxq: number[] = [];
  private rtxState: number[] = [];
  private rtxHead = 0;
  private rtxTail = 0; // the arrays are reused, not truncated: entries rtxHead..rtxTail-1
  private sacked_out = 0;
  private lost_out = 0;
  /** Segments the model dropped, not yet known lost here (the retransmission timer tells). */
  private dropq: SkBuff[] = [];
  /** Segments known lost (marked at the timeout, tcp_enter_loss), to send again before new
   *  data as the cwnd allows, in sequence order: lost_out is its length. */
  private lostq: SkBuff[] = [];
  /** New segments held back by the window or cwnd, oldest first. */
  private sendq: SkBuff[] = [];
  private sendHead = 0;
  /** ACKs on their way here: (time they left, ack, edge) triples, oldest first. */
  private acks: number[] = [];
  private ackHead = 0;
  private ackTail = 0; // reused like the retransmission queue
  /** When the scheduled pump, and the retransmission timer, run (Infinity: not scheduled). */
  private pumpAt = Infinity;
  private rtoAt = Infinity;
  /** The frame reaches our NIC (one closure per peer, not per frame). */
  private readonly rx = (s: SkBuff) => nicRx(this.k, s);
  // The events of a peer that reads the window call static methods with the peer or the skb
  // (skb->peer) as argument: no closure per peer.
  private static gate(skb: SkBuff): void {
    (skb.peer as TcpPeer).due(skb);
  }
  private static pump(p: TcpPeer): void {
    p.pumpQueue();
  }
  private static dropped(k: Kernel, skb: SkBuff): void {
    (skb.peer as TcpPeer).onDropped(skb);
  }
  private static rtoFire(p: TcpPeer): void {
    p.tcp_retransmit_timer();
  }
  private static rstGate(skb: SkBuff): void {
    (skb.peer as TcpPeer).sendReset(skb);
  }

  constructor(readonly k: Kernel, o: TcpPeerOptions) {
    const n = k.nextPeer++;
    this.saddr = o.saddr ?? `10.0.${(n >> 8) & 255}.${(n & 255) + 2}`;
    this.sport = o.sport ?? 40000 + (n % 20000);
    this.dport = o.dport;
    this.rtt = o.rtt ?? 100_000;
    this.flowControl = o.flowControl ?? true;
    this.hash = flowHash(this.saddr, this.sport, this.dport);
    this.saddrNo = ehashAddr(k.hash, this.saddr);
  }

  /** Segments sent and not yet ACKed, as far as this host knows (packets_out). */
  get packets_out(): number {
    return this.rtxTail - this.rtxHead;
  }

  /** tcp_packets_in_flight: packets_out - (sacked_out + lost_out) + retrans_out: what is on
   *  the wire, as far as this host knows. */
  get in_flight(): number {
    return this.rtxTail - this.rtxHead - this.sacked_out - this.lost_out;
  }

  /** Segments waiting here: new ones held back by the windows, and lost ones to send again. */
  get queued(): number {
    return this.sendq.length - this.sendHead + this.lostq.length;
  }

  /** Send the SYN, reaching the NIC at `at`. */
  connect(at: number): this {
    const syn = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    syn.syn = true;
    syn.ack = false;
    syn.seq = 0;
    syn.end_seq = 1;
    syn.peer = this;
    this.transmit(syn, at, TCP_TIMEOUT_INIT);
    return this;
  }

  /** TcpRemote: the model's SYN-ACK left at t, offering rcv_wnd. Called by tcp_v4_conn_request. */
  onSynAck(t: number, rcv_wnd: number): void {
    this.establishedAt = t + this.rtt;
    this.snd_wnd_end = this.snd_una + Math.min(rcv_wnd, 65535); // a SYN-ACK's window is never scaled
    const ack = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    ack.seq = ack.end_seq = 1;
    this.transmit(ack, this.establishedAt);
    for (const h of this.held.splice(0)) this.enqueue(h.skb, h.at);
  }

  /** TcpRemote: an ACK for rcv_nxt = ack, window up to `edge`, left the model's socket at t (now).
   *  Recorded, not scheduled: it counts from t + rtt on (read lazily by learn). Only a sender
   *  that waits schedules a pump for it. */
  onAck(t: number, ack: number, edge: number): void {
    const q = this.acks;
    const n = this.ackTail;
    if (n > this.ackHead && q[n - 3] === t) {
      q[n - 2] = ack; // several ACKs in one instant: the newest says it all
      q[n - 1] = edge;
    } else {
      q[n] = t;
      q[n + 1] = ack;
      q[n + 2] = edge;
      this.ackTail = n + 3;
    }
    if (this.ackTail - this.ackHead > 48) this.learn(t); // take in what is known by now: bounded
    if (this.pumpAt === Infinity && this.waiting()) this.armPump(t + this.rtt);
  }

  /** The frame of an open-loop peer, or a SYN or handshake ACK: to the NIC at `at`; a drop is
   *  sent again `rto` later. */
  private transmit(skb: SkBuff, at: number, rto = TCP_RTO_MIN): void {
    if (at === Infinity) {
      this.held.push({ skb, at });
      return;
    }
    skb.onDrop = (k, s) => {
      // retransmission after an RTO: the same bytes (or SYN), a new frame
      this.retransmits++;
      const again = { ...s, onDrop: undefined, tstamp: 0 };
      this.transmit(again, k.now + rto, rto);
    };
    this.k.engine.at(at, this.rx, skb);
  }

  /** A segment (data, FIN, or a RST held for the handshake) the application handed over, due at
   *  `at` or once the connection is established. */
  private enqueue(skb: SkBuff, at: number): void {
    if (this.establishedAt === Infinity) {
      this.held.push({ skb, at });
      return;
    }
    at = Math.max(at, this.establishedAt);
    if (!this.flowControl) this.transmit(skb, at);
    else if (skb.rst) {
      skb.peer = this;
      this.k.engine.at(at, TcpPeer.rstGate, skb);
    } else {
      skb.peer = this;
      skb.onDrop = TcpPeer.dropped;
      this.k.engine.at(at, TcpPeer.gate, skb);
    }
  }

  /** Something waits here: lost segments to send again, or new ones held back. */
  private waiting(): boolean {
    return this.lostq.length > 0 || this.sendHead < this.sendq.length;
  }

  /** The segment is due (now): it leaves if nothing waits before it and it fits
   *  (tcp_write_xmit: tcp_snd_wnd_test, tcp_cwnd_test), else it waits here. */
  private due(skb: SkBuff): void {
    if (this.waiting()) {
      this.hold(skb); // behind segments already waiting: in order
      return;
    }
    this.learn(this.k.now);
    if (this.fits(skb)) {
      this.inFlight(skb);
      nicRx(this.k, skb); // last: the NIC's IRQ may run the CPU on (sched.ts fastBurn)
    } else {
      this.stalls++;
      this.hold(skb);
      this.armPump(this.nextAckKnown());
    }
  }

  /** tcp_snd_wnd_test and tcp_cwnd_test for a new segment. */
  private fits(skb: SkBuff): boolean {
    return skb.end_seq <= this.snd_wnd_end && this.in_flight < this.snd_cwnd;
  }

  private hold(skb: SkBuff): void {
    this.sendq.push(skb);
    this.delayed++;
  }

  /** The segment is transmitted (it reaches our NIC now): in flight until ACKed. */
  private inFlight(skb: SkBuff): void {
    if (skb.end_seq > this.snd_nxt) this.snd_nxt = skb.end_seq;
    const q = this.rtxq, st = this.rtxState;
    let i = this.rtxTail++;
    q[i] = skb.end_seq;
    st[i] = RTX_FLIGHT;
    while (i > this.rtxHead && q[i - 1] > skb.end_seq) {
      q[i] = q[i - 1]; // a segment due earlier than one before it in sequence: keep seq order
      st[i] = st[i - 1];
      q[--i] = skb.end_seq;
      st[i] = RTX_FLIGHT;
    }
  }

  /** Where the segment ending at end_seq is in the retransmission queue (-1: not there). */
  private rtxIndex(end_seq: number): number {
    const q = this.rtxq;
    let lo = this.rtxHead, hi = this.rtxTail;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (q[mid] < end_seq) lo = mid + 1;
      else hi = mid;
    }
    return lo < this.rtxTail && q[lo] === end_seq ? lo : -1;
  }

  /** When the oldest ACK still on its way becomes known here (Infinity: none is). */
  private nextAckKnown(): number {
    return this.ackHead < this.ackTail ? this.acks[this.ackHead] + this.rtt : Infinity;
  }

  /** Make sure a pump runs at `t` (unless one runs earlier). */
  private armPump(t: number): void {
    if (t < this.pumpAt) {
      this.pumpAt = t;
      this.k.engine.at(t, TcpPeer.pump, this);
    }
  }

  private pumpQueue(): void {
    if (this.k.now !== this.pumpAt) return; // superseded by an earlier pump
    this.pumpAt = Infinity;
    this.learn(this.k.now);
    this.xmitWaiting(null);
  }

  /** tcp_xmit_retransmit_queue, then tcp_write_xmit: send lost segments again, then new ones,
   *  while they fit; if something still waits, a pump runs when the next ACK is known. `first`
   *  (the timeout's retransmission) goes first whatever the cwnd. The first segment reaches the
   *  NIC in this event, as its last action (the NIC's IRQ may run the CPU on: sched.ts
   *  fastBurn); the others in events of their own at the same time, in order. */
  private xmitWaiting(first: SkBuff | null): void {
    const now = this.k.now;
    const lost = this.lostq;
    let n = 0;
    while (n < lost.length && (lost[n].end_seq <= this.snd_una || this.in_flight < this.snd_cwnd)) {
      const skb = lost[n++];
      if (skb.end_seq <= this.snd_una) continue; // ACKed meanwhile
      this.markRetrans(skb); // in flight again: in_flight grows by one
      this.retransmits++;
      if (first) this.k.engine.at(now, this.rx, skb);
      else first = skb;
    }
    if (n > 0) lost.splice(0, n);
    const q = this.sendq;
    if (lost.length === 0) {
      while (this.sendHead < q.length && this.fits(q[this.sendHead])) {
        const skb = q[this.sendHead];
        q[this.sendHead++] = undefined as unknown as SkBuff;
        this.inFlight(skb);
        if (first) this.k.engine.at(now, this.rx, skb);
        else first = skb;
      }
      if (this.sendHead === q.length) {
        q.length = 0;
        this.sendHead = 0;
      }
    }
    if (this.waiting()) this.armPump(this.nextAckKnown());
    if (first) nicRx(this.k, first);
  }

  /** Take in the ACKs known at time T: those that left the model at most one RTT ago. */
  private learn(T: number): void {
    const q = this.acks;
    let h = this.ackHead;
    const n = this.ackTail;
    if (h === n || q[h] + this.rtt > T) return;
    do {
      this.tcp_ack(q[h + 1], q[h + 2]);
      h += 3;
    } while (h < n && q[h] + this.rtt <= T);
    if (h === n) {
      this.ackTail = h = 0;
    } else if (h >= 96 && 2 * h >= n) {
      q.copyWithin(0, h, n);
      this.ackTail = n - h;
      h = 0;
    }
    this.ackHead = h;
  }

  /** tcp_ack at this host: newly ACKed segments leave the flight (and reset the RTO's
   *  backoff), the cwnd grows, the window's right edge moves. */
  private tcp_ack(ack: number, edge: number): void {
    if (ack > this.snd_una) {
      const q = this.rtxq, st = this.rtxState;
      const inFlight = this.in_flight;
      const n = this.rtxTail;
      let h = this.rtxHead;
      if (this.sacked_out === 0 && this.lost_out === 0) {
        while (h < n && q[h] <= ack) h++; // no loss: every entry is in flight (or sent again)
      } else {
        for (; h < n && q[h] <= ack; h++) {
          if (st[h] === RTX_SACKED) this.sacked_out--;
          else if (st[h] === RTX_LOST) this.lost_out--;
        }
      }
      const acked = h - this.rtxHead;
      if (h === n) {
        this.rtxTail = h = 0;
      } else if (h >= 64 && 2 * h >= n) {
        q.copyWithin(0, h, n);
        st.copyWithin(0, h, n);
        this.rtxTail = n - h;
        h = 0;
      }
      this.rtxHead = h;
      this.snd_una = ack;
      this.icsk_backoff = 0; // tcp_ack_update_rtt: a valid RTT sample resets the backoff
      if (acked > 0) this.tcp_reno_cong_avoid(acked, inFlight);
    }
    if (edge > this.snd_wnd_end) this.snd_wnd_end = edge; // tcp_ack_update_window
  }

  /** tcp_reno_cong_avoid(sk, ack, acked): only while cwnd-limited (tcp_is_cwnd_limited: in slow
   *  start while cwnd < 2 * packets in flight, after it while the flight filled the cwnd);
   *  slow start adds a segment per ACKed segment up to ssthresh, congestion avoidance one per
   *  cwnd's worth (tcp_cong_avoid_ai). */
  private tcp_reno_cong_avoid(acked: number, inFlight: number): void {
    const slowStart = this.snd_cwnd < this.snd_ssthresh;
    if (slowStart ? this.snd_cwnd >= 2 * inFlight : inFlight < this.snd_cwnd) return;
    if (slowStart) {
      const cwnd = Math.min(this.snd_cwnd + acked, this.snd_ssthresh); // tcp_slow_start
      acked -= cwnd - this.snd_cwnd;
      this.snd_cwnd = cwnd;
      if (!acked) return;
    }
    this.snd_cwnd_cnt += acked;
    if (this.snd_cwnd_cnt >= this.snd_cwnd) {
      const delta = Math.floor(this.snd_cwnd_cnt / this.snd_cwnd);
      this.snd_cwnd_cnt -= delta * this.snd_cwnd;
      this.snd_cwnd += delta;
    }
  }

  /** The model dropped a segment (skb->onDrop). This host learns it when its retransmission
   *  timer fires: armed now if it is not (inet_csk_reset_xmit_timer), icsk_rto later. */
  private onDropped(s: SkBuff): void {
    this.dropq.push({ ...s, tstamp: 0 }); // the same bytes, a new frame when sent again
    if (this.rtoAt === Infinity) {
      this.rtoAt = this.k.now + Math.min(TCP_RTO_MIN * 2 ** this.icsk_backoff, TCP_RTO_MAX);
      this.k.engine.at(this.rtoAt, TcpPeer.rtoFire, this);
    }
  }

  /** tcp_retransmit_timer: tcp_enter_loss (ssthresh = max(cwnd / 2, 2) unless this loss episode
   *  already cut it; cwnd = 1; what was dropped is now known lost), the RTO doubles, and the
   *  first lost segment goes again at once (tcp_retransmit_skb); the rest follow as ACKs open
   *  the cwnd (slow start). */
  private tcp_retransmit_timer(): void {
    this.rtoAt = Infinity;
    this.learn(this.k.now);
    const dropped = this.dropq.splice(0);
    if (dropped.length === 0) return;
    if (this.snd_una >= this.high_seq) this.snd_ssthresh = Math.max(this.snd_cwnd >> 1, 2); // tcp_reno_ssthresh
    this.high_seq = this.snd_nxt;
    this.snd_cwnd = 1;
    this.snd_cwnd_cnt = 0;
    this.icsk_backoff++;
    // tcp_enter_loss marks what was not SACKed lost; the model's sender knows exactly what was
    // dropped, and takes every other segment sent so far as SACKed (the receiver holds it)
    const q = this.rtxq, st = this.rtxState;
    for (let i = this.rtxHead; i < this.rtxTail; i++) if (st[i] !== RTX_SACKED && st[i] !== RTX_LOST) {
      st[i] = RTX_SACKED;
      this.sacked_out++;
    }
    const lost = this.lostq;
    for (const skb of dropped) {
      const r = this.rtxIndex(skb.end_seq);
      if (r < 0 || st[r] === RTX_LOST) continue; // ACKed meanwhile, or lost twice
      if (st[r] === RTX_SACKED) this.sacked_out--;
      st[r] = RTX_LOST;
      this.lost_out++;
      let i = lost.length;
      lost.push(skb);
      while (i > 0 && lost[i - 1].seq > skb.seq) {
        lost[i] = lost[i - 1];
        lost[--i] = skb;
      }
    }
    const head = lost.shift();
    if (!head) return;
    this.markRetrans(head);
    this.retransmits++;
    this.xmitWaiting(head);
  }

  /** A lost segment is sent again (TCPCB_SACKED_RETRANS): in flight once more. */
  private markRetrans(skb: SkBuff): void {
    const i = this.rtxIndex(skb.end_seq);
    if (i >= 0 && this.rtxState[i] === RTX_LOST) {
      this.rtxState[i] = RTX_RETRANS;
      this.lost_out--;
    }
  }

  /** A RST is due: it carries snd_nxt; data still waiting here is discarded (tcp_disconnect). */
  private sendReset(rst: SkBuff): void {
    if (this.sendHead < this.sendq.length) rst.seq = rst.end_seq = Math.min(rst.seq, this.sendq[this.sendHead].seq);
    this.sendq.length = 0;
    this.sendHead = 0;
    this.lostq.length = 0;
    this.dropq.length = 0;
    nicRx(this.k, rst); // a RST is never retransmitted
  }

  /** Send `bytes` of payload as MSS-sized segments due at the NIC at `at`. */
  send(bytes: number, at: number, msgId = -1): this {
    this.bytesSent += bytes;
    while (bytes > 0) {
      const len = Math.min(bytes, TCP_MSS);
      const skb = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, len, msgId, this.hash);
      skb.seq = this.write_seq;
      skb.end_seq = this.write_seq + len;
      this.write_seq += len;
      bytes -= len;
      this.enqueue(skb, at);
    }
    return this;
  }

  /** Reset the connection: a RST at the next sequence number, reaching the NIC at `at`
   *  (the model's socket runs tcp_reset: ECONNRESET, or EPIPE after our FIN). */
  reset(at: number): this {
    const rst = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1);
    rst.rst = true;
    rst.ack = false;
    rst.seq = rst.end_seq = this.write_seq;
    const t = this.establishedAt === Infinity ? Infinity : Math.max(at, this.establishedAt);
    if (t === Infinity) this.held.push({ skb: rst, at });
    else if (this.flowControl) {
      rst.peer = this;
      this.k.engine.at(t, TcpPeer.rstGate, rst);
    }
    else this.k.engine.at(t, this.rx, rst); // a RST is never retransmitted
    return this;
  }

  /** Half-close: shutdown(SHUT_WR) at the peer sends a FIN; it can still receive. Same as close(). */
  shutdownWrite(at: number): this {
    return this.close(at);
  }

  /** Close the connection: a FIN reaching the NIC at `at` (after the data before it). */
  close(at: number): this {
    const fin = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    fin.fin = true;
    fin.seq = this.write_seq;
    fin.end_seq = this.write_seq + 1;
    this.write_seq++;
    this.enqueue(fin, at);
    return this;
  }
}

function udpArrive(a: { k: Kernel; skb: SkBuff }): void {
  nicRx(a.k, a.skb);
}

export interface UdpSendOptions {
  dport: number;
  bytes: number;
  at: number;
  saddr?: string;
  sport?: number;
  msgId?: number;
}

/** One datagram reaching the NIC at `at`. Returns the skb (dropped ones are counted by the model). */
export function udpSend(k: Kernel, o: UdpSendOptions): SkBuff {
  const saddr = o.saddr ?? "10.0.1.2";
  const skb = newSkb(IPPROTO_UDP, saddr, ehashAddr(k.hash, saddr), o.sport ?? 5353, o.dport, o.bytes, o.msgId ?? -1);
  k.engine.at(o.at, udpArrive, { k, skb });
  return skb;
}
