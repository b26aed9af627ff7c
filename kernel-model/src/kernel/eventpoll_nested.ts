// eventpoll_nested.ts: epoll inside epoll: the nesting guards of fs/eventpoll.c.
// Linux 4.6.2: fs/eventpoll.c (ep_call_nested, ep_poll_safewake, ep_loop_check,
// reverse_path_check). Book: §3.4 (an epoll fd is a file: it can be watched by another epoll).
//
// Interface:
// * ep_call_nested(ncalls, max_nests, nproc, priv, cookie, ctx): run nproc unless the same
//   (ctx, cookie) is already in progress (a loop) or more than max_nests calls are (too deep).
// * ep_poll_safewake(k, wq): wake the pollers of an epoll file (ep->poll_wait) through that guard.
// * ep_loop_check(k, ep, file): EPOLL_CTL_ADD of an epoll file must not close a cycle or nest
//   deeper than EP_MAX_NESTS below ep (-ELOOP); plain files met on the way go on tfile_check_list.
// * reverse_path_check(k): from each file on tfile_check_list, count the wakeup paths up through
//   the epoll files watching it; more than {1000, 500, 100, 50, 10} of length 1..5 -> -EINVAL.
// * ep_eventpoll_poll: f_op->poll of an epoll file: registers the caller on ep->poll_wait and
//   reports POLLIN when an item is really ready (ep_scan_ready_list with ep_read_events_proc).
//
// Model vs kernel: the call lists are arrays; ctx is the task (loop checks) or the CPU number
// (wakeups), as in Linux. As in 4.6, ep_loop_check only looks DOWN from the target; paths UP
// from a plain file are bounded by reverse_path_check, so a bottom-up chain stops at 5 epoll
// levels above a socket (-EINVAL), and 6 levels of epolls below a target give -ELOOP.

import type { Kernel } from "./kernel";
import type { File, PollTable } from "./fs";
import { TASK_NORMAL } from "./sched";
import { __wake_up, type WaitQueueHead } from "./wait";
import { init_poll_funcptr, poll_wait } from "./poll";
import { list_del_init, listEntries, type ListHead } from "./list";
import { EPOLLIN, EPOLLRDNORM } from "./eventpoll_uapi";
import {
  EP_MAX_NESTS, ep_events_available, ep_item_poll, ep_ptable_queue_proc, epollGlobals, is_file_epoll, type Epitem, type Eventpoll,
} from "./eventpoll";
import { ep_scan_done, ep_scan_start } from "./eventpoll_wait";

/** reverse_path_check: wakeup paths allowed per path length 1..5 (length 1 is never counted). */
const PATH_LIMITS = [1000, 500, 100, 50, 10];

/** nested_calls: the (ctx, cookie) pairs of the calls in progress, newest first. */
export type NestedCalls = { ctx: unknown; cookie: unknown }[];

/** ep_call_nested: run nproc unless (ctx, cookie) is already in progress (a loop) or the
 *  calls in progress for ctx exceed max_nests; -1 then. */
export function ep_call_nested(ncalls: NestedCalls, max_nests: number, nproc: (priv: unknown, cookie: unknown, call_nests: number) => number,
  priv: unknown, cookie: unknown, ctx: unknown): number {
  let call_nests = 0;
  for (const tncur of ncalls) {
    if (tncur.ctx === ctx && (tncur.cookie === cookie || ++call_nests > max_nests)) return -1; // loop, or too deep
  }
  const tnode = { ctx, cookie };
  ncalls.unshift(tnode); // list_add
  try {
    return nproc(priv, cookie, call_nests);
  } finally {
    ncalls.splice(ncalls.indexOf(tnode), 1);
  }
}

/** ep_poll_safewake(wq): wake_up_poll(wq, POLLIN) for the watchers of an epoll file, with the
 *  nesting guard (a wakeup loop through nested epolls is cut at EP_MAX_NESTS). */
export function ep_poll_safewake(k: Kernel, wq: WaitQueueHead): void {
  k.tr?.enter("ep_poll_safewake", `ep_poll_safewake(${wq.name})`, "the epoll file itself became readable");
  const g = epollGlobals(k);
  ep_call_nested(g.poll_safewake_ncalls, EP_MAX_NESTS, (_p, cookie) => {
    __wake_up(k, cookie as WaitQueueHead, TASK_NORMAL, 1, EPOLLIN); // ep_wake_up_nested -> wake_up_poll
    return 0;
  }, null, wq, k.cpu ? k.cpu.cpu : 0);
  k.tr?.exit();
}

// ---- loops and wakeup paths (ep_loop_check, reverse_path_check) ----

/** ep_loop_check_proc: walk the epoll files reachable from `file`, marking them visited;
 *  plain files found on the way go on tfile_check_list. */
function ep_loop_check_proc(k: Kernel, file: File, call_nests: number): number {
  const g = epollGlobals(k);
  const ep = file.private_data as Eventpoll;
  let error = 0;
  ep.visited = true;
  g.visited_list.push(ep);
  for (const [, epi] of ep.rbr) {
    const f = epi.ffd.file;
    if (is_file_epoll(f)) {
      const ep_tovisit = f.private_data as Eventpoll;
      if (ep_tovisit.visited) continue;
      error = ep_call_nested(g.poll_loop_ncalls, EP_MAX_NESTS, (p, _c, n) => ep_loop_check_proc(k, p as File, n), f, ep_tovisit, k.current);
      if (error !== 0) break;
    } else {
      g.tfile_check_list.add(f);
    }
  }
  void call_nests;
  return error;
}

/** ep_loop_check(ep, file): adding `file` (an epoll file) to ep must not close a loop or nest
 *  deeper than EP_MAX_NESTS below it. Non-zero -> -ELOOP. */
export function ep_loop_check(k: Kernel, ep: Eventpoll, file: File): number {
  const g = epollGlobals(k);
  k.tr?.enter("ep_loop_check", "ep_loop_check(ep, tf.file)", "epoll inside epoll: no cycles, depth <= EP_MAX_NESTS");
  const ret = ep_call_nested(g.poll_loop_ncalls, EP_MAX_NESTS, (p, _c, n) => ep_loop_check_proc(k, p as File, n), file, ep, k.current);
  for (const e of g.visited_list.splice(0)) e.visited = false;
  k.tr?.exit();
  return ret;
}

function reverse_path_check_proc(k: Kernel, file: File, call_nests: number): number {
  const g = epollGlobals(k);
  let error = 0;
  for (const epi of file.f_ep_links as Epitem[]) {
    const child_file = epi.ep.file!;
    if (!is_file_epoll(child_file)) continue;
    if (child_file.f_ep_links.length === 0) {
      // path_count_inc(call_nests): any number of length-1 paths is allowed
      if (call_nests !== 0 && ++g.path_count[call_nests] > PATH_LIMITS[call_nests]) error = -1;
    } else {
      error = ep_call_nested(g.poll_loop_ncalls, EP_MAX_NESTS, (p, _c, n) => reverse_path_check_proc(k, p as File, n), child_file, child_file, k.current);
    }
    if (error !== 0) break;
  }
  return error;
}

/** reverse_path_check: from each file on tfile_check_list, count the wakeup paths up through
 *  the epoll files that watch it; too many of one length -> ep_insert fails with -EINVAL. */
export function reverse_path_check(k: Kernel): number {
  const g = epollGlobals(k);
  let error = 0;
  for (const file of g.tfile_check_list) {
    g.path_count.fill(0); // path_count_init
    error = ep_call_nested(g.poll_loop_ncalls, EP_MAX_NESTS, (p, _c, n) => reverse_path_check_proc(k, p as File, n), file, file, k.current);
    if (error) break;
  }
  if (error) k.tr?.leaf("reverse_path_check() failed: too many wakeup paths", "-EINVAL", "reverse_path_check");
  return error;
}

// ---- the epoll file's ->poll: an epoll fd watched by another epoll fd ----

/** ep_read_events_proc: is any item on the list really ready? Drops those that are not. */
function ep_read_events_proc(k: Kernel, ep: Eventpoll, head: ListHead<Epitem>): number {
  const pt = init_poll_funcptr(null);
  for (const epi of listEntries(head)) {
    if (ep_item_poll(k, epi, pt)) return EPOLLIN | EPOLLRDNORM;
    list_del_init(epi.rdllink);
  }
  void ep;
  return 0;
}

/** ep_poll_readyevents_proc -> ep_scan_ready_list(ep, ep_read_events_proc, ...): runs in one
 *  instant (no copy to user space). `locked`: ep_insert already holds this ep's mtx. */
function ep_poll_readyevents_proc(k: Kernel, ep: Eventpoll, locked: boolean): number {
  if (!locked && ep.mtx.owner !== null && ep.mtx.owner !== k.current) {
    // MODEL: Linux would sleep on ep->mtx here; a ->poll() cannot: only peek.
    return ep_events_available(ep) ? EPOLLIN | EPOLLRDNORM : 0;
  }
  const txlist = ep_scan_start(k, ep);
  const error = ep_read_events_proc(k, ep, txlist);
  const pwake = ep_scan_done(k, ep, txlist);
  if (pwake) ep_poll_safewake(k, ep.poll_wait);
  return error;
}

/** ep_eventpoll_poll: f_op->poll of an epoll file. Registers on ep->poll_wait (through the
 *  caller's poll table), then reports POLLIN if some item is really ready. */
export function ep_eventpoll_poll(k: Kernel, file: File, wait: PollTable | null): number {
  const ep = file.private_data as Eventpoll;
  const g = epollGlobals(k);
  k.tr?.enter("ep_eventpoll_poll", "ep_eventpoll_poll(file, wait)", "an epoll file watched by another epoll");
  const locked = wait !== null && wait._qproc === ep_ptable_queue_proc;
  poll_wait(k, file, ep.poll_wait, wait);
  const pollflags = ep_call_nested(g.poll_readywalk_ncalls, EP_MAX_NESTS, () => ep_poll_readyevents_proc(k, ep, locked), null, ep, k.current);
  k.tr?.exit();
  return pollflags !== -1 ? pollflags : 0;
}
