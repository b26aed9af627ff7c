// calibrate.ts: costs measured on a real kernel (npm run probe) instead of the book's numbers.
// No Linux file. Book: §3.5 ("每一次切换大约花费3~5微秒"), and the "Your kernel" section.
//
// Interface:
// * costsFromProbe(json) -> {costs, source}: ctxSwitch from the pinned two-thread pipe
//   ping-pong minus the pipe's own write+read (ctx_switch_net_ns, else ctx_switch_ns),
//   syscall from getppid() (syscall_ns), wakeup from the same-CPU wakeup latency minus one
//   context switch and one syscall (the part try_to_wake_up adds), at least 100 ns.
//   Throws a RangeError naming the field when the JSON is not a probe result.
// * The other costs keep their defaults (costs.ts): the probe cannot see them on loopback.

import { DEFAULT_COSTS, type Costs } from "../kernel/costs";

export interface ProbeCalibration {
  costs: Partial<Costs>;
  /** What each cost came from, for a table in the book. */
  source: Record<string, string>;
  kernel: string;
  cpus: number;
  date: string;
}

function num(x: unknown, field: string): number {
  if (typeof x !== "number" || !Number.isFinite(x) || x <= 0) throw new RangeError(`probe result: ${field} must be a positive number, got ${JSON.stringify(x)}`);
  return x;
}

export function costsFromProbe(json: unknown): ProbeCalibration {
  const j = json as { schema?: number; calib?: Record<string, unknown>; kernel?: { release?: string }; cpus?: { count?: number }; date?: string };
  if (!j || typeof j !== "object" || j.schema !== 1) throw new RangeError("probe result: schema must be 1 (a file written by npm run probe)");
  const c = j.calib;
  if (!c || typeof c !== "object") throw new RangeError("probe result: calib is missing");
  const ctx = Math.round(num(c.ctx_switch_net_ns ?? c.ctx_switch_ns, "calib.ctx_switch_net_ns"));
  const syscall = Math.round(num(c.syscall_ns, "calib.syscall_ns"));
  const same = num((c.wakeup_same_cpu_ns as { p50?: unknown } | undefined)?.p50, "calib.wakeup_same_cpu_ns.p50");
  const wakeup = Math.max(100, Math.round(same - ctx - syscall));
  return {
    costs: { ctxSwitch: ctx, syscall, wakeup },
    source: {
      ctxSwitch: `pipe ping-pong, two threads on one CPU, minus the pipe's write+read: ${ctx} ns (book default ${DEFAULT_COSTS.ctxSwitch})`,
      syscall: `getppid() loop: ${syscall} ns (book default ${DEFAULT_COSTS.syscall})`,
      wakeup: `same-CPU wakeup p50 ${Math.round(same)} ns minus one switch and one syscall: ${wakeup} ns (default ${DEFAULT_COSTS.wakeup})`,
    },
    kernel: j.kernel?.release ?? "unknown",
    cpus: j.cpus?.count ?? 0,
    date: j.date ?? "",
  };
}
