// tcp.ts: the TCP socket: struct tcp_sock, tcp_prot, inet_stream_ops, tcp_recvmsg, tcp_poll.
// Linux 4.6.2: net/ipv4/tcp.c, net/ipv4/tcp_ipv4.c (tcp_prot, tcp_v4_init_sock),
// include/linux/tcp.h. Book: §3.2 (sk_prot = tcp_prot), §3.3 (tcp_recvmsg -> sk_wait_data).
//
// Interface:
// * tcp_prot / inet_stream_ops: the tables inet_create installs for SOCK_STREAM.
// * tcp_recvmsg(sk, msg, len, nonblock, flags): copy from sk_receive_queue until `target`
//   (SO_RCVLOWAT, MSG_WAITALL) is reached; sleep in sk_wait_data when there is not enough.
//   4.6's prequeue: before sleeping the reader registers as tp->ucopy.task, so softirq hands it
//   segments unprocessed and it runs TCP itself (tcp_prequeue_process) when it wakes.
// * tcp_cleanup_rbuf, after a read: the window update (an ACK when the read freed enough
//   buffer to at least double the window on offer), to a remote peer that reads the window.
// * tcp_poll: the readiness mask epoll and poll() see.
//
// Model vs kernel: no sequence wraparound, congestion control, retransmission timers, urgent
// data or MSG_PEEK. ACKs are real segments only over lo (tcp_output.ts); to a remote peer behind eth0 they
// are told, not transmitted (tcpSendAckRemote). tcp_cleanup_rbuf never finds a delayed ACK
// pending (the model ACKs every segment when it arrives), and over lo it has no window to
// update.

import { skb_copy_datagram_msg } from "./datagram";
import type { Kernel } from "./kernel";
import { burn, type KGen, type TaskStruct } from "./sched";
import { PF_INET, MSG_TRUNC, MSG_PEEK, MSG_WAITALL, type Msghdr, type ProtoOps, type Socket } from "./socket";
import {
  sk_backlog_rcv, sk_free, SockZero, sk_eat_skb, sk_sleep, lock_sock, release_sock, sk_wait_data, sock_rcvtimeo, sock_rcvlowat,
  sock_intr_errno, sock_error, RCV_SHUTDOWN, SEND_SHUTDOWN, SHUTDOWN_MASK, SOCK_DEAD, SOCK_DONE, TCP_CLOSE, TCP_LISTEN,
  TCP_SYN_SENT, TCP_SYN_RECV, TCP_ESTABLISHED, TCP_CLOSE_WAIT, TCP_FIN_WAIT1, TCP_LAST_ACK,
  POLLIN, POLLRDNORM, POLLRDHUP, POLLHUP, POLLOUT, POLLWRNORM, POLLERR,
  type Proto, type SkBuff, type Sock,
} from "./sock";
import { inet_release, inet_recvmsg, inet_bind, inet_listen, inet_accept } from "./af_inet";
import { inet_sendmsg, inet_shutdown, inet_stream_connect } from "./af_inet_send";
import { tcp_sendmsg, sk_stream_is_writeable, sk_stream_write_space } from "./tcp_send";
import {
  TCP_INIT_CWND, tcp_send_fin, tcp_v4_connect, tcpOverLo, tcp_receive_window, __tcp_select_window, tcpSendAckRemote, tcpWindowClamp,
} from "./tcp_output";
import { SOCK_NOSPACE } from "./sock_wmem";
import { bhEnablePoint } from "./softirq";
import type { SendMsghdr } from "./socket_send";
import type { SockaddrIn } from "./socket";
import { tcp_v4_do_rcv } from "./tcp_ipv4";
import { sock_poll_wait } from "./poll";
import { inet_csk_accept } from "./inet_connection_sock";
import type { File, PollTable } from "./fs";
import { ehashKey } from "./inet_hashtables";
import { EAGAIN, EFAULT, ENOTCONN } from "./errno";
import { emptyQueue, takeAll } from "./list";

/** struct tcp_sock (include/linux/tcp.h) with inet_connection_sock's accept queue. */
export interface TcpSock extends Sock {
  /** Next sequence number expected from the peer (advanced by tcp_rcv_nxt_update). */
  rcv_nxt: number;
  /** Head of yet-unread data (advanced by tcp_recvmsg as it copies). */
  copied_seq: number;
  /** The receive window last advertised (tcp_select_window, at every ACK to a remote peer):
   *  rcv_wnd bytes from rcv_wup, which was rcv_nxt then. Over lo the model advertises none. */
  rcv_wnd: number;
  rcv_wup: number;
  /** The advertised window's ceiling: the SYN-ACK's window at first, raised by
   *  tcp_grow_window (softirq or the reader's TCP processing) up to window_clamp. */
  rcv_ssthresh: number;
  /** 4.6 only: the prequeue. task = the reader sleeping in tcp_recvmsg (tp->ucopy.task). A
   *  sock starts with the shared, frozen UCOPY_INIT (tcp_prequeue_init's zeroes); its own is
   *  allocated when tcp_recvmsg first writes to it, so an idle connection carries none. */
  ucopy: { prequeue: SkBuff[]; task: TaskStruct | null; len: number; memory: number; msg: Msghdr | null };
  out_of_order_queue: SkBuff[];
  /** icsk_accept_queue: established children waiting for accept(). */
  icsk_accept_queue: TcpSock[];
  /** listen(fd, backlog): the accept queue's limit. */
  sk_max_ack_backlog: number;
  /** The send side (tcp_output.ts, over lo): oldest unACKed byte, next to send, next to queue. */
  snd_una: number;
  snd_nxt: number;
  write_seq: number;
  /** sk_write_queue: sent-but-unACKed and not-yet-sent skbs, charged to sk_wmem_queued. */
  sk_write_queue: SkBuff[];
  sk_wmem_queued: number;
  /** Segments sent and not yet ACKed, and the congestion window (fixed: TCP_INIT_CWND). */
  packets_out: number;
  snd_cwnd: number;
}

/** tcp_prequeue_init's state, shared by every sock until its reader first writes tp->ucopy
 *  (frozen: a write that forgot to allocate throws instead of sharing). */
const UCOPY_INIT: TcpSock["ucopy"] = Object.freeze({ prequeue: emptyQueue<SkBuff>(), task: null, len: 0, memory: 0, msg: null }) as TcpSock["ucopy"];

/** tp->ucopy, the sock's own from here on (tcp_recvmsg, before its first write). */
function ucopyOwn(tp: TcpSock): TcpSock["ucopy"] {
  if (tp.ucopy === UCOPY_INIT) tp.ucopy = { prequeue: emptyQueue(), task: null, len: 0, memory: 0, msg: null };
  return tp.ucopy;
}

/** A zeroed tcp_sock (sk_prot_alloc of tcp_prot.obj_size): the sock's fields and TCP's in one
 *  object; the queues are the shared empty queue until their first skb. */
class TcpSockZero extends SockZero implements TcpSock {
  rcv_nxt = 0;
  copied_seq = 0;
  rcv_wnd = 0;
  rcv_wup = 0;
  rcv_ssthresh = 0;
  ucopy: TcpSock["ucopy"] = UCOPY_INIT;
  out_of_order_queue: SkBuff[] = emptyQueue();
  icsk_accept_queue: TcpSock[] = emptyQueue();
  sk_max_ack_backlog = 0;
  snd_una = 0;
  snd_nxt = 0;
  write_seq = 0;
  sk_write_queue: SkBuff[] = emptyQueue();
  sk_wmem_queued = 0;
  packets_out = 0;
  snd_cwnd = TCP_INIT_CWND;
  constructor(k: Kernel) {
    super(k, tcp_prot);
  }
}

export function tcp_sk(sk: Sock): TcpSock {
  return sk as TcpSock;
}

/** tcp_v4_init_sock -> tcp_init_sock (net/ipv4/tcp.c). */
export function tcp_v4_init_sock(k: Kernel, sk: Sock): number {
  k.tr?.enter("tcp_v4_init_sock", "tcp_v4_init_sock(sk)");
  k.tr?.enter("tcp_init_sock", "tcp_init_sock(sk)");
  const tp = tcp_sk(sk);
  tp.ucopy = UCOPY_INIT; // tcp_prequeue_init
  sk.sk_state = TCP_CLOSE;
  sk.sk_sndbuf = k.sysctl.tcp_wmem_default;
  sk.sk_rcvbuf = k.sysctl.tcp_rmem_default;
  sk.sk_write_space = sk_stream_write_space;
  k.tr?.leaf("sk->sk_sndbuf = sysctl_tcp_wmem[1];", `${sk.sk_sndbuf}`);
  k.tr?.leaf("sk->sk_rcvbuf = sysctl_tcp_rmem[1];", `${sk.sk_rcvbuf}`);
  k.tr?.exit();
  k.tr?.exit();
  return 0;
}

/** tcp_close(sk, timeout): unhash and free, except a connection over lo whose FIN is still
 *  unACKed (FIN_WAIT1, LAST_ACK): sock_orphan keeps it hashed ("socket is reprieved until
 *  protocol close", tcp.c) so the ACKs in flight still reach tcp_ack; tcp_rcv_state_process
 *  destroys it when its FIN is ACKed. MODEL: no FIN_WAIT2/TIME_WAIT life after that, and close()
 *  of an ESTABLISHED or CLOSE_WAIT socket sends no FIN (only shutdown() does). */
export function tcp_close(k: Kernel, sk: Sock, timeout: number): void {
  k.tr?.enter("tcp_close", "sk->sk_prot->close(sk, timeout) = tcp_close(sk, timeout)");
  const tp = tcp_sk(sk);
  if (sk.sk_state === TCP_LISTEN) {
    k.hash.listening.delete(sk.inet_num);
    for (const child of takeAll(tp.icsk_accept_queue)) tcp_close(k, child, 0); // inet_csk_listen_stop
  } else if (tcpOverLo(sk) && (sk.sk_state === TCP_FIN_WAIT1 || sk.sk_state === TCP_LAST_ACK) && tp.snd_una !== tp.write_seq) {
    sk.sk_shutdown = SHUTDOWN_MASK;
    sk.sk_flags |= SOCK_DEAD; // sock_orphan: sock_set_flag(sk, SOCK_DEAD); sk_set_socket(sk, NULL)
    sk.sk_socket = null;
    k.tr?.leaf("sock_orphan(sk)", `snd_una ${tp.snd_una} < write_seq ${tp.write_seq}: socket is reprieved until protocol close`);
    k.tr?.exit();
    void timeout;
    return;
  } else if (sk.inet_daddr) {
    k.hash.ehash.delete(ehashKey(k.hash, sk.inet_daddr, sk.inet_dport, sk.inet_num));
  }
  sk.sk_state = TCP_CLOSE;
  sk_free(k, sk);
  k.tr?.exit();
  void timeout;
}

/** tcp_done(sk) (net/ipv4/tcp.c): the connection is over: TCP_CLOSE (unhashed),
 *  sk_shutdown = SHUTDOWN_MASK, and sk_state_change wakes every waiter; an orphan is destroyed. */
export function tcp_done(k: Kernel, sk: Sock): void {
  k.tr?.enter("tcp_done", "tcp_done(sk)", "tcp_set_state(sk, TCP_CLOSE); sk->sk_shutdown = SHUTDOWN_MASK");
  if (sk.inet_daddr) k.hash.ehash.delete(ehashKey(k.hash, sk.inet_daddr, sk.inet_dport, sk.inet_num)); // sk_prot->unhash
  sk.sk_state = TCP_CLOSE;
  sk.sk_shutdown = SHUTDOWN_MASK;
  if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_state_change(k, sk);
  else sk_free(k, sk); // inet_csk_destroy_sock: an orphan (tcp_close) dies here
  k.tr?.exit();
}

/** tcp_shutdown(sk, how): SEND_SHUTDOWN in ESTABLISHED/SYN_RECV/CLOSE_WAIT moves to
 *  FIN_WAIT1 / LAST_ACK (tcp_close_state) and sends a FIN (tcp_send_fin). */
export function* tcp_shutdown(k: Kernel, sk: Sock, how: number): KGen<void> {
  k.tr?.enter("tcp_shutdown", "sk->sk_prot->shutdown(sk, how) = tcp_shutdown(sk, how)");
  if (how & SEND_SHUTDOWN && (sk.sk_state === TCP_ESTABLISHED || sk.sk_state === TCP_SYN_RECV || sk.sk_state === TCP_CLOSE_WAIT)) {
    const next = sk.sk_state === TCP_CLOSE_WAIT ? TCP_LAST_ACK : TCP_FIN_WAIT1; // new_state[]: | TCP_ACTION_FIN
    sk.sk_state = next; // tcp_close_state -> tcp_set_state
    if (tcpOverLo(sk)) yield* tcp_send_fin(k, sk);
    // MODEL: for a remote peer the FIN would leave on eth0; the model does not transmit on the wire
    else k.tr?.leaf("tcp_send_fin(sk)", `${next === TCP_LAST_ACK ? "CLOSE_WAIT -> LAST_ACK" : "-> FIN_WAIT1"}: FIN to the peer (not modelled on the wire)`, "tcp_send_fin");
  }
  k.tr?.exit();
}

/** tcp_prequeue_process: run the segments softirq left on the prequeue, in process context. */
function tcp_prequeue_process(k: Kernel, sk: Sock): void {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_prequeue_process", "tcp_prequeue_process(sk)", "TCP 协议处理在进程上下文完成");
  for (const skb of takeAll(tp.ucopy.prequeue)) sk_backlog_rcv(k, sk, skb); // local_bh_disable()
  tp.ucopy.memory = 0;
  k.tr?.exit();
}

/** tcp_recvmsg(sk, msg, len, nonblock, flags, &addr_len) (net/ipv4/tcp.c). */
export function* tcp_recvmsg(k: Kernel, sk: Sock, msg: Msghdr, len: number, nonblock: number, flags: number): KGen<number> {
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_recvmsg", "tcp_recvmsg(sk, msg, size, noblock, flags, &addr_len)");
  yield* lock_sock(k, sk);
  yield* burn(k.costs.recvmsg, "sys"); // under lock_sock: segments arriving now go to the backlog
  let copied = 0;
  if (sk.sk_state === TCP_LISTEN) {
    release_sock(k, sk);
    k.tr?.exit();
    return -ENOTCONN;
  }
  const timeo = { v: sock_rcvtimeo(sk, nonblock) };
  const target = sock_rcvlowat(sk, flags & MSG_WAITALL, len);
  let user_recv: TaskStruct | null = null;
  const me = k.current;
  // seq = &tp->copied_seq, or with MSG_PEEK &peek_seq: a peek reads without consuming
  const peek = (flags & MSG_PEEK) !== 0;
  // (*seq and *seq += n are written out where they occur: closures would stay alive, with
  // their context, for as long as the reader sleeps)
  let peek_seq = tp.copied_seq;
  do {
    const last = sk.sk_receive_queue[sk.sk_receive_queue.length - 1];
    // skb_queue_walk(&sk->sk_receive_queue, skb): the first skb that holds *seq (or a FIN)
    let skb: SkBuff | undefined;
    let offset = 0;
    for (const s of sk.sk_receive_queue) {
      offset = (peek ? peek_seq : tp.copied_seq) - s.seq; // *seq - TCP_SKB_CB(skb)->seq
      if (offset < s.len || s.fin) {
        skb = s;
        break;
      }
    }
    if (skb) {
      if (offset < skb.len) {
        // found_ok_skb
        const used = Math.min(skb.len - offset, len);
        if (!(flags & MSG_TRUNC)) {
          if (k.tr) skb_copy_datagram_msg(k, `skb, offset, msg, used = ${used}`, peek ? "拷贝到用户空间 (MSG_PEEK: *seq = peek_seq)" : "拷贝到用户空间");
          if (used > 0 && msg.msg_iter.fault) {
            // Exception. Bailout! (an unmapped buffer): -EFAULT if nothing was copied yet, else
            // the bytes copied so far; *seq does not move, the data stays queued
            if (!copied) copied = -EFAULT;
            break;
          }
          yield* burn(used * k.costs.copyPerByte, "sys");
        }
        if (peek) peek_seq += used; // *seq += used
        else tp.copied_seq += used;
        copied += used;
        len -= used;
        if (offset + used < skb.len) continue;
        if (skb.fin) {
          if (peek) peek_seq++; // found_fin_ok: ++*seq
          else tp.copied_seq++;
          if (!peek) eat(sk, skb, msg);
          break;
        }
        if (!peek) eat(sk, skb, msg);
        continue;
      }
      if (skb.fin) {
        if (peek) peek_seq++; // found_fin_ok: ++*seq
        else tp.copied_seq++;
        if (!peek) eat(sk, skb, msg);
        break;
      }
    }
    if (copied >= target && sk.sk_backlog.queue.length === 0) break;
    if (copied) {
      if (sk.sk_err || sk.sk_state === TCP_CLOSE || sk.sk_shutdown & RCV_SHUTDOWN || !timeo.v || me.sigpending) break;
    } else {
      if (sk.sk_flags & SOCK_DONE) break;
      if (sk.sk_err) {
        copied = sock_error(sk);
        break;
      }
      if (sk.sk_shutdown & RCV_SHUTDOWN) break;
      if (sk.sk_state === TCP_CLOSE) {
        if (!(sk.sk_flags & SOCK_DONE)) copied = -ENOTCONN;
        break;
      }
      if (!timeo.v) {
        copied = -EAGAIN;
        break;
      }
      if (me.sigpending) {
        copied = sock_intr_errno(timeo.v);
        break;
      }
    }
    let doPrequeue = false;
    if (!k.sysctl.tcp_low_latency && tp.ucopy.task === user_recv) {
      ucopyOwn(tp);
      // Install new reader: the softirq will now prequeue segments for us
      if (!user_recv && !(flags & (MSG_TRUNC | MSG_PEEK))) {
        user_recv = me;
        tp.ucopy.task = me;
        tp.ucopy.msg = msg;
        k.tr?.leaf("user_recv = current; tp->ucopy.task = user_recv;", "4.6 prequeue: 软中断将把数据包交给本进程处理");
      }
      tp.ucopy.len = len;
      if (tp.ucopy.prequeue.length > 0) doPrequeue = true;
    }
    if (!doPrequeue) {
      if (copied >= target) {
        release_sock(k, sk); // do not sleep, just process backlog
        yield* bhEnablePoint(k, "release_sock");
        yield* lock_sock(k, sk);
      } else {
        yield* sk_wait_data(k, sk, timeo, last);
      }
    }
    if (user_recv) {
      let chunk = len - tp.ucopy.len; // copied straight to user space by tcp_copy_to_iovec
      if (chunk) {
        len -= chunk;
        copied += chunk;
      }
      if (doPrequeue || (tp.rcv_nxt === tp.copied_seq && tp.ucopy.prequeue.length > 0)) {
        tcp_prequeue_process(k, sk);
        yield* bhEnablePoint(k, "tcp_prequeue_process"); // tcp_prequeue_process's local_bh_enable
        chunk = len - tp.ucopy.len;
        if (chunk) {
          len -= chunk;
          copied += chunk;
        }
      }
    }
  } while (len > 0);
  if (user_recv) {
    if (tp.ucopy.prequeue.length > 0) {
      tp.ucopy.len = copied > 0 ? len : 0;
      tcp_prequeue_process(k, sk);
      yield* bhEnablePoint(k, "tcp_prequeue_process");
      const chunk = len - tp.ucopy.len;
      if (copied > 0 && chunk) {
        len -= chunk;
        copied += chunk;
      }
    }
    tp.ucopy.task = null;
    tp.ucopy.len = 0;
    tp.ucopy.msg = null;
  }
  tcp_cleanup_rbuf(k, sk, copied, msg);
  release_sock(k, sk);
  yield* bhEnablePoint(k, "release_sock");
  k.tr?.exit();
  return copied;
}

/** tcp_cleanup_rbuf(sk, copied) (net/ipv4/tcp.c), its window update: ACK at once if this read
 *  freed enough buffer that the window can at least double ("Lots" means "at least twice"),
 *  and only when less than half of window_clamp is left on offer. The ACK goes to the remote
 *  peer that sent the data just read (tcpSendAckRemote). Traced as a leaf whatever it decides.
 *  MODEL: the first rule (an ACK already scheduled and due) never applies, as the model ACKs
 *  every segment when it arrives; over lo no window is advertised, so there is nothing to
 *  update. */
function tcp_cleanup_rbuf(k: Kernel, sk: Sock, copied: number, msg: Msghdr): void {
  if (tcpOverLo(sk)) {
    k.tr?.leaf("tcp_cleanup_rbuf(sk, copied)", "window update (not modelled)", "tcp_cleanup_rbuf");
    return;
  }
  const tp = tcp_sk(sk);
  let time_to_ack = false;
  let rcv_window_now = -1;
  let new_window = -1;
  if (copied > 0 && !(sk.sk_shutdown & RCV_SHUTDOWN)) {
    rcv_window_now = tcp_receive_window(tp);
    // Optimize, __tcp_select_window() is not cheap.
    if (2 * rcv_window_now <= tcpWindowClamp(sk)) {
      new_window = __tcp_select_window(sk);
      if (new_window && new_window >= 2 * rcv_window_now) time_to_ack = true;
    }
  }
  if (k.tr) {
    const why = time_to_ack ? `window update: new_window ${new_window} >= 2 * rcv_window_now ${rcv_window_now}: tcp_send_ack`
      : rcv_window_now < 0 ? (copied > 0 ? "no window update: RCV_SHUTDOWN" : "no window update: nothing read")
      : new_window < 0 ? `no window update: rcv_window_now ${rcv_window_now} > window_clamp / 2`
      : `no window update: new_window ${new_window} < 2 * rcv_window_now ${rcv_window_now}`;
    k.tr.leaf("tcp_cleanup_rbuf(sk, copied)", why, "tcp_cleanup_rbuf");
  }
  if (time_to_ack) {
    // the host that sent what this read took (or what a MSG_PEEK left queued)
    const consumed = msg.msg_iter.consumed;
    const from = consumed.length > 0 ? (consumed[consumed.length - 1] as SkBuff) : sk.sk_receive_queue[0];
    tcpSendAckRemote(k, sk, from?.peer);
  }
}

/** sk_eat_skb, recording the skb as consumed by this read (end-to-end latency). */
function eat(sk: Sock, skb: SkBuff, msg: Msghdr): void {
  sk_eat_skb(sk, skb);
  msg.msg_iter.consumed.push(skb);
}

/** tcp_poll(file, sock, wait): the readiness mask; registers `wait` on sk_sleep(sk) first. */
export function tcp_poll(k: Kernel, file: File, sock: Socket, wait: PollTable | null): number {
  const sk = sock.sk!;
  const tp = tcp_sk(sk);
  k.tr?.enter("tcp_poll", "sock->ops->poll(file, sock, wait) = tcp_poll(file, sock, wait)");
  sock_poll_wait(k, file, sk_sleep(sk), wait);
  let mask = 0;
  const state = sk.sk_state;
  if (state === TCP_LISTEN) {
    mask = tp.icsk_accept_queue.length > 0 ? POLLIN | POLLRDNORM : 0; // inet_csk_listen_poll
  } else {
    if (sk.sk_shutdown === SHUTDOWN_MASK || state === TCP_CLOSE) mask |= POLLHUP;
    if (sk.sk_shutdown & RCV_SHUTDOWN) mask |= POLLIN | POLLRDNORM | POLLRDHUP;
    // tcp.c:504: every state but SYN_SENT and SYN_RECV (no fastopen here), TCP_CLOSE included
    if (state !== TCP_SYN_SENT && state !== TCP_SYN_RECV) {
      const target = sock_rcvlowat(sk, 0, 0x7fffffff);
      if (tp.rcv_nxt - tp.copied_seq >= target) mask |= POLLIN | POLLRDNORM;
      if (!(sk.sk_shutdown & SEND_SHUTDOWN)) {
        if (sk_stream_is_writeable(sk)) mask |= POLLOUT | POLLWRNORM;
        else if (sk.sk_socket) {
          sk.sk_socket.flags |= 1 << SOCK_NOSPACE; // tcp_new_space will wake us
          if (sk_stream_is_writeable(sk)) mask |= POLLOUT | POLLWRNORM;
        }
      } else mask |= POLLOUT | POLLWRNORM; // a write would not block: it fails with EPIPE
    }
    if (sk.sk_err) mask |= POLLERR;
  }
  k.tr?.exit();
  return mask;
}

export const tcp_prot: Proto = {
  name: "TCP",
  alloc: (k: Kernel): Sock => new TcpSockZero(k),
  init: tcp_v4_init_sock,
  close: tcp_close,
  recvmsg: tcp_recvmsg,
  backlog_rcv: tcp_v4_do_rcv,
  accept: inet_csk_accept,
  shutdown: tcp_shutdown,
  // called through a closure: tcp_send.ts imports sock.ts, which this file's users load first
  sendmsg: (k: Kernel, sk: Sock, msg: SendMsghdr, size: number) => tcp_sendmsg(k, sk, msg, size),
  no_autobind: true,
  connect: (k: Kernel, sk: Sock, port: number) => tcp_v4_connect(k, sk, port),
};

export const inet_stream_ops: ProtoOps = {
  name: "inet_stream_ops",
  family: PF_INET,
  release: inet_release,
  bind: inet_bind,
  listen: inet_listen,
  accept: inet_accept,
  poll: tcp_poll,
  recvmsg: inet_recvmsg,
  shutdown: (k: Kernel, sock: Socket, how: number) => inet_shutdown(k, sock, how),
  sendmsg: (k: Kernel, sock: Socket, msg: SendMsghdr, size: number) => inet_sendmsg(k, sock, msg, size),
  connect: (k: Kernel, sock: Socket, addr: SockaddrIn, flags: number) => inet_stream_connect(k, sock, addr, flags),
};
