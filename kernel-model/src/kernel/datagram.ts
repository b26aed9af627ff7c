// datagram.ts: generic datagram receive: taking one skb, or waiting exclusively for one.
// Linux 4.6.2: net/core/datagram.c. Book: §3.3 (UDP readers; the Kernel note on exclusive waits).
//
// Interface:
// * __skb_recv_datagram(sk, flags): __skb_try_recv_datagram unlinks the first skb of
//   sk_receive_queue; none -> -EAGAIN when non-blocking, else __skb_wait_for_more_packets and
//   retry; -EAGAIN after SO_RCVTIMEO, sock_intr_errno on a signal, 0 (EOF) after shutdown.
// * skb_copy_datagram_msg: the include/linux/skbuff.h inline over skb_copy_datagram_iter.
// * __skb_wait_for_more_packets: prepare_to_wait_EXCLUSIVE (tail) with receiver_wake_function:
//   sock_def_readable's nr_exclusive = 1 then wakes exactly one UDP reader per datagram.
// * datagram_poll: the UDP readiness mask.
//
// Model vs kernel: MSG_PEEK peeks at the first datagram (no SO_PEEK_OFF offsets); no busy
// polling or checksum-at-copy retries.

import type { Kernel } from "./kernel";
import { TASK_INTERRUPTIBLE, type KGen } from "./sched";
import { autoremove_wake_function, DEFINE_WAIT_FUNC, finish_wait, prepare_to_wait_exclusive, type WaitQueueEntry } from "./wait";
import {
  sk_sleep, sock_rfree, sock_error, sock_intr_errno, sock_rcvtimeo, RCV_SHUTDOWN, SHUTDOWN_MASK, POLLERR, POLLHUP, POLLIN,
  POLLRDNORM, POLLRDHUP, POLLOUT, POLLWRNORM, POLLWRBAND, SEND_SHUTDOWN, type SkBuff, type Sock,
} from "./sock";
import { sock_poll_wait } from "./poll";
import { schedule_timeout } from "./timer";
import { MSG_DONTWAIT, MSG_PEEK, type Socket } from "./socket";
import type { File, PollTable } from "./fs";
import { EAGAIN } from "./errno";
import { sock_writeable, SOCKWQ_ASYNC_NOSPACE } from "./sock_wmem";

/** receiver_wake_function: ignore wakeups whose key has neither POLLIN nor POLLERR. */
export function receiver_wake_function(k: Kernel, wait: WaitQueueEntry, mode: number, sync: number, key: number | null): number {
  k.tr?.enter("receiver_wake_function", "receiver_wake_function(wait, mode, sync, key)", undefined, "curr->func(");
  const r = key !== null && !(key & (POLLIN | POLLERR)) ? 0 : autoremove_wake_function(k, wait, mode, sync, key);
  k.tr?.exit();
  return r;
}

/** __skb_wait_for_more_packets(sk, &err, &timeo, last): 0 = look again, 1 = give up with *err. */
function* __skb_wait_for_more_packets(k: Kernel, sk: Sock, st: { err: number; timeo: number }, last: SkBuff | undefined): KGen<number> {
  k.tr?.enter("__skb_wait_for_more_packets", "__skb_wait_for_more_packets(sk, err, &timeo, last)");
  const wait = DEFINE_WAIT_FUNC(k, receiver_wake_function);
  prepare_to_wait_exclusive(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
  let error = 0;
  const q = sk.sk_receive_queue;
  const e = sock_error(sk);
  if (e) {
    st.err = e;
    error = 1;
  } else if (q[q.length - 1] !== last) {
    // a datagram arrived meanwhile: look again
  } else if (sk.sk_shutdown & RCV_SHUTDOWN) {
    st.err = 0;
    error = 1;
  } else if (k.current.sigpending) {
    st.err = sock_intr_errno(st.timeo);
    error = 1;
  } else {
    st.timeo = yield* schedule_timeout(k, st.timeo);
  }
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return error;
}

/** __skb_try_recv_datagram(sk, flags, peeked, off, err, &last): the first skb of
 *  sk_receive_queue, unlinked (__skb_unlink), or with MSG_PEEK left queued (skb_set_peeked,
 *  a reference taken); else *err = sock_error or -EAGAIN and null. */
function __skb_try_recv_datagram(k: Kernel, sk: Sock, flags: number, st: { err: number; last: SkBuff | undefined; peeked: boolean }): SkBuff | undefined {
  k.tr?.enter("__skb_try_recv_datagram", "__skb_try_recv_datagram(sk, flags, peeked, off, err, &last)");
  const q = sk.sk_receive_queue;
  st.last = q[q.length - 1];
  let skb: SkBuff | undefined;
  const e = sock_error(sk);
  if (e) st.err = e;
  else if (q.length === 0) st.err = -EAGAIN;
  else if (flags & MSG_PEEK) {
    skb = q[0]; // _off = 0 (no SO_PEEK_OFF): the first skb
    st.peeked = skb.peeked === true; // *peeked = skb->peeked, before skb_set_peeked sets it
    skb.peeked = true;
    k.tr?.leaf("skb = skb_set_peeked(skb)", "MSG_PEEK: 留在队列中 (atomic_inc(&skb->users))");
  } else {
    skb = q.shift()!;
    st.peeked = skb.peeked === true; // *peeked = skb->peeked
    k.tr?.leaf("__skb_unlink(skb, queue)", "出队");
  }
  k.tr?.exit();
  return skb;
}

/** __skb_recv_datagram(sk, flags, &peeked, &off, &err): an skb, or a negative errno (0 = EOF). */
export function* __skb_recv_datagram(k: Kernel, sk: Sock, flags: number, out?: { peeked: boolean }): KGen<SkBuff | number> {
  k.tr?.enter("__skb_recv_datagram", "__skb_recv_datagram(sk, flags | (noblock ? MSG_DONTWAIT : 0), &peeked, &off, &err)");
  try {
    const st = { err: 0, timeo: sock_rcvtimeo(sk, flags & MSG_DONTWAIT), last: undefined as SkBuff | undefined, peeked: false };
    for (;;) {
      const skb = __skb_try_recv_datagram(k, sk, flags, st);
      if (skb) {
        if (out) out.peeked = st.peeked;
        return skb;
      }
      if (st.err !== -EAGAIN) return st.err;
      if (!st.timeo) return -EAGAIN;
      if (yield* __skb_wait_for_more_packets(k, sk, st, st.last)) return st.err;
    }
  } finally {
    k.tr?.exit();
  }
}

/** skb_copy_datagram_msg (the include/linux/skbuff.h inline): skb_copy_datagram_iter into
 *  msg->msg_iter. The trace line only: the caller charges the copy. */
export function skb_copy_datagram_msg(k: Kernel, args: string, comment: string): void {
  k.tr?.enter("skb_copy_datagram_msg", `skb_copy_datagram_msg(${args})`, comment);
  k.tr?.leaf("skb_copy_datagram_iter(from, offset, &msg->msg_iter, size)", undefined, "skb_copy_datagram_iter");
  k.tr?.exit();
}

/** skb_free_datagram_locked: free the skb, uncharging sk_rmem_alloc (sock_rfree). */
export function skb_free_datagram_locked(sk: Sock, skb: SkBuff): void {
  sock_rfree(sk, skb);
}

/** datagram_poll(file, sock, wait). */
export function datagram_poll(k: Kernel, file: File, sock: Socket, wait: PollTable | null): number {
  const sk = sock.sk!;
  k.tr?.enter("datagram_poll", "datagram_poll(file, sock, wait)");
  sock_poll_wait(k, file, sk_sleep(sk), wait);
  let mask = 0;
  if (sk.sk_err) mask |= POLLERR;
  if (sk.sk_shutdown & RCV_SHUTDOWN) mask |= POLLRDHUP | POLLIN | POLLRDNORM;
  if (sk.sk_shutdown === SHUTDOWN_MASK) mask |= POLLHUP;
  if (sk.sk_receive_queue.length > 0) mask |= POLLIN | POLLRDNORM;
  // writable? (sock_writeable: less than half of sk_sndbuf in flight)
  if (sock_writeable(sk)) mask |= POLLOUT | POLLWRNORM | POLLWRBAND;
  else if (sk.sk_wq) sk.sk_wq.flags |= 1 << SOCKWQ_ASYNC_NOSPACE;
  k.tr?.exit();
  return mask;
}
