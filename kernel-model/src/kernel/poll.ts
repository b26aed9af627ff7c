// poll.ts: the poll table: how ->poll() registers a waiter on a file's wait queue.
// Linux 4.6.2: include/linux/poll.h, include/net/sock.h (sock_poll_wait). Book: §3.4.2
// (epoll_ctl -> ep_item_poll -> sock_poll -> tcp_poll -> sock_poll_wait -> poll_wait ->
// ep_ptable_queue_proc).
//
// Interface: init_poll_funcptr(qproc, owner), poll_wait(k, file, whead, pt),
// sock_poll_wait(k, file, whead, pt). A null pt or a null _qproc only asks for the mask.

import type { Kernel } from "./kernel";
import type { File, PollTable } from "./fs";
import type { WaitQueueHead } from "./wait";

export function init_poll_funcptr(qproc: PollTable["_qproc"], owner: unknown = null): PollTable {
  return { _qproc: qproc, _key: ~0, owner };
}

/** poll_wait(filp, wait_address, p): if (p && p->_qproc && wait_address) p->_qproc(filp, wait_address, p). */
export function poll_wait(k: Kernel, file: File, whead: WaitQueueHead, pt: PollTable | null): void {
  if (pt && pt._qproc) {
    k.tr?.enter("poll_wait", `poll_wait(file, ${whead.name}, p)`);
    pt._qproc(k, file, whead, pt);
    k.tr?.exit();
  }
}

/** sock_poll_wait(filp, wait_address, p): poll_wait unless the table only asks for the mask. */
export function sock_poll_wait(k: Kernel, file: File, whead: WaitQueueHead, pt: PollTable | null): void {
  if (pt && pt._qproc) {
    k.tr?.enter("sock_poll_wait", "sock_poll_wait(file, sk_sleep(sk), wait)");
    poll_wait(k, file, whead, pt);
    k.tr?.exit();
  }
}
