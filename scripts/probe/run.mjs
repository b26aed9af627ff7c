#!/usr/bin/env node
// Real-kernel probe runner: compiles probe.c on demand, runs the calibration and the
// blocking-vs-epoll matrix, saves one JSON file. Node built-ins only.
//
//   npm run probe                      full matrix -> scripts/probe/results/<host>-<date>.json
//   npm run probe -- --reference       full matrix -> scripts/probe/reference.json
//   npm run probe -- --quick           tiny matrix (for tests)
//   npm run probe -- --help
//
// See scripts/probe/README.md for what is measured and the JSON schema.

import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SRC = path.join(HERE, "probe.c");
const BUILD_DIR = path.join(HERE, "build");
export const BIN = path.join(BUILD_DIR, "probe");
const STAMP = path.join(BUILD_DIR, "probe.cmd");
const REFERENCE = path.join(HERE, "reference.json");
const RESULTS_DIR = path.join(HERE, "results");
const CC = process.env.CC || "cc";
const CFLAGS = ["-O2", "-pthread", "-std=c11", "-Wall", "-Wextra"];

const HELP = `usage: npm run probe -- [options]

Measures the real kernel on this machine: context switches per received message for
blocking recv() (one thread per socket) versus epoll_wait() (one thread), over loopback
UDP and TCP, with sparse and bursty traffic, plus a calibration (context switch, syscall,
wakeup latency). Compiles scripts/probe/probe.c with \`${CC}\` when needed (Linux only).

options:
  --quick              tiny matrix (N = 1, 10; few messages; short calibration), ~2 s
  --only MODE          run only blocking or only epoll
  --out FILE           write the results to FILE
                       (default scripts/probe/results/<hostname>-<date>.json)
  --reference          write scripts/probe/reference.json (the committed reference run)
  --quiet              on a shared machine: before each run wait (up to 60 s) until other
                       processes leave the CPUs idle, and repeat a run that other processes
                       disturbed (used > 5% of the CPUs during it), up to 4 more times; each
                       run records its attempts and its own cpu_other
  --help               this text

The full matrix is 32 runs: N in 1, 10, 100, 1000 x sparse/burst x udp/tcp x
blocking/epoll; then 24 runs in between (bursts to N = 32, 64, 128 with 3 or 12 us
of receiver work: regimes burst-3us, burst-12us), and 8 ablation runs (N=100 burst
without pinning / without receiver work) that show why the matrix pins and adds
work. It takes about 40 s. The JSON records how much other processes used the CPUs
(per run: cpu_other; overall: cpu_other_during, disturbed).
Progress goes to stderr, a summary table to stdout.`;

// ---------------------------------------------------------------- arguments

function usageError(msg) {
  process.stderr.write(`probe: ${msg} (see npm run probe -- --help)\n`);
  process.exit(2);
}

function parseArgs(argv) {
  const opts = { quick: false, only: null, out: null, reference: false, help: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    let value;
    const eq = a.indexOf("=");
    if (a.startsWith("--") && eq > 0) {
      value = a.slice(eq + 1);
      a = a.slice(0, eq);
    }
    const takeValue = () => {
      if (value !== undefined) return value;
      const v = argv[i + 1];
      if (v === undefined || v.startsWith("--")) usageError(`${a} needs a value`);
      i++;
      return v;
    };
    const noValue = () => {
      if (value !== undefined) usageError(`${a} takes no value`);
    };
    switch (a) {
      case "--help":
      case "-h":
        noValue();
        opts.help = true;
        break;
      case "--quick":
        noValue();
        opts.quick = true;
        break;
      case "--reference":
        noValue();
        opts.reference = true;
        break;
      case "--quiet":
        noValue();
        opts.quiet = true;
        break;
      case "--only": {
        const v = takeValue();
        if (v !== "blocking" && v !== "epoll") usageError(`--only expects blocking or epoll, got '${v}'`);
        opts.only = v;
        break;
      }
      case "--out": {
        const v = takeValue();
        if (!v) usageError("--out needs a file name");
        opts.out = v;
        break;
      }
      default:
        usageError(`unknown flag '${a}'`);
    }
  }
  if (opts.reference && opts.out) usageError("--reference and --out are exclusive");
  if (opts.reference && (opts.quick || opts.only)) usageError("--reference needs the full matrix (no --quick or --only)");
  return opts;
}

// ---------------------------------------------------------------- build

function fail(msg) {
  process.stderr.write(`probe: ${msg}\n`);
  process.exit(1);
}

export function ensureBinary() {
  if (process.platform !== "linux") {
    fail(
      `the real-kernel probe needs Linux (epoll, getrusage(RUSAGE_THREAD)); this is ${process.platform}.\n` +
        "       Run it on a Linux machine or VM; the rest of the book does not need it.",
    );
  }
  const cmd = [CC, ...CFLAGS, "-o", BIN, SRC];
  const cmdText = cmd.map((x) => path.relative(process.cwd(), x) || x).join(" ");
  const srcTime = fs.statSync(SRC).mtimeMs;
  let upToDate = false;
  try {
    upToDate =
      fs.statSync(BIN).mtimeMs >= srcTime && fs.readFileSync(STAMP, "utf8") === [CC, ...CFLAGS].join(" ");
  } catch {
    upToDate = false;
  }
  const ccVersion = spawnSync(CC, ["--version"], { encoding: "utf8" });
  if (ccVersion.error) {
    if (upToDate) return "unknown (compiler not found; using the existing binary)";
    fail(
      `no C compiler: \`${CC}\` ${ccVersion.error.code === "ENOENT" ? "was not found" : `failed (${ccVersion.error.message})`}.\n` +
        "       Install one, e.g. `apt-get install gcc` (Debian/Ubuntu), `dnf install gcc` (Fedora),\n" +
        "       `apk add build-base` (Alpine), or set CC to your compiler.",
    );
  }
  const ccLine = (ccVersion.stdout || "").split("\n")[0].trim();
  if (upToDate) return ccLine;
  fs.mkdirSync(BUILD_DIR, { recursive: true });
  process.stderr.write(`probe: compiling probe.c: ${cmdText}\n`);
  const tmp = `${BIN}.tmp`;
  const r = spawnSync(CC, [...CFLAGS, "-o", tmp, SRC], { encoding: "utf8" });
  if (r.error || r.status !== 0) {
    process.stderr.write((r.stderr || "") + (r.stdout || ""));
    fail(`compiling probe.c failed${r.error ? `: ${r.error.message}` : ` (exit ${r.status})`}`);
  }
  fs.renameSync(tmp, BIN);
  fs.writeFileSync(STAMP, [CC, ...CFLAGS].join(" "));
  return ccLine;
}

// ---------------------------------------------------------------- running

function runProbe(args, timeoutMs = 60000) {
  const r = spawnSync(BIN, args, { encoding: "utf8", timeout: timeoutMs, maxBuffer: 16 << 20 });
  if (r.error) fail(`running probe ${args.join(" ")}: ${r.error.message}`);
  if (r.status !== 0) {
    process.stderr.write(r.stderr || "");
    fail(`probe ${args.join(" ")} exited with status ${r.status ?? r.signal}`);
  }
  try {
    return JSON.parse(r.stdout);
  } catch (e) {
    fail(`probe ${args.join(" ")} printed something that is not JSON: ${JSON.stringify(r.stdout.slice(0, 200))}`);
  }
}

const fmtSeconds = (ns) => `${(ns / 1e9).toFixed(1)} s`;
const fmtUs = (ns) => (ns >= 1e6 ? `${(ns / 1e6).toFixed(1)} ms` : `${(ns / 1e3).toFixed(1)} µs`);
const pad = (s, n) => String(s).padEnd(n);
const lpad = (s, n) => String(s).padStart(n);

// Fraction of CPU time not idle across all CPUs over `ms` milliseconds (from /proc/stat).
function cpuBusyFraction(ms) {
  const sample = () => {
    const f = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] || 0);
    const total = f.slice(0, 8).reduce((a, b) => a + b, 0);
    return { idle, total };
  };
  try {
    const a = sample();
    Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
    const b = sample();
    const dt = b.total - a.total;
    return dt > 0 ? Math.max(0, 1 - (b.idle - a.idle) / dt) : null;
  } catch {
    return null;
  }
}

// CPU ticks (USER_HZ) of user+nice+system on all CPUs, and of this process plus its reaped
// children. Their difference over the run is CPU time used by other processes.
function cpuTicks() {
  try {
    const all = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    const self = fs.readFileSync("/proc/self/stat", "utf8");
    const f = self.slice(self.lastIndexOf(")") + 2).split(" ").map(Number); // f[0] is field 3 (state)
    const mine = f[11] + f[12] + f[13] + f[14]; // utime stime cutime cstime (fields 14-17)
    const total = all.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: all[0] + all[1] + all[2], mine, total };
  } catch {
    return null;
  }
}

// --quiet: wait until the CPUs were idle (< 5 % busy) over 300 ms, at most maxMs in total.
function waitQuiet(maxMs) {
  const t0 = Date.now();
  while (Date.now() - t0 < maxMs) {
    const b = cpuBusyFraction(300);
    if (b === null || b < 0.05) return;
  }
}

// Share of all CPU time used by other processes between two cpuTicks() samples (null if unknown).
function otherShare(t0, t1) {
  if (!t0 || !t1 || t1.total <= t0.total) return null;
  const other = t1.busy - t0.busy - (t1.mine - t0.mine);
  return Math.max(0, Math.round((other / (t1.total - t0.total)) * 1000) / 1000);
}

function dateStamp(d) {
  const p = (x) => String(x).padStart(2, "0");
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
}

function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (opts.help) {
    process.stdout.write(HELP + "\n");
    return;
  }
  const t0 = process.hrtime.bigint();
  const ccLine = ensureBinary();
  const cpus = os.cpus();
  const ncpu = cpus.length;
  const loadavg = os.loadavg();
  const busyBefore = cpuBusyFraction(300);
  if (busyBefore !== null && busyBefore > 0.1) {
    process.stderr.write(
      `probe: warning: the CPUs were ${(busyBefore * 100).toFixed(0)}% busy just before the run; other load skews the numbers\n`,
    );
  }

  // The workload. See README.md "Why the matrix pins and adds work".
  const pinned = ncpu >= 2;
  const workload = {
    bytes: 64,
    work: "10us", // application work per received message (a busy loop in the receiver)
    sender_cpu: pinned ? 0 : null, // the sender and, on loopback, the softirq that delivers
    receiver_cpu: pinned ? 1 : null, // every receiving thread (blocking: all N of them)
    timeout: "10s",
    drain: "500ms",
  };
  const regimes = opts.quick
    ? {
        sparse: { msgs: 200, gap: "200us", burst: 1 },
        burst: { msgs: 640, gap: "1ms", burst: 64 },
      }
    : {
        sparse: { msgs: 2000, gap: "200us", burst: 1 },
        burst: { msgs: 20000, gap: "1ms", burst: 64 },
      };
  const connsList = opts.quick ? [1, 10] : [1, 10, 100, 1000];
  // Cells in between (README "Cells a formula cannot predict"): bursts of 64 to N around 64
  // connections, with less and more receiver work than the matrix's 10 µs.
  const between = opts.quick
    ? { conns: [], works: [], msgs: 0 }
    : { conns: [32, 64, 128], works: ["3us", "12us"], msgs: 6400 };
  const protos = ["udp", "tcp"];
  const modes = opts.only ? [opts.only] : ["blocking", "epoll"];

  const baseArgs = (w) => {
    const a = ["--size", String(w.bytes), "--work", w.work, "--timeout", w.timeout, "--drain", w.drain];
    if (w.sender_cpu !== null) a.push("--sender-cpu", String(w.sender_cpu));
    if (w.receiver_cpu !== null) a.push("--receiver-cpu", String(w.receiver_cpu));
    return a;
  };

  const plan = [];
  for (const proto of protos)
    for (const regime of Object.keys(regimes))
      for (const conns of connsList)
        for (const mode of modes) {
          const r = regimes[regime];
          const args = [mode, "--proto", proto, "--conns", String(conns), "--msgs", String(r.msgs), "--gap", r.gap,
            "--burst", String(r.burst), ...baseArgs(workload)];
          plan.push({ kind: "run", label: `${pad(mode, 8)} ${proto} N=${pad(conns, 4)} ${pad(regime, 6)}`, regime, args });
        }
  for (const work of between.works)
    for (const proto of protos)
      for (const conns of between.conns)
        for (const mode of modes) {
          const regime = `burst-${work}`;
          const args = [mode, "--proto", proto, "--conns", String(conns), "--msgs", String(between.msgs), "--gap", regimes.burst.gap,
            "--burst", String(regimes.burst.burst), ...baseArgs({ ...workload, work })];
          plan.push({ kind: "run", label: `${pad(mode, 8)} ${proto} N=${pad(conns, 4)} ${pad(regime, 6)}`, regime, args });
        }
  // Ablation: the same N=100 burst runs without the two workload choices.
  if (!opts.quick) {
    const variants = [
      { variant: "unpinned, no work", w: { ...workload, work: "0", sender_cpu: null, receiver_cpu: null } },
      ...(pinned ? [{ variant: "pinned, no work", w: { ...workload, work: "0" } }] : []),
    ];
    for (const v of variants)
      for (const proto of protos)
        for (const mode of modes) {
          const r = regimes.burst;
          const args = [mode, "--proto", proto, "--conns", "100", "--msgs", String(r.msgs), "--gap", r.gap,
            "--burst", String(r.burst), ...baseArgs(v.w)];
          plan.push({ kind: "ablation", variant: v.variant, label: `${pad(mode, 8)} ${proto} N=100  burst  ${v.variant}`, regime: "burst", args });
        }
  }

  const nRuns = plan.filter((p) => p.kind === "run").length;
  const nAbl = plan.length - nRuns;
  process.stderr.write(
    `probe: ${os.hostname()}, Linux ${os.release()}, ${ncpu} × ${cpus[0]?.model?.trim() ?? "unknown CPU"}; ` +
      `${nRuns} runs${nAbl ? ` + ${nAbl} ablation runs` : ""}\n`,
  );

  process.stderr.write("[calib] context switch, syscall, wakeup latency ... ");
  const tc = process.hrtime.bigint();
  let calib, calibOther, calibAttempts = 0;
  for (;;) {
    calibAttempts++;
    if (opts.quiet) waitQuiet(60_000);
    const k0 = cpuTicks();
    calib = runProbe(["calib", ...(opts.quick ? ["--iters", "2000", "--reps", "1"] : [])]);
    calibOther = otherShare(k0, cpuTicks());
    if (!opts.quiet || calibOther === null || calibOther <= 0.05 || calibAttempts >= 5) break;
    process.stderr.write(`disturbed (others used ${Math.round(calibOther * 100)}%), again ... `);
  }
  calib.cpu_other = calibOther;
  if (opts.quiet) calib.attempts = calibAttempts;
  process.stderr.write(
    `${fmtSeconds(Number(process.hrtime.bigint() - tc))}  switch ${(calib.ctx_switch_ns / 1000).toFixed(2)} µs, ` +
      `syscall ${Math.round(calib.syscall_ns)} ns, wakeup p50: other CPU idle ${fmtUs(calib.wakeup_ns.p50)}, ` +
      `busy ${fmtUs(calib.wakeup_cross_busy_ns.p50)}, same CPU ${fmtUs(calib.wakeup_same_cpu_ns.p50)}\n`,
  );

  const ticks0 = cpuTicks();
  const runs = [];
  const ablation = [];
  let iRun = 0;
  let iAbl = 0;
  for (const p of plan) {
    const tag =
      p.kind === "run"
        ? `[${lpad(++iRun, String(nRuns).length)}/${nRuns}]`
        : `[A${lpad(++iAbl, String(nAbl).length)}/${nAbl}]`;
    process.stderr.write(`${tag} ${p.label} ... `);
    let res, el, other, attempts = 0;
    for (;;) {
      attempts++;
      if (opts.quiet) waitQuiet(60_000);
      const ts = process.hrtime.bigint();
      const tk0 = cpuTicks();
      res = runProbe(p.args);
      el = Number(process.hrtime.bigint() - ts);
      other = otherShare(tk0, cpuTicks());
      // a run other processes disturbed measures them too: repeat it (--quiet), at most 5 tries
      if (!opts.quiet || other === null || other <= 0.05 || attempts >= 5) break;
      process.stderr.write(`disturbed (others used ${Math.round(other * 100)}%), again ... `);
    }
    const rec = { regime: p.regime, ...(p.variant ? { variant: p.variant } : {}), ...res, cpu_other: other, ...(opts.quiet ? { attempts } : {}), argv: ["probe", ...p.args].join(" ") };
    (p.kind === "run" ? runs : ablation).push(rec);
    const warn = res.delivered < res.msgs ? `  LOST ${res.msgs - res.delivered}` : "";
    const busy = rec.cpu_other !== null && rec.cpu_other > 0.05 ? `  (others used ${Math.round(rec.cpu_other * 100)}% of the CPUs)` : "";
    process.stderr.write(
      `${fmtSeconds(el)}  vcsw/msg ${res.vcsw_per_msg.toFixed(3)}  p50 ${fmtUs(res.latency_ns.p50)}${warn}${busy}\n`,
    );
  }

  const ticks1 = cpuTicks();
  const otherLoad = otherShare(ticks0, ticks1);
  const disturbedRuns = [...runs, ...ablation].filter((r) => r.cpu_other !== null && r.cpu_other > 0.05).length;
  const totalNs = Number(process.hrtime.bigint() - t0);
  let procVersion = null;
  try {
    procVersion = fs.readFileSync("/proc/version", "utf8").trim();
  } catch {
    procVersion = null;
  }
  const now = new Date();
  const doc = {
    schema: 1,
    generator: "scripts/probe/run.mjs",
    date: now.toISOString(),
    host: os.hostname(),
    kernel: { release: os.release(), version: procVersion },
    cpus: { count: ncpu, model: cpus[0]?.model?.trim() ?? null },
    node: process.version,
    cc: `${ccLine} (${[CC, ...CFLAGS].join(" ")})`,
    loadavg,
    cpu_busy_before: busyBefore === null ? null : Math.round(busyBefore * 1000) / 1000,
    cpu_other_during: otherLoad,
    // the runner's verdict: other load before (> 10 %) or during (> 5 %) the runs skews the numbers
    disturbed: (busyBefore !== null && busyBefore > 0.1) || (otherLoad !== null && otherLoad > 0.05),
    disturbed_runs: disturbedRuns,
    matrix: { quick: opts.quick, only: opts.only, quiet: opts.quiet, conns: connsList, protos, modes, regimes, workload, between },
    calib,
    runs,
    ablation,
    elapsed_s: Math.round(totalNs / 1e7) / 100,
  };
  const out = opts.reference
    ? REFERENCE
    : opts.out
      ? path.resolve(opts.out)
      : path.join(RESULTS_DIR, `${os.hostname()}-${dateStamp(now)}.json`);
  fs.mkdirSync(path.dirname(out), { recursive: true });
  fs.writeFileSync(out, JSON.stringify(doc, null, 2) + "\n");

  // summary table on stdout
  const rows = [["mode", "proto", "N", "regime", "vcsw/msg", "csw/msg", "p50", "p99", "delivered"]];
  for (const r of [...runs, ...ablation])
    rows.push([
      r.mode,
      r.proto,
      String(r.conns),
      r.regime + (r.variant ? ` (${r.variant})` : ""),
      r.vcsw_per_msg.toFixed(3),
      r.csw_per_msg.toFixed(3),
      fmtUs(r.latency_ns.p50),
      fmtUs(r.latency_ns.p99),
      `${r.delivered}/${r.msgs}`,
    ]);
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  for (const row of rows) process.stdout.write(row.map((x, c) => (c >= 4 ? lpad(x, widths[c]) : pad(x, widths[c]))).join("  ") + "\n");
  if (otherLoad !== null && otherLoad > 0.05) {
    process.stderr.write(
      `probe: warning: other processes used ${(otherLoad * 100).toFixed(0)}% of the CPUs during the runs ` +
        `(${disturbedRuns} runs above 5%); the numbers are skewed\n`,
    );
  }
  const shown = path.relative(process.cwd(), out);
  process.stderr.write(
    `probe: wrote ${shown.startsWith("..") ? out : shown} (${runs.length} runs${ablation.length ? ` + ${ablation.length} ablation` : ""}, ${fmtSeconds(totalNs)})\n`,
  );
}

// run as a program (npm run probe), not when bench.mjs imports ensureBinary
if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
