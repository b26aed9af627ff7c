// eventpoll_wait.ts: epoll_wait: sleeping on ep->wq, and copying the ready list to user space.
// Linux 4.6.2: fs/eventpoll.c (SYSC_epoll_wait, ep_poll, ep_send_events, ep_scan_ready_list,
// ep_send_events_proc). Book: §3.4.3 epoll_wait之等待接收, and the
// end of §3.4.4 (the woken task returns with its events).
//
// Interface:
// * SYSC_epoll_wait(epfd, events, maxevents, timeout ms): -EINVAL for maxevents <= 0 (or above
//   EP_MAX_EVENTS) and for a non-epoll fd, -EBADF for a bad fd; else ep_poll.
// * ep_poll: nothing ready -> init_waitqueue_entry(current) (func default_wake_function),
//   __add_wait_queue_exclusive at the HEAD of ep->wq (LIFO), TASK_INTERRUPTIBLE, then
//   schedule_hrtimeout_range until ep_poll_callback wakes it, the timeout passes (returns 0) or a
//   signal comes (-EINTR). timeout 0 never sleeps; -1 sleeps without a timer. When every ready
//   item turns out not ready, it sleeps again: epoll_wait never returns 0 before its timeout.
// * ep_scan_start / ep_scan_done: the two halves of ep_scan_ready_list around its sproc (also
//   used by ep_eventpoll_poll, which has no copy loop).
// * ep_send_events -> ep_scan_ready_list -> ep_send_events_proc: with ep->mtx held, take rdllist
//   (callbacks go to ovflist meanwhile), re-poll each item, copy up to maxevents: LT items go back
//   on rdllist's tail, EPOLLET items do not, EPOLLONESHOT items are disarmed; undelivered items go
//   back at the head; a non-empty rdllist wakes the next waiter.
//
// * SYSC_epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize): sigsetsize must be
//   sizeof(sigset_t) (-EINVAL), the mask is copied (-EFAULT), set as current->blocked around
//   epoll_wait, and restored at once, or after the signal's delivery if the wait ended -EINTR.
//
// Model vs kernel: `events` is a JS array the call fills, or a bad address (uaccess.ts): one
// above TASK_SIZE_MAX fails access_ok (-EFAULT before the fd lookup); an unmapped one faults at
// the first __put_user in ep_send_events_proc (the item goes back on rdllist); each item the copy loop
// re-polls costs costs.epollEvent of CPU (the interrupts that arrive during that time meet a scan
// in progress: the ovflist path), ep_poll itself costs.epollWait. The timeout's slack is 4.6's
// select_estimate_accuracy and the hrtimer fires at the end of the range (hrtimer.ts).

import type { Kernel } from "./kernel";
import type { File } from "./fs";
import { burn, set_current_state, TASK_INTERRUPTIBLE, TASK_RUNNING, type KGen } from "./sched";
import { __add_wait_queue_exclusive, __remove_wait_queue, init_waitqueue_entry, wake_up_locked, waitqueue_active } from "./wait";
import { init_poll_funcptr } from "./poll";
import { INIT_LIST_HEAD, list_add, list_add_tail, list_del_init, list_empty, list_first_entry, list_splice, list_splice_init, type ListHead } from "./list";
import { mutex_lock, mutex_unlock } from "./mutex";
import { schedule_hrtimeout_range, select_estimate_accuracy } from "./hrtimer";
import { EBADF, EFAULT, EINTR, EINVAL } from "./errno";
import { access_ok, copyFaults, type UserPtr } from "./uaccess";
import { set_current_blocked, SIGSET_SIZE } from "./signal";
import { EPOLLET, EPOLLONESHOT, epollEventNames, type EpollEvent } from "./eventpoll_uapi";
import {
  EP_MAX_EVENTS, EP_PRIVATE_BITS, EP_UNACTIVE_PTR, ep_events_available, ep_is_linked, ep_item_poll, fdget_light, fdput_all,
  is_file_epoll, type Epitem, type Eventpoll,
} from "./eventpoll";
import { ep_poll_safewake } from "./eventpoll_nested";

// ---- ep_scan_ready_list, in two halves (ep_eventpoll_poll runs them without the copy loop) ----


/** The start of ep_scan_ready_list: steal rdllist into txlist; callbacks now go to ovflist. */
export function ep_scan_start(k: Kernel, ep: Eventpoll): ListHead<Epitem> {
  const txlist = INIT_LIST_HEAD<Epitem>();
  list_splice_init(ep.rdllist, txlist);
  ep.ovflist = null;
  k.tr?.leaf("list_splice_init(&ep->rdllist, &txlist); ep->ovflist = NULL", "new events go to ovflist while we copy");
  return txlist;
}

/** The end of ep_scan_ready_list: ovflist items and the undelivered txlist back on rdllist;
 *  if anything is ready, wake another waiter. Returns pwake. */
export function ep_scan_done(k: Kernel, ep: Eventpoll, txlist: ListHead<Epitem>): number {
  let pwake = 0;
  for (let nepi = ep.ovflist; nepi !== null && nepi !== EP_UNACTIVE_PTR;) {
    const epi: Epitem = nepi;
    nepi = epi.next;
    epi.next = EP_UNACTIVE_PTR;
    if (!ep_is_linked(epi)) {
      list_add_tail(epi.rdllink, ep.rdllist);
      k.tr?.leaf(`ovflist -> list_add_tail(&epi->rdllink, &ep->rdllist) (fd ${epi.ffd.fd})`, "an event that came during the copy");
    }
  }
  ep.ovflist = EP_UNACTIVE_PTR;
  if (!list_empty(txlist)) k.tr?.leaf("list_splice(&txlist, &ep->rdllist)", "items not delivered (maxevents) go back at the head");
  list_splice(txlist, ep.rdllist);
  if (!list_empty(ep.rdllist)) {
    if (waitqueue_active(ep.wq)) {
      k.tr?.enter("", "wake_up_locked(&ep->wq)", "rdllist still not empty: wake another waiter");
      wake_up_locked(k, ep.wq);
      k.tr?.exit();
    }
    if (waitqueue_active(ep.poll_wait)) pwake++;
  }
  return pwake;
}

/** ep_send_events_proc: copy up to maxevents ready items to user space, re-polling each. */
function* ep_send_events_proc(k: Kernel, ep: Eventpoll, head: ListHead<Epitem>, events: UserPtr<EpollEvent[]>, maxevents: number): KGen<number> {
  k.tr?.enter("ep_send_events_proc", "(*sproc)(ep, &txlist, priv) = ep_send_events_proc(ep, &txlist, esed)", undefined, "(*sproc)(");
  const pt = init_poll_funcptr(null);
  let eventcnt = 0;
  while (!list_empty(head) && eventcnt < maxevents) {
    const epi = list_first_entry(head);
    list_del_init(epi.rdllink);
    const revents = ep_item_poll(k, epi, pt);
    if (revents) {
      if (copyFaults(events)) {
        list_add(epi.rdllink, head); // __put_user faulted: the item stays ready
        k.tr?.leaf("__put_user(revents, &uevent->events): -EFAULT", "user buffer not mapped");
        k.tr?.exit();
        return eventcnt ? eventcnt : -EFAULT;
      }
      events.push({ events: revents, data: epi.event.data }); // __put_user x2
      eventcnt++;
      let what: string;
      if (epi.event.events & EPOLLONESHOT) {
        epi.event.events = (epi.event.events & EP_PRIVATE_BITS) >>> 0;
        what = "EPOLLONESHOT: epi->event.events &= EP_PRIVATE_BITS (disarmed)";
      } else if (!(epi.event.events & EPOLLET)) {
        list_add_tail(epi.rdllink, ep.rdllist);
        what = "level-triggered: list_add_tail(&epi->rdllink, &ep->rdllist)";
      } else {
        what = "EPOLLET: not put back";
      }
      k.tr?.leaf(`__put_user({${epollEventNames(revents)}, data = ${epi.event.data}}, uevent)`, what);
    } else {
      k.tr?.leaf(`revents == 0 (fd ${epi.ffd.fd})`, "not ready any more: dropped from the ready list");
    }
    yield* burn(k.costs.epollEvent, "sys");
  }
  k.tr?.exit();
  return eventcnt;
}

/** ep_scan_ready_list(ep, ep_send_events_proc, ...): with ep->mtx held, for epoll_wait. */
function* ep_send_events(k: Kernel, ep: Eventpoll, events: UserPtr<EpollEvent[]>, maxevents: number): KGen<number> {
  k.tr?.enter("ep_send_events", "ep_send_events(ep, events, maxevents)");
  k.tr?.enter("ep_scan_ready_list", "ep_scan_ready_list(ep, ep_send_events_proc, &esed, 0, false)");
  yield* mutex_lock(k, ep.mtx);
  const txlist = ep_scan_start(k, ep);
  ep.onScan?.(k, ep);
  const n = yield* ep_send_events_proc(k, ep, txlist, events, maxevents);
  const pwake = ep_scan_done(k, ep, txlist);
  mutex_unlock(k, ep.mtx);
  if (pwake) ep_poll_safewake(k, ep.poll_wait);
  k.tr?.exit();
  k.tr?.exit();
  return n;
}

/** ep_poll(ep, events, maxevents, timeout ms): wait for events and copy them out. */
function* ep_poll(k: Kernel, ep: Eventpoll, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number): KGen<number> {
  k.tr?.enter("ep_poll", `ep_poll(ep, events, maxevents = ${maxevents}, timeout = ${timeout})`);
  yield* burn(k.costs.epollWait, "sys");
  const p = k.current;
  let res = 0;
  let timed_out = false;
  let slack = 0;
  let to: number | null = null;
  if (timeout > 0) {
    to = k.now + timeout * 1_000_000; // ep_set_mstimeout: absolute
    slack = select_estimate_accuracy(k, to);
  } else if (timeout === 0) {
    timed_out = true; // do not sleep: goto check_events
  }
  let check_only = timeout === 0;
  for (;;) {
    // fetch_events:
    if (!check_only && !ep_events_available(ep)) {
      k.tr?.leaf("ep_events_available(ep): false", "判断就绪队列上有没有事件就绪: 没有");
      const wait = init_waitqueue_entry(p);
      k.tr?.leaf("init_waitqueue_entry(&wait, current)", "定义等待事件并关联当前进程 (func = default_wake_function)");
      __add_wait_queue_exclusive(ep.wq, wait);
      k.tr?.leaf("__add_wait_queue_exclusive(&ep->wq, &wait)", "把 waiter 添加到 ep->wq 的头部: EXCLUSIVE, LIFO");
      for (;;) {
        set_current_state(k, TASK_INTERRUPTIBLE);
        if (ep_events_available(ep) || timed_out) break;
        if (p.sigpending) {
          res = -EINTR;
          k.tr?.leaf("signal_pending(current): res = -EINTR");
          break;
        }
        k.tr?.leaf("set_current_state(TASK_INTERRUPTIBLE)", "设置当前进程为可打断状态");
        if ((yield* schedule_hrtimeout_range(k, to, slack)) === 0) timed_out = true;
      }
      __remove_wait_queue(ep.wq, wait);
      p.state = TASK_RUNNING;
      k.tr?.leaf("__remove_wait_queue(&ep->wq, &wait); __set_current_state(TASK_RUNNING)",
        res ? undefined : timed_out && !ep_events_available(ep) ? "timed out" : "woken: events available");
    }
    check_only = false;
    // check_events:
    const eavail = ep_events_available(ep);
    if (!res && eavail) {
      res = yield* ep_send_events(k, ep, events, maxevents);
      if (res === 0 && !timed_out) continue; // every ready item turned out not ready: wait again
    }
    k.tr?.exit();
    return res;
  }
}

/** SYSCALL_DEFINE4(epoll_wait, epfd, events, maxevents, timeout). The events array receives
 *  the n events (its length becomes n). */
export function* SYSC_epoll_wait(k: Kernel, epfd: number, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number): KGen<number> {
  k.tr?.enter("SYSC_epoll_wait", `SYSC_epoll_wait(epfd = ${epfd}, events, maxevents = ${maxevents}, timeout = ${timeout})`);
  const refs: File[] = [];
  try {
    if (Array.isArray(events)) events.length = 0;
    if (maxevents <= 0 || maxevents > EP_MAX_EVENTS) return -EINVAL;
    if (!access_ok(events)) return -EFAULT; // access_ok(VERIFY_WRITE, events, maxevents * sizeof(struct epoll_event))
    const f = fdget_light(k, epfd, refs);
    if (!f) return -EBADF;
    if (!is_file_epoll(f)) return -EINVAL;
    return yield* ep_poll(k, f.private_data as Eventpoll, events, maxevents, timeout);
  } finally {
    fdput_all(k, refs);
    k.tr?.exit();
  }
}

/** SYSCALL_DEFINE6(epoll_pwait, epfd, events, maxevents, timeout, sigmask, sigsetsize): epoll_wait
 *  with current->blocked = *sigmask for its duration. sigmask null: plain epoll_wait. */
export function* SYSC_epoll_pwait(k: Kernel, epfd: number, events: UserPtr<EpollEvent[]>, maxevents: number, timeout: number,
  sigmask: UserPtr<number>, sigsetsize: number): KGen<number> {
  k.tr?.enter("SYSC_epoll_pwait", `SYSC_epoll_pwait(epfd = ${epfd}, events, maxevents = ${maxevents}, timeout = ${timeout}, sigmask, sigsetsize = ${sigsetsize})`);
  try {
    const p = k.current;
    let sigsaved = 0;
    if (sigmask !== null) {
      if (sigsetsize !== SIGSET_SIZE) return -EINVAL;
      if (copyFaults(sigmask)) return -EFAULT; // copy_from_user(&ksigmask, sigmask, sizeof(ksigmask))
      sigsaved = p.blocked;
      set_current_blocked(k, sigmask as number);
      k.tr?.leaf(`set_current_blocked(&ksigmask = 0x${(sigmask as number).toString(16)})`, "the mask the caller asked for, during the wait");
    }
    const error = yield* SYSC_epoll_wait(k, epfd, events, maxevents, timeout);
    if (sigmask !== null) {
      if (error === -EINTR) {
        // set_restore_sigmask(): do_signal delivers the signal first, then the mask comes back
        p.saved_sigmask = sigsaved;
      } else set_current_blocked(k, sigsaved);
    }
    return error;
  } finally {
    k.tr?.exit();
  }
}
