// live.mjs: the live book in real Chromium, from file://, offline (part of `npm run test:browser`).
//
// testLive({book, chromium, log}) -> [{name, ok, detail}] (browser.mjs's format). Checks:
// * every section page: window.book.cells are the chapter's code cells (same source, in order);
//   book.run(i) of every cell, in order, prints the same text as the build wrote into that page
//   (the same checkout's build: never committed text), and shows a figure wherever the build
//   has one (an <svg>/<img> with a size);
// * the prose's "Try" predictions on edited parameters: §3.2 SOCK_STREAM -> inet_stream_ops and
//   TCP in the cells below, SOCK_RAW -> EPROTONOSUPPORT / EPERM; §3.5 BURST = 8 -> the epoll
//   server's switches per message become about 1/8 at every connection count;
// * Reset puts the book's text back, and the rerun prints the build's text again (redeclared
//   const, shared declarations); a runtime error and a syntax error name the cell's line;
//   Shift+Enter in an edited cell runs it; a long cell shows its progress and Stop ends it, after
//   which the cells above rerun by themselves; writes to fs and unknown modules are refused;
// * no request leaves the book's folder (every request is file:// inside it, or the worker's
//   blob:), in an offline context that also aborts any other request; no console or page error;
// * without JavaScript the page shows the build's outputs and no live controls.
// Timing: per page, the time to run every cell in the page beside the build's time on tslab
// (build.json), and every cell that took under 1 s on tslab but 2 s or more here.

import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { chromium } from "playwright-core";
import { listChapters, parseChapter } from "../lib/chapters.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];
const sec = (ms) => `${(ms / 1000).toFixed(2)} s`;

/** What the build printed for each cell, read from the page before anything runs. */
const BUILD_OUTPUT = () =>
  [...document.querySelectorAll("main .cell")].map((c) => {
    const out = c.querySelector(".cell-out");
    return {
      text: window.book.printedText(out),
      figure: !!out?.querySelector("svg, img") || c.dataset.expect === "figure",
    };
  });

/** Does cell i now show a figure with a size? */
const HAS_FIGURE = (i) => {
  const cell = window.book.cells[i].element;
  for (let d = cell.closest("details"); d; d = d.parentElement.closest("details")) d.open = true; // a folded answer
  const el = cell.querySelector(".cell-out svg, .cell-out img");
  const r = el?.getBoundingClientRect();
  return !!el && r.width > 0 && r.height > 0;
};

export async function testLive({ book, chromium: exe = "/usr/bin/chromium", chapters = path.join(ROOT, "chapters"), log = (s) => process.stderr.write(`${s}\n`) }) {
  const results = [];
  const check = (name, ok, detail = "") => {
    results.push({ name: `live: ${name}`, ok: !!ok, detail });
    if (!ok) log(`FAIL live: ${name}${detail ? `: ${detail}` : ""}`);
  };
  const buildJson = JSON.parse(readFileSync(path.join(book, "build.json"), "utf8"));
  const pages = buildJson.pages;
  const timing = new Map(buildJson.sections.map((s) => [`${s.name}.html`, s]));
  const sources = new Map(existsSync(chapters) ? listChapters(chapters).map((ch) => [
    `${ch.name}.html`, parseChapter(readFileSync(ch.file, "utf8"), ch.name).cells.filter((c) => c.cell_type === "code").map((c) => c.source),
  ]) : []);
  const bookUrl = pathToFileURL(book).href.replace(/\/?$/, "/");
  const url = (f) => new URL(f, bookUrl).href;

  const userDataDir = mkdtempSync(path.join(os.tmpdir(), "live-chromium-"));
  const ctx = await chromium.launchPersistentContext(userDataDir, {
    executablePath: exe, headless: true, args: ARGS, viewport: { width: 1100, height: 800 }, offline: true,
  });
  let problems = [];
  const requests = [];
  // Anything that is not a file of the book is aborted (and reported).
  await ctx.route("**/*", (route) => {
    const u = route.request().url();
    if (u.startsWith(bookUrl)) return route.continue();
    problems.push(`request outside the book: ${u}`);
    return route.abort();
  });
  const timings = [];
  try {
    const page = ctx.pages()[0] ?? (await ctx.newPage());
    page.setDefaultTimeout(120_000);
    page.on("console", (m) => m.type() === "error" && problems.push(`console error: ${m.text()}`));
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("request", (r) => requests.push(r.url()));
    const open = async (f) => {
      await page.goto(url(f));
      await page.waitForFunction(() => window.book);
      await page.evaluate(() => window.book.ready);
    };
    const run = (i, source) => page.evaluate(([i, s]) => window.book.run(i, s ?? undefined), [i, source ?? null]);

    // ---- every cell of every page, as the build ran it ----
    for (const f of pages) {
      problems = [];
      const t0 = Date.now();
      await open(f);
      const readyMs = Date.now() - t0;
      const want = await page.evaluate(BUILD_OUTPUT);
      const cells = await page.evaluate(() => window.book.cells.map((c) => c.source));
      const chapterCells = sources.get(f);
      if (chapterCells) check(`${f}: book.cells are the chapter's code cells`, JSON.stringify(cells) === JSON.stringify(chapterCells), `${cells.length} cells in the page, ${chapterCells.length} in the chapter`);
      check(`${f}: book.cells has one entry per code cell`, cells.length === want.length, `${cells.length} vs ${want.length} .cell elements`);
      const built = timing.get(f)?.cells ?? [];
      let pageMs = 0;
      const slow = [];
      for (let i = 0; i < cells.length; i++) {
        const r = await run(i);
        pageMs += r.ms;
        const same = r.ok && r.text === want[i].text;
        check(`${f}: cell [${i + 1}] prints the build's text`, same, r.ok ? firstDifference(want[i].text, r.text) : `${r.error?.name}: ${r.error?.message}`);
        if (want[i].figure) check(`${f}: cell [${i + 1}] shows a figure`, await page.evaluate(HAS_FIGURE, i), "no <svg>/<img> with a size in its live output");
        const b = built[i]?.ms;
        if (b !== undefined && b < 1000 && r.ms >= 2000) slow.push(`[${i + 1}] ${sec(r.ms)} (tslab ${sec(b)})`);
      }
      const buildMs = built.reduce((a, c) => a + c.ms, 0);
      timings.push({ f, cells: cells.length, pageMs, buildMs, readyMs, slow });
      log(`live ${f}: ${cells.length} cells in ${sec(pageMs)} in the page, ${sec(buildMs)} on tslab (page ready in ${sec(readyMs)})${slow.length ? `; slow: ${slow.join(", ")}` : ""}`);
      check(`${f}: no console error, page error or request outside the book`, problems.length === 0, problems.join("; "));
    }

    // ---- §3.2 Try: the parameters cell edited ----
    const s32 = pages.find((p) => p.startsWith("3.2-"));
    if (s32) {
      problems = [];
      await open(s32);
      const want = await page.evaluate(BUILD_OUTPUT);
      const p0 = await page.evaluate(() => window.book.cells[0].bookSource);
      const withType = (type, proto = null) => {
        let s = p0.replace(/const TYPE = SOCK_\w+;/, `const TYPE = ${type};`);
        if (proto !== null) s = s.replace(/const PROTOCOL = \d+;/, `const PROTOCOL = ${proto};`);
        return s;
      };
      const below = async (source) => {
        const r0 = await run(0, source);
        const texts = [];
        for (let i = 1; i < want.length; i++) texts.push((await run(i)).text);
        return { ok: r0.ok, all: texts.join("") };
      };
      const stream = await below(withType("SOCK_STREAM"));
      check("3.2 Try SOCK_STREAM: the cells below show inet_stream_ops and TCP", stream.ok && stream.all.includes("inet_stream_ops") &&
        !stream.all.includes("inet_dgram_ops") && /sk_prot = TCP/.test(stream.all), stream.all.slice(0, 300));
      const raw0 = await below(withType("SOCK_RAW", 0));
      check("3.2 Try SOCK_RAW, PROTOCOL = 0: socket() returns -EPROTONOSUPPORT", /EPROTONOSUPPORT/.test(raw0.all), raw0.all.slice(-200));
      const raw1 = await below(withType("SOCK_RAW", 1));
      check("3.2 Try SOCK_RAW, PROTOCOL = 1: socket() returns -EPERM", /EPERM/.test(raw1.all), raw1.all.slice(-200));
      await page.evaluate(() => window.book.reset(0));
      const back = await page.evaluate(() => window.book.cells[0].source === window.book.cells[0].bookSource);
      check("Reset puts the book's text back", back);
      const again = [];
      for (let i = 0; i < want.length; i++) again.push((await run(i)).text);
      check("after Reset the cells print the build's text again (const redeclared, state shared)",
        JSON.stringify(again) === JSON.stringify(want.map((w) => w.text)), firstDifference(want.map((w) => w.text).join(""), again.join("")));

      // errors name the line
      const rt = await run(1, "const a = 1;\nconst b = (null as any).x;");
      check("a runtime error names the cell's line", !rt.ok && rt.error?.line === 2 && /TypeError/.test(rt.error?.name), JSON.stringify(rt.error));
      const shown = await page.evaluate(() => window.book.cells[1].element.querySelector(".cell-out .output.error")?.textContent ?? "");
      check("the error is shown under the cell with its line", /line 2: const b = \(null as any\)\.x;/.test(shown), shown);
      const se = await run(1, "const x = 1;\nconst = 2;");
      check("a syntax error names the cell's line", !se.ok && se.error?.name === "SyntaxError" && se.error?.line === 2, JSON.stringify(se.error));
      const wr = await run(1, 'import * as fs from "fs";\nfs.writeFileSync("out.txt", "x");');
      check("a write to fs is refused with a clear message", !wr.ok && /EROFS/.test(wr.error?.message) && /read-only/.test(wr.error?.message), wr.error?.message);
      const cp = await run(1, 'import {execSync} from "child_process";');
      check("an import the page cannot provide is refused with a clear message", !cp.ok && /child_process/.test(cp.error?.message) && /Jupyter/.test(cp.error?.message), cp.error?.message);

      const nm = await run(1, 'globalThis.require("child_process").execSync("ls");');
      check("a part of kernel-model that needs a Node module fails where it is used, naming the module", !nm.ok && /Node's child_process/.test(nm.error?.message), nm.error?.message);
      await page.evaluate(() => window.book.reset(1));
      check("a cell that failed runs again after Reset", (await run(1)).text === want[1].text);

      // Shift+Enter in an edited cell
      const code = page.locator("main .cell").nth(3).locator("pre.code code");
      await code.click();
      await page.keyboard.press("ControlOrMeta+A");
      await page.keyboard.type('console.log("typed " + (6 * 7));');
      await page.keyboard.press("Shift+Enter");
      await page.waitForFunction(() => /ran in|error|not run/.test(window.book.cells[3].element.querySelector(".live-status").textContent));
      const typed = await page.evaluate(() => window.book.printedText(window.book.cells[3].element.querySelector(".cell-out")));
      check("Shift+Enter runs the edited cell", typed === "typed 42\n", JSON.stringify(typed));

      // a long cell: progress, Stop, and the cells above rerun on the next run
      await page.evaluate(() => void (window.__long = window.book.run(3, "let spins = 0;\nwhile (true) spins++;")));
      await page.waitForFunction(() => /running \d+\.\d+ s/.test(window.book.cells[3].element.querySelector(".live-status").textContent), null, { timeout: 10_000 });
      await page.waitForTimeout(1200);
      const status = await page.evaluate(() => window.book.cells[3].element.querySelector(".live-status").textContent);
      check("a long cell shows that it is running, and for how long", /running [1-9]\d*\.\d+ s/.test(status), status);
      const tStop = Date.now();
      await page.locator("main .cell").nth(3).locator("button.live-stop").click();
      const stopped = await page.evaluate(() => window.__long);
      check("Stop ends a cell that never returns", stopped.stopped === true && Date.now() - tStop < 3000, `${JSON.stringify(stopped)} after ${Date.now() - tStop} ms`);
      await page.evaluate(() => window.book.reset(3));
      const after = await run(3);
      check("after Stop, the next run reruns the cells above first and prints the build's text", after.ok && after.text === want[3].text, firstDifference(want[3].text, after.text));
      check("3.2 page: no console error, page error or request outside the book", problems.length === 0, problems.join("; "));
    }

    // ---- §3.5: a different BURST, and the progress of a sweep ----
    const s35 = pages.find((p) => p.startsWith("3.5-"));
    if (s35) {
      problems = [];
      await open(s35);
      const want = await page.evaluate(BUILD_OUTPUT);
      const p0 = await page.evaluate(() => window.book.cells[0].bookSource);
      await run(0, p0.replace(/const BURST = \d+;/, "const BURST = 8;"));
      await page.evaluate(() => void (window.__sweep = window.book.run(1)));
      const progress = await page.waitForFunction(() => {
        const s = window.book.cells[1].element.querySelector(".live-status").textContent;
        return /\d+\/\d+ runs/.test(s) ? s : null; // ours (sweep: 3/8 runs) or sweepProgress's line
      }, null, { timeout: 60_000, polling: 20 }).then((h) => h.jsonValue(), () => null);
      check("a sweep shows its progress under the cell", !!progress, String(progress));
      await page.evaluate(() => window.__sweep);
      const r = await run(2);
      const epoll = [...r.text.matchAll(/^epoll\s+conns\s+(\d+): ([\d.]+) voluntary/gm)].map((m) => Number(m[2]));
      check("3.5 BURST = 8 changes the result", r.ok && r.text !== want[2].text, r.text.slice(0, 200));
      check("3.5 BURST = 8: epoll pays about 1/BURST switches per message at every connection count",
        epoll.length >= 2 && epoll.every((v) => v > 0.8 / 8 && v < 1.25 / 8), epoll.join(", "));
      check("3.5 page: no console error, page error or request outside the book", problems.length === 0, problems.join("; "));
    }

    const outside = requests.filter((u) => !u.startsWith(bookUrl) && !u.startsWith("blob:"));
    check("every request is a file of the book (or the worker's blob:)", outside.length === 0, outside.slice(0, 5).join(", "));
  } finally {
    await ctx.close();
    rmSync(userDataDir, { recursive: true, force: true });
  }

  // ---- without JavaScript: the build's page, no live controls ----
  const b = await chromium.launch({ executablePath: exe, headless: true, args: ARGS });
  try {
    const nojs = await b.newContext({ javaScriptEnabled: false, offline: true });
    const p = await nojs.newPage();
    for (const f of pages.slice(0, 3)) {
      await p.goto(url(f));
      const info = await p.evaluate(() => ({ outs: document.querySelectorAll(".cell .cell-out").length, bars: document.querySelectorAll(".live-bar, .live-intro").length }));
      check(`${f} without JavaScript: the build's outputs, no live controls`, info.outs > 0 && info.bars === 0, JSON.stringify(info));
    }
  } finally {
    await b.close();
  }

  const total = timings.reduce((a, t) => ({ page: a.page + t.pageMs, build: a.build + t.buildMs }), { page: 0, build: 0 });
  log(`live: every cell of ${timings.length} pages in ${sec(total.page)} in the page, ${sec(total.build)} on tslab; ` +
    `cells under 1 s on tslab that took 2 s or more here: ${timings.flatMap((t) => t.slow.map((s) => `${t.f} ${s}`)).join(", ") || "none"}`);
  return results;
}

function firstDifference(a, b) {
  if (a === b) return "";
  let i = 0;
  while (i < a.length && a[i] === b[i]) i++;
  const line = a.slice(0, i).split("\n").length;
  return `first difference at line ${line}: build ${JSON.stringify(a.slice(i, i + 80))}, page ${JSON.stringify(b.slice(i, i + 80))}`;
}
