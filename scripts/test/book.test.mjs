// The book machinery end to end, on the fixture chapters in fixtures/, through the real tslab
// kernel: the Jupyter client, a book build that works, and one that fails at a cell.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startKernel } from "../jupyter/kernel.mjs";
import { locateError, matchLine } from "../jupyter/locate.mjs";
import { shorthandHint } from "../jupyter/run.mjs";
import { slugify } from "../lib/render.mjs";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");
const FIXTURES = path.join(HERE, "fixtures");

function book(args) {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [path.join(ROOT, "scripts", "book.mjs"), "--no-build", "--no-notebooks", ...args], {
      cwd: ROOT, env: { ...process.env, FORCE_COLOR: "0" },
    });
    let stdout = "";
    let stderr = "";
    p.stdout.on("data", (d) => (stdout += d));
    p.stderr.on("data", (d) => (stderr += d));
    p.on("close", (code) => resolve({ code, stdout, stderr }));
  });
}

describe("Jupyter client on the tslab kernel", () => {
  let k;
  beforeAll(async () => {
    k = await startKernel({ cwd: path.join(FIXTURES, "ok") });
  });
  afterAll(async () => {
    await k?.shutdown();
  });

  it("runs a cell that imports kernel-model and returns its stdout", async () => {
    const r = await k.execute('import {Kernel} from "kernel-model";\nconst k = new Kernel({cpus: 3});\nconsole.log("cpus", k.rqs.length);');
    expect(r.status).toBe("ok");
    expect(r.stdout).toBe("cpus 3\n");
  });

  it("keeps state between cells and gets text/html display data", async () => {
    const r = await k.execute('import * as tslab from "tslab";\ntslab.display.html(`<svg width="1" height="1"></svg> ${k.rqs.length}`);');
    expect(r.outputs).toEqual([{ output_type: "display_data", data: { "text/html": '<svg width="1" height="1"></svg> 3' }, metadata: {} }]);
  });

  it("reports a failing cell as status error with the compiler's message on stderr", async () => {
    const r = await k.execute("const n: number = 'x';");
    expect(r.status).toBe("error");
    expect(r.stderr).toMatch(/^1:7 - Type 'string' is not assignable to type 'number'/);
  });

  it("shuts the kernel process down", async () => {
    await new Promise((r) => setTimeout(r, 250)); // tslab drops requests for 200 ms after an error
    await k.shutdown();
    expect(k.exited).not.toBeNull();
    k = null;
  });
});

describe("where a failing cell failed", () => {
  it("compile errors: the line tslab names", async () => {
    const loc = await locateError({ cells: ["let a = 1;\n\nconsole.log(a.foo);"], index: 0, stderr: "3:15 - Property 'foo' does not exist on type 'number'.\n", cwd: ROOT });
    expect(loc).toEqual({ line: 3, message: "3:15 - Property 'foo' does not exist on type 'number'." });
  });

  it("runtime errors thrown in the cell: the cell line that matches the compiled line", async () => {
    const stderr = 'evalmachine.<anonymous>:6\n    throw new Error("boom");\n    ^\n\nError: boom\n    at f (evalmachine.<anonymous>:6:11)\n';
    const loc = await locateError({ cells: ['const z = 1;\nfunction f() {\n  throw new Error("boom");\n}\nf();'], index: 0, stderr, cwd: ROOT });
    expect(loc).toEqual({ line: 3, message: "Error: boom" });
  });

  it("undoes tslab's rewrites when matching lines", () => {
    const src = 'import {formatTrace} from "kernel-model";\nconst t = k.tr!.roots;\nconsole.log(formatTrace(t));';
    expect(matchLine(src, "exports.tsLastExpr = console.log((0, kernel_model_1.formatTrace)(exports.t));")).toBe(3);
    expect(matchLine(src, "something else entirely")).toBeNull();
  });

  it("explains tslab's shorthand-property gap", () => {
    expect(shorthandHint("ReferenceError: cpus is not defined", ["const cpus = 2;"])).toMatch(/write \{cpus: cpus\}/);
    expect(shorthandHint("ReferenceError: cpus is not defined", ["const x = 2;"])).toBe("");
  });

  it("heading ids keep Chinese characters", () => {
    expect(slugify("3.2 socket的直接创建 · Creating a socket")).toBe("3.2-socket的直接创建-creating-a-socket");
  });
});

describe("npm run book on fixture chapters", () => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), "book-test-"));
  const out = path.join(tmp, "book");
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));

  it("runs every cell and writes the pages with their outputs", async () => {
    const r = await book(["--chapters", path.join(FIXTURES, "ok"), "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out).sort()).toEqual(["1.0-hello.html", "assets", "build.json", "index.html"]);
    const html = readFileSync(path.join(out, "1.0-hello.html"), "utf8");
    expect(html).toContain('<pre class="output stdout">socket() = 3\n</pre>');
    expect(html).toMatch(/<div class="cell" id="cell-2" data-expect="figure">[\s\S]*<div class="output html"><svg /);
    expect(html).toContain('id="图-a-figure"');
    const index = readFileSync(path.join(out, "index.html"), "utf8");
    expect(index).toContain('href="1.0-hello.html#图-a-figure"');
    expect(r.stderr).toMatch(/1\.0-hello +2 cells +\d+\.\d s/);
    expect(r.stderr).toMatch(/book: total \d+\.\d s/);
  });

  it("stops at a failing cell with the chapter, cell, line and message, exit 1, previous book intact", async () => {
    const before = readFileSync(path.join(out, "index.html"), "utf8");
    const r = await book(["--chapters", path.join(FIXTURES, "fail"), "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("fixtures/fail/1.1-broken.md:12: code cell 2 of 3 failed");
    expect(r.stderr).toContain("> const bad = new Kernel({cpus: cpus});");
    expect(r.stderr).toMatch(/\n  RangeError: .*cpus/); // the message kernel-model throws, without the stack
    expect(r.stderr).not.toContain("never run");
    expect(r.stderr).not.toMatch(/^\s+at /m); // no stack trace, just the message
    expect(readFileSync(path.join(out, "index.html"), "utf8")).toBe(before);
    expect(existsSync(path.join(out, "1.1-broken.html"))).toBe(false);
    expect(readdirSync(tmp)).toEqual(["book"]); // no temp folder left behind
  });

  it("rejects a bad argument with exit code 2, naming it", async () => {
    const r = await book(["--jobs", "zero"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--jobs must be a positive number");
  });
});
