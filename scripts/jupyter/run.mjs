// run.mjs: run one chapter's code cells, in order, on a fresh tslab kernel.
//
// Interface:
// * await runChapter(chapter, {cwd, file, onCell, shouldStop, cellTimeoutMs}) ->
//     {startMs, shutdownMs, totalMs, cells: [{index, line, outputs, ms}]}
//   chapter: from parseChapter (lib/chapters.mjs); cwd: the folder the kernel runs in (the
//   notebook's folder, as in Jupyter); file: the chapter's path, for messages;
//   onCell({index, count, ms}) after each cell; shouldStop() is asked between cells.
// * A failing cell throws CellError: {file, cell (1-based code cell, = In [n] in Jupyter),
//   cells (how many), line (1-based line in the chapter file), cellLine (1-based line in the
//   cell, null when not known: then line and sourceLine are the cell's first), sourceLine,
//   error (the error text tslab printed, without the stack), stderr (all of it)}.
//   The kernel is always shut down.

import { startKernel } from "./kernel.mjs";
import { locateError } from "./locate.mjs";

export class CellError extends Error {
  constructor(info) {
    const where = `${info.file}${info.line ? `:${info.line}` : ""}`;
    super(
      `${where}: code cell ${info.cell} of ${info.cells} failed\n` +
        `  > ${info.sourceLine.trim()}${info.cellLine ? "" : "   (the cell's first line: the failing line is not known)"}\n` +
        info.error.split("\n").map((l) => `  ${l}`).join("\n"),
    );
    Object.assign(this, info);
    this.name = "CellError";
  }
}

export class Stopped extends Error {}

/**
 * tslab 1.0.22 rewrites a name declared in an earlier cell to `exports.name`, but not inside a
 * shorthand property: `{cpus}` then throws "cpus is not defined". Say so when that is the case.
 */
export function shorthandHint(message, earlierSources) {
  const m = /ReferenceError: ([\w$]+) is not defined/.exec(message);
  if (!m) return "";
  const decl = new RegExp(`\\b(?:const|let|var|function\\*?|class)\\s+${m[1].replace(/\$/g, "\\$")}\\b`);
  if (!earlierSources.some((s) => decl.test(s))) return "";
  return `\n(${m[1]} is declared in an earlier cell: tslab does not see it in a shorthand property such as {${m[1]}}; write {${m[1]}: ${m[1]}})`;
}

export async function runChapter(chapter, { cwd, file, onCell = () => {}, shouldStop = () => false, cellTimeoutMs = 120_000 }) {
  const code = chapter.cells.filter((c) => c.cell_type === "code");
  const res = { startMs: 0, shutdownMs: 0, totalMs: 0, cells: [] };
  const t0 = performance.now();
  if (code.length === 0) return res;
  const kernel = await startKernel({ cwd });
  res.startMs = performance.now() - t0;
  try {
    for (let i = 0; i < code.length; i++) {
      if (shouldStop()) throw new Stopped("stopped");
      const cell = code[i];
      let r;
      try {
        r = await kernel.execute(cell.source, { timeoutMs: cellTimeoutMs });
      } catch (e) {
        r = { status: "error", stderr: e.message, outputs: [], ms: 0 };
      }
      if (r.status !== "ok") {
        const sources = code.map((c) => c.source);
        const loc = r.stderr
          ? await locateError({ cells: sources, index: i, stderr: r.stderr, cwd })
          : { line: null, message: `status ${r.status} and no error text from tslab` };
        loc.message += shorthandHint(loc.message, code.slice(0, i).map((c) => c.source));
        const lines = cell.source.split("\n");
        const l = loc.line && loc.line <= lines.length ? loc.line : null;
        throw new CellError({
          file, cell: i + 1, cells: code.length,
          line: l ? cell.line + l - 1 : cell.line,
          cellLine: l,
          sourceLine: l ? lines[l - 1] : lines[0],
          error: loc.message,
          stderr: r.stderr,
        });
      }
      res.cells.push({ index: i, line: cell.line, outputs: r.outputs, ms: r.ms });
      onCell({ index: i, count: code.length, ms: r.ms });
    }
  } finally {
    const s = performance.now();
    await kernel.shutdown();
    res.shutdownMs = performance.now() - s;
    res.totalMs = performance.now() - t0;
  }
  return res;
}
