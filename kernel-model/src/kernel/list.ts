// list.ts: the kernel's intrusive, circular, doubly linked list (struct list_head).
// Linux 4.6.2: include/linux/list.h. Book: §3.4 (eventpoll's rdllist, the ready list).
//
// Interface:
// * ListHead<T>: a head (owner null) or a link embedded in an object (owner = the object,
//   what container_of/list_entry would find). An unlinked link points at itself, so
//   list_empty(&epi->rdllink) is the O(1) "is it on a list?" test ep_is_linked() uses.
// * INIT_LIST_HEAD, list_add (at the head), list_add_tail, list_del_init, list_empty,
//   list_first_entry, list_splice (at the head), list_splice_init.
// * listEntries(head): the owners in list order (a model helper for tests and diagrams).
// * smallList(): an empty array for the lists the model keeps as arrays (wait_queue_head_t's
//   task_list, f_ep_links, pwqlist), with room for the one entry they usually hold.
//
// Model vs kernel: no RCU variants and no poisoning; list_del is always list_del_init.

/** struct list_head (include/linux/types.h). */
export interface ListHead<T = unknown> {
  next: ListHead<T>;
  prev: ListHead<T>;
  /** Model: the object this link is embedded in (list_entry); null for a list head. */
  owner: T | null;
}

/** INIT_LIST_HEAD / LIST_HEAD: an empty list (or an unlinked link) points at itself. */
export function INIT_LIST_HEAD<T>(owner: T | null = null): ListHead<T> {
  const h = { owner, next: null, prev: null } as unknown as ListHead<T>; // every field in the literal: no out-of-object properties
  h.next = h;
  h.prev = h;
  return h;
}

function __list_add<T>(n: ListHead<T>, prev: ListHead<T>, next: ListHead<T>): void {
  next.prev = n;
  n.next = next;
  n.prev = prev;
  prev.next = n;
}

/** list_add(new, head): insert right after head (stack order). */
export function list_add<T>(n: ListHead<T>, head: ListHead<T>): void {
  __list_add(n, head, head.next);
}

/** list_add_tail(new, head): insert before head, i.e. at the tail (queue order). */
export function list_add_tail<T>(n: ListHead<T>, head: ListHead<T>): void {
  __list_add(n, head.prev, head);
}

/** list_del_init(entry): unlink and point the link at itself again. */
export function list_del_init<T>(e: ListHead<T>): void {
  e.prev.next = e.next;
  e.next.prev = e.prev;
  e.next = e;
  e.prev = e;
}

/** list_empty(head): nothing on the list (for a link: not on any list). */
export function list_empty<T>(h: ListHead<T>): boolean {
  return h.next === h;
}

/** list_first_entry(head, type, member): the owner of the first link. */
export function list_first_entry<T>(h: ListHead<T>): T {
  return h.next.owner as T;
}

function __list_splice<T>(list: ListHead<T>, prev: ListHead<T>, next: ListHead<T>): void {
  const first = list.next;
  const last = list.prev;
  first.prev = prev;
  prev.next = first;
  last.next = next;
  next.prev = last;
}

/** list_splice(list, head): join list in front of head's first entry. `list` is left stale. */
export function list_splice<T>(list: ListHead<T>, head: ListHead<T>): void {
  if (!list_empty(list)) __list_splice(list, head, head.next);
}

/** list_splice_init(list, head): as list_splice, then reinitialise `list` (empty). */
export function list_splice_init<T>(list: ListHead<T>, head: ListHead<T>): void {
  if (!list_empty(list)) {
    __list_splice(list, head, head.next);
    list.next = list;
    list.prev = list;
  }
}

/** Model helper: the owners of the links on a list, head to tail. */
export function listEntries<T>(h: ListHead<T>): T[] {
  const out: T[] = [];
  for (let p = h.next; p !== h; p = p.next) out.push(p.owner as T);
  return out;
}

/** Model: an empty array with room for one element. V8 gives an empty [] 17 slots on its first
 *  push; a list that usually holds one entry (a socket's wait queue, a file's f_ep_links) would
 *  carry 16 empty slots per connection. */
export function smallList<T>(): T[] {
  const a: (T | null)[] = [null];
  a.pop();
  return a as T[];
}
