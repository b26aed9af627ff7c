// render.mjs: the HTML pages of the book (index + one page per section).
//
// Interface:
// * createBookMarkdown() -> a markdown-it that adds heading ids which keep Chinese characters
//   (slugify below), a `#` permalink in each heading, and highlight.js colouring.
// * renderSection({chapter, run, nav, bookTitle}) -> the HTML of one section's page; chapter
//   must be parsed with createBookMarkdown()'s instance; run.cells[i].outputs are the outputs of
//   code cell i, shown under it.
// * renderIndex({bookTitle, entries}) -> index.html; entries: [{href, title, headings}]
// * headingsOf(chapter) -> [{level, text, id}] of the h2 headings (for the table of contents).
// * ASSETS: [{from, to}] files copied into the book (our CSS, highlight.js's theme).
//
// Every link is relative and nothing is fetched: pages work from file:// and any static server.
// Figures are cell outputs of type text/html (inline SVG from tslab.display.html) inserted as is.

import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import hljs from "highlight.js";
import anchor from "markdown-it-anchor";
import { createMarkdown, inlineText } from "./chapters.mjs";

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));

export const ASSETS = [
  { from: path.join(HERE, "..", "book-assets", "book.css"), to: "assets/book.css" },
  { from: path.join(path.dirname(require.resolve("highlight.js/package.json")), "styles", "github.css"), to: "assets/hljs.css" },
];

export function escapeHtml(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

/** Heading ids: lower case, spaces to '-', punctuation dropped, Chinese (any letter) kept. */
export function slugify(s) {
  return (
    String(s)
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\p{M}\s._-]/gu, "")
      .replace(/\s+/g, "-")
      .replace(/-{2,}/g, "-")
      .replace(/^-+|-+$/g, "") || "section"
  );
}

function highlight(code, lang) {
  const l = lang === "ts" ? "typescript" : lang;
  if (l && hljs.getLanguage(l)) return hljs.highlight(code, { language: l, ignoreIllegals: true }).value;
  return escapeHtml(code);
}

export function createBookMarkdown() {
  const md = createMarkdown();
  md.use(anchor, {
    slugify,
    level: [1, 2, 3, 4],
    permalink: anchor.permalink.linkInsideHeader({ symbol: "#", placement: "after", ariaHidden: true, class: "anchor" }),
  });
  md.renderer.rules.fence = (tokens, idx, _options, env) => {
    const t = tokens[idx];
    const lang = (t.info || "").trim().split(/\s+/)[0];
    const code = `<pre class="code"><code class="hljs${lang ? ` language-${escapeHtml(lang)}` : ""}">${highlight(t.content.replace(/\n$/, ""), lang)}</code></pre>`;
    if (t.meta?.cell === undefined) return `${code}\n`;
    return renderCell(t.meta.cell, t.content, code, env.run?.cells?.[t.meta.cell]);
  };
  return md;
}

/** Does this cell mean to show a figure? Then the browser test expects one in its outputs. */
export function expectsFigure(source) {
  return /\b(?:tslab\.)?display\.(?:html|svg|png|jpeg)\s*\(/.test(source);
}

function renderCell(i, source, codeHtml, run) {
  const n = i + 1;
  const fig = expectsFigure(source) ? ' data-expect="figure"' : "";
  const outs = run ? run.outputs.map(renderOutput).join("") : "";
  return (
    `<div class="cell" id="cell-${n}"${fig}>\n` +
    `<div class="cell-in"><a class="prompt" href="#cell-${n}" title="code cell ${n}">[${n}]</a>${codeHtml}</div>\n` +
    (outs ? `<div class="cell-out">${outs}</div>\n` : "") +
    `</div>\n`
  );
}

const ANSI = /\x1b\[[0-9;]*[A-Za-z]/g;

export function renderOutput(o) {
  if (o.output_type === "stream") {
    return `<pre class="output ${o.name === "stderr" ? "stderr" : "stdout"}">${escapeHtml(o.text.replace(ANSI, ""))}</pre>`;
  }
  if (o.output_type === "error") {
    return `<pre class="output error">${escapeHtml(`${o.ename}: ${o.evalue}`)}</pre>`;
  }
  const d = o.data || {};
  if (d["text/html"] !== undefined) return `<div class="output html">${[].concat(d["text/html"]).join("")}</div>`;
  if (d["image/svg+xml"] !== undefined) return `<div class="output html">${[].concat(d["image/svg+xml"]).join("")}</div>`;
  for (const mime of ["image/png", "image/jpeg", "image/gif"]) {
    if (d[mime] !== undefined) return `<div class="output image"><img alt="figure" src="data:${mime};base64,${String(d[mime]).trim()}"></div>`;
  }
  if (d["text/markdown"] !== undefined) return `<div class="output markdown">${createMarkdown().render([].concat(d["text/markdown"]).join(""))}</div>`;
  if (d["application/json"] !== undefined) return `<pre class="output stdout">${escapeHtml(JSON.stringify(d["application/json"], null, 2))}</pre>`;
  if (d["text/plain"] !== undefined) return `<pre class="output stdout">${escapeHtml([].concat(d["text/plain"]).join(""))}</pre>`;
  return "";
}

export function headingsOf(chapter) {
  const out = [];
  const t = chapter.tokens;
  for (let i = 0; i < t.length; i++) {
    if (t[i].type !== "heading_open" || t[i].level !== 0 || t[i].tag !== "h2") continue;
    out.push({ level: 2, text: inlineText(t[i + 1]), id: t[i].attrGet("id") });
  }
  return out;
}

function page({ title, body, nav, bookTitle, head = "" }) {
  const navHtml = nav ? renderNav(nav) : "";
  return `<!doctype html>
<html lang="zh-Hans">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}${title === bookTitle ? "" : ` · ${escapeHtml(bookTitle)}`}</title>
<link rel="stylesheet" href="assets/hljs.css">
<link rel="stylesheet" href="assets/book.css">${head}
</head>
<body>
${navHtml ? `<nav class="pager top">${navHtml}</nav>` : ""}
<main>
${body}
</main>
${navHtml ? `<nav class="pager bottom">${navHtml}</nav>` : ""}
</body>
</html>
`;
}

function renderNav({ prev, next }) {
  const a = (rel, x, text) => (x ? `<a rel="${rel}" class="${rel}" href="${escapeHtml(x.href)}">${text}</a>` : `<span class="${rel}"></span>`);
  return (
    a("prev", prev, `← ${escapeHtml(prev?.title ?? "")}`) +
    // The contents link, unless "prev" already leads there (first section) or this is the index.
    (prev && prev.href !== "index.html" ? `<a class="contents" href="index.html">目录 · Contents</a>` : `<span class="contents"></span>`) +
    a("next", next, `${escapeHtml(next?.title ?? "")} →`)
  );
}

export function renderSection({ chapter, run, nav, bookTitle }) {
  const body = chapter.md.renderer.render(chapter.tokens, chapter.md.options, { run });
  // assets/live.js (scripts/live/): edit and rerun the cells in the page; without it the page is the same
  return page({ title: chapter.title, body, nav, bookTitle, head: '\n<script defer src="assets/live.js"></script>' });
}

export function renderIndex({ bookTitle, intro = "", entries }) {
  const items = entries
    .map((e) => {
      const subs = e.headings.length
        ? `\n<ul>${e.headings.map((h) => `<li><a href="${escapeHtml(`${e.href}#${h.id}`)}">${escapeHtml(h.text)}</a></li>`).join("")}</ul>`
        : "";
      return `<li><a class="section" href="${escapeHtml(e.href)}">${escapeHtml(e.title)}</a>${subs}</li>`;
    })
    .join("\n");
  const body = `<h1>${escapeHtml(bookTitle)}</h1>\n${intro}\n<nav class="toc"><h2>目录 · Contents</h2>\n<ol>\n${items}\n</ol></nav>`;
  return page({ title: bookTitle, body, nav: entries.length ? { prev: null, next: entries[0] } : null, bookTitle });
}
