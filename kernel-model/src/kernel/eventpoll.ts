// eventpoll.ts: epoll's objects and how they are built: struct eventpoll, the red-black tree of
// epitems, the ready list, epoll_create, epoll_ctl, and ep_poll_callback, the function the
// watched sockets call when data arrives.
// Linux 4.6.2: fs/eventpoll.c, include/linux/eventpoll.h. Book: §3.4.1 epoll内核对象的创建,
// §3.4.2 为epoll添加socket, §3.4.4 数据来了. epoll_wait (§3.4.3) is in eventpoll_wait.ts; the
// nesting guards and the epoll file's own ->poll in eventpoll_nested.ts; the user-space
// constants in eventpoll_uapi.ts. This file re-exports all three.
//
// Interface (4.6.2 names, in the order a program meets them):
// * SYSC_epoll_create1(flags) / SYSC_epoll_create(size): ep_alloc, anon_inode_getfile("[eventpoll]",
//   &eventpoll_fops, ep), an fd. Bad flags or size <= 0 -> -EINVAL.
// * SYSC_epoll_ctl(epfd, op, fd, event): 4.6.2's checks in its order (EFAULT, EBADF, EPERM,
//   EINVAL, ELOOP, then EEXIST/ENOENT, ENOSPC; nothing changes on error), then
//   ep_insert: ep_item_poll -> f_op->poll (sock_poll -> tcp_poll/udp_poll -> sock_poll_wait ->
//     poll_wait -> ep_ptable_queue_proc: an eppoll_entry whose wait.func = ep_poll_callback goes
//     on the file's wait queue) -> ep_rbtree_insert; an already-ready file goes on rdllist;
//   ep_modify (re-poll; re-arms EPOLLONESHOT); ep_remove (unhook, unlink, rb_erase).
// * ep_poll_callback(wait, mode, sync, key) [softirq, from sock_def_readable]: the epitem goes
//   on rdllist once (on ovflist while a scan copies events out); wake_up_locked(&ep->wq) wakes
//   one epoll_wait task, the one that started waiting last (LIFO). EPOLLEXCLUSIVE entries
//   return "woke someone", so __wake_up_common stops after one epoll instance.
// * eventpoll_release(file) (k.eventpoll_release, from __fput on the LAST reference) removes
//   every epitem watching the file; ep_eventpoll_release (closing the epfd) frees them all.
// * ep_eventpoll_poll: an epoll file can itself be watched (nested epoll, ep->poll_wait).
// * Model helpers: epollGlobals(k) (fs.epoll.max_user_watches, the user's epoll_watches, live
//   epitem and eppoll_entry counts), epRbtreeItems(ep), epRdllistItems(ep), epOvflistItems(ep).
//
// Model vs kernel:
// * One event runs at a time: ep->lock (a spinlock) is not modelled, no code holding it yields.
//   ep->mtx and epmutex are real sleeping mutexes (mutex.ts): ep->mtx is held across the
//   copy-out loop, which takes simulated time, so a thread sharing the epfd must wait for it.
// * eventpoll_release_file runs from __fput, a plain function that cannot sleep: it does not
//   wait for epmutex or ep->mtx. If a scan is in progress (threads sharing files), ep_remove also unchains
//   the item from ovflist, which the mutex makes unnecessary in Linux. For the same reason
//   ep_eventpoll_poll only peeks when another task holds ep->mtx.
// * No wakeup sources: EPOLLWAKEUP is dropped as for a task without CAP_BLOCK_SUSPEND. No
//   POLLFREE (no signalfd/binder), no busy polling, no allocation failures (never ENOMEM).
// * epoll_ctl returns EFAULT only for a NULL event on ADD/MOD (there is no bad pointer).
// * Costs: epoll_ctl burns costs.epollCtl; each ep_poll_callback charges costs.epollCallback.
// * Eventpoll.onScan: a test/teaching hook, called when a scan has spliced rdllist away.

import { OrderedMap } from "js-sdsl";
import type { Kernel } from "./kernel";
import { burn, charge, type KGen } from "./sched";
import {
  add_wait_queue, add_wait_queue_exclusive, init_waitqueue_func_entry, init_waitqueue_head, remove_wait_queue, wake_up_locked,
  waitqueue_active, type WaitQueueEntry, type WaitQueueHead,
} from "./wait";
import {
  alloc_file, fd_install, fdget, fput, get_file, get_unused_fd_flags, FMODE_READ, FMODE_WRITE, O_CLOEXEC, O_NONBLOCK, O_RDWR,
  type File, type FileOperations, type PollTable,
} from "./fs";
import { init_poll_funcptr } from "./poll";
import { INIT_LIST_HEAD, smallList, list_add_tail, list_del_init, list_empty, listEntries, type ListHead } from "./list";
import { mutex_init, mutex_lock, mutex_unlock, type Mutex } from "./mutex";
import { EBADF, EEXIST, EFAULT, EINVAL, ELOOP, ENOENT, ENOMEM, ENOSPC, EPERM } from "./errno";
import {
  EPOLLERR, EPOLLET, EPOLLEXCLUSIVE, EPOLLHUP, EPOLLIN, EPOLLONESHOT, EPOLLOUT, EPOLLWAKEUP, EPOLL_CLOEXEC,
  EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, epollCtlOpName, epollEventNames, type EpollEvent,
} from "./eventpoll_uapi";
import { ep_eventpoll_poll, ep_loop_check, ep_poll_safewake, reverse_path_check, type NestedCalls } from "./eventpoll_nested";

export * from "./eventpoll_uapi";

/** fs/eventpoll.c: epoll nesting limit (loop checks, nested wakeups). */
export const EP_MAX_NESTS = 4;
/** EP_MAX_EVENTS = INT_MAX / sizeof(struct epoll_event). */
export const EP_MAX_EVENTS = Math.floor(0x7fffffff / 12);
/** The bits that are not poll events: they never match a wakeup key. */
export const EP_PRIVATE_BITS = (EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE) >>> 0;
const EPOLLINOUT_BITS = EPOLLIN | EPOLLOUT;
/** The only bits allowed together with EPOLLEXCLUSIVE. */
export const EPOLLEXCLUSIVE_OK_BITS = (EPOLLINOUT_BITS | EPOLLERR | EPOLLHUP | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE) >>> 0;

/** EP_UNACTIVE_PTR ((void *) -1L): ovflist when no scan runs; epi->next when not chained. */
export const EP_UNACTIVE_PTR: unique symbol = Symbol("EP_UNACTIVE_PTR");
export type EpUnactive = typeof EP_UNACTIVE_PTR;

/** struct epoll_filefd: the rb-tree key. */
export interface EpollFilefd {
  file: File;
  fd: number;
}

/** struct eppoll_entry: the hook an epitem leaves on one wait queue. */
export interface EppollEntry {
  /** The epitem (ep_item_from_wait). */
  base: Epitem;
  /** On whead: func = ep_poll_callback, EXCLUSIVE only with EPOLLEXCLUSIVE. */
  wait: WaitQueueEntry;
  /** The watched file's wait queue (sk_sleep(sk) for a socket, ep->poll_wait for an epoll file). */
  whead: WaitQueueHead | null;
}

/** struct epitem: one watched (file, fd) of one epoll instance. */
export interface Epitem {
  /** Linked on ep->rbr (set by ep_rbtree_insert, cleared by rb_erase). */
  rbn: boolean;
  /** On ep->rdllist (or a scan's txlist) when ready: list_empty(&rdllink) <=> not linked. */
  rdllink: ListHead<Epitem>;
  /** ovflist chain while a scan runs; EP_UNACTIVE_PTR when not chained. */
  next: Epitem | null | EpUnactive;
  ffd: EpollFilefd;
  /** Wait queues hooked (eppoll_entry count); -1 after an allocation failure. */
  nwait: number;
  /** The eppoll_entry hooks, in the order ->poll registered them. */
  pwqlist: EppollEntry[];
  ep: Eventpoll;
  /** On ffd.file->f_ep_links (eventpoll_release walks that list on the last fput). */
  fllink: boolean;
  /** events (POLLERR|POLLHUP always added) and the user's data. */
  event: EpollEvent;
}

/** struct user_struct: the epoll part (per-user watch accounting). */
export interface UserStruct {
  epoll_watches: number;
}

/** struct eventpoll: the kernel object behind an epoll fd (file->private_data). */
export interface Eventpoll {
  /** Model: a serial number for names and diagrams. */
  id: number;
  /** Held by epoll_ctl and by ep_scan_ready_list (the copy-out loop). */
  mtx: Mutex;
  /** Tasks in epoll_wait: exclusive entries, added at the HEAD (LIFO), func default_wake_function. */
  wq: WaitQueueHead;
  /** Whoever polls this epoll file itself (nested epoll): ep_poll_callback entries of other eps. */
  poll_wait: WaitQueueHead;
  /** Ready epitems, in the order they became ready: appended by ep_poll_callback (softirq). */
  rdllist: ListHead<Epitem>;
  /** Every watched (file, fd), ordered as ep_cmp_ffd orders them: file, then fd. */
  rbr: OrderedMap<EpollFilefd, Epitem>;
  /** EP_UNACTIVE_PTR normally; while a scan copies events out: NULL or a chain via epi->next. */
  ovflist: Epitem | null | EpUnactive;
  user: UserStruct;
  file: File | null;
  /** ep_loop_check's mark. */
  visited: boolean;
  /** Model hook (tests, teaching): called when a scan starts (rdllist spliced, ovflist = NULL). */
  onScan: ((k: Kernel, ep: Eventpoll) => void) | null;
}

/** The globals of fs/eventpoll.c, per simulated machine. */
export interface EpollGlobals {
  /** /proc/sys/fs/epoll/max_user_watches: lower it to provoke ENOSPC. */
  max_user_watches: number;
  /** The one user every task runs as. */
  user: UserStruct;
  poll_loop_ncalls: NestedCalls;
  poll_safewake_ncalls: NestedCalls;
  poll_readywalk_ncalls: NestedCalls;
  visited_list: Eventpoll[];
  /** epmutex: serialises the loop and path checks of EPOLL_CTL_ADD (and tfile_check_list). */
  epmutex: Mutex;
  /** tfile_check_list (file->f_tfile_llink): files whose wakeup paths ep_insert must check. */
  tfile_check_list: Set<File>;
  path_count: number[];
  /** Model statistics: epitems and eppoll_entries allocated and not yet freed. */
  epitems_alive: number;
  pwqs_alive: number;
  nextEp: number;
}

/** max_user_watches at boot for 8 GiB of low memory: (lowmem_pages / 25 << PAGE_SHIFT) /
 *  EP_ITEM_COST, with EP_ITEM_COST = sizeof(struct epitem) 128 + sizeof(struct eppoll_entry) 72. */
export const DEFAULT_MAX_USER_WATCHES = Math.floor(((Math.floor((8 * 2 ** 30) / 4096 / 25) * 4096) / 200));

const globals = new WeakMap<Kernel, EpollGlobals>();

/** The epoll globals of machine k; the first call is eventpoll_init (an fs_initcall in Linux),
 *  which also installs k.eventpoll_release for __fput. */
export function epollGlobals(k: Kernel): EpollGlobals {
  let g = globals.get(k);
  if (!g) {
    g = {
      max_user_watches: DEFAULT_MAX_USER_WATCHES, user: { epoll_watches: 0 }, epmutex: mutex_init("epmutex"),
      poll_loop_ncalls: [], poll_safewake_ncalls: [], poll_readywalk_ncalls: [], visited_list: [],
      tfile_check_list: new Set(), path_count: [0, 0, 0, 0, 0], epitems_alive: 0, pwqs_alive: 0, nextEp: 0,
    };
    globals.set(k, g);
    k.eventpoll_release = eventpoll_release;
  }
  return g;
}

/** ep_cmp_ffd: order by struct file (its address; here its serial), then by fd. */
export function ep_cmp_ffd(a: EpollFilefd, b: EpollFilefd): number {
  return a.file.id - b.file.id || a.fd - b.fd;
}

export const eventpoll_fops: FileOperations = {
  name: "eventpoll_fops",
  read_iter: null,
  poll: ep_eventpoll_poll,
  release: ep_eventpoll_release,
};

export function is_file_epoll(f: File): boolean {
  return f.f_op === eventpoll_fops;
}

/** ep_is_linked(&epi->rdllink): the item is on rdllist (or on a scan's txlist). */
export function ep_is_linked(epi: Epitem): boolean {
  return !list_empty(epi.rdllink);
}

/** ep_events_available: something on rdllist, or a scan in progress (it may chain more). */
export function ep_events_available(ep: Eventpoll): boolean {
  return !list_empty(ep.rdllist) || ep.ovflist !== EP_UNACTIVE_PTR;
}

/** fdget(fd) as 4.6's __fget_light does it: a borrowed pointer when the fd table is not shared,
 *  a counted reference when threads share it (so a close() in another thread cannot free the
 *  file under us). The references go on `refs`; fdput is `for (f of refs) fput(f)`. */
export function fdget_light(k: Kernel, fd: number, refs: File[]): File | null {
  const f = fdget(k, fd);
  if (f && k.current.files.count > 1) refs.push(get_file(f));
  return f;
}

export function fdput_all(k: Kernel, refs: File[]): void {
  while (refs.length > 0) fput(k, refs.pop()!);
}

/** Model helpers: the interest set in tree order, the ready list, the ovflist chain. */
export function epRbtreeItems(ep: Eventpoll): Epitem[] {
  const out: Epitem[] = [];
  for (const [, epi] of ep.rbr) out.push(epi);
  return out;
}
export function epRdllistItems(ep: Eventpoll): Epitem[] {
  return listEntries(ep.rdllist);
}
export function epOvflistItems(ep: Eventpoll): Epitem[] {
  const out: Epitem[] = [];
  for (let p = ep.ovflist; p !== null && p !== EP_UNACTIVE_PTR; p = p.next) out.push(p);
  return out;
}

// ---- epoll_create (§3.4.1) ----

/** ep_alloc: a zeroed struct eventpoll with its queues, lists and tree initialised. */
function ep_alloc(k: Kernel): Eventpoll {
  const g = epollGlobals(k);
  k.tr?.enter("ep_alloc", "ep_alloc(&ep)", "分配 struct eventpoll");
  const id = ++g.nextEp;
  const ep: Eventpoll = {
    id, mtx: mutex_init(`ep${id}->mtx`), wq: init_waitqueue_head(`ep${id}->wq`), poll_wait: init_waitqueue_head(`ep${id}->poll_wait`),
    rdllist: INIT_LIST_HEAD<Epitem>(), rbr: new OrderedMap<EpollFilefd, Epitem>([], ep_cmp_ffd), ovflist: EP_UNACTIVE_PTR,
    user: g.user, file: null, visited: false, onScan: null,
  };
  k.tr?.leaf("init_waitqueue_head(&ep->wq)", "等待队列: 软中断数据就绪时通过 wq 找到阻塞在 epoll 对象上的用户进程");
  k.tr?.leaf("init_waitqueue_head(&ep->poll_wait)", "poll()/nested epoll waiting on the epfd itself");
  k.tr?.leaf("INIT_LIST_HEAD(&ep->rdllist)", "就绪的描述符链表");
  k.tr?.leaf("ep->rbr = RB_ROOT", "红黑树: 管理用户进程添加进来的所有 socket 连接");
  k.tr?.leaf("ep->ovflist = EP_UNACTIVE_PTR; ep->user = get_current_user()");
  k.tr?.exit();
  return ep;
}

/** anon_inode_getfile(name, fops, priv, flags) (fs/anon_inodes.c): a file on the anon inode. */
function anon_inode_getfile(k: Kernel, name: string, fops: FileOperations, priv: unknown, flags: number): File {
  k.tr?.enter("anon_inode_getfile", `file = anon_inode_getfile("${name}", &${fops.name}, ep, O_RDWR | (flags & O_CLOEXEC))`, "file->private_data = ep");
  const file = alloc_file(k, name, FMODE_READ | FMODE_WRITE, fops, priv);
  file.f_flags = flags & (O_RDWR | O_NONBLOCK); // O_ACCMODE | O_NONBLOCK: close-on-exec is an fd flag
  k.tr?.exit();
  return file;
}

/** SYSCALL_DEFINE1(epoll_create1, flags). */
export function SYSC_epoll_create1(k: Kernel, flags: number): number {
  k.tr?.enter("SYSC_epoll_create1", `SYSC_epoll_create1(flags = ${flags})`, undefined, "sys_epoll_create1(");
  try {
    if (flags & ~EPOLL_CLOEXEC) return -EINVAL;
    const ep = ep_alloc(k);
    const fd = get_unused_fd_flags(k, O_RDWR | (flags & O_CLOEXEC));
    if (fd < 0) {
      ep_free(k, ep); // out_free_ep
      return fd;
    }
    const file = anon_inode_getfile(k, "[eventpoll]", eventpoll_fops, ep, O_RDWR | (flags & O_CLOEXEC));
    ep.file = file;
    fd_install(k, fd, file);
    return fd;
  } finally {
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE1(epoll_create, size): size is only checked, then ignored. */
export function SYSC_epoll_create(k: Kernel, size: number): number {
  k.tr?.enter("SYSC_epoll_create", `SYSC_epoll_create(size = ${size})`, size > 0 ? "size 只需大于 0, 其余被忽略" : undefined);
  const r = size <= 0 ? -EINVAL : SYSC_epoll_create1(k, 0);
  k.tr?.exit();
  return r;
}

// ---- epoll_ctl (§3.4.2) ----

function ep_op_has_event(op: number): boolean {
  return op !== EPOLL_CTL_DEL;
}

/** ep_take_care_of_epollwakeup: EPOLLWAKEUP needs CAP_BLOCK_SUSPEND, which no model task has. */
function ep_take_care_of_epollwakeup(epds: EpollEvent): void {
  if (epds.events & EPOLLWAKEUP) epds.events = (epds.events & ~EPOLLWAKEUP) >>> 0;
}

/** ep_find(ep, file, fd): the rb-tree lookup, O(log n). */
function ep_find(k: Kernel, ep: Eventpoll, file: File, fd: number): Epitem | null {
  const epi = ep.rbr.getElementByKey({ file, fd }) ?? null;
  k.tr?.leaf(`epi = ep_find(ep, tf.file, fd) = ${epi ? "epi" : "NULL"}`, "红黑树查找, O(log n)", "ep_find");
  return epi;
}

/** SYSCALL_DEFINE4(epoll_ctl, epfd, op, fd, event). */
export function* SYSC_epoll_ctl(k: Kernel, epfd: number, op: number, fd: number, event: EpollEvent | null): KGen<number> {
  k.tr?.enter("SYSC_epoll_ctl", `SYSC_epoll_ctl(epfd = ${epfd}, op = ${epollCtlOpName(op)}, fd = ${fd}, event)`);
  const refs: File[] = [];
  try {
    yield* burn(k.costs.epollCtl, "sys");
    const g = epollGlobals(k);
    const epds: EpollEvent = { events: 0, data: 0 };
    if (ep_op_has_event(op)) {
      if (!event) return -EFAULT; // copy_from_user
      epds.events = event.events >>> 0;
      epds.data = event.data;
      k.tr?.leaf("copy_from_user(&epds, event, sizeof(struct epoll_event))", `{${epollEventNames(epds.events)}, data = ${epds.data}}`);
    }
    const f = fdget_light(k, epfd, refs);
    if (!f) return -EBADF;
    const tf = fdget_light(k, fd, refs);
    if (!tf) return -EBADF;
    if (!tf.f_op.poll) return -EPERM; // the target must support poll
    if (ep_op_has_event(op)) ep_take_care_of_epollwakeup(epds);
    if (f === tf || !is_file_epoll(f)) return -EINVAL;
    if (ep_op_has_event(op) && epds.events & EPOLLEXCLUSIVE) {
      if (op === EPOLL_CTL_MOD) return -EINVAL;
      if (op === EPOLL_CTL_ADD && (is_file_epoll(tf) || epds.events & ~EPOLLEXCLUSIVE_OK_BITS)) return -EINVAL;
    }
    const ep = f.private_data as Eventpoll;
    let full_check = false;
    let tep: Eventpoll | null = null;
    let ep_locked = false;
    yield* mutex_lock(k, ep.mtx);
    ep_locked = true;
    try {
      if (op === EPOLL_CTL_ADD && (f.f_ep_links.length > 0 || is_file_epoll(tf))) {
        // the epfd is itself watched, or the target is an epoll file: check loops and paths,
        // under the global epmutex (taken without ep->mtx, as 4.6 does, to keep the lock order)
        full_check = true;
        mutex_unlock(k, ep.mtx);
        ep_locked = false;
        yield* mutex_lock(k, g.epmutex);
        if (is_file_epoll(tf)) {
          if (ep_loop_check(k, ep, tf) !== 0) {
            g.tfile_check_list.clear(); // clear_tfile_check_list
            return -ELOOP;
          }
        } else {
          g.tfile_check_list.add(tf);
        }
        yield* mutex_lock(k, ep.mtx);
        ep_locked = true;
        if (is_file_epoll(tf)) {
          tep = tf.private_data as Eventpoll;
          yield* mutex_lock(k, tep.mtx);
        }
      }
      const epi = ep_find(k, ep, tf, fd);
      let error = -EINVAL;
      switch (op) {
        case EPOLL_CTL_ADD:
          if (!epi) {
            epds.events = (epds.events | EPOLLERR | EPOLLHUP) >>> 0;
            k.tr?.leaf("epds.events |= POLLERR | POLLHUP", "错误和挂断总是被关注");
            error = ep_insert(k, ep, epds, tf, fd, full_check);
          } else {
            error = -EEXIST;
          }
          if (full_check) g.tfile_check_list.clear();
          break;
        case EPOLL_CTL_DEL:
          error = epi ? ep_remove(k, ep, epi) : -ENOENT;
          break;
        case EPOLL_CTL_MOD:
          if (epi) {
            if (!(epi.event.events & EPOLLEXCLUSIVE)) {
              epds.events = (epds.events | EPOLLERR | EPOLLHUP) >>> 0;
              error = ep_modify(k, ep, epi, epds);
            }
          } else {
            error = -ENOENT;
          }
          break;
      }
      return error;
    } finally {
      if (tep) mutex_unlock(k, tep.mtx);
      if (ep_locked) mutex_unlock(k, ep.mtx);
      if (full_check) mutex_unlock(k, g.epmutex);
    }
  } finally {
    fdput_all(k, refs);
    k.tr?.exit();
  }
}

/** ep_ptable_queue_proc: pt->_qproc during ep_insert. Hooks the epitem onto `whead` with an
 *  eppoll_entry whose wait.func is ep_poll_callback. */
export function ep_ptable_queue_proc(k: Kernel, file: File, whead: WaitQueueHead, pt: PollTable): void {
  const epi = pt.owner as Epitem; // ep_item_from_epqueue(pt)
  k.tr?.enter("ep_ptable_queue_proc", "ep_ptable_queue_proc(file, whead, pt)", "p->_qproc(filp, wait_address, p)", "p->_qproc(");
  if (epi.nwait >= 0) {
    const pwq = { base: epi, whead, wait: null } as unknown as EppollEntry;
    pwq.wait = init_waitqueue_func_entry(ep_poll_callback, pwq); // private: the model's container_of
    k.tr?.leaf("init_waitqueue_func_entry(&pwq->wait, ep_poll_callback)", "新建等待队列项, 回调函数 ep_poll_callback, private 为 NULL");
    if (epi.event.events & EPOLLEXCLUSIVE) add_wait_queue_exclusive(k, whead, pwq.wait);
    else add_wait_queue(k, whead, pwq.wait);
    epi.pwqlist.push(pwq); // list_add_tail(&pwq->llink, &epi->pwqlist)
    epi.nwait++;
    epollGlobals(k).pwqs_alive++;
  } else {
    epi.nwait = -1;
  }
  k.tr?.exit();
  void file;
}

/** ep_item_poll(epi, pt): pt->_key = events; f_op->poll(file, pt) & events. */
export function ep_item_poll(k: Kernel, epi: Epitem, pt: PollTable): number {
  k.tr?.enter("ep_item_poll", "ep_item_poll(epi, pt)", pt._qproc ? "registers a wait entry, then reads the mask" : "qproc NULL: only reads the mask");
  pt._key = epi.event.events;
  const file = epi.ffd.file;
  k.tr?.enter("", "epi->ffd.file->f_op->poll(epi->ffd.file, pt)", `= ${file.f_op.poll?.name}`);
  const mask = file.f_op.poll!(k, file, pt);
  k.tr?.exit();
  k.tr?.exit();
  return (mask & epi.event.events) >>> 0;
}

/** ep_rbtree_insert(ep, epi): into ep->rbr, keyed by ep_cmp_ffd. */
function ep_rbtree_insert(k: Kernel, ep: Eventpoll, epi: Epitem): void {
  ep.rbr.setElement(epi.ffd, epi);
  epi.rbn = true;
  k.tr?.leaf("ep_rbtree_insert(ep, epi)", `将 epitem 插入红黑树 (${ep.rbr.size()} items, height ${ep.rbr.getHeight()})`, "ep_rbtree_insert");
}

/** ep_insert(ep, event, tfile, fd, full_check): a new epitem. Called with ep->mtx held. */
function ep_insert(k: Kernel, ep: Eventpoll, event: EpollEvent, tfile: File, fd: number, full_check: boolean): number {
  k.tr?.enter("ep_insert", `ep_insert(ep, &epds, tf.file, fd = ${fd}, full_check = ${+full_check})`);
  try {
    const g = epollGlobals(k);
    if (ep.user.epoll_watches >= g.max_user_watches) return -ENOSPC;
    const epi = {
      rbn: false, next: EP_UNACTIVE_PTR, ffd: { file: tfile, fd }, nwait: 0, pwqlist: smallList(), ep, fllink: false,
      event: { events: event.events >>> 0, data: event.data }, rdllink: null,
    } as unknown as Epitem;
    epi.rdllink = INIT_LIST_HEAD(epi);
    g.epitems_alive++;
    k.tr?.leaf("epi = kmem_cache_alloc(epi_cache, GFP_KERNEL); epi->ep = ep; ep_set_ffd(&epi->ffd, tfile, fd)", "分配并初始化 epitem");
    const pt = init_poll_funcptr(ep_ptable_queue_proc, epi); // epq.epi = epi
    k.tr?.leaf("init_poll_funcptr(&epq.pt, ep_ptable_queue_proc)", "设置 socket 等待队列的回调函数");
    const revents = ep_item_poll(k, epi, pt);
    let error = -ENOMEM;
    if (epi.nwait >= 0) {
      tfile.f_ep_links.push(epi); // list_add_tail_rcu(&epi->fllink, &tfile->f_ep_links)
      epi.fllink = true;
      k.tr?.leaf("list_add_tail_rcu(&epi->fllink, &tfile->f_ep_links)", "close() of the file finds its epitems here");
      ep_rbtree_insert(k, ep, epi);
      error = -EINVAL;
      if (!(full_check && reverse_path_check(k))) {
        let pwake = 0;
        if (revents & event.events && !ep_is_linked(epi)) {
          list_add_tail(epi.rdllink, ep.rdllist);
          k.tr?.leaf("list_add_tail(&epi->rdllink, &ep->rdllist)", "already ready: straight onto the ready list");
          if (waitqueue_active(ep.wq)) wake_up_locked(k, ep.wq);
          if (waitqueue_active(ep.poll_wait)) pwake++;
        }
        ep.user.epoll_watches++;
        if (pwake) ep_poll_safewake(k, ep.poll_wait);
        return 0;
      }
      // error_remove_epi: too many wakeup paths
      tfile.f_ep_links.splice(tfile.f_ep_links.indexOf(epi), 1);
      epi.fllink = false;
      ep.rbr.eraseElementByKey(epi.ffd);
      epi.rbn = false;
    }
    // error_unregister
    ep_unregister_pollwait(k, ep, epi);
    if (ep_is_linked(epi)) list_del_init(epi.rdllink);
    g.epitems_alive--;
    return error;
  } finally {
    k.tr?.exit();
  }
}

/** ep_modify(ep, epi, event): new events and data, then a re-poll (no new wait entries). */
function ep_modify(k: Kernel, ep: Eventpoll, epi: Epitem, event: EpollEvent): number {
  k.tr?.enter("ep_modify", `ep_modify(ep, epi, {${epollEventNames(event.events)}, data = ${event.data}})`);
  epi.event.events = event.events >>> 0;
  epi.event.data = event.data;
  const revents = ep_item_poll(k, epi, init_poll_funcptr(null));
  let pwake = 0;
  if (revents & event.events && !ep_is_linked(epi)) {
    list_add_tail(epi.rdllink, ep.rdllist); // this is what re-arms an EPOLLONESHOT item
    k.tr?.leaf("list_add_tail(&epi->rdllink, &ep->rdllist)", "ready now: onto the ready list");
    if (waitqueue_active(ep.wq)) wake_up_locked(k, ep.wq);
    if (waitqueue_active(ep.poll_wait)) pwake++;
  }
  if (pwake) ep_poll_safewake(k, ep.poll_wait);
  k.tr?.exit();
  return 0;
}

/** ep_unregister_pollwait: take every eppoll_entry off its wait queue. */
function ep_unregister_pollwait(k: Kernel, ep: Eventpoll, epi: Epitem): void {
  const g = epollGlobals(k);
  for (const pwq of epi.pwqlist.splice(0)) {
    if (pwq.whead) remove_wait_queue(k, pwq.whead, pwq.wait); // ep_remove_wait_queue
    pwq.whead = null;
    g.pwqs_alive--;
  }
  void ep;
}

/** ep_remove(ep, epi): unhook, unlink from the file and the ready list, rb_erase, free. */
function ep_remove(k: Kernel, ep: Eventpoll, epi: Epitem): number {
  k.tr?.enter("ep_remove", `ep_remove(ep, epi) (fd ${epi.ffd.fd})`);
  const g = epollGlobals(k);
  ep_unregister_pollwait(k, ep, epi);
  const file = epi.ffd.file;
  const i = file.f_ep_links.indexOf(epi);
  if (i >= 0) file.f_ep_links.splice(i, 1); // list_del_rcu(&epi->fllink)
  epi.fllink = false;
  ep.rbr.eraseElementByKey(epi.ffd); // rb_erase(&epi->rbn, &ep->rbr)
  epi.rbn = false;
  if (ep_is_linked(epi)) list_del_init(epi.rdllink);
  if (epi.next !== EP_UNACTIVE_PTR) {
    // MODEL: only reachable when __fput ran during a scan (see the header): unchain from ovflist
    let p: Epitem | null | EpUnactive = ep.ovflist;
    let prev: Epitem | null = null;
    while (p !== null && p !== EP_UNACTIVE_PTR && p !== epi) {
      prev = p;
      p = p.next;
    }
    if (p === epi) {
      if (prev) prev.next = epi.next;
      else ep.ovflist = epi.next;
    }
    epi.next = EP_UNACTIVE_PTR;
  }
  ep.user.epoll_watches--;
  g.epitems_alive--;
  k.tr?.exit();
  return 0;
}

// ---- data arrives (§3.4.4) ----

/** ep_poll_callback: the func of an epitem's wait entry on a watched file's wait queue.
 *  Runs where the wakeup runs: softirq (sock_def_readable), or process context. */
export function ep_poll_callback(k: Kernel, wait: WaitQueueEntry, mode: number, sync: number, key: number | null): number {
  const epi = (wait.private as EppollEntry).base; // ep_item_from_wait
  const ep = epi.ep;
  let pwake = 0;
  let ewake = 0;
  k.tr?.enter("ep_poll_callback", "ep_poll_callback(wait, mode, sync, key)", "epi = ep_item_from_wait(wait); ep = epi->ep", "curr->func(");
  charge(k, k.costs.epollCallback);
  out: {
    if (!(epi.event.events & ~EP_PRIVATE_BITS)) {
      k.tr?.leaf("!(epi->event.events & ~EP_PRIVATE_BITS): out", "EPOLLONESHOT item disarmed until EPOLL_CTL_MOD");
      break out;
    }
    if (key !== null && !(key & epi.event.events)) {
      k.tr?.leaf(`key & epi->event.events == 0: out`, `wakeup for ${epollEventNames(key)}, watching ${epollEventNames(epi.event.events)}`);
      break out;
    }
    if (ep.ovflist !== EP_UNACTIVE_PTR) {
      // ep_scan_ready_list is copying events out: chain on ovflist, requeued when it ends
      if (epi.next === EP_UNACTIVE_PTR) {
        epi.next = ep.ovflist;
        ep.ovflist = epi;
      }
      k.tr?.leaf("epi->next = ep->ovflist; ep->ovflist = epi", "scan in progress: chained on ovflist");
      break out;
    }
    if (!ep_is_linked(epi)) {
      list_add_tail(epi.rdllink, ep.rdllist);
      k.tr?.leaf("list_add_tail(&epi->rdllink, &ep->rdllist)", "将 epitem 添加到 eventpoll 的就绪队列");
    } else {
      k.tr?.leaf("ep_is_linked(&epi->rdllink): already on rdllist", "one entry per item, however many wakeups");
    }
    if (waitqueue_active(ep.wq)) {
      if (epi.event.events & EPOLLEXCLUSIVE) {
        const io = key === null ? 0 : key & EPOLLINOUT_BITS;
        if ((io === EPOLLIN && epi.event.events & EPOLLIN) || (io === EPOLLOUT && epi.event.events & EPOLLOUT) || io === 0) ewake = 1;
      }
      k.tr?.enter("", "wake_up_locked(&ep->wq)", "查看 eventpoll 的等待队列上是否有等待: 唤醒一个 (LIFO)");
      wake_up_locked(k, ep.wq);
      k.tr?.exit();
    }
    if (waitqueue_active(ep.poll_wait)) pwake++;
  }
  if (pwake) ep_poll_safewake(k, ep.poll_wait);
  k.tr?.exit();
  void mode;
  void sync;
  return epi.event.events & EPOLLEXCLUSIVE ? ewake : 1;
}

// ---- closing: the epoll file, and the last reference to a watched file ----

/** ep_free(ep): wake the epfd's pollers, unhook every item, remove every item. */
function ep_free(k: Kernel, ep: Eventpoll): void {
  k.tr?.enter("ep_free", "ep_free(ep)", `${ep.rbr.size()} epitems`);
  if (waitqueue_active(ep.poll_wait)) ep_poll_safewake(k, ep.poll_wait);
  for (const [, epi] of ep.rbr) ep_unregister_pollwait(k, ep, epi);
  for (let front = ep.rbr.front(); front; front = ep.rbr.front()) ep_remove(k, ep, front[1]);
  k.tr?.exit();
}

/** ep_eventpoll_release: f_op->release of an epoll file (its last fput). */
export function ep_eventpoll_release(k: Kernel, file: File): void {
  k.tr?.enter("ep_eventpoll_release", "ep_eventpoll_release(inode, file)");
  const ep = file.private_data as Eventpoll | null;
  if (ep) ep_free(k, ep);
  k.tr?.exit();
}

/** eventpoll_release(file) (include/linux/eventpoll.h): from __fput, when the LAST reference to
 *  a file goes: remove every epitem, of every epoll instance, that watches it. */
export function eventpoll_release(k: Kernel, file: File): void {
  if (file.f_ep_links.length === 0) return;
  k.tr?.enter("eventpoll_release_file", "eventpoll_release(file) -> eventpoll_release_file(file)", "最后一个引用: 从所有 epoll 中移除");
  for (const epi of (file.f_ep_links as Epitem[]).slice()) ep_remove(k, epi.ep, epi);
  k.tr?.exit();
}

export * from "./eventpoll_nested";
export * from "./eventpoll_wait";
