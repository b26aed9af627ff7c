// sock.ts: struct sock and its generic routines.
// Linux 4.6.2: net/core/sock.c, include/net/sock.h. Book: §3.2-§3.4.
//
// Interface:
// * sk_alloc(family, prot) allocates the protocol's sock (tcp_sock, udp_sock) with sk_prot set.
// * sock_init_data(sock, sk) links sk to sock, shares the wait queue (sk->sk_wq = sock->wq)
//   and installs the default callbacks: sk_data_ready = sock_def_readable, ...
// * sock_def_readable(sk) wakes whatever waits on sk_sleep(sk): blocked readers, epoll's
//   ep_poll_callback entries. Runs in softirq via sk->sk_data_ready, or in process context
//   when release_sock processes the backlog.
// * lock_sock / release_sock: sk_lock.owned; while owned, softirq puts segments on sk_backlog,
//   and release_sock runs them through sk_backlog_rcv.
//
// Model vs kernel:
// * No sk_lock.slock, RCU or barriers: one event at a time. The owner bit is the lock a
//   process holds: lock_sock of an owned socket sleeps (__lock_sock: exclusive,
//   TASK_UNINTERRUPTIBLE, on sk_lock.wq, allocated at first contention) until release_sock's
//   wake_up. No release_cb (tcp_release_cb's deferred work is not modelled).
// * Memory: sk_rmem_alloc counts skb truesize as the kernel does; sk_forward_alloc starts at 0,
//   is reserved in pages (sk_rmem_schedule, sk_forced_mem_schedule), charged by skb_set_owner_r
//   (sk_mem_charge) and given back by sock_rfree (sk_mem_uncharge + sk_mem_reclaim_partial).

import type { Kernel } from "./kernel";
import type { Socket, SocketWq } from "./socket";
import type { WaitQueueHead } from "./wait";
import { wake_up_interruptible_all, wake_up_interruptible_poll, wake_up_interruptible_sync_poll, wq_has_sleeper } from "./wait";
import {
  TASK_INTERRUPTIBLE, TASK_UNINTERRUPTIBLE, TASK_NORMAL, MAX_SCHEDULE_TIMEOUT, burn, returned, schedule, type KGen,
} from "./sched";
import { DEFINE_WAIT, finish_wait, prepare_to_wait, prepare_to_wait_exclusive, init_waitqueue_head, waitqueue_active, __wake_up } from "./wait";
import { schedule_timeout } from "./timer";
import { bhEnablePoint } from "./softirq";
import { ENOBUFS, ENOMEM, EINTR, ERESTARTSYS } from "./errno";
import { emptyQueue, isEmptyQueue } from "./list";

// include/net/tcp_states.h
export const TCP_ESTABLISHED = 1;
export const TCP_SYN_SENT = 2;
export const TCP_SYN_RECV = 3;
export const TCP_FIN_WAIT1 = 4;
export const TCP_FIN_WAIT2 = 5;
export const TCP_TIME_WAIT = 6;
export const TCP_CLOSE = 7;
export const TCP_CLOSE_WAIT = 8;
export const TCP_LAST_ACK = 9;
export const TCP_LISTEN = 10;
export const TCP_CLOSING = 11;
export const TCP_NEW_SYN_RECV = 12;

// include/uapi/asm-generic/poll.h
export const POLLIN = 0x0001;
export const POLLPRI = 0x0002;
export const POLLOUT = 0x0004;
export const POLLERR = 0x0008;
export const POLLHUP = 0x0010;
export const POLLNVAL = 0x0020;
export const POLLRDNORM = 0x0040;
export const POLLRDBAND = 0x0080;
export const POLLWRNORM = 0x0100;
export const POLLWRBAND = 0x0200;
export const POLLRDHUP = 0x2000;

// include/net/sock.h
export const RCV_SHUTDOWN = 1;
export const SEND_SHUTDOWN = 2;
export const SHUTDOWN_MASK = 3;
/** sock_flag() bits (enum sock_flags). */
export const SOCK_DEAD = 1 << 0;
export const SOCK_DONE = 1 << 1;
/** socket_wq->flags bit (sk_set_bit). */
export const SOCKWQ_ASYNC_WAITDATA = 1;

/** struct sk_buff (include/linux/skbuff.h), reduced to what the receive path needs. Every
 *  frame is built with all of these fields, in this order (peer.ts newSkb, tcp_output.ts tcpSkb,
 *  sock_wmem.ts): one hidden class for every skb, so the receive path's property loads stay
 *  monomorphic. */
export interface SkBuff {
  /** Payload bytes (after the headers are pulled). */
  len: number;
  /** Bytes charged to sk_rmem_alloc (skb_set_owner_r): see skbTruesize. */
  truesize: number;
  /** IPPROTO_TCP or IPPROTO_UDP (ip_hdr(skb)->protocol). */
  protocol: number;
  saddr: string;
  /** Model: saddr's number in the ehash keys (inet_hashtables.ts ehashAddr), given when the frame
   *  is built: a remote host numbers its address once, lo's 127.0.0.1 at its first segment. It saves tcp_v4_rcv a
   *  string lookup per segment (the kernel hashes the 32-bit address it already has). */
  saddrNo: number;
  sport: number;
  dport: number;
  /** skb->hash: the RSS flow hash that chose the RX queue. */
  hash: number;
  /** TCP: TCP_SKB_CB(skb)->seq / end_seq and flags. */
  seq: number;
  end_seq: number;
  syn: boolean;
  ack: boolean;
  fin: boolean;
  rst: boolean;
  /** When the frame reached the NIC (skb->tstamp), for end-to-end latency. */
  tstamp: number;
  /** Model: the message this payload belongs to (set by the traffic generator), -1 if none. */
  msgId: number;
  /** Bytes of this skb already copied to user space (a TCP read may take part of it). */
  used: number;
  /** Model: tells the sender its frame was dropped (a TCP peer retransmits). */
  onDrop?: (k: Kernel, skb: SkBuff, where: string) => void;
  /** Model: the remote TCP that sent this frame (its SYN, or a segment of a peer that reads our
   *  window), told what 4.6.2 would transmit back to it: the SYN-ACK, ACKs. Absent over lo. */
  peer?: TcpRemote;
  /** skb->sk and skb->destructor of a transmitted skb (skb_set_owner_w: sock_wfree); cleared
   *  by skb_orphan (loopback_xmit). Absent on frames from the wire. */
  sk?: Sock | null;
  destructor?: ((k: Kernel, skb: SkBuff) => void) | null;
  /** TCP_SKB_CB(skb)->ack_seq of a segment the model's own TCP sent (over lo); absent from
   *  remote peers, whose ACKs the model does not process. */
  ack_seq?: number;
  /** skb->peeked: a MSG_PEEK read has seen it (skb_set_peeked); udp_recvmsg's `peeked`. */
  peeked?: boolean;
}

/** Model: a remote TCP (net/peer.ts TcpPeer). The model puts nothing on eth0's wire, so what
 *  4.6.2 would send to that host is told to it instead, at the time it leaves; the host learns
 *  it rtt/2 later. */
export interface TcpRemote {
  /** The SYN-ACK left at t, offering the window rcv_wnd (a SYN-ACK's window is not scaled). */
  onSynAck(t: number, rcv_wnd: number): void;
  /** An ACK left at t: the cumulative ack (rcv_nxt) and the right edge of the window it
   *  advertises (rcv_wup + rcv_wnd), tcp_send_ack's two facts for the sender. */
  onAck(t: number, ack: number, edge: number): void;
}

/** truesize of a received frame: igb's half-page buffer (2048) + the sk_buff head (256). */
export function skbTruesize(len: number): number {
  return Math.max(2048, len) + 256;
}

/** struct proto (include/net/sock.h): the transport's operations. */
export interface Proto {
  /** "TCP", "UDP": also the dentry name of the socket's file. */
  name: string;
  /** Model: sk_prot_alloc of obj_size: builds the protocol's sock (tcp_sock, udp_sock). */
  alloc: (k: Kernel) => Sock;
  init: ((k: Kernel, sk: Sock) => number) | null;
  close: (k: Kernel, sk: Sock, timeout: number) => void;
  recvmsg: ((k: Kernel, sk: Sock, msg: import("./socket").Msghdr, len: number, nonblock: number, flags: number) => KGen<number>) | null;
  backlog_rcv: ((k: Kernel, sk: Sock, skb: SkBuff) => number) | null;
  [op: string]: unknown;
}

/** socket_lock_t (include/net/sock.h). */
export interface SocketLock {
  /** 1 while a process is between lock_sock and release_sock: sock_owned_by_user(). */
  owned: number;
  wq: WaitQueueHead | null;
}

/** struct sock (include/net/sock.h): the fields this chapter uses. */
export interface Sock {
  /** Model: a serial number for diagrams and traces. */
  id: number;
  sk_family: number;
  /** TCP_* state (TCP_CLOSE after creation; UDP uses TCP_CLOSE/TCP_ESTABLISHED too). */
  sk_state: number;
  sk_prot: Proto;
  sk_prot_creator: Proto;
  sk_refcnt: number;
  sk_lock: SocketLock;
  /** In-order data for the reader: appended in softirq (tcp_queue_rcv, sock_queue_rcv_skb),
   *  drained by the process (tcp_recvmsg, udp_recvmsg). */
  sk_receive_queue: SkBuff[];
  /** sk_backlog: segments that arrived while the process owned the lock; rmem_alloc is
   *  sk_rmem_alloc (bytes of truesize charged to the receive queue). */
  sk_backlog: { rmem_alloc: number; len: number; queue: SkBuff[] };
  /** Packets dropped because a queue was full (sk_drops). */
  sk_drops: number;
  /** Bytes of receive memory reserved but not yet charged (sk_forward_alloc): 0 on a new sock
   *  (sock.c:1517), raised a page at a time by sk_rmem_schedule / sk_forced_mem_schedule,
   *  lowered by sk_mem_charge, given back by sk_mem_uncharge when an skb is freed. */
  sk_forward_alloc: number;
  sk_rcvbuf: number;
  sk_sndbuf: number;
  /** sk_wmem_alloc: truesize of this sock's transmitted skbs not yet freed (skb_set_owner_w
   *  adds, sock_wfree subtracts). */
  sk_wmem_alloc: number;
  /** == sock->wq after sock_init_data / sock_graft; null for an accepted child until grafted. */
  sk_wq: SocketWq | null;
  sk_shutdown: number;
  sk_protocol: number;
  sk_type: number;
  /** SO_RCVLOWAT (default 1). */
  sk_rcvlowat: number;
  sk_err: number;
  /** SO_RCVTIMEO in ns (MAX_SCHEDULE_TIMEOUT = forever). */
  sk_rcvtimeo: number;
  sk_sndtimeo: number;
  sk_socket: Socket | null;
  /** sock_flag bits: SOCK_DEAD, SOCK_DONE. */
  sk_flags: number;
  sk_state_change: (k: Kernel, sk: Sock) => void;
  /** sock_def_readable: called when data is queued (softirq or release_sock). */
  sk_data_ready: (k: Kernel, sk: Sock) => void;
  sk_write_space: (k: Kernel, sk: Sock) => void;
  sk_error_report: (k: Kernel, sk: Sock) => void;
  /** = sk_prot->backlog_rcv: tcp_v4_do_rcv | __udp_queue_rcv_skb. */
  sk_backlog_rcv: ((k: Kernel, sk: Sock, skb: SkBuff) => number) | null;
  /** inet_sock: local port (inet_num) and the connected peer, when any. */
  inet_num: number;
  inet_daddr: string;
  inet_dport: number;
}

/** A sock with every field at its zero value (sk_prot_alloc's __GFP_ZERO). A class, so that a
 *  protocol's sock extending it (tcp.ts TcpSockZero: tcp_sock) is built with all its fields
 *  inside one object, as V8 lays out a class hierarchy's fields; fields added to a literal
 *  afterwards would live in a second, out-of-object array. */
export class SockZero implements Sock {
  id: number;
  sk_family = 0;
  sk_state = TCP_CLOSE;
  sk_prot: Proto;
  sk_prot_creator: Proto;
  sk_refcnt = 0;
  sk_lock: SocketLock = { owned: 0, wq: null };
  sk_receive_queue: SkBuff[] = emptyQueue();
  sk_backlog: { rmem_alloc: number; len: number; queue: SkBuff[] } = { rmem_alloc: 0, len: 0, queue: emptyQueue() };
  sk_drops = 0;
  sk_forward_alloc = 0;
  sk_rcvbuf = 0;
  sk_sndbuf = 0;
  sk_wmem_alloc = 0;
  sk_wq: SocketWq | null = null;
  sk_shutdown = 0;
  sk_protocol = 0;
  sk_type = 0;
  sk_rcvlowat = 0;
  sk_err = 0;
  sk_rcvtimeo = 0;
  sk_sndtimeo = 0;
  sk_socket: Socket | null = null;
  sk_flags = 0;
  sk_state_change: (k: Kernel, sk: Sock) => void = sock_def_wakeup;
  sk_data_ready: (k: Kernel, sk: Sock) => void = sock_def_readable;
  sk_write_space: (k: Kernel, sk: Sock) => void = sock_def_write_space;
  sk_error_report: (k: Kernel, sk: Sock) => void = sock_def_error_report;
  sk_backlog_rcv: ((k: Kernel, sk: Sock, skb: SkBuff) => number) | null = null;
  inet_num = 0;
  inet_daddr = "";
  inet_dport = 0;
  constructor(k: Kernel, prot: Proto) {
    this.id = ++k.socksCreated;
    this.sk_prot = this.sk_prot_creator = prot;
  }
}

export function sk_zero(k: Kernel, prot: Proto): Sock {
  return new SockZero(k, prot);
}

/** sk_alloc(net, family, priority, prot, kern): sk_prot_alloc + sk_prot = sk_prot_creator = prot. */
export function sk_alloc(k: Kernel, family: number, prot: Proto): Sock {
  k.tr?.leaf("sk = sk_alloc(net, PF_INET, GFP_KERNEL, answer_prot, kern)", "创建sk对象，并设置sk.sk_prot=answer_prot", "sk_alloc");
  const sk = prot.alloc(k); // sk_prot_alloc(prot, priority | __GFP_ZERO)
  sk.sk_family = family;
  sk.sk_prot = sk.sk_prot_creator = prot;
  sk.sk_refcnt = 1;
  k.socks_alive++;
  return sk;
}

/** sk_free: the last reference to the sock is gone. */
export function sk_free(k: Kernel, sk: Sock): void {
  k.stats.freedUnread += sk.sk_receive_queue.length + sk.sk_backlog.queue.length; // __skb_queue_purge
  sk.sk_flags |= SOCK_DEAD;
  sk.sk_receive_queue = emptyQueue();
  sk.sk_backlog.queue = emptyQueue();
  sk.sk_backlog.rmem_alloc = 0;
  k.socks_alive--;
  k.stats.socksFreed++;
}

/** sock_init_data(sock, sk): queues, buffer sizes, the shared wait queue and the callbacks. */
export function sock_init_data(k: Kernel, sock: Socket | null, sk: Sock): void {
  k.tr?.enter("sock_init_data", "sock_init_data(sock, sk)");
  sk.sk_receive_queue = emptyQueue(); // skb_queue_head_init (an array at the first skb)
  sk.sk_rcvbuf = k.sysctl.rmem_default;
  sk.sk_sndbuf = k.sysctl.wmem_default;
  sk.sk_state = TCP_CLOSE;
  sk.sk_socket = sock; // sk_set_socket
  if (sock) {
    sk.sk_type = sock.type;
    sk.sk_wq = sock.wq;
    sock.sk = sk;
    k.tr?.leaf("sk->sk_wq = sock->wq; sock->sk = sk", "shared wait queue: sk_sleep(sk) == &sock->wq->wait");
  } else {
    sk.sk_wq = null;
  }
  sk.sk_state_change = sock_def_wakeup;
  sk.sk_data_ready = sock_def_readable;
  sk.sk_write_space = sock_def_write_space;
  sk.sk_error_report = sock_def_error_report;
  k.tr?.leaf("sk->sk_data_ready = sock_def_readable", "软中断收到数据包会调用此函数唤醒等待的进程");
  sk.sk_rcvlowat = 1;
  sk.sk_rcvtimeo = sk.sk_sndtimeo = MAX_SCHEDULE_TIMEOUT;
  sk.sk_refcnt = 1;
  sk.sk_drops = 0;
  k.tr?.exit();
}

/** sk_sleep(sk): &sk->sk_wq->wait, the queue readers sleep on. */
export function sk_sleep(sk: Sock): WaitQueueHead {
  if (!sk.sk_wq) throw new Error(`sk_sleep: sock ${sk.id} has no sk_wq (not grafted)`);
  return sk.sk_wq.wait;
}

/** skwq_has_sleeper(wq): true when ANY entry is queued (an epoll callback counts). */
export function skwq_has_sleeper(wq: SocketWq | null): boolean {
  return wq !== null && wq_has_sleeper(wq.wait);
}

/** sock_def_readable: sk->sk_data_ready by default. Wakes one exclusive waiter and every
 *  non-exclusive one (wake_up_interruptible_sync_poll, nr_exclusive = 1). */
export function sock_def_readable(k: Kernel, sk: Sock): void {
  k.tr?.enter("sock_def_readable", "sk->sk_data_ready(sk) = sock_def_readable(sk)", undefined, "sk->sk_data_ready(|parent->sk_data_ready(");
  const wq = sk.sk_wq; // rcu_dereference(sk->sk_wq)
  if (skwq_has_sleeper(wq)) {
    k.tr?.leaf("skwq_has_sleeper(wq): true", "有进程（或 epoll 回调）在等待队列上");
    wake_up_interruptible_sync_poll(k, wq!.wait, POLLIN | POLLPRI | POLLRDNORM | POLLRDBAND);
  } else {
    k.tr?.leaf("skwq_has_sleeper(wq): false", "nobody waits: no wakeup");
  }
  k.tr?.exit();
}

/** sock_def_wakeup: sk_state_change by default (FIN, tcp_done): wakes every waiter, key NULL. */
export function sock_def_wakeup(k: Kernel, sk: Sock): void {
  k.tr?.enter("sock_def_wakeup", "sk->sk_state_change(sk) = sock_def_wakeup(sk)");
  if (skwq_has_sleeper(sk.sk_wq)) wake_up_interruptible_all(k, sk.sk_wq!.wait);
  k.tr?.exit();
}

/** sock_def_error_report: sk_error_report by default (RST): POLLERR. */
export function sock_def_error_report(k: Kernel, sk: Sock): void {
  k.tr?.enter("sock_def_error_report", "sk->sk_error_report(sk) = sock_def_error_report(sk)");
  if (skwq_has_sleeper(sk.sk_wq)) wake_up_interruptible_poll(k, sk.sk_wq!.wait, POLLERR);
  k.tr?.exit();
}

/** sock_def_write_space: sk_write_space by default (sock_wfree calls it on every free). Wakes
 *  writers only once at least half of sk_sndbuf is free ("significant progress", DaveM). */
export function sock_def_write_space(k: Kernel, sk: Sock): void {
  k.tr?.enter("sock_def_write_space", "sk->sk_write_space(sk) = sock_def_write_space(sk)");
  if (sk.sk_wmem_alloc * 2 <= sk.sk_sndbuf) {
    if (skwq_has_sleeper(sk.sk_wq)) wake_up_interruptible_sync_poll(k, sk.sk_wq!.wait, POLLOUT | POLLWRNORM | POLLWRBAND);
    else k.tr?.leaf("skwq_has_sleeper(wq): false", "nobody waits for write space");
  } else {
    k.tr?.leaf(`(sk_wmem_alloc << 1) > sk_sndbuf (${sk.sk_wmem_alloc} of ${sk.sk_sndbuf}): no wakeup yet`);
  }
  k.tr?.exit();
}

/** sk_backlog_rcv(sk, skb) (include/net/sock.h inline): sk->sk_backlog_rcv(sk, skb). */
export function sk_backlog_rcv(k: Kernel, sk: Sock, skb: SkBuff): void {
  k.tr?.enter("sk_backlog_rcv", "sk_backlog_rcv(sk, skb)");
  sk.sk_backlog_rcv?.(k, sk, skb);
  k.tr?.exit();
}

/** sock_owned_by_user(sk): a process holds the socket lock. */
export function sock_owned_by_user(sk: Sock): boolean {
  return sk.sk_lock.owned !== 0;
}

/** lock_sock(sk) -> lock_sock_nested(sk, 0): the process owns the socket; softirq now diverts
 *  segments to sk_backlog. Sleeps in __lock_sock while another process owns it.
 *  Linux: include/net/sock.h, net/core/sock.c. Process context only (might_sleep). */
export function lock_sock(k: Kernel, sk: Sock): KGen<void> {
  if (sk.sk_lock.owned) return lock_sock_nested(k, sk);
  // the lock is free (the usual case): taken at once, no generator
  k.tr?.leaf("lock_sock(sk)", "sk_lock.owned = 1: softirq now queues to sk_backlog", "lock_sock");
  sk.sk_lock.owned = 1;
  return returned();
}

/** lock_sock_nested's sleeping branch: another process owns the socket. */
function* lock_sock_nested(k: Kernel, sk: Sock): KGen<void> {
  k.tr?.enter("lock_sock_nested", "lock_sock(sk) = lock_sock_nested(sk, 0)", "sk_lock.owned: another process holds the socket");
  yield* __lock_sock(k, sk);
  k.tr?.exit();
  sk.sk_lock.owned = 1;
}

/** __lock_sock(sk): sleep, exclusively and uninterruptibly, until the owner releases the lock. */
function* __lock_sock(k: Kernel, sk: Sock): KGen<void> {
  k.tr?.enter("__lock_sock", "__lock_sock(sk)");
  const wq = (sk.sk_lock.wq ??= init_waitqueue_head(`sk_lock.wq of sock ${sk.id}`));
  const wait = DEFINE_WAIT(k);
  for (;;) {
    // DOC: __lock_sock-exclusive: one release wakes one waiter (the others keep sleeping)
    prepare_to_wait_exclusive(k, wq, wait, TASK_UNINTERRUPTIBLE);
    yield* schedule(k);
    if (!sock_owned_by_user(sk)) break;
  }
  finish_wait(k, wq, wait);
  k.tr?.exit();
}

/** release_sock(sk): process the backlog (__release_sock: sk_backlog_rcv per skb), drop
 *  ownership, then wake_up(&sk->sk_lock.wq) if a process waits for the lock. */
export function release_sock(k: Kernel, sk: Sock): void {
  const bl = sk.sk_backlog;
  const wq = sk.sk_lock.wq;
  const waiters = wq !== null && waitqueue_active(wq);
  if (bl.queue.length > 0 || waiters) {
    k.tr?.enter("release_sock", "release_sock(sk)", bl.queue.length > 0 ? "sk_backlog non-empty: __release_sock" : "sk_lock.wq has a waiter");
    if (bl.queue.length > 0) {
      k.tr?.enter("__release_sock", "__release_sock(sk)");
      while (bl.queue.length > 0) {
        const skbs = bl.queue.splice(0);
        for (const skb of skbs) sk_backlog_rcv(k, sk, skb); // tcp_v4_do_rcv / __udp_queue_rcv_skb
      }
      bl.len = 0; // zeroed here, so a flooding producer cannot keep us looping
      k.tr?.exit();
    }
    sk.sk_lock.owned = 0; // sock_release_ownership
    if (wq !== null && waitqueue_active(wq)) __wake_up(k, wq, TASK_NORMAL, 1, null, "wake_up("); // wake_up(&sk->sk_lock.wq)
    k.tr?.exit();
  } else {
    k.tr?.leaf("release_sock(sk)", "sk_lock.owned = 0", "release_sock");
    sk.sk_lock.owned = 0;
  }
}

/** sk_rcvqueues_full(sk, limit): rmem_alloc + backlog.len > limit. */
export function sk_rcvqueues_full(sk: Sock, limit: number): boolean {
  return sk.sk_backlog.rmem_alloc + sk.sk_backlog.len > limit;
}

/** sk_add_backlog(sk, skb, limit): -ENOBUFS when full (the caller drops and counts). */
export function sk_add_backlog(sk: Sock, skb: SkBuff, limit: number): number {
  if (sk_rcvqueues_full(sk, limit)) return -ENOBUFS;
  if (isEmptyQueue(sk.sk_backlog.queue)) sk.sk_backlog.queue = []; // allocated on first use
  sk.sk_backlog.queue.push(skb); // __sk_add_backlog
  sk.sk_backlog.len += skb.truesize;
  return 0;
}

/** SK_MEM_QUANTUM (include/net/sock.h): PAGE_SIZE, the unit of sk_forward_alloc. */
export const SK_MEM_QUANTUM = 4096;

/** sk_forced_mem_schedule / __sk_mem_schedule: reserve whole pages for `size` bytes. */
export function sk_forced_mem_schedule(sk: Sock, size: number): void {
  sk.sk_forward_alloc += Math.ceil(size / SK_MEM_QUANTUM) * SK_MEM_QUANTUM; // sk_mem_pages(size)
}

/** sk_rmem_schedule(sk, skb, size): size fits in sk_forward_alloc, or pages are reserved for it
 *  (false when sk_rmem_alloc would pass sk_rcvbuf: the model's memory limit). */
export function sk_rmem_schedule(sk: Sock, size: number): boolean {
  if (size <= sk.sk_forward_alloc) return true;
  if (sk.sk_backlog.rmem_alloc + size > sk.sk_rcvbuf) return false;
  sk_forced_mem_schedule(sk, size);
  return true;
}

/** skb_set_owner_r: charge skb->truesize to sk_rmem_alloc, and sk_mem_charge it. */
export function skb_set_owner_r(skb: SkBuff, sk: Sock): void {
  sk.sk_backlog.rmem_alloc += skb.truesize;
  sk.sk_forward_alloc -= skb.truesize; // sk_mem_charge
}

/** sock_rfree, the destructor of a received skb: uncharge sk_rmem_alloc and sk_mem_uncharge;
 *  then sk_mem_reclaim_partial gives back whole pages beyond the last one. */
export function sock_rfree(sk: Sock, skb: SkBuff): void {
  sk.sk_backlog.rmem_alloc -= skb.truesize;
  sk.sk_forward_alloc += skb.truesize;
  if (sk.sk_forward_alloc > SK_MEM_QUANTUM) sk.sk_forward_alloc -= Math.floor((sk.sk_forward_alloc - 1) / SK_MEM_QUANTUM) * SK_MEM_QUANTUM;
}

/** sk_eat_skb / skb_free: unlink from the receive queue and uncharge. */
export function sk_eat_skb(sk: Sock, skb: SkBuff): void {
  const q = sk.sk_receive_queue;
  if (q[0] === skb) q.shift();
  else q.splice(q.indexOf(skb), 1);
  sock_rfree(sk, skb);
}

/** sock_rcvtimeo(sk, noblock): 0 for a non-blocking call, else SO_RCVTIMEO. */
export function sock_rcvtimeo(sk: Sock, noblock: number | boolean): number {
  return noblock ? 0 : sk.sk_rcvtimeo;
}

/** sock_rcvlowat(sk, waitall, len): how much a read waits for: len with MSG_WAITALL, else
 *  min(SO_RCVLOWAT, len), at least 1. */
export function sock_rcvlowat(sk: Sock, waitall: number, len: number): number {
  return (waitall ? len : Math.min(sk.sk_rcvlowat, len)) || 1;
}

/** sock_intr_errno(timeo): -ERESTARTSYS for an infinite wait (SA_RESTART may restart), else -EINTR. */
export function sock_intr_errno(timeo: number): number {
  return timeo === MAX_SCHEDULE_TIMEOUT ? -ERESTARTSYS : -EINTR;
}

/** sock_error(sk): take the pending error (xchg(&sk->sk_err, 0)), as a negative errno. */
export function sock_error(sk: Sock): number {
  const err = sk.sk_err;
  sk.sk_err = 0;
  return -err;
}

/** Model switches for teaching: deliberately wrong kernel code paths (off by default). */
export interface ModelBugs {
  /** sk_wait_data checks the queue BEFORE queueing itself (the lost-wakeup race). */
  lostWakeup: boolean;
}

/** The window release_sock needs between the two steps of sk_wait_event (model: fixed ns). */
export const SK_WAIT_WINDOW = 100;

/** sk_wait_data(sk, &timeo, last): sleep until the tail of sk_receive_queue is not `last`.
 *  Book: §3.3.1. Returns non-zero when the condition became true; timeo.v is updated. */
export function* sk_wait_data(k: Kernel, sk: Sock, timeo: { v: number }, last: SkBuff | undefined): KGen<number> {
  k.tr?.enter("sk_wait_data", "sk_wait_data(sk, &timeo, last)", "没有收到足够数据，阻塞当前进程");
  const wait = DEFINE_WAIT(k); // private = current, func = autoremove_wake_function
  let rc: boolean;
  if (k.bugs.lostWakeup) {
    // WRONG ORDER (teaching switch): test, then queue. A wakeup in between finds nobody.
    release_sock(k, sk);
    rc = skb_peek_tail(sk) !== last;
    yield* burn(SK_WAIT_WINDOW, "sys");
    prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
    if (!rc) timeo.v = yield* schedule_timeout(k, timeo.v);
  } else {
    // DOC: sk_wait_data-enqueue: queued and TASK_INTERRUPTIBLE *before* the condition is
    // tested, so a wakeup after the test makes the task RUNNING and schedule() returns at once.
    prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
    sk_wq_set_bit(sk, SOCKWQ_ASYNC_WAITDATA);
    k.tr?.enter("sk_wait_event", "sk_wait_event(sk, timeo, skb_peek_tail(&sk->sk_receive_queue) != skb)", "a macro");
    release_sock(k, sk); // runs the backlog: may call sk_data_ready and wake *this* task
    yield* bhEnablePoint(k, "release_sock"); // release_sock's spin_unlock_bh: softirqs its backlog raised (lo)
    yield* burn(SK_WAIT_WINDOW, "sys");
    rc = skb_peek_tail(sk) !== last;
    if (!rc) timeo.v = yield* schedule_timeout(k, timeo.v);
    yield* lock_sock(k, sk); // sock.h:906, inside the macro
    rc = skb_peek_tail(sk) !== last;
    k.tr?.exit();
  }
  if (k.bugs.lostWakeup) {
    yield* lock_sock(k, sk);
    rc = skb_peek_tail(sk) !== last;
  }
  sk_wq_clear_bit(sk, SOCKWQ_ASYNC_WAITDATA);
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return rc ? 1 : 0;
}

/** skb_peek_tail(&sk->sk_receive_queue): sk_wait_data's condition compares it with `last`
 *  (a function, not a closure, so that nothing extra stays alive while the reader sleeps). */
function skb_peek_tail(sk: Sock): SkBuff | undefined {
  const q = sk.sk_receive_queue;
  return q[q.length - 1];
}

function sk_wq_set_bit(sk: Sock, bit: number): void {
  if (sk.sk_wq) sk.sk_wq.flags |= 1 << bit;
}
function sk_wq_clear_bit(sk: Sock, bit: number): void {
  if (sk.sk_wq) sk.sk_wq.flags &= ~(1 << bit);
}

/** sock_queue_rcv_skb(sk, skb): charge, queue, sk_data_ready (UDP's path). -ENOMEM when full. */
export function sock_queue_rcv_skb(k: Kernel, sk: Sock, skb: SkBuff): number {
  k.tr?.enter("sock_queue_rcv_skb", "sock_queue_rcv_skb(sk, skb)");
  try {
    if (sk.sk_backlog.rmem_alloc >= sk.sk_rcvbuf) {
      sk.sk_drops++;
      k.tr?.leaf("sk_rmem_alloc >= sk_rcvbuf: -ENOMEM, sk_drops++");
      return -ENOMEM;
    }
    sk_rmem_schedule(sk, skb.truesize);
    skb_set_owner_r(skb, sk);
    if (isEmptyQueue(sk.sk_receive_queue)) sk.sk_receive_queue = []; // allocated on first use
    sk.sk_receive_queue.push(skb); // __skb_queue_tail
    k.tr?.leaf("__skb_queue_tail(list, skb)", "数据放到接收队列 (list = &sk->sk_receive_queue)");
    if (!(sk.sk_flags & SOCK_DEAD)) sk.sk_data_ready(k, sk);
    return 0;
  } finally {
    k.tr?.exit();
  }
}

/** sock_graft(sk, parent): an accepted child gets its socket and wait queue. */
export function sock_graft(k: Kernel, sk: Sock, parent: Socket): void {
  k.tr?.leaf("sock_graft(sk2, newsock): sk->sk_wq = parent->wq; parent->sk = sk", "accept 时 child sock 才挂上等待队列", "sock_graft");
  sk.sk_wq = parent.wq;
  parent.sk = sk;
  sk.sk_socket = parent;
}
