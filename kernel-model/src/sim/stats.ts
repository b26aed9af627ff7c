// stats.ts: summaries in the real tools' formats: percentiles, bcc's log2 histogram, folded stacks.
// No Linux file. Book: §3.5 (what runqlat and /proc/PID/status would say).
//
// Interface:
// * percentiles(values) -> {p50, p90, p99, max} (nearest-rank, integers stay integers).
// * log2Histogram(values, unit) -> bcc's print_log2_hist text (runqlat, funclatency):
//   bucket i holds [2^(i-1), 2^i - 1] in `unit`; 0 is counted in the first row, which bcc drops.
// * foldedStacks(map) -> "a;b;c count" lines (flamegraph.pl / speedscope input), sorted.

export interface Percentiles {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles; all zero for an empty list. */
export function percentiles(values: readonly number[]): Percentiles {
  if (values.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const s = Float64Array.from(values).sort();
  const at = (p: number) => s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
  return { p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] };
}

/** bpf_log2l(v): 0 for 0, else floor(log2(v)) + 1. */
function log2l(v: number): number {
  return v <= 0 ? 0 : Math.floor(Math.log2(v)) + 1;
}

/** Bucket counts as bcc keeps them (index = bpf_log2l(value)). */
export function log2Buckets(values: readonly number[]): number[] {
  const b: number[] = [];
  for (const v of values) {
    const i = log2l(Math.floor(v));
    while (b.length <= i) b.push(0);
    b[i]++;
  }
  return b;
}

function stars(val: number, valMax: number, width: number): string {
  let text = "";
  for (let i = 0; !(i > (width * val) / valMax - 1 || i > width - 1); i++) text += "*";
  return text;
}

/** bcc's print_log2_hist, e.g. log2Histogram(k.stats.runqLatency.map(ns => ns / 1000), "usecs"). */
export function log2Histogram(values: readonly number[], unit = "usecs"): string {
  const b = log2Buckets(values);
  if (b.length > 1) b[1] += b[0]; // bcc never prints bucket 0; the model folds 0 into "0 -> 1"
  else if (b.length === 1) b.push(b[0]);
  const idxMax = b.length - 1;
  if (idxMax < 1) return "";
  const valMax = Math.max(...b.slice(1));
  const lines = [`     ${unit.padEnd(19)} : count     distribution`];
  for (let i = 1; i <= idxMax; i++) {
    let low = (1 << i) >> 1;
    const high = (1 << i) - 1;
    if (low === high) low -= 1;
    const val = b[i];
    lines.push(`${String(low).padStart(10)} -> ${String(high).padEnd(10)} : ${String(val).padEnd(8)} |${stars(val, valMax, 40).padEnd(40)}|`);
  }
  return lines.join("\n");
}

/** "frame;frame;frame count" lines, most frequent first, then by name. */
export function foldedStacks(stacks: ReadonlyMap<string, number>): string {
  return [...stacks.entries()]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .map(([s, n]) => `${s} ${n}`)
    .join("\n");
}
