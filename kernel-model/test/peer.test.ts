// The peer's RSS flow hash is FNV-1a of the text "saddr:sport:dport", computed without building
// the text: the queue a frame lands on (hash % queues) must not change with that rewrite.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { flowHash } from "kernel-model";

function fnvOfText(saddr: string, sport: number, dport: number): number {
  let h = 2166136261;
  const s = `${saddr}:${sport}:${dport}`;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

describe("flowHash", () => {
  it("equals FNV-1a of the text saddr:sport:dport for any address and ports", () => {
    const addr = fc.tuple(fc.nat(255), fc.nat(255), fc.nat(255), fc.nat(255)).map((a) => a.join("."));
    fc.assert(
      fc.property(addr, fc.integer({ min: 0, max: 65535 }), fc.integer({ min: 0, max: 65535 }), (a, sp, dp) => {
        expect(flowHash(a, sp, dp)).toBe(fnvOfText(a, sp, dp));
      }),
      { numRuns: 2000, seed: 5 },
    );
    for (const p of [0, 1, 9, 10, 99, 100, 999, 1000, 9999, 10000, 65535]) expect(flowHash("10.0.0.2", p, p)).toBe(fnvOfText("10.0.0.2", p, p));
  });
});
