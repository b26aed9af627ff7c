// af_inet.ts: the PF_INET family: inet_create, the inetsw protocol switch, inet_recvmsg.
// Linux 4.6.2: net/ipv4/af_inet.c. Book: §3.2 (inet_create), §3.3 (inet_recvmsg).
//
// Interface:
// * inet_init(k) at boot: sock_register(&inet_family_ops) and the inetsw lists built from
//   inetsw_array: SOCK_STREAM/TCP, SOCK_DGRAM/UDP, SOCK_DGRAM/ICMP (ping), SOCK_RAW/wildcard.
// * inet_create(sock, protocol, kern): finds the inetsw entry, sets sock->ops, allocates sk with
//   sk_prot = answer->prot, sock_init_data, sk_backlog_rcv, sk_prot->init.
// * inet_recvmsg -> sk->sk_prot->recvmsg (tcp_recvmsg / udp_recvmsg); inet_release -> sk_prot->close.
//
// Model vs kernel: ping sockets exist only to return what 4.6.2 returns by default
// (net.ipv4.ping_group_range = "1 0": ping_init_sock -> -EACCES); raw sockets are created
// (they need CAP_NET_RAW) but receive nothing. No request_module.

import type { Kernel } from "./kernel";
import { returnNow, tailCall, type KGen } from "./sched";
import {
  sock_register, IPPROTO_ICMP, IPPROTO_IP, IPPROTO_MAX, IPPROTO_TCP, IPPROTO_UDP, MSG_DONTWAIT, PF_INET,
  SOCK_DGRAM, SOCK_MAX, SOCK_RAW, SOCK_STREAM, SS_UNCONNECTED, SS_CONNECTED, type Msghdr, type ProtoOps, type Socket,
} from "./socket";
import { sk_alloc, sk_free, sk_zero, sock_init_data, lock_sock, release_sock, sock_graft, TCP_LISTEN, type Proto, type Sock } from "./sock";
import { tcp_prot, inet_stream_ops, type TcpSock } from "./tcp";
import { inet_csk_accept } from "./inet_connection_sock";
import { udp_prot, inet_dgram_ops, udp_rcv } from "./udp";
import { tcp_v4_rcv } from "./tcp_ipv4";
import { inet_add_protocol } from "./ip_input";
import { EINVAL, EPERM, EPROTONOSUPPORT, ESOCKTNOSUPPORT, EACCES, ENOBUFS, EADDRINUSE, EDESTADDRREQ } from "./errno";

export type { NetProtoFamily } from "./socket";

/** INET_PROTOSW_* flags (include/net/protocol.h). */
export const INET_PROTOSW_REUSE = 0x01;
export const INET_PROTOSW_PERMANENT = 0x02;
export const INET_PROTOSW_ICSK = 0x04;

/** struct inet_protosw (include/net/protocol.h): one entry of the protocol switch. */
export interface InetProtosw {
  type: number;
  protocol: number;
  prot: Proto;
  ops: ProtoOps;
  flags: number;
}

/** inet_family_ops: net_families[PF_INET]. */
export const inet_family_ops = { family: PF_INET, create: inet_create };

/** inet_release: sock->ops->release for every inet socket: sk->sk_prot->close(sk, timeout). */
export function inet_release(k: Kernel, sock: Socket): number {
  const sk = sock.sk;
  k.tr?.enter("inet_release", "sock->ops->release(sock) = inet_release(sock)");
  if (sk) {
    sock.sk = null;
    sk.sk_prot.close(k, sk, 0);
  }
  k.tr?.exit();
  return 0;
}

// ping (net/ipv4/ping.c) and raw (net/ipv4/raw.c): created, never fed.
function closeAndFree(k: Kernel, sk: Sock): void {
  sk_free(k, sk);
}
const ping_prot: Proto = {
  name: "PING", alloc: (k) => sk_zero(k, ping_prot), close: closeAndFree, recvmsg: null, backlog_rcv: null,
  init: () => -EACCES, // ping_init_sock: caller's gid outside net.ipv4.ping_group_range ("1 0")
};
const raw_prot: Proto = {
  name: "RAW", alloc: (k) => sk_zero(k, raw_prot), close: closeAndFree, recvmsg: null, backlog_rcv: null, init: null,
};
const inet_sockraw_ops: ProtoOps = { name: "inet_sockraw_ops", family: PF_INET, release: inet_release, poll: null, recvmsg: null };

/** inetsw_array (net/ipv4/af_inet.c). */
const inetsw_array: InetProtosw[] = [
  { type: SOCK_STREAM, protocol: IPPROTO_TCP, prot: tcp_prot, ops: inet_stream_ops, flags: INET_PROTOSW_PERMANENT | INET_PROTOSW_ICSK },
  { type: SOCK_DGRAM, protocol: IPPROTO_UDP, prot: udp_prot, ops: inet_dgram_ops, flags: INET_PROTOSW_PERMANENT },
  { type: SOCK_DGRAM, protocol: IPPROTO_ICMP, prot: ping_prot, ops: inet_dgram_ops, flags: INET_PROTOSW_REUSE },
  { type: SOCK_RAW, protocol: IPPROTO_IP, prot: raw_prot, ops: inet_sockraw_ops, flags: INET_PROTOSW_REUSE },
];

/** inet_init: boot-time registration of PF_INET (fs_initcall in Linux). */
export function inet_init(k: Kernel): void {
  sock_register(k, inet_family_ops);
  inet_add_protocol(k, { name: "tcp_v4_rcv", handler: tcp_v4_rcv }, IPPROTO_TCP); // tcp_protocol
  inet_add_protocol(k, { name: "udp_rcv", handler: udp_rcv }, IPPROTO_UDP); // udp_protocol
  for (let t = 0; t < SOCK_MAX; t++) k.inetsw[t] = [];
  for (const q of inetsw_array) {
    // inet_register_protosw: permanent entries first, others after the last permanent one
    const list = k.inetsw[q.type];
    let i = 0;
    while (i < list.length && list[i].flags & INET_PROTOSW_PERMANENT) i++;
    list.splice(i, 0, q);
  }
}

/** inet_create(net, sock, protocol, kern): pf->create for PF_INET. */
export function inet_create(k: Kernel, sock: Socket, protocol: number, kern: number): number {
  k.tr?.enter("inet_create", "inet_create(net, sock, protocol, kern)");
  try {
    if (protocol < 0 || protocol >= IPPROTO_MAX) return -EINVAL;
    sock.state = SS_UNCONNECTED;
    // lookup_protocol: list_for_each_entry_rcu(answer, &inetsw[sock->type], list)
    let err = -ESOCKTNOSUPPORT;
    let answer: InetProtosw | null = null;
    for (const a of k.inetsw[sock.type] ?? []) {
      err = 0;
      if (protocol === a.protocol) {
        if (protocol !== IPPROTO_IP) { answer = a; break; }
      } else {
        if (protocol === IPPROTO_IP) { protocol = a.protocol; answer = a; break; } // wildcard request
        if (a.protocol === IPPROTO_IP) { answer = a; break; } // wildcard entry (raw)
      }
      err = -EPROTONOSUPPORT;
    }
    if (err || !answer) return err || -EPROTONOSUPPORT; // request_module finds nothing in the model
    if (sock.type === SOCK_RAW && !kern && !k.current.caps.CAP_NET_RAW) return -EPERM;
    sock.ops = answer.ops;
    k.tr?.leaf("sock->ops = answer->ops;", `设置socket->ops (= &${answer.ops.name})`);
    const answer_prot = answer.prot;
    k.tr?.leaf("answer_prot = answer->prot;", `answer_prot=${answer_prot.name.toLowerCase()}_prot`);
    const sk = sk_alloc(k, PF_INET, answer_prot);
    if (!sk) return -ENOBUFS;
    sock_init_data(k, sock, sk);
    sk.sk_protocol = protocol;
    sk.sk_backlog_rcv = sk.sk_prot.backlog_rcv;
    if (sock.type === SOCK_RAW) sk.inet_num = protocol; // raw sockets are hashed at once
    if (sk.sk_prot.init) {
      k.tr?.enter("", "sk->sk_prot->init(sk)", `= ${answer_prot === tcp_prot ? "tcp_v4_init_sock" : "init"}`);
      const e = sk.sk_prot.init(k, sk);
      k.tr?.exit();
      if (e) {
        // sk_common_release: the caller's sock_release finds sock->sk == NULL and frees nothing twice
        sock.sk = null;
        sk.sk_prot.close(k, sk, 0);
        return e;
      }
    }
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** inet_recvmsg: sock->ops->recvmsg -> sk->sk_prot->recvmsg(sk, msg, size, nonblock, flags). */
export function inet_recvmsg(k: Kernel, sock: Socket, msg: Msghdr, size: number, flags: number): KGen<number> {
  k.tr?.enter("inet_recvmsg", "inet_recvmsg(sock, msg, size, flags)");
  const sk = sock.sk!;
  k.tr?.enter("", "sk->sk_prot->recvmsg(sk, msg, size, flags & MSG_DONTWAIT, flags & ~MSG_DONTWAIT, &addr_len)");
  if (!sk.sk_prot.recvmsg) return returnNow(k, -EINVAL, 2);
  return tailCall(k, sk.sk_prot.recvmsg(k, sk, msg, size, flags & MSG_DONTWAIT, flags & ~MSG_DONTWAIT), 2); // a tail call (sched.ts)
}

/** inet_bind(sock, uaddr): claim a local port (inet_csk_get_port / udp_v4_get_port). */
export function inet_bind(k: Kernel, sock: Socket, port: number): number {
  k.tr?.enter("inet_bind", `sock->ops->bind(sock, (struct sockaddr *)&address, addrlen) = inet_bind(sock, {sin_port = ${port}})`, undefined, "sock->ops->bind(");
  try {
    const sk = sock.sk!;
    if (!(port >= 1 && port <= 65535)) return -EINVAL;
    if (sk.inet_num) return -EINVAL; // already bound
    const udp = sk.sk_prot === udp_prot;
    const taken = udp ? k.hash.udp.has(port) : k.hash.listening.has(port) || k.tcpPorts.has(port);
    if (taken) return -EADDRINUSE;
    sk.inet_num = port;
    if (udp) k.hash.udp.set(port, sk); // udp_lib_get_port hashes at once
    else k.tcpPorts.add(port); // inet_csk_get_port: reserved; hashed for lookup by listen()
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** inet_listen(sock, backlog): TCP_LISTEN, hashed so SYNs find it (inet_csk_listen_start). */
export function inet_listen(k: Kernel, sock: Socket, backlog: number): number {
  k.tr?.enter("inet_listen", `sock->ops->listen(sock, backlog) = inet_listen(sock, backlog = ${backlog})`, undefined, "sock->ops->listen(");
  try {
    const sk = sock.sk!;
    if (sock.state !== SS_UNCONNECTED || sock.type !== SOCK_STREAM) return -EINVAL;
    if (!sk.inet_num) return -EDESTADDRREQ; // MODEL: no autobind; Linux would pick an ephemeral port
    const tp = sk as TcpSock;
    tp.sk_max_ack_backlog = Math.min(backlog, k.sysctl.somaxconn);
    if (sk.sk_state !== TCP_LISTEN) {
      k.tr?.leaf("inet_csk_listen_start(sk, backlog): sk->sk_state = TCP_LISTEN; inet_hash(sk)", undefined, "inet_csk_listen_start");
      sk.sk_state = TCP_LISTEN;
      k.hash.listening.set(sk.inet_num, sk);
    }
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** inet_accept(sock, newsock, flags): sk1->sk_prot->accept (inet_csk_accept), then sock_graft. */
export function* inet_accept(k: Kernel, sock: Socket, newsock: Socket, flags: number): KGen<number> {
  k.tr?.enter("inet_accept", "sock->ops->accept(sock, newsock, f_flags) = inet_accept(sock, newsock, flags)");
  try {
    const sk1 = sock.sk!;
    const r = yield* inet_csk_accept(k, sk1, flags);
    if (typeof r === "number") return r;
    const sk2 = r;
    yield* lock_sock(k, sk2);
    sock_graft(k, sk2, newsock);
    newsock.state = SS_CONNECTED;
    release_sock(k, sk2);
    return 0;
  } finally {
    k.tr?.exit();
  }
}
