// syscalls.ts: the system-call boundary: what a user program can call, and entry/exit costs.
// Linux 4.6.2: arch/x86/entry/entry_64.S, arch/x86/entry/common.c (syscall_return_slowpath,
// exit_to_usermode_loop), include/linux/syscalls.h. Book: §3.2-§3.4 (every user call).
//
// Interface:
// * makeSys(k, p) -> Sys: the calls a program makes with `yield*`:
//     const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);   // 3, or -EMFILE, ...
// * Every call: syscall entry (costs.syscall / 2), the SYSC_* body, -ERESTARTSYS -> -EINTR,
//   a pending signal delivered, syscall exit (costs.syscall / 2), then a preemption point
//   (exit_to_usermode_loop: need_resched -> schedule()).
// * compute(ns) burns user-mode CPU time (the program's own work).
//
// Model vs kernel: signals have a no-op handler installed without SA_RESTART, so an
// interrupted blocking call returns -EINTR instead of restarting.

import type { Kernel } from "./kernel";
import { burn, charge, preemptDue, PREEMPT_STEP, StepRecord, type KGen, type Op, type TaskStruct } from "./sched";
import type { TraceNode } from "../sim/trace";
import { SYSC_close, SYSC_dup, SYSC_read, SYSC_write, SYSC_fcntl, type IovIter } from "./fs";
import { SYSC_connect, SYSC_send, SYSC_sendto, SYSC_shutdown, type SendMeta } from "./socket_send";
import type { SkBuff } from "./sock";
import { SYSC_socket, SYSC_bind, SYSC_listen, SYSC_accept4, SYSC_recvfrom, SYSC_recvmsg, SYSC_setsockopt, type RecvfromAddr, type UserMsghdr, AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SOCK_TYPE_MASK } from "./socket";
import { SYSC_pause, do_signal, sigprocmask } from "./signal";
import { hrtimer_nanosleep } from "./hrtimer";
import { bhEnablePoint } from "./softirq";
import { EINTR, ERESTARTSYS, ERESTARTNOHAND, ERESTART_RESTARTBLOCK, errnoName } from "./errno";
import { SYSC_poll, SYSC_select, type Pollfd, type Timeval } from "./select";
import { userPtrName, USER_BUF, type UserPtr } from "./uaccess";
import { SIGSET_SIZE } from "./signal";
import { SYSC_epoll_create, SYSC_epoll_create1, SYSC_epoll_ctl, SYSC_epoll_wait, SYSC_epoll_pwait, epollCtlOpName, epollEventNames, type EpollEvent } from "./eventpoll";

/** A user buffer as a syscall's label prints it: "buf", or NULL / (void *)-1 / <unmapped>. */
function bufName(p: UserPtr<unknown>): string {
  const n = userPtrName(p);
  return n === "ptr" ? "buf" : n;
}

export interface Sys {
  readonly task: TaskStruct;
  socket(family: number, type: number, protocol: number): KGen<number>;
  close(fd: number): KGen<number>;
  dup(fd: number): KGen<number>;
  /** read(fd, buf, count): bytes read, 0 at EOF, or -errno. */
  read(fd: number, count: number, buf?: UserPtr<unknown>): KGen<number>;
  /** recv(fd, buf, len, flags): glibc calls recvfrom(fd, buf, len, flags, NULL, NULL). `buf`
   *  defaults to a good buffer; KERNEL_ADDR fails access_ok (-EFAULT before the fd lookup),
   *  UNMAPPED_ADDR or NULL faults at the copy (uaccess.ts). */
  recv(fd: number, len: number, flags?: number, buf?: UserPtr<unknown>): KGen<number>;
  /** recvfrom(fd, buf, len, flags, addr, addrlen): with `from`, the sender's address is
   *  copied to from.addr and its length to from.addrlen (move_addr_to_user); `buf` as recv's. */
  recvfrom(fd: number, len: number, flags?: number, from?: RecvfromAddr | null, buf?: UserPtr<unknown>): KGen<number>;
  bind(fd: number, port: number): KGen<number>;
  listen(fd: number, backlog: number): KGen<number>;
  accept(fd: number): KGen<number>;
  accept4(fd: number, flags: number): KGen<number>;
  /** setsockopt(fd, level, optname, value); SO_RCVTIMEO in ns. */
  setsockopt(fd: number, level: number, optname: number, value: number): KGen<number>;
  fcntl(fd: number, cmd: number, arg: number): KGen<number>;
  /** pause(): sleep until a signal; -EINTR. */
  pause(): KGen<number>;
  /** epoll_create(size): an epoll fd; size <= 0 -> -EINVAL (otherwise ignored). */
  epoll_create(size: number): KGen<number>;
  /** epoll_create1(flags): flags 0 or EPOLL_CLOEXEC. */
  epoll_create1(flags: number): KGen<number>;
  /** epoll_ctl(epfd, op, fd, event): EPOLL_CTL_ADD/MOD/DEL; event may be null for DEL. */
  epoll_ctl(epfd: number, op: number, fd: number, event: EpollEvent | null): KGen<number>;
  /** epoll_wait(epfd, events, maxevents, timeout ms): n ready events, written into `events`
   *  (its length becomes n); 0 on timeout; -EINTR on a signal. timeout -1 waits forever. */
  epoll_wait(epfd: number, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number): KGen<number>;
  /** epoll_pwait(..., sigmask, sigsetsize = 8): epoll_wait with the signal mask `sigmask` (a
   *  bit mask of signals, signal.ts sigmask()) in force; null: no mask change. */
  epoll_pwait(epfd: number, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number, sigmask: UserPtr<number>, sigsetsize?: number): KGen<number>;
  /** rt_sigprocmask(how, set, oldset): SIG_BLOCK / SIG_UNBLOCK / SIG_SETMASK; old mask in old.v. */
  sigprocmask(how: number, set: number, old?: { v: number }): KGen<number>;
  /** recvmsg(fd, msg, flags): a struct msghdr with iovecs; the kernel writes back msg_namelen,
   *  msg_controllen and msg_flags. */
  recvmsg(fd: number, msg: UserPtr<UserMsghdr>, flags?: number): KGen<number>;
  /** poll(fds, nfds, timeout ms): n fds with revents != 0 (revents written into fds), 0 on
   *  timeout, -EINTR on a signal. fds NULL or a bad address (uaccess.ts): -EFAULT. */
  poll(fds: UserPtr<Pollfd[]>, nfds: number, timeout: number): KGen<number>;
  /** select(n, readfds, writefds, exceptfds, timeout): the sets are overwritten with the ready
   *  fds; timeout (null: forever) is updated with the time left, as Linux does. */
  select(n: number, readfds: Set<number> | null, writefds: Set<number> | null, exceptfds: Set<number> | null, timeout: Timeval | null): KGen<number>;
  /** sendto(fd, buf, len, flags, {127.0.0.1, port}): bytes sent or -errno (socket_send.ts).
   *  `meta.msgId` tags the message for the scenarios' counting. */
  sendto(fd: number, len: number, flags: number, port: number, meta?: SendMeta): KGen<number>;
  /** send(fd, buf, len, flags) = sendto with no address (a connected socket). */
  send(fd: number, len: number, flags?: number, meta?: SendMeta): KGen<number>;
  /** connect(fd, {127.0.0.1, port}): TCP: the handshake over lo; UDP: a default destination. */
  connect(fd: number, port: number): KGen<number>;
  /** shutdown(fd, how): SHUT_RD, SHUT_WR, SHUT_RDWR (inet_shutdown). */
  shutdown(fd: number, how: number): KGen<number>;
  /** write(fd, buf, count): on a socket, sock_write_iter -> sock_sendmsg. */
  write(fd: number, count: number): KGen<number>;
  /** clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, until): sleep until an absolute time (ns),
   *  50 µs of timer slack included; 0, or -EINTR on a signal. */
  clock_nanosleep_abs(until: number): KGen<number>;
  /** Spend ns of CPU in user mode (the program's own work). */
  compute(ns: number): KGen<void>;
}

const FAMILY: Record<number, string> = { [AF_INET]: "AF_INET" };
const TYPE: Record<number, string> = { [SOCK_STREAM]: "SOCK_STREAM", [SOCK_DGRAM]: "SOCK_DGRAM", [SOCK_RAW]: "SOCK_RAW" };

/** One system call: entry, body, signal handling, exit, preemption point. */
export function syscall(k: Kernel, p: TaskStruct, text: string, body: () => KGen<number>, iter?: IovIter): KGen<number> {
  return new SyscallCall(k, p, text, body, iter) as unknown as KGen<number>;
}

/** A system call in progress, as the record its task's program drives with `yield*` (the
 *  iterator protocol), not a generator: a call that does not sleep costs plain function calls,
 *  and one asleep keeps this object (no generator frame and registers) beside its body's.
 *  Steps: 0 entry, then the body (every value it yields passes through unchanged), 1 the exit
 *  path, 2 done. The same code runs with tracing on and off. */
class SyscallCall extends StepRecord<number> {
  private gen: KGen<number> | null = null;
  private ret = 0;
  private half = 0;
  private root: TraceNode | undefined = undefined;
  constructor(private readonly k: Kernel, private readonly p: TaskStruct, private readonly text: string,
    private readonly body: () => KGen<number>, private readonly iter: IovIter | undefined) {
    super();
  }

  next(v?: unknown): IteratorResult<Op, number> {
    const k = this.k, p = this.p;
    if (this.step === 0) {
      p.syscalls++;
      p.inKernel = true;
      this.half = k.costs.syscall / 2;
      this.root = k.tr?.enter("", this.text);
      charge(k, this.half); // entry_SYSCALL_64: paid with the body's first burn or sleep
      this.gen = this.body();
      this.step = 1;
      v = undefined;
    }
    if (this.step === 1) {
      const r = this.gen!.next(v);
      if (!r.done) return r; // the body burns or sleeps: handed to cpuRun as it is
      this.gen = null;
      this.step = 2;
      let ret = r.value;
      // a (no-op) handler without SA_RESTART runs: every restart code becomes EINTR (handle_signal)
      if (ret === -ERESTARTSYS || ret === -ERESTARTNOHAND || ret === -ERESTART_RESTARTBLOCK) ret = -EINTR;
      do_signal(p); // exit_to_usermode_loop: the (no-op) handlers run; a saved mask comes back
      if (this.root) this.root.text += ` = ${errnoName(ret)}`;
      charge(k, this.half); // syscall_return_slowpath
      const iter = this.iter;
      if (iter && iter.consumed.length > 0) deliver(k, p, iter);
      k.tr?.exit();
      p.inKernel = false;
      this.ret = ret;
      // exit_to_usermode_loop: need_resched -> schedule(); the time owed is paid
      if (preemptDue(k)) return PREEMPT_STEP;
    }
    return { done: true, value: this.ret };
  }

  /** gen.return(): the program abandoned the call (as a generator's return would, the body too). */
  override return(value: number): IteratorReturnResult<number> {
    this.gen?.return(value);
    this.gen = null;
    this.ret = value;
    return super.return(value);
  }
}

/** The data of a read reached user space: end-to-end latency per skb (NIC arrival -> the
 *  return to user space, i.e. now plus the CPU time this call still owes). */
function deliver(k: Kernel, p: TaskStruct, iter: IovIter): void {
  const t = Math.round(k.now + (k.cpu ? k.cpu.debt : 0));
  for (const u of iter.consumed) {
    const skb = u as SkBuff;
    k.stats.e2eLatency.push(t - skb.tstamp);
    k.stats.delivered++;
    k.onDeliver?.(p, skb);
  }
}

export function makeSys(k: Kernel, p: TaskStruct): Sys {
  return new SysCalls(k, p);
}

/** A task's Sys: its methods live on the prototype, so a task costs two fields, not a closure
 *  per call. The text of a hot call (read, recv, epoll_wait) is built only when tracing. */
class SysCalls implements Sys {
  constructor(private readonly k: Kernel, readonly task: TaskStruct) {}
  socket(family: number, type: number, protocol: number): KGen<number> {
    const k = this.k;
    const t = `${TYPE[type & SOCK_TYPE_MASK] ?? type}${type & ~SOCK_TYPE_MASK ? ` | 0x${(type & ~SOCK_TYPE_MASK).toString(16)}` : ""}`;
    return syscall(k, this.task, `socket(${FAMILY[family] ?? family}, ${t}, ${protocol})`, function* () {
      yield* burn(k.costs.socketCreate, "sys");
      return SYSC_socket(k, family, type, protocol);
    });
  }
  close(fd: number): KGen<number> {
    return syscall(this.k, this.task, `close(${fd})`, () => SYSC_close(this.k, fd));
  }
  dup(fd: number): KGen<number> {
    return syscall(this.k, this.task, `dup(${fd})`, () => SYSC_dup(this.k, fd));
  }
  read(fd: number, count: number, buf: UserPtr<unknown> = USER_BUF): KGen<number> {
    const iter: IovIter = { count, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `read(${fd}, ${bufName(buf)}, ${count})` : "", () => SYSC_read(this.k, fd, count, iter, buf), iter);
  }
  recv(fd: number, len: number, flags = 0, buf: UserPtr<unknown> = USER_BUF): KGen<number> {
    const iter: IovIter = { count: len, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `recv(${fd}, ${bufName(buf)}, ${len}, ${flags})` : "", () => SYSC_recvfrom(this.k, fd, len, flags, iter, null, buf), iter);
  }
  recvfrom(fd: number, len: number, flags = 0, from: RecvfromAddr | null = null, buf: UserPtr<unknown> = USER_BUF): KGen<number> {
    const iter: IovIter = { count: len, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `recvfrom(${fd}, ${bufName(buf)}, ${len}, ${flags}, ${from ? "&addr, &addrlen" : "NULL, NULL"})` : "",
      () => SYSC_recvfrom(this.k, fd, len, flags, iter, from, buf), iter);
  }
  bind(fd: number, port: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `bind(${fd}, {AF_INET, port ${port}})`, function* () { return SYSC_bind(k, fd, port); });
  }
  listen(fd: number, backlog: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `listen(${fd}, ${backlog})`, function* () { return SYSC_listen(k, fd, backlog); });
  }
  accept(fd: number): KGen<number> {
    return syscall(this.k, this.task, `accept(${fd}, NULL, NULL)`, () => SYSC_accept4(this.k, fd, 0));
  }
  accept4(fd: number, flags: number): KGen<number> {
    return syscall(this.k, this.task, `accept4(${fd}, NULL, NULL, ${flags})`, () => SYSC_accept4(this.k, fd, flags));
  }
  setsockopt(fd: number, level: number, optname: number, value: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `setsockopt(${fd}, ${level}, ${optname}, ${value})`, function* () { return SYSC_setsockopt(k, fd, level, optname, value); });
  }
  fcntl(fd: number, cmd: number, arg: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `fcntl(${fd}, ${cmd}, 0x${arg.toString(16)})`, function* () { return SYSC_fcntl(k, fd, cmd, arg); });
  }
  pause(): KGen<number> {
    return syscall(this.k, this.task, "pause()", () => SYSC_pause(this.k));
  }
  epoll_create(size: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `epoll_create(${size})`, function* () { return SYSC_epoll_create(k, size); });
  }
  epoll_create1(flags: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `epoll_create1(${flags ? `0x${flags.toString(16)}` : 0})`, function* () { return SYSC_epoll_create1(k, flags); });
  }
  epoll_ctl(epfd: number, op: number, fd: number, event: EpollEvent | null): KGen<number> {
    return syscall(this.k, this.task, `epoll_ctl(${epfd}, ${epollCtlOpName(op)}, ${fd}, ${event ? `{${epollEventNames(event.events)}, data = ${event.data}}` : "NULL"})`,
      () => SYSC_epoll_ctl(this.k, epfd, op, fd, event));
  }
  epoll_wait(epfd: number, events: EpollEvent[], maxevents: number, timeout: number): KGen<number> {
    return syscall(this.k, this.task, this.k.tr ? `epoll_wait(${epfd}, events, ${maxevents}, ${timeout})` : "", () => SYSC_epoll_wait(this.k, epfd, events, maxevents, timeout));
  }
  epoll_pwait(epfd: number, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number, sigmask: UserPtr<number>, sigsetsize = SIGSET_SIZE): KGen<number> {
    return syscall(this.k, this.task, `epoll_pwait(${epfd}, events, ${maxevents}, ${timeout}, ${typeof sigmask === "number" ? `{0x${sigmask.toString(16)}}` : userPtrName(sigmask)}, ${sigsetsize})`,
      () => SYSC_epoll_pwait(this.k, epfd, events, maxevents, timeout, sigmask, sigsetsize));
  }
  sigprocmask(how: number, set: number, old?: { v: number }): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `rt_sigprocmask(${how}, {0x${(set >>> 0).toString(16)}}, oldset, 8)`, function* () { return sigprocmask(k, how, set, old); });
  }
  recvmsg(fd: number, msg: UserPtr<UserMsghdr>, flags = 0): KGen<number> {
    const iter: IovIter = { count: 0, consumed: [] };
    return syscall(this.k, this.task, `recvmsg(${fd}, msg, ${flags})`, () => SYSC_recvmsg(this.k, fd, msg, flags, iter), iter);
  }
  poll(fds: UserPtr<Pollfd[]>, nfds: number, timeout: number): KGen<number> {
    return syscall(this.k, this.task, this.k.tr ? `poll(fds, ${nfds}, ${timeout})` : "", () => SYSC_poll(this.k, fds, nfds, timeout));
  }
  select(n: number, rd: Set<number> | null, wr: Set<number> | null, ex: Set<number> | null, tv: Timeval | null): KGen<number> {
    const set = (s: Set<number> | null) => (s ? `{${[...s].join(",")}}` : "NULL");
    return syscall(this.k, this.task, this.k.tr ? `select(${n}, ${set(rd)}, ${set(wr)}, ${set(ex)}, ${tv ? `{${tv.tv_sec}, ${tv.tv_usec}}` : "NULL"})` : "",
      () => SYSC_select(this.k, n, rd, wr, ex, tv));
  }
  sendto(fd: number, len: number, flags: number, port: number, meta?: SendMeta): KGen<number> {
    return syscall(this.k, this.task, this.k.tr ? `sendto(${fd}, buf, ${len}, ${flags}, {AF_INET, 127.0.0.1:${port}}, 16)` : "",
      () => SYSC_sendto(this.k, fd, len, flags, { sin_family: AF_INET, sin_addr: "127.0.0.1", sin_port: port }, meta));
  }
  send(fd: number, len: number, flags = 0, meta?: SendMeta): KGen<number> {
    return syscall(this.k, this.task, this.k.tr ? `send(${fd}, buf, ${len}, ${flags})` : "", () => SYSC_send(this.k, fd, len, flags, meta));
  }
  connect(fd: number, port: number): KGen<number> {
    return syscall(this.k, this.task, `connect(${fd}, {AF_INET, 127.0.0.1:${port}}, 16)`,
      () => SYSC_connect(this.k, fd, { sin_family: AF_INET, sin_addr: "127.0.0.1", sin_port: port }));
  }
  shutdown(fd: number, how: number): KGen<number> {
    const k = this.k;
    return syscall(k, this.task, `shutdown(${fd}, ${["SHUT_RD", "SHUT_WR", "SHUT_RDWR"][how] ?? how})`, function* () {
      const r = yield* SYSC_shutdown(k, fd, how);
      yield* bhEnablePoint(k, "release_sock"); // inet_shutdown's release_sock: what its backlog processing raised runs here
      return r;
    });
  }
  write(fd: number, count: number): KGen<number> {
    return syscall(this.k, this.task, this.k.tr ? `write(${fd}, buf, ${count})` : "", () => SYSC_write(this.k, fd, count));
  }
  clock_nanosleep_abs(until: number): KGen<number> {
    return syscall(this.k, this.task, `clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, {${until} ns}, NULL)`, () => hrtimer_nanosleep(this.k, until));
  }
  compute(ns: number): KGen<void> {
    return burn(ns, "user");
  }
}
