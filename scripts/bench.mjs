#!/usr/bin/env node
// bench.mjs: `npm run bench`: how fast and how big the model is. A measurement, not a test.
//
// Workloads (issue 5), each in its own child process so its peak memory is its own:
//   1. epoll, 10,000 TCP connections, 1,000,000 messages, tracing off
//   2. blocking, 10,000 tasks (TCP), 1,000,000 messages, tracing off
//   3. memory per idle established connection, 100,000 connections (epoll server)
//   4. the default sweep behind chapter 3.5's figures
// and, in each child, a bare event loop: flatqueue pop+push of the same number of events with
// 10,000 pending, the ceiling the model's engine sits on.
//
// Options: --quick (1/10 of the sizes), --only N, --help. Prints a table with the targets.

import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const self = fileURLToPath(import.meta.url);
const args = process.argv.slice(2);

if (args.includes("--help")) {
  console.log(`npm run bench [-- --quick] [-- --only 1|2|3|4]
Measures the model: wall time, messages per wall-second, events per second, peak memory, and
the ratio to a bare flatqueue event loop of the same size, for the four workloads of issue 5.`);
  process.exit(0);
}
for (const a of args) {
  if (!["--quick", "--only", "--one"].includes(a) && !/^\d+$/.test(a)) {
    console.error(`bench: unknown argument ${a}`);
    process.exit(2);
  }
}
const quick = args.includes("--quick");
const scale = quick ? 0.1 : 1;

const WORKLOADS = {
  1: { name: "epoll, 10k TCP conns, 1M msgs", target: "≥ 1,000,000 msgs/s", opts: { model: "epoll", conns: 10_000, msgs: 1_000_000 } },
  2: { name: "blocking, 10k tasks, 1M msgs", target: "≥ 300,000 msgs/s", opts: { model: "blocking", conns: 10_000, msgs: 1_000_000 } },
  3: { name: "memory per idle connection, 100k", target: "≤ 2 KB/conn" },
  4: { name: "default sweep of chapter 3.5", target: "< 10 s" },
};

/** flatqueue pop+push with `pending` items queued, `n` times: events per second. */
function bareLoop(n) {
  const FlatQueue = require("flatqueue").default ?? require("flatqueue");
  const q = new FlatQueue();
  let t = 0;
  for (let i = 0; i < 10_000; i++) q.push(i, (t += 1000));
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    const v = q.peekValue();
    q.pop();
    q.push(i, v + 10_000_000);
  }
  return n / ((performance.now() - t0) / 1000);
}

async function runOne(id) {
  const km = require("kernel-model");
  const w = WORKLOADS[id];
  const t0 = performance.now();
  const out = { id, name: w.name, target: w.target };
  if (id === 1 || id === 2) {
    // a load one CPU sustains (100,000 msgs/s in bursts of 64): no drops, no retransmissions
    const o = { ...w.opts, conns: Math.round(w.opts.conns * scale), msgs: Math.round(w.opts.msgs * scale), rate: 100_000, pattern: "burst", burst: 64, proto: "tcp", cpus: 1 };
    const run = km.runServer(o);
    const wall = (performance.now() - t0) / 1000;
    const trafficWall = run.summary.wallMs / 1000;
    Object.assign(out, {
      wallS: wall, msgs: run.summary.delivered, msgsPerS: run.summary.delivered / wall,
      events: run.kernel.engine.events, eventsPerS: run.kernel.engine.events / wall,
      bareEventsPerS: bareLoop(run.kernel.engine.events), vcswPerMsg: run.summary.vcswPerMsg, trafficWallS: trafficWall,
      dropped: run.summary.dropped,
    });
    out.pass = out.msgsPerS >= (id === 1 ? 1_000_000 : 300_000);
  } else if (id === 3) {
    const conns = Math.round(100_000 * scale);
    globalThis.gc?.();
    const before = process.memoryUsage().heapUsed;
    const k = new km.Kernel({});
    k.sysctl.somaxconn = conns;
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(km.AF_INET, km.SOCK_STREAM | km.SOCK_NONBLOCK, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, conns);
      sys.task.files.rlimit_nofile = conns + 100;
      const epfd = yield* sys.epoll_create1(0);
      const loop = km.epollLoop({ epfd, lfd, fds: [], et: false, maxevents: 64, msgSize: 64, work: 0 });
      yield* loop.setup(sys);
      yield* loop.run(sys);
    });
    let peers = [];
    for (let i = 0; i < conns; i++) peers.push(new km.TcpPeer(k, { dport: 80 }).connect(100_000 + i * 20_000));
    k.runUntilIdle();
    peers = null; // the remote side is not the server's memory
    globalThis.gc?.();
    const after = process.memoryUsage().heapUsed;
    const established = [...k.hash.ehash.values()].filter((s) => s.sk_state === 1).length;
    Object.assign(out, { wallS: (performance.now() - t0) / 1000, conns: established, bytesPerConn: (after - before) / established });
    out.pass = out.bytesPerConn <= 2048;
    void k;
  } else {
    const a = km.grid({ model: ["blocking", "epoll"], conns: [1, 10, 100, 1000] }, { proto: "udp", msgs: 2_000, rate: 20_000, pattern: "burst", burst: 32 });
    const b = km.grid({ model: ["blocking", "epoll"], rate: [1_000, 10_000, 50_000, 100_000, 200_000] }, { proto: "udp", conns: 100, msgs: 2_000 });
    const rows = await km.sweep([...a, ...b]);
    Object.assign(out, { wallS: (performance.now() - t0) / 1000, runs: rows.length });
    out.pass = out.wallS < 10;
  }
  out.peakMB = process.resourceUsage().maxRSS / 1024;
  return out;
}

if (args[0] === "--one") {
  runOne(Number(args[1])).then((r) => process.send(r));
} else {
  const only = args.includes("--only") ? [Number(args[args.indexOf("--only") + 1])] : [1, 2, 3, 4];
  if (only.some((n) => !WORKLOADS[n])) {
    console.error("bench: --only takes 1, 2, 3 or 4");
    process.exit(2);
  }
  console.log(`bench: node ${process.version}, ${quick ? "QUICK (1/10 sizes)" : "full sizes"}`);
  const rows = [];
  for (const id of only) {
    process.stderr.write(`bench: [${id}/4] ${WORKLOADS[id].name} ...\n`);
    const r = await new Promise((resolve, reject) => {
      const child = fork(self, ["--one", String(id), ...(quick ? ["--quick"] : [])], { execArgv: ["--expose-gc", "--max-old-space-size=8192"] });
      child.on("message", resolve);
      child.on("exit", (code) => code && reject(new Error(`workload ${id} exited with ${code}`)));
    });
    rows.push(r);
    const f = (x, d = 0) => (x === undefined ? "" : x.toLocaleString("en-US", { maximumFractionDigits: d }));
    let line = `  ${r.name}: ${f(r.wallS, 2)} s wall, peak ${f(r.peakMB)} MB`;
    if (r.msgsPerS) line += `, ${f(r.msgsPerS)} msgs/s, ${f(r.eventsPerS)} events/s, bare loop ${f(r.bareEventsPerS)} events/s (model/bare ${(r.eventsPerS / r.bareEventsPerS).toFixed(3)}), vcsw/msg ${r.vcswPerMsg}, dropped ${r.dropped}`;
    if (r.bytesPerConn) line += `, ${f(r.conns)} connections, ${f(r.bytesPerConn)} bytes/conn`;
    if (r.runs) line += `, ${r.runs} runs`;
    line += `  [target ${r.target}: ${r.pass ? "met" : "MISSED"}]`;
    console.log(line);
  }
}
