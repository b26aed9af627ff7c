// traffic.ts: when messages arrive: fixed gaps, Poisson, or bursts, from the seeded PRNG.
// No Linux file. Book: §3.3 (one message, one wakeup), §3.5 (load decides the cost).
//
// Interface: arrivals({pattern, msgs, rate, burst, start}, rng) -> sorted integer ns times.
// * fixed: one message every 1/rate s;
// * poisson: exponential gaps with mean 1/rate s;
// * burst: `burst` messages back to back (1 ns apart), bursts spaced so the mean rate is `rate`.

import type { Rng } from "../sim/rng";

export type TrafficPattern = "fixed" | "poisson" | "burst";

export interface TrafficOptions {
  pattern: TrafficPattern;
  msgs: number;
  /** Messages per second over all connections. */
  rate: number;
  /** Messages per burst (pattern "burst"). Default 64. */
  burst?: number;
  /** Time of the first message, ns. */
  start: number;
}

export function arrivals(o: TrafficOptions, rng: Rng): number[] {
  if (!(o.rate > 0)) throw new RangeError(`rate must be > 0 messages/s, got ${o.rate}`);
  const gap = 1e9 / o.rate;
  const times = new Array<number>(o.msgs);
  let t = o.start;
  if (o.pattern === "fixed") {
    for (let i = 0; i < o.msgs; i++) times[i] = Math.round(o.start + i * gap);
  } else if (o.pattern === "poisson") {
    for (let i = 0; i < o.msgs; i++) {
      times[i] = Math.round(t);
      t += rng.exp(gap);
    }
  } else {
    const b = Math.max(1, o.burst ?? 64);
    for (let i = 0; i < o.msgs; i++) {
      if (i > 0 && i % b === 0) t += gap * b;
      times[i] = Math.round(t) + (i % b); // back to back within a burst
    }
  }
  return times;
}
