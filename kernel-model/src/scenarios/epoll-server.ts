// epoll-server.ts: the event loop of an epoll server (what nginx or Redis run), as a program.
// No Linux file. Book: §3.4 (epoll_create, epoll_ctl, epoll_wait), §3.5.
//
// Interface: epollLoop({epfd, lfd, fds, et, maxevents, msgSize, work}) -> {setup, run}:
// * setup(sys): EPOLL_CTL_ADD the listening socket (TCP) or every UDP socket;
// * run(sys): for (;;) { n = epoll_wait(epfd, events, maxevents, -1); for each event: the
//   listener -> accept4(SOCK_NONBLOCK) until EAGAIN, adding each connection; a connection ->
//   read until EAGAIN (also with LT, as servers do), doing `work` ns per message }.

import type { Sys } from "../kernel/syscalls";
import type { KGen } from "../kernel/sched";
import { SOCK_NONBLOCK } from "../kernel/socket";
import { EAGAIN } from "../kernel/errno";
import { consume } from "./servers";
import { EPOLLIN, EPOLLET, EPOLL_CTL_ADD, EPOLL_CTL_DEL, type EpollEvent } from "../kernel/eventpoll_uapi";

export interface EpollLoopOptions {
  epfd: number;
  /** The listening socket (TCP), or -1 (UDP). */
  lfd: number;
  /** UDP sockets to watch. */
  fds: number[];
  et: boolean;
  maxevents: number;
  msgSize: number;
  work: number;
  /** Bytes asked for per read() (default 65536; the probe asks for one message). */
  readSize?: number;
}

export function epollLoop(o: EpollLoopOptions) {
  const mask = (EPOLLIN | (o.et ? EPOLLET : 0)) >>> 0;
  function* setup(sys: Sys): KGen<void> {
    if (o.lfd >= 0) yield* sys.epoll_ctl(o.epfd, EPOLL_CTL_ADD, o.lfd, { events: EPOLLIN, data: o.lfd });
    for (const fd of o.fds) yield* sys.epoll_ctl(o.epfd, EPOLL_CTL_ADD, fd, { events: mask, data: fd });
  }
  function* run(sys: Sys): KGen<void> {
    const events: EpollEvent[] = [];
    for (;;) {
      const n = yield* sys.epoll_wait(o.epfd, events, o.maxevents, -1);
      for (let i = 0; i < n; i++) {
        const fd = events[i].data;
        if (fd === o.lfd) {
          for (;;) {
            const c = yield* sys.accept4(o.lfd, SOCK_NONBLOCK);
            if (c < 0) break;
            yield* sys.epoll_ctl(o.epfd, EPOLL_CTL_ADD, c, { events: mask, data: c });
          }
          continue;
        }
        for (;;) {
          const r = yield* sys.read(fd, o.readSize ?? 65536);
          if (r > 0) {
            yield* consume(sys, r, o.msgSize, o.work);
            continue;
          }
          if (r === 0) {
            // the peer closed: stop watching, close
            yield* sys.epoll_ctl(o.epfd, EPOLL_CTL_DEL, fd, null);
            yield* sys.close(fd);
          } else if (r !== -EAGAIN) {
            throw new Error(`epoll server: read(${fd}) = ${r}`);
          }
          break;
        }
      }
    }
  }
  return { setup, run };
}
