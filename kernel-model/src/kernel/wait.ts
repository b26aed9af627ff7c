// wait.ts: wait queues, the mechanism every sleep and wakeup in ch.3 goes through.
// Linux 4.6.2: kernel/sched/wait.c, include/linux/wait.h. Book: §3.3.1, §3.3.2, §3.4.3-§3.4.4.
//
// Interface:
// * WaitQueueHead (wait_queue_head_t) holds WaitQueueEntry (wait_queue_t) in list order.
// * Insertion, exactly as 4.6.2: add_wait_queue / __add_wait_queue / prepare_to_wait put an
//   entry at the HEAD and clear WQ_FLAG_EXCLUSIVE; add_wait_queue_exclusive /
//   prepare_to_wait_exclusive put it at the TAIL with WQ_FLAG_EXCLUSIVE; ep_poll's
//   __add_wait_queue_exclusive puts an exclusive entry at the HEAD (LIFO epoll waiters).
// * __wake_up_common(q, mode, nr_exclusive, wake_flags, key) calls every entry's func in list
//   order and stops only after nr_exclusive EXCLUSIVE entries returned non-zero; non-exclusive
//   entries never count. nr_exclusive = 0 means "wake all".
// * Entry funcs: default_wake_function (sched.ts), autoremove_wake_function (here),
//   ep_poll_callback (eventpoll.ts), receiver_wake_function (datagram, udp.ts).
//
// Model vs kernel: the lists are arrays (head = index 0); no spinlocks (one event at a time).
// __wake_up_common walks a copy of the list, which is what list_for_each_entry_safe gives when
// a func removes its own entry (autoremove_wake_function does).

import type { Kernel } from "./kernel";
import { smallList } from "./list";
import { default_wake_function, taskStateName, TASK_INTERRUPTIBLE, TASK_NORMAL, TASK_RUNNING, WF_SYNC, type TaskStruct } from "./sched";

export const WQ_FLAG_EXCLUSIVE = 0x01;
export const WQ_FLAG_WOKEN = 0x02;

/** wait_queue_func_t: returns non-zero when it woke something. key is a poll mask or null. */
export type WaitQueueFunc = (k: Kernel, wait: WaitQueueEntry, mode: number, wake_flags: number, key: number | null) => number;

/** wait_queue_t (include/linux/wait.h; renamed wait_queue_entry_t in 4.13). */
export interface WaitQueueEntry {
  /** WQ_FLAG_EXCLUSIVE: counts toward nr_exclusive in __wake_up_common. */
  flags: number;
  /** The sleeping task for task waiters; the owner object (eppoll_entry) for callbacks. */
  private: unknown;
  func: WaitQueueFunc;
  /** Model: the head this entry is linked on (list_empty(&wait->task_list) <=> null). */
  head: WaitQueueHead | null;
}

/** wait_queue_head_t (include/linux/wait.h). */
export interface WaitQueueHead {
  /** Entries in list order: index 0 is the head. */
  task_list: WaitQueueEntry[];
  /** Model: a name for traces and diagrams ("sk_wq->wait of fd 3", "ep->wq"). */
  name: string;
}

export function init_waitqueue_head(name: string): WaitQueueHead {
  return { task_list: smallList(), name };
}

/** Model: struct socket_wq (include/linux/net.h) with its embedded wait_queue_head_t `wait`
 *  (sock_alloc_inode: kmalloc + init_waitqueue_head(&wq->wait)) in one object, as in C:
 *  wq.wait is the wq itself. The name "sockN->wq->wait" is built only when a trace or a diagram
 *  reads it, so an idle socket carries one object and no string. */
export class SocketWqHead implements WaitQueueHead {
  readonly task_list: WaitQueueEntry[] = smallList();
  /** SOCKWQ_ASYNC_NOSPACE(0), SOCKWQ_ASYNC_WAITDATA(1). */
  flags = 0;
  readonly fasync_list = null;
  constructor(private readonly sockNo: number) {}
  get wait(): WaitQueueHead {
    return this;
  }
  get name(): string {
    return `sock${this.sockNo}->wq->wait`;
  }
}

/** DEFINE_WAIT(name): private = current, func = autoremove_wake_function. */
export function DEFINE_WAIT(k: Kernel): WaitQueueEntry {
  return { flags: 0, private: k.current, func: autoremove_wake_function, head: null };
}

/** DEFINE_WAIT_FUNC(name, function): private = current, func = function. */
export function DEFINE_WAIT_FUNC(k: Kernel, func: WaitQueueFunc): WaitQueueEntry {
  return { flags: 0, private: k.current, func, head: null };
}

/** init_waitqueue_entry(q, p): flags 0, private p, func default_wake_function. */
export function init_waitqueue_entry(p: TaskStruct): WaitQueueEntry {
  return { flags: 0, private: p, func: default_wake_function, head: null };
}

/** init_waitqueue_func_entry(q, func): flags 0, private NULL, func. */
export function init_waitqueue_func_entry(func: WaitQueueFunc, owner: unknown = null): WaitQueueEntry {
  return { flags: 0, private: owner, func, head: null };
}

/** __add_wait_queue: list_add, at the HEAD. */
export function __add_wait_queue(q: WaitQueueHead, wait: WaitQueueEntry): void {
  q.task_list.unshift(wait);
  wait.head = q;
}

/** __add_wait_queue_tail: list_add_tail. */
export function __add_wait_queue_tail(q: WaitQueueHead, wait: WaitQueueEntry): void {
  q.task_list.push(wait);
  wait.head = q;
}

/** __add_wait_queue_exclusive: EXCLUSIVE, at the HEAD (ep_poll uses it: LIFO wakeups). */
export function __add_wait_queue_exclusive(q: WaitQueueHead, wait: WaitQueueEntry): void {
  wait.flags |= WQ_FLAG_EXCLUSIVE;
  __add_wait_queue(q, wait);
}

export function __remove_wait_queue(q: WaitQueueHead, wait: WaitQueueEntry): void {
  const i = q.task_list.indexOf(wait);
  if (i >= 0) q.task_list.splice(i, 1);
  wait.head = null;
}

/** add_wait_queue: non-exclusive, at the HEAD. */
export function add_wait_queue(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry): void {
  k.tr?.leaf(`add_wait_queue(${q.name}, &wait)`, "non-exclusive, head", "add_wait_queue");
  wait.flags &= ~WQ_FLAG_EXCLUSIVE;
  __add_wait_queue(q, wait);
}

/** add_wait_queue_exclusive: EXCLUSIVE, at the TAIL. */
export function add_wait_queue_exclusive(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry): void {
  k.tr?.leaf(`add_wait_queue_exclusive(${q.name}, &wait)`, "exclusive, tail", "add_wait_queue_exclusive");
  wait.flags |= WQ_FLAG_EXCLUSIVE;
  __add_wait_queue_tail(q, wait);
}

export function remove_wait_queue(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry): void {
  k.tr?.leaf(`remove_wait_queue(${q.name}, &wait)`, undefined, "remove_wait_queue");
  __remove_wait_queue(q, wait);
}

/** prepare_to_wait: clear EXCLUSIVE, queue at the HEAD if not queued, set the task state. */
export function prepare_to_wait(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry, state: number): void {
  k.tr?.leaf(`prepare_to_wait(${q.name}, &wait, ${taskStateName(state)})`,
    "non-exclusive: wait->flags &= ~WQ_FLAG_EXCLUSIVE; queued at the head", "prepare_to_wait");
  wait.flags &= ~WQ_FLAG_EXCLUSIVE;
  if (wait.head === null) __add_wait_queue(q, wait);
  k.current.state = state; // set_current_state: after queueing, so a wakeup cannot slip between
}

/** prepare_to_wait_exclusive: set EXCLUSIVE, queue at the TAIL if not queued, set the state. */
export function prepare_to_wait_exclusive(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry, state: number): void {
  k.tr?.leaf(`prepare_to_wait_exclusive(${q.name}, &wait, ${taskStateName(state)})`,
    "exclusive: queued at the tail", "prepare_to_wait_exclusive");
  wait.flags |= WQ_FLAG_EXCLUSIVE;
  if (wait.head === null) __add_wait_queue_tail(q, wait);
  k.current.state = state;
}

/** finish_wait: back to TASK_RUNNING; unlink the entry if a wakeup did not already. */
export function finish_wait(k: Kernel, q: WaitQueueHead, wait: WaitQueueEntry): void {
  k.tr?.leaf(`finish_wait(${q.name}, &wait)`, wait.head ? "still queued (timeout/signal): list_del_init" : undefined, "finish_wait");
  k.current.state = TASK_RUNNING;
  if (wait.head !== null) __remove_wait_queue(wait.head, wait);
}

/** autoremove_wake_function: default_wake_function, and unlink the entry when it woke the task. */
export function autoremove_wake_function(k: Kernel, wait: WaitQueueEntry, mode: number, sync: number, key: number | null): number {
  k.tr?.enter("autoremove_wake_function", "autoremove_wake_function(curr, mode, wake_flags, key)", undefined, "autoremove_wake_function(|curr->func(");
  const ret = default_wake_function(k, wait, mode, sync);
  if (ret && wait.head) __remove_wait_queue(wait.head, wait);
  k.tr?.exit();
  void key;
  return ret;
}

/** __wake_up_common: the core rule. Every func is called in list order; only EXCLUSIVE entries
 *  that returned non-zero count toward nr_exclusive. */
export function __wake_up_common(k: Kernel, q: WaitQueueHead, mode: number, nr_exclusive: number, wake_flags: number, key: number | null): void {
  k.tr?.enter("__wake_up_common", `__wake_up_common(${q.name}, mode, nr_exclusive=${nr_exclusive}, wake_flags=${wake_flags}, key=${key === null ? "NULL" : `0x${key.toString(16)}`})`);
  const tl = q.task_list;
  if (tl.length === 1) {
    // one entry (the usual case): nothing to walk past, so no copy to make
    const curr = tl[0];
    curr.func(k, curr, mode, wake_flags, key);
  } else if (tl.length > 1) {
    const list = tl.slice(); // list_for_each_entry_safe: an entry may unlink itself
    for (const curr of list) {
      const ret = curr.func(k, curr, mode, wake_flags, key);
      if (ret && curr.flags & WQ_FLAG_EXCLUSIVE && !--nr_exclusive) break;
    }
  }
  k.tr?.exit();
}

/** __wake_up(q, mode, nr_exclusive, key). */
export function __wake_up(k: Kernel, q: WaitQueueHead, mode: number, nr_exclusive: number, key: number | null, via?: string): void {
  k.tr?.enter("__wake_up", `__wake_up(${q.name}, mode, nr_exclusive=${nr_exclusive}, key)`, undefined, via);
  __wake_up_common(k, q, mode, nr_exclusive, 0, key);
  k.tr?.exit();
}

/** __wake_up_sync_key: WF_SYNC when nr_exclusive == 1 (the waker is about to sleep or return). */
export function __wake_up_sync_key(k: Kernel, q: WaitQueueHead, mode: number, nr_exclusive: number, key: number | null): void {
  k.tr?.enter("__wake_up_sync_key", `__wake_up_sync_key(${q.name}, TASK_INTERRUPTIBLE, nr_exclusive=${nr_exclusive}, key)`, undefined,
    "wake_up_interruptible_sync_poll(|__wake_up_sync_key(");
  __wake_up_common(k, q, mode, nr_exclusive, nr_exclusive === 1 ? WF_SYNC : 0, key);
  k.tr?.exit();
}

/** __wake_up_locked(q, mode, nr): caller holds q->lock; no key (wake_up_locked in ep_poll_callback). */
export function __wake_up_locked(k: Kernel, q: WaitQueueHead, mode: number, nr: number): void {
  k.tr?.enter("__wake_up_locked", `__wake_up_locked(${q.name}, TASK_NORMAL, ${nr})`);
  __wake_up_common(k, q, mode, nr, 0, null);
  k.tr?.exit();
}

/** wake_up_interruptible_sync_poll(q, key) = __wake_up_sync_key(q, TASK_INTERRUPTIBLE, 1, key). */
export function wake_up_interruptible_sync_poll(k: Kernel, q: WaitQueueHead, key: number): void {
  __wake_up_sync_key(k, q, TASK_INTERRUPTIBLE, 1, key);
}

/** wake_up_interruptible_poll(q, key) = __wake_up(q, TASK_INTERRUPTIBLE, 1, key). */
export function wake_up_interruptible_poll(k: Kernel, q: WaitQueueHead, key: number): void {
  __wake_up(k, q, TASK_INTERRUPTIBLE, 1, key);
}

/** wake_up_interruptible_all(q) = __wake_up(q, TASK_INTERRUPTIBLE, 0, NULL). */
export function wake_up_interruptible_all(k: Kernel, q: WaitQueueHead): void {
  __wake_up(k, q, TASK_INTERRUPTIBLE, 0, null, "wake_up_interruptible_all(");
}

/** wake_up_locked(q) = __wake_up_locked(q, TASK_NORMAL, 1). */
export function wake_up_locked(k: Kernel, q: WaitQueueHead): void {
  __wake_up_locked(k, q, TASK_NORMAL, 1);
}

/** waitqueue_active(q): any entry queued (list_empty test). */
export function waitqueue_active(q: WaitQueueHead): boolean {
  return q.task_list.length > 0;
}

/** wq_has_sleeper(q): smp_mb() + waitqueue_active. True for ANY entry, ep_poll_callback ones too. */
export function wq_has_sleeper(q: WaitQueueHead): boolean {
  return waitqueue_active(q);
}
