// probe.ts: figures of the model beside a real kernel (rows of compareWithProbe).
// No Linux file. Book: §3.5 and the "Your kernel" section (3.6).
//
// Interface (each takes ProbeComparisonRow[] and {document}, returns a <figure> with legends):
// * plotProbeSwitches: voluntary switches per message against connections (log), one panel per
//   regime (columns) and protocol (rows); colour = kernel | model, symbol = blocking | epoll.
// * plotProbeLatency: end-to-end latency p50 (symbol) and p99 (small dot, joined by a line), µs on a log scale, same
//   panels. Kernel: the sender's clock before send() -> recv() returns; model: NIC arrival ->
//   read() returns.
// In both, the kernel's marks sit a few pixels left of the connection count, the model's right
// (blocking outside, epoll inside).

import type { ProbeComparisonRow } from "../scenarios/probe-compare";
import type { FigureOptions } from "./figures";
import { plotLib } from "./plot-lib";
import { createDocument } from "./timeline";

const SOURCE_COLOR = { domain: ["kernel", "model"], range: ["#222222", "#f28e2b"], legend: true };
const MODE_SYMBOL = { domain: ["blocking", "epoll"], range: ["circle", "triangle"], legend: true };

interface Point {
  source: "kernel" | "model";
  mode: string;
  proto: string;
  regime: string;
  conns: number;
  vcsw: number;
  p50: number;
  p99: number;
}

function points(rows: ProbeComparisonRow[]): Point[] {
  return rows.flatMap((r) => [
    { source: "kernel" as const, mode: r.mode, proto: r.proto, regime: r.regime, conns: r.conns, vcsw: r.kernelVcswPerMsg, p50: r.kernelP50Us, p99: r.kernelP99Us },
    { source: "model" as const, mode: r.mode, proto: r.proto, regime: r.regime, conns: r.conns, vcsw: r.modelVcswPerMsg, p50: r.modelP50Us, p99: r.modelP99Us },
  ]);
}

function facets(rows: ProbeComparisonRow[]) {
  return {
    fx: { label: null, domain: [...new Set(rows.map((r) => r.regime))] },
    fy: { label: null, domain: [...new Set(rows.map((r) => r.proto))] },
  };
}

/** Horizontal nudge (px) so that the four marks of a cell do not hide each other. */
const DX: Record<string, Record<string, number>> = { kernel: { blocking: -10, epoll: -4 }, model: { blocking: 4, epoll: 10 } };
/** The points of each (source, mode) with its nudge: one mark each (Plot's dx is a constant). */
function groups(data: Point[]): { d: Point[]; dx: number }[] {
  return Object.entries(DX).flatMap(([source, modes]) => Object.entries(modes).map(([mode, dx]) => ({
    d: data.filter((p) => p.source === source && p.mode === mode), dx,
  })));
}
const tip = (p: Point) => `${p.source}: ${p.mode} ${p.proto} N=${p.conns} ${p.regime}\n${p.vcsw} vcsw/msg, p50 ${p.p50} µs, p99 ${p.p99} µs`;

/** Voluntary switches per message, kernel beside model, per regime and protocol. */
export function plotProbeSwitches(rows: ProbeComparisonRow[], o: FigureOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  const data = points(rows);
  const ymax = Math.max(1.05, ...data.map((p) => p.vcsw));
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 720,
    height: 420,
    marginRight: 50,
    title: o.title,
    ...facets(rows),
    x: { type: "log", label: "connections (N)", grid: true, ticks: [1, 10, 100, 1000], tickFormat: "d", inset: 12 },
    y: { label: "voluntary switches per message", grid: true, domain: [0, ymax] },
    color: SOURCE_COLOR,
    symbol: MODE_SYMBOL,
    marks: [
      Plot.frame({ stroke: "#ddd" }),
      Plot.ruleY([0, 1], { stroke: "#ccc" }),
      ...groups(data).map(({ d, dx }) => Plot.dot(d, {
        x: "conns", y: "vcsw", fx: "regime", fy: "proto", stroke: "source", symbol: "mode", dx, r: 4, strokeWidth: 1.6, title: tip,
      })),
    ],
  }) as SVGSVGElement | HTMLElement;
}

/** Latency p50 (symbol) and p99 (small dot), kernel beside model, per regime and protocol (log µs). */
export function plotProbeLatency(rows: ProbeComparisonRow[], o: FigureOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  const data = points(rows);
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 720,
    height: 420,
    marginRight: 50,
    title: o.title,
    ...facets(rows),
    x: { type: "log", label: "connections (N)", grid: true, ticks: [1, 10, 100, 1000], tickFormat: "d", inset: 12 },
    y: { type: "log", label: "latency (µs): p50 symbol, p99 small dot", grid: true },
    color: SOURCE_COLOR,
    symbol: MODE_SYMBOL,
    marks: [
      Plot.frame({ stroke: "#ddd" }),
      ...groups(data).flatMap(({ d, dx }) => [
        Plot.ruleX(d, { x: "conns", y1: "p50", y2: "p99", fx: "regime", fy: "proto", stroke: "source", strokeOpacity: 0.4, dx }),
        Plot.dot(d, { x: "conns", y: "p99", fx: "regime", fy: "proto", fill: "source", dx, r: 1.8 }),
        Plot.dot(d, { x: "conns", y: "p50", fx: "regime", fy: "proto", stroke: "source", symbol: "mode", dx, r: 4, strokeWidth: 1.6, title: tip }),
      ]),
    ],
  }) as SVGSVGElement | HTMLElement;
}
