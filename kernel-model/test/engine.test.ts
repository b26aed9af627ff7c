import { describe, expect, it } from "vitest";
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
