// timeline.ts: a per-CPU timeline of a short run: who had each CPU when, and every wakeup.
// No Linux file. Book: §3.3.2 (the IRQ -> softirq -> wakeup -> switch sequence), §3.5.
//
// Interface:
// * createDocument(): a document for Plot to render into outside a browser: linkedom's (loaded
//   at the first figure; ~0.1-0.2 s against jsdom's ~0.8 s, and the same DOM the live book's
//   worker draws in).
// * plotTimeline(k, {document, from, to}): Observable Plot figure (an SVG, or a <figure> with the
//   legend); needs a Kernel made with {timeline: true}. Times are shown in µs.
//
// Model vs kernel: the lanes show the model's segments exactly (the hard IRQ, the softirq at
// irq_exit, ksoftirqd, context switches, each task's user and kernel time).

import type { Kernel, TimelineSegment } from "../kernel/kernel";
import { plotLib } from "./plot-lib";

/** A document to render figures in outside a browser (notebooks, the HTML book, tests). Plot
 *  computes every position itself, so a DOM without layout is enough (jsdom has none either). */
export function createDocument(): Document {
  // required here, not at the top: a cell that draws nothing does not load a DOM
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseHTML } = require("linkedom") as typeof import("linkedom");
  const doc = parseHTML("<!DOCTYPE html><html><head></head><body></body></html>").document as unknown as Document;
  stylePutForwards(doc.createElement("div"));
  return doc;
}

/** `el.style = "color: red"` (Plot's `style` option as a string): the DOM forwards it to
 *  style.cssText ([PutForwards=cssText]); linkedom's style has a getter only, so the setter is
 *  added once, on the prototype that defines the getter. */
function stylePutForwards(el: Element): void {
  for (let p = Object.getPrototypeOf(el); p; p = Object.getPrototypeOf(p)) {
    const d = Object.getOwnPropertyDescriptor(p, "style");
    if (!d) continue;
    if (d.get && !d.set) {
      Object.defineProperty(p, "style", { ...d, set(this: HTMLElement, v: string) { this.style.cssText = String(v); } });
    }
    return;
  }
}

/** What a segment is, for colour: the kind of context, or "task (user|sys)". */
export function segmentKind(s: TimelineSegment): string {
  if (s.ctx) return "context switch";
  if (s.who.startsWith("ksoftirqd")) return "ksoftirqd";
  if (s.mode === "irq") return "hard IRQ";
  if (s.mode === "softirq") return "softirq (irq_exit)";
  return s.mode === "user" ? "task: user" : "task: kernel";
}

const KINDS = ["task: user", "task: kernel", "context switch", "hard IRQ", "softirq (irq_exit)", "ksoftirqd"];
const COLORS = ["#4e79a7", "#a0cbe8", "#bab0ac", "#e15759", "#f28e2b", "#b07aa1"];

export interface TimelineOptions {
  document?: Document;
  /** Window to show, ns (default: the whole recording). */
  from?: number;
  to?: number;
  width?: number;
  title?: string;
}

export function plotTimeline(k: Kernel, o: TimelineOptions = {}): SVGSVGElement | HTMLElement {
  const Plot = plotLib();
  if (!k.timeline) throw new Error("plotTimeline: create the Kernel with {timeline: true}");
  const from = o.from ?? 0;
  const to = o.to ?? k.now;
  const us = (ns: number) => ns / 1000;
  const segs = k.timeline.segments
    .filter((s) => s.end > from && s.start < to)
    .map((s) => ({ ...s, x1: us(Math.max(s.start, from)), x2: us(Math.min(s.end, to)), kind: segmentKind(s), lane: `cpu${s.cpu}` }));
  const arrows = k.timeline.wakeups
    .filter((w) => w.t >= from && w.t <= to && w.fromCpu >= 0)
    .map((w) => {
      const run = k.timeline!.segments.find((s) => s.who === w.task && s.start >= w.t);
      return { x1: us(w.t), y1: `cpu${w.fromCpu}`, x2: us(run ? Math.min(run.start, to) : w.t), y2: `cpu${w.toCpu}`, task: w.task };
    });
  const lanes = k.rqs.map((rq) => `cpu${rq.cpu}`);
  return Plot.plot({
    document: o.document ?? createDocument(),
    width: o.width ?? 760,
    height: 60 + 36 * lanes.length,
    marginLeft: 50,
    title: o.title,
    x: { label: "time (µs)", domain: [us(from), us(to)] },
    y: { label: null, domain: lanes },
    color: { domain: KINDS, range: COLORS, legend: true },
    marks: [
      Plot.barX(segs, { x1: "x1", x2: "x2", y: "lane", fill: "kind", title: (d: { who: string; kind: string }) => `${d.who}: ${d.kind}`, inset: 2 }),
      Plot.text(segs.filter((s) => s.x2 - s.x1 > (us(to) - us(from)) / 12 && s.kind.startsWith("task")), {
        x: (d: { x1: number; x2: number }) => (d.x1 + d.x2) / 2, y: "lane", text: "who", fill: "white", fontSize: 10,
      }),
      Plot.arrow(arrows, { x1: "x1", y1: "y1", x2: "x2", y2: "y2", stroke: "black", bend: true, strokeWidth: 1.2, title: (d: { task: string }) => `wake up ${d.task}` }),
      Plot.ruleX([us(from)]),
    ],
  }) as SVGSVGElement | HTMLElement;
}
