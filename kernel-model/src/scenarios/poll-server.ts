// poll-server.ts: the event loop of a poll() server (what servers ran before epoll), as a program.
// No Linux file. Book: §3.5 (what epoll saves: poll scans every fd and re-registers on every
// wait queue on every call; epoll registers once, in epoll_ctl, and returns only ready fds).
//
// Interface: pollLoop({lfd, fds, msgSize, work}) -> {run}: one task;
//   for (;;) { n = poll(pfds, npfds, -1); for each pfd with revents: the listener ->
//   accept4(SOCK_NONBLOCK) until EAGAIN, appending each connection to pfds; a connection ->
//   read until EAGAIN, doing `work` ns per message; EOF -> close and drop it from pfds }.

import type { Sys } from "../kernel/syscalls";
import type { KGen } from "../kernel/sched";
import { SOCK_NONBLOCK } from "../kernel/socket";
import { POLLIN } from "../kernel/sock";
import { EAGAIN } from "../kernel/errno";
import type { Pollfd } from "../kernel/select";
import { consume } from "./servers";

export interface PollLoopOptions {
  /** The listening socket (TCP), or -1 (UDP). */
  lfd: number;
  /** UDP sockets to watch. */
  fds: number[];
  msgSize: number;
  work: number;
}

export function pollLoop(o: PollLoopOptions) {
  function* run(sys: Sys): KGen<void> {
    const pfds: Pollfd[] = [];
    if (o.lfd >= 0) pfds.push({ fd: o.lfd, events: POLLIN, revents: 0 });
    for (const fd of o.fds) pfds.push({ fd, events: POLLIN, revents: 0 });
    for (;;) {
      const n = yield* sys.poll(pfds, pfds.length, -1);
      if (n <= 0) continue;
      let closed = false;
      // the user's own scan: poll says how many, not which
      for (let i = 0, nready = pfds.length; i < nready; i++) {
        const pfd = pfds[i];
        if (!pfd.revents) continue;
        if (pfd.fd === o.lfd) {
          for (;;) {
            const c = yield* sys.accept4(o.lfd, SOCK_NONBLOCK);
            if (c < 0) break;
            pfds.push({ fd: c, events: POLLIN, revents: 0 });
          }
          continue;
        }
        for (;;) {
          const r = yield* sys.read(pfd.fd, 65536);
          if (r > 0) {
            yield* consume(sys, r, o.msgSize, o.work);
            continue;
          }
          if (r === 0) {
            yield* sys.close(pfd.fd);
            pfd.fd = -1; // poll ignores negative fds
            closed = true;
          } else if (r !== -EAGAIN) {
            throw new Error(`poll server: read(${pfd.fd}) = ${r}`);
          }
          break;
        }
      }
      if (closed) {
        for (let i = pfds.length - 1; i >= 0; i--) if (pfds[i].fd < 0) pfds.splice(i, 1);
      }
    }
  }
  return { run };
}
