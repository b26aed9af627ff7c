// sock_wmem.ts: the send buffer of a sock: allocating a transmit skb against sk_sndbuf,
// waiting for room, and giving it back when the skb is freed.
// Linux 4.6.2: net/core/sock.c (sock_alloc_send_pskb, sock_wait_for_wmem, skb_set_owner_w,
// sock_wfree), include/net/sock.h (sock_sndtimeo, sock_writeable). Book: the send side that
// §3.4's EPOLLOUT refers to.
//
// Interface:
// * sock_alloc_send_skb(k, sk, size, noblock) (process context): pending sk_err -> -err;
//   SEND_SHUTDOWN -> -EPIPE; sk_wmem_alloc >= sk_sndbuf -> -EAGAIN when non-blocking, else
//   sleep in sock_wait_for_wmem (SOCK_NOSPACE set) until sk_write_space wakes it. Returns the
//   new skb charged to sk (skb_set_owner_w: sk_wmem_alloc += truesize, destructor sock_wfree).
// * sock_wfree(k, skb) (the destructor; loopback_xmit runs it through skb_orphan): uncharge and
//   call sk->sk_write_space (sock_def_write_space: wakes writers once half the buffer is free).
// * skbAllocTruesize(size): the truesize alloc_skb gives a head of `size` bytes.
//
// Model vs kernel: no SOCK_USE_WRITE_QUEUE (TCP's own accounting lives in tcp_output.ts),
// no __sk_free deferred by in-flight skbs (a closed sock's skbs are simply uncharged).

import type { Kernel } from "./kernel";
import { TASK_INTERRUPTIBLE, type KGen } from "./sched";
import { DEFINE_WAIT, finish_wait, prepare_to_wait } from "./wait";
import { schedule_timeout } from "./timer";
import { sk_sleep, sock_error, sock_intr_errno, SEND_SHUTDOWN, type SkBuff, type Sock } from "./sock";
import { EAGAIN, EPIPE } from "./errno";

/** socket->flags bit (include/linux/net.h): a sender found no room. */
export const SOCK_NOSPACE = 2;
/** socket_wq->flags bit: SOCKWQ_ASYNC_NOSPACE. */
export const SOCKWQ_ASYNC_NOSPACE = 0;

/** kmalloc's size classes (the slab caches kmalloc-8 ... kmalloc-8192). */
const KMALLOC_SIZES = [8, 16, 32, 64, 96, 128, 192, 256, 512, 1024, 2048, 4096, 8192];
/** SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) and SKB_DATA_ALIGN(sizeof(struct sk_buff))
 *  on x86-64 (4.6: 320 and 256). */
const SHINFO = 320;
const SKB_HEAD = 256;

/** truesize of alloc_skb(size): kmalloc of SKB_DATA_ALIGN(size) + shared info, plus the
 *  sk_buff itself (64 bytes of UDP payload over lo: 768). */
export function skbAllocTruesize(size: number): number {
  const want = Math.ceil(size / 64) * 64 + SHINFO;
  const slab = KMALLOC_SIZES.find((s) => s >= want) ?? Math.ceil(want / 4096) * 4096;
  return slab + SKB_HEAD;
}

/** sock_sndtimeo(sk, noblock): 0 for a non-blocking call, else SO_SNDTIMEO. */
export function sock_sndtimeo(sk: Sock, noblock: number | boolean): number {
  return noblock ? 0 : sk.sk_sndtimeo;
}

/** sock_writeable(sk): sk_wmem_alloc < sk_sndbuf / 2 (the POLLOUT rule of datagram sockets). */
export function sock_writeable(sk: Sock): boolean {
  return sk.sk_wmem_alloc < sk.sk_sndbuf >> 1;
}

/** skb_set_owner_w(skb, sk): charge the skb to the sender's send buffer. */
export function skb_set_owner_w(k: Kernel, skb: SkBuff, sk: Sock, inlineText?: string): void {
  skb.sk = sk;
  skb.destructor = sock_wfree;
  sk.sk_wmem_alloc += skb.truesize;
  // inlineText: a caller that charges by hand (tcp_transmit_skb's atomic_add) traces its own statement
  if (inlineText) k.tr?.leaf(inlineText, `sk_wmem_alloc += ${skb.truesize} (= ${sk.sk_wmem_alloc})`);
  else k.tr?.leaf(`skb_set_owner_w(skb, sk): sk_wmem_alloc += ${skb.truesize} (= ${sk.sk_wmem_alloc})`, "skb->destructor = sock_wfree", "skb_set_owner_w");
}

/** sock_wfree(skb): the skb of a sender is freed (or orphaned): uncharge, sk_write_space. */
export function sock_wfree(k: Kernel, skb: SkBuff): void {
  const sk = skb.sk!;
  k.tr?.enter("sock_wfree", "skb->destructor(skb) = sock_wfree(skb)", `sk_wmem_alloc -= ${skb.truesize}`, "skb->destructor(");
  // atomic_sub(len - 1, &sk->sk_wmem_alloc); sk->sk_write_space(sk); then the last 1
  sk.sk_wmem_alloc -= skb.truesize - 1;
  sk.sk_write_space(k, sk);
  sk.sk_wmem_alloc -= 1;
  k.tr?.exit();
}

/** sock_wait_for_wmem(sk, timeo): sleep until the send buffer has room; returns timeo left. */
function* sock_wait_for_wmem(k: Kernel, sk: Sock, timeo: number): KGen<number> {
  k.tr?.enter("sock_wait_for_wmem", "sock_wait_for_wmem(sk, timeo)", "发送缓冲区满，阻塞当前进程");
  const wait = DEFINE_WAIT(k);
  if (sk.sk_wq) sk.sk_wq.flags &= ~(1 << SOCKWQ_ASYNC_NOSPACE); // sk_clear_bit
  for (;;) {
    if (!timeo) break;
    if (k.current.sigpending) break;
    if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
    prepare_to_wait(k, sk_sleep(sk), wait, TASK_INTERRUPTIBLE);
    if (sk.sk_wmem_alloc < sk.sk_sndbuf) break;
    if (sk.sk_shutdown & SEND_SHUTDOWN) break;
    if (sk.sk_err) break;
    timeo = yield* schedule_timeout(k, timeo);
  }
  finish_wait(k, sk_sleep(sk), wait);
  k.tr?.exit();
  return timeo;
}

/** sock_alloc_send_skb(sk, size, noblock, &err) -> sock_alloc_send_pskb(sk, size, 0, ...):
 *  an skb charged to sk, or a negative errno. */
export function* sock_alloc_send_skb(k: Kernel, sk: Sock, size: number, noblock: number): KGen<SkBuff | number> {
  k.tr?.enter("sock_alloc_send_skb", `sock_alloc_send_skb(sk, ${size}, noblock = ${noblock}, &err)`);
  k.tr?.enter("sock_alloc_send_pskb", "sock_alloc_send_pskb(sk, size, 0, noblock, errcode, 0)");
  try {
    let timeo = sock_sndtimeo(sk, noblock);
    for (;;) {
      const err = sock_error(sk);
      if (err) return err;
      if (sk.sk_shutdown & SEND_SHUTDOWN) return -EPIPE;
      if (sk.sk_wmem_alloc < sk.sk_sndbuf) break;
      if (sk.sk_wq) sk.sk_wq.flags |= 1 << SOCKWQ_ASYNC_NOSPACE;
      if (sk.sk_socket) sk.sk_socket.flags |= 1 << SOCK_NOSPACE;
      k.tr?.leaf(`sk_wmem_alloc ${sk.sk_wmem_alloc} >= sk_sndbuf ${sk.sk_sndbuf}`, timeo ? "wait for room" : "-EAGAIN");
      if (!timeo) return -EAGAIN;
      if (k.current.sigpending) return sock_intr_errno(timeo);
      timeo = yield* sock_wait_for_wmem(k, sk, timeo);
    }
    // alloc_skb_with_frags(header_len, ...): a head of `size` bytes
    const skb: SkBuff = {
      len: 0, truesize: skbAllocTruesize(size), protocol: 0, saddr: "", saddrNo: -1, sport: 0, dport: 0, hash: 0,
      seq: 0, end_seq: 0, syn: false, ack: false, fin: false, rst: false, tstamp: 0, msgId: -1, used: 0,
      onDrop: undefined, peer: undefined, sk: null, destructor: null, ack_seq: undefined, peeked: false,
    };
    skb_set_owner_w(k, skb, sk);
    return skb;
  } finally {
    k.tr?.exit();
    k.tr?.exit();
  }
}
