// eventpoll_uapi.ts: what user space sees of epoll: the event bits, the ctl ops, struct epoll_event.
// Linux 4.6.2: include/uapi/linux/eventpoll.h, include/uapi/asm-generic/poll.h. Book: §3.4.
//
// Interface: the EPOLL* constants with their kernel values, EPOLL_CTL_ADD/DEL/MOD,
// EPOLL_CLOEXEC, EpollEvent, and epollEventNames(mask) / epollCtlOpName(op) for traces.
//
// Model vs kernel: event masks are unsigned 32-bit numbers. EPOLLET is bit 31, so JavaScript's
// `1 << 31` is negative: every mask the model stores is normalised with `>>> 0`.

import { O_CLOEXEC } from "./fs";

// The poll bits (same values as POLLIN, ... in sock.ts).
export const EPOLLIN = 0x001;
export const EPOLLPRI = 0x002;
export const EPOLLOUT = 0x004;
export const EPOLLERR = 0x008;
export const EPOLLHUP = 0x010;
export const EPOLLRDNORM = 0x040;
export const EPOLLRDBAND = 0x080;
export const EPOLLWRNORM = 0x100;
export const EPOLLWRBAND = 0x200;
export const EPOLLMSG = 0x400;
export const EPOLLRDHUP = 0x2000;
/** Wake one epoll instance per event when several watch one file (4.5+). ADD only. */
export const EPOLLEXCLUSIVE = (1 << 28) >>> 0;
/** Hold a wakeup source while the event is pending (needs CAP_BLOCK_SUSPEND). */
export const EPOLLWAKEUP = (1 << 29) >>> 0;
/** Report once, then disable the item until EPOLL_CTL_MOD. */
export const EPOLLONESHOT = (1 << 30) >>> 0;
/** Edge triggered: report when the item becomes ready, not while it stays ready. */
export const EPOLLET = (1 << 31) >>> 0;

export const EPOLL_CTL_ADD = 1;
export const EPOLL_CTL_DEL = 2;
export const EPOLL_CTL_MOD = 3;
/** epoll_create1 flag: the same bit as O_CLOEXEC. */
export const EPOLL_CLOEXEC = O_CLOEXEC;

/** struct epoll_event { __u32 events; __u64 data; } (packed on x86-64: 12 bytes). */
export interface EpollEvent {
  events: number;
  /** epoll_data_t: the user's cookie, usually the fd; returned unchanged with each event. */
  data: number;
}

const NAMES: [number, string][] = [
  [EPOLLIN, "EPOLLIN"], [EPOLLPRI, "EPOLLPRI"], [EPOLLOUT, "EPOLLOUT"], [EPOLLERR, "EPOLLERR"],
  [EPOLLHUP, "EPOLLHUP"], [EPOLLRDNORM, "EPOLLRDNORM"], [EPOLLRDBAND, "EPOLLRDBAND"],
  [EPOLLWRNORM, "EPOLLWRNORM"], [EPOLLWRBAND, "EPOLLWRBAND"], [EPOLLMSG, "EPOLLMSG"], [EPOLLRDHUP, "EPOLLRDHUP"],
  [EPOLLEXCLUSIVE, "EPOLLEXCLUSIVE"], [EPOLLWAKEUP, "EPOLLWAKEUP"], [EPOLLONESHOT, "EPOLLONESHOT"], [EPOLLET, "EPOLLET"],
];

/** "EPOLLIN|EPOLLET" for a mask ("0" for none; unknown bits in hex). */
export function epollEventNames(mask: number): string {
  let m = mask >>> 0;
  const parts: string[] = [];
  for (const [bit, name] of NAMES) {
    if (m & bit) {
      parts.push(name);
      m = (m & ~bit) >>> 0;
    }
  }
  if (m) parts.push(`0x${m.toString(16)}`);
  return parts.length ? parts.join("|") : "0";
}

export function epollCtlOpName(op: number): string {
  return op === EPOLL_CTL_ADD ? "EPOLL_CTL_ADD" : op === EPOLL_CTL_DEL ? "EPOLL_CTL_DEL" : op === EPOLL_CTL_MOD ? "EPOLL_CTL_MOD" : String(op);
}
