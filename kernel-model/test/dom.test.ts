// The figure DOM (plot/dom.ts) against jsdom, the DOM the book drew its figures with before:
// the same calls must give the same outerHTML, byte for byte.
import { describe, expect, it } from "vitest";
import { JSDOM } from "jsdom";
import {
  Kernel, udpSend, AF_INET, SOCK_DGRAM, createDocument, plotTimeline, sweepSerial, grid,
  plotSwitchesVsConns, plotLatencyVsLoad, plotCpuBreakdown, plotProbeSwitches, plotProbeLatency, type ProbeComparisonRow,
} from "kernel-model";
import { plotLib } from "kernel-model/dist/plot/plot-lib";

const jsdomDocument = () => new JSDOM("<!DOCTYPE html><body></body>").window.document;

/** f's figure in both DOMs: [ours, jsdom's]. */
function both(f: (d: Document) => { outerHTML: string }): [string, string] {
  return [f(createDocument()).outerHTML, f(jsdomDocument()).outerHTML];
}

describe("figure DOM: every figure of the book serializes as in jsdom", () => {
  const k = new Kernel({ timeline: true });
  k.spawn("reader", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    yield* sys.bind(fd, 53);
    for (;;) {
      yield* sys.recv(fd, 1500);
      yield* sys.compute(5_000);
    }
  });
  udpSend(k, { dport: 53, bytes: 64, at: 20_000 });
  k.run(50_000);
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

describe("figure DOM: the DOM calls, as jsdom answers them", () => {
  const SVG = "http://www.w3.org/2000/svg";
  const XLINK = "http://www.w3.org/1999/xlink";
  it("attributes keep the place they were first set in; names of HTML elements go to lower case", () => {
    const [ours, theirs] = both((d) => {
      const div = d.createElement("DIV");
      div.setAttribute("B", "1");
      div.setAttribute("a", "2");
      div.setAttribute("b", "3"); // the same attribute: keeps its place
      div.setAttribute("c", "4");
      div.removeAttribute("a");
      const svg = d.createElementNS(SVG, "svg");
      svg.setAttribute("viewBox", "0 0 1 1"); // case kept outside HTML
      svg.setAttributeNS(XLINK, "xlink:href", "#x");
      div.append(svg, "text", d.createElementNS(SVG, "g"));
      return div;
    });
    expect(ours).toBe(theirs);
    expect(ours).toBe('<div b="3" c="4"><svg viewBox="0 0 1 1" xlink:href="#x"></svg>text<g></g></div>');
  });

  it("escaping: attributes and text; the text of an HTML <style> is raw, of an SVG <style> not", () => {
    const [ours, theirs] = both((d) => {
      const p = d.createElement("p");
      p.setAttribute("title", `<&"'\u00a0>`);
      p.append(`<&"'\u00a0>`);
      const style = p.appendChild(d.createElement("style"));
      style.textContent = "a > b { content: '&' }";
      const svgStyle = p.appendChild(d.createElementNS(SVG, "style"));
      svgStyle.textContent = "a > b";
      p.appendChild(d.createElement("br"));
      p.appendChild(d.createElementNS(SVG, "br"));
      return p;
    });
    expect(ours).toBe(theirs);
    expect(ours).toContain('title="&lt;&amp;&quot;\'&nbsp;&gt;"');
    expect(ours).toContain("<style>a > b { content: '&' }</style><style>a &gt; b</style><br><br></br>");
  });

  it("inline style: written back as name: value;, in order; removing what is not there adds nothing", () => {
    const [ours, theirs] = both((d) => {
      const fig = d.createElement("figure");
      fig.className = "f";
      fig.style.removeProperty("width"); // d3's .style("width", null): no style attribute
      const a = d.createElement("div");
      a.style.maxWidth = "initial";
      a.style.setProperty("margin-left", "3px");
      a.style.setProperty("color", "red", "important");
      a.style.removeProperty("margin-left");
      fig.append(a);
      return fig;
    });
    expect(ours).toBe(theirs);
    expect(ours).toBe('<figure class="f"><div style="max-width: initial; color: red !important;"></div></figure>');
  });

  it("tree: insertBefore moves a node; textContent replaces the children; querySelector('*') is the first in document order", () => {
    const ops = (d: Document) => {
      const g = d.createElementNS(SVG, "g");
      const [a, b, c] = ["a", "b", "c"].map((n) => g.appendChild(d.createElementNS(SVG, n)));
      b.appendChild(d.createElementNS(SVG, "inner"));
      g.insertBefore(c, a); // moved, not copied
      a.textContent = "x";
      a.textContent = "y";
      return { g, first: g.querySelector("*")!.tagName, inner: g.querySelector("inner") === b.firstChild, n: g.childNodes.length, text: g.textContent };
    };
    const ours = ops(createDocument());
    const theirs = ops(jsdomDocument());
    expect(ours.g.outerHTML).toBe(theirs.g.outerHTML);
    expect(ours.g.outerHTML).toBe("<g><c></c><a>y</a><b><inner></inner></b></g>");
    expect([ours.first, ours.inner, ours.n, ours.text]).toEqual([theirs.first, theirs.inner, theirs.n, theirs.text]);
  });

  it("says what it does not do: parsing, complex selectors, a canvas", () => {
    const d = createDocument();
    const div = d.createElement("div");
    expect(() => (div.innerHTML = "<b>x</b>")).toThrow(/does not parse HTML/);
    expect(() => div.querySelector("div > b")).toThrow(/only simple selectors/);
    expect(() => (d.createElement("canvas") as HTMLCanvasElement).getContext("2d")).toThrow(/no canvas/);
  });
});
