// The figure DOM (linkedom, createDocument()) against jsdom, the DOM the book drew its figures
// with before: every figure must be the same tree (elements, attributes, text). The bytes differ
// in form only: linkedom writes attributes in another order, closes empty SVG elements with
// "/>" and writes inline style without spaces; normalize() undoes exactly that, nothing else.
import { describe, expect, it } from "vitest";
import { JSDOM } from "jsdom";
import {
  createDocument, plotTimeline, sweepSerial, grid,
  plotSwitchesVsConns, plotLatencyVsLoad, plotCpuBreakdown, plotProbeSwitches, plotProbeLatency, type ProbeComparisonRow,
} from "kernel-model";
import { plotLib } from "kernel-model/dist/plot/plot-lib";
import { udpReaderTimeline } from "./helpers";

const jsdomDocument = () => new JSDOM("<!DOCTYPE html><body></body>").window.document;

/** A serialized figure as a canonical tree: parsed by jsdom, each element as its name, its
 *  attributes sorted (a style attribute as its sorted declarations), then its children. */
function normalize(html: string): string {
  const t = jsdomDocument().createElement("template");
  t.innerHTML = html;
  const walk = (n: Node): string => {
    if (n.nodeType === 3) return JSON.stringify(n.textContent);
    const e = n as Element;
    const attrs = [...e.attributes].map((a) => {
      const v = a.name === "style" ? a.value.split(";").map((d) => d.split(":").map((x) => x.trim()).join(":")).filter(Boolean).sort().join(";") : a.value;
      return `${a.name}=${JSON.stringify(v)}`;
    }).sort();
    return `<${e.tagName.toLowerCase()} ${attrs.join(" ")}>${[...e.childNodes].map(walk).join("")}</>`;
  };
  return [...t.content.childNodes].map(walk).join("");
}

/** f's figure in both DOMs, normalized: [ours, jsdom's]. */
function both(f: (d: Document) => { outerHTML: string }): [string, string] {
  return [normalize(f(createDocument()).outerHTML), normalize(f(jsdomDocument()).outerHTML)];
}

describe("figure DOM: every figure of the book is the tree jsdom builds", () => {
  const k = udpReaderTimeline();
  const rows = sweepSerial(grid({ model: ["blocking", "epoll"], conns: [1, 10, 100] }, { proto: "udp", msgs: 300, rate: 20_000, pattern: "burst", burst: 16 }));
  const byLoad = sweepSerial(grid({ model: ["blocking", "epoll"], rate: [2_000, 50_000] }, { proto: "udp", conns: 20, msgs: 300 }));
  const probeRows: ProbeComparisonRow[] = ["sparse", "burst"].flatMap((regime) => ["udp", "tcp"].flatMap((proto) => [1, 100].map((conns) => ({
    mode: conns === 1 ? "blocking" as const : "epoll" as const, proto: proto as "udp" | "tcp", conns, regime,
    kernelVcswPerMsg: 1, modelVcswPerMsg: 0.9, kernelCswPerMsg: 1, modelCswPerMsg: 0.9,
    kernelP50Us: 30, modelP50Us: 6, kernelP99Us: 80, modelP99Us: 7, kernelMsgs: 10, modelMsgs: 10,
    kernelP50Ns: 30_000, modelP50Ns: 6_000, kernelP99Ns: 80_000, modelP99Ns: 7_000, modelDropped: 0, kernelSenderNivcsw: 0,
    vcswAgree: true, p50Agree: false, agree: false,
  }))));
  const figures: [string, (d: Document) => { outerHTML: string }][] = [
    ["timeline (§3.3.2)", (d) => plotTimeline(k, { document: d, from: 15_000, to: 45_000 })],
    ["timeline with a title to escape", (d) => plotTimeline(k, { document: d, title: `a <b> & "c"\u00a0d` })],
    ["switches vs connections (§3.5)", (d) => plotSwitchesVsConns(rows, { document: d })],
    ["latency vs load (§3.5)", (d) => plotLatencyVsLoad(byLoad, { document: d })],
    ["CPU breakdown (§3.5)", (d) => plotCpuBreakdown(byLoad, { document: d, title: "CPU" })],
    ["probe switches, facets and two legends (§3.6)", (d) => plotProbeSwitches(probeRows, { document: d })],
    ["probe latency (§3.6)", (d) => plotProbeLatency(probeRows, { document: d })],
  ];
  for (const [name, f] of figures) {
    it(name, () => {
      const [ours, theirs] = both(f);
      expect(ours.length).toBeGreaterThan(1000);
      expect(ours).toBe(theirs);
    });
  }

  it("other marks and options: text to escape, facets, a style string and object, caption", () => {
    const Plot = plotLib();
    const data = Array.from({ length: 24 }, (_, i) => ({ x: i, y: Math.sin(i / 3), c: i % 3 ? "a" : "b", s: `v<${i}>&"` }));
    const plots: ((d: Document) => { outerHTML: string })[] = [
      (d) => Plot.plot({ document: d, grid: true, color: { legend: true }, style: { fontSize: "12px" }, caption: "cap & <i>",
        marks: [Plot.areaY(data, { x: "x", y: "y", fillOpacity: 0.2 }), Plot.lineY(data, { x: "x", y: "y", stroke: "c" }),
          Plot.text(data, { x: "x", y: "y", text: "s" }), Plot.tickX(data, { x: "x" }), Plot.frame()] }),
      (d) => Plot.plot({ document: d, style: "color: red; background: white", marks: [Plot.barY(data, { x: "c", y: "y", title: "s" })] }),
      (d) => Plot.plot({ document: d, facet: { data, x: "c" }, symbol: { legend: true }, marks: [Plot.dot(data, { x: "x", y: "y", symbol: "c" }), Plot.axisX({ ticks: 3 })] }),
    ];
    for (const f of plots) {
      const [ours, theirs] = both(f);
      expect(ours).toBe(theirs);
    }
  });
});
