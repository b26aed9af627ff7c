// The live book's script (scripts/live/build.mjs): one classic script of a few MB, with the
// file snapshot the chapters read. Chromium runs it in scripts/test/live.mjs.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import vm from "node:vm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildLive, VIRTUAL_ROOT } from "../live/build.mjs";

describe("assets/live.js", () => {
  let dir;
  let r;
  let text;
  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), "live-build-"));
    r = buildLive({ outDir: dir });
    text = readFileSync(r.file, "utf8");
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("is a classic script (Chromium runs no ES module from file://)", () => {
    expect(() => new vm.Script(text, { filename: "live.js" })).not.toThrow();
  });

  it("stays within a few MB (no jsdom, no TypeScript compiler in the page)", () => {
    expect(r.bytes).toBeLessThan(4_000_000);
    expect(text).not.toMatch(/\bJSDOM\.fromURL\b|\bts\.createProgram\b/);
  });

  it("carries the probe reference run for §3.6, at its path in the virtual checkout", () => {
    expect(r.files).toContain(`${VIRTUAL_ROOT}/scripts/probe/reference.json`);
    const files = new vm.Script(`${text.slice(text.indexOf("var __liveFiles"), text.indexOf(";\n", text.indexOf("var __liveFiles")))}; __liveFiles`).runInNewContext({});
    const ref = JSON.parse(files.files[`${VIRTUAL_ROOT}/scripts/probe/reference.json`].text);
    expect(Array.isArray(ref.runs)).toBe(true);
  });

  it("keeps function names: the model prints them (sk->sk_data_ready = sock_def_readable)", () => {
    // esbuild's keepNames: minified `function pS(...)` followed by `s(pS, "sock_def_readable")`
    expect(text).toMatch(/[\w$]+\([\w$]+,"sock_def_readable"\)/);
  });
});
