// rng.ts: the seeded pseudo-random source every random choice in the model draws from.
// No Linux file. Book: traffic generators of §3.3-§3.5.
//
// Interface:
// * createRng(seed) -> Rng with int(lo, hi), float() in [0, 1), exp(mean), pick(arr), fork().
//
// Fixed algorithm: xoroshiro128+ from pure-rand, so a seed gives the same stream on every
// machine and Node version. Never Math.random: the same seed and inputs must give byte-identical
// traces and statistics.

import { xoroshiro128plus, unsafeUniformIntDistribution, type RandomGenerator } from "pure-rand";

export interface Rng {
  readonly seed: number;
  /** Uniform integer in [lo, hi] (both inclusive). */
  int(lo: number, hi: number): number;
  /** Uniform float in [0, 1) with 2^-32 resolution. */
  float(): number;
  /** Exponentially distributed with the given mean (Poisson inter-arrival gaps). */
  exp(mean: number): number;
  pick<T>(arr: readonly T[]): T;
  /** An independent stream derived from this one (e.g. one per traffic source). */
  fork(): Rng;
}

const TWO32 = 4294967296;

export function createRng(seed: number): Rng {
  return wrap(seed, xoroshiro128plus(seed | 0));
}

function wrap(seed: number, g: RandomGenerator): Rng {
  const rng: Rng = {
    seed,
    int: (lo, hi) => unsafeUniformIntDistribution(lo, hi, g),
    float: () => (unsafeUniformIntDistribution(0, TWO32 - 1, g) >>> 0) / TWO32,
    exp: (mean) => -mean * Math.log(1 - rng.float()),
    pick: (arr) => arr[unsafeUniformIntDistribution(0, arr.length - 1, g)],
    fork: () => {
      const s = unsafeUniformIntDistribution(-0x80000000, 0x7fffffff, g);
      return wrap(s, xoroshiro128plus(s));
    },
  };
  return rng;
}
