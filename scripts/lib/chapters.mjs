// chapters.mjs: the chapter sources (chapters/*.md) as the book and the notebooks see them.
//
// Interface:
// * listChapters(dir) -> [{name, file}] for every *.md, in the book's order: the numeric order
//   of the version-like prefix of the file name (3.2 < 3.3 < 3.3.1 < 3.3.2 < 3.4 < 3.10).
// * parseChapter(text, name) -> {name, title, cells, tokens, md}
//   cells: [{cell_type: "markdown"|"code", source, line}] in order; `line` is the 1-based line
//   of the chapter file where the cell's source starts. A fenced block whose info string is
//   `ts` or `typescript` is a code cell; everything else (prose, ```text, ```c, ...) stays in
//   markdown cells, split before every heading so Jupyter shows one cell per heading.
//   tokens are markdown-it's, with token.meta.cell = the code cell's index for those fences.
// * toNotebook(chapter) -> the nbformat 4.5 object; notebookJson(chapter) -> its file text,
//   formatted as Jupyter writes it (1-space indent, sorted keys, UTF-8, trailing newline).
// * cellId(name, index): a deterministic id (nbformat 4.5 allows 1-64 of [a-zA-Z0-9-_]).
// * Answers: the lines between `<details class="answer">` and `</details>` (each on a line of
//   its own) are the exercises' answers. The HTML book folds them; in the notebooks those
//   cells carry `answer: true` -> metadata tags ["answer"] and jupyter.source_hidden /
//   outputs_hidden (collapsed in JupyterLab), and the two marker lines are left out.

import { createHash } from "node:crypto";
import { readdirSync } from "node:fs";
import path from "node:path";
import MarkdownIt from "markdown-it";

/** The kernelspec every notebook names: the tslab kernel registered by `npm run jupyter`. */
export const KERNELSPEC = { name: "tslab", display_name: "TypeScript", language: "typescript" };
export const LANGUAGE_INFO = {
  name: "typescript", file_extension: ".ts", mimetype: "text/typescript",
  codemirror_mode: { mode: "typescript", name: "javascript", typescript: true },
};

/** True for the fences that are notebook cells. */
export function isCodeFence(info) {
  const lang = (info || "").trim().split(/\s+/)[0];
  return lang === "ts" || lang === "typescript";
}

/** Numeric sort key of "3.3.1-waiting" -> [3, 3, 1]; names without a number sort last. */
function versionKey(name) {
  const m = /^(\d+(?:\.\d+)*)/.exec(name);
  return m ? m[1].split(".").map(Number) : [Infinity];
}

export function compareChapterNames(a, b) {
  const ka = versionKey(a);
  const kb = versionKey(b);
  for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
    const x = ka[i] ?? -1;
    const y = kb[i] ?? -1;
    if (x !== y) return x - y;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Chapters of a folder in the book's order. */
export function listChapters(dir) {
  return readdirSync(dir)
    .filter((f) => f.endsWith(".md") && !f.startsWith("_") && f.toLowerCase() !== "readme.md")
    .map((f) => ({ name: f.slice(0, -3), file: path.join(dir, f) }))
    .sort((a, b) => compareChapterNames(a.name, b.name));
}

/** A markdown-it with the options the book uses everywhere (parsing and rendering agree). */
export function createMarkdown() {
  return new MarkdownIt({ html: true, linkify: false, typographer: false });
}

/** Split a chapter into notebook cells. */
export function parseChapter(text, name, md = createMarkdown()) {
  text = text.replace(/\r\n?/g, "\n");
  const lines = text.split("\n");
  const tokens = md.parse(text, {});
  const cells = [];
  let title = "";
  let mdStart = 0; // first line (0-based) not yet put into a cell
  const flushMarkdown = (end) => {
    // lines [mdStart, end) become a markdown cell, without leading/trailing blank lines
    let a = mdStart;
    let b = end;
    while (a < b && lines[a].trim() === "") a++;
    while (b > a && lines[b - 1].trim() === "") b--;
    if (b > a) cells.push({ cell_type: "markdown", source: lines.slice(a, b).join("\n"), line: a + 1 });
    mdStart = end;
  };
  let codeIndex = 0;
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i];
    if (t.level !== 0 || !t.map) continue; // only top-level blocks cut cells
    if (t.type === "heading_open") {
      flushMarkdown(t.map[0]);
      if (t.tag === "h1" && !title) title = inlineText(tokens[i + 1]);
    } else if (t.type === "fence" && isCodeFence(t.info)) {
      flushMarkdown(t.map[0]);
      const source = t.content.replace(/\n$/, "");
      cells.push({ cell_type: "code", source, line: t.map[0] + 2 });
      t.meta = { ...(t.meta || {}), cell: codeIndex++ };
      mdStart = t.map[1];
    }
  }
  flushMarkdown(lines.length);
  return { name, title: title || name, cells: markAnswers(cells, lines), tokens, md };
}

/** Flag the cells inside answer blocks; split markdown cells at the blocks' edges. */
function markAnswers(cells, lines) {
  const where = new Array(lines.length).fill(0); // 0 outside, 1 inside, 2 a marker line
  let inside = false;
  lines.forEach((l, i) => {
    if (!inside && /^<details class="answer">/.test(l)) (inside = true), (where[i] = 2);
    else if (inside && /^<\/details>\s*$/.test(l)) (inside = false), (where[i] = 2);
    else where[i] = inside ? 1 : 0;
  });
  if (!where.includes(2)) return cells;
  const out = [];
  for (const c of cells) {
    if (c.cell_type === "code") {
      out.push(where[c.line - 1] === 1 ? { ...c, answer: true } : c);
      continue;
    }
    const src = c.source.split("\n");
    let run = null;
    const flush = () => {
      if (!run) return;
      while (run.src.length && run.src[0].trim() === "") run.src.shift(), run.line++;
      while (run.src.length && run.src[run.src.length - 1].trim() === "") run.src.pop();
      if (run.src.length) out.push({ cell_type: "markdown", source: run.src.join("\n"), line: run.line, ...(run.answer ? { answer: true } : {}) });
      run = null;
    };
    src.forEach((l, k) => {
      const w = where[c.line - 1 + k];
      if (w === 2) {
        flush();
        if (/^<details/.test(l)) out.push({ cell_type: "markdown", source: "**Answers** (collapsed cells below: click to show them)", line: c.line + k });
        return;
      }
      if (!run || run.answer !== (w === 1)) (flush(), (run = { src: [], line: c.line + k, answer: w === 1 }));
      run.src.push(l);
    });
    flush();
  }
  return out;
}

/** The plain text of an inline token (what a heading reads as, without markup). */
export function inlineText(inline) {
  const parts = (inline.children || []).filter((c) => c.type === "text" || c.type === "code_inline");
  return (parts.length ? parts.map((c) => c.content).join("") : inline.content).trim();
}

/** Deterministic cell id: the same chapter name and cell index always give the same id. */
export function cellId(name, index) {
  return createHash("sha256").update(`${name}\0${index}`).digest("hex").slice(0, 16);
}

/** Jupyter stores source as lines, each but the last ending in "\n". */
function sourceLines(s) {
  const parts = s.split("\n");
  return parts.map((l, i) => (i < parts.length - 1 ? `${l}\n` : l)).filter((l) => l !== "");
}

export function toNotebook(chapter) {
  return {
    cells: chapter.cells.map((c, i) => {
      const metadata = c.answer ? { jupyter: { outputs_hidden: true, source_hidden: true }, tags: ["answer"] } : {};
      const cell = { cell_type: c.cell_type, id: cellId(chapter.name, i), metadata, source: sourceLines(c.source) };
      if (c.cell_type === "code") Object.assign(cell, { execution_count: null, outputs: [] });
      return cell;
    }),
    metadata: { kernelspec: KERNELSPEC, language_info: LANGUAGE_INFO },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/** Keys sorted at every level, as Jupyter's json.dumps(sort_keys=True) does. */
function sortKeys(v) {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
  }
  return v;
}

/** The notebook file's text: what Jupyter itself would write for it. */
export function notebookJson(chapter) {
  return `${JSON.stringify(sortKeys(toNotebook(chapter)), null, 1)}\n`;
}
