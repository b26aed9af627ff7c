// eventpoll.ts (plot): the epoll part of the object diagrams (the book's Fig 3.x of §3.4).
// No Linux file. Book: §3.4.1 (struct eventpoll), §3.4.2 (epitem hooked on the socket's wait
// queue), §3.4.3 (the epoll_wait task on ep->wq), §3.4.4 (before and after data arrives).
//
// Interface: eventpollDot(k, file, fileNodeId, out) registers itself with registerObjectDrawer
// below (plot/ draws, kernel/ imports nothing from plot/), so objectGraphDot draws an epoll fd as: struct file -> struct eventpoll
// with ep->wq (its entries: func default_wake_function, LIFO), rdllist (red edges through the
// ready epitems), rbr (every epitem, in tree order) and ovflist, and from each epitem a dashed
// edge to its eppoll_entry on the watched file's wait queue (func ep_poll_callback).
//
// Model vs kernel: a diagram of the fields §3.4 talks about, read from the live objects. The
// wait-queue node ids follow objects.ts (`sock<file id>_wq`) so the edges meet the socket's own
// drawing when that fd is drawn too; otherwise the wait queue is drawn on its own.

import type { Kernel } from "../kernel/kernel";
import type { File } from "../kernel/fs";
import type { Eventpoll, Epitem } from "../kernel/eventpoll";
import type { Socket } from "../kernel/socket";
import type { WaitQueueHead } from "../kernel/wait";
import { listEntries } from "../kernel/list";
import { epollEventNames } from "../kernel/eventpoll_uapi";
import { dotTable, registerObjectDrawer, waitQueueDot } from "./objects";

/** The node id and the queue of the wait queue a watched file's ->poll registers on. */
function watchedQueue(file: File): { id: string; q: WaitQueueHead } | null {
  if (file.f_op.name === "socket_file_ops") return { id: `sock${file.id}_wq`, q: (file.private_data as Socket).wq.wait };
  if (file.f_op.name === "eventpoll_fops") return { id: `ep${file.id}_poll_wait`, q: (file.private_data as Eventpoll).poll_wait };
  return null;
}

function ovflistText(ep: Eventpoll): string {
  if (typeof ep.ovflist === "symbol") return "EP_UNACTIVE_PTR";
  const fds: number[] = [];
  for (let p: Epitem | null | symbol = ep.ovflist; p && typeof p !== "symbol"; p = p.next) fds.push(p.ffd.fd);
  return fds.length ? `scan: fd ${fds.join(" -> ")}` : "NULL (scan in progress)";
}

/** Draw the eventpoll behind an epoll file. Returns false for any other file. */
export function eventpollDot(k: Kernel, file: File, fid: string, out: string[]): boolean {
  if (file.f_op.name !== "eventpoll_fops") return false;
  const ep = file.private_data as Eventpoll;
  const id = `ep${file.id}`;
  const items: Epitem[] = [];
  for (const [, epi] of ep.rbr) items.push(epi);
  const ready = listEntries(ep.rdllist);
  out.push(dotTable(id, "struct eventpoll", [
    ["wq", `${ep.wq.task_list.length} waiter(s)`],
    ["poll_wait", `${ep.poll_wait.task_list.length} entr${ep.poll_wait.task_list.length === 1 ? "y" : "ies"}`],
    ["rdllist", ready.length ? `fd ${ready.map((e) => e.ffd.fd).join(", ")}` : "(empty)"],
    ["rbr", `${items.length} epitem(s), height ${ep.rbr.getHeight()}`],
    ["ovflist", ovflistText(ep)],
    ["user->epoll_watches", String(ep.user.epoll_watches)],
  ], "#f3eefb"));
  out.push(`  ${fid}:private_data -> ${id};`);
  waitQueueDot(ep.wq, `${id}_wq`, out);
  out.push(`  ${id}:wq -> ${id}_wq [label="wq"];`);
  if (ep.poll_wait.task_list.length > 0) {
    waitQueueDot(ep.poll_wait, `${id}_poll_wait`, out);
    out.push(`  ${id}:poll_wait -> ${id}_poll_wait [label="poll_wait"];`);
  }
  const nid = (epi: Epitem) => `${id}_epi${items.indexOf(epi)}`;
  out.push(`  subgraph cluster_${id}_rbr {`, `    label="ep->rbr (red-black tree, in ep_cmp_ffd order)"; style=dashed; color="#9a8cc2";`);
  for (const epi of items) {
    const f = epi.ffd.file;
    out.push(`  ${dotTable(nid(epi), `struct epitem (fd ${epi.ffd.fd})`, [
      ["ffd", `{file #${f.id} ${f.name}, fd ${epi.ffd.fd}}`],
      ["event", `{${epollEventNames(epi.event.events)}, data ${epi.event.data}}`],
      ["rdllink", ready.includes(epi) ? "on ep->rdllist" : "(not linked)"],
      ["pwqlist", `${epi.pwqlist.length} eppoll_entry (nwait ${epi.nwait})`],
    ], "#faf7ff").trim()}`);
  }
  out.push("  }");
  out.push(`  ${id} [ordering=out];`); // the rbr edges below leave in tree order: keep it on the page
  for (const epi of items) out.push(`  ${id}:rbr -> ${nid(epi)}:ffd [arrowhead=none color="#9a8cc2"];`);
  let prev = `${id}:rdllist`;
  for (const epi of ready) {
    out.push(`  ${prev} -> ${nid(epi)}:rdllink [color="#c0392b" label="rdllink"];`);
    prev = `${nid(epi)}:rdllink`;
  }
  const drawn = new Set<string>();
  for (const epi of items) {
    const w = watchedQueue(epi.ffd.file);
    if (!w) continue;
    if (!drawn.has(w.id)) {
      waitQueueDot(w.q, w.id, out);
      drawn.add(w.id);
    }
    for (const pwq of epi.pwqlist) {
      const i = w.q.task_list.indexOf(pwq.wait);
      if (i >= 0) out.push(`  ${nid(epi)}:pwqlist -> ${w.id}:entry_${i} [style=dashed label="eppoll_entry.wait\\nfunc = ep_poll_callback"];`);
    }
  }
  void k;
  return true;
}

registerObjectDrawer(eventpollDot);
