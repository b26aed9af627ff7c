// locate.mjs: which line of a cell failed, from what tslab printed on stderr.
//
// Interface:
// * await locateError({cells, index, stderr, cwd}) -> {line, message}
//   cells: the sources of the code cells run so far in this kernel (cells[index] failed).
//   line: 1-based line in cells[index], or null when it cannot be told;
//   message: the error in one or a few lines (compiler diagnostics, or `RangeError: ...`).
//
// What tslab prints (tslab 1.0.22):
// * Compile errors: one `LINE:COL - message` line per diagnostic: LINE is the cell's line.
// * Runtime errors: Node's report of the exception: the stack has frames
//   `evalmachine.<anonymous>:N:C` where N is a line of the JavaScript tslab compiled the cell
//   into (imports become requires, top-level names become exports), not of the cell. When the
//   top frame is in the cell, the report starts with `evalmachine.<anonymous>:N` and that JS
//   line. Otherwise the JS line is found by compiling the cells again with tslab's own
//   converter (in a child process whose cwd is the kernel's, as tslab compiles relative to it).
//   The JS line is then matched to the cell line that shares the most names with it.

import { spawn } from "node:child_process";
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);

const COMPILE_RE = /^(\d+):(\d+) - (.*)$/;
const FRAME_RE = /evalmachine\.<anonymous>:(\d+)(?::\d+)?/;

/** The error line(s) of a Node exception report, without the stack. */
function runtimeMessage(stderr) {
  const lines = stderr.split("\n");
  const i = lines.findIndex((l) => /^\s*at /.test(l));
  const head = (i < 0 ? lines : lines.slice(0, i)).map((l) => l.trimEnd());
  // Node prints "file:line\n<source line>\n   ^\n\nError: message": keep what follows the caret.
  const caret = head.findIndex((l) => /^\s*\^+\s*$/.test(l));
  const msg = (caret >= 0 ? head.slice(caret + 1) : head).filter((l) => l.trim() !== "");
  return msg.join("\n") || stderr.trim().split("\n")[0] || "unknown error";
}

/** Identifier, number and string tokens of a line of code, with tslab's rewrites undone. */
function tokens(code) {
  const s = code
    .replace(/^\s*exports\.tsLastExpr\s*=\s*/, "")
    .replace(/\(0,\s*([\w$.]+)\)/g, "$1")
    .replace(/\b[\w$]+_\d+\./g, "")
    .replace(/\bexports\./g, "");
  return s.match(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`|[\w$]+/g) ?? [];
}

/** The cell line (1-based) most like a compiled JS line, or null. */
export function matchLine(cellSource, jsLine) {
  const want = tokens(jsLine);
  if (want.length === 0) return null;
  let best = null;
  let bestScore = 0;
  cellSource.split("\n").forEach((line, i) => {
    const have = tokens(line);
    if (have.length === 0) return;
    const pool = [...have];
    let common = 0;
    for (const t of want) {
      const j = pool.indexOf(t);
      if (j >= 0) common++, pool.splice(j, 1);
    }
    const score = common / Math.max(want.length, have.length);
    if (score > bestScore) (bestScore = score), (best = i + 1);
  });
  return bestScore >= 0.5 ? best : null;
}

/** The JS that tslab compiles cells[index] into, by replaying the earlier cells' declarations. */
function compileWithTslab(cells, index, cwd) {
  const converter = require.resolve("tslab/dist/converter");
  const script = `
    const {createConverter} = require(${JSON.stringify(converter)});
    let input = ""; process.stdin.on("data", (d) => (input += d)).on("end", () => {
      const {cells, index} = JSON.parse(input);
      const conv = createConverter();
      let prev = "", out = "";
      for (let i = 0; i <= index; i++) {
        const r = conv.convert(prev, cells[i]);
        if (i === index) out = r.output || "";
        else prev = r.declOutput || "";
      }
      conv.close();
      process.stdout.write(out);
    });`;
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["-e", script], { cwd, stdio: ["pipe", "pipe", "ignore"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.on("close", (code) => resolve(code === 0 ? out : ""));
    p.on("error", () => resolve(""));
    p.stdin.end(JSON.stringify({ cells, index }));
  });
}

export async function locateError({ cells, index, stderr, cwd }) {
  const src = cells[index];
  const diags = stderr.split("\n").map((l) => COMPILE_RE.exec(l.trim())).filter(Boolean);
  if (diags.length > 0) {
    return {
      line: Number(diags[0][1]),
      message: diags.map((m) => `${m[1]}:${m[2]} - ${m[3]}`).join("\n"),
    };
  }
  const message = runtimeMessage(stderr);
  const lines = stderr.split("\n");
  // Top frame in the cell: Node printed the JS line itself right after `evalmachine...:N`.
  const top = FRAME_RE.exec(lines[0] ?? "");
  if (top && lines[1] !== undefined && !/^\s*at /.test(lines[0])) {
    const line = matchLine(src, lines[1]);
    if (line) return { line, message };
  }
  // Otherwise: the first stack frame inside the cell, and the JS tslab made of the cell.
  const frame = lines.find((l) => /^\s*at /.test(l) && FRAME_RE.test(l));
  if (frame) {
    const n = Number(FRAME_RE.exec(frame)[1]);
    const js = (await compileWithTslab(cells, index, cwd)).split("\n");
    if (js[n - 1] !== undefined) {
      const line = matchLine(src, js[n - 1]);
      if (line) return { line, message };
    }
  }
  return { line: null, message };
}
