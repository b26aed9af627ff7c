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
import { burn, charge, preemptPoint, type KGen, type TaskStruct } from "./sched";
import { SYSC_close, SYSC_dup, SYSC_read, SYSC_fcntl, type IovIter } from "./fs";
import type { SkBuff } from "./sock";
import { SYSC_socket, SYSC_bind, SYSC_listen, SYSC_accept4, SYSC_recvfrom, SYSC_setsockopt, type RecvfromAddr, AF_INET, SOCK_DGRAM, SOCK_RAW, SOCK_STREAM, SOCK_TYPE_MASK } from "./socket";
import { SYSC_pause } from "./signal";
import { EINTR, ERESTARTSYS, errnoName } from "./errno";
import { SYSC_epoll_create, SYSC_epoll_create1, SYSC_epoll_ctl, SYSC_epoll_wait, epollCtlOpName, epollEventNames, type EpollEvent } from "./eventpoll";

export interface Sys {
  readonly task: TaskStruct;
  socket(family: number, type: number, protocol: number): KGen<number>;
  close(fd: number): KGen<number>;
  dup(fd: number): KGen<number>;
  /** read(fd, buf, count): bytes read, 0 at EOF, or -errno. */
  read(fd: number, count: number): KGen<number>;
  /** recv(fd, buf, len, flags): glibc calls recvfrom(fd, buf, len, flags, NULL, NULL). */
  recv(fd: number, len: number, flags?: number): KGen<number>;
  /** recvfrom(fd, buf, len, flags, addr, addrlen): with `from`, the sender's address is
   *  copied to from.addr and its length to from.addrlen (move_addr_to_user). */
  recvfrom(fd: number, len: number, flags?: number, from?: RecvfromAddr | null): KGen<number>;
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
  epoll_wait(epfd: number, events: EpollEvent[], maxevents: number, timeout: number): KGen<number>;
  /** Spend ns of CPU in user mode (the program's own work). */
  compute(ns: number): KGen<void>;
}

const FAMILY: Record<number, string> = { [AF_INET]: "AF_INET" };
const TYPE: Record<number, string> = { [SOCK_STREAM]: "SOCK_STREAM", [SOCK_DGRAM]: "SOCK_DGRAM", [SOCK_RAW]: "SOCK_RAW" };

/** One system call: entry, body, signal handling, exit, preemption point. */
export function* syscall(k: Kernel, p: TaskStruct, text: string, body: () => KGen<number>, iter?: IovIter): KGen<number> {
  p.syscalls++;
  p.inKernel = true;
  const half = k.costs.syscall / 2;
  const root = k.tr?.enter("", text);
  charge(k, half); // entry_SYSCALL_64: paid with the body's first burn or sleep
  let ret = yield* body();
  if (ret === -ERESTARTSYS) ret = -EINTR; // no SA_RESTART handler in the model
  if (p.sigpending) p.sigpending = false; // do_signal: the (no-op) handler runs
  if (root) root.text += ` = ${errnoName(ret)}`;
  charge(k, half); // syscall_return_slowpath
  if (iter && iter.consumed.length > 0) deliver(k, p, iter);
  k.tr?.exit();
  p.inKernel = false;
  yield* preemptPoint(k); // exit_to_usermode_loop: need_resched -> schedule(); the time owed is paid
  return ret;
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
  read(fd: number, count: number): KGen<number> {
    const iter: IovIter = { count, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `read(${fd}, buf, ${count})` : "", () => SYSC_read(this.k, fd, count, iter), iter);
  }
  recv(fd: number, len: number, flags = 0): KGen<number> {
    const iter: IovIter = { count: len, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `recv(${fd}, buf, ${len}, ${flags})` : "", () => SYSC_recvfrom(this.k, fd, len, flags, iter), iter);
  }
  recvfrom(fd: number, len: number, flags = 0, from: RecvfromAddr | null = null): KGen<number> {
    const iter: IovIter = { count: len, consumed: [] };
    return syscall(this.k, this.task, this.k.tr ? `recvfrom(${fd}, buf, ${len}, ${flags}, ${from ? "&addr, &addrlen" : "NULL, NULL"})` : "",
      () => SYSC_recvfrom(this.k, fd, len, flags, iter, from), iter);
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
  compute(ns: number): KGen<void> {
    return burn(ns, "user");
  }
}
