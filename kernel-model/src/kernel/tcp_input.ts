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
//
// Model vs kernel: no ACK sending, no window, no coalescing (tcp_try_coalesce), no urgent data;
// a segment over the receive buffer is dropped (the peer retransmits it after an RTO).

import type { Kernel } from "./kernel";
import {
  sk_forced_mem_schedule, sk_rmem_schedule, skb_set_owner_r, sock_owned_by_user, SK_MEM_QUANTUM, SOCK_DEAD, SOCK_DONE, RCV_SHUTDOWN, TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_LISTEN,
  type SkBuff, type Sock,
} from "./sock";
import { charge } from "./sched";
import { tcp_sk } from "./tcp";
import { tcp_v4_conn_request } from "./tcp_ipv4";

/** tcp_rcv_established(sk, skb, th, len). */
export function tcp_rcv_established(k: Kernel, sk: Sock, skb: SkBuff): void {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_rcv_established", "tcp_rcv_established(sk, skb, tcp_hdr(skb), skb->len)");
  // header prediction: in order, no flags beyond ACK, nothing out of order
  if (skb.seq === tp.rcv_nxt && !skb.fin && !skb.syn && !skb.rst && tp.out_of_order_queue.length === 0 && skb.len > 0) {
    let eaten = false;
    if (tp.ucopy.task === k.current && tp.copied_seq === tp.rcv_nxt && skb.len <= tp.ucopy.len && sock_owned_by_user(sk)) {
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
    sk.sk_data_ready(k, sk);
  } else {
    k.tr?.leaf("tcp_validate_incoming(sk, skb, th, 1)", "slow path (FIN, out of order, no data)", "tcp_validate_incoming");
    step5(k, sk, skb);
  }
  k.tr?.exit();
}

/** step5 of tcp_rcv_established: tcp_ack, then tcp_data_queue (step 7, the segment text). */
function step5(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.leaf("tcp_ack(sk, skb, FLAG_SLOWPATH | FLAG_UPDATE_TS_RECENT)", "ACK processing (nothing sent: no transmit side)", "tcp_ack");
  tcp_data_queue(k, sk, skb);
}

/** tcp_queue_rcv: append to sk_receive_queue, charge sk_rmem_alloc (sk_mem_charge), advance rcv_nxt. */
export function tcp_queue_rcv(k: Kernel, sk: Sock, skb: SkBuff, text = "tcp_queue_rcv(sk, skb, 0, &fragstolen)"): void {
  k.tr?.enter("tcp_queue_rcv", text, "数据放到 socket 接收队列");
  k.tr?.leaf("__skb_queue_tail(&sk->sk_receive_queue, skb)");
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
    if (skb.len > 0 && !empty && !sk_rmem_schedule(sk, skb.truesize)) {
      // tcp_try_rmem_schedule failed even after pruning: drop (TCPRcvQDrop)
      k.tr?.leaf("tcp_try_rmem_schedule(sk, skb, skb->truesize)", "failed: sk_rmem_alloc over sk_rcvbuf: drop (TCPRcvQDrop)", "tcp_try_rmem_schedule");
      sk.sk_drops++;
      k.stats.socketDrops++;
      skb.onDrop?.(k, skb, "rcvbuf");
    } else {
      tcp_queue_rcv(k, sk, skb);
      if (skb.fin) tcp_fin(k, sk);
      tcp_ofo_queue(k, sk);
      if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_data_ready(k, sk);
    }
  } else if (skb.seq > tp.rcv_nxt) {
    k.tr?.leaf("out of order: tcp_data_queue_ofo(sk, skb)", "乱序: 放入 out_of_order_queue, 不唤醒");
    ofoInsert(tp.out_of_order_queue, skb);
  } else {
    k.tr?.leaf("old duplicate: drop", "already received");
  }
  k.tr?.exit();
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

/** tcp_rcv_state_process: segments for non-ESTABLISHED socks (the listener's SYN here). */
export function tcp_rcv_state_process(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.enter("tcp_rcv_state_process", "tcp_rcv_state_process(sk, skb)");
  if (sk.sk_state === TCP_LISTEN) {
    if (skb.syn) tcp_v4_conn_request(k, sk, skb);
  } else if (sk.sk_state === TCP_CLOSE_WAIT) {
    // more after FIN: ignored
  } else {
    tcp_data_queue(k, sk, skb);
  }
  k.tr?.exit();
}
