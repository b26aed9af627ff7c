// traces-select.ts: the named traces of poll() and of a contended socket lock.
// No Linux file. Book: §3.4 / §3.5 (what epoll replaces: poll's scan and re-registration) and
// §3.3 (lock_sock: a second reader of one socket sleeps on sk_lock.wq).
//
// Interface: SELECT_TRACES: name -> TraceSpec, merged into TRACES (traces.ts):
// * poll-wait: poll() over three UDP sockets with nothing ready: __pollwait on each socket's wait
//   queue, schedule_hrtimeout_range; a datagram: pollwake; the rescan of all three; poll_freewait.
// * lock-sock-contended: two threads read one TCP socket on two CPUs with non-blocking reads;
//   one finds sk_lock.owned (the other is inside tcp_recvmsg), sleeps in __lock_sock, and the
//   owner's release_sock wakes it. The trace is the two overlapping recv() calls.

import { Kernel } from "../kernel/kernel";
import type { TraceNode } from "../sim/trace";
import { AF_INET, MSG_DONTWAIT, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM } from "../kernel/socket";
import { POLLIN } from "../kernel/sock";
import { TcpPeer, udpSend } from "../net/peer";
import type { TraceSpec } from "./traces";

function pollWaitTrace(): TraceNode[] {
  const k = new Kernel({ trace: true });
  k.spawn("app", function* (sys) {
    const fds: number[] = [];
    for (let i = 0; i < 3; i++) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      yield* sys.bind(fd, 9000 + i);
      fds.push(fd);
    }
    k.tr!.roots.length = 0; // the trace starts at poll()
    udpSend(k, { dport: 9001, bytes: 64, at: k.now + 50_000 });
    yield* sys.poll(fds.map((fd) => ({ fd, events: POLLIN, revents: 0 })), fds.length, 1000);
  });
  k.runUntilIdle();
  return k.tr!.roots;
}

function lockSockTrace(): TraceNode[] {
  const k = new Kernel({ trace: true, cpus: 2 });
  k.spawn("server", function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 8);
    const fd = yield* sys.accept(lfd);
    k.tr!.roots.length = 0;
    // two threads poll the same socket with non-blocking reads, from the two CPUs
    const loop = (gap: number) => function* (sys: import("../kernel/syscalls").Sys) {
      for (let i = 0; i < 100; i++) {
        yield* sys.recv(fd, 64, MSG_DONTWAIT);
        yield* sys.compute(gap);
      }
    };
    k.spawn("reader2", loop(170), { thread: sys.task, cpu: 1, pinned: true });
    yield* loop(230)(sys);
    yield* sys.pause(); // keep the socket open: later segments still find it
  }, { cpu: 0, pinned: true });
  const peer = new TcpPeer(k, { dport: 80 }).connect(100_000);
  for (let i = 0; i < 20; i++) peer.send(64, 2_000_000 + i * 1_000);
  k.runUntilIdle();
  // the first recv that slept in __lock_sock, and the other thread's recv that held the lock
  const roots = k.tr!.roots;
  const has = (n: TraceNode): boolean => n.fn === "__lock_sock" || n.children.some(has);
  const at = roots.findIndex(has);
  if (at < 0) return [];
  let holder = at - 1;
  while (holder >= 0 && roots[holder].ctx === roots[at].ctx) holder--;
  return holder >= 0 ? [roots[holder], roots[at]] : [roots[at]];
}

export const SELECT_TRACES: Record<string, TraceSpec> = {
  "poll-wait": {
    title: "poll() over three sockets: __pollwait on every wait queue, sleep, pollwake, the rescan, poll_freewait",
    section: "3.5",
    run: pollWaitTrace,
  },
  "lock-sock-contended": {
    title: "two threads recv() on one TCP socket: the second sleeps in __lock_sock until release_sock wakes it",
    section: "3.3",
    run: lockSockTrace,
  },
};
