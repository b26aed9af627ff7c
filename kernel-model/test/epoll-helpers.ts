// Helpers for the epoll tests: sockets, arrivals, fork-style fd inheritance, state snapshots.
import {
  udpSend, get_file, epollGlobals, epRbtreeItems, epRdllistItems, epollEventNames, eventpoll_fops, socket_file_ops,
  AF_INET, SOCK_DGRAM, SOCK_NONBLOCK, EP_UNACTIVE_PTR,
  type Kernel, type Sys, type KGen, type TaskStruct, type Eventpoll, type Socket, type WaitQueueHead,
} from "kernel-model";

/** A bound, non-blocking UDP socket on `port`. */
export function* udpSocket(sys: Sys, port: number): KGen<number> {
  const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  const r = yield* sys.bind(fd, port);
  if (fd < 0 || r < 0) throw new Error(`udpSocket(${port}): ${fd} ${r}`);
  return fd;
}

/** A datagram reaches the NIC now; the program computes long enough for it to be delivered. */
export function* arrive(sys: Sys, k: Kernel, port: number, bytes = 100): KGen<void> {
  udpSend(k, { dport: port, bytes, at: k.now });
  yield* sys.compute(20_000);
}

/** The struct eventpoll behind task p's fd. */
export function epOf(p: TaskStruct, fd: number): Eventpoll {
  const f = p.files.fd[fd];
  if (!f || f.f_op !== eventpoll_fops) throw new Error(`fd ${fd} is not an epoll fd`);
  return f.private_data as Eventpoll;
}

/** The wait queue of the socket behind task p's fd. */
export function sockWq(p: TaskStruct, fd: number): WaitQueueHead {
  return (p.files.fd[fd]!.private_data as Socket).wq.wait;
}

/** fork()-style inheritance: the child gets the parent's file at the same fd number. */
export function inheritFd(parent: TaskStruct, fd: number, child: TaskStruct): void {
  child.files.fd[fd] = get_file(parent.files.fd[fd]!);
  child.files.open_fds[fd] = true;
}

/** Everything an epoll_ctl error must leave alone: every epoll instance and socket wait queue of
 *  task p, the user's watch count and the live epitems / eppoll_entries. */
export function epollState(k: Kernel, p: TaskStruct): string {
  const files = p.files.fd.map((f, fd) => {
    if (!f) return null;
    if (f.f_op === eventpoll_fops) {
      const ep = f.private_data as Eventpoll;
      return {
        fd, ep: epRbtreeItems(ep).map((e) => `${e.ffd.fd}:${epollEventNames(e.event.events)}:${e.event.data}:${e.pwqlist.length}`),
        rdllist: epRdllistItems(ep).map((e) => e.ffd.fd), wq: ep.wq.task_list.length, poll_wait: ep.poll_wait.task_list.length,
        links: f.f_ep_links.length, ovf: ep.ovflist === EP_UNACTIVE_PTR,
      };
    }
    if (f.f_op === socket_file_ops) {
      const q = (f.private_data as Socket).wq.wait;
      return { fd, wq: q.task_list.map((w) => `${w.func.name}:${w.flags}`), links: f.f_ep_links.length };
    }
    return { fd, name: f.name };
  });
  const g = epollGlobals(k);
  return JSON.stringify({ files, watches: g.user.epoll_watches, epitems: g.epitems_alive, pwqs: g.pwqs_alive, next_fd: p.files.next_fd });
}
