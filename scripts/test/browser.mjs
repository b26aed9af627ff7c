#!/usr/bin/env node
// browser.mjs: `npm run test:browser`: open the built HTML book in headless Chromium, as a
// reader would, from file://. Run `npm run book` first.
//
// Checks, per page: no console error, no page error, no request that is not a file:// one
// (the book must work offline), every cell that displays a figure shows an <svg> or an image
// with a size, no broken image, every #anchor link lands on an element (Chinese ids included).
// Figures, at 1280 px: every label of a Graphviz node fits the box drawn around it, every SVG
// text is at least 8 px on screen; at 390 px (a phone) the same text sizes hold (figures
// scroll sideways inside their cell; the page itself does not). No id twice on a page.
// Answers are folded (<details class="answer">, closed). In print (media emulation) no
// output or code block is cut (nothing wider than its box); 3.4.4 is saved as a PDF.
// The search box finds ep_poll_callback on the 3.4.4 page from file://.
// Then: following "next" from the index visits every section in the table of contents' order
// and ends at the last one; following "prev" comes back to the index.
// Saves a full-page screenshot per page to book/screenshots/<page>.png.
// Then the live book (live.mjs): every cell of every page rerun in the page, offline.
//
//   node scripts/test/browser.mjs [--book DIR] [--chromium PATH]
// Exit codes: 0 all checks passed, 1 a check failed, 2 no book or no Chromium.

import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { testLive } from "./live.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

function parseArgs(argv) {
  const o = { book: path.join(ROOT, "book"), chromium: "/usr/bin/chromium" };
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--book" && argv[i + 1]) o.book = path.resolve(argv[++i]);
    else if (argv[i] === "--chromium" && argv[i + 1]) o.chromium = argv[++i];
    else throw new Error(`unknown argument ${argv[i]}`);
  }
  return o;
}

/** Runs in the page: sizes of figure text, node labels that spill out of their box, ids
 *  used twice, answers left open. */
function measureFigures() {
  const out = { minPx: Infinity, minAt: "", spills: [], dupIds: [], labels: 0, openAnswers: 0, answers: 0 };
  for (const t of document.querySelectorAll(".cell-out svg text")) {
    if (!t.textContent.trim() || t.getBoundingClientRect().width === 0) continue;
    const ctm = t.getScreenCTM();
    const px = parseFloat(getComputedStyle(t).fontSize) * Math.hypot(ctm.a, ctm.b);
    if (px < out.minPx) {
      out.minPx = px;
      out.minAt = `${t.closest(".cell")?.id}: "${t.textContent.slice(0, 30)}"`;
    }
  }
  for (const node of document.querySelectorAll(".cell-out svg g.node")) {
    const shapes = [...node.querySelectorAll("polygon, path, ellipse, rect")].map((e) => e.getBoundingClientRect()).filter((r) => r.width > 0);
    for (const t of node.querySelectorAll("text")) {
      if (!t.textContent.trim()) continue;
      out.labels++;
      const r = t.getBoundingClientRect();
      const cx = r.left + r.width / 2, cy = r.top + r.height / 2;
      const box = shapes.filter((b) => b.left <= cx && cx <= b.right && b.top <= cy && cy <= b.bottom)
        .sort((a, b) => a.width * a.height - b.width * b.height)[0];
      if (!box || r.left < box.left - 1 || r.right > box.right + 1) {
        out.spills.push(`${node.closest(".cell")?.id}: "${t.textContent.slice(0, 40)}" ${box ? `${r.width.toFixed(0)} px in a ${box.width.toFixed(0)} px box` : "outside any box"}`);
      }
    }
  }
  const seen = new Map();
  for (const e of document.querySelectorAll("[id]")) seen.set(e.id, (seen.get(e.id) ?? 0) + 1);
  out.dupIds = [...seen].filter(([, n]) => n > 1).map(([id]) => id);
  const answers = document.querySelectorAll("details.answer");
  out.answers = answers.length;
  out.openAnswers = [...answers].filter((d) => d.open).length;
  if (out.minPx === Infinity) out.minPx = 99;
  return out;
}

export async function testBook({ book, chromium: exe, log = (s) => process.stderr.write(`${s}\n`) }) {
  const results = [];
  const stats = { minPx: Infinity, minPhonePx: Infinity, labels: 0, answers: 0, searchHits: 0 };
  const check = (name, ok, detail = "") => {
    results.push({ name, ok, detail });
    if (!ok) log(`FAIL ${name}${detail ? `: ${detail}` : ""}`);
  };
  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "book-chromium-"));
  const shots = path.join(book, "screenshots");
  mkdirSync(shots, { recursive: true });
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe, headless: true, args: CHROMIUM_ARGS, viewport: { width: 1280, height: 800 },
  });
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    let problems = [];
    page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
    page.on("request", (r) => !/^(file|data|blob):/.test(r.url()) && problems.push(`network request: ${r.url()}`)); // blob: the live book's worker

    const url = (f) => pathToFileURL(path.join(book, f)).href;
    const nameOf = (u) => decodeURIComponent(new URL(u).pathname.split("/").pop());

    // The table of contents: every section, in order.
    await page.goto(url("index.html"));
    const toc = await page.$$eval("nav.toc a.section", (as) => as.map((a) => a.getAttribute("href")));
    const tocLinks = await page.$$eval("nav.toc a", (as) => as.map((a) => a.getAttribute("href")));
    check("index lists the sections", toc.length > 0, `${toc.length} sections`);
    const buildJson = path.join(book, "build.json");
    if (existsSync(buildJson)) {
      const pages = JSON.parse(readFileSync(buildJson, "utf8")).pages;
      check("index lists every page the build wrote, in order", JSON.stringify(pages) === JSON.stringify(toc), `${toc} vs ${pages}`);
    }

    for (const f of ["index.html", ...toc]) {
      problems = [];
      await page.goto(url(f));
      await page.waitForLoadState("load");
      const info = await page.evaluate(() => {
        const figs = [...document.querySelectorAll('[data-expect="figure"]')].map((cell) => {
          const el = cell.querySelector(".cell-out svg, .cell-out img");
          const r = el?.getBoundingClientRect();
          return { id: cell.id, ok: !!el && r.width > 0 && r.height > 0 };
        });
        const brokenImgs = [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.src.slice(0, 80));
        const badAnchors = [...document.querySelectorAll('a[href^="#"]')]
          .map((a) => decodeURIComponent(a.getAttribute("href").slice(1)))
          .filter((id) => id && !document.getElementById(id));
        const title = document.querySelector("h1")?.textContent ?? "";
        const cells = document.querySelectorAll(".cell").length;
        const outs = document.querySelectorAll(".cell .cell-out").length;
        return { figs, brokenImgs, badAnchors, title, cells, outs };
      });
      const figs = await page.evaluate(measureFigures);
      check(`${f}: every node label fits its box at 1280 px`, figs.spills.length === 0, figs.spills.slice(0, 5).join("; "));
      check(`${f}: figure text is at least 8 px at 1280 px`, figs.minPx >= 8, `smallest ${figs.minPx.toFixed(1)} px (${figs.minAt})`);
      check(`${f}: no id is used twice`, figs.dupIds.length === 0, figs.dupIds.slice(0, 5).join(", "));
      check(`${f}: answers are folded`, figs.openAnswers === 0, `${figs.openAnswers} open <details class="answer">`);
      stats.minPx = Math.min(stats.minPx, figs.minPx);
      stats.labels += figs.labels;
      stats.answers += figs.answers;
      check(`${f}: has a title`, info.title.trim().length > 0);
      for (const g of info.figs) check(`${f}: figure of ${g.id} is shown`, g.ok, "no <svg>/<img> with a size in its outputs");
      check(`${f}: no broken image`, info.brokenImgs.length === 0, info.brokenImgs.join(", "));
      check(`${f}: every #anchor link has a target`, info.badAnchors.length === 0, info.badAnchors.join(", "));
      await page.screenshot({ path: path.join(shots, `${f.replace(/\.html$/, "")}.png`), fullPage: true });
      check(`${f}: no console error, page error or network request`, problems.length === 0, problems.join("; "));
      log(`page ${f}: ${info.cells} cells, ${info.outs} with output, ${info.figs.length} figures`);
    }

    // A phone: text keeps its size, figures scroll inside their cell, the page does not.
    await page.setViewportSize({ width: 390, height: 800 });
    for (const f of toc) {
      await page.goto(url(f));
      const m = await page.evaluate(measureFigures);
      const wide = await page.evaluate(() => document.documentElement.scrollWidth);
      check(`${f}: figure text is at least 8 px at 390 px`, m.minPx >= 8, `smallest ${m.minPx.toFixed(1)} px (${m.minAt})`);
      check(`${f}: the page does not scroll sideways at 390 px`, wide <= 391, `${wide} px wide`);
      stats.minPhonePx = Math.min(stats.minPhonePx, m.minPx);
    }
    await page.setViewportSize({ width: 1280, height: 800 });

    // Print: no code block or output wider than its box (it would be cut on paper).
    await page.emulateMedia({ media: "print" });
    for (const f of toc) {
      await page.goto(url(f));
      const cut = await page.evaluate(() => [...document.querySelectorAll("pre")]
        .filter((p) => p.scrollWidth > p.clientWidth + 1)
        .map((p) => `${p.closest(".cell")?.id ?? "pre"}: ${p.scrollWidth} > ${p.clientWidth} px`));
      check(`${f}: nothing is cut when printed`, cut.length === 0, cut.slice(0, 3).join("; "));
    }
    const traced = toc.find((f) => f.startsWith("3.4.4"));
    if (traced) {
      await page.goto(url(traced));
      const pdf = await page.pdf({ path: path.join(shots, `${traced.replace(/\.html$/, "")}.pdf`), format: "A4" });
      check(`${traced}: prints to PDF`, pdf.length > 10_000, `${pdf.length} bytes`);
    }
    await page.emulateMedia({ media: "screen" });

    // Search, from file://: ep_poll_callback is found on the 3.4.4 page.
    await page.goto(url("index.html"));
    await page.fill("#search", "ep_poll_callback");
    const hits = await page.$$eval("#search-results a", (as) => as.map((a) => a.getAttribute("href")));
    check("search finds ep_poll_callback on the 3.4.4 page", hits.some((h) => h.startsWith("3.4.4-")), hits.slice(0, 5).join(", ") || "no results");
    stats.searchHits = hits.length;

    // Links from the table of contents to headings of other pages land on an element.
    for (const href of tocLinks.filter((h) => h.includes("#"))) {
      const [file, frag] = href.split("#");
      await page.goto(url(file));
      const found = await page.evaluate((id) => !!document.getElementById(id), decodeURIComponent(frag));
      check(`index link ${decodeURIComponent(href)} has a target`, found);
    }

    // next from the index through every section, then prev back to the index.
    await page.goto(url("index.html"));
    const forward = [];
    for (let i = 0; i <= toc.length; i++) {
      const next = await page.$("nav.pager.bottom a[rel=next]");
      if (!next) break;
      await Promise.all([page.waitForNavigation(), next.click()]);
      forward.push(nameOf(page.url()));
    }
    check("next links visit every section in order", JSON.stringify(forward) === JSON.stringify(toc), `visited ${forward.join(" -> ")}`);
    const backward = [];
    for (let i = 0; i <= toc.length; i++) {
      const prev = await page.$("nav.pager.top a[rel=prev]");
      if (!prev) break;
      await Promise.all([page.waitForNavigation(), prev.click()]);
      backward.push(nameOf(page.url()));
      if (backward[backward.length - 1] === "index.html") break;
    }
    const wantBack = [...toc.slice(0, -1)].reverse().concat("index.html");
    check("prev links lead back to the index", JSON.stringify(backward) === JSON.stringify(wantBack), `visited ${backward.join(" -> ")}`);
  } finally {
    await ctx.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }
  log(`figures: ${stats.labels} node labels checked; smallest text ${stats.minPx.toFixed(1)} px at 1280 px, ` +
    `${stats.minPhonePx.toFixed(1)} px at 390 px; ${stats.answers} folded answer blocks; search: ${stats.searchHits} hits for ep_poll_callback`);
  results.stats = stats;
  return results;
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`browser test: ${e.message}\n`);
    return 2;
  }
  if (!existsSync(path.join(o.book, "index.html"))) {
    process.stderr.write(`browser test: no ${path.join(o.book, "index.html")}: run npm run book first\n`);
    return 2;
  }
  if (!existsSync(o.chromium)) {
    process.stderr.write(`browser test: no Chromium at ${o.chromium} (Debian: apt-get install -y chromium)\n`);
    return 2;
  }
  const t = performance.now();
  const results = await testBook(o);
  results.push(...(await testLive(o))); // the live book: every cell rerun in the page (live.mjs)
  const failed = results.filter((r) => !r.ok).length;
  process.stderr.write(`browser test: screenshots in ${path.relative(process.cwd(), path.join(o.book, "screenshots"))}/ (${((performance.now() - t) / 1000).toFixed(1)} s)\n`);
  process.stdout.write(`${results.length - failed} passed, ${failed} failed\n`);
  return failed ? 1 : 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().then(
    (c) => (process.exitCode = c),
    (e) => {
      process.stderr.write(`browser test: ${e.stack ?? e}\n`);
      process.exitCode = 1;
    },
  );
}
