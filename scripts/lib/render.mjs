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
// * ASSETS: [{from, to}] files copied into the book (our CSS and search script, highlight.js's
//   light and dark themes).
// * searchEntries(pages) -> the search index: one entry per heading of each page with its
//   plain text; searchIndexScript(entries) -> assets/search-index.js (a script, not JSON: a
//   page opened from file:// may load scripts but not fetch files).
// * stripAnswers(text) -> the chapter text with its answer blocks blanked (npm run book -- --no-answers).
//
// Language: the prose is English; the book's Chinese (titles, quotations, trace comments) is
// marked lang="zh-Hans" (markLanguage), so browsers pick CJK fonts and screen readers the
// right voice. "§3.4.2" in prose links to that section's page (sectionLinks).
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

const HLJS_STYLES = path.join(path.dirname(require.resolve("highlight.js/package.json")), "styles");
export const ASSETS = [
  { from: path.join(HERE, "..", "book-assets", "book.css"), to: "assets/book.css" },
  { from: path.join(HERE, "..", "book-assets", "search.js"), to: "assets/search.js" },
  { from: path.join(HLJS_STYLES, "github.css"), to: "assets/hljs.css" },
  { from: path.join(HLJS_STYLES, "github-dark.css"), to: "assets/hljs-dark.css" },
];

/** Answer blocks: `<details class="answer">` ... `</details>`, each on a line of its own. */
const ANSWER_OPEN = /^<details class="answer">/;
const ANSWER_CLOSE = /^<\/details>\s*$/;

/** The chapter's text with its answer blocks (prose and cells) blanked line for line, so
 *  the line numbers of the other cells still match the file. */
export function stripAnswers(text) {
  let inside = false;
  return text
    .split("\n")
    .map((line) => {
      if (!inside && ANSWER_OPEN.test(line)) inside = true;
      else if (inside && ANSWER_CLOSE.test(line)) return ((inside = false), "");
      return inside ? "" : line;
    })
    .join("\n");
}

const CJK = /[\p{Script=Han}\u3000-\u303f\uff01-\uff5e“”‘’《》…·]*[\p{Script=Han}][\p{Script=Han}\u3000-\u303f\uff01-\uff5e“”‘’《》…·0-9A-Za-z_~]*/gu;

/** Wrap each run of Chinese in a text node in <span lang="zh-Hans">. */
function markCjk(text) {
  return text.replace(CJK, (m) => {
    // keep trailing ASCII (an identifier after the Chinese) outside the span
    const t = /[0-9A-Za-z_~]+$/.exec(m);
    const zh = t ? m.slice(0, -t[0].length) : m;
    return `<span lang="zh-Hans">${zh}</span>${t ? t[0] : ""}`;
  });
}

/** Post-process a page body: mark Chinese (outside SVG, script and style) and link §N.N
 *  references (outside links, code and SVG). sections: Map "3.4.2" -> "3.4.2-epoll-ctl.html". */
export function postProcess(html, sections = new Map()) {
  const parts = html.split(/(<[^>]+>)/);
  const depth = { a: 0, svg: 0, script: 0, style: 0, code: 0, pre: 0, title: 0 };
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i];
    if (p.startsWith("<")) {
      const m = /^<(\/?)([a-zA-Z]+)/.exec(p);
      if (m && m[2].toLowerCase() in depth && !p.endsWith("/>")) depth[m[2].toLowerCase()] += m[1] ? -1 : 1;
      continue;
    }
    if (!p || depth.svg || depth.script || depth.style || depth.title) continue;
    let t = p;
    if (!depth.a && !depth.code && !depth.pre) {
      t = t.replace(/§(\d+(?:\.\d+)*)/g, (m, n) => (sections.has(n) ? `<a class="xref" href="${escapeHtml(sections.get(n))}">${m}</a>` : m));
    }
    parts[i] = t.split(/(<a [^>]*>§[^<]*<\/a>)/).map((x, j) => (j % 2 ? x : markCjk(x))).join("");
  }
  return parts.join("");
}

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

/** A call tree in the book's `|-` layout: one span per line whose continuation lines, when
 *  the line wraps, are indented past its tree prefix, so the tree stays visible. */
const TREE_LINE = /^[ |`]*\|-/m;
function renderTrace(text) {
  const lines = text.replace(/\n$/, "").split("\n");
  const body = lines
    .map((l) => {
      const m = /^(?:[ `]|\|(?!-))*(?:\|-)?/.exec(l);
      const ind = m ? m[0].length : 0;
      return `<span class="tl" style="--ind:${ind}ch">${escapeHtml(l) || " "}</span>`;
    })
    .join("");
  return `<pre class="output stdout trace">${body}</pre>`;
}

export function renderOutput(o) {
  if (o.output_type === "stream") {
    // progress lines of long cells (sweepProgress) are for the live notebook, not the page
    const text = o.text.replace(ANSI, "").replace(/\r?progress: [^\r\n]*(\r|\n|$)/g, "");
    if (!text.trim()) return "";
    if (o.name !== "stderr" && TREE_LINE.test(text)) return renderTrace(text);
    return `<pre class="output ${o.name === "stderr" ? "stderr" : "stdout"}">${escapeHtml(text)}</pre>`;
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

function page({ title, body, nav, bookTitle, sections, notebook, head = "" }) {
  const navHtml = nav ? renderNav(nav) : "";
  const search = `<form class="search" role="search" onsubmit="return false"><input type="search" id="search" ` +
    `placeholder="Search the book (e.g. ep_poll_callback)" aria-label="Search the book" autocomplete="off">` +
    `<ol class="search-results" id="search-results" hidden></ol></form>`;
  const nb = notebook
    ? `<p class="notebook">This section as a notebook: <a href="../notebooks/${escapeHtml(notebook)}">notebooks/${escapeHtml(notebook)}</a> ` +
      `(open it with <code>npm run jupyter</code>, change the parameters, rerun).</p>\n`
    : "";
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>${escapeHtml(title)}${title === bookTitle ? "" : ` · ${escapeHtml(bookTitle)}`}</title>
<link rel="stylesheet" href="assets/hljs.css" media="not all and (prefers-color-scheme: dark)">
<link rel="stylesheet" href="assets/hljs-dark.css" media="(prefers-color-scheme: dark)">
<link rel="stylesheet" href="assets/book.css">${head}
<script src="assets/search-index.js" defer></script>
<script src="assets/search.js" defer></script>
</head>
<body>
<header class="top">${navHtml ? `<nav class="pager top">${navHtml}</nav>` : ""}${search}</header>
<main>
${postProcess(body, sections)}
${nb}</main>
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

export function renderSection({ chapter, run, nav, bookTitle, sections, notebook }) {
  const body = chapter.md.renderer.render(chapter.tokens, chapter.md.options, { run });
  // assets/live.js (scripts/live/): edit and rerun the cells in the page; without it the page is the same
  return page({ title: chapter.title, body, nav, bookTitle, sections, notebook, head: '\n<script defer src="assets/live.js"></script>' });
}

/** Search entries of one rendered page: [{href, page, heading, text}], one per heading. */
export function searchEntries(href, pageTitle, html) {
  const body = html.slice(html.indexOf("<main>"), html.indexOf("</main>"));
  const clean = body.replace(/<svg[\s\S]*?<\/svg>/g, " ").replace(/<style[\s\S]*?<\/style>/g, " ");
  const out = [];
  const re = /<h([1-4])[^>]*id="([^"]*)"[^>]*>([\s\S]*?)<\/h\1>/g;
  let last = { id: "", heading: pageTitle, at: 0 };
  const text = (a, b) => clean.slice(a, b).replace(/<[^>]+>/g, " ").replace(/&lt;/g, "<").replace(/&gt;/g, ">")
    .replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, "&").replace(/\s+/g, " ").trim();
  const push = (end) => {
    const t = text(last.at, end);
    if (t) out.push({ href: last.id ? `${href}#${last.id}` : href, page: pageTitle, heading: last.heading, text: t });
  };
  for (let m; (m = re.exec(clean)); ) {
    push(m.index);
    last = { id: m[2], heading: m[3].replace(/<[^>]+>/g, "").replace(/#$/, "").trim(), at: m.index + m[0].length };
  }
  push(clean.length);
  return out;
}

export function searchIndexScript(entries) {
  return `// The book's search index (generated by npm run book): one entry per heading.\nwindow.BOOK_SEARCH = ${JSON.stringify(entries)};\n`;
}

export function renderIndex({ bookTitle, intro = "", entries, sections }) {
  const items = entries
    .map((e) => {
      const subs = e.headings.length
        ? `\n<ul>${e.headings.map((h) => `<li><a href="${escapeHtml(`${e.href}#${h.id}`)}">${escapeHtml(h.text)}</a></li>`).join("")}</ul>`
        : "";
      return `<li><a class="section" href="${escapeHtml(e.href)}">${escapeHtml(e.title)}</a>${subs}</li>`;
    })
    .join("\n");
  const body = `<h1>${escapeHtml(bookTitle)}</h1>\n${intro}\n<nav class="toc"><h2>目录 · Contents</h2>\n<ol>\n${items}\n</ol></nav>`;
  return page({ title: bookTitle, body, nav: entries.length ? { prev: null, next: entries[0] } : null, bookTitle, sections });
}
