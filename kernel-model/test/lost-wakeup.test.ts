import { describe, expect, it } from "vitest";
import { lostWakeup } from "kernel-model";

describe("the lost wakeup (§3.3.1): why sk_wait_data queues itself before testing", () => {
  const seeds = Array.from({ length: 200 }, (_, i) => i + 1);

  it("the real order never leaves the reader asleep with data queued, over seeds 1..200", () => {
    for (const seed of seeds) {
      const r = lostWakeup({ seed, buggy: false });
      expect(r.stuck, `seed ${seed}`).toBe(false);
      expect(r.bytesRead, `seed ${seed}`).toBe(r.bytesSent);
    }
  });

  it("the wrong order (test, then queue) loses a wakeup for at least one seed", () => {
    const stuck = seeds.filter((seed) => lostWakeup({ seed, buggy: true }).stuck);
    expect(stuck.length).toBeGreaterThan(0);
    const r = lostWakeup({ seed: stuck[0], buggy: true });
    expect(r.bytesRead).toBeLessThan(r.bytesSent); // data is there, the reader never gets it
  });
});
