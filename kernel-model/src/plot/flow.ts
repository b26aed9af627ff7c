// flow.ts: a call trace drawn as a flow chart: one lane per execution context (the process,
// the hard IRQ and softirq), the chosen kernel functions in the order they ran, with the
// simulated time each one started, and the links between lanes (the wait-queue entry the
// softirq finds, the wakeup). The book's summary figures (图3.12 同步阻塞流程汇总, 图3.26 epoll原理汇总)
// drawn from a run of the model.
// No Linux file. Book: §3.3.3, §3.4.5.
//
// Interface:
// * traceFlowDot(roots, {lanes, links, notes, title}) -> Graphviz DOT. Each lane picks the
//   trace roots it reads (`root`) and lists the functions to show (`steps`), in call order;
//   a step matches the next node of that lane whose fn is that name. A step that the trace
//   does not contain throws (the figure cannot silently drop a function the model stopped
//   calling). links: [{from, to, label}] between step ids (id defaults to the fn name).
//   notes: lines printed in a box under the lanes (the measured costs).
// * The DOT goes through renderDot (objects.ts) like every other diagram.
//
// Model vs kernel: the times are the model's simulated clock (ns), shown in µs.

import type { TraceNode } from "../sim/trace";
import { walkTrace } from "../sim/trace";
import { DOT_FONT } from "./objects";

export interface FlowStep {
  fn: string;
  /** A second line under the name (what the step does, the pointer it goes through). */
  note?: string;
  /** For links; defaults to fn. */
  id?: string;
  /** Draw this step highlighted (the callbacks of §3.4.5). */
  mark?: boolean;
}

export interface FlowLane {
  title: string;
  /** Which roots of the trace belong to this lane. */
  root: (r: TraceNode) => boolean;
  steps: (string | FlowStep)[];
  color?: string;
}

export interface FlowOptions {
  lanes: FlowLane[];
  links?: { from: string; to: string; label: string; color?: string }[];
  notes?: string[];
  title?: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

/** The flow chart of a trace (see the file header). */
export function traceFlowDot(roots: readonly TraceNode[], o: FlowOptions): string {
  const out = [
    "digraph flow {",
    `  graph [rankdir=TB fontname="${DOT_FONT}" fontsize=11 nodesep=0.35 ranksep=0.22 newrank=true${o.title ? ` label="${esc(o.title)}" labelloc=t` : ""}];`,
    `  node [shape=box style="rounded,filled" fillcolor="#ffffff" fontname="${DOT_FONT}" fontsize=10 margin="0.12,0.05"];`,
    `  edge [fontname="${DOT_FONT}" fontsize=9];`,
  ];
  const ids = new Map<string, string>();
  o.lanes.forEach((lane, li) => {
    const nodes = walkTrace(roots.filter(lane.root));
    let at = 0;
    out.push(`  subgraph cluster_lane${li} {`, `    label="${esc(lane.title)}"; style="rounded,filled"; fillcolor="${lane.color ?? "#f6f8fa"}"; color="#b8c0cc";`);
    let prev = "";
    lane.steps.forEach((s, si) => {
      const step: FlowStep = typeof s === "string" ? { fn: s } : s;
      let i = at;
      while (i < nodes.length && nodes[i].fn !== step.fn) i++;
      if (i >= nodes.length) throw new Error(`traceFlowDot: lane "${lane.title}": ${step.fn} is not in the trace (after step ${si})`);
      const n = nodes[i];
      at = i + 1;
      const nid = `l${li}s${si}`;
      const key = step.id ?? step.fn;
      if (!ids.has(key)) ids.set(key, nid);
      const lines = [`<b>${esc(step.fn)}</b>`];
      if (step.note) lines.push(`<font point-size="9">${esc(step.note)}</font>`);
      lines.push(`<font point-size="9" color="#4a5563">t = ${us(n.t)}${n.loc ? `  ${esc(n.loc)}` : ""}</font>`);
      out.push(`    ${nid} [label=<${lines.join("<br/>")}>${step.mark ? ' fillcolor="#fde8c8" color="#c26a00" penwidth=1.6' : ""}];`);
      if (prev) out.push(`    ${prev} -> ${nid};`);
      prev = nid;
    });
    out.push("  }");
  });
  for (const l of o.links ?? []) {
    const a = ids.get(l.from);
    const b = ids.get(l.to);
    if (!a || !b) throw new Error(`traceFlowDot: link ${l.from} -> ${l.to}: no such step`);
    out.push(`  ${a} -> ${b} [style=dashed constraint=false color="${l.color ?? "#c0392b"}" fontcolor="${l.color ?? "#c0392b"}" label="${esc(l.label)}"];`);
  }
  if (o.notes?.length) {
    const rows = o.notes.map((t) => `<tr><td align="left">${esc(t)}</td></tr>`).join("");
    out.push(`  notes [shape=plain label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="4" bgcolor="#fffbe6">${rows}</table>>];`);
    // under the longest lane
    const longest = o.lanes.reduce((m, l, i) => (l.steps.length > o.lanes[m].steps.length ? i : m), 0);
    out.push(`  l${longest}s${o.lanes[longest].steps.length - 1} -> notes [style=invis];`);
  }
  out.push("}");
  return out.join("\n");
}
