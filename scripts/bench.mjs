#!/usr/bin/env node
// bench.mjs: `npm run bench`: how fast and how big the model is, beside the real kernel on the
// same shape. A measurement, not a test: it prints figures against the targets of issue 11.
//
// Workloads, each model run in its own child process so its peak memory is its own:
//   1. epoll, 10,000 TCP connections, 1,000,000 messages at the bench load (100,000 msgs/s in
//      bursts of 64, 1 CPU, no drops); the real kernel: the probe binary, same shape, unpaced
//   2. blocking, 10,000 tasks in read(), the same traffic; the real kernel likewise
//   3. memory per idle epoll-registered connection, 100,000 connections
//   4. memory per task blocked in read(), 100,000 tasks
//   5. open loop: 10,000 connections offered 2,000,000 msgs/s (overload), at two sizes: the
//      cost per event must not grow with the run (no quadratic costs)
//   6. the default sweep behind chapter 3.5's figures
// The model figures cover the traffic phase (connection setup excluded): messages per
// wall-second, events per message, ns per event. The kernel runs scripts/probe/probe.c
// (compiled with cc on demand, as `npm run probe` does), `--gap 0 --work 1us --burst 64`, on
// loopback; without cc it is skipped with a note. Its connections are capped by the open-file
// hard limit (2 fds per connection), and the line says how many it used.
//
// Options: --quick (1/10 of the sizes; the lines say the real sizes), --only N[,N...],
// --no-kernel, --help.

import { fork, spawnSync } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);
const IDS = [1, 2, 3, 4, 5, 6];

const HELP = `usage: npm run bench [-- --quick] [-- --only 1,2,...] [-- --no-kernel]

Measures the model (messages per wall-second, events per message, ns per event, peak memory,
bytes per connection) for six workloads, and the real kernel on the same shape with the probe
binary (scripts/probe/probe.c, compiled with cc), printing the ratio model/kernel and the
targets of issue 11:
  1 epoll, 10k TCP connections x 1M messages     >= 2x the kernel, >= 500,000 msgs/s
  2 blocking, 10k tasks x 1M messages            >= 1.5x the kernel, >= 200,000 msgs/s
  3 memory per idle epoll connection, 100k       <= 1.5 KB
  4 memory per task blocked in read(), 100k      <= 2 KB
  5 open loop at 2M msgs/s, 10k connections      ns/event at full size <= 2x that at 1/10
  6 the default sweep of chapter 3.5             < 10 s
--quick runs everything at 1/10 size (the lines name the sizes), --only picks workloads,
--no-kernel skips the probe.`;

if (args.includes("--help")) {
  console.log(HELP);
  process.exit(0);
}
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === "--only" || a === "--one") i++;
  else if (!["--quick", "--no-kernel"].includes(a)) {
    console.error(`bench: unknown argument ${a} (see npm run bench -- --help)`);
    process.exit(2);
  }
}
const quick = args.includes("--quick");
const scale = quick ? 0.1 : 1;
const n = (x) => Math.round(x * scale);
const f = (x, d = 0) => (x === undefined || x === null ? "-" : x.toLocaleString("en-US", { maximumFractionDigits: d, minimumFractionDigits: d }));

const BENCH_LOAD = { rate: 100_000, pattern: "burst", burst: 64, proto: "tcp", cpus: 1 };
const WORKLOADS = {
  1: { name: "epoll", opts: { model: "epoll", conns: 10_000, msgs: 1_000_000 }, ratio: 2, floor: 500_000 },
  2: { name: "blocking", opts: { model: "blocking", conns: 10_000, msgs: 1_000_000 }, ratio: 1.5, floor: 200_000 },
  3: { name: "memory per idle epoll connection", conns: 100_000, limit: 1536 },
  4: { name: "memory per task blocked in read()", conns: 100_000, limit: 2048 },
  5: { name: "open loop at 2M msgs/s (overload)", opts: { model: "epoll", conns: 10_000, msgs: 1_000_000, rate: 2_000_000, pattern: "poisson", proto: "tcp", cpus: 1 } },
  6: { name: "default sweep of chapter 3.5", limitS: 10 },
};

/** One server run; the traffic phase is timed from runServer's first onProgress call. */
function timedRun(km, o) {
  const t0 = performance.now();
  let tTraffic = 0;
  const run = km.runServer({ ...o, onProgress: () => { if (!tTraffic) tTraffic = performance.now(); } });
  const t1 = performance.now();
  const trafficS = (t1 - tTraffic) / 1000;
  const events = run.summary.events;
  return {
    wallS: (t1 - t0) / 1000, setupS: (tTraffic - t0) / 1000, trafficS, delivered: run.summary.delivered, dropped: run.summary.dropped, retransmits: run.retransmits,
    msgsPerS: run.summary.delivered / trafficS, eventsPerMsg: events / run.summary.delivered, nsPerEvent: (trafficS * 1e9) / events,
    vcswPerMsg: run.summary.vcswPerMsg,
  };
}

/** Heap bytes per connection once `conns` connections are set up and idle (or blocked). */
function memoryPerConn(km, conns, model) {
  globalThis.gc?.();
  const before = process.memoryUsage().heapUsed;
  const k = new km.Kernel({});
  k.sysctl.somaxconn = conns;
  if (model === "epoll") {
    k.spawn("server", function* (sys) {
      sys.task.files.rlimit_nofile = conns + 100;
      const lfd = yield* sys.socket(km.AF_INET, km.SOCK_STREAM | km.SOCK_NONBLOCK, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, conns);
      const epfd = yield* sys.epoll_create1(0);
      const loop = km.epollLoop({ epfd, lfd, fds: [], et: false, maxevents: 64, msgSize: 64, work: 0 });
      yield* loop.setup(sys);
      yield* loop.run(sys);
    });
  } else {
    function* reader(sys, fd) {
      for (;;) if ((yield* sys.read(fd, 65536)) <= 0) return;
    }
    k.spawn("acceptor", function* (sys) {
      sys.task.files.rlimit_nofile = conns + 100;
      const lfd = yield* sys.socket(km.AF_INET, km.SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, conns);
      for (let i = 0; i < conns; i++) {
        const fd = yield* sys.accept(lfd);
        k.spawn(`reader${i}`, (s) => reader(s, fd), { thread: sys.task });
      }
      yield* sys.pause();
    });
  }
  let peers = [];
  for (let i = 0; i < conns; i++) peers.push(new km.TcpPeer(k, { dport: 80 }).connect(100_000 + i * 20_000));
  k.runUntilIdle();
  peers = null; // the remote side is not the server's memory
  globalThis.gc?.();
  const after = process.memoryUsage().heapUsed;
  let established = 0;
  for (const s of k.hash.ehash.values()) if (s.sk_state === 1) established++;
  const blocked = k.tasks.filter((p) => p.state === 1).length;
  return { conns: established, blocked, bytesPerConn: (after - before) / established, keep: k };
}

async function runOne(id) {
  const km = require("kernel-model");
  const w = WORKLOADS[id];
  const t0 = performance.now();
  const out = { id };
  if (id === 1 || id === 2) {
    const o = { ...BENCH_LOAD, ...w.opts, conns: n(w.opts.conns), msgs: n(w.opts.msgs) };
    Object.assign(out, timedRun(km, o), { conns: o.conns, msgs: o.msgs });
  } else if (id === 3 || id === 4) {
    const r = memoryPerConn(km, n(w.conns), id === 3 ? "epoll" : "blocking");
    Object.assign(out, { conns: r.conns, blocked: r.blocked, bytesPerConn: r.bytesPerConn });
  } else if (id === 5) {
    const big = { ...w.opts, conns: n(w.opts.conns), msgs: n(w.opts.msgs) };
    const small = { ...big, msgs: Math.round(big.msgs / 10) };
    const a = timedRun(km, small);
    const b = timedRun(km, big);
    Object.assign(out, b, { conns: big.conns, msgs: big.msgs, smallMsgs: small.msgs, smallNsPerEvent: a.nsPerEvent, smallDropped: a.dropped });
  } else {
    const a = km.grid({ model: ["blocking", "epoll"], conns: [1, 10, 100, 1000] }, { proto: "udp", msgs: 2_000, rate: 20_000, pattern: "burst", burst: 32 });
    const b = km.grid({ model: ["blocking", "epoll"], rate: [1_000, 10_000, 50_000, 100_000, 200_000] }, { proto: "udp", conns: 100, msgs: 2_000 });
    const rows = await km.sweep([...a, ...b]);
    out.runs = rows.length;
  }
  out.wallS ??= (performance.now() - t0) / 1000;
  out.totalS = (performance.now() - t0) / 1000;
  out.peakMB = process.resourceUsage().maxRSS / 1024;
  return out;
}

// ---- the real kernel: the probe binary on the same shape ----

let probeBin = null;
let probeNote = null;
async function ensureProbe() {
  if (probeBin || probeNote) return probeBin;
  if (args.includes("--no-kernel")) {
    probeNote = "kernel not measured (--no-kernel)";
    return null;
  }
  if (process.platform !== "linux") {
    probeNote = `kernel not measured: the probe needs Linux (this is ${process.platform})`;
    return null;
  }
  const cc = process.env.CC || "cc";
  if (spawnSync(cc, ["--version"]).error) {
    probeNote = `kernel not measured: no C compiler \`${cc}\` to build scripts/probe/probe.c`;
    return null;
  }
  const probe = await import("./probe/run.mjs");
  probe.ensureBinary(); // compiles on demand; exits with a message if compiling fails
  probeBin = probe.BIN;
  return probeBin;
}

/** The open-file hard limit: the probe needs 2 fds per TCP connection plus a few. */
function hardNofile() {
  const r = spawnSync("sh", ["-c", "ulimit -Hn"], { encoding: "utf8" });
  const v = Number((r.stdout || "").trim());
  return Number.isFinite(v) && v > 0 ? v : Infinity;
}

async function kernelRun(model, conns, msgs) {
  const bin = await ensureProbe();
  if (!bin) return null;
  const kconns = Math.min(conns, Math.floor((hardNofile() - 64) / 2 / 100) * 100);
  const a = ["--proto", "tcp", "--conns", String(kconns), "--msgs", String(msgs), "--burst", "64", "--gap", "0", "--work", "1us", "--timeout", "120s"];
  const r = spawnSync(bin, [model, ...a], { encoding: "utf8", timeout: 300_000, maxBuffer: 16 << 20 });
  if (r.error || r.status !== 0) return { error: `probe ${model} ${a.join(" ")} failed: ${r.error?.message ?? (r.stderr || `exit ${r.status}`).trim()}` };
  const j = JSON.parse(r.stdout);
  return { conns: kconns, msgs, delivered: j.delivered, wallS: j.wall_ns / 1e9, msgsPerS: j.delivered / (j.wall_ns / 1e9), vcswPerMsg: j.vcsw_per_msg, timedOut: j.timed_out };
}

// ---- the parent: run, print ----

function child(id) {
  return new Promise((resolve, reject) => {
    const c = fork(self, ["--one", String(id), ...(quick ? ["--quick"] : [])], { execArgv: ["--expose-gc", "--max-old-space-size=8192"] });
    c.on("message", resolve);
    c.on("exit", (code) => code && reject(new Error(`workload ${id} exited with ${code}`)));
  });
}

function verdict(ok) {
  return ok ? "met" : "MISSED";
}

async function main() {
  let only = IDS;
  if (args.includes("--only")) {
    only = String(args[args.indexOf("--only") + 1] ?? "").split(",").map(Number);
    if (only.some((x) => !WORKLOADS[x])) {
      console.error("bench: --only takes workload numbers 1-6, e.g. --only 1,3");
      process.exit(2);
    }
  }
  console.log(`bench: node ${process.version}, ${quick ? "QUICK: 1/10 of every size (the sizes below are the ones run)" : "full sizes"}`);
  for (const id of only) {
    const w = WORKLOADS[id];
    process.stderr.write(`bench: [${id}] ${w.name} ...\n`);
    const r = await child(id);
    const lines = [];
    if (id === 1 || id === 2) {
      lines.push(`[${id}] ${w.name}, ${f(r.conns)} TCP conns x ${f(r.msgs)} msgs at ${f(BENCH_LOAD.rate)} msgs/s, bursts of 64, 1 CPU`);
      lines.push(`    model:  ${f(r.msgsPerS)} msgs/s (traffic ${f(r.trafficS, 2)} s, setup ${f(r.setupS, 2)} s), ${f(r.eventsPerMsg, 2)} events/msg, ${f(r.nsPerEvent)} ns/event, peak ${f(r.peakMB)} MB, dropped ${f(r.dropped)}, retransmits ${f(r.retransmits)}, vcsw/msg ${r.vcswPerMsg}`);
      process.stderr.write(`bench: [${id}] the real kernel ...\n`);
      const kr = await kernelRun(w.opts.model, r.conns, r.msgs);
      let ratio = null;
      if (!kr) lines.push(`    kernel: ${probeNote}`);
      else if (kr.error) lines.push(`    kernel: ${kr.error}`);
      else {
        ratio = r.msgsPerS / kr.msgsPerS;
        lines.push(`    kernel: ${f(kr.msgsPerS)} msgs/s (probe ${w.opts.model} --proto tcp --conns ${f(kr.conns)} --burst 64 --gap 0 --work 1us: ${f(kr.delivered)} msgs in ${f(kr.wallS, 2)} s${kr.timedOut ? ", TIMED OUT" : ""}), vcsw/msg ${kr.vcswPerMsg}`);
      }
      const okRatio = ratio === null ? null : ratio >= w.ratio;
      lines.push(`    model/kernel ${ratio === null ? "-" : `${ratio.toFixed(2)}x`}  [target >= ${w.ratio}x: ${okRatio === null ? "not measured" : verdict(okRatio)}; >= ${f(w.floor)} msgs/s: ${verdict(r.msgsPerS >= w.floor)}]`);
    } else if (id === 3 || id === 4) {
      lines.push(`[${id}] ${w.name}: ${f(r.bytesPerConn)} B per ${id === 3 ? "connection" : "blocked reader (its connection included)"} at ${f(r.conns)} connections${id === 4 ? ` (${f(r.blocked)} tasks asleep)` : ""}, peak ${f(r.peakMB)} MB, ${f(r.totalS, 1)} s  [target <= ${f(w.limit)} B: ${verdict(r.bytesPerConn <= w.limit)}]`);
    } else if (id === 5) {
      const growth = r.nsPerEvent / r.smallNsPerEvent;
      lines.push(`[${id}] ${w.name}, ${f(r.conns)} TCP conns x ${f(r.msgs)} msgs, Poisson, 1 CPU`);
      lines.push(`    model:  ${f(r.msgsPerS)} msgs/s delivered (traffic ${f(r.trafficS, 2)} s), ${f(r.eventsPerMsg, 2)} events/msg, ${f(r.nsPerEvent)} ns/event, dropped ${f(r.dropped)}, retransmits ${f(r.retransmits)} (${f(r.retransmits / r.delivered, 2)} per message), peak ${f(r.peakMB)} MB`);
      lines.push(`    ns/event at ${f(r.smallMsgs)} msgs: ${f(r.smallNsPerEvent)}; at ${f(r.msgs)}: ${f(r.nsPerEvent)} (x${growth.toFixed(2)})  [target: no quadratic cost, x <= 2: ${verdict(growth <= 2)}]`);
    } else {
      lines.push(`[${id}] ${w.name}: ${r.runs} runs in ${f(r.totalS, 2)} s, peak ${f(r.peakMB)} MB  [target < ${w.limitS} s: ${verdict(r.totalS < w.limitS)}]`);
    }
    console.log(lines.join("\n"));
  }
}

if (args[0] === "--one") runOne(Number(args[1])).then((r) => process.send(r, () => process.exit(0)));
else main();
