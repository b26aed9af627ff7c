// tcp_input.ts: TCP segment processing: in-order data to sk_receive_queue, FIN, then sk_data_ready.
// Linux 4.6.2: net/ipv4/tcp_input.c. Book: §3.3.2 (tcp_rcv_established -> tcp_queue_rcv ->
// sk_data_ready), §3.4.4.
//
// Interface:
// * tcp_rcv_established(sk, skb): the fast path (in-order data, nothing out of order): when the
//   segment is processed in the reader's own context (prequeue or backlog, tp->ucopy.task ==
//   current, socket owned), the data is copied straight into the reader's buffer
//   (tcp_copy_to_iovec); otherwise, if skb->truesize fits in sk_forward_alloc (5392),
//   tcp_queue_rcv; then sk->sk_data_ready(sk). When it does not fit (a new socket starts at
//   0), and on the slow path (FIN, out of order), step5: tcp_ack -> tcp_data_queue, which
//   reserves memory (sk_forced_mem_schedule for an empty queue, else tcp_try_rmem_schedule),
//   calls tcp_queue_rcv(sk, skb, 0, ...) and sk_data_ready.
// * tcp_data_queue: in order -> queue (or drop when sk_rmem_alloc passes sk_rcvbuf), FIN ->
//   tcp_fin, drain the out-of-order queue; out of order -> out_of_order_queue.
// * tcp_fin: RCV_SHUTDOWN, SOCK_DONE, ESTABLISHED -> CLOSE_WAIT, sk_state_change (wake all).
// * tcp_rcv_state_process: the listener's SYN (tcp_v4_conn_request).
// * tcp_reset (a RST at rcv_nxt, via tcp_validate_incoming): sk_err = ECONNRESET (EPIPE after
//   the peer's FIN, ECONNREFUSED in SYN_SENT), sk_error_report, tcp_done (TCP_CLOSE,
//   sk_shutdown = SHUTDOWN_MASK, sk_state_change): poll sees POLLERR | POLLHUP | POLLIN | POLLRDHUP.
//
// * tcp_ack: one function for every caller (step5, the fast path's FLAG_DATA and bare-ACK
//   branches, tcp_rcv_state_process, tcp_rcv_synsent_state_process): always traced; when the
//   segment acks data of the model's own TCP over lo, tcp_clean_rtx_queue frees it
//   (sk_wmem_queued, packets_out), then tcp_data_snd_check (tcp_push_pending_frames,
//   tcp_check_space -> tcp_new_space -> sk_write_space) and tcp_ack_snd_check / __tcp_ack_snd_check
//   -> tcp_send_ack; tcp_rcv_synsent_state_process -> tcp_finish_connect for connect().
//
// * The window: tcp_event_data_recv's tcp_grow_window raises rcv_ssthresh; every ACK chooses
//   the advertised window (tcp_output.ts tcp_select_window).
//
// Model vs kernel: an ACK is sent at once for every segment (quick-ACK mode: no delayed ACKs,
// no ato): over lo a real segment (traced); to a remote peer that reads the window (skb->peer)
// it is told to the peer, untraced (tcp_output.ts tcpSendAckRemote). No coalescing
// (tcp_try_coalesce), no urgent data. The out-of-order queue is not charged to sk_rmem_alloc. A
// segment that finds sk_rmem_alloc over sk_rcvbuf is dropped (tcp_prune_queue's collapse into
// compact skbs is not modelled, so small segments, whose truesize is many times their payload,
// can still overrun a window sized for full ones); a remote peer sends it again after an RTO,
// over lo it is lost (the model's own sender ignores the window).

import type { Kernel } from "./kernel";
import {
  sk_forced_mem_schedule, skb_set_owner_r, sock_owned_by_user, SK_MEM_QUANTUM, SOCK_DEAD, SOCK_DONE, RCV_SHUTDOWN,
  TCP_CLOSE, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_FIN_WAIT1, TCP_LAST_ACK, TCP_LISTEN, TCP_SYN_SENT,
  type SkBuff, type Sock,
} from "./sock";
import { charge } from "./sched";
import { tcp_done, tcp_sk } from "./tcp";
import {
  atomicRun, tcp_send_ack, tcp_space, tcp_win_from_space, tcp_write_xmit, tcpOverLo, tcpSendAckRemote, tcpWindowClamp,
  TCP_ADVMSS, TCP_RCV_MSS, TCP_RMEM_MAX,
} from "./tcp_output";
import { SOCK_NOSPACE } from "./sock_wmem";
import { ECONNREFUSED, ECONNRESET, EPIPE, errnoName } from "./errno";
import { tcp_v4_conn_request } from "./tcp_ipv4";
import { isEmptyQueue } from "./list";

/** tcp_rcv_established(sk, skb, th, len). */
export function tcp_rcv_established(k: Kernel, sk: Sock, skb: SkBuff): void {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_rcv_established", "tcp_rcv_established(sk, skb, tcp_hdr(skb), skb->len)");
  // header prediction: in order, no flags beyond ACK, nothing out of order
  const predicted = skb.seq === tp.rcv_nxt && !skb.fin && !skb.syn && !skb.rst && tp.out_of_order_queue.length === 0;
  if (predicted && skb.len === 0 && skb.ack_seq !== undefined) {
    // tcp_input.c:5351: a bare ACK for what we sent (the model's own TCP, over lo)
    tcp_data_snd_check(k, sk, tcp_ack(k, sk, skb, "tcp_ack(sk, skb, 0)"));
  } else if (skb.seq === tp.rcv_nxt && !skb.fin && !skb.syn && !skb.rst && tp.out_of_order_queue.length === 0 && skb.len > 0) {
    let eaten = false;
    // tcp_copy_to_iovec fails on an unmapped buffer (msg_iter.fault): not eaten, queued instead
    if (tp.ucopy.task === k.current && tp.copied_seq === tp.rcv_nxt && skb.len <= tp.ucopy.len && sock_owned_by_user(sk) && !tp.ucopy.msg?.msg_iter.fault) {
      // in the reader's context (prequeue / backlog): tcp_copy_to_iovec, straight to user space
      k.tr?.leaf("tcp_copy_to_iovec(sk, skb, tcp_header_len)", "进程上下文: 直接拷贝到用户缓冲区 (ucopy)", "tcp_copy_to_iovec");
      charge(k, skb.len * k.costs.copyPerByte);
      tp.ucopy.len -= skb.len;
      tp.copied_seq += skb.len;
      tp.rcv_nxt = skb.end_seq; // tcp_rcv_nxt_update
      tp.ucopy.msg?.msg_iter.consumed.push(skb);
      eaten = true;
    }
    if (!eaten) {
      if (skb.truesize > sk.sk_forward_alloc) {
        // tcp_input.c:5392: no receive memory reserved yet (a new socket's sk_forward_alloc is 0)
        k.tr?.leaf(`if ((int)skb->truesize > sk->sk_forward_alloc) goto step5;`, `${skb.truesize} > ${sk.sk_forward_alloc}: the slow path`,
          "", "(int)skb->truesize>sk->sk_forward_alloc");
        step5(k, sk, skb);
        k.tr?.exit();
        return;
      }
      tcp_queue_rcv(k, sk, skb, "tcp_queue_rcv(sk, skb, tcp_header_len, &fragstolen)");
    }
    tcp_event_data_recv(sk, skb);
    if (skb.ack_seq !== undefined && skb.ack_seq !== tp.snd_una) {
      // tcp_input.c:5416: data that also ACKs what we sent (the model's own TCP, over lo)
      tcp_data_snd_check(k, sk, tcp_ack(k, sk, skb, "tcp_ack(sk, skb, FLAG_DATA)"));
    }
    tcpAckSndCheck(k, sk, skb, false);
    sk.sk_data_ready(k, sk);
  } else if (skb.rst) {
    tcp_validate_incoming(k, sk, skb);
  } else {
    k.tr?.leaf("tcp_validate_incoming(sk, skb, th, 1)", "slow path (FIN, out of order, no data)", "tcp_validate_incoming");
    step5(k, sk, skb);
  }
  k.tr?.exit();
}

/** tcp_validate_incoming(sk, skb, th, syn_inerr), its RST step (RFC 5961 3.2): a RST exactly at
 *  rcv_nxt resets the connection; one elsewhere in the window only earns a challenge ACK. */
function tcp_validate_incoming(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.enter("tcp_validate_incoming", "tcp_validate_incoming(sk, skb, th, 1)", "th->rst");
  if (skb.seq === tcp_sk(sk).rcv_nxt) tcp_reset(k, sk);
  else k.tr?.leaf("tcp_send_challenge_ack(sk, skb)", "RST not at rcv_nxt: ignored (challenge ACK)");
  k.tr?.exit();
}

/** tcp_ack(sk, skb, flag): the peer ACKed up to ack_seq: tcp_clean_rtx_queue frees what it
 *  covers (sk_wmem_queued, packets_out). Returns the bytes freed (SOCK_QUEUE_SHRUNK) for the
 *  caller's tcp_data_snd_check. An ACK of nothing new (the receive path from a remote peer,
 *  whose data ACKs nothing we sent) only passes through. */
export function tcp_ack(k: Kernel, sk: Sock, skb: SkBuff, text: string): number {
  const tp = tcp_sk(sk);
  const ack = skb.ack_seq;
  const fresh = ack !== undefined && ack > tp.snd_una && ack <= tp.snd_nxt;
  k.tr?.enter("tcp_ack", text, fresh ? `snd_una ${tp.snd_una} -> ${ack}` : "nothing newly acked");
  let freed = 0;
  if (fresh) {
    tp.snd_una = ack;
    k.tr?.enter("tcp_clean_rtx_queue", "tcp_clean_rtx_queue(sk, prior_fackets, prior_snd_una, &acked, &sack_state)");
    while (tp.sk_write_queue.length > 0 && tp.sk_write_queue[0].end_seq <= ack) {
      const s = tp.sk_write_queue.shift()!; // tcp_unlink_write_queue; sk_wmem_free_skb
      tp.sk_wmem_queued -= s.truesize;
      tp.packets_out--;
      freed += s.truesize;
    }
    k.tr?.leaf("sk_wmem_free_skb(sk, skb)", `sk_wmem_queued -= ${freed} (= ${tp.sk_wmem_queued}); packets_out = ${tp.packets_out}`, "sk_wmem_free_skb");
    k.tr?.exit();
  }
  k.tr?.exit();
  return freed;
}

/** tcp_ack_snd_check / __tcp_ack_snd_check(sk, ofo_possible): the model ACKs every segment at
 *  once (quick-ACK mode). Over lo the ACK is a real segment (tcp_send_ack, traced); to a remote
 *  host it is chosen and told to the peer if it reads ACKs (tcpSendAckRemote), untraced:
 *  per-segment ACK lines would change every trace of a remote connection. */
function tcpAckSndCheck(k: Kernel, sk: Sock, skb: SkBuff, viaInline: boolean): void {
  if (sk.sk_state === TCP_CLOSE) return;
  if (!tcpOverLo(sk)) {
    tcpSendAckRemote(k, sk, skb.peer);
    return;
  }
  if (viaInline) k.tr?.enter("tcp_ack_snd_check", "tcp_ack_snd_check(sk)");
  k.tr?.enter("__tcp_ack_snd_check", `__tcp_ack_snd_check(sk, ${viaInline ? 1 : 0})`, "quick ACK: tcp_send_ack");
  tcp_send_ack(k, sk);
  k.tr?.exit();
  if (viaInline) k.tr?.exit();
}

/** tcp_data_snd_check(sk): tcp_push_pending_frames (the cwnd has room again), then
 *  tcp_check_space (writers that found no room: tcp_new_space -> sk_write_space). Traced only
 *  when it has work: the model transmits TCP over lo only. */
function tcp_data_snd_check(k: Kernel, sk: Sock, freed: number): void {
  const tp = tcp_sk(sk);
  if (sk.sk_state !== TCP_ESTABLISHED && sk.sk_state !== TCP_CLOSE_WAIT) return;
  const pending = tp.sk_write_queue.some((s) => s.seq >= tp.snd_nxt);
  const space = freed > 0 && !!sk.sk_socket && (sk.sk_socket.flags & (1 << SOCK_NOSPACE)) !== 0;
  if (!pending && !space) return;
  k.tr?.enter("tcp_data_snd_check", "tcp_data_snd_check(sk)");
  if (pending) {
    k.tr?.enter("tcp_push_pending_frames", "tcp_push_pending_frames(sk)");
    k.tr?.enter("__tcp_push_pending_frames", "__tcp_push_pending_frames(sk, tcp_current_mss(sk), tp->nonagle)");
    atomicRun(k, tcp_write_xmit(k, sk));
    k.tr?.exit();
    k.tr?.exit();
  }
  if (space) {
    k.tr?.enter("tcp_check_space", "tcp_check_space(sk)", "SOCK_QUEUE_SHRUNK, SOCK_NOSPACE");
    k.tr?.enter("tcp_new_space", "tcp_new_space(sk)");
    sk.sk_write_space(k, sk);
    k.tr?.exit();
    k.tr?.exit();
  }
  k.tr?.exit();
}

/** tcp_rcv_synsent_state_process(sk, skb, th): our SYN was answered: a SYN-ACK for it makes
 *  the connection ESTABLISHED (tcp_finish_connect wakes connect()) and we ACK it. */
function tcp_rcv_synsent_state_process(k: Kernel, sk: Sock, skb: SkBuff): void {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_rcv_synsent_state_process", "tcp_rcv_synsent_state_process(sk, skb, th)");
  try {
    if (skb.rst) {
      if (skb.ack_seq === tp.snd_nxt) tcp_reset(k, sk); // ECONNREFUSED
      return;
    }
    if (!(skb.syn && skb.ack_seq === tp.snd_nxt)) return; // not for our SYN: dropped
    tcp_ack(k, sk, skb, "tcp_ack(sk, skb, FLAG_SLOWPATH)"); // frees the SYN
    tp.rcv_nxt = tp.copied_seq = skb.seq + 1;
    k.tr?.enter("tcp_finish_connect", "tcp_finish_connect(sk, skb)", "TCP_SYN_SENT -> TCP_ESTABLISHED");
    sk.sk_state = TCP_ESTABLISHED;
    if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_state_change(k, sk);
    k.tr?.exit();
    tcp_send_ack(k, sk);
  } finally {
    k.tr?.exit();
  }
}

/** tcp_reset(sk): the peer reset the connection: sk_err by state, sk_error_report, tcp_done. */
export function tcp_reset(k: Kernel, sk: Sock): void {
  k.tr?.enter("tcp_reset", "tcp_reset(sk)");
  try {
    // We want the right error as BSD sees it (and indeed as we do).
    if (sk.sk_state === TCP_SYN_SENT) sk.sk_err = ECONNREFUSED;
    else if (sk.sk_state === TCP_CLOSE_WAIT) sk.sk_err = EPIPE;
    else if (sk.sk_state === TCP_CLOSE) return;
    else sk.sk_err = ECONNRESET;
    k.tr?.leaf(`sk->sk_err = ${errnoName(-sk.sk_err).replace("-", "")}`);
    if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_error_report(k, sk);
    tcp_done(k, sk);
  } finally {
    k.tr?.exit();
  }
}

/** step5 of tcp_rcv_established: tcp_ack, tcp_data_queue (step 7, the segment text), then
 *  tcp_data_snd_check and tcp_ack_snd_check. */
function step5(k: Kernel, sk: Sock, skb: SkBuff): void {
  const freed = tcp_ack(k, sk, skb, "tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT)");
  tcp_data_queue(k, sk, skb);
  tcp_data_snd_check(k, sk, freed);
  if (skb.end_seq !== skb.seq) tcpAckSndCheck(k, sk, skb, true);
}

/** tcp_event_data_recv(sk, skb), for the window only: a data segment of 128 bytes or more may
 *  raise rcv_ssthresh (tcp_grow_window). MODEL: no delayed-ACK engine (ato, quick-ACK count)
 *  and no rcv_mss measurement: the model ACKs every segment, and rcv_mss is TCP_RCV_MSS. */
function tcp_event_data_recv(sk: Sock, skb: SkBuff): void {
  if (skb.len >= 128) tcp_grow_window(sk, skb);
}

/** tcp_grow_window(sk, skb): raise rcv_ssthresh, the ceiling of the advertised window, when
 *  segments like this one fit the buffer with their overhead: check #1, the window is not at
 *  window_clamp nor beyond the free space; check #2, half of truesize as window still covers
 *  the payload (else __tcp_grow_window). MODEL: never under memory pressure. */
function tcp_grow_window(sk: Sock, skb: SkBuff): void {
  const tp = tcp_sk(sk);
  const clamp = tcpWindowClamp(sk);
  if (tp.rcv_ssthresh < clamp && tp.rcv_ssthresh < tcp_space(sk)) {
    let incr = tcp_win_from_space(skb.truesize) <= skb.len ? 2 * TCP_ADVMSS : __tcp_grow_window(sk, skb);
    if (incr) {
      incr = Math.max(incr, 2 * skb.len);
      tp.rcv_ssthresh = Math.min(tp.rcv_ssthresh + incr, clamp);
    }
  }
}

/** __tcp_grow_window(sk, skb): the slow part of check #2: would this skb's overhead fit if
 *  the buffer grew to tcp_rmem[2]? Then two segments' worth, else nothing. */
function __tcp_grow_window(sk: Sock, skb: SkBuff): number {
  const tp = tcp_sk(sk);
  let truesize = tcp_win_from_space(skb.truesize) >> 1;
  let window = tcp_win_from_space(TCP_RMEM_MAX) >> 1;
  while (tp.rcv_ssthresh <= window) {
    if (truesize <= skb.len) return 2 * TCP_RCV_MSS; // 2 * inet_csk(sk)->icsk_ack.rcv_mss
    truesize >>= 1;
    window >>= 1;
  }
  return 0;
}

/** tcp_queue_rcv: append to sk_receive_queue, charge sk_rmem_alloc (sk_mem_charge), advance rcv_nxt. */
export function tcp_queue_rcv(k: Kernel, sk: Sock, skb: SkBuff, text = "tcp_queue_rcv(sk, skb, 0, &fragstolen)"): void {
  k.tr?.enter("tcp_queue_rcv", text, "数据放到 socket 接收队列");
  k.tr?.leaf("__skb_queue_tail(&sk->sk_receive_queue, skb)");
  if (isEmptyQueue(sk.sk_receive_queue)) sk.sk_receive_queue = []; // allocated on first use
  sk.sk_receive_queue.push(skb);
  k.tr?.leaf("skb_set_owner_r(skb, sk)", `sk_mem_charge: sk_forward_alloc -= ${skb.truesize}`);
  skb_set_owner_r(skb, sk);
  tcp_sk(sk).rcv_nxt = skb.end_seq; // tcp_rcv_nxt_update
  k.tr?.exit();
}

/** tcp_data_queue: the slow path's data handling. */
export function tcp_data_queue(k: Kernel, sk: Sock, skb: SkBuff): void {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_data_queue", "tcp_data_queue(sk, skb)");
  if (skb.end_seq === skb.seq) {
    // nothing in sequence space (a pure ACK): no data, no wakeup
  } else if (skb.seq === tp.rcv_nxt) {
    const empty = sk.sk_receive_queue.length === 0;
    if (skb.len > 0 && empty) {
      // tcp_input.c:4629: an empty queue always gets its first skb's memory
      k.tr?.leaf("sk_forced_mem_schedule(sk, skb->truesize)", `sk_forward_alloc += ${Math.ceil(skb.truesize / SK_MEM_QUANTUM) * SK_MEM_QUANTUM} (whole pages)`);
      sk_forced_mem_schedule(sk, skb.truesize);
    }
    if (skb.len > 0 && !empty && !tcp_try_rmem_schedule(sk, skb.truesize)) {
      // tcp_try_rmem_schedule failed even after pruning: drop (TCPRcvQDrop)
      k.tr?.leaf("tcp_try_rmem_schedule(sk, skb, skb->truesize)", "failed: sk_rmem_alloc over sk_rcvbuf: drop (TCPRcvQDrop)", "tcp_try_rmem_schedule");
      sk.sk_drops++;
      k.stats.socketDrops++;
      skb.onDrop?.(k, skb, "rcvbuf");
    } else {
      tcp_queue_rcv(k, sk, skb);
      if (skb.len > 0) tcp_event_data_recv(sk, skb);
      if (skb.fin) tcp_fin(k, sk);
      tcp_ofo_queue(k, sk);
      if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_data_ready(k, sk);
    }
  } else if (skb.seq > tp.rcv_nxt) {
    k.tr?.leaf("out of order: tcp_data_queue_ofo(sk, skb)", "乱序: 放入 out_of_order_queue, 不唤醒");
    if (isEmptyQueue(tp.out_of_order_queue)) tp.out_of_order_queue = []; // allocated on first use
    ofoInsert(tp.out_of_order_queue, skb);
    tcp_grow_window(sk, skb); // tcp_data_queue_ofo
  } else {
    k.tr?.leaf("old duplicate: drop", "already received");
  }
  k.tr?.exit();
}

/** tcp_try_rmem_schedule(sk, skb, size): the receive buffer takes the segment unless
 *  sk_rmem_alloc is already over sk_rcvbuf (the test is before the charge, so the last skb
 *  may overshoot, as in 4.6.2); then tcp_prune_queue would collapse the queue into compact
 *  skbs, which the model does not do, so the segment is dropped. Memory is reserved in whole
 *  pages (sk_rmem_schedule; no global tcp_mem pressure in the model). */
function tcp_try_rmem_schedule(sk: Sock, size: number): boolean {
  if (sk.sk_backlog.rmem_alloc > sk.sk_rcvbuf) return false;
  if (size > sk.sk_forward_alloc) sk_forced_mem_schedule(sk, size);
  return true;
}

/** The out-of-order queue stays sorted by seq (tcp_data_queue_ofo walks its rb-tree): a binary
 *  search finds the place; a segment whose seq is already queued is a duplicate and dropped. */
function ofoInsert(q: SkBuff[], skb: SkBuff): void {
  let lo = 0, hi = q.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (q[mid].seq < skb.seq) lo = mid + 1;
    else hi = mid;
  }
  if (lo < q.length && q[lo].seq === skb.seq) return;
  if (lo === q.length) q.push(skb);
  else q.splice(lo, 0, skb);
}

/** tcp_ofo_queue: move segments that are now in order to sk_receive_queue. */
function tcp_ofo_queue(k: Kernel, sk: Sock): void {
  const tp = tcp_sk(sk);
  while (tp.out_of_order_queue.length > 0 && tp.out_of_order_queue[0].seq <= tp.rcv_nxt) {
    const skb = tp.out_of_order_queue.shift()!;
    if (skb.end_seq <= tp.rcv_nxt) continue; // covered already
    tcp_queue_rcv(k, sk, skb);
    if (skb.fin) tcp_fin(k, sk);
  }
}

/** tcp_fin: the peer closed its side: EOF for the reader, wake everybody. */
export function tcp_fin(k: Kernel, sk: Sock): void {
  k.tr?.enter("tcp_fin", "tcp_fin(sk)", "对端关闭: RCV_SHUTDOWN, SOCK_DONE");
  sk.sk_shutdown |= RCV_SHUTDOWN;
  sk.sk_flags |= SOCK_DONE;
  if (sk.sk_state === TCP_ESTABLISHED) sk.sk_state = TCP_CLOSE_WAIT; // tcp_set_state
  if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_state_change(k, sk);
  k.tr?.exit();
}

/** tcp_rcv_state_process: segments for non-ESTABLISHED socks: the listener's SYN, the answer to
 *  our SYN, and (FIN_WAIT1, CLOSE_WAIT, LAST_ACK, ...) the ACK step, then data or a RST. */
export function tcp_rcv_state_process(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.enter("tcp_rcv_state_process", "tcp_rcv_state_process(sk, skb)");
  if (sk.sk_state === TCP_LISTEN) {
    if (skb.syn) tcp_v4_conn_request(k, sk, skb);
  } else if (sk.sk_state === TCP_SYN_SENT) {
    tcp_rcv_synsent_state_process(k, sk, skb);
  } else {
    const freed = skb.ack_seq !== undefined ? tcp_ack(k, sk, skb, "tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT)") : 0;
    const tp = tcp_sk(sk);
    if (sk.sk_flags & SOCK_DEAD && tp.snd_una === tp.write_seq && (sk.sk_state === TCP_FIN_WAIT1 || sk.sk_state === TCP_LAST_ACK)) {
      // an orphan (tcp_close) whose FIN is now ACKed: FIN_WAIT1 -> FIN_WAIT2 -> tcp_time_wait,
      // which ends in tcp_done; LAST_ACK -> tcp_done. MODEL: no timewait sock is left behind.
      if (sk.sk_state === TCP_FIN_WAIT1) k.tr?.leaf("tcp_time_wait(sk, TCP_FIN_WAIT2, tmo)", "orphan, FIN ACKed (TCP_FIN_WAIT2); the model keeps no timewait sock");
      tcp_done(k, sk);
      k.tr?.exit();
      return;
    }
    if (sk.sk_state === TCP_CLOSE_WAIT) {
      if (skb.rst) tcp_validate_incoming(k, sk, skb); // a RST after the FIN: EPIPE
      // more data after FIN: ignored
    } else {
      tcp_data_queue(k, sk, skb);
      tcp_data_snd_check(k, sk, freed);
      if (skb.end_seq !== skb.seq) tcpAckSndCheck(k, sk, skb, true);
    }
  }
  k.tr?.exit();
}
