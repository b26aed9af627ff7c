#!/usr/bin/env node
// gen-lines.mjs: derive the model's file:line table from the Linux 4.6.2 source.
// No Linux file: reads ../shared/linux-4.6.2 (resolved from the repository root) and the built
// model (dist/), writes src/kernel/lines.generated.ts.
//
// Usage: npm run lines [-- --check]   (after npm run build)
//   --check: write nothing; exit 1 when the committed table differs from the source's.
//
// Interface (for the test): generate(repoRoot) -> {text, funcs, calls, unresolved}.
// * funcs: every kernel function the model names (a string literal of kernel-model/src that is
//   a function or function-like macro of the 4.6.2 files, plus every fn of the named traces):
//   its file, definition line, body braces, first statement (where gdb's `break fn` stops:
//   declarations skipped), gdb-style parameters and kind (function / inline / macro).
// * calls: for every (enclosing function, needle) a named trace places (Tracer.collect), the
//   lines of the enclosing function's body where the needle stands (whitespace ignored).
// * unresolved: traced (function, needle) pairs not found in the body: each is a trace line
//   that would print no location.

import { readFileSync, readdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { codeLines, indexSource, sourceRoot } from "./c-source.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const OUT = join(here, "..", "src", "kernel", "lines.generated.ts");

/** Where a name has several definitions (#ifdef variants, header stubs), the one 4.6.2 builds
 *  for x86-64 with the distribution config the model assumes. */
const PREFER = {
  // include/linux/wait.h also has a `schedule` token inside macros; kernel/sched/core.c is the function
  schedule: "kernel/sched/core.c",
};

/** Where one file defines a name twice under #ifdef: which definition (0-based) the config
 *  builds. set_current_state: the #else of CONFIG_DEBUG_ATOMIC_SLEEP (a debug option,
 *  off in distribution kernels). NF_HOOK keeps the first (CONFIG_NETFILTER=y). */
const PICK = { set_current_state: 1, __set_current_state: 1 };

/** Functions whose first executed line is not their first statement in the seed's gdb session:
 *  with -O2, inet_create's `protocol` range check is merged into the later lookup loop, and the
 *  book's breakpoint stops at `sock->state = SS_UNCONNECTED;` (the seed: af_inet.c:263). */
const ENTRY_AT = {
  inet_create: "sock->state = SS_UNCONNECTED;",
};

const squash = (s) => s.replace(/\s+/g, "");

export function generate(repoRoot) {
  const root = sourceRoot(repoRoot);
  if (!root) throw new Error(`gen-lines: no linux-4.6.2 source beside ${repoRoot} (../shared/linux-4.6.2)`);
  const index = indexSource(root);
  const files = new Map();
  const code = (file) => {
    if (!files.has(file)) files.set(file, codeLines(readFileSync(join(root, file), "utf8")).map(squash));
    return files.get(file);
  };
  const require = createRequire(import.meta.url);
  const dist = join(here, "..", "dist");
  const { Tracer, walkTrace } = require(join(dist, "sim", "trace.js"));
  const { runTrace, traceNames } = require(join(dist, "scenarios", "traces.js"));

  // every kernel name the model's source spells as a string literal
  const names = new Set();
  const srcDir = join(here, "..", "src");
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(".ts") && !e.name.endsWith(".generated.ts")) {
        for (const m of readFileSync(p, "utf8").matchAll(/"([A-Za-z_]\w{3,})"/g)) if (index.has(m[1])) names.add(m[1]);
      }
    }
  };
  walk(srcDir);
  const edges = new Map(); // frame -> Set(needle)
  const alternatives = new Map(); // frame -> [[needle, ...]]: one of each must stand in the body
  Tracer.collect = (frame, needle) => {
    if (!frame || needle.startsWith("...")) return; // "... back on cpu0": the model's note, no source line
    if (!edges.has(frame)) (edges.set(frame, new Set()), alternatives.set(frame, new Map()));
    for (const n of needle.split("|")) edges.get(frame).add(n);
    alternatives.get(frame).set(needle, needle.split("|"));
  };
  try {
    for (const t of traceNames()) for (const n of walkTrace(runTrace(t).roots)) if (n.fn && index.has(n.fn)) names.add(n.fn);
  } finally {
    Tracer.collect = null;
  }
  for (const f of edges.keys()) if (index.has(f)) names.add(f);
  // a line that calls a 4.6.2 function by name is that function's frame (Tracer.add): list it
  for (const set of edges.values()) for (const n of set) if (/^[A-Za-z_]\w*\($/.test(n) && index.has(n.slice(0, -1))) names.add(n.slice(0, -1));

  const funcs = {};
  for (const name of [...names].sort()) {
    const defs = index.get(name);
    const d = PICK[name] !== undefined ? defs[PICK[name]]
      : defs.find((x) => x.file === PREFER[name]) ?? defs.find((x) => !x.macro && x.file.endsWith(".c")) ?? defs.find((x) => !x.macro) ?? defs[0];
    let entry = d.entry;
    if (ENTRY_AT[name]) {
      const lines = code(d.file);
      const i = lines.findIndex((l, j) => j + 1 >= d.open && j + 1 <= d.close && l.includes(squash(ENTRY_AT[name])));
      if (i < 0) throw new Error(`gen-lines: ENTRY_AT ${name}: "${ENTRY_AT[name]}" not in its body`);
      entry = i + 1;
    }
    funcs[name] = [d.file, d.def, d.open, d.close, entry, d.params, d.macro ? 2 : d.inline ? 1 : 0];
  }
  const calls = {};
  const unresolved = [];
  for (const frame of [...edges.keys()].sort()) {
    const f = funcs[frame];
    if (!f) {
      for (const n of edges.get(frame)) unresolved.push(`${frame}: ${n} (no such function in linux-4.6.2)`);
      continue;
    }
    const lines = code(f[0]);
    const per = {};
    for (const needle of [...edges.get(frame)].sort()) {
      const at = [];
      for (let l = f[2]; l <= f[3]; l++) {
        // a macro's first line is `#define name(args) body`: only the body after the name counts
        const text = l === f[1] && f[6] === 2 ? lines[l - 1].replace(/^#define[A-Za-z_]\w*\([^)]*\)/, "") : lines[l - 1];
        if (needle && text.includes(needle)) at.push(l);
      }
      if (at.length) per[needle] = at;
    }
    for (const alts of alternatives.get(frame).values()) {
      if (!alts.some((n) => per[n])) unresolved.push(`${frame} (${f[0]}:${f[1]}): ${alts.join(" | ")}`);
    }
    if (Object.keys(per).length) calls[frame] = per;
  }
  const q = JSON.stringify;
  const text = [
    "// Generated by kernel-model/scripts/gen-lines.mjs from linux-4.6.2: do not edit (npm run lines).",
    "// FUNCS: name -> [file, definition line, body open, body close, first statement, gdb params, kind 0 fn/1 inline/2 macro].",
    "// CALLS: caller -> needle (a call or statement, whitespace removed) -> lines of the caller's body.",
    "export const FUNCS: Record<string, readonly [string, number, number, number, number, string, number]> = {",
    ...Object.entries(funcs).map(([k, v]) => `  ${q(k)}: ${q(v)},`),
    "};",
    "export const CALLS: Record<string, Record<string, readonly number[]>> = {",
    ...Object.entries(calls).map(([k, v]) => `  ${q(k)}: {${Object.entries(v).map(([n, l]) => ` ${q(n)}: ${q(l)}`).join(",")} },`),
    "};",
    "",
  ].join("\n");
  return { text, funcs, calls, unresolved };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const repoRoot = join(here, "..", "..");
  const { text, funcs, calls, unresolved } = generate(repoRoot);
  const check = process.argv.includes("--check");
  const nCalls = Object.values(calls).reduce((a, v) => a + Object.keys(v).length, 0);
  process.stderr.write(`gen-lines: ${Object.keys(funcs).length} functions, ${nCalls} call needles, ${unresolved.length} unresolved\n`);
  for (const u of unresolved) process.stderr.write(`  unresolved: ${u}\n`);
  if (check) {
    const same = readFileSync(OUT, "utf8") === text;
    process.stderr.write(same ? "gen-lines: lines.generated.ts is up to date\n" : "gen-lines: lines.generated.ts differs from the source: run npm run lines\n");
    process.exitCode = same ? 0 : 1;
  } else {
    writeFileSync(OUT, text);
    process.stderr.write(`gen-lines: wrote ${OUT}\n`);
  }
}
