// probe-compare.ts: the probe's matrix (scripts/probe, a real kernel on loopback) run through the
// model, and the two side by side, cell by cell.
// No Linux file. Book: §3.3.3 and §3.5 (one switch per blocking read; epoll does not block
// "只要活儿足够多"), and the "Your kernel" section (3.6).
//
// Interface:
// * probeMatrixJobs(probeJson, opts) -> one ServerOptions per probe run, in the order of
//   probeJson.runs: the same mode, protocol, connections, message size, work per message,
//   round-robin spread, batch structure and mean rate, the CPU layout (the probe's sender CPU ->
//   irqCpu, its receiver CPU -> receiverCpu) and the costs from costsFromProbe. Only the number
//   of messages is scaled down (opts.sparseMsgs, opts.burstMsgs), in whole batches.
// * compareWithProbe(probeJson, rows) -> ProbeComparisonRow[]: the kernel's and the model's
//   switches per message and latency per cell, and whether they agree (cellAgrees).
// * cellAgrees(kernel, model): the rule: voluntary switches per message within max(30 % of the
//   kernel's, 0.02 absolute) AND p50 latency within a factor of 2. A one-line formula (sparse ->
//   1, burst epoll -> 1/64, burst blocking -> min(1, N/64)) cannot pass it on latency, and misses
//   the cells where the receiver's CPU saturates. agreementByRegime(rows).
// * compareReport(rows) -> {cells, agree, total}: the shape `kernel-model compare --json` prints;
//   `agree` of each cell is cellAgrees of exactly the numbers in the cell.
// * compareProbeFile(probeJson, {calibration?}) -> {rows, report}: the whole thing (jobs, sweep on
//   worker threads, comparison), as `kernel-model compare` runs it; formatComparison(r) its table.
//   REFERENCE_PROBE: the committed reference (scripts/probe/reference.json).
// * MATRIX_REGIMES: the probe's 32-cell matrix (sparse, burst); other regimes are the cells in
//   between (burst-3us, burst-12us: N around the batch size, other receiver work).
//
// Model vs kernel (the mapping is as close as the model allows; the model is not tuned):
// * The probe runs on loopback: loopback_xmit -> netif_rx queues the skb on the *sender's*
//   CPU and the NET_RX softirq runs there, in the sender's context. The model's loopback sender
//   (loopback-sender.ts: a pinned sender task, the same path, TCP's ACKs back over lo) does the
//   same. sender: "remote" instead puts hosts behind a NIC whose IRQs all go to the probe's
//   sender CPU (the softirq on the same CPU, but no sender task and no ACK path).
// * A model burst arrives at the NIC back to back (1 ns apart); the probe's sender needs a few
//   µs per send() (transmit + the whole receive softirq), so its batch is spread out.
// * Each read() asks for one message (readSize = the probe's --size), as the probe's recv() does.
// * The model is Linux 4.6.2 (CFS, TCP prequeue); the probe's kernel is whatever runs it.

import * as path from "node:path";
import type { ServerOptions } from "./servers";
import { sweep, type SweepRow } from "./sweep";
import { costsFromProbe, type ProbeCalibration } from "./calibrate";

/** The fields of one probe run (scripts/probe/README.md, schema 1) this module reads. */
export interface ProbeRun {
  regime: string;
  mode: "blocking" | "epoll";
  proto: "udp" | "tcp";
  conns: number;
  msgs: number;
  bytes: number;
  gap_ns: number;
  burst: number;
  work_ns: number;
  order?: string;
  seed?: number;
  delivered: number;
  vcsw_per_msg: number;
  csw_per_msg: number;
  latency_ns: { p50: number; p90: number; p99: number; max: number };
  sender_cpu: number;
  receiver_cpu: number;
  timed_out?: boolean;
  sender?: { nivcsw?: number; vcsw?: number };
}

export interface ProbeMatrixOptions {
  /** Messages per sparse run in the model (default 500; the probe sends 2000). */
  sparseMsgs?: number;
  /** Messages per burst run in the model, rounded down to whole batches (default 2048, i.e.
   *  32 batches of 64; the probe sends 20,000). */
  burstMsgs?: number;
  /** Use the probe's costs (default true); false keeps the book's defaults. */
  calibrated?: boolean;
  /** Costs from another probe file (`compare --calibrate`), instead of this probe's. */
  costs?: ServerOptions["costs"];
  /** Who sends in the model: "loopback" (default: a sender task over lo, as the probe), or
   *  "remote" (hosts behind a NIC whose IRQs all go to the probe's sender CPU). */
  sender?: "loopback" | "remote";
  seed?: number;
}

/** A probe run in the model's terms, with the regime it came from. */
export type ProbeJob = ServerOptions & { regime: string };

function probeRuns(probeJson: unknown): ProbeRun[] {
  const runs = (probeJson as { runs?: unknown })?.runs;
  if (!Array.isArray(runs)) throw new RangeError("probe result: runs must be an array (a file written by npm run probe)");
  for (const [i, r] of (runs as ProbeRun[]).entries()) {
    for (const f of ["conns", "msgs", "bytes", "gap_ns", "burst", "work_ns", "vcsw_per_msg"] as const) {
      if (typeof r[f] !== "number") throw new RangeError(`probe result: runs[${i}].${f} must be a number, got ${JSON.stringify(r[f])}`);
    }
    if (r.mode !== "blocking" && r.mode !== "epoll") throw new RangeError(`probe result: runs[${i}].mode must be blocking or epoll`);
    if (r.proto !== "udp" && r.proto !== "tcp") throw new RangeError(`probe result: runs[${i}].proto must be udp or tcp`);
  }
  return runs as ProbeRun[];
}

/** One model job per probe run, in the same order. */
export function probeMatrixJobs(probeJson: unknown, opts: ProbeMatrixOptions = {}): ProbeJob[] {
  const runs = probeRuns(probeJson);
  const costs = opts.calibrated === false ? undefined : opts.costs ?? costsFromProbe(probeJson).costs;
  const machineCpus = (probeJson as { cpus?: { count?: number } }).cpus?.count ?? 1;
  return runs.map((r) => {
    const burst = Math.max(1, r.burst);
    // sparse: one message every gap_ns; burst: `burst` back to back, gap_ns between batches
    const rate = (burst * 1e9) / r.gap_ns;
    const want = burst > 1 ? opts.burstMsgs ?? 2048 : opts.sparseMsgs ?? 500;
    const msgs = Math.min(r.msgs, Math.max(burst, Math.floor(want / burst) * burst));
    const pinned = r.sender_cpu >= 0 && r.receiver_cpu >= 0;
    const loopback = (opts.sender ?? "loopback") === "loopback";
    const job: ProbeJob = {
      regime: r.regime,
      model: r.mode, proto: r.proto, conns: r.conns, msgs, msgSize: r.bytes, readSize: r.bytes, work: r.work_ns,
      pattern: burst > 1 ? "burst" : "fixed", rate, order: r.order === "random" ? "random" : "rr",
      seed: opts.seed ?? r.seed ?? 1,
      // pinned: softirq (the probe's sender CPU) and application on separate CPUs, as the probe
      cpus: pinned ? Math.max(2, r.sender_cpu + 1, r.receiver_cpu + 1) : Math.max(1, machineCpus),
      ...(loopback ? { sender: "loopback" as const, senderCpu: pinned ? r.sender_cpu : 0 } : {}),
      ...(pinned && !loopback ? { irqCpu: r.sender_cpu } : {}),
      ...(pinned ? { receiverCpu: r.receiver_cpu } : {}),
      ...(costs ? { costs } : {}),
    };
    if (burst > 1) job.burst = burst;
    return job;
  });
}

/** One cell of the matrix: the kernel's numbers and the model's, for a table or a figure. */
export interface ProbeComparisonRow {
  mode: "blocking" | "epoll";
  proto: "udp" | "tcp";
  conns: number;
  regime: string;
  kernelVcswPerMsg: number;
  modelVcswPerMsg: number;
  /** Voluntary + involuntary (the kernel's preemptions with 1000 threads show here). */
  kernelCswPerMsg: number;
  modelCswPerMsg: number;
  kernelP50Us: number;
  modelP50Us: number;
  kernelP99Us: number;
  modelP99Us: number;
  kernelMsgs: number;
  modelMsgs: number;
  /** p50 and p99 end-to-end latency in ns, unrounded (what the agreement rule reads). */
  kernelP50Ns: number;
  modelP50Ns: number;
  kernelP99Ns: number;
  modelP99Ns: number;
  /** Messages the model dropped: a run that lost messages is a different experiment (the CLI
   *  warns; the matrix's jobs are sized to drop none). */
  modelDropped: number;
  /** The kernel's sender was preempted (sender.nivcsw) and where the receivers ran, as evidence
   *  for the cells a later kernel decides. */
  kernelSenderNivcsw: number;
  /** The two halves of the rule, and the rule (cellAgrees). */
  vcswAgree: boolean;
  p50Agree: boolean;
  agree: boolean;
}

/** The numbers of one side of a cell, as `compare --json` prints them. */
export interface CellNumbers {
  vcswPerMsg: number;
  p50Ns: number;
  p99Ns: number;
}

/** Switches per message within max(30 %, 0.02) of the kernel's. */
export function vcswAgrees(kernel: number, model: number): boolean {
  return Math.abs(model - kernel) <= Math.max(0.3 * kernel, 0.02) + 1e-12;
}

/** p50 latency within a factor of 2 either way. */
export function p50Agrees(kernelNs: number, modelNs: number): boolean {
  return kernelNs > 0 && modelNs > 0 && modelNs <= 2 * kernelNs && kernelNs <= 2 * modelNs;
}

/** The agreement rule of a cell (module header). */
export function cellAgrees(kernel: CellNumbers, model: CellNumbers): boolean {
  return vcswAgrees(kernel.vcswPerMsg, model.vcswPerMsg) && p50Agrees(kernel.p50Ns, model.p50Ns);
}

/** The probe's own matrix; any other regime is a cell in between. */
export const MATRIX_REGIMES: readonly string[] = ["sparse", "burst"];

/** One cell of `compare --json`. */
export interface CompareCell {
  proto: "udp" | "tcp";
  server: "blocking" | "epoll";
  conns: number;
  regime: string;
  kernel: CellNumbers;
  model: CellNumbers;
  agree: boolean;
}

/** The comparison as `kernel-model compare --json` prints it. */
export function compareReport(rows: ProbeComparisonRow[]): { cells: CompareCell[]; agree: number; total: number } {
  const cells = rows.map((r): CompareCell => {
    const kernel = { vcswPerMsg: r.kernelVcswPerMsg, p50Ns: r.kernelP50Ns, p99Ns: r.kernelP99Ns };
    const model = { vcswPerMsg: r.modelVcswPerMsg, p50Ns: r.modelP50Ns, p99Ns: r.modelP99Ns };
    return { proto: r.proto, server: r.mode, conns: r.conns, regime: r.regime, kernel, model, agree: r.agree };
  });
  return { cells, agree: cells.filter((c) => c.agree).length, total: cells.length };
}

function regimeOfRow(r: SweepRow & { regime?: string }): string {
  return r.regime ?? (r.pattern === "burst" && (r.burst ?? 64) > 1 ? "burst" : "sparse");
}

const us = (ns: number) => Math.round(ns / 100) / 10;

/** The probe's runs beside the model rows of sweep(probeMatrixJobs(probeJson)), matched by
 *  mode, protocol, connections and regime. */
export function compareWithProbe(probeJson: unknown, rows: SweepRow[]): ProbeComparisonRow[] {
  const runs = probeRuns(probeJson);
  return runs.map((r) => {
    const m = rows.find((x) => x.model === r.mode && x.proto === r.proto && x.conns === r.conns && regimeOfRow(x) === r.regime);
    if (!m) throw new RangeError(`compareWithProbe: no model row for ${r.mode} ${r.proto} N=${r.conns} ${r.regime}`);
    const kernel = { vcswPerMsg: r.vcsw_per_msg, p50Ns: r.latency_ns.p50, p99Ns: r.latency_ns.p99 };
    const model = { vcswPerMsg: m.vcswPerMsg, p50Ns: m.e2eLatencyNs.p50, p99Ns: m.e2eLatencyNs.p99 };
    const vcswAgree = vcswAgrees(kernel.vcswPerMsg, model.vcswPerMsg);
    const p50Agree = p50Agrees(kernel.p50Ns, model.p50Ns);
    return {
      mode: r.mode, proto: r.proto, conns: r.conns, regime: r.regime,
      kernelVcswPerMsg: r.vcsw_per_msg, modelVcswPerMsg: m.vcswPerMsg,
      kernelCswPerMsg: r.csw_per_msg, modelCswPerMsg: m.cswPerMsg,
      kernelP50Us: us(r.latency_ns.p50), modelP50Us: us(m.e2eLatencyNs.p50),
      kernelP99Us: us(r.latency_ns.p99), modelP99Us: us(m.e2eLatencyNs.p99),
      kernelMsgs: r.delivered, modelMsgs: m.delivered,
      kernelP50Ns: kernel.p50Ns, modelP50Ns: model.p50Ns, kernelP99Ns: kernel.p99Ns, modelP99Ns: model.p99Ns,
      modelDropped: m.dropped, kernelSenderNivcsw: r.sender?.nivcsw ?? 0,
      vcswAgree, p50Agree,
      agree: vcswAgree && p50Agree, // = cellAgrees(kernel, model); drops are flagged apart (modelDropped)
    };
  });
}

/** How many cells agree, per regime (in the order the regimes first appear). */
export function agreementByRegime(rows: ProbeComparisonRow[]): { regime: string; agree: number; cells: number }[] {
  const out: { regime: string; agree: number; cells: number }[] = [];
  for (const r of rows) {
    let g = out.find((x) => x.regime === r.regime);
    if (!g) out.push((g = { regime: r.regime, agree: 0, cells: 0 }));
    g.cells++;
    if (r.agree) g.agree++;
  }
  return out;
}

/** The committed reference run, next to this package in the repository. */
export const REFERENCE_PROBE = path.resolve(__dirname, "../../../scripts/probe/reference.json");

export interface ProbeComparison {
  rows: ProbeComparisonRow[];
  report: ReturnType<typeof compareReport>;
  /** Where the model's costs came from. */
  costs: NonNullable<ServerOptions["costs"]>;
}

/** `kernel-model compare`: the probe's matrix through the model, compared cell by cell. */
export async function compareProbeFile(probeJson: unknown, o: ProbeMatrixOptions & { calibration?: ProbeCalibration; onRow?: (done: number, total: number) => void } = {}): Promise<ProbeComparison> {
  const costs = o.calibration?.costs ?? costsFromProbe(probeJson).costs;
  const jobs = probeMatrixJobs(probeJson, { ...o, costs });
  const rows = compareWithProbe(probeJson, await sweep(jobs, { onRow: o.onRow }));
  return { rows, report: compareReport(rows), costs };
}

/** The human table of a comparison, with the counts for the matrix and for the cells in between. */
export function formatComparison(c: ProbeComparison, probeFile = "", costsFile = probeFile): string {
  const f3 = (x: number) => x.toFixed(3).padStart(6);
  const us = (ns: number) => (ns / 1000).toFixed(ns < 10_000 ? 1 : 0).padStart(6);
  const lines = [
    `probe ${probeFile}; model costs from ${costsFile}: ` + Object.entries(c.costs).map(([k, v]) => `${k} ${v}`).join(", "),
    `rule: vcsw/msg within max(30%, 0.02) of the kernel's AND p50 within a factor of 2`,
    "",
    "server   proto     N regime       vcsw/msg kernel  model   p50 µs kernel  model   p99 µs kernel  model  agree",
  ];
  for (const r of c.rows) {
    const why = r.agree ? "yes" : `NO (${[r.vcswAgree ? "" : "vcsw", r.p50Agree ? "" : "p50"].filter(Boolean).join(", ")})`;
    lines.push(`${r.mode.padEnd(8)} ${r.proto}  ${String(r.conns).padStart(5)} ${r.regime.padEnd(11)}       ${f3(r.kernelVcswPerMsg)} ${f3(r.modelVcswPerMsg)}` +
      `          ${us(r.kernelP50Ns)} ${us(r.modelP50Ns)}          ${us(r.kernelP99Ns)} ${us(r.modelP99Ns)}  ${why}${r.modelDropped ? `  model dropped ${r.modelDropped}` : ""}`);
  }
  lines.push("");
  const main = c.rows.filter((r) => MATRIX_REGIMES.includes(r.regime));
  const between = c.rows.filter((r) => !MATRIX_REGIMES.includes(r.regime));
  lines.push(`the probe's matrix: ${main.filter((r) => r.agree).length} of ${main.length} cells agree`);
  if (between.length) lines.push(`cells in between:   ${between.filter((r) => r.agree).length} of ${between.length} cells agree`);
  lines.push(`all:                ${c.report.agree} of ${c.report.total}`, "");
  return lines.join("\n");
}
