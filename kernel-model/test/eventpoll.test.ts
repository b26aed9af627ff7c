import { describe, expect, it } from "vitest";
import {
  Kernel, kill, udpSend, ep_poll_callback, eventpoll_fops, epollGlobals, epRbtreeItems, epRdllistItems, EP_UNACTIVE_PTR, EP_MAX_EVENTS,
  EPOLLIN, EPOLLOUT, EPOLLPRI, EPOLLERR, EPOLLHUP, EPOLLET, EPOLLONESHOT, EPOLLEXCLUSIVE, EPOLLWAKEUP, EPOLLRDHUP,
  EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EPOLL_CLOEXEC, WQ_FLAG_EXCLUSIVE, TASK_INTERRUPTIBLE,
  EBADF, EEXIST, EFAULT, EINTR, EINVAL, EMFILE, ENOENT, ENOSPC, EPERM,
  type EpollEvent, type Eventpoll, type Sys, type KGen,
} from "kernel-model";
import { runApp } from "./helpers";
import { arrive, epOf, epollState, sockWq, udpSocket } from "./epoll-helpers";

const ev = (events: number, data: number): EpollEvent => ({ events: events >>> 0, data });

describe("epoll_create / epoll_create1 (§3.4.1)", () => {
  it("builds struct eventpoll behind an anon-inode file: empty rbr and rdllist, ovflist = EP_UNACTIVE_PTR", () => {
    const { task, result: fd } = runApp(function* (sys) {
      return yield* sys.epoll_create(1);
    });
    expect(fd).toBe(3);
    const file = task.files.fd[fd]!;
    expect(file.name).toBe("[eventpoll]");
    expect(file.f_op).toBe(eventpoll_fops);
    const ep = file.private_data as Eventpoll;
    expect(ep.file).toBe(file);
    expect(ep.rbr.size()).toBe(0);
    expect(epRdllistItems(ep)).toEqual([]);
    expect(ep.ovflist).toBe(EP_UNACTIVE_PTR);
    expect(ep.wq.task_list).toEqual([]);
  });

  it("size <= 0 and unknown flags are EINVAL and allocate nothing; EPOLL_CLOEXEC is accepted", () => {
    const { k, task, result } = runApp(function* (sys) {
      return [yield* sys.epoll_create(0), yield* sys.epoll_create(-1), yield* sys.epoll_create1(1), yield* sys.epoll_create1(EPOLL_CLOEXEC | 2),
        yield* sys.epoll_create1(EPOLL_CLOEXEC), yield* sys.epoll_create(1_000_000)];
    });
    expect(result).toEqual([-EINVAL, -EINVAL, -EINVAL, -EINVAL, 3, 4]);
    expect(task.files.next_fd).toBe(5);
    expect(epollGlobals(k).nextEp).toBe(2);
  });

  it("EMFILE at RLIMIT_NOFILE: the eventpoll built before the fd ran out is freed, no fd is taken", () => {
    const { task, result } = runApp(function* (sys) {
      sys.task.files.rlimit_nofile = 4;
      return [yield* sys.epoll_create1(0), yield* sys.epoll_create1(0)];
    });
    expect(result).toEqual([3, -EMFILE]);
    expect(task.files.next_fd).toBe(4);
  });

  it("an epoll fd cannot be read(): eventpoll_fops has no read_iter", () => {
    const { result } = runApp(function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      return yield* sys.read(epfd, 16);
    });
    expect(result).toBe(-EINVAL);
  });
});

describe("epoll_ctl(EPOLL_CTL_ADD) (§3.4.2)", () => {
  it("ep_insert hooks ep_poll_callback at the head of the socket's wait queue, links the epitem everywhere", () => {
    const { k, task, result } = runApp(function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      return { epfd, fd, r: yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, 42)) };
    });
    const { epfd, fd, r } = result;
    expect(r).toBe(0);
    const ep = epOf(task, epfd);
    const [epi] = epRbtreeItems(ep);
    expect(epi.ffd).toEqual({ file: task.files.fd[fd], fd });
    expect(epi.event).toEqual({ events: EPOLLIN | EPOLLERR | EPOLLHUP, data: 42 }); // POLLERR|POLLHUP always added
    expect(epi.rbn && epi.fllink).toBe(true);
    expect(task.files.fd[fd]!.f_ep_links).toEqual([epi]);
    const q = sockWq(task, fd);
    expect(q.task_list).toHaveLength(1);
    expect(q.task_list[0].func).toBe(ep_poll_callback);
    expect(q.task_list[0].flags & WQ_FLAG_EXCLUSIVE).toBe(0);
    expect(epi.pwqlist[0].wait).toBe(q.task_list[0]);
    expect(epi.pwqlist[0].whead).toBe(q);
    expect(epRdllistItems(ep)).toEqual([]); // nothing to read yet
    expect(epollGlobals(k).user.epoll_watches).toBe(1);
  });

  it("EPOLLEXCLUSIVE entries go at the tail, exclusive; plain ones at the head", () => {
    const { task, result } = runApp(function* (sys) {
      const fd = yield* udpSocket(sys, 1000);
      const eps = [yield* sys.epoll_create1(0), yield* sys.epoll_create1(0), yield* sys.epoll_create1(0)];
      yield* sys.epoll_ctl(eps[0], EPOLL_CTL_ADD, fd, ev(EPOLLIN | EPOLLEXCLUSIVE, 0));
      yield* sys.epoll_ctl(eps[1], EPOLL_CTL_ADD, fd, ev(EPOLLIN, 1));
      yield* sys.epoll_ctl(eps[2], EPOLL_CTL_ADD, fd, ev(EPOLLIN | EPOLLEXCLUSIVE | EPOLLET, 2));
      return { fd, eps };
    });
    const q = sockWq(task, result.fd);
    const owner = (w: (typeof q.task_list)[0]) => (w.private as { base: { event: EpollEvent } }).base.event.data;
    expect(q.task_list.map(owner)).toEqual([1, 0, 2]);
    expect(q.task_list.map((w) => w.flags & WQ_FLAG_EXCLUSIVE)).toEqual([0, 1, 1]);
  });

  it("the interest set is a red-black tree ordered like ep_cmp_ffd: struct file, then fd (a dup is a second item)", () => {
    const { task, result } = runApp(function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      const fds: number[] = [];
      for (let i = 0; i < 20; i++) fds.push(yield* udpSocket(sys, 2000 + i));
      const dup = yield* sys.dup(fds[3]);
      for (const fd of [...fds].reverse()) yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      expect(yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, dup, ev(EPOLLIN, dup))).toBe(0);
      return { epfd, fds, dup };
    });
    const ep = epOf(task, result.epfd);
    const items = epRbtreeItems(ep);
    expect(items).toHaveLength(21);
    const keys = items.map((e) => [e.ffd.file.id, e.ffd.fd]);
    const sorted = [...keys].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
    expect(keys).toEqual(sorted);
    const same = items.filter((e) => e.ffd.file === task.files.fd[result.dup]);
    expect(same.map((e) => e.ffd.fd)).toEqual([result.fds[3], result.dup]);
    expect(ep.rbr.getHeight()).toBeLessThanOrEqual(2 * Math.log2(22)); // balanced: O(log n)
  });

  it("a file that is already readable goes straight onto rdllist", () => {
    const { task, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      yield* arrive(sys, k, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      return { epfd, fd };
    });
    expect(epRdllistItems(epOf(task, result.epfd)).map((e) => e.ffd.fd)).toEqual([result.fd]);
  });
});

describe("epoll_ctl MOD and DEL", () => {
  it("MOD replaces events and data and re-polls; DEL unhooks ep_poll_callback and frees the epitem", () => {
    const { k, task, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      const out: unknown[] = [];
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLRDHUP, 1));
      yield* arrive(sys, k, 1000);
      const ep = epOf(sys.task, epfd);
      out.push(epRdllistItems(ep).length); // key filtering: sock_def_readable's key has no POLLRDHUP
      out.push(yield* sys.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, ev(EPOLLIN, 7)));
      out.push(epRdllistItems(ep).length); // ep_modify's re-poll found it ready
      const events: EpollEvent[] = [];
      out.push(yield* sys.epoll_wait(epfd, events, 8, 0), [...events]);
      out.push(yield* sys.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, null)); // DEL ignores the event pointer
      out.push(yield* sys.epoll_wait(epfd, events, 8, 0));
      return { out, fd, epfd };
    });
    expect(result.out).toEqual([0, 0, 1, 1, [{ events: EPOLLIN, data: 7 }], 0, 0]);
    expect(sockWq(task, result.fd).task_list).toEqual([]);
    expect(epOf(task, result.epfd).rbr.size()).toBe(0);
    expect(task.files.fd[result.fd]!.f_ep_links).toEqual([]);
    const g = epollGlobals(k);
    expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive]).toEqual([0, 0, 0]);
  });

  it("sock_def_readable's key includes POLLPRI: an EPOLLPRI watcher is linked, then dropped by the re-poll", () => {
    const { result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLPRI, fd));
      yield* arrive(sys, k, 1000);
      const ep = epOf(sys.task, epfd);
      const linked = epRdllistItems(ep).length;
      return { linked, n: yield* sys.epoll_wait(epfd, [], 8, 0), after: epRdllistItems(ep).length };
    });
    expect(result).toEqual({ linked: 1, n: 0, after: 0 });
  });

  it("DEL of a ready item takes it off rdllist", () => {
    const { task, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      yield* arrive(sys, k, 1000);
      const before = epRdllistItems(epOf(sys.task, epfd)).length;
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, null);
      return { epfd, before };
    });
    expect(result.before).toBe(1);
    expect(epRdllistItems(epOf(task, result.epfd))).toEqual([]);
  });
});

/** The fixture of the error table: fds 0-2 the tty, 3 epfd, 4 a watched UDP socket, 5 an unwatched
 *  one, 6 a second epoll fd, 7 a socket watched with EPOLLEXCLUSIVE. */
function* errorFixture(sys: Sys): KGen<void> {
  const epfd = yield* sys.epoll_create1(0);
  const a = yield* udpSocket(sys, 1000);
  yield* udpSocket(sys, 1001);
  yield* sys.epoll_create1(0);
  const c = yield* udpSocket(sys, 1002);
  yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, a, ev(EPOLLIN, a));
  yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, c, ev(EPOLLIN | EPOLLEXCLUSIVE, c));
}

// [what, op, epfd, fd, event, errno], reference §3 "Errors", in 4.6.2's check order
const CTL_ERRORS: [string, number, number, number, EpollEvent | null, number][] = [
  ["ADD with a NULL event", EPOLL_CTL_ADD, 3, 5, null, -EFAULT],
  ["MOD with a NULL event", EPOLL_CTL_MOD, 3, 4, null, -EFAULT],
  ["an unknown op with a NULL event (it is not DEL: the event is read)", 9, 3, 5, null, -EFAULT],
  ["epfd not open", EPOLL_CTL_ADD, 42, 5, ev(EPOLLIN, 0), -EBADF],
  ["epfd negative", EPOLL_CTL_ADD, -1, 5, ev(EPOLLIN, 0), -EBADF],
  ["fd not open", EPOLL_CTL_ADD, 3, 42, ev(EPOLLIN, 0), -EBADF],
  ["DEL of an fd that is not open", EPOLL_CTL_DEL, 3, 42, null, -EBADF],
  ["a file without ->poll (the tty on fd 0)", EPOLL_CTL_ADD, 3, 0, ev(EPOLLIN, 0), -EPERM],
  ["EPERM is checked before 'epfd is not an epoll fd'", EPOLL_CTL_ADD, 4, 0, ev(EPOLLIN, 0), -EPERM],
  ["epfd is a socket, not an epoll fd", EPOLL_CTL_ADD, 4, 5, ev(EPOLLIN, 0), -EINVAL],
  ["fd == epfd", EPOLL_CTL_ADD, 3, 3, ev(EPOLLIN, 0), -EINVAL],
  ["an unknown op", 4, 3, 5, ev(EPOLLIN, 0), -EINVAL],
  ["op 0", 0, 3, 5, ev(EPOLLIN, 0), -EINVAL],
  ["EPOLLEXCLUSIVE with MOD", EPOLL_CTL_MOD, 3, 4, ev(EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL],
  ["EPOLLEXCLUSIVE on an epoll target", EPOLL_CTL_ADD, 3, 6, ev(EPOLLIN | EPOLLEXCLUSIVE, 0), -EINVAL],
  ["EPOLLEXCLUSIVE with EPOLLONESHOT", EPOLL_CTL_ADD, 3, 5, ev(EPOLLIN | EPOLLEXCLUSIVE | EPOLLONESHOT, 0), -EINVAL],
  ["EPOLLEXCLUSIVE with EPOLLPRI", EPOLL_CTL_ADD, 3, 5, ev(EPOLLIN | EPOLLEXCLUSIVE | EPOLLPRI, 0), -EINVAL],
  ["EPOLLEXCLUSIVE with EPOLLRDHUP", EPOLL_CTL_ADD, 3, 5, ev(EPOLLIN | EPOLLEXCLUSIVE | EPOLLRDHUP, 0), -EINVAL],
  ["MOD of an item added with EPOLLEXCLUSIVE", EPOLL_CTL_MOD, 3, 7, ev(EPOLLIN, 0), -EINVAL],
  ["ADD of a (file, fd) already watched", EPOLL_CTL_ADD, 3, 4, ev(EPOLLOUT, 0), -EEXIST],
  ["DEL of a (file, fd) not watched", EPOLL_CTL_DEL, 3, 5, null, -ENOENT],
  ["MOD of a (file, fd) not watched", EPOLL_CTL_MOD, 3, 5, ev(EPOLLIN, 0), -ENOENT],
];

describe("epoll_ctl errors: 4.6.2's errno and check order, and nothing changes", () => {
  for (const [what, op, epfd, fd, event, want] of CTL_ERRORS) {
    it(`${what} -> ${want}`, () => {
      const { result } = runApp(function* (sys, k) {
        yield* errorFixture(sys);
        const before = epollState(k, sys.task);
        const r = yield* sys.epoll_ctl(epfd, op, fd, event);
        return { r, before, after: epollState(k, sys.task) };
      });
      expect(result.r).toBe(want);
      expect(result.after).toBe(result.before);
    });
  }

  it("allowed with EPOLLEXCLUSIVE: IN, OUT, ERR, HUP, ET, WAKEUP (WAKEUP is dropped: no CAP_BLOCK_SUSPEND)", () => {
    const { task, result } = runApp(function* (sys) {
      yield* errorFixture(sys);
      return yield* sys.epoll_ctl(3, EPOLL_CTL_ADD, 5, ev(EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLET | EPOLLWAKEUP | EPOLLEXCLUSIVE, 5));
    });
    expect(result).toBe(0);
    const epi = epRbtreeItems(epOf(task, 3)).find((e) => e.ffd.fd === 5)!;
    expect(epi.event.events).toBe((EPOLLIN | EPOLLOUT | EPOLLERR | EPOLLHUP | EPOLLET | EPOLLEXCLUSIVE) >>> 0);
  });

  it("ENOSPC when the user's watches reach fs.epoll.max_user_watches (counted over every epoll instance)", () => {
    const { result } = runApp(function* (sys, k) {
      yield* errorFixture(sys); // 2 watches
      epollGlobals(k).max_user_watches = 3;
      const ok = yield* sys.epoll_ctl(6, EPOLL_CTL_ADD, 5, ev(EPOLLIN, 5));
      const before = epollState(k, sys.task);
      const r = yield* sys.epoll_ctl(3, EPOLL_CTL_ADD, 5, ev(EPOLLIN, 5));
      const after = epollState(k, sys.task);
      yield* sys.epoll_ctl(3, EPOLL_CTL_DEL, 4, null); // one freed: room again
      return { ok, r, same: before === after, again: yield* sys.epoll_ctl(3, EPOLL_CTL_ADD, 5, ev(EPOLLIN, 5)) };
    });
    expect(result).toEqual({ ok: 0, r: -ENOSPC, same: true, again: 0 });
  });
});

/** Readiness delivered by epoll_wait(timeout 0) to a socket holding one unread datagram. */
function deliveries(flags: number, script: (sys: Sys, k: Kernel, wait: () => KGen<number>, epfd: number, fd: number) => KGen<void>) {
  const counts: number[] = [];
  runApp(function* (sys, k) {
    const epfd = yield* sys.epoll_create1(0);
    const fd = yield* udpSocket(sys, 1000);
    yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | flags, fd));
    const events: EpollEvent[] = [];
    const wait = function* () {
      const n = yield* sys.epoll_wait(epfd, events, 8, 0);
      counts.push(n);
      return n;
    };
    yield* script(sys, k, wait, epfd, fd);
  });
  return counts;
}

describe("level-triggered, EPOLLET and EPOLLONESHOT (ep_send_events_proc)", () => {
  const script = function* (sys: Sys, k: Kernel, wait: () => KGen<number>) {
    yield* arrive(sys, k, 1000); // one datagram, never read
    for (let i = 0; i < 3; i++) yield* wait();
    yield* arrive(sys, k, 1000); // a second datagram
    for (let i = 0; i < 2; i++) yield* wait();
  };

  it("LT: reported on every call while data is queued", () => {
    expect(deliveries(0, script)).toEqual([1, 1, 1, 1, 1]);
  });

  it("EPOLLET: once per arrival (a new datagram re-arms it through ep_poll_callback)", () => {
    expect(deliveries(EPOLLET, script)).toEqual([1, 0, 0, 1, 0]);
  });

  it("EPOLLONESHOT: once, then disarmed even when more data comes, until EPOLL_CTL_MOD re-arms it", () => {
    const counts = deliveries(EPOLLONESHOT, function* (sys, k, wait, epfd, fd) {
      yield* script(sys, k, wait);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, ev(EPOLLIN | EPOLLONESHOT, fd));
      yield* wait();
      yield* wait();
    });
    expect(counts).toEqual([1, 0, 0, 0, 0, 1, 0]);
  });

  it("EPOLLET coalesces: three datagrams before the call give one event (the item is linked once)", () => {
    const counts = deliveries(EPOLLET, function* (sys, k, wait) {
      for (let i = 0; i < 3; i++) yield* arrive(sys, k, 1000);
      yield* wait();
      yield* wait();
    });
    expect(counts).toEqual([1, 0]);
  });

  it("LT drops an item whose data was read: the next call re-polls it and finds nothing", () => {
    const counts = deliveries(0, function* (sys, k, wait, _epfd, fd) {
      yield* arrive(sys, k, 1000);
      yield* wait();
      expect(yield* sys.recv(fd, 1024)).toBe(100);
      yield* wait();
    });
    expect(counts).toEqual([1, 0]);
  });
});

describe("maxevents: truncation loses nothing", () => {
  function rounds(flags: number, calls: number) {
    const got: number[][] = [];
    runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fds: number[] = [];
      for (let i = 0; i < 5; i++) fds.push(yield* udpSocket(sys, 1000 + i));
      for (const fd of fds) yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN | flags, fd));
      for (let i = 0; i < 5; i++) yield* arrive(sys, k, 1000 + i);
      const events: EpollEvent[] = [];
      for (let c = 0; c < calls; c++) {
        const n = yield* sys.epoll_wait(epfd, events, 2, 0);
        expect(events).toHaveLength(n);
        got.push(events.map((e) => e.data));
      }
    });
    return got;
  }

  it("LT: the undelivered go back at the head, the delivered at the tail: a round robin", () => {
    expect(rounds(0, 4)).toEqual([[4, 5], [6, 7], [8, 4], [5, 6]]); // epfd is 3, the sockets 4..8
  });

  it("EPOLLET: every ready fd exactly once, across calls", () => {
    expect(rounds(EPOLLET, 4)).toEqual([[4, 5], [6, 7], [8], []]);
  });

  it("maxevents <= 0 or above EP_MAX_EVENTS, a non-epoll fd: EINVAL; a closed fd: EBADF", () => {
    const { result } = runApp(function* (sys) {
      const epfd = yield* sys.epoll_create1(0);
      const s = yield* udpSocket(sys, 1000);
      const e: EpollEvent[] = [];
      return [yield* sys.epoll_wait(epfd, e, 0, 0), yield* sys.epoll_wait(epfd, e, -1, 0), yield* sys.epoll_wait(epfd, e, EP_MAX_EVENTS + 1, 0),
        yield* sys.epoll_wait(epfd, e, EP_MAX_EVENTS, 0), yield* sys.epoll_wait(s, e, 1, 0), yield* sys.epoll_wait(99, e, 1, 0)];
    });
    expect(result).toEqual([-EINVAL, -EINVAL, -EINVAL, 0, -EINVAL, -EBADF]);
  });
});

describe("epoll_wait timeouts and signals (ep_poll)", () => {
  it("timeout 0 returns 0 at once, without sleeping", () => {
    const { k, task, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const nv = sys.task.nvcsw;
      const t0 = k.now;
      const n = yield* sys.epoll_wait(epfd, [], 4, 0);
      return { n, dt: k.now - t0, nv: sys.task.nvcsw - nv };
    });
    expect(result.n).toBe(0);
    expect(result.nv).toBe(0);
    expect(result.dt).toBeLessThanOrEqual(k.costs.syscall + k.costs.epollWait); // no sleep, no context switch
    expect(task.state).toBe(TASK_INTERRUPTIBLE); // now in pause()
  });

  it("timeout 10 ms returns 0 after 10 ms plus the hrtimer slack (50 µs), having slept once", () => {
    const { k, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, 4, ev(EPOLLIN, 4));
      const nv = sys.task.nvcsw;
      const t0 = k.now;
      const n = yield* sys.epoll_wait(epfd, [], 4, 10);
      return { n, dt: k.now - t0, nv: sys.task.nvcsw - nv };
    });
    expect(result.n).toBe(0);
    expect(result.nv).toBe(1);
    const c = k.costs;
    // the hrtimer fires at the end of its range: 10 ms + max(0.1% of 10 ms, timer_slack_ns 50 µs)
    expect(result.dt).toBeGreaterThanOrEqual(10_000_000 + 50_000);
    expect(result.dt).toBeLessThanOrEqual(10_000_000 + 50_000 + c.syscall + c.epollWait + c.ctxSwitch);
  });

  it("data before the timeout: returns 1 right after the datagram, not at the timeout", () => {
    const { k, result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, 4, ev(EPOLLIN, 4));
      const at = k.now + 1_000_000;
      udpSend(k, { dport: 1000, bytes: 100, at });
      const n = yield* sys.epoll_wait(epfd, [], 4, 1000);
      return { n, late: k.now - at };
    });
    expect(result.n).toBe(1);
    expect(result.late).toBeLessThan(20_000);
    expect(k.now).toBeLessThan(100_000_000);
  });

  it("a signal ends the wait with -EINTR (with or without a timeout), never a restart", () => {
    for (const timeout of [-1, 5000]) {
      const k = new Kernel();
      let r: number | undefined;
      const p = k.spawn("app", function* (sys) {
        const epfd = yield* sys.epoll_create1(0);
        r = yield* sys.epoll_wait(epfd, [], 4, timeout);
      });
      k.run(1_000_000);
      expect(p.state).toBe(TASK_INTERRUPTIBLE);
      k.engine.at(k.now + 1000, () => kill(k, p));
      k.run(1_000_000);
      expect(r).toBe(-EINTR);
    }
  });

  it("woken for an item that is no longer ready, it sleeps again: never 0 before the timeout", () => {
    const { result } = runApp(function* (sys, k) {
      const epfd = yield* sys.epoll_create1(0);
      const fd = yield* udpSocket(sys, 1000);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, fd, ev(EPOLLIN, fd));
      yield* arrive(sys, k, 1000); // the epitem goes on rdllist ...
      yield* sys.recv(fd, 1024); // ... and the data is read: the item is still linked
      const linked = epRdllistItems(epOf(sys.task, epfd)).length;
      const at = k.now + 3_000_000;
      udpSend(k, { dport: 1000, bytes: 100, at });
      const n = yield* sys.epoll_wait(epfd, [], 4, -1);
      return { linked, n, woke: k.now >= at };
    });
    expect(result).toEqual({ linked: 1, n: 1, woke: true });
  });
});
