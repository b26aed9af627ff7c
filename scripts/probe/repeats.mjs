#!/usr/bin/env node
// Repeated probe runs, condensed: how much the kernel disagrees with itself from run to run.
// Node built-ins only.
//
//   node scripts/probe/repeats.mjs RESULT.json... > scripts/probe/repeats.json
//
// Keeps, per file: when, how disturbed (cpu_busy_before, cpu_other_during, disturbed), the
// calibration's wakeup latencies, and per run the cell's identity with vcsw_per_msg and the
// latency p50/p99. §3.6 compares every repeat with the reference under the agreement rule.

import fs from "node:fs";
import path from "node:path";

const files = process.argv.slice(2);
if (files.length === 0 || files.includes("--help")) {
  process.stderr.write("usage: node scripts/probe/repeats.mjs RESULT.json... > scripts/probe/repeats.json\n");
  process.exit(files.length === 0 ? 2 : 0);
}
const p50 = (x) => (x && typeof x.p50 === "number" ? x.p50 : null);
const repeats = files.map((f) => {
  let j;
  try {
    j = JSON.parse(fs.readFileSync(f, "utf8"));
  } catch (e) {
    process.stderr.write(`repeats: ${f}: ${e.message}\n`);
    process.exit(2);
  }
  if (j.schema !== 1 || !Array.isArray(j.runs)) {
    process.stderr.write(`repeats: ${f}: not a probe result (schema 1 with runs)\n`);
    process.exit(2);
  }
  return {
    file: path.basename(f),
    date: j.date,
    kernel: j.kernel?.release ?? null,
    cpu_busy_before: j.cpu_busy_before ?? null,
    cpu_other_during: j.cpu_other_during ?? null,
    disturbed: j.disturbed ?? null,
    wakeup_p50_ns: {
      cross_idle: p50(j.calib?.wakeup_ns),
      cross_busy: p50(j.calib?.wakeup_cross_busy_ns),
      same: p50(j.calib?.wakeup_same_cpu_ns),
    },
    runs: j.runs.map((r) => ({
      regime: r.regime, mode: r.mode, proto: r.proto, conns: r.conns,
      vcsw_per_msg: r.vcsw_per_msg, latency_ns: { p50: r.latency_ns.p50, p99: r.latency_ns.p99 },
      delivered: r.delivered, msgs: r.msgs, cpu_other: r.cpu_other ?? null,
    })),
  };
});
// one line per repeat: small, and a diff shows which repeat changed
process.stdout.write(`{"generator": "scripts/probe/repeats.mjs", "repeats": [\n${repeats.map((r) => JSON.stringify(r)).join(",\n")}\n]}\n`);
