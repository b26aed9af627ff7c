#!/usr/bin/env node
// readme.mjs: run every `npx kernel-model ...` command of the README, in order, as a newcomer
// would after the README's set-up commands (npm install && npm run book). Each must exit 0 and
// print something. Run it in a fresh clone after `npm ci && npm run build`:
//   node scripts/test/readme.mjs [--quick]
// --quick divides --msgs by 100 (the commands' behaviour, not their run time, is the point).
// Exit codes: 0 all commands worked, 1 one failed.

import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..", "..");
const quick = process.argv.includes("--quick");

/** The `npx kernel-model` lines of the README's sh blocks, without their comments. */
export function readmeCommands(text) {
  const blocks = [...text.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.split("\n")).map((l) => l.replace(/\s+#.*$/, "").trim()).filter((l) => l.startsWith("npx kernel-model"));
}

const cmds = readmeCommands(readFileSync(path.join(ROOT, "README.md"), "utf8"));
let failed = 0;
for (const c of cmds) {
  const args = c.split(/\s+/).slice(1).map((a, i, all) => (quick && all[i - 1] === "--msgs" ? String(Math.max(10, Math.round(Number(a) / 100))) : a));
  const t = performance.now();
  const r = spawnSync("npx", args, { cwd: ROOT, encoding: "utf8" });
  const ok = r.status === 0 && r.stdout.trim().length > 0;
  if (!ok) failed++;
  process.stdout.write(`${ok ? "ok  " : "FAIL"} ${["npx", ...args].join(" ")} (${((performance.now() - t) / 1000).toFixed(1)} s)` +
    `${ok ? "" : `\n     exit ${r.status}: ${(r.stderr || r.stdout).trim().split("\n")[0]}`}\n`);
}
process.stdout.write(`${cmds.length - failed} of ${cmds.length} README commands worked\n`);
process.exitCode = failed ? 1 : 0;
