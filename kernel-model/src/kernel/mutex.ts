// mutex.ts: a sleeping lock (struct mutex), as eventpoll's ep->mtx needs it.
// Linux 4.6.2: kernel/locking/mutex.c, include/linux/mutex.h. Book: §3.4.4 (ep->mtx is held
// while epoll_wait copies events out, so epoll_ctl and a second epoll_wait wait for it).
//
// Interface:
// * mutex_init(name) -> Mutex; mutex_lock(k, m) (generator: sleeps TASK_UNINTERRUPTIBLE while
//   another task owns m); mutex_unlock(k, m) wakes the first waiter.
// * mutex_is_locked(m).
//
// Model vs kernel: no optimistic spinning, no handoff (a woken waiter retries and may lose the
// lock to a task that got there first, as in 4.6), no lockdep nesting classes. Process context
// only: interrupt code never takes a mutex.

import type { Kernel } from "./kernel";
import { schedule, TASK_NORMAL, TASK_UNINTERRUPTIBLE, type KGen, type TaskStruct } from "./sched";
import { __wake_up, DEFINE_WAIT, finish_wait, init_waitqueue_head, prepare_to_wait_exclusive, waitqueue_active, type WaitQueueHead } from "./wait";

/** struct mutex (include/linux/mutex.h). */
export interface Mutex {
  /** The task holding the lock, null when free. */
  owner: TaskStruct | null;
  /** Tasks sleeping in mutex_lock, FIFO. */
  wait_list: WaitQueueHead;
}

export function mutex_init(name: string): Mutex {
  return { owner: null, wait_list: init_waitqueue_head(`${name}.wait_list`) };
}

export function mutex_is_locked(m: Mutex): boolean {
  return m.owner !== null;
}

/** mutex_lock(m): take the lock, sleeping (uninterruptibly) while someone else holds it. */
export function* mutex_lock(k: Kernel, m: Mutex): KGen<void> {
  if (m.owner === null) {
    m.owner = k.current; // the fast path: an uncontended cmpxchg
    return;
  }
  k.tr?.enter("mutex_lock", `mutex_lock(${m.wait_list.name.replace(/\.wait_list$/, "")})`, `held by ${m.owner.comm}: sleep`);
  const wait = DEFINE_WAIT(k);
  for (;;) {
    prepare_to_wait_exclusive(k, m.wait_list, wait, TASK_UNINTERRUPTIBLE);
    if (m.owner === null) break;
    yield* schedule(k);
  }
  finish_wait(k, m.wait_list, wait);
  m.owner = k.current;
  k.tr?.exit();
}

/** mutex_unlock(m): release; wake the first waiter, which then retries. */
export function mutex_unlock(k: Kernel, m: Mutex): void {
  m.owner = null;
  if (waitqueue_active(m.wait_list)) __wake_up(k, m.wait_list, TASK_NORMAL, 1, null);
}
