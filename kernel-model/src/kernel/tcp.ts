// tcp.ts: the TCP socket: struct tcp_sock, tcp_prot, inet_stream_ops, tcp_init_sock, tcp_close.
// Linux 4.6.2: net/ipv4/tcp.c, net/ipv4/tcp_ipv4.c (tcp_prot, tcp_v4_init_sock),
// include/linux/tcp.h. Book: §3.2 (sk_prot = tcp_prot), §3.3 (tcp_recvmsg).
//
// Interface:
// * tcp_prot (struct proto) and inet_stream_ops (struct proto_ops), the two tables inet_create
//   installs for SOCK_STREAM.
// * tcp_v4_init_sock -> tcp_init_sock: sk_sndbuf = tcp_wmem[1], sk_rcvbuf = tcp_rmem[1], the
//   (4.6-only) prequeue.
//
// Model vs kernel: no sequence-space wraparound, congestion control, retransmission or timers;
// a segment carries a byte count and its sequence numbers.

import type { Kernel } from "./kernel";
import type { TaskStruct } from "./sched";
import { PF_INET, type ProtoOps } from "./socket";
import { sk_free, sk_zero, TCP_CLOSE, type Proto, type SkBuff, type Sock } from "./sock";
import { inet_release, inet_recvmsg } from "./af_inet";

/** struct tcp_sock (include/linux/tcp.h): the TCP fields this chapter uses. */
export interface TcpSock extends Sock {
  /** Next sequence number expected from the peer (advanced by tcp_rcv_nxt_update). */
  rcv_nxt: number;
  /** Head of yet-unread data (advanced by tcp_recvmsg as it copies). */
  copied_seq: number;
  /** 4.6 only: the prequeue. task = the reader sleeping in tcp_recvmsg (tp->ucopy.task). */
  ucopy: { prequeue: SkBuff[]; task: TaskStruct | null; len: number; memory: number };
}

export function tcp_sk(sk: Sock): TcpSock {
  return sk as TcpSock;
}

/** tcp_v4_init_sock -> tcp_init_sock (net/ipv4/tcp.c). */
export function tcp_v4_init_sock(k: Kernel, sk: Sock): number {
  k.tr?.enter("tcp_v4_init_sock", "tcp_v4_init_sock(sk)");
  k.tr?.enter("tcp_init_sock", "tcp_init_sock(sk)");
  const tp = tcp_sk(sk);
  tp.ucopy = { prequeue: [], task: null, len: 0, memory: 0 }; // tcp_prequeue_init
  sk.sk_state = TCP_CLOSE;
  sk.sk_sndbuf = k.sysctl.tcp_wmem_default;
  sk.sk_rcvbuf = k.sysctl.tcp_rmem_default;
  k.tr?.leaf(`sk->sk_sndbuf = sysctl_tcp_wmem[1] (${sk.sk_sndbuf}); sk->sk_rcvbuf = sysctl_tcp_rmem[1] (${sk.sk_rcvbuf})`);
  k.tr?.exit();
  k.tr?.exit();
  return 0;
}

/** tcp_close(sk, timeout): the model frees the sock at once (no FIN_WAIT/TIME_WAIT life). */
export function tcp_close(k: Kernel, sk: Sock, timeout: number): void {
  k.tr?.enter("tcp_close", "sk->sk_prot->close(sk, timeout) = tcp_close(sk, timeout)");
  sk.sk_state = TCP_CLOSE;
  sk_free(k, sk);
  k.tr?.exit();
  void timeout;
}

export const tcp_prot: Proto = {
  name: "TCP",
  alloc: (k: Kernel): Sock => {
    const tp = sk_zero(k, tcp_prot) as TcpSock;
    tp.rcv_nxt = 0;
    tp.copied_seq = 0;
    tp.ucopy = { prequeue: [], task: null, len: 0, memory: 0 };
    return tp;
  },
  init: tcp_v4_init_sock,
  close: tcp_close,
  recvmsg: null,
  backlog_rcv: null,
};

export const inet_stream_ops: ProtoOps = {
  name: "inet_stream_ops",
  family: PF_INET,
  release: inet_release,
  poll: null,
  recvmsg: inet_recvmsg,
};
