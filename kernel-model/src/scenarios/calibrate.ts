// calibrate.ts: costs measured on a real kernel (npm run probe) instead of the book's numbers.
// No Linux file. Book: §3.5 ("每一次切换大约花费3~5微秒"), and the "Your kernel" section.
//
// Interface:
// * costsFromProbe(json) -> {costs, source}: ctxSwitch from the pinned two-thread pipe
//   ping-pong minus the pipe's own write+read (ctx_switch_net_ns, else ctx_switch_ns),
//   syscall from getppid() (syscall_ns), wakeup from the same-CPU wakeup latency minus one
//   context switch and one syscall (the part try_to_wake_up adds), at least 100 ns;
//   ipi from the wakeup of a thread on the other, busy CPU minus the same-CPU wakeup (p50s):
//   what reaching another CPU adds (at most the idle-target wakeup minus the same-CPU one);
//   idleExit from the other CPU idle minus busy: what leaving the idle state adds. A probe file without the busy measurement (probe_version 1) has only
//   their sum (other CPU idle minus same CPU): it all goes to ipi, idleExit is 0, and the
//   source says so. Both at least 0.
//   Throws a RangeError naming the field when the JSON is not a probe result.
// * readCalibration(path) -> ProbeCalibration & {file}: the same from a file (the CLI's
//   --calibrate), with a one-line error naming the file.
// * The other costs keep their defaults (costs.ts): the probe cannot see them on loopback.

import { readFileSync } from "node:fs";
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
  const crossIdle = num((c.wakeup_ns as { p50?: unknown } | undefined)?.p50, "calib.wakeup_ns.p50");
  const busyField = c.wakeup_cross_busy_ns as { p50?: unknown } | undefined;
  const crossBusy = busyField === undefined ? null : num(busyField.p50, "calib.wakeup_cross_busy_ns.p50");
  // the IPI part cannot exceed the whole wakeup to the idle CPU (a loaded machine can make the
  // busy-target wakeup wait behind other processes' tasks there)
  const ipi = Math.max(0, Math.round(Math.min(crossBusy ?? crossIdle, crossIdle) - same));
  const idleExit = crossBusy === null ? 0 : Math.max(0, Math.round(crossIdle - crossBusy));
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;
  return {
    costs: { ctxSwitch: ctx, syscall, wakeup, ipi, idleExit },
    source: {
      ipi: crossBusy === null
        ? `other CPU (idle) wakeup p50 ${us(crossIdle)} minus same-CPU ${us(same)}: ${ipi} ns; this probe file has no busy-target measurement, so idle exit is included (default ${DEFAULT_COSTS.ipi})`
        : `other CPU (busy) wakeup p50 ${us(crossBusy)} minus same-CPU ${us(same)}: ${ipi} ns (default ${DEFAULT_COSTS.ipi})`,
      idleExit: crossBusy === null
        ? `not measured by this probe file (counted in ipi): 0 ns (default ${DEFAULT_COSTS.idleExit})`
        : `other CPU idle ${us(crossIdle)} minus busy ${us(crossBusy)}: ${idleExit} ns (default ${DEFAULT_COSTS.idleExit})`,
      ctxSwitch: `pipe ping-pong, two threads on one CPU, minus the pipe's write+read: ${ctx} ns (book default ${DEFAULT_COSTS.ctxSwitch})`,
      syscall: `getppid() loop: ${syscall} ns (book default ${DEFAULT_COSTS.syscall})`,
      wakeup: `same-CPU wakeup p50 ${Math.round(same)} ns minus one switch and one syscall: ${wakeup} ns (default ${DEFAULT_COSTS.wakeup})`,
    },
    kernel: j.kernel?.release ?? "unknown",
    cpus: j.cpus?.count ?? 0,
    date: j.date ?? "",
  };
}

/** costsFromProbe of a file; errors name the file (for --calibrate and --probe). */
export function readCalibration(file: string): ProbeCalibration & { file: string } {
  return { ...costsFromProbe(readProbeFile(file)), file };
}

/** A probe result read from disk, or a RangeError naming the file and what is wrong. */
export function readProbeFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new RangeError(`${file}: cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new RangeError(`${file}: not JSON (a file written by npm run probe)`);
  }
  try {
    costsFromProbe(json);
  } catch (e) {
    throw new RangeError(`${file}: ${(e as Error).message}`);
  }
  return json;
}
