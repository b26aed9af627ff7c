// `kernel-model compare` and the parts of `kernel-model run` that make a result repeatable:
// the JSON's parameters, --calibrate, the drop flag.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { main, mainAsync } from "../dist/cli"; // dist: compare runs the model on worker threads (dist/scenarios/sweep-worker.js)
import { cellAgrees, costsFromProbe, MATRIX_REGIMES } from "kernel-model";

const REF = new URL("../../scripts/probe/reference.json", import.meta.url).pathname;
const ref = JSON.parse(readFileSync(REF, "utf8"));

function cli(...args: string[]) {
  let out = "";
  const code = main(args, (s) => { out += s; });
  return { code, out };
}

describe("kernel-model run --json: a saved result can be repeated", () => {
  it("reports every parameter, and rerunning from them gives the same numbers", () => {
    const a = JSON.parse(cli("run", "--model", "epoll", "--conns", "7", "--msgs", "300", "--proto", "udp", "--rate", "40000",
      "--pattern", "burst", "--burst", "16", "--cpus", "2", "--seed", "9", "--work", "3000", "--json").out);
    for (const k of ["seed", "rate", "pattern", "burst", "proto", "cpus", "sender", "size", "work", "threads", "et", "costsSource", "costs"]) {
      expect(a, k).toHaveProperty(k);
    }
    expect(a).toMatchObject({ seed: 9, rate: 40000, pattern: "burst", burst: 16, proto: "udp", cpus: 2, sender: "remote", work: 3000, complete: true });
    const again = JSON.parse(cli("run", "--model", a.model, "--conns", String(a.conns), "--msgs", String(a.msgs), "--proto", a.proto,
      "--rate", String(a.rate), "--pattern", a.pattern, "--burst", String(a.burst), "--cpus", String(a.cpus), "--seed", String(a.seed),
      "--work", String(a.work), "--size", String(a.size), "--json").out);
    const { wallMs: w1, ...x } = a;
    const { wallMs: w2, ...y } = again;
    void w1; void w2;
    expect(y).toEqual(x);
  });

  it("flags a run that lost messages (complete: false)", () => {
    const r = cli("run", "--model", "blocking", "--conns", "100", "--msgs", "3000", "--proto", "udp", "--rate", "5000000", "--json");
    const s = JSON.parse(r.out);
    expect(s.dropped).toBeGreaterThan(0);
    expect(s.complete).toBe(false);
    const ok = JSON.parse(cli("run", "--model", "blocking", "--conns", "5", "--msgs", "100", "--json").out);
    expect(ok.complete).toBe(true);
  });

  it("--calibrate takes the probe's costs and names the file", () => {
    const s = JSON.parse(cli("run", "--model", "blocking", "--conns", "2", "--msgs", "50", "--calibrate", REF, "--json").out);
    const cal = costsFromProbe(ref).costs;
    expect(s.costsSource).toBe(REF);
    for (const [k, v] of Object.entries(cal)) expect(s.costs[k], k).toBe(v);
    expect(cli("run", "--model", "blocking", "--conns", "2", "--msgs", "50", "--json").out).toContain("\"costsSource\":\"defaults");
  });

  it("a missing or wrong --calibrate file: one line naming it, exit 2", () => {
    expect(cli("run", "--model", "blocking", "--conns", "2", "--msgs", "50", "--calibrate", "/nonexistent.json").code).toBe(2);
    expect(cli("run", "--model", "blocking", "--conns", "2", "--msgs", "50", "--calibrate", new URL("../package.json", import.meta.url).pathname).code).toBe(2);
  });
});

describe("kernel-model compare", () => {
  it("--json on the committed reference: the contract's shape, agree recomputed from the printed numbers, >= 28 of 32", async () => {
    let out = "";
    expect(await mainAsync(["compare", "--json"], (s) => { out += s; })).toBe(0);
    const r = JSON.parse(out);
    expect(Object.keys(r)).toEqual(["cells", "agree", "total"]);
    expect(r.total).toBe(ref.runs.length);
    for (const c of r.cells) {
      expect(Object.keys(c)).toEqual(["proto", "server", "conns", "regime", "kernel", "model", "agree"]);
      expect(Object.keys(c.kernel)).toEqual(["vcswPerMsg", "p50Ns", "p99Ns"]);
      expect(Object.keys(c.model)).toEqual(["vcswPerMsg", "p50Ns", "p99Ns"]);
      // the rule, by hand, from the numbers as printed
      const v = Math.abs(c.model.vcswPerMsg - c.kernel.vcswPerMsg) <= Math.max(0.3 * c.kernel.vcswPerMsg, 0.02) + 1e-12;
      const l = c.model.p50Ns <= 2 * c.kernel.p50Ns && c.kernel.p50Ns <= 2 * c.model.p50Ns;
      expect(c.agree, `${c.server} ${c.proto} ${c.conns} ${c.regime}`).toBe(v && l);
      expect(cellAgrees(c.kernel, c.model)).toBe(c.agree);
    }
    expect(r.agree).toBe(r.cells.filter((c: { agree: boolean }) => c.agree).length);
    // the kernel's numbers are the probe file's, cell for cell
    r.cells.forEach((c: { kernel: { vcswPerMsg: number; p50Ns: number } }, i: number) => {
      expect(c.kernel.vcswPerMsg).toBe(ref.runs[i].vcsw_per_msg);
      expect(c.kernel.p50Ns).toBe(ref.runs[i].latency_ns.p50);
    });
    const matrix = r.cells.filter((c: { regime: string }) => MATRIX_REGIMES.includes(c.regime));
    expect(matrix).toHaveLength(32);
    expect(matrix.filter((c: { agree: boolean }) => c.agree).length).toBeGreaterThanOrEqual(28);
  }, 120_000);

  it("a bad --probe file: one line naming it, exit 2", async () => {
    expect(await mainAsync(["compare", "--probe", "/nonexistent.json"], () => undefined)).toBe(2);
  });
});

describe("costsFromProbe: the IPI and the idle exit", () => {
  const withCalib = (calib: Record<string, unknown>) => ({ ...ref, calib: { ...ref.calib, ...calib } });
  const w = (p50: number) => ({ p50, p99: p50 * 2, max: p50 * 3, samples: 200 });

  it("ipi = other CPU busy - same CPU; idleExit = other CPU idle - busy (p50s)", () => {
    const c = costsFromProbe(withCalib({ wakeup_ns: w(26_000), wakeup_cross_busy_ns: w(13_000), wakeup_same_cpu_ns: w(4_000) })).costs;
    expect([c.ipi, c.idleExit]).toEqual([9_000, 13_000]);
  });

  it("a probe file without the busy measurement counts it all as the IPI, and says so", () => {
    const old = withCalib({ wakeup_ns: w(21_000), wakeup_same_cpu_ns: w(3_000) });
    delete (old.calib as Record<string, unknown>).wakeup_cross_busy_ns;
    const cal = costsFromProbe(old);
    expect([cal.costs.ipi, cal.costs.idleExit]).toEqual([18_000, 0]);
    expect(cal.source.ipi).toMatch(/no busy-target measurement/);
  });

  it("a busy target slower than an idle one (other load there) caps the IPI at the idle wakeup", () => {
    const c = costsFromProbe(withCalib({ wakeup_ns: w(30_000), wakeup_cross_busy_ns: w(9_000_000), wakeup_same_cpu_ns: w(4_000) })).costs;
    expect([c.ipi, c.idleExit]).toEqual([26_000, 0]);
  });
});
