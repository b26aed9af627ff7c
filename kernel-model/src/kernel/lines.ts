// lines.ts: where each modelled kernel function is in Linux 4.6.2, and where it is called from.
// Source: lines.generated.ts, written by `npm run lines` (scripts/gen-lines.mjs) from the pristine
// 4.6.2 files in ../shared/linux-4.6.2; a test checks the committed table against the source.
//
// Interface:
// * SOURCE: the Tracer's table (functions: file, definition, body, first statement, params;
//   calls: the lines where each traced caller calls each callee).
// * LINES: name -> "path/file.c:line" of its definition (the line that names it; SYSCALL_DEFINEn
//   for syscalls, #define for macros), for readers who want the definition rather than the
//   line a trace was executing.

import type { SourceTable } from "../sim/trace";
import { CALLS, FUNCS } from "./lines.generated";

export const SOURCE: SourceTable = { funcs: FUNCS, calls: CALLS };

/** Definition site of each modelled kernel function in Linux 4.6.2, "path/file.c:line". */
export const LINES: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(FUNCS).map(([name, f]) => [name, `${f[0]}:${f[1]}`]),
);
