// The notebooks are generated from the chapters: committed notebooks must match what their
// chapter generates, cell ids must be unique and stable, and the conversion must put exactly
// the ```ts blocks into code cells.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cellId, compareChapterNames, listChapters, notebookJson, parseChapter, toNotebook } from "../lib/chapters.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHAPTERS = path.join(ROOT, "chapters");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const chapters = listChapters(CHAPTERS);

describe("committed notebooks", () => {
  it("there is at least one chapter", () => {
    expect(chapters.length).toBeGreaterThan(0);
  });

  it.each(chapters.map((c) => [c.name, c]))("notebooks/%s.ipynb is what its chapter generates", (name, ch) => {
    const want = notebookJson(parseChapter(readFileSync(ch.file, "utf8"), name));
    let have;
    try {
      have = readFileSync(path.join(NOTEBOOKS, `${name}.ipynb`), "utf8");
    } catch {
      throw new Error(`notebooks/${name}.ipynb is missing: run npm run notebooks`);
    }
    if (have !== want) throw new Error(`notebooks/${name}.ipynb is out of date with chapters/${name}.md: run npm run notebooks`);
  });

  it("every notebook has a chapter", () => {
    const names = new Set(chapters.map((c) => c.name));
    const orphans = readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb") && !names.has(f.slice(0, -6)));
    expect(orphans, "notebooks without a chapter (run npm run notebooks)").toEqual([]);
  });

  it.each(chapters.map((c) => [c.name, c]))("%s: tslab kernelspec, no outputs, unique valid cell ids", (name) => {
    const nb = JSON.parse(readFileSync(path.join(NOTEBOOKS, `${name}.ipynb`), "utf8"));
    expect(nb.nbformat).toBe(4);
    expect(nb.nbformat_minor).toBe(5);
    expect(nb.metadata.kernelspec).toEqual({ name: "tslab", display_name: "TypeScript", language: "typescript" });
    const ids = nb.cells.map((c) => c.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[a-zA-Z0-9_-]{1,64}$/);
    for (const c of nb.cells.filter((c) => c.cell_type === "code")) {
      expect(c.outputs).toEqual([]);
      expect(c.execution_count).toBeNull();
    }
  });

  it.each(chapters.map((c) => [c.name, c]))("%s: has an H1 title", (name, ch) => {
    expect(parseChapter(readFileSync(ch.file, "utf8"), name).title).not.toBe(name);
  });
});

describe("chapter -> notebook conversion", () => {
  const text = [
    "# 3.9 标题 · Title",
    "",
    "Intro with `code`.",
    "",
    "```ts",
    'import {Kernel} from "kernel-model";',
    "const k = new Kernel();",
    "```",
    "",
    "## Second heading",
    "",
    "```text",
    "not a cell",
    "```",
    "",
    "- a list with a fence inside",
    "",
    "  ```ts",
    "  also not a cell",
    "  ```",
    "",
    "```typescript",
    "console.log(1);",
    "```",
    "",
  ].join("\n");
  const ch = parseChapter(text, "3.9-test");

  it("```ts and ```typescript top-level blocks become code cells; everything else markdown", () => {
    expect(ch.cells.map((c) => c.cell_type)).toEqual(["markdown", "code", "markdown", "code"]);
    expect(ch.cells[1].source).toBe('import {Kernel} from "kernel-model";\nconst k = new Kernel();');
    expect(ch.cells[2].source).toContain("```text\nnot a cell\n```");
    expect(ch.cells[2].source).toContain("also not a cell");
    expect(ch.cells[3].source).toBe("console.log(1);");
  });

  it("markdown cells start at headings, the title is the H1, lines point into the chapter", () => {
    expect(ch.title).toBe("3.9 标题 · Title");
    expect(ch.cells[0].source).toBe("# 3.9 标题 · Title\n\nIntro with `code`.");
    expect(ch.cells[2].source.startsWith("## Second heading")).toBe(true);
    expect(ch.cells[1].line).toBe(6); // first line of the code, after the fence line
    expect(ch.cells[3].line).toBe(23);
  });

  it("writes nbformat 4.5 as Jupyter does: 1-space indent, sorted keys, UTF-8, final newline", () => {
    const json = notebookJson(ch);
    expect(json.endsWith("}\n")).toBe(true);
    expect(json.startsWith('{\n "cells": [\n  {\n   "cell_type": "markdown",\n   "id": ')).toBe(true);
    expect(json).toContain("标题"); // not \u escapes
    const nb = JSON.parse(json);
    expect(nb.cells[1].source).toEqual(['import {Kernel} from "kernel-model";\n', "const k = new Kernel();"]);
    expect(Object.keys(nb.cells[1])).toEqual(["cell_type", "execution_count", "id", "metadata", "outputs", "source"]);
  });

  it("cell ids are deterministic: same chapter name and index, same id", () => {
    expect(toNotebook(ch).cells.map((c) => c.id)).toEqual(toNotebook(parseChapter(text, "3.9-test")).cells.map((c) => c.id));
    expect(cellId("3.2-socket-create", 0)).toBe("9272de659c7675ed");
    expect(cellId("3.2-socket-create", 1)).not.toBe(cellId("3.2-socket-create", 0));
    expect(cellId("3.3-blocking", 0)).not.toBe(cellId("3.2-socket-create", 0));
  });

  it("chapters are ordered by their section numbers", () => {
    const names = ["3.10-x", "3.3.1-waiting", "3.2-socket-create", "3.3-blocking", "3.0-introduction", "3.4.4-data-ready", "3.4-epoll"];
    expect([...names].sort(compareChapterNames)).toEqual([
      "3.0-introduction", "3.2-socket-create", "3.3-blocking", "3.3.1-waiting", "3.4-epoll", "3.4.4-data-ready", "3.10-x",
    ]);
  });
});
