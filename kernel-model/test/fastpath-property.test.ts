// Property test: the model's fast mechanics change no result. Over random server
// configurations (blocking/epoll/poll, remote or loopback sender, TCP/UDP, 1-4 CPUs, arrival patterns, epoll threads, ET/LT,
// message sizes, seeds) a run with tracing on, a run with tracing off, and a run where every
// CPU burn is yielded to cpuRun instead of being paid in place (setPayInPlace(false)) must give
// the same statistics: every field of the summary but wall time, the events fired, the clock.
import { afterEach, describe, expect, it } from "vitest";
import fc from "fast-check";
import { runServer, setPayInPlace, type ServerOptions } from "kernel-model";

const config: fc.Arbitrary<ServerOptions> = fc.record({
  model: fc.constantFrom("blocking" as const, "epoll" as const, "poll" as const),
  sender: fc.constantFrom("remote" as const, "loopback" as const),
  proto: fc.constantFrom("tcp" as const, "udp" as const),
  cpus: fc.integer({ min: 1, max: 4 }),
  conns: fc.integer({ min: 1, max: 24 }),
  msgs: fc.integer({ min: 20, max: 300 }),
  rate: fc.constantFrom(5_000, 50_000, 300_000, 2_000_000),
  pattern: fc.constantFrom("fixed" as const, "poisson" as const, "burst" as const),
  burst: fc.integer({ min: 2, max: 64 }),
  msgSize: fc.constantFrom(1, 64, 1448, 3000),
  work: fc.constantFrom(0, 1_000, 20_000),
  epollThreads: fc.integer({ min: 1, max: 3 }),
  et: fc.boolean(),
  seed: fc.integer({ min: 1, max: 1_000_000 }),
});

/** Everything a run measures, wall time excepted. */
function stats(o: ServerOptions) {
  const r = runServer(o);
  const { wallMs, ...summary } = r.summary;
  void wallMs;
  return { summary, syscallsPerMsg: r.syscallsPerMsg, events: r.kernel.engine.events, now: r.kernel.now, stats: { ...r.kernel.stats, runqLatency: r.kernel.stats.runqLatency.length, e2eLatency: r.kernel.stats.e2eLatency.length } };
}

describe("fast paths agree with the traced path", () => {
  afterEach(() => setPayInPlace(true));

  it("tracing on, tracing off, and burns yielded to cpuRun give identical statistics", () => {
    fc.assert(
      fc.property(config, (o) => {
        const off = stats({ ...o, trace: false });
        const on = stats({ ...o, trace: true });
        setPayInPlace(false);
        const yielded = stats({ ...o, trace: false });
        setPayInPlace(true);
        expect(on).toEqual(off);
        expect(yielded).toEqual(off);
        expect(off.summary.delivered).toBeGreaterThan(0);
      }),
      { numRuns: 40, seed: 20261201 },
    );
  });
});
