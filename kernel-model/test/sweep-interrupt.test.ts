import { describe, expect, it, vi } from "vitest";
import { sweep, grid, OVERLOAD_RATE } from "kernel-model";

describe("sweep: interrupt and overload", () => {
  it("a SIGINT (Jupyter's interrupt) stops the workers and rejects, leaving no SIGINT handler behind", async () => {
    const host = () => {}; // tslab's own SIGINT handler stands in: the process must not be killed
    process.on("SIGINT", host);
    try {
      const before = process.listenerCount("SIGINT");
      const jobs = grid({ conns: [100, 200, 300, 400] }, { model: "blocking", msgs: 200_000, rate: 100_000 });
      const p = sweep(jobs, { workers: 2 });
      expect(process.listenerCount("SIGINT")).toBe(before + 1);
      const t0 = Date.now();
      setTimeout(() => process.emit("SIGINT"), 300);
      await expect(p).rejects.toThrow(/sweep interrupted: 2 worker\(s\) stopped/);
      expect(Date.now() - t0).toBeLessThan(5_000); // the runs would take far longer
      expect(process.listenerCount("SIGINT")).toBe(before);
    } finally {
      process.removeListener("SIGINT", host);
    }
  });
  it("warns once, on stderr, when runs offer far more than the model's CPUs serve", async () => {
    const err = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    try {
      await sweep(grid({ rate: [1_000, OVERLOAD_RATE * 2] }, { model: "epoll", conns: 2, msgs: 20 }), { parallel: false });
      await sweep(grid({ rate: [1_000, 2_000] }, { model: "epoll", conns: 2, msgs: 20 }), { parallel: false });
      const lines = err.mock.calls.map((c) => String(c[0])).filter((l) => l.startsWith("sweep: warning"));
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(`1 of 2 runs offer more than ${OVERLOAD_RATE} messages/s per CPU`);
    } finally {
      err.mockRestore();
    }
  });
});
