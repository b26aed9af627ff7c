import { describe, expect, it } from "vitest";
import { udpReaderTimeline } from "./helpers";
import {
  percentiles, log2Histogram, log2Buckets, foldedStacks, Kernel, udpSend, AF_INET, SOCK_DGRAM, plotTimeline, createDocument,
  sweepSerial, grid, plotSwitchesVsConns, plotLatencyVsLoad, plotCpuBreakdown,
} from "kernel-model";

describe("metrics in the real tools' formats", () => {
  it("percentiles are nearest-rank", () => {
    expect(percentiles([5, 1, 2, 3, 4, 100])).toEqual({ p50: 3, p90: 100, p99: 100, max: 100 });
    expect(percentiles([])).toEqual({ p50: 0, p90: 0, p99: 0, max: 0 });
  });

  it("log2 histogram: bcc's buckets and layout", () => {
    expect(log2Buckets([0, 1, 2, 3, 4, 7, 8, 1000])).toEqual([1, 1, 2, 2, 1, 0, 0, 0, 0, 0, 1]);
    const h = log2Histogram([1, 2, 3, 3, 5], "usecs").split("\n");
    expect(h[0]).toBe("     usecs               : count     distribution");
    expect(h[1]).toBe("         0 -> 1          : 1        |*************                           |");
    expect(h[2]).toBe("         2 -> 3          : 3        |****************************************|");
    expect(h[3]).toBe("         4 -> 7          : 1        |*************                           |");
  });

  it("folded stacks: the waker chain of a UDP wakeup, in flamegraph.pl format", () => {
    const k = new Kernel({ trace: true });
    k.spawn("r", function* (sys) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
      yield* sys.bind(fd, 53);
      for (;;) yield* sys.recv(fd, 100);
    });
    for (let i = 0; i < 3; i++) udpSend(k, { dport: 53, bytes: 10, at: 1_000_000 * (i + 1) });
    k.run(5_000_000);
    const folded = foldedStacks(k.tr!.wakeStacks);
    expect(folded).toMatch(/^do_IRQ;exiting_irq;irq_exit;.*;net_rx_action;.*;pt_prev->func;ip_rcv;.*;udp_rcv;.*;sock_def_readable;__wake_up_sync_key;__wake_up_common;receiver_wake_function;autoremove_wake_function;default_wake_function;try_to_wake_up 3$/);
  });
});

describe("figures", () => {
  it("per-CPU timeline: the IRQ, the softirq, the wakeup arrow and the reader (SVG snapshot)", async () => {
    const k = udpReaderTimeline();
    const fig = plotTimeline(k, { document: createDocument(), from: 15_000, to: 45_000 });
    const html = fig.outerHTML;
    expect(html).toContain("hard IRQ");
    expect(html).toContain("softirq (irq_exit)");
    expect(html).toContain("wake up reader");
    await expect(html.replace(/(\d+\.\d{2})\d+/g, "$1")).toMatchFileSnapshot("output/timeline-udp-wakeup.html");
  });
});

describe("§3.5 figures (SVG snapshots)", () => {
  // a small, fixed sweep: the figures must show both servers with labelled axes
  const rows = sweepSerial(grid({ model: ["blocking", "epoll"], conns: [1, 10, 100] }, { proto: "udp", msgs: 300, rate: 20_000, pattern: "burst", burst: 16 }));
  const byLoad = sweepSerial(grid({ model: ["blocking", "epoll"], rate: [2_000, 50_000] }, { proto: "udp", conns: 20, msgs: 300 }));
  const round = (html: string) => html.replace(/(\d+\.\d{2})\d+/g, "$1");

  it("switches per message vs connections", async () => {
    const html = plotSwitchesVsConns(rows, { document: createDocument() }).outerHTML;
    expect(html).toContain("voluntary context switches per message");
    expect(html).toContain("connections");
    await expect(round(html)).toMatchFileSnapshot("output/switches-vs-conns.html");
  });

  it("latency vs load", async () => {
    const html = plotLatencyVsLoad(byLoad, { document: createDocument() }).outerHTML;
    expect(html).toContain("end-to-end latency (µs)");
    await expect(round(html)).toMatchFileSnapshot("output/latency-vs-load.html");
  });

  it("CPU breakdown", async () => {
    const html = plotCpuBreakdown(byLoad, { document: createDocument() }).outerHTML;
    expect(html).toContain("CPU time (%)");
    for (const kind of ["user", "sys", "softirq", "irq", "idle"]) expect(html).toContain(kind);
    await expect(round(html)).toMatchFileSnapshot("output/cpu-breakdown.html");
  });
});

import { claim, ClaimError } from "kernel-model";
describe("claim", () => {
  it("returns the checked statement; strict (the book build) throws naming it when the data does not support it", () => {
    expect(claim(2 > 1, "two is more", true)).toBe("✓ two is more");
    expect(() => claim(false, "epoll switches less", true)).toThrow(ClaimError);
    expect(() => claim(false, "epoll switches less", true)).toThrow("claim failed: epoll switches less");
  });
  it("in a reader's notebook a claim that no longer holds is marked, not thrown", () => {
    expect(claim(false, "epoll switches less", false)).toBe("✗ epoll switches less (not with these parameters)");
  });
});

import { checkParams, ParamError, runServer } from "kernel-model";
describe("checkParams and runServer's checks (a bad parameter gets one line naming it and its range)", () => {
  it("names the parameter, its range and the value", () => {
    expect(() => checkParams({ BURST: [0, { min: 1, max: 2000, integer: true }] })).toThrow("BURST must be an integer in [1, 2000], got 0");
    expect(() => checkParams({ BURST: [2.5, { min: 1, integer: true }] })).toThrow("BURST must be an integer >= 1, got 2.5");
    expect(() => checkParams({ PROTO: ["sctp", { oneOf: ["tcp", "udp"] }] })).toThrow('PROTO must be one of "tcp", "udp", got "sctp"');
    expect(() => checkParams({ MESSAGES: [0, { min: 1, integer: true }] })).toThrow(ParamError);
    expect(() => checkParams({ MESSAGES: [20, { min: 1, integer: true }], PROTO: ["udp", { oneOf: ["tcp", "udp"] }] })).not.toThrow();
  });
  it("runServer rejects a burst that is not a positive integer, and a rate that is not positive", () => {
    expect(() => runServer({ model: "epoll", conns: 2, msgs: 10, pattern: "burst", burst: 0 })).toThrow(/burst must be an integer >= 1, got 0/);
    expect(() => runServer({ model: "epoll", conns: 2, msgs: 10, pattern: "burst", burst: 2.5 })).toThrow(/burst must be an integer >= 1, got 2.5/);
    expect(() => runServer({ model: "epoll", conns: 2, msgs: 10, rate: 0 })).toThrow(/rate must be/);
  });
});

import { sweepProgress } from "kernel-model";
describe("sweepProgress", () => {
  it("says nothing for a sweep done within a second, and estimates the time left for a long one", () => {
    const quiet: string[] = [];
    const p = sweepProgress("s", (x) => void quiet.push(x));
    p(1, 2);
    p(2, 2);
    expect(quiet).toEqual([]);
    const out: string[] = [];
    const now = Date.now;
    let t = now();
    Date.now = () => t;
    try {
      const q = sweepProgress("s", (x) => void out.push(x));
      t += 2_000;
      q(1, 4); // 2 s for one run: about 6 s left
      t += 2_000;
      q(4, 4);
    } finally {
      Date.now = now;
    }
    expect(out[0]).toBe("\rprogress: s 1/4 runs, 2.0 s, about 6 s left ");
    expect(out[1]).toBe("\rprogress: s 4/4 runs, 4.0 s done\n");
  });
});
