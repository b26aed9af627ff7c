// The live book's cell compiler (scripts/live/compile.js) in Node: tslab's semantics for cells
// that share one scope. The same code runs in the page's worker (scripts/test/live.mjs runs the
// book's cells there).
import { describe, expect, it } from "vitest";
import { CellSyntaxError, compileCell } from "../live/compile.js";

/** A tiny kernel: one scope, cells run in order, like scripts/live/worker.js does. */
function kernel(modules = {}) {
  const scope = Object.create(null);
  const require = (m) => {
    if (m in modules) return modules[m];
    throw new Error(`Cannot find module '${m}'`);
  };
  const interop = (m) => (m && m.__esModule ? m : { ...m, default: m });
  let n = 0;
  return async (source) => {
    const c = compileCell(source, { name: `cell-${++n}` });
    for (const x of c.names) if (!(x in scope)) scope[x] = undefined;
    return (0, eval)(c.code)(scope, require, { cwd: () => "/" }, interop);
  };
}

describe("compileCell: cells share declarations as in tslab", () => {
  it("a later cell sees an earlier cell's const, let, function and class", async () => {
    const run = kernel();
    await run("const a: number = 1;\nlet b = 2;\nfunction twice(x: number) { return 2 * x; }\nclass P { v = 7 }");
    expect(await run("twice(a + b) + new P().v")).toBe(13);
  });

  it("re-running a cell that redeclares const x assigns it again", async () => {
    const run = kernel();
    await run("const x = 1;");
    await run("const x = 5;");
    expect(await run("x")).toBe(5);
  });

  it("functions are hoisted within the cell and closures see later redeclarations", async () => {
    const run = kernel();
    await run("const K = 3;\nconst r = f();\nfunction f() { return K * 2; }");
    expect(await run("[r, f()]")).toEqual([6, 6]);
    await run("const K = 10;");
    expect(await run("f()")).toBe(20);
  });

  it("destructuring declarations, and `let x;` resets x", async () => {
    const run = kernel();
    await run("const {a, b: [c, ...d], e = 4} = {a: 1, b: [2, 3, 5]};\nlet z = 9;");
    expect(await run("[a, c, d, e]")).toEqual([1, 2, [3, 5], 4]);
    await run("let z;");
    expect(await run("z")).toBeUndefined();
  });

  it("imports: named (renamed), namespace and default, kept for later cells even when unused", async () => {
    const mod = { Kernel: "K", SOCK_STREAM: 1 };
    const run = kernel({ "kernel-model": mod, fs: { readFileSync: () => "text" } });
    await run('import {Kernel, SOCK_STREAM as S, type Sys} from "kernel-model";\nimport * as km from "kernel-model";\nimport fs from "fs";\nimport type {X} from "nowhere";');
    expect(await run("[Kernel, S, km.SOCK_STREAM, fs.readFileSync()]")).toEqual(["K", 1, 1, "text"]);
  });

  it("an import of a module the page lacks fails when the cell runs", async () => {
    const run = kernel({});
    await expect(run('import {execSync} from "child_process";')).rejects.toThrow(/child_process/);
  });

  it("types are stripped: annotations, as, !, satisfies, enums", async () => {
    const run = kernel();
    expect(await run("enum E { A, B }\nconst v = ({n: 2} as {n: number})!.n satisfies number;\n[E.B, v]")).toEqual([1, 2]);
  });

  it("the last expression's value is returned (the runtime prints it), declarations return nothing", async () => {
    const run = kernel();
    expect(await run("const q = 3;")).toBeUndefined();
    expect(await run("q * 2")).toBe(6);
    expect(await run("for (const i of [1]) i;")).toBeUndefined();
  });

  it("top-level await works", async () => {
    const run = kernel();
    expect(await run("const v = await Promise.resolve(41);\nv + 1")).toBe(42);
  });

  it("line numbers are kept: a runtime error's frame names the cell's line, even after a multi-line import", async () => {
    const run = kernel({ m: { a: 1, b: 2 } });
    const err = await run('import {\n  a,\n  b,\n} from "m";\nconst ok = a + b;\nconst bad = (null as any).x;').catch((e) => e);
    expect(err).toBeInstanceOf(TypeError);
    expect(String(err.stack)).toMatch(/cell-1\.ts:6:\d+/);
  });

  it("a syntax error names its line in the cell", () => {
    let e;
    try {
      compileCell("const a = 1;\nconst = 2;");
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(CellSyntaxError);
    expect(e.line).toBe(2);
  });
});
