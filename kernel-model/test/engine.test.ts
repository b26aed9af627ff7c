import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Engine, createRng } from "kernel-model";

describe("Engine", () => {
  it("same-time events run in insertion order", () => {
    const e = new Engine();
    const seen: number[] = [];
    for (let i = 0; i < 50; i++) e.at(100, (x: number) => seen.push(x), i);
    e.at(50, () => e.at(100, () => seen.push(99))); // scheduled later for the same time: runs last
    e.runUntilIdle();
    expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => i), 99]);
  });

  it("fires by time, skips cancelled events, and runUntil stops at the time given", () => {
    const e = new Engine();
    const seen: string[] = [];
    e.at(30, () => seen.push("c"));
    const b = e.at(20, () => seen.push("b"));
    e.at(10, () => seen.push("a"));
    e.at(40, () => seen.push("d"));
    e.cancel(b);
    e.runUntil(35);
    expect(seen).toEqual(["a", "c"]);
    expect(e.now).toBe(35);
    expect(e.size).toBe(1);
    expect(e.runEvents(5)).toBe(1);
    expect(seen).toEqual(["a", "c", "d"]);
  });

  it("refuses to schedule in the past", () => {
    const e = new Engine();
    e.at(10, () => undefined);
    e.runUntilIdle();
    expect(() => e.at(5, () => undefined)).toThrow(RangeError);
  });
});

describe("Engine heap: (time, seq) order", () => {
  it("matches a stable sort by time over random schedules, cancels and reschedules from callbacks", () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.boolean(), fc.integer({ min: -1, max: 30 })), { minLength: 1, maxLength: 300 }),
        (ops) => {
          // reference: a list sorted by (t, insertion order), the order the engine promises
          const e = new Engine();
          const ref: { t: number; seq: number; id: number; dead: boolean }[] = [];
          const fired: number[] = [];
          let seq = 0;
          const handles: ReturnType<Engine["at"]>[] = [];
          const add = (t: number, id: number, child: number) => {
            const r = { t, seq: seq++, id, dead: false };
            ref.push(r);
            handles[id] = e.at(t, () => {
              fired.push(id);
              // a callback that schedules at the same time, or later: FIFO behind what is queued
              if (child >= 0) add(e.now + child, ref.length + 1000, -1);
            });
          };
          ops.forEach(([t, cancel, child], i) => {
            add(t, i, child);
            if (cancel && i > 0) {
              const victim = (i * 7) % i;
              e.cancel(handles[victim]);
              ref.forEach((r) => r.id === victim && (r.dead = true));
            }
          });
          e.runUntilIdle();
          // replay the reference: repeatedly take the smallest (t, seq) not yet fired or dead
          const order: number[] = [];
          const done = new Set<typeof ref[number]>();
          for (;;) {
            let best: typeof ref[number] | undefined;
            for (const r of ref) if (!done.has(r) && (!best || r.t < best.t || (r.t === best.t && r.seq < best.seq))) best = r;
            if (!best) break;
            done.add(best);
            if (!best.dead) order.push(best.id);
          }
          expect(fired).toEqual(order);
          expect(e.size).toBe(0);
        },
      ),
      { numRuns: 200, seed: 11 },
    );
  });

  it("keeps FIFO among 100,000 events at one time while the heap also holds other times", () => {
    const e = new Engine();
    const seen: number[] = [];
    for (let i = 0; i < 100_000; i++) {
      e.at(i % 3 === 0 ? 500 : 1000 + (i % 97), () => undefined);
      e.at(777, (x: number) => seen.push(x), i);
    }
    e.runUntil(777);
    expect(seen.length).toBe(100_000);
    expect(seen.every((x, i) => x === i)).toBe(true);
  });

  it("a late cancel of a fired event changes nothing; size counts live events only", () => {
    const e = new Engine();
    const a = e.at(1, () => undefined);
    const b = e.at(2, () => undefined);
    e.cancel(b);
    e.cancel(b);
    expect(e.size).toBe(1);
    e.runUntilIdle();
    e.cancel(a);
    expect(e.size).toBe(0);
    expect(e.events).toBe(1);
    expect(e.peekTime()).toBe(Infinity);
  });

  it("tryAdvance never passes the runUntil horizon nor a live event, but passes a cancelled one", () => {
    const e = new Engine();
    const results: boolean[] = [];
    const dead = e.at(150, () => undefined);
    e.cancel(dead);
    e.at(100, () => {
      results.push(e.tryAdvance(180)); // the cancelled event at 150 does not stop it
      results.push(e.tryAdvance(250)); // past the horizon of runUntil(200)
      results.push(e.tryAdvance(300)); // and past the live event at 300
    });
    e.at(300, () => undefined);
    e.runUntil(200);
    expect(results).toEqual([true, false, false]);
    expect(e.now).toBe(200);
    expect(e.tryAdvance(299)).toBe(true);
    expect(e.tryAdvance(300)).toBe(false);
  });
});

describe("createRng", () => {
  it("gives the same stream for the same seed and another for another seed", () => {
    const a = createRng(7), b = createRng(7), c = createRng(8);
    const xs = Array.from({ length: 20 }, () => a.int(0, 1e6));
    expect(Array.from({ length: 20 }, () => b.int(0, 1e6))).toEqual(xs);
    expect(Array.from({ length: 20 }, () => c.int(0, 1e6))).not.toEqual(xs);
  });

  it("exp() has the requested mean", () => {
    const r = createRng(3);
    let s = 0;
    for (let i = 0; i < 20000; i++) s += r.exp(1000);
    expect(s / 20000).toBeGreaterThan(950);
    expect(s / 20000).toBeLessThan(1050);
  });
});
