// select.ts: poll() and select(): scan every fd, register on every wait queue, sleep, scan again.
// Linux 4.6.2: fs/select.c (poll_initwait, __pollwait, pollwake, poll_freewait,
// poll_schedule_timeout, do_pollfd, do_poll, do_sys_poll, max_select_fd, do_select,
// core_sys_select, poll_select_set_timeout, poll_select_copy_remaining). Book: §3.4 (what epoll
// replaces: the per-call scan and re-registration), §3.5 (the poll server).
//
// Interface:
// * SYSC_poll(k, ufds, nfds, timeout_msecs): ufds is the user's struct pollfd array (revents
//   written back), or NULL / a bad address (uaccess.ts): -EFAULT when nfds > 0. n ready fds, 0 on timeout,
//   -EINTR (ERESTART_RESTARTBLOCK, seen as EINTR by a handler without SA_RESTART),
//   -EINVAL when nfds > RLIMIT_NOFILE.
// * SYSC_select(k, n, inp, outp, exp, tvp): fd sets are Sets of fd numbers (fd_set bitmaps),
//   overwritten with the ready fds; tvp {tv_sec, tv_usec} or null, updated with the time left
//   (Linux's select does). -EBADF for a set fd that is not open, -EINVAL for n < 0 or a bad tvp.
// * Each call: poll_initwait; the first scan calls every f_op->poll with the poll table, whose
//   _qproc __pollwait puts one poll_table_entry (func pollwake) on each file's wait queue; once
//   an fd is ready (or on the later scans) _qproc is NULL and ->poll only reports. A wakeup
//   (pollwake: key matched against the entry's events) sets triggered and wakes the task, which
//   scans *all* fds again. poll_freewait unhooks every entry on the way out.
//
// Model vs kernel: the poll_table pages (N_INLINE_POLL_ENTRIES, POLL_TABLE_FULL) are one array;
// no busy polling (net.core.busy_poll = 0, the default); the copy of the pollfd array is charged
// within costs.pollFd per fd; each __pollwait (entry + add_wait_queue, and its removal in
// poll_freewait) costs costs.pollWait. fd_set bitmaps are JS Sets: n still bounds the fds seen.

import type { Kernel } from "./kernel";
import { fdget, fput, get_file, type File, type PollTable } from "./fs";
import { burn, charge, default_wake_function, set_current_state, TASK_INTERRUPTIBLE, TASK_RUNNING, type KGen, type TaskStruct } from "./sched";
import { add_wait_queue, remove_wait_queue, type WaitQueueEntry, type WaitQueueHead } from "./wait";
import { init_poll_funcptr } from "./poll";
import { schedule_hrtimeout_range, select_estimate_accuracy } from "./hrtimer";
import { EBADF, EFAULT, EINTR, EINVAL, ERESTARTNOHAND, ERESTART_RESTARTBLOCK } from "./errno";
import { copyFaults, type UserPtr } from "./uaccess";
import { POLLERR, POLLHUP, POLLIN, POLLNVAL, POLLOUT, POLLPRI, POLLRDBAND, POLLRDNORM, POLLWRBAND, POLLWRNORM } from "./sock";

/** include/linux/poll.h: the mask of a file without ->poll. */
export const DEFAULT_POLLMASK = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;
/** fs/select.c: what counts as readable, writable, exceptional for select(). */
export const POLLIN_SET = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
export const POLLOUT_SET = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
export const POLLEX_SET = POLLPRI;

/** struct pollfd (include/uapi/asm-generic/poll.h). */
export interface Pollfd {
  fd: number;
  events: number;
  /** Written by the kernel (do_pollfd; copied back by do_sys_poll's __put_user). */
  revents: number;
}

/** struct timeval (select's timeout; updated in place with the time left). */
export interface Timeval {
  tv_sec: number;
  tv_usec: number;
}

/** struct poll_table_entry: one registration on one wait queue. The wait entry is embedded
 *  (container_of(wait, struct poll_table_entry, wait) is the entry itself here). */
export interface PollTableEntry extends WaitQueueEntry {
  filp: File;
  /** The events asked for (p->_key when __pollwait ran): pollwake ignores other keys. */
  key: number;
  wait_address: WaitQueueHead;
}

/** struct poll_wqueues: the poll table of one poll()/select() call. */
export interface PollWqueues {
  pt: PollTable;
  polling_task: TaskStruct;
  /** Set by pollwake; poll_schedule_timeout does not sleep when it is set. */
  triggered: number;
  error: number;
  /** inline_entries + the poll_table_page list, as one array. */
  entries: PollTableEntry[];
}

/** Model: counts for the book (registrations made and removed over all calls). */
export interface PollCounters {
  pollwaits: number;
  freewaits: number;
  fdsPolled: number;
}
const counters = new WeakMap<Kernel, PollCounters>();
export function pollCounters(k: Kernel): PollCounters {
  let c = counters.get(k);
  if (!c) counters.set(k, (c = { pollwaits: 0, freewaits: 0, fdsPolled: 0 }));
  return c;
}

/** poll_initwait(pwq): the poll table's _qproc is __pollwait; the polling task is current. */
export function poll_initwait(k: Kernel): PollWqueues {
  const pwq: PollWqueues = { pt: init_poll_funcptr(__pollwait), polling_task: k.current, triggered: 0, error: 0, entries: [] };
  pwq.pt.owner = pwq; // container_of(p, struct poll_wqueues, pt)
  return pwq;
}

/** __pollwait(filp, wait_address, p): a new poll_table_entry on wait_address, func pollwake. */
function __pollwait(k: Kernel, filp: File, wait_address: WaitQueueHead, p: PollTable): void {
  const pwq = p.owner as PollWqueues;
  k.tr?.enter("__pollwait", `__pollwait(file, ${wait_address.name}, p): entry->key = 0x${(p._key >>> 0).toString(16)}`,
    "每次 poll 调用都要在每个 fd 的等待队列上重新挂一次", "p->_qproc(");
  const entry: PollTableEntry = {
    flags: 0, private: pwq, func: pollwake, head: null, // init_waitqueue_func_entry(&entry->wait, pollwake); wait.private = pwq
    filp: get_file(filp), key: p._key, wait_address,
  };
  pwq.entries.push(entry); // poll_get_entry
  add_wait_queue(k, wait_address, entry);
  k.tr?.exit();
  charge(k, k.costs.pollWait);
  pollCounters(k).pollwaits++;
}

/** pollwake: ignore a wakeup whose key has none of the entry's events; else __pollwake. */
export function pollwake(k: Kernel, wait: WaitQueueEntry, mode: number, sync: number, key: number | null): number {
  const entry = wait as PollTableEntry;
  if (key !== null && !(key & entry.key)) return 0;
  k.tr?.enter("pollwake", `pollwake(wait, mode, sync, key=${key === null ? "NULL" : `0x${key.toString(16)}`})`, undefined, "curr->func(");
  const r = __pollwake(k, entry, mode, sync);
  k.tr?.exit();
  return r;
}

/** __pollwake: pwq->triggered = 1, then default_wake_function on a dummy entry for the task. */
function __pollwake(k: Kernel, entry: PollTableEntry, mode: number, sync: number): number {
  const pwq = entry.private as PollWqueues;
  k.tr?.enter("__pollwake", "__pollwake(wait, mode, sync, key)", "pwq->triggered = 1");
  pwq.triggered = 1;
  const r = default_wake_function(k, { private: pwq.polling_task }, mode, sync); // DECLARE_WAITQUEUE(dummy_wait, pwq->polling_task)
  k.tr?.exit();
  return r;
}

/** poll_freewait(pwq): remove every entry from its wait queue and drop its file reference. */
export function poll_freewait(k: Kernel, pwq: PollWqueues): void {
  k.tr?.enter("poll_freewait", "poll_freewait(&table)", pwq.entries.length ? `${pwq.entries.length} entries: 返回前全部摘掉, 下次调用再挂` : undefined);
  for (const entry of pwq.entries) {
    k.tr?.enter("free_poll_entry", "free_poll_entry(pwq->inline_entries + i)");
    remove_wait_queue(k, entry.wait_address, entry);
    fput(k, entry.filp);
    k.tr?.exit();
    pollCounters(k).freewaits++;
  }
  pwq.entries.length = 0;
  k.tr?.exit();
}

/** poll_schedule_timeout(pwq, state, expires, slack): sleep unless a wakeup already came.
 *  Returns 0 when the timer fired, -EINTR otherwise. */
function* poll_schedule_timeout(k: Kernel, pwq: PollWqueues, state: number, expires: number | null, slack: number): KGen<number> {
  k.tr?.enter("poll_schedule_timeout", "poll_schedule_timeout(wait, TASK_INTERRUPTIBLE, to, slack)", pwq.triggered ? "triggered: no sleep" : undefined);
  let rc = -EINTR;
  set_current_state(k, state);
  if (!pwq.triggered) rc = yield* schedule_hrtimeout_range(k, expires, slack);
  k.current.state = TASK_RUNNING;
  pwq.triggered = 0; // smp_store_mb(pwq->triggered, 0): prepare for the next scan
  k.tr?.exit();
  return rc;
}

/** do_pollfd(pollfd, pwait): ->poll of one fd, masked to the events asked for (+ ERR, HUP). */
function do_pollfd(k: Kernel, pollfd: Pollfd, pwait: PollTable): number {
  k.tr?.enter("do_pollfd", `do_pollfd(pfd = {fd ${pollfd.fd}}, pt, &can_busy_loop, busy_flag)`);
  let mask = 0;
  const fd = pollfd.fd;
  if (fd >= 0) {
    const f = fdget(k, fd);
    mask = POLLNVAL;
    if (f) {
      mask = DEFAULT_POLLMASK;
      if (f.f_op.poll) {
        pwait._key = pollfd.events | POLLERR | POLLHUP;
        k.tr?.enter("", "mask = f.file->f_op->poll(f.file, pwait)", `= ${f.f_op.poll.name}`);
        mask = f.f_op.poll(k, f, pwait);
        k.tr?.exit();
      }
      mask &= pollfd.events | POLLERR | POLLHUP; // mask out unneeded events
    }
  }
  pollfd.revents = mask;
  k.tr?.exit();
  return mask;
}

/** do_poll(list, wait, end_time): scan until something is ready, the time is up or a signal. */
function* do_poll(k: Kernel, list: Pollfd[], wait: PollWqueues, end_time: number | null): KGen<number> {
  k.tr?.enter("do_poll", "fdcount = do_poll(head, &table, end_time)");
  const pt = wait.pt;
  let timed_out = false;
  let count = 0;
  let slack = 0;
  if (end_time !== null && end_time === 0) {
    pt._qproc = null; // optimise the no-wait case
    timed_out = true;
  }
  if (end_time !== null && !timed_out) slack = select_estimate_accuracy(k, end_time);
  for (;;) {
    k.tr?.leaf(`... scan of ${list.length} pollfd`, pt._qproc ? "first scan: ->poll registers (__pollwait)" : "re-scan: ->poll only reports");
    yield* burn(k.costs.pollFd * list.length, "sys");
    pollCounters(k).fdsPolled += list.length;
    for (const pfd of list) {
      if (do_pollfd(k, pfd, pt)) {
        count++;
        pt._qproc = null; // found one: don't register the rest
      }
    }
    pt._qproc = null; // every waiter is registered: later scans only ask
    if (!count) {
      count = wait.error;
      if (k.current.sigpending) count = -EINTR;
    }
    if (count || timed_out) break;
    const to = end_time; // the first loop converts end_time to ktime
    if ((yield* poll_schedule_timeout(k, wait, TASK_INTERRUPTIBLE, to, slack)) === 0) timed_out = true;
  }
  k.tr?.exit();
  return count;
}

/** poll_select_set_timeout for poll's milliseconds: null (forever), 0 (no wait) or an end time.
 *  MODEL: end_time 0 stands for the zero timespec (a real end time is never 0: now > 0). */
function pollEndTime(k: Kernel, timeout_msecs: number): number | null {
  if (timeout_msecs < 0) return null;
  if (timeout_msecs === 0) return 0;
  return k.now + timeout_msecs * 1_000_000;
}

/** do_sys_poll(ufds, nfds, end_time). */
function* do_sys_poll(k: Kernel, ufds: UserPtr<Pollfd[]>, nfds: number, end_time: number | null): KGen<number> {
  k.tr?.enter("do_sys_poll", "do_sys_poll(ufds, nfds, to)");
  try {
    if (nfds > k.current.files.rlimit_nofile) return -EINVAL;
    if (nfds > 0 && (copyFaults(ufds) || ufds.length < nfds)) return -EFAULT; // copy_from_user
    const user = ufds as Pollfd[];
    const list = nfds > 0 ? user.slice(0, nfds).map((u) => ({ fd: u.fd, events: u.events & 0xffff, revents: 0 })) : [];
    k.tr?.leaf("poll_initwait(&table)", "_qproc = __pollwait");
    const table = poll_initwait(k);
    const fdcount = yield* do_poll(k, list, table, end_time);
    poll_freewait(k, table);
    for (let j = 0; j < list.length; j++) user[j].revents = list[j].revents; // __put_user(revents)
    return fdcount;
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE3(poll, ufds, nfds, timeout_msecs). */
export function* SYSC_poll(k: Kernel, ufds: UserPtr<Pollfd[]>, nfds: number, timeout_msecs: number): KGen<number> {
  k.tr?.enter("SYSC_poll", `SYSC_poll(ufds, nfds = ${nfds}, timeout_msecs = ${timeout_msecs})`);
  try {
    nfds >>>= 0; // unsigned int
    const ret = yield* do_sys_poll(k, ufds, nfds, pollEndTime(k, timeout_msecs | 0));
    // restart_block->fn = do_restart_poll: without SA_RESTART the user sees EINTR
    return ret === -EINTR ? -ERESTART_RESTARTBLOCK : ret;
  } finally {
    k.tr?.exit();
  }
}

// ---- select ----

/** The three fd_sets of a select call, and the results (res_in, res_out, res_ex). */
interface FdSetBits {
  in: Set<number>;
  out: Set<number>;
  ex: Set<number>;
  res_in: Set<number>;
  res_out: Set<number>;
  res_ex: Set<number>;
}

/** max_select_fd(n, fds): -EBADF if a set fd below n is not open, else the highest set fd + 1. */
function max_select_fd(k: Kernel, n: number, fds: FdSetBits): number {
  const open = k.current.files.open_fds;
  let max = 0;
  for (const set of [fds.in, fds.out, fds.ex]) {
    for (const fd of set) {
      if (fd >= n) continue;
      if (!open[fd] || !k.current.files.fd[fd]) return -EBADF;
      if (fd + 1 > max) max = fd + 1;
    }
  }
  return max;
}

/** wait_key_set: the events this fd's registration listens for. */
function wait_key_set(wait: PollTable, inSet: boolean, outSet: boolean): void {
  wait._key = POLLEX_SET;
  if (inSet) wait._key |= POLLIN_SET;
  if (outSet) wait._key |= POLLOUT_SET;
}

/** do_select(n, fds, end_time): do_poll's loop over the bits below n. */
function* do_select(k: Kernel, n: number, fds: FdSetBits, end_time: number | null): KGen<number> {
  k.tr?.enter("do_select", "ret = do_select(n, &fds, end_time)");
  try {
    return yield* do_select_body(k, n, fds, end_time);
  } finally {
    k.tr?.exit();
  }
}

function* do_select_body(k: Kernel, n: number, fds: FdSetBits, end_time: number | null): KGen<number> {
  let retval = max_select_fd(k, n, fds);
  if (retval < 0) return retval;
  n = retval;
  const table = poll_initwait(k);
  const wait = table.pt;
  let timed_out = false;
  if (end_time !== null && end_time === 0) {
    wait._qproc = null;
    timed_out = true;
  }
  const slack = end_time !== null && !timed_out ? select_estimate_accuracy(k, end_time) : 0;
  retval = 0;
  for (;;) {
    const fdsSet: number[] = [];
    for (let i = 0; i < n; i++) if (fds.in.has(i) || fds.out.has(i) || fds.ex.has(i)) fdsSet.push(i);
    k.tr?.leaf(`... scan of ${fdsSet.length} fds below n = ${n}`, wait._qproc ? "first scan: ->poll registers (__pollwait)" : "re-scan: ->poll only reports");
    yield* burn(k.costs.pollFd * fdsSet.length, "sys");
    pollCounters(k).fdsPolled += fdsSet.length;
    for (const i of fdsSet) {
      const f = fdget(k, i);
      if (!f) continue;
      let mask = DEFAULT_POLLMASK;
      const inBit = fds.in.has(i), outBit = fds.out.has(i), exBit = fds.ex.has(i);
      if (f.f_op.poll) {
        wait_key_set(wait, inBit, outBit);
        k.tr?.enter("", "mask = (*f_op->poll)(f.file, wait)", `fd ${i}: ${f.f_op.poll.name}`);
        mask = f.f_op.poll(k, f, wait);
        k.tr?.exit();
      }
      if (mask & POLLIN_SET && inBit) {
        fds.res_in.add(i);
        retval++;
        wait._qproc = null;
      }
      if (mask & POLLOUT_SET && outBit) {
        fds.res_out.add(i);
        retval++;
        wait._qproc = null;
      }
      if (mask & POLLEX_SET && exBit) {
        fds.res_ex.add(i);
        retval++;
        wait._qproc = null;
      }
    }
    wait._qproc = null;
    if (retval || timed_out || k.current.sigpending) break;
    if (table.error) {
      retval = table.error;
      break;
    }
    if ((yield* poll_schedule_timeout(k, table, TASK_INTERRUPTIBLE, end_time, slack)) === 0) timed_out = true;
  }
  poll_freewait(k, table);
  return retval;
}

/** core_sys_select(n, inp, outp, exp, end_time): copy the sets in, do_select, copy results out. */
function* core_sys_select(k: Kernel, n: number, inp: Set<number> | null, outp: Set<number> | null, exp: Set<number> | null, end_time: number | null): KGen<number> {
  if (n < 0) return -EINVAL;
  k.tr?.enter("core_sys_select", "ret = core_sys_select(n, inp, outp, exp, to)");
  try {
    return yield* core_sys_select_body(k, n, inp, outp, exp, end_time);
  } finally {
    k.tr?.exit();
  }
}

function* core_sys_select_body(k: Kernel, n: number, inp: Set<number> | null, outp: Set<number> | null, exp: Set<number> | null, end_time: number | null): KGen<number> {
  const max_fds = Math.max(k.current.files.fd.length, 64); // fdt->max_fds: at least BITS_PER_LONG
  if (n > max_fds) n = max_fds;
  const fds: FdSetBits = {
    in: new Set(inp ?? []), out: new Set(outp ?? []), ex: new Set(exp ?? []), res_in: new Set(), res_out: new Set(), res_ex: new Set(),
  };
  let ret = yield* do_select(k, n, fds, end_time);
  if (ret < 0) return ret;
  if (!ret) {
    ret = -ERESTARTNOHAND;
    if (k.current.sigpending) return ret;
    ret = 0;
  }
  // set_fd_set: the user's sets now hold the ready fds (bits >= n are cleared too)
  for (const [user, res] of [[inp, fds.res_in], [outp, fds.res_out], [exp, fds.res_ex]] as const) {
    if (!user) continue;
    user.clear();
    for (const fd of res) user.add(fd);
  }
  return ret;
}

/** SYSCALL_DEFINE5(select, n, inp, outp, exp, tvp). */
export function* SYSC_select(k: Kernel, n: number, inp: Set<number> | null, outp: Set<number> | null, exp: Set<number> | null, tvp: Timeval | null): KGen<number> {
  k.tr?.enter("SYSC_select", `SYSC_select(n = ${n}, inp, outp, exp, tvp)`);
  try {
    let end_time: number | null = null;
    if (tvp) {
      // poll_select_set_timeout(to, tv_sec + tv_usec / USEC_PER_SEC, (tv_usec % USEC_PER_SEC) * NSEC_PER_USEC)
      const sec = tvp.tv_sec + Math.trunc(tvp.tv_usec / 1_000_000);
      const nsec = (tvp.tv_usec % 1_000_000) * 1000;
      if (sec < 0 || nsec < 0 || nsec >= 1_000_000_000) return -EINVAL; // !timespec_valid
      end_time = !sec && !nsec ? 0 : k.now + sec * 1_000_000_000 + nsec;
    }
    const ret = yield* core_sys_select(k, n | 0, inp, outp, exp, end_time);
    // poll_select_copy_remaining(&end_time, tvp, 1, ret): Linux writes back the time left
    if (tvp && end_time !== null && end_time !== 0) {
      const left = Math.max(0, end_time - k.now);
      tvp.tv_sec = Math.floor(left / 1_000_000_000);
      tvp.tv_usec = Math.floor((left % 1_000_000_000) / 1000);
    }
    return ret;
  } finally {
    k.tr?.exit();
  }
}
