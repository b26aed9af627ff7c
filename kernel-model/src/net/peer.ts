// peer.ts: the other end of the wire: remote hosts that open TCP connections and send data.
// No Linux file: these are the machines the book's server talks to. Book: §3.3-§3.5.
//
// Interface:
// * new TcpPeer(k, {dport, saddr?, sport?, rtt?}): peer.connect(at) sends a SYN that reaches the
//   NIC at `at`; when the model's SYN-ACK leaves, the peer's ACK arrives one RTT later, then any
//   data sent meanwhile. peer.send(bytes, at, msgId) cuts bytes into MSS-sized segments that
//   reach the NIC at `at` (or right after the handshake); peer.close(at) (or shutdownWrite) sends
//   a FIN: a half-close, the model's socket sees EOF; peer.reset(at) sends a RST.
//   A segment dropped by the model (ring or receive buffer full) is retransmitted after an RTO.
// * udpSend(k, {dport, bytes, at, ...}) sends one datagram (no retransmission: UDP).
//
// Model vs kernel: the wire has no loss, reordering or bandwidth limit; there is no congestion
// or flow control at the peer; `at` is the time a frame reaches our NIC.

import type { Kernel } from "../kernel/kernel";
import { nicRx } from "../kernel/dev";
import { skbTruesize, type SkBuff } from "../kernel/sock";
import { IPPROTO_TCP, IPPROTO_UDP } from "../kernel/socket";
import { ehashAddr } from "../kernel/inet_hashtables";

/** Ethernet MTU 1500 minus IP and TCP headers with timestamps: the usual MSS on the wire. */
export const TCP_MSS = 1448;
/** TCP_RTO_MIN (include/net/tcp.h): 200 ms, the earliest retransmission. */
export const TCP_RTO_MIN = 200_000_000;
/** TCP_TIMEOUT_INIT: 1 s, the first SYN retransmission. */
export const TCP_TIMEOUT_INIT = 1_000_000_000;

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

function newSkb(proto: number, saddr: string, saddrNo: number, sport: number, dport: number, len: number, msgId: number, hash = flowHash(saddr, sport, dport)): SkBuff {
  return {
    len, truesize: skbTruesize(len), protocol: proto, saddr, saddrNo, sport, dport, hash,
    seq: 0, end_seq: 0, syn: false, ack: true, fin: false, rst: false, tstamp: 0, msgId, used: 0,
  };
}

export interface TcpPeerOptions {
  dport: number;
  saddr?: string;
  sport?: number;
  /** Round-trip time to this host, ns (default 100 µs: a data-centre network). */
  rtt?: number;
}

/** A remote TCP client of the modelled server. */
export class TcpPeer {
  readonly saddr: string;
  readonly sport: number;
  readonly dport: number;
  readonly rtt: number;
  /** The flow's RSS hash, the same for every frame of the connection. */
  readonly hash: number;
  /** Model: this host's address as numbered in the server's ehash keys (SkBuff.saddrNo). */
  readonly saddrNo: number;
  /** Time the peer's handshake ACK reaches us (Infinity until the SYN-ACK left). */
  establishedAt = Infinity;
  /** Next sequence number to send; data starts at 1 (ISN 0). */
  snd_nxt = 1;
  /** Payload bytes handed to send(). */
  bytesSent = 0;
  retransmits = 0;
  private held: { skb: SkBuff; at: number }[] = [];
  /** The frame reaches our NIC (one closure per peer, not per frame). */
  private readonly rx = (s: SkBuff) => nicRx(this.k, s);

  constructor(readonly k: Kernel, o: TcpPeerOptions) {
    const n = k.nextPeer++;
    this.saddr = o.saddr ?? `10.0.${(n >> 8) & 255}.${(n & 255) + 2}`;
    this.sport = o.sport ?? 40000 + (n % 20000);
    this.dport = o.dport;
    this.rtt = o.rtt ?? 100_000;
    this.hash = flowHash(this.saddr, this.sport, this.dport);
    this.saddrNo = ehashAddr(k.hash, this.saddr);
  }

  /** Send the SYN, reaching the NIC at `at`. */
  connect(at: number): this {
    const syn = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    syn.syn = true;
    syn.ack = false;
    syn.seq = 0;
    syn.end_seq = 1;
    syn.synPeer = { onSynAck: (t) => this.onSynAck(t) };
    this.transmit(syn, at, TCP_TIMEOUT_INIT);
    return this;
  }

  private onSynAck(t: number): void {
    this.establishedAt = t + this.rtt;
    const ack = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    ack.seq = ack.end_seq = 1;
    this.transmit(ack, this.establishedAt);
    for (const h of this.held.splice(0)) this.transmit(h.skb, Math.max(h.at, this.establishedAt));
  }

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

  /** Send `bytes` of payload as MSS-sized segments reaching the NIC at `at`. */
  send(bytes: number, at: number, msgId = -1): this {
    this.bytesSent += bytes;
    while (bytes > 0) {
      const len = Math.min(bytes, TCP_MSS);
      const skb = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, len, msgId, this.hash);
      skb.seq = this.snd_nxt;
      skb.end_seq = this.snd_nxt + len;
      this.snd_nxt += len;
      bytes -= len;
      const t = this.establishedAt === Infinity ? Infinity : Math.max(at, this.establishedAt);
      if (t === Infinity) this.held.push({ skb, at });
      else this.transmit(skb, t);
    }
    return this;
  }

  /** Reset the connection: a RST at the next sequence number, reaching the NIC at `at`
   *  (the model's socket runs tcp_reset: ECONNRESET, or EPIPE after our FIN). */
  reset(at: number): this {
    const rst = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1);
    rst.rst = true;
    rst.ack = false;
    rst.seq = rst.end_seq = this.snd_nxt;
    const t = this.establishedAt === Infinity ? Infinity : Math.max(at, this.establishedAt);
    if (t === Infinity) this.held.push({ skb: rst, at });
    else this.k.engine.at(t, this.rx, rst); // a RST is never retransmitted
    return this;
  }

  /** Half-close: shutdown(SHUT_WR) at the peer sends a FIN; it can still receive. Same as close(). */
  shutdownWrite(at: number): this {
    return this.close(at);
  }

  /** Close the connection: a FIN reaching the NIC at `at`. */
  close(at: number): this {
    const fin = newSkb(IPPROTO_TCP, this.saddr, this.saddrNo, this.sport, this.dport, 0, -1, this.hash);
    fin.fin = true;
    fin.seq = this.snd_nxt;
    fin.end_seq = this.snd_nxt + 1;
    this.snd_nxt++;
    const t = this.establishedAt === Infinity ? Infinity : Math.max(at, this.establishedAt);
    if (t === Infinity) this.held.push({ skb: fin, at });
    else this.transmit(fin, t);
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
