// inet_hashtables.ts: finding the socket a segment or datagram belongs to.
// Linux 4.6.2: net/ipv4/inet_hashtables.c (tcp_hashinfo: ehash, listening hash),
// net/ipv4/udp.c (udp_table). Book: §3.3.2 (tcp_v4_rcv / udp_rcv look up the sock).
//
// Interface: one table set per Kernel (k.hash): tcp established (4-tuple), tcp listeners
// (local port), request socks (TCP_NEW_SYN_RECV), udp (local port).
//
// Model vs kernel: one local address (10.0.0.1); Maps instead of hash buckets and RCU. The ehash
// key is exact rather than a hash (inet_ehashfn's jhash may collide; the kernel then compares
// the 4-tuple): remote addresses are numbered as first seen, and (address number, remote port,
// local port) packed in one number below 2^53, so a lookup builds no string.

import type { SkBuff, Sock, TcpRemote } from "./sock";

/** struct request_sock (include/net/request_sock.h): a half-open connection (SYN received). */
export interface RequestSock {
  rsk_listener: Sock;
  saddr: string;
  sport: number;
  dport: number;
  /** Peer's initial sequence number; data starts at rcv_isn + 1. */
  rcv_isn: number;
  /** Model: the remote end, told about the SYN-ACK so it can answer with the ACK. */
  peer: TcpRemote | null;
}

export interface InetHashtables {
  ehash: Map<number, Sock | RequestSock>;
  /** Model: remote address -> its number in ehash keys. */
  addrs: Map<string, number>;
  /** Model: 127.0.0.1's number, -1 until the first segment over lo. */
  loNo: number;
  listening: Map<number, Sock>;
  udp: Map<number, Sock>;
}

export function newHashtables(): InetHashtables {
  return { ehash: new Map(), addrs: new Map(), loNo: -1, listening: new Map(), udp: new Map() };
}

/** 127.0.0.1's number (the model's own TCP over lo), looked up once. */
export function loAddrNo(h: InetHashtables): number {
  return h.loNo >= 0 ? h.loNo : (h.loNo = ehashAddr(h, "127.0.0.1"));
}

/** A remote address's number in ehash keys (numbered as first seen). */
export function ehashAddr(h: InetHashtables, saddr: string): number {
  let a = h.addrs.get(saddr);
  if (a === undefined) h.addrs.set(saddr, (a = h.addrs.size));
  return a;
}

/** The ehash key of a flow (remote address:port -> local port), for inet_ehashfn. */
export function ehashKey(h: InetHashtables, saddr: string, sport: number, dport: number): number {
  return ehashAddr(h, saddr) * 4294967296 + sport * 65536 + dport;
}

/** The same key from a segment: its address is already numbered (skb.saddrNo). */
export function skbEhashKey(skb: SkBuff): number {
  return skb.saddrNo * 4294967296 + skb.sport * 65536 + skb.dport;
}
