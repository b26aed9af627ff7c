import { describe, expect, it } from "vitest";
import { runServer, sweep, sweepSerial, grid, arrivals, createRng, costsFromProbe, DEFAULT_COSTS, idleSweepWorkers } from "kernel-model";
import { readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import * as path from "node:path";
import { availableParallelism } from "node:os";
import { main } from "../src/cli";

const CONTRACT_KEYS = ["model", "conns", "msgs", "delivered", "dropped", "nvcsw", "nivcsw", "vcswPerMsg", "cswPerMsg",
  "runqLatencyNs", "e2eLatencyNs", "cpuNs", "simNs", "events", "wallMs"];

describe("traffic", () => {
  it("fixed, poisson and burst arrivals have the requested mean rate", () => {
    for (const pattern of ["fixed", "poisson", "burst"] as const) {
      const t = arrivals({ pattern, msgs: 20_000, rate: 10_000, start: 0, burst: 50 }, createRng(1));
      const rate = (t.length - 1) / ((t[t.length - 1] - t[0]) / 1e9);
      expect(rate, pattern).toBeGreaterThan(9_000);
      expect(rate, pattern).toBeLessThan(11_000);
      expect([...t].sort((a, b) => a - b)).toEqual(t);
    }
  });
});

describe("the blocking server", () => {
  it("sparse load: about one voluntary switch per message per receiving task", () => {
    for (const proto of ["tcp", "udp"] as const) {
      const { summary } = runServer({ model: "blocking", proto, conns: 20, msgs: 2_000, rate: 5_000, pattern: "fixed" });
      expect(summary.delivered, proto).toBe(2_000);
      expect(summary.vcswPerMsg, proto).toBeGreaterThan(0.95);
      expect(summary.vcswPerMsg, proto).toBeLessThanOrEqual(1.0);
      expect(Object.keys(summary)).toEqual(CONTRACT_KEYS);
    }
  });

  it("more connections than the default RLIMIT_NOFILE (1024): the servers raise it, as `ulimit -n` would", () => {
    for (const model of ["blocking", "epoll"] as const) {
      const { summary } = runServer({ model, proto: "tcp", conns: 1100, msgs: 200 });
      expect(summary.delivered, model).toBe(200);
    }
  });

  it("the same seed gives the same summary; another seed another one", () => {
    const strip = ({ wallMs, ...s }: { wallMs: number }) => (void wallMs, s);
    const a = strip(runServer({ model: "blocking", proto: "udp", conns: 10, msgs: 500, seed: 3 }).summary);
    expect(strip(runServer({ model: "blocking", proto: "udp", conns: 10, msgs: 500, seed: 3 }).summary)).toEqual(a);
    expect(strip(runServer({ model: "blocking", proto: "udp", conns: 10, msgs: 500, seed: 4 }).summary)).not.toEqual(a);
  });
});

describe("sweep", () => {
  it("worker threads give the same rows as a serial run", async () => {
    const jobs = grid({ proto: ["udp", "tcp"], conns: [1, 8], rate: [2_000, 50_000] }, { model: "blocking", msgs: 300 });
    const strip = (rows: { wallMs: number }[]) => rows.map(({ wallMs, ...r }) => (void wallMs, r));
    const serial = strip(sweepSerial(jobs));
    const parallel = strip(await sweep(jobs, { parallel: true, workers: 2 }));
    expect(parallel).toEqual(serial);
    expect(parallel).toHaveLength(8);
  });

  it("the workers wait for the next sweep: sweep after sweep, no more of them (they are reused)", async () => {
    const jobs = grid({ conns: [1, 2, 3, 4] }, { model: "epoll", proto: "udp", msgs: 50 });
    const strip = (rows: { wallMs: number }[]) => rows.map(({ wallMs, ...r }) => (void wallMs, r));
    const first = strip(await sweep(jobs, { workers: 2 }));
    const idle = idleSweepWorkers();
    expect(idle).toBeGreaterThanOrEqual(2);
    for (let i = 0; i < 3; i++) expect(strip(await sweep(jobs, { workers: 2 }))).toEqual(first);
    expect(idleSweepWorkers()).toBe(idle); // a new worker per sweep would add two each time
    // more workers than cores: the extra ones end, at most max(2, cores) wait
    await sweep(grid({ conns: [1, 2, 3, 4, 5, 6, 7, 8] }, { model: "epoll", proto: "udp", msgs: 20 }), { workers: 8 });
    expect(idleSweepWorkers()).toBe(Math.max(2, availableParallelism()));
  });

  it("an idle worker does not keep the process alive", () => {
    const script = `const km = require("kernel-model");
      km.sweep(km.grid({conns: [1, 2, 3]}, {model: "blocking", proto: "udp", msgs: 20}), {workers: 2})
        .then((rows) => console.log(rows.length, km.idleSweepWorkers()));`;
    const r = spawnSync(process.execPath, ["-e", script], { cwd: path.resolve(__dirname, ".."), encoding: "utf8", timeout: 30_000 });
    expect(r.error, "the process did not exit on its own").toBeUndefined();
    expect(r.status).toBe(0);
    expect(r.stdout.trim()).toBe("3 2");
  });
});

describe("kernel-model run", () => {
  function cli(...args: string[]) {
    let out = "";
    const code = main(args, (s) => { out += s; });
    return { code, out };
  }

  it("--json prints the contract's keys, in order, with the run's parameters after model", () => {
    const r = cli("run", "--model", "blocking", "--conns", "5", "--msgs", "200", "--proto", "udp", "--json");
    expect(r.code).toBe(0);
    const s = JSON.parse(r.out);
    expect(Object.keys(s).filter((k) => CONTRACT_KEYS.includes(k))).toEqual(CONTRACT_KEYS);
    expect(Object.keys(s)).toEqual(expect.arrayContaining(["seed", "rate", "pattern", "proto", "cpus", "sender", "costsSource", "complete"]));
    expect(s.delivered).toBe(200);
  });

  it("prints a human table by default", () => {
    const r = cli("run", "--model", "blocking", "--conns", "5", "--msgs", "100");
    expect(r.out).toMatch(/^model +blocking$/m);
    expect(r.out).toMatch(/per message +[\d.]+ voluntary/);
  });

  it("bad flags: exit 2", () => {
    expect(cli("run", "--model", "select", "--conns", "5", "--msgs", "100").code).toBe(2);
    expect(cli("run", "--model", "blocking", "--conns", "0", "--msgs", "100").code).toBe(2);
    expect(cli("run", "--model", "blocking", "--conns", "x", "--msgs", "100").code).toBe(2);
    expect(cli("run", "--model", "blocking", "--msgs", "100").code).toBe(2);
  });
});

describe("calibration from the probe", () => {
  const ref = JSON.parse(readFileSync(new URL("../../scripts/probe/reference.json", import.meta.url), "utf8"));

  it("the committed probe result parses into costs, and a calibrated run uses them", () => {
    const cal = costsFromProbe(ref);
    expect(cal.costs.ctxSwitch).toBe(Math.round(ref.calib.ctx_switch_net_ns));
    expect(cal.costs.syscall).toBe(Math.round(ref.calib.syscall_ns));
    expect(cal.costs.wakeup).toBeGreaterThanOrEqual(100);
    const run = runServer({ model: "blocking", proto: "udp", conns: 2, msgs: 50, costs: cal.costs });
    expect(run.kernel.costs.ctxSwitch).toBe(cal.costs.ctxSwitch);
    expect(run.kernel.costs.ctxSwitch).not.toBe(DEFAULT_COSTS.ctxSwitch);
  });

  it("a file that is not a probe result is refused with the field named", () => {
    expect(() => costsFromProbe({})).toThrow(/schema/);
    expect(() => costsFromProbe({ schema: 1, calib: { syscall_ns: 100 } })).toThrow(/ctx_switch/);
  });
});
