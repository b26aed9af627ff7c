// trace-source.test.ts: every location a trace prints is true of the Linux 4.6.2 source.
// Needs ../shared/linux-4.6.2 beside the repository (CI has it); elsewhere it says it skipped.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { backtrace, runTrace, traceNames, walkTrace, SOURCE, type TraceNode } from "kernel-model";
// @ts-expect-error: a plain ES module of the repository's scripts
import { indexSource, sourceRoot } from "../scripts/c-source.mjs";
// @ts-expect-error: a plain ES module of the repository's scripts
import { generate } from "../scripts/gen-lines.mjs";

const repo = join(__dirname, "..", "..");
const root: string | null = sourceRoot(repo);
if (!root) console.warn("trace-source.test.ts: SKIPPED: no ../shared/linux-4.6.2 beside the repository");

/** Every line of a trace with the function whose body it stands in (the nearest call above). */
function framed(roots: readonly TraceNode[]): { n: TraceNode; frame: string; parent: TraceNode | null }[] {
  const out: { n: TraceNode; frame: string; parent: TraceNode | null }[] = [];
  const go = (n: TraceNode, frame: string, parent: TraceNode | null) => {
    out.push({ n, frame, parent });
    n.children.forEach((c) => go(c, n.fn || frame, n));
  };
  roots.forEach((r) => go(r, "", null));
  return out;
}

const at = (loc: string) => ({ file: loc.slice(0, loc.lastIndexOf(":")), line: Number(loc.slice(loc.lastIndexOf(":") + 1)) });

describe.skipIf(!root)("locations against linux-4.6.2", () => {
  const index = root ? indexSource(root) : new Map();

  it("the committed lines.generated.ts is what scripts/gen-lines.mjs derives from the source", () => {
    const { text, unresolved } = generate(repo);
    expect(unresolved, "traced lines whose call is not in the caller's 4.6.2 body").toEqual([]);
    expect(readFileSync(join(__dirname, "..", "src", "kernel", "lines.generated.ts"), "utf8")).toBe(text);
  });

  for (const name of traceNames()) {
    it(`${name}: every frame names a 4.6.2 function and every location lies inside the function it belongs to`, () => {
      const { roots } = runTrace(name);
      const bad: string[] = [];
      const check = (ok: boolean, msg: string): boolean => {
        if (!ok) bad.push(msg);
        return ok;
      };
      for (const { n, frame, parent } of framed(roots)) {
        const where = `${name}: "${n.text}"`;
        if (n.fn) {
          // a call: the callee exists, and its location is its first statement, inside its body
          const f = SOURCE.funcs[n.fn];
          if (!check(f !== undefined && index.get(n.fn)?.some((d: { file: string }) => d.file === f[0]), `${where}: ${n.fn} is not a 4.6.2 function`)) continue;
          const l = at(n.loc ?? ":0");
          check(l.file === f[0] && l.line >= f[2] && l.line <= f[3], `${where}: ${n.loc} outside ${n.fn} (${f[0]}:${f[2]}-${f[3]})`);
        } else if (parent) {
          // a statement that starts with a kernel function's name must be that function's frame
          const m = /^(?:[\w>.\-[\]*]+\s*=\s*)?([A-Za-z_]\w*)\(/.exec(n.text);
          check(!(m && index.has(m[1])), `${where}: names ${m?.[1]} but is not its frame (fn unset)`);
        }
        // the call site: inside the body of the function that makes the call
        const indirect = n.fn && parent && !parent.fn && parent !== null;
        if (parent && frame && !indirect && !(n.text.startsWith("..."))) {
          const f = SOURCE.funcs[frame];
          if (!check(n.site !== undefined && f !== undefined, `${where}: no call site in ${frame}`)) continue;
          const l = at(n.site!);
          check(l.file === f[0] && l.line >= f[2] && l.line <= f[3], `${where}: site ${n.site} outside ${frame} (${f[0]}:${f[2]}-${f[3]})`);
        }
      }
      expect(bad).toEqual([]);
    });
  }

  it("--break reproduces the seed's two backtraces line for line (paths as linux-4.6.2/...)", () => {
    const seedFile = join(root!, "..", "seed", "000_ebaf1b1ebea0567c.txt");
    const seed = readFileSync(seedFile, "utf8").split("\n").filter((l) => /^\w+\(.*\) \(\\home\\ubuntu\\linux-4\.6\.2\\/.test(l))
      .map((l) => l.replace(/\\home\\ubuntu\\linux-4\.6\.2\\([^)]*)/, (_, p: string) => `linux-4.6.2/${p.split("\\").join("/")}`));
    expect(seed).toHaveLength(12);
    const got = [...backtrace(runTrace("socket-udp").roots, "inet_create", SOURCE)!, ...backtrace(runTrace("read-block-tcp").roots, "sk_wait_data", SOURCE)!];
    expect(got).toEqual(seed);
  });
});

if (!root) {
  describe("locations against linux-4.6.2", () => {
    it.skip("SKIPPED: ../shared/linux-4.6.2 is not beside the repository", () => undefined);
  });
}
