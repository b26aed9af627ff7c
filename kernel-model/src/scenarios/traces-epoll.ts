// traces-epoll.ts: the named call traces of §3.4 (`npx kernel-model trace epoll-...`).
// No Linux file. Book: §3.4.1 epoll内核对象的创建, §3.4.2 为epoll添加socket,
// §3.4.3 epoll_wait之等待接收, §3.4.4 数据来了.
//
// Interface: EPOLL_TRACES: name -> TraceSpec, merged into TRACES by traces.ts.
// * epoll-create: epoll_create(1) -> ep_alloc, anon_inode_getfile, fd_install.
// * epoll-ctl-add: epoll_ctl(ADD) of a connected TCP socket: ep_insert -> ep_item_poll ->
//   sock_poll -> tcp_poll -> sock_poll_wait -> poll_wait -> ep_ptable_queue_proc -> ep_rbtree_insert.
// * epoll-wait: epoll_wait with nothing ready, down to schedule(): the wait entry goes at the
//   HEAD of ep->wq (LIFO).
// * epoll-data-ready: a segment arrives: IRQ -> NET_RX -> tcp_v4_rcv -> tcp_prequeue (false) ->
//   tcp_rcv_established -> step5 (a new socket's sk_forward_alloc is 0) -> tcp_ack ->
//   tcp_data_queue -> tcp_queue_rcv -> sock_def_readable -> ep_poll_callback ->
//   wake_up_locked(&ep->wq) -> default_wake_function -> try_to_wake_up; the epoll_wait task
//   returns through ep_send_events and reads without blocking; a second segment then takes the
//   fast path (tcp_queue_rcv straight from tcp_rcv_established).
//
// The program is the book's §3.4 example: listen, accept two connections, epoll_create,
// epoll_ctl(ADD) both, epoll_wait. tcp_low_latency keeps its default (0): no task sleeps in
// tcp_recvmsg, so tcp_prequeue returns false at once and softirq takes the book's path.

import { Kernel } from "../kernel/kernel";
import type { TraceNode } from "../sim/trace";
import { inTimeOrder, resumedCall, type TraceSpec } from "./traces";
import { AF_INET, SOCK_NONBLOCK, SOCK_STREAM } from "../kernel/socket";
import { EPOLLIN, EPOLL_CTL_ADD, type EpollEvent } from "../kernel/eventpoll";
import { TcpPeer } from "../net/peer";

/** When the data segment reaches the NIC in epoll-data-ready. */
const DATA_AT = 2_000_000;

/** The book's server: two accepted connections in one epoll, then epoll_wait and one read. */
function bookServer(withData: boolean) {
  const k = new Kernel({ trace: true });
  k.spawn("server", function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 128);
    const cfd1 = yield* sys.accept4(lfd, SOCK_NONBLOCK);
    const cfd2 = yield* sys.accept4(lfd, SOCK_NONBLOCK);
    const efd = yield* sys.epoll_create(1);
    yield* sys.epoll_ctl(efd, EPOLL_CTL_ADD, cfd1, { events: EPOLLIN, data: cfd1 });
    yield* sys.epoll_ctl(efd, EPOLL_CTL_ADD, cfd2, { events: EPOLLIN, data: cfd2 });
    const events: EpollEvent[] = [];
    const n = yield* sys.epoll_wait(efd, events, 64, -1);
    for (let i = 0; i < n; i++) yield* sys.read(events[i].data, 1024);
    yield* sys.pause();
  });
  const p1 = new TcpPeer(k, { dport: 80 }).connect(100_000);
  new TcpPeer(k, { dport: 80 }).connect(200_000);
  // a second segment after the read: the first took step5 (sk_forward_alloc = 0), this one the fast path
  if (withData) p1.send(100, DATA_AT).send(100, DATA_AT + 500_000);
  k.runUntil(DATA_AT - 1);
  const mark = k.tr!.roots.length;
  k.runUntilIdle();
  return { k, mark };
}

function first(k: Kernel, prefix: string, comment?: string): TraceNode[] {
  const r = k.tr!.roots.find((n) => n.text.startsWith(prefix));
  if (!r) throw new Error(`trace: no root "${prefix}"`);
  if (comment) r.comment = comment;
  return [r];
}

function dataReadyTrace(): TraceNode[] {
  const { k, mark } = bookServer(true);
  const after = k.tr!.roots.slice(mark);
  const irqs = after.filter((r) => r.text.startsWith("do_IRQ"));
  const wait = k.tr!.roots.find((r) => r.text.startsWith("epoll_wait("))!;
  const resumed = resumedCall(wait, DATA_AT, "the epoll_wait call");
  const reads = after.filter((r) => r.text.startsWith("read("));
  return inTimeOrder([...irqs, resumed, ...reads]);
}

export const EPOLL_TRACES: Record<string, TraceSpec> = {
  "epoll-create": {
    title: "epoll_create(1): ep_alloc (wq, rdllist, rbr), an anon-inode file with eventpoll_fops, an fd",
    section: "3.4.1",
    run: () => first(bookServer(false).k, "epoll_create(", "创建一个 epoll 对象"),
  },
  "epoll-ctl-add": {
    title: "epoll_ctl(EPOLL_CTL_ADD) of a TCP socket: ep_insert hooks ep_poll_callback on the socket's wait queue",
    section: "3.4.2",
    run: () => first(bookServer(false).k, "epoll_ctl(", "为 epoll 添加 socket"),
  },
  "epoll-wait": {
    title: "epoll_wait with nothing ready: the task queues itself at the head of ep->wq and schedule()s",
    section: "3.4.3",
    run: () => first(bookServer(false).k, "epoll_wait(", "没有就绪事件: 阻塞当前进程"),
  },
  "epoll-data-ready": {
    title: "data arrives: softirq -> sock_def_readable -> ep_poll_callback -> the epoll_wait task returns with its events",
    section: "3.4.4",
    run: dataReadyTrace,
  },
};
