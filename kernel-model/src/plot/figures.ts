// figures.ts: the chapter's summary figures, from sweep rows (blocking vs epoll).
// No Linux file. Book: §3.5 (总结: one thread per connection against one epoll thread).
//
// Interface (each takes SweepRow[] and {document}, returns an SVG or a <figure> with a legend):
// * plotSwitchesVsConns: voluntary context switches per message against connections.
// * plotLatencyVsLoad: end-to-end latency p50 and p99 (µs) against load (messages/s).
// * plotCpuBreakdown: where the CPU time went (user/sys/softirq/irq/idle, %) per run.
// Axes are labelled with units; colours are the same in every figure (blocking, epoll).


import type { SweepRow } from "../scenarios/sweep";
import { plotLib } from "./plot-lib";
import { createDocument } from "./timeline";

const MODEL_COLOR = { domain: ["blocking", "epoll"], range: ["#e15759", "#4e79a7"], legend: true };

export interface FigureOptions {
  document?: Document;
  width?: number;
  title?: string;
}

/** Voluntary switches per message (as /proc/PID/status counts them) vs connections, log x. */
export function plotSwitchesVsConns(rows: SweepRow[], o: FigureOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 640,
    title: o.title,
    x: { type: "log", label: "connections", grid: true },
    y: { label: "voluntary context switches per message", grid: true, domain: [0, Math.max(1.05, ...rows.map((r) => r.vcswPerMsg))] },
    color: MODEL_COLOR,
    marks: [
      Plot.ruleY([0, 1], { stroke: "#ccc" }),
      Plot.line(rows, { x: "conns", y: "vcswPerMsg", stroke: "model", z: (r: SweepRow) => `${r.model} ${r.rate}` }),
      Plot.dot(rows, { x: "conns", y: "vcswPerMsg", fill: "model", title: (r: SweepRow) => `${r.model}, ${r.conns} conns, ${r.rate}/s: ${r.vcswPerMsg}` }),
    ],
  }) as SVGSVGElement | HTMLElement;
}

/** End-to-end latency (NIC arrival -> recv returns), p50 solid and p99 dashed, vs load. */
export function plotLatencyVsLoad(rows: SweepRow[], o: FigureOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  const data = rows.flatMap((r) => [
    { model: r.model, rate: r.rate, pct: "p50", us: r.e2eLatencyNs.p50 / 1000 },
    { model: r.model, rate: r.rate, pct: "p99", us: r.e2eLatencyNs.p99 / 1000 },
  ]);
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 640,
    marginRight: 40,
    title: o.title,
    x: { type: "log", label: "load (messages per second)", grid: true },
    y: { type: "log", label: "end-to-end latency (µs)", grid: true },
    color: MODEL_COLOR,
    marks: [
      Plot.line(data.filter((d) => d.pct === "p50"), { x: "rate", y: "us", stroke: "model" }),
      Plot.line(data.filter((d) => d.pct === "p99"), { x: "rate", y: "us", stroke: "model", strokeDasharray: "4,3" }),
      Plot.dot(data, { x: "rate", y: "us", fill: "model", r: 2.5, title: (d: { model: string; pct: string; rate: number; us: number }) => `${d.model} ${d.pct} at ${d.rate}/s: ${d.us.toFixed(1)} µs` }),
      Plot.text(data.filter((d, i, a) => d.rate === Math.max(...a.map((x) => x.rate))), { x: "rate", y: "us", text: "pct", dx: 16, fill: "model" }),
    ],
  }) as SVGSVGElement | HTMLElement;
}

const CPU_KINDS = ["user", "sys", "softirq", "irq", "idle"] as const;

/** CPU time split as /proc/stat does, % of the run's CPU time, one bar per (model, load). */
export function plotCpuBreakdown(rows: SweepRow[], o: FigureOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  const data = rows.flatMap((r) => {
    const total = CPU_KINDS.reduce((a, kind) => a + r.cpuNs[kind], 0) || 1;
    return CPU_KINDS.map((kind) => ({ run: `${r.model} ${r.rate}/s`, model: r.model, kind, pct: (100 * r.cpuNs[kind]) / total }));
  });
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 640,
    marginLeft: 130,
    title: o.title,
    x: { label: "CPU time (%)", domain: [0, 100], grid: true },
    y: { label: null, domain: [...new Set(data.map((d) => d.run))] },
    color: { domain: [...CPU_KINDS], range: ["#4e79a7", "#a0cbe8", "#f28e2b", "#e15759", "#eeeeee"], legend: true },
    marks: [Plot.barX(data, { x: "pct", y: "run", fill: "kind", order: [...CPU_KINDS], title: (d: { kind: string; pct: number }) => `${d.kind}: ${d.pct.toFixed(1)}%` })],
  }) as SVGSVGElement | HTMLElement;
}
