// Property test: random sequences of epoll_ctl / epoll_wait / close / dup / arrivals against a
// shadow model of the interest set.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  Kernel, udpSend, epollGlobals, epRbtreeItems, epRdllistItems, ep_is_linked, ep_poll_callback, EP_UNACTIVE_PTR,
  EPOLLIN, EPOLLET, EPOLLONESHOT, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD, EEXIST, ENOENT,
  type EpollEvent, type File, type Socket, type Sys, type WaitQueueHead,
} from "kernel-model";
import { epOf, udpSocket } from "./epoll-helpers";
import { expectSoftirqsRun } from "./helpers";

type Mode = "lt" | "et" | "os";
type Cmd =
  | { t: "add" | "mod"; slot: number; which: number; mode: Mode }
  | { t: "del" | "close"; slot: number; which: number }
  | { t: "arrive" | "read" | "dup" | "open"; slot: number }
  | { t: "wait"; max: number; timeout: number }
  | { t: "race"; slot: number; max: number };

const SLOTS = 4;
const slot = fc.integer({ min: 0, max: SLOTS - 1 });
const mode = fc.constantFrom<Mode>("lt", "et", "os");
const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  { arbitrary: fc.record({ t: fc.constantFrom("add" as const, "mod" as const), slot, which: fc.nat(3), mode }), weight: 4 },
  { arbitrary: fc.record({ t: fc.constantFrom("del" as const, "close" as const), slot, which: fc.nat(3) }), weight: 1 },
  { arbitrary: fc.record({ t: fc.constant("arrive" as const), slot }), weight: 3 },
  { arbitrary: fc.record({ t: fc.constantFrom("read" as const, "dup" as const, "open" as const), slot }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("wait" as const), max: fc.integer({ min: 1, max: 5 }), timeout: fc.constantFrom(0, 0, 1) }), weight: 2 },
  { arbitrary: fc.record({ t: fc.constant("race" as const), slot, max: fc.integer({ min: 1, max: 5 }) }), weight: 2 },
);

const MASK: Record<Mode, number> = { lt: EPOLLIN, et: (EPOLLIN | EPOLLET) >>> 0, os: (EPOLLIN | EPOLLONESHOT) >>> 0 };

/** One shadow epitem, keyed by (file id, fd) like ep_cmp_ffd. */
interface Item { slot: number; fd: number; data: number; mode: Mode; armed: boolean }

function run(cmds: Cmd[]) {
  const k = new Kernel();
  const queues: WaitQueueHead[] = []; // every socket wait queue ever created
  k.spawn("app", function* (sys: Sys) {
    const epfd = yield* sys.epoll_create1(0);
    const ep = epOf(sys.task, epfd);
    const files: (File | null)[] = [];
    const fds: number[][] = [];
    const items = new Map<string, Item>();
    let nextData = 1000;
    const fileOf = (s: number) => files[s];
    const key = (s: number, fd: number) => `${fileOf(s)!.id}:${fd}`;
    const sk = (s: number) => (fileOf(s)!.private_data as Socket).sk!;
    function* open(s: number) {
      const fd = yield* udpSocket(sys, 2000 + s);
      files[s] = sys.task.files.fd[fd];
      fds[s] = [fd];
      queues.push((files[s]!.private_data as Socket).wq.wait);
    }
    for (let s = 0; s < SLOTS; s++) yield* open(s);

    /** Check what an epoll_wait returned against the shadow interest set. */
    const checkEvents = (events: EpollEvent[]) => {
      const seen = new Set<number>();
      for (const e of events) {
        const it = [...items.values()].find((i) => i.data === e.data);
        expect(it, `event for data ${e.data}: not in the interest set`).toBeDefined();
        expect(it!.armed, `a disarmed EPOLLONESHOT item was reported`).toBe(true);
        expect(seen.has(e.data), "one item twice in one call").toBe(false);
        expect(e.events & EPOLLIN).toBe(EPOLLIN);
        seen.add(e.data);
        if (it!.mode === "os") it!.armed = false;
      }
    };
    /** Invariants of a quiet moment (no scan running). */
    const invariants = () => {
      const live = epRbtreeItems(ep);
      expect(live.length).toBe(items.size);
      const g = epollGlobals(k);
      expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive]).toEqual([items.size, items.size, items.size]);
      expect(ep.ovflist).toBe(EP_UNACTIVE_PTR);
      for (const epi of live) {
        const it = items.get(`${epi.ffd.file.id}:${epi.ffd.fd}`);
        expect(it, `epitem fd ${epi.ffd.fd} unknown to the shadow`).toBeDefined();
        expect(epi.event.data).toBe(it!.data);
        expect(epi.pwqlist).toHaveLength(1);
        expect(epi.pwqlist[0].whead!.task_list).toContain(epi.pwqlist[0].wait);
        // level-triggered readiness is never lost: a ready LT item is on rdllist
        const ready = (epi.ffd.file.private_data as Socket).sk!.sk_receive_queue.length > 0;
        if (it!.mode === "lt" && ready) expect(ep_is_linked(epi), `LT fd ${epi.ffd.fd} has data but is not on rdllist`).toBe(true);
      }
      for (const epi of epRdllistItems(ep)) expect(epi.rbn).toBe(true); // rdllist is a subset of rbr
      for (const q of queues) {
        for (const w of q.task_list) {
          expect(w.func).toBe(ep_poll_callback);
          expect(live).toContain((w.private as { base: unknown }).base); // no hook of a freed epitem
        }
      }
    };

    const events: EpollEvent[] = [];
    for (const c of cmds) {
      const open_ = files[("slot" in c ? c.slot : 0)] !== null && fds[("slot" in c ? c.slot : 0)]?.length > 0;
      switch (c.t) {
        case "del": {
          if (!open_) break;
          const fd = fds[c.slot][c.which % fds[c.slot].length];
          const kk = key(c.slot, fd);
          expect(yield* sys.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, null)).toBe(items.has(kk) ? 0 : -ENOENT);
          items.delete(kk);
          break;
        }
        case "add": case "mod": {
          if (!open_) break;
          const fd = fds[c.slot][c.which % fds[c.slot].length];
          const kk = key(c.slot, fd);
          const had = items.has(kk);
          const data = nextData++;
          const r = yield* sys.epoll_ctl(epfd, c.t === "add" ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, { events: MASK[c.mode], data });
          if (c.t === "add") expect(r).toBe(had ? -EEXIST : 0);
          else expect(r).toBe(had ? 0 : -ENOENT);
          if ((c.t === "add" && !had) || (c.t === "mod" && had)) items.set(kk, { slot: c.slot, fd, data, mode: c.mode, armed: true });
          break;
        }
        case "arrive":
          udpSend(k, { dport: 2000 + c.slot, bytes: 64, at: k.now });
          yield* sys.compute(20_000);
          break;
        case "read":
          if (open_) yield* sys.recv(fds[c.slot][0], 1024);
          break;
        case "dup":
          if (open_ && fds[c.slot].length < 3) fds[c.slot].push(yield* sys.dup(fds[c.slot][0]));
          break;
        case "close": {
          if (!open_) break;
          const i = c.which % fds[c.slot].length;
          const fd = fds[c.slot][i];
          const file = files[c.slot]!;
          expect(yield* sys.close(fd)).toBe(0);
          fds[c.slot].splice(i, 1);
          if (fds[c.slot].length === 0) {
            // the last reference: eventpoll_release removed every item of this file
            for (const [kk, it] of items) if (it.slot === c.slot && kk.startsWith(`${file.id}:`)) items.delete(kk);
            files[c.slot] = null;
          }
          break;
        }
        case "open":
          if (!open_) yield* open(c.slot);
          break;
        case "wait": {
          const n = yield* sys.epoll_wait(epfd, events, c.max, c.timeout);
          expect(n).toBe(events.length);
          checkEvents(events);
          if (n === c.max) break;
          // fewer than max: every armed LT item with data must have been reported
          const reported = new Set(events.map((e) => e.data));
          for (const it of items.values()) {
            if (it.mode === "lt" && files[it.slot] && sk(it.slot).sk_receive_queue.length > 0) {
              expect(reported.has(it.data), `LT fd ${it.fd} ready but not reported`).toBe(true);
            }
          }
          break;
        }
        case "race": {
          // a datagram whose IRQ interrupts the copy loop: the ovflist path
          ep.onScan = (k) => {
            ep.onScan = null;
            udpSend(k, { dport: 2000 + c.slot, bytes: 64, at: k.now });
          };
          const n = yield* sys.epoll_wait(epfd, events, c.max, 0);
          ep.onScan = null;
          checkEvents(events);
          expect(n).toBe(events.length);
          yield* sys.compute(20_000);
          break;
        }
      }
      invariants();
    }
    // close everything: nothing may be left behind
    for (let s = 0; s < SLOTS; s++) for (const fd of fds[s] ?? []) if (files[s]) yield* sys.close(fd);
    yield* sys.close(epfd);
  });
  k.runUntilIdle();
  expectSoftirqsRun(k);
  expect(k.tasks[0].exitCode).toBe(0);
  const g = epollGlobals(k);
  expect([g.user.epoll_watches, g.epitems_alive, g.pwqs_alive]).toEqual([0, 0, 0]);
  for (const q of queues) expect(q.task_list).toEqual([]);
  expect(k.sockets_in_use).toBe(0);
}

describe("epoll under random ctl/wait/close/dup/arrival sequences (fast-check)", () => {
  it("never reports an fd outside the interest set, never loses LT readiness, never leaks an epitem or a wait entry", () => {
    fc.assert(fc.property(fc.array(cmd, { minLength: 1, maxLength: 40 }), (cmds) => {
      run(cmds);
    }), { numRuns: 400, seed: 4242 });
  });

  it("a hand-picked sequence: dup, close the original, data, wait, close the dup", () => {
    run([
      { t: "add", slot: 0, which: 0, mode: "lt" }, { t: "dup", slot: 0 }, { t: "add", slot: 0, which: 1, mode: "et" },
      { t: "close", slot: 0, which: 0 }, { t: "arrive", slot: 0 }, { t: "wait", max: 4, timeout: 0 }, { t: "race", slot: 0, max: 1 },
      { t: "close", slot: 0, which: 0 }, { t: "open", slot: 0 }, { t: "arrive", slot: 0 }, { t: "wait", max: 4, timeout: 1 },
    ]);
  });
});
