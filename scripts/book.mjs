#!/usr/bin/env node
// book.mjs: `npm run book`: build kernel-model, bring the notebooks up to date, run every
// chapter's cells on the tslab kernel (one kernel per chapter) and write the HTML book.
//
// Steps: npm run build -> notebooks (chapters/*.md -> notebooks/*.ipynb) -> run the cells ->
// write the pages into a temp folder beside the output -> swap it in with rename. A failing
// cell stops the build with the chapter file, the cell and the message, exit code 1, and
// leaves the previous book where it was.
//
// Options (all optional):
//   --out DIR          where the book goes (default book/)
//   --chapters DIR     chapter sources (default chapters/)
//   --notebooks DIR    notebooks to keep in sync (default notebooks/); the kernels run there
//   --no-notebooks     do not touch notebooks; the kernels run in the chapters folder
//   --cwd DIR          folder the kernels run in (overrides the above)
//   --no-build         skip `npm run build` (kernel-model must already be built)
//   --jobs N           chapters run at once (default: 2, or 1 on a one-CPU machine)
//   --cell-timeout S   seconds a cell may take before the build fails (default 120)
//   --no-answers       leave out the exercises' answers (a book for a course); the answer
//                      cells are not run. Notebooks keep their (collapsed) answers.
//   --lint             print author warnings: slow cells (see --slow) and long cells
//   --slow S           with --lint, cells slower than this are reported (default 1)
// Exit codes: 0 ok, 1 a step failed (a cell, the build), 2 bad argument.

import { spawnSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import cliProgress from "cli-progress";
import { listChapters, parseChapter } from "./lib/chapters.mjs";
import {
  ASSETS, createBookMarkdown, expectsFigure, headingsOf, renderIndex, renderSection, searchEntries, searchIndexScript, stripAnswers,
} from "./lib/render.mjs";
import { CellError, runChapter, Stopped } from "./jupyter/run.mjs";
import { buildLive } from "./live/build.mjs";
import { syncNotebooks } from "./notebooks.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const BOOK_TITLE = "深入理解Linux网络 · 第3章 内核是如何与用户进程协作的 (executable)";
const INTRO = `<p>Chapter 3 of 《深入理解Linux网络》, run: every code cell in these pages was executed on a
simulated Linux 4.6.2 kernel (<code>kernel-model</code>) when the book was built, and its output is
shown under it. The same sections are Jupyter notebooks in <code>notebooks/</code>
(<code>npm run jupyter</code>).</p>`;

const NO_ANSWERS = `<p class="no-answers">This copy of the book leaves out the answers to the exercises
(built with <code>npm run book -- --no-answers</code>).</p>`;

const MAX_CELL_LINES = 15; // shared/style.md: cells stay short enough to read at a glance
const rel = (f) => path.relative(process.cwd(), f) || ".";
const sec = (ms) => `${(ms / 1000).toFixed(1)} s`;

function usage() {
  return readFileSync(fileURLToPath(import.meta.url), "utf8")
    .split("\n")
    .filter((l) => l.startsWith("//"))
    .map((l) => l.slice(3))
    .join("\n");
}

export function parseArgs(argv) {
  const o = {
    out: path.join(ROOT, "book"), chapters: path.join(ROOT, "chapters"), notebooks: path.join(ROOT, "notebooks"),
    syncNotebooks: true, cwd: null, build: true, jobs: Math.min(2, os.availableParallelism?.() ?? os.cpus().length),
    cellTimeoutMs: 120_000, slowMs: 1000, help: false, answers: true, lint: false,
  };
  const val = (i, name) => {
    if (argv[i + 1] === undefined || argv[i + 1].startsWith("--")) throw new ArgError(`${name} needs a value`);
    return argv[i + 1];
  };
  const num = (i, name) => {
    const n = Number(val(i, name));
    if (!(n > 0)) throw new ArgError(`${name} must be a positive number, got ${argv[i + 1]}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--out") o.out = path.resolve(val(i++, a));
    else if (a === "--chapters") o.chapters = path.resolve(val(i++, a));
    else if (a === "--notebooks") o.notebooks = path.resolve(val(i++, a));
    else if (a === "--no-notebooks") o.syncNotebooks = false;
    else if (a === "--cwd") o.cwd = path.resolve(val(i++, a));
    else if (a === "--no-build") o.build = false;
    else if (a === "--jobs") o.jobs = Math.floor(num(i++, a));
    else if (a === "--cell-timeout") o.cellTimeoutMs = num(i++, a) * 1000;
    else if (a === "--slow") o.slowMs = num(i++, a) * 1000;
    else if (a === "--no-answers") o.answers = false;
    else if (a === "--lint") o.lint = true;
    else if (a === "--help" || a === "-h") o.help = true;
    else throw new ArgError(`unknown argument ${a}`);
  }
  o.cwd ??= o.syncNotebooks ? o.notebooks : o.chapters;
  return o;
}

class ArgError extends Error {}


/** Progress on stderr: a bar on a terminal, one line per finished section otherwise. */
function makeProgress(totalCells, nChapters) {
  const running = new Set();
  if (process.stderr.isTTY) {
    const bar = new cliProgress.SingleBar(
      { format: "book |{bar}| {value}/{total} cells | {sections}", hideCursor: true, clearOnComplete: true, stream: process.stderr },
      cliProgress.Presets.shades_classic,
    );
    bar.start(totalCells, 0, { sections: "" });
    const upd = () => ({ sections: [...running].join(", ") });
    return {
      start: (name) => (running.add(name), bar.update(upd())),
      cell: () => bar.increment(1, upd()),
      done: (name) => (running.delete(name), bar.update(upd())),
      log: (line) => bar.log?.(`${line}\n`) ?? process.stderr.write(`${line}\n`),
      stop: () => bar.stop(),
    };
  }
  let finished = 0;
  return {
    start: () => {},
    cell: () => {},
    done: (name, r) =>
      process.stderr.write(`[${++finished}/${nChapters}] ${name}: ${r ? `${r.cells.length} cells, ${sec(r.totalMs)}` : "stopped"}\n`),
    log: (line) => process.stderr.write(`${line}\n`),
    stop: () => {},
  };
}

/** Run chapters with at most `jobs` kernels at once; the first failure stops the rest. */
async function runAll(chapters, o, progress) {
  const results = new Array(chapters.length);
  let next = 0;
  let failure = null;
  const worker = async () => {
    while (!failure && next < chapters.length) {
      const i = next++;
      const ch = chapters[i];
      progress.start(ch.name);
      try {
        results[i] = await runChapter(ch.parsed, {
          cwd: o.cwd, file: rel(ch.file), cellTimeoutMs: o.cellTimeoutMs,
          onCell: () => progress.cell(), shouldStop: () => failure !== null,
        });
        progress.done(ch.name, results[i]);
      } catch (e) {
        if (!(e instanceof Stopped)) failure ??= e;
        progress.done(ch.name, null);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.jobs) }, worker));
  return { results, failure };
}

/** Write the book into a temp folder beside out, then swap it in. */
function writeBook(o, chapters, results) {
  const parent = path.dirname(o.out);
  mkdirSync(parent, { recursive: true });
  const tmp = path.join(parent, `.${path.basename(o.out)}.new-${process.pid}`);
  const old = path.join(parent, `.${path.basename(o.out)}.old-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(path.join(tmp, "assets"), { recursive: true });
    for (const a of ASSETS) copyFileSync(a.from, path.join(tmp, a.to));
    const live = buildLive({ outDir: path.join(tmp, "assets") }); // the live book: cells rerun in the page
    process.stderr.write(`book: assets/live.js ${(live.bytes / 1e6).toFixed(2)} MB (kernel-model for the page, ${sec(live.ms)})\n`);
    const entries = chapters.map((ch) => ({ href: `${ch.name}.html`, title: ch.parsed.title, headings: headingsOf(ch.parsed) }));
    // "§3.4.2" -> the page of the section whose file name starts with 3.4.2
    const sections = new Map(chapters.map((ch, i) => [/^\d+(?:\.\d+)*/.exec(ch.name)?.[0], entries[i].href]).filter(([n]) => n));
    const index = renderIndex({ bookTitle: BOOK_TITLE, intro: INTRO + (o.answers ? "" : NO_ANSWERS), entries, sections });
    writeFileSync(path.join(tmp, "index.html"), index);
    const search = [];
    chapters.forEach((ch, i) => {
      const nav = { prev: i > 0 ? entries[i - 1] : { href: "index.html", title: "目录 · Contents" }, next: entries[i + 1] ?? null };
      const notebook = o.syncNotebooks ? `${ch.name}.ipynb` : null;
      const html = renderSection({ chapter: ch.parsed, run: results[i], nav, bookTitle: BOOK_TITLE, sections, notebook });
      writeFileSync(path.join(tmp, entries[i].href), html);
      search.push(...searchEntries(entries[i].href, ch.parsed.title, html));
    });
    writeFileSync(path.join(tmp, "assets", "search-index.js"), searchIndexScript(search));
    const timings = chapters.map((ch, i) => ({
      name: ch.name, file: path.relative(ROOT, ch.file), title: ch.parsed.title, totalMs: Math.round(results[i].totalMs),
      kernelStartMs: Math.round(results[i].startMs),
      cells: results[i].cells.map((c) => ({ cell: c.index + 1, line: c.line, ms: Math.round(c.ms) })),
    }));
    writeFileSync(path.join(tmp, "build.json"), `${JSON.stringify({ pages: entries.map((e) => e.href), sections: timings }, null, 1)}\n`);
    // The swap: two renames (POSIX cannot exchange two directories in one call from Node).
    if (existsSync(o.out)) renameSync(o.out, old);
    renameSync(tmp, o.out);
    rmSync(old, { recursive: true, force: true });
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

export async function main(argv) {
  const T0 = performance.now();
  let o;
  try {
    o = parseArgs(argv);
  } catch (e) {
    if (!(e instanceof ArgError)) throw e;
    process.stderr.write(`book: ${e.message} (see --help)\n`);
    return 2;
  }
  if (o.help) {
    process.stdout.write(`${usage()}\n`);
    return 0;
  }
  const times = { build: 0, notebooks: 0, cells: 0, html: 0 };

  if (o.build) {
    const t = performance.now();
    process.stderr.write("book: npm run build (kernel-model)\n");
    const r = spawnSync("npm", ["run", "build", "--silent"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
    times.build = performance.now() - t;
    if (r.status !== 0) {
      process.stderr.write(`book: FAILED: npm run build exited with ${r.status ?? r.signal}; the previous book is unchanged\n`);
      return 1;
    }
  }

  if (o.syncNotebooks) {
    const t = performance.now();
    const r = syncNotebooks({ chaptersDir: o.chapters, notebooksDir: o.notebooks });
    for (const f of r.changed) process.stderr.write(`book: updated ${rel(f)} from its chapter\n`);
    for (const f of r.removed) process.stderr.write(`book: removed ${rel(f)} (no chapter)\n`);
    times.notebooks = performance.now() - t;
  }

  const md = createBookMarkdown();
  const chapters = listChapters(o.chapters).map((ch) => {
    const text = readFileSync(ch.file, "utf8");
    // without answers: the answer blocks are blanked line for line, so cell lines still match the file
    const shown = o.answers ? text : stripAnswers(text);
    return { ...ch, parsed: parseChapter(shown, ch.name, md) };
  });
  if (chapters.length === 0) {
    process.stderr.write(`book: no chapters in ${rel(o.chapters)}\n`);
    return 1;
  }
  const totalCells = chapters.reduce((n, ch) => n + ch.parsed.cells.filter((c) => c.cell_type === "code").length, 0);
  process.stderr.write(`book: ${chapters.length} sections, ${totalCells} code cells, ${o.jobs} at a time\n`);

  // the prose's claims (claim() in the cells) fail the build instead of printing ✗
  process.env.KERNEL_MODEL_STRICT_CLAIMS = "1";
  const t = performance.now();
  const progress = makeProgress(totalCells, chapters.length);
  const { results, failure } = await runAll(chapters, o, progress);
  progress.stop();
  times.cells = performance.now() - t;
  if (failure) {
    if (failure instanceof CellError) process.stderr.write(`\nbook: FAILED at ${failure.message}\n`);
    else process.stderr.write(`\nbook: FAILED: ${failure.stack ?? failure}\n`);
    process.stderr.write(`book: the previous book in ${rel(o.out)} is unchanged\n`);
    return 1;
  }

  // Warnings: figures that did not come out (always); slow and long cells (authors, --lint).
  for (const [i, ch] of chapters.entries()) {
    const code = ch.parsed.cells.filter((c) => c.cell_type === "code");
    for (const c of results[i].cells) {
      const n = code[c.index].source.split("\n").length;
      if (o.lint && n > MAX_CELL_LINES) process.stderr.write(`book: lint: long cell: ${rel(ch.file)}:${c.line} code cell ${c.index + 1} has ${n} lines (keep cells to ${MAX_CELL_LINES})\n`);
      if (o.lint && c.ms > o.slowMs) process.stderr.write(`book: lint: slow cell: ${rel(ch.file)}:${c.line} code cell ${c.index + 1} took ${sec(c.ms)}\n`);
      const shown = c.outputs.some((x) => x.output_type === "display_data" || x.output_type === "execute_result");
      if (expectsFigure(code[c.index].source) && !shown) {
        process.stderr.write(`book: warning: ${rel(ch.file)}:${c.line} code cell ${c.index + 1} calls display but showed nothing\n`);
      }
    }
  }

  const th = performance.now();
  writeBook(o, chapters, results);
  times.html = performance.now() - th;

  const total = performance.now() - T0;
  const w = Math.max(...chapters.map((c) => c.name.length));
  const lines = chapters.map((ch, i) => {
    const r = results[i];
    const slowest = r.cells.reduce((m, c) => Math.max(m, c.ms), 0);
    return `  ${ch.name.padEnd(w)}  ${String(r.cells.length).padStart(2)} cells  ${sec(r.totalMs).padStart(7)}` +
      (r.cells.length ? `  (kernel start ${sec(r.startMs)}, slowest cell ${sec(slowest)})` : "");
  });
  process.stderr.write(
    `book: time per section:\n${lines.join("\n")}\n` +
      `book: total ${sec(total)} (build ${sec(times.build)}, notebooks ${sec(times.notebooks)}, ` +
      `cells ${sec(times.cells)} with ${o.jobs} kernels at a time, HTML ${sec(times.html)})\n`,
  );
  process.stdout.write(`book: wrote ${rel(path.join(o.out, "index.html"))} (${chapters.length} sections)\n`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const sig of ["SIGINT", "SIGTERM"]) {
    process.on(sig, () => {
      process.stderr.write(`\nbook: interrupted (${sig}); the previous book is unchanged\n`);
      process.exit(130); // the kernels are killed on exit (jupyter/kernel.mjs)
    });
  }
  main(process.argv.slice(2)).then(
    (code) => (process.exitCode = code),
    (e) => {
      process.stderr.write(`book: FAILED: ${e.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
