// The chapters as a reader of the printed book checks them: every figure of the printed
// chapter (图3.1-图3.26) has a live counterpart named in a caption under a cell that draws or
// prints it; every section with exercises folds its answers; the HTML marks Chinese and links
// § references; a build without answers drops exactly the answer cells.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { listChapters, parseChapter, toNotebook } from "../lib/chapters.mjs";
import { postProcess, renderOutput, stripAnswers } from "../lib/render.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const chapters = listChapters(path.join(ROOT, "chapters")).map((c) => ({ ...c, text: readFileSync(c.file, "utf8") }));

describe("the printed chapter's figures", () => {
  it("each of 图3.1 to 图3.26 is named in a live caption right after a code cell", () => {
    const named = new Map();
    for (const c of chapters) {
      // a caption: an italic paragraph starting "*Live 图3.x", after the closing fence of a cell
      for (const m of c.text.matchAll(/```\n\n\*Live ([^*]+)\*/g)) {
        for (const f of m[1].matchAll(/图3\.(\d+)/g)) named.set(Number(f[1]), c.name);
      }
    }
    const missing = Array.from({ length: 26 }, (_, i) => i + 1).filter((n) => !named.has(n));
    expect(missing).toEqual([]);
  });
  it("the book's sections are all here: 3.1 to 3.5 with 3.3.3 and 3.4.5", () => {
    const names = chapters.map((c) => c.name.split("-")[0]);
    for (const n of ["3.1", "3.2", "3.3", "3.3.1", "3.3.2", "3.3.3", "3.4", "3.4.1", "3.4.2", "3.4.3", "3.4.4", "3.4.5", "3.5"]) expect(names).toContain(n);
  });
});

describe("answers", () => {
  it("every section with exercises (but 3.6) folds its answers in one block after them", () => {
    for (const c of chapters.filter((c) => c.text.includes("## Exercises") && !c.name.startsWith("3.6"))) {
      const ex = c.text.indexOf("## Exercises");
      const open = c.text.indexOf('<details class="answer">');
      expect(open, c.name).toBeGreaterThan(ex);
      expect(c.text.slice(ex, open), c.name).not.toMatch(/^```ts/m); // no answer cell before the fold
      expect(c.text.trimEnd().endsWith("</details>"), c.name).toBe(true);
    }
  });
  it("without answers, the answer cells go and every other cell keeps its line", () => {
    const c = chapters.find((x) => x.name.startsWith("3.3.1"));
    const full = parseChapter(c.text, c.name);
    const bare = parseChapter(stripAnswers(c.text), c.name);
    const code = (ch) => ch.cells.filter((x) => x.cell_type === "code");
    expect(code(bare).length).toBe(code(full).length - code(full).filter((x) => x.answer).length);
    expect(code(full).filter((x) => x.answer).length).toBeGreaterThan(0);
    expect(code(bare).map((x) => x.line)).toEqual(code(full).filter((x) => !x.answer).map((x) => x.line));
    expect(bare.cells.some((x) => /Answer to/.test(x.source))).toBe(false);
  });
  it("notebooks collapse the answer cells and drop the <details> markers", () => {
    const c = chapters.find((x) => x.name.startsWith("3.3.1"));
    const nb = toNotebook(parseChapter(c.text, c.name));
    const ans = nb.cells.filter((x) => x.metadata.tags?.includes("answer"));
    expect(ans.length).toBeGreaterThan(1);
    for (const a of ans) expect(a.metadata.jupyter).toEqual({ outputs_hidden: true, source_hidden: true });
    expect(nb.cells.some((x) => x.source.join("").includes("<details"))).toBe(false);
  });
});

describe("HTML text", () => {
  it("marks the book's Chinese with lang and links § references, not inside code or SVG", () => {
    const html = postProcess('<p>同步阻塞 blocking, §3.4.2</p><code>§3.4.2 中文</code><svg><text>中文</text></svg>', new Map([["3.4.2", "3.4.2-epoll-ctl.html"]]));
    expect(html).toContain('<span lang="zh-Hans">同步阻塞</span> blocking, <a class="xref" href="3.4.2-epoll-ctl.html">§3.4.2</a>');
    expect(html).toContain('<code>§3.4.2 <span lang="zh-Hans">中文</span></code>');
    expect(html).toContain("<svg><text>中文</text></svg>");
  });
  it("a call tree's lines carry their tree indent, so wrapped lines stay under their node", () => {
    const html = renderOutput({ output_type: "stream", name: "stdout", text: "a()\n|-b()\n  |-c() // x\n" });
    expect(html).toContain('class="output stdout trace"');
    expect(html).toContain('<span class="tl" style="--ind:2ch">|-b()</span>');
    expect(html).toContain('<span class="tl" style="--ind:4ch">  |-c() // x</span>');
  });
});
