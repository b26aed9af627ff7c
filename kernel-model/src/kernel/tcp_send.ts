// tcp_send.ts: tcp_sendmsg and the stream-socket send-buffer rules it uses.
// Linux 4.6.2: net/ipv4/tcp.c (tcp_sendmsg), net/core/stream.c (sk_stream_wait_connect,
// sk_stream_wait_memory, sk_stream_write_space, sk_stream_error; stream.c is not among the 70
// files: read from the same pristine commit), include/net/sock.h (sk_stream_memory_free,
// sk_stream_is_writeable). Book: the send side a server needs; the probe's TCP sender.
//
// Interface:
// * tcp_sendmsg(k, sk, msg, size) (process context): lock_sock; not ESTABLISHED/CLOSE_WAIT ->
//   sk_stream_wait_connect (sk_err, or -EPIPE); sk_err / SEND_SHUTDOWN -> -EPIPE; then per
//   message: sk_stream_memory_free (sk_wmem_queued < sk_sndbuf) or sk_stream_wait_memory
//   (-EAGAIN without a timeout; sleep until tcp_ack frees room and sk_stream_write_space wakes);
//   sk_stream_alloc_skb + skb_entail (sk_write_queue, sk_wmem_queued += truesize), the copy,
//   tcp_push -> tcp_write_xmit. release_sock runs the ACKs that arrived meanwhile (sk_backlog),
//   then its spin_unlock_bh runs the softirqs they raised.
// * sk_stream_write_space(k, sk): TCP's sk_write_space: wake writers (POLLOUT) once
//   sk_stream_is_writeable (free space >= half of what is queued).
//
// Model vs kernel: one skb per send() (messages up to one MSS, TCP_NODELAY: see tcp_output.ts);
// SIGPIPE is not sent (as if MSG_NOSIGNAL); no vm_wait (memory pressure) in sk_stream_wait_memory.

import type { Kernel } from "./kernel";
import { charge, TASK_INTERRUPTIBLE, type KGen } from "./sched";
import {
  lock_sock, release_sock, sk_sleep, skwq_has_sleeper, sock_error, sock_intr_errno, POLLOUT, POLLWRBAND, POLLWRNORM, SEND_SHUTDOWN,
  TCP_CLOSE_WAIT, TCP_ESTABLISHED, TCP_SYN_RECV, TCP_SYN_SENT, type Sock,
} from "./sock";
import type { SendMsghdr } from "./socket_send";
import { MSG_DONTWAIT } from "./socket";
import { DEFINE_WAIT, finish_wait, prepare_to_wait, wake_up_interruptible_poll } from "./wait";
import { schedule_timeout } from "./timer";
import { bhEnablePoint } from "./softirq";
import { sock_sndtimeo, SOCK_NOSPACE, SOCKWQ_ASYNC_NOSPACE } from "./sock_wmem";
import { tcp_sk } from "./tcp";
import { tcp_write_xmit, tcpDataSkb, TCP_LO_MSS } from "./tcp_output";
import { EAGAIN, EPIPE } from "./errno";

/** sk_stream_memory_free(sk): sk_wmem_queued below sk_sndbuf. */
export function sk_stream_memory_free(sk: Sock): boolean {
  return tcp_sk(sk).sk_wmem_queued < sk.sk_sndbuf;
}

/** sk_stream_is_writeable(sk): sk_stream_wspace >= sk_stream_min_wspace and memory free. */
export function sk_stream_is_writeable(sk: Sock): boolean {
  const q = tcp_sk(sk).sk_wmem_queued;
  return sk.sk_sndbuf - q >= q >> 1 && sk_stream_memory_free(sk);
}

/** sk_stream_write_space(sk): TCP's sk_write_space (tcp_init_sock). */
export function sk_stream_write_space(k: Kernel, sk: Sock): void {
  k.tr?.enter("sk_stream_write_space", "sk->sk_write_space(sk) = sk_stream_write_space(sk)");
  const sock = sk.sk_socket;
  if (sk_stream_is_writeable(sk) && sock) {
    sock.flags &= ~(1 << SOCK_NOSPACE);
    if (skwq_has_sleeper(sk.sk_wq)) wake_up_interruptible_poll(k, sk.sk_wq!.wait, POLLOUT | POLLWRNORM | POLLWRBAND);
  }
  k.tr?.exit();
}

/** sk_stream_error(sk, flags, err): -EPIPE becomes the pending error, if any. */
function sk_stream_error(sk: Sock, err: number): number {
  if (err === -EPIPE) err = sock_error(sk) || -EPIPE;
  return err;
}

/** sk_stream_wait_memory(sk, &timeo): 0 when there is room, -EAGAIN, -EPIPE, or a signal. */
function* sk_stream_wait_memory(k: Kernel, sk: Sock, timeo: { v: number }): KGen<number> {
  k.tr?.enter("sk_stream_wait_memory", "sk_stream_wait_memory(sk, &timeo)", "发送缓冲区满: 等待 ACK 释放空间");
  const wait = DEFINE_WAIT(k);
  let err = 0;
  for (;;) {
    if (sk.sk_wq) sk.sk_wq.flags |= 1 << SOCKWQ_ASYNC_NOSPACE;
    prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
    if (sk.sk_err || sk.sk_shutdown & SEND_SHUTDOWN) {
      err = -EPIPE;
      break;
    }
    if (!timeo.v) {
      if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
      err = -EAGAIN;
      break;
    }
    if (k.current.sigpending) {
      err = sock_intr_errno(timeo.v);
      break;
    }
    if (sk.sk_wq) sk.sk_wq.flags &= ~(1 << SOCKWQ_ASYNC_NOSPACE);
    if (sk_stream_memory_free(sk)) break;
    if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
    // sk_wait_event(sk, &current_timeo, sk_err || SEND_SHUTDOWN || sk_stream_memory_free(sk))
    release_sock(k, sk);
    yield* bhEnablePoint(k, "release_sock");
    if (!(sk.sk_err || sk.sk_shutdown & SEND_SHUTDOWN || sk_stream_memory_free(sk))) timeo.v = yield* schedule_timeout(k, timeo.v);
    yield* lock_sock(k, sk);
  }
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return err;
}

/** tcp_sendmsg(sk, msg, size). */
export function* tcp_sendmsg(k: Kernel, sk: Sock, msg: SendMsghdr, size: number): KGen<number> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_sendmsg", "tcp_sendmsg(sk, msg, size)");
  yield* lock_sock(k, sk);
  let err = 0;
  let copied = 0;
  try {
    const timeo = { v: sock_sndtimeo(sk, msg.msg_flags & MSG_DONTWAIT) };
    if (sk.sk_state !== TCP_ESTABLISHED && sk.sk_state !== TCP_CLOSE_WAIT) {
      // sk_stream_wait_connect(sk, &timeo)
      err = sock_error(sk);
      if (!err && sk.sk_state !== TCP_SYN_SENT && sk.sk_state !== TCP_SYN_RECV) err = -EPIPE;
      if (err) {
        k.tr?.leaf(`sk_stream_wait_connect(sk, &timeo) = ${err}`, "not connected");
        return err; // do_error with nothing copied -> out_err
      }
    }
    if (sk.sk_err || sk.sk_shutdown & SEND_SHUTDOWN) {
      err = sk_stream_error(sk, -EPIPE);
      k.tr?.leaf(`sk->sk_err || (sk->sk_shutdown & SEND_SHUTDOWN): ${err}`, "SIGPIPE not modelled (as MSG_NOSIGNAL)");
      return err;
    }
    if (sk.inet_daddr !== "127.0.0.1") {
      throw new Error(`tcp_sendmsg: the model transmits TCP only over lo (this connection's peer is ${sk.inet_daddr}, behind eth0)`);
    }
    if (size > TCP_LO_MSS) throw new RangeError(`tcp_sendmsg: the model sends one segment per send(), at most ${TCP_LO_MSS} bytes, got ${size}`);
    if (size === 0) return 0;
    while (!sk_stream_memory_free(sk)) {
      // wait_for_sndbuf: set_bit(SOCK_NOSPACE, &sk->sk_socket->flags); wait_for_memory
      if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
      k.tr?.leaf(`!sk_stream_memory_free(sk): sk_wmem_queued ${tp.sk_wmem_queued} >= sk_sndbuf ${sk.sk_sndbuf}`);
      err = yield* sk_stream_wait_memory(k, sk, timeo);
      if (err) return sk_stream_error(sk, err);
    }
    charge(k, k.costs.sendmsg);
    // skb = sk_stream_alloc_skb(sk, select_size(sk, sg), sk->sk_allocation, ...); skb_entail
    const skb = tcpDataSkb(k, tp, size);
    skb.msgId = msg.msgId;
    skb.tstamp = msg.tstamp;
    tp.sk_write_queue.push(skb);
    tp.sk_wmem_queued += skb.truesize;
    k.tr?.leaf(`skb_entail(sk, skb): sk_wmem_queued += ${skb.truesize} (= ${tp.sk_wmem_queued})`, "放入 sk_write_queue", "skb_entail");
    k.tr?.leaf(`skb_add_data_nocache(sk, skb, &msg->msg_iter, ${size})`, "从用户空间拷贝数据");
    charge(k, size * k.costs.copyPerByte);
    tp.write_seq += size;
    copied = size;
    // tcp_push(sk, flags, mss_now, tp->nonagle (TCP_NAGLE_OFF), size_goal) -> __tcp_push_pending_frames
    k.tr?.enter("tcp_push", "tcp_push(sk, flags, mss_now, TCP_NAGLE_OFF, size_goal)");
    k.tr?.enter("__tcp_push_pending_frames", "__tcp_push_pending_frames(sk, cur_mss, nonagle)");
    yield* tcp_write_xmit(k, sk);
    k.tr?.exit();
    k.tr?.exit();
    return copied;
  } finally {
    release_sock(k, sk); // the ACKs that came back while we held the lock: tcp_ack
    yield* bhEnablePoint(k, "release_sock");
    k.tr?.exit();
  }
}
