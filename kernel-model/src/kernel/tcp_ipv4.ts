// tcp_ipv4.ts: TCP over IPv4 receive entry: tcp_v4_rcv, the prequeue, tcp_v4_do_rcv, handshake.
// Linux 4.6.2: net/ipv4/tcp_ipv4.c, net/ipv4/tcp_minisocks.c, net/ipv4/tcp_input.c
// (tcp_conn_request). Book: §3.3.2 (tcp_v4_rcv), §3.4.4, and the Kernel note on prequeue.
//
// Interface:
// * tcp_v4_rcv(skb) [softirq], in 4.6.2's order:
//   1. socket owned by a process (between lock_sock and release_sock) -> sk_add_backlog
//      (limit sk_rcvbuf + sk_sndbuf; over it the segment is dropped and counted);
//   2. else tcp_prequeue, always called (tcp_ipv4.c:1657): with a reader in tcp_recvmsg and
//      tcp_low_latency = 0 it queues on tp->ucopy.prequeue and wakes the reader on the first
//      segment (TCP work moves to the reader); otherwise it returns false at once (1491);
//   3. then tcp_v4_do_rcv -> tcp_rcv_established: the fast path (tcp_queue_rcv) only when
//      skb->truesize fits in sk_forward_alloc, else step5 -> tcp_ack -> tcp_data_queue ->
//      tcp_queue_rcv (a new connection's first segment: sk_forward_alloc is 0); then
//      sk_data_ready.
// * The handshake: SYN on a listener -> tcp_conn_request (a request sock, SYN-ACK to the peer);
//   the ACK -> tcp_check_req -> tcp_v4_syn_recv_sock (child cloned from the listener, inherits
//   sk_data_ready) -> accept queue -> tcp_child_process -> listener's sk_data_ready.
//
// Model vs kernel: no checksums, options, timestamps, SYN cookies or TIME_WAIT; the SYN-ACK to
// a remote peer is not a real frame: the peer is told when it leaves, and the window it offers
// (tcp_openreq_init_rwin). A local client (over lo) gets a real SYN-ACK (tcp_v4_send_synack,
// tcp_output.ts).

import { tcp_full_space, tcp_select_initial_window, tcp_v4_send_synack, tcpWindowClamp, TCP_RCV_MSS } from "./tcp_output";
import type { Kernel } from "./kernel";
import { charge } from "./sched";
import {
  sk_add_backlog, sk_backlog_rcv, sock_owned_by_user, sk_sleep, SOCK_DEAD, TCP_ESTABLISHED, TCP_LISTEN, TCP_SYN_RECV,
  type SkBuff, type Sock,
} from "./sock";
import { wake_up_interruptible_sync_poll } from "./wait";
import { POLLIN, POLLRDNORM, POLLRDBAND } from "./sock";
import { tcp_rcv_established, tcp_rcv_state_process } from "./tcp_input";
import { tcp_sk, tcp_prot, type TcpSock } from "./tcp";
import { skbEhashKey, type RequestSock } from "./inet_hashtables";
import { IPPROTO_TCP } from "./socket";
import { isEmptyQueue, takeAll } from "./list";

function isRequestSock(x: Sock | RequestSock): x is RequestSock {
  return "rsk_listener" in x;
}

/** tcp_v4_rcv: the inet_protos[IPPROTO_TCP] handler. Runs in softirq. */
export function tcp_v4_rcv(k: Kernel, skb: SkBuff): number {
  k.tr?.enter("tcp_v4_rcv", "tcp_v4_rcv(skb)");
  try {
    const key = skbEhashKey(skb);
    const found = k.hash.ehash.get(key) ?? k.hash.listening.get(skb.dport); // __inet_lookup_skb
    if (!found) {
      k.tr?.leaf("no socket: tcp_v4_send_reset(NULL, skb)", "RST", "tcp_v4_send_reset");
      k.stats.noSocket++;
      return 0;
    }
    if (isRequestSock(found)) {
      // TCP_NEW_SYN_RECV: the third packet of the handshake
      tcp_check_req(k, found, skb, key);
      return 0;
    }
    const sk = found;
    k.tr?.leaf("sk = __inet_lookup_skb(&tcp_hashinfo, skb, __tcp_hdrlen(th), th->source, th->dest)", `sk_state = ${sk.sk_state === TCP_LISTEN ? "TCP_LISTEN" : sk.sk_state}`);
    if (sk.sk_state === TCP_LISTEN) return tcp_v4_do_rcv(k, sk, skb);
    // bh_lock_sock_nested(sk)
    if (!sock_owned_by_user(sk)) {
      if (!tcp_prequeue(k, sk, skb)) tcp_v4_do_rcv(k, sk, skb);
    } else if (sk_add_backlog(sk, skb, sk.sk_rcvbuf + sk.sk_sndbuf)) {
      k.tr?.leaf("sk_add_backlog() failed: drop (TCPBacklogDrop)", "backlog over sk_rcvbuf + sk_sndbuf");
      sk.sk_drops++;
      k.stats.socketDrops++;
      skb.onDrop?.(k, skb, "backlog");
    } else {
      k.tr?.leaf("sk_add_backlog(sk, skb, sk->sk_rcvbuf + sk->sk_sndbuf)", "sock_owned_by_user(sk): 进程正持有锁: 放入 backlog, release_sock 时处理", "sk_add_backlog");
    }
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** tcp_prequeue(sk, skb) (4.6; removed in 4.14): hand the segment to a sleeping reader. */
export function tcp_prequeue(k: Kernel, sk: Sock, skb: SkBuff): boolean {
  const tp = tcp_sk(sk);
  // tcp_v4_rcv always calls it (tcp_ipv4.c:1657); it declines at once without a reader in tcp_recvmsg
  if (k.sysctl.tcp_low_latency || !tp.ucopy.task || (skb.len === 0 && tp.ucopy.prequeue.length === 0)) {
    k.tr?.enter("tcp_prequeue", "tcp_prequeue(sk, skb) = false",
      k.sysctl.tcp_low_latency ? "sysctl_tcp_low_latency: return false" : !tp.ucopy.task ? "!tp->ucopy.task (no reader in tcp_recvmsg): return false" : "no payload: return false");
    k.tr?.exit();
    return false;
  }
  k.tr?.enter("tcp_prequeue", "tcp_prequeue(sk, skb)", "4.6: 有进程在 tcp_recvmsg 中等待: 放入 prequeue");
  if (isEmptyQueue(tp.ucopy.prequeue)) tp.ucopy.prequeue = []; // allocated on first use
  tp.ucopy.prequeue.push(skb); // __skb_queue_tail(&tp->ucopy.prequeue, skb)
  tp.ucopy.memory += skb.truesize;
  if (tp.ucopy.memory > sk.sk_rcvbuf) {
    // too much waiting for the reader: process it here, in softirq
    k.tr?.leaf("ucopy.memory > sk_rcvbuf: flush the prequeue in softirq");
    for (const s of takeAll(tp.ucopy.prequeue)) sk_backlog_rcv(k, sk, s);
    tp.ucopy.memory = 0;
  } else if (tp.ucopy.prequeue.length === 1) {
    wake_up_interruptible_sync_poll(k, sk_sleep(sk), POLLIN | POLLRDNORM | POLLRDBAND);
  }
  k.tr?.exit();
  return true;
}

/** tcp_v4_do_rcv: tcp_prot.backlog_rcv. Softirq, or process context (backlog, prequeue). */
export function tcp_v4_do_rcv(k: Kernel, sk: Sock, skb: SkBuff): number {
  k.tr?.enter("tcp_v4_do_rcv", "tcp_v4_do_rcv(sk, skb)", undefined, "tcp_v4_do_rcv(|sk->sk_backlog_rcv(");
  charge(k, k.costs.tcpSegment);
  if (sk.sk_state === TCP_ESTABLISHED) tcp_rcv_established(k, sk, skb);
  else tcp_rcv_state_process(k, sk, skb);
  k.tr?.exit();
  return 0;
}

/** tcp_openreq_init_rwin(req, sk_listener, dst) (tcp_minisocks.c): the window a SYN-ACK
 *  offers, from the listener's buffer (tcp_full_space) by tcp_select_initial_window. */
function tcp_openreq_init_rwin(listener: Sock): number {
  return tcp_select_initial_window(tcp_full_space(listener), TCP_RCV_MSS); // mss - TCPOLEN_TSTAMP_ALIGNED
}

/** tcp_conn_request (via icsk_af_ops->conn_request = tcp_v4_conn_request): SYN on a listener. */
export function tcp_v4_conn_request(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.enter("tcp_v4_conn_request", "icsk->icsk_af_ops->conn_request(sk, skb) = tcp_v4_conn_request(sk, skb)");
  const lsk = sk as TcpSock;
  if (lsk.icsk_accept_queue.length >= lsk.sk_max_ack_backlog) {
    k.tr?.leaf("sk_acceptq_is_full(sk): drop the SYN (ListenOverflows)");
    k.stats.listenOverflows++;
  } else {
    const req: RequestSock = { rsk_listener: sk, saddr: skb.saddr, sport: skb.sport, dport: skb.dport, rcv_isn: skb.seq, peer: skb.peer ?? null };
    k.hash.ehash.set(skbEhashKey(skb), req); // inet_csk_reqsk_queue_hash_add
    k.tr?.enter("tcp_conn_request", "tcp_conn_request(&tcp_request_sock_ops, &tcp_request_sock_ipv4_ops, sk, skb)");
    k.tr?.leaf("req = inet_reqsk_alloc(rsk_ops, sk, !want_cookie)", "半连接: request_sock (TCP_NEW_SYN_RECV)");
    k.tr?.leaf("inet_csk_reqsk_queue_hash_add(sk, req, TCP_TIMEOUT_INIT)");
    if (req.peer) {
      k.tr?.leaf("af_ops->send_synack(sk, dst, &fl, req, &foc, false)", "SYN-ACK 发出");
      req.peer.onSynAck(k.now, tcp_openreq_init_rwin(sk)); // the SYN-ACK's window
    } else if (skb.saddr === "127.0.0.1") tcp_v4_send_synack(k, req); // a local connect(): over lo
    k.tr?.exit();
  }
  k.tr?.exit();
}

/** tcp_v4_rcv's TCP_NEW_SYN_RECV case: tcp_check_req -> tcp_v4_syn_recv_sock -> child, then
 *  tcp_child_process (called by tcp_v4_rcv, after tcp_check_req) wakes the listener. */
function tcp_check_req(k: Kernel, req: RequestSock, skb: SkBuff, key: number): void {
  k.tr?.enter("tcp_check_req", "tcp_check_req(sk, skb, req, false)", "third packet of the handshake");
  const listener = req.rsk_listener as TcpSock;
  k.hash.ehash.delete(key);
  if (listener.sk_state !== TCP_LISTEN || listener.sk_flags & SOCK_DEAD || listener.icsk_accept_queue.length >= listener.sk_max_ack_backlog) {
    k.stats.listenOverflows++;
    k.tr?.exit();
    return;
  }
  const child = tcp_v4_syn_recv_sock(k, listener, req);
  k.hash.ehash.set(key, child); // inet_ehash_nolisten
  if (isEmptyQueue(listener.icsk_accept_queue)) listener.icsk_accept_queue = []; // allocated on first use
  listener.icsk_accept_queue.push(child); // inet_csk_reqsk_queue_add
  k.tr?.leaf("inet_csk_complete_hashdance(sk, child, req, own_req)", "inet_csk_reqsk_queue_add: 全连接队列 (accept queue)");
  k.tr?.exit();
  // tcp_child_process: the child moves to ESTABLISHED; the listener's reader is woken
  k.tr?.enter("tcp_child_process", "tcp_child_process(sk, nsk, skb)");
  child.sk_state = TCP_ESTABLISHED;
  k.tr?.leaf("tcp_rcv_state_process(child, skb)", "TCP_SYN_RECV -> TCP_ESTABLISHED");
  listener.sk_data_ready(k, listener);
  k.tr?.exit();
  void skb;
}

/** tcp_v4_syn_recv_sock -> tcp_create_openreq_child -> inet_csk_clone_lock -> sk_clone_lock. */
function tcp_v4_syn_recv_sock(k: Kernel, listener: TcpSock, req: RequestSock): TcpSock {
  k.tr?.enter("tcp_v4_syn_recv_sock", "inet_csk(sk)->icsk_af_ops->syn_recv_sock(sk, skb, req, NULL, req, &own_req) = tcp_v4_syn_recv_sock(...)", undefined, "->syn_recv_sock(");
  k.tr?.enter("tcp_create_openreq_child", "newsk = tcp_create_openreq_child(sk, req, skb)");
  k.tr?.enter("inet_csk_clone_lock", "newsk = inet_csk_clone_lock(sk, req, GFP_ATOMIC)");
  k.tr?.leaf("newsk = sk_clone_lock(sk, priority)", "sock_copy(newsk, sk): child 继承 sk_data_ready = sock_def_readable; sk_wq = NULL until accept (sock_graft)", "sk_clone_lock");
  k.tr?.exit();
  k.tr?.exit();
  const child = tcp_prot.alloc(k) as TcpSock;
  // sock_copy: everything the listener had, callbacks included; then the per-connection resets
  child.sk_family = listener.sk_family;
  child.sk_type = listener.sk_type;
  child.sk_protocol = IPPROTO_TCP;
  child.sk_rcvbuf = listener.sk_rcvbuf;
  child.sk_sndbuf = listener.sk_sndbuf;
  child.sk_rcvlowat = listener.sk_rcvlowat;
  child.sk_rcvtimeo = listener.sk_rcvtimeo;
  child.sk_sndtimeo = listener.sk_sndtimeo;
  child.sk_data_ready = listener.sk_data_ready;
  child.sk_state_change = listener.sk_state_change;
  child.sk_write_space = listener.sk_write_space;
  child.sk_error_report = listener.sk_error_report;
  child.sk_backlog_rcv = listener.sk_backlog_rcv;
  child.sk_wq = null; // sk_clone_lock: newsk->sk_wq = NULL
  child.sk_socket = null;
  child.sk_refcnt = 2;
  child.sk_state = TCP_SYN_RECV;
  child.inet_num = listener.inet_num;
  child.inet_daddr = req.saddr;
  child.inet_dport = req.sport;
  child.rcv_nxt = child.copied_seq = child.rcv_wup = req.rcv_isn + 1;
  child.rcv_wnd = tcp_openreq_init_rwin(listener); // tcp_create_openreq_child: req->rsk_rcv_wnd
  child.rcv_ssthresh = Math.min(child.rcv_wnd, tcpWindowClamp(child)); // and tcp_init_buffer_space
  child.snd_una = child.snd_nxt = child.write_seq = 1; // our SYN-ACK (ISN 0) was ACKed
  k.socks_alive++;
  k.tr?.exit();
  return child;
}
