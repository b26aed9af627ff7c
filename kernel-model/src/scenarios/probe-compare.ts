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
//   switches per message and latency per cell, and whether they are in the same regime.
// * regimesAgree(kernel, model): the rule for `agree` (below); agreementByRegime(rows).
//
// Model vs kernel (the mapping is as close as the model allows; the model is not tuned):
// * The probe runs on loopback: loopback_xmit -> netif_rx queues the skb on the *sender's*
//   CPU and the NET_RX softirq runs there, in the sender's context. The model has a NIC with
//   hard IRQs; sending every IRQ to the probe's sender CPU puts the softirq on the same CPU,
//   but the model has no sender task, no transmit path and no loopback ACK path.
// * A model burst arrives at the NIC back to back (1 ns apart); the probe's sender needs a few
//   µs per send() (transmit + the whole receive softirq), so its batch is spread out.
// * The model's TCP reader reads up to 64 KiB per read(); the probe reads exactly one message.
// * The model is Linux 4.6.2 (CFS, TCP prequeue); the probe's kernel is whatever runs it.

import type { ServerOptions } from "./servers";
import type { SweepRow } from "./sweep";
import { costsFromProbe } from "./calibrate";

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
}

export interface ProbeMatrixOptions {
  /** Messages per sparse run in the model (default 500; the probe sends 2000). */
  sparseMsgs?: number;
  /** Messages per burst run in the model, rounded down to whole batches (default 2048, i.e.
   *  32 batches of 64; the probe sends 20,000). */
  burstMsgs?: number;
  /** Use the probe's costs (default true); false keeps the book's defaults. */
  calibrated?: boolean;
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
  const costs = opts.calibrated === false ? undefined : costsFromProbe(probeJson).costs;
  const machineCpus = (probeJson as { cpus?: { count?: number } }).cpus?.count ?? 1;
  return runs.map((r) => {
    const burst = Math.max(1, r.burst);
    // sparse: one message every gap_ns; burst: `burst` back to back, gap_ns between batches
    const rate = (burst * 1e9) / r.gap_ns;
    const want = burst > 1 ? opts.burstMsgs ?? 2048 : opts.sparseMsgs ?? 500;
    const msgs = Math.min(r.msgs, Math.max(burst, Math.floor(want / burst) * burst));
    const pinned = r.sender_cpu >= 0 && r.receiver_cpu >= 0;
    const job: ProbeJob = {
      regime: r.regime,
      model: r.mode, proto: r.proto, conns: r.conns, msgs, msgSize: r.bytes, work: r.work_ns,
      pattern: burst > 1 ? "burst" : "fixed", rate, order: r.order === "random" ? "random" : "rr",
      seed: opts.seed ?? r.seed ?? 1,
      // pinned: softirq (the probe's sender CPU) and application on separate CPUs, as the probe
      cpus: pinned ? Math.max(2, r.sender_cpu + 1, r.receiver_cpu + 1) : Math.max(1, machineCpus),
      ...(pinned ? { irqCpu: r.sender_cpu, receiverCpu: r.receiver_cpu } : {}),
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
  /** Same qualitative regime (regimesAgree on voluntary switches per message). */
  agree: boolean;
}

/** Same regime: both about one switch per message (> 0.8), both far below (< 0.2), or within
 *  ±0.15 of each other. */
export function regimesAgree(kernel: number, model: number): boolean {
  return (kernel > 0.8 && model > 0.8) || (kernel < 0.2 && model < 0.2) || Math.abs(kernel - model) <= 0.15 + 1e-9;
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
    return {
      mode: r.mode, proto: r.proto, conns: r.conns, regime: r.regime,
      kernelVcswPerMsg: r.vcsw_per_msg, modelVcswPerMsg: m.vcswPerMsg,
      kernelCswPerMsg: r.csw_per_msg, modelCswPerMsg: m.cswPerMsg,
      kernelP50Us: us(r.latency_ns.p50), modelP50Us: us(m.e2eLatencyNs.p50),
      kernelP99Us: us(r.latency_ns.p99), modelP99Us: us(m.e2eLatencyNs.p99),
      kernelMsgs: r.delivered, modelMsgs: m.delivered,
      agree: regimesAgree(r.vcsw_per_msg, m.vcswPerMsg),
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
