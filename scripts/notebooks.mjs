#!/usr/bin/env node
// notebooks.mjs: chapters/*.md -> notebooks/*.ipynb (the chapters are the source of truth).
//
//   node scripts/notebooks.mjs            write every notebook that differs; delete notebooks
//                                         whose chapter is gone; print what changed
//   node scripts/notebooks.mjs --check    change nothing; exit 1 and list the notebooks that
//                                         are out of date (what the test checks)
//   --chapters DIR --notebooks DIR        other folders (default chapters/ and notebooks/)
//
// Exit codes: 0 ok, 1 out of date (--check), 2 bad argument.

import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { listChapters, notebookJson, parseChapter } from "./lib/chapters.mjs";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/**
 * Compare (and unless check, write) the notebooks of every chapter.
 * @returns {{changed: string[], removed: string[], unchanged: string[]}} notebook paths
 */
export function syncNotebooks({ chaptersDir, notebooksDir, check = false }) {
  const res = { changed: [], removed: [], unchanged: [] };
  if (!check) mkdirSync(notebooksDir, { recursive: true });
  const names = new Set();
  for (const ch of listChapters(chaptersDir)) {
    names.add(ch.name);
    const want = notebookJson(parseChapter(readFileSync(ch.file, "utf8"), ch.name));
    const file = path.join(notebooksDir, `${ch.name}.ipynb`);
    const have = existsSync(file) ? readFileSync(file, "utf8") : null;
    if (have === want) {
      res.unchanged.push(file);
      continue;
    }
    res.changed.push(file);
    if (!check) writeFileSync(file, want);
  }
  if (existsSync(notebooksDir)) {
    for (const f of readdirSync(notebooksDir)) {
      if (!f.endsWith(".ipynb") || names.has(f.slice(0, -6))) continue;
      const file = path.join(notebooksDir, f);
      res.removed.push(file);
      if (!check) rmSync(file);
    }
  }
  return res;
}

function main(argv) {
  let check = false;
  let chaptersDir = path.join(ROOT, "chapters");
  let notebooksDir = path.join(ROOT, "notebooks");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--check") check = true;
    else if (a === "--chapters" && argv[i + 1]) chaptersDir = path.resolve(argv[++i]);
    else if (a === "--notebooks" && argv[i + 1]) notebooksDir = path.resolve(argv[++i]);
    else if (a === "--help" || a === "-h") {
      console.log("usage: node scripts/notebooks.mjs [--check] [--chapters DIR] [--notebooks DIR]");
      return 0;
    } else {
      console.error(`notebooks: unknown argument ${a}`);
      return 2;
    }
  }
  const res = syncNotebooks({ chaptersDir, notebooksDir, check });
  const rel = (f) => path.relative(process.cwd(), f);
  if (check) {
    for (const f of res.changed) console.error(`out of date: ${rel(f)} (run npm run notebooks)`);
    for (const f of res.removed) console.error(`no chapter for: ${rel(f)} (run npm run notebooks)`);
    if (res.changed.length || res.removed.length) return 1;
    console.log(`${res.unchanged.length} notebooks in sync with their chapters`);
    return 0;
  }
  for (const f of res.changed) console.log(`wrote ${rel(f)}`);
  for (const f of res.removed) console.log(`removed ${rel(f)} (its chapter is gone)`);
  console.log(`${res.changed.length} written, ${res.removed.length} removed, ${res.unchanged.length} unchanged`);
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = main(process.argv.slice(2));
}
