import { describe, expect, it } from "vitest";
import { redisVsThreads } from "kernel-model";

describe("redisVsThreads (§3.1 question 5)", () => {
  it("flat out, one aeMain thread serves more requests per second than a thread per connection, and barely switches", () => {
    const [ae, th] = redisVsThreads({ conns: 500, requests: 3_000 });
    expect(ae.server).toBe("aeMain");
    expect(th.server).toBe("thread-per-connection");
    expect(ae.summary.delivered).toBe(3_000);
    expect(th.summary.delivered).toBe(3_000);
    expect(ae.qps).toBeGreaterThan(th.qps * 1.1);
    expect(ae.switchesPerRequest).toBeLessThan(0.05);
    expect(th.switchesPerRequest).toBeGreaterThan(0.2);
    // the difference is kernel (sys) time: switches and sleeps, not the command's own work
    expect(ae.sysNsPerRequest).toBeLessThan(th.sysNsPerRequest);
    // one CPU: a server cannot serve faster than its CPU time per request allows
    for (const r of [ae, th]) expect(r.qps).toBeLessThanOrEqual(Math.ceil(1e9 / r.cpuNsPerRequest) * 1.01);
  });
  it("at a light load both block once per request: epoll blocks too when there is nothing to do", () => {
    const [ae, th] = redisVsThreads({ conns: 100, requests: 500, rate: 1_000 });
    expect(ae.switchesPerRequest).toBeGreaterThan(0.9);
    expect(th.switchesPerRequest).toBeGreaterThan(0.9);
  });
  it("names a bad parameter and its range", () => {
    expect(() => redisVsThreads({ conns: 0 })).toThrow(/conns must be an integer in \[1, 100000\], got 0/);
    expect(() => redisVsThreads({ rate: -1 })).toThrow(/rate must be/);
  });
});
