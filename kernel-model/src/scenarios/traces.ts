// traces.ts: the named call traces of the chapter (`npx kernel-model trace <name>`).
// No Linux file. Book: the seed's two traces (§3.2 socket, §3.3 read) and one per section.
//
// Interface:
// * TRACES: name -> {title, section, run()}; run() boots a fresh traced Kernel, plays the
//   scenario and returns the call-tree roots that matter for that section.
// * traceNames(), runTrace(name) -> {title, roots}.
//
// Every trace is a real run of the model: nothing here is written out by hand.

import { Kernel } from "../kernel/kernel";
import type { TraceNode } from "../sim/trace";
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from "../kernel/socket";

export interface TraceSpec {
  title: string;
  section: string;
  run: () => TraceNode[];
}

/** Roots whose text starts with one of the prefixes (a syscall, an irq). */
function pick(k: Kernel, ...prefixes: string[]): TraceNode[] {
  return k.tr!.roots.filter((r) => prefixes.some((p) => r.text.startsWith(p)));
}

function socketTrace(type: number, comment: string): TraceNode[] {
  const k = new Kernel({ trace: true });
  k.spawn("app", function* (sys) {
    yield* sys.socket(AF_INET, type, 0);
  });
  k.runUntilIdle();
  const roots = pick(k, "socket(");
  roots[0].comment = comment;
  return roots;
}

export const TRACES: Record<string, TraceSpec> = {
  "socket-tcp": {
    title: "socket(AF_INET, SOCK_STREAM, 0): struct socket, struct sock, tcp_prot, the fd",
    section: "3.2",
    run: () => socketTrace(SOCK_STREAM, "创建TCP的socket"),
  },
  "socket-udp": {
    title: "socket(AF_INET, SOCK_DGRAM, 0): the seed's trace",
    section: "3.2",
    run: () => socketTrace(SOCK_DGRAM, "创建UDP的socket"),
  },
};

export function traceNames(): string[] {
  return Object.keys(TRACES);
}

export function runTrace(name: string): { title: string; roots: TraceNode[] } {
  const spec = TRACES[name];
  if (!spec) throw new RangeError(`unknown trace "${name}" (known: ${traceNames().join(", ")})`);
  return { title: spec.title, roots: spec.run() };
}
