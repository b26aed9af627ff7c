#!/usr/bin/env node
// jupyter.mjs: `npm run jupyter`: read the notebooks in Jupyter, with the tslab kernel
// registered for this checkout only (nothing is written outside it).
//
//   npm run jupyter                      register the kernel, open notebooks/ in Jupyter
//   npm run jupyter -- --no-browser      other arguments go to `jupyter notebook`
//   npm run jupyter -- --install         only register the kernel (in .jupyter/)
//   npm run jupyter -- --execute [NB...] run notebooks with real Jupyter (nbconvert), errors
//                                        not allowed; results go to .jupyter/executed/ (or
//                                        --output-dir DIR), never over the committed notebooks
//   --python PATH                        the python that has Jupyter (default /usr/bin/python3)
//
// The kernel is registered with `tslab install --prefix <checkout>/.jupyter --binary
// <checkout>/node_modules/.bin/tslab`, and Jupyter is run with JUPYTER_PATH pointing at
// <checkout>/.jupyter/share/jupyter, so only this checkout's Jupyter sees it.
// Exit codes: 0 ok, 1 Jupyter missing or a notebook failed, 2 bad argument.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const PREFIX = path.join(ROOT, ".jupyter");
const JUPYTER_PATH = path.join(PREFIX, "share", "jupyter");
const NOTEBOOKS = path.join(ROOT, "notebooks");
const TSLAB = path.join(ROOT, "node_modules", ".bin", "tslab");
const APT = "apt-get install -y jupyter-notebook jupyter-nbconvert python3-ipykernel";

/** Jupyter's environment: our kernelspec first; runtime files (connection files) in .jupyter/. */
function env() {
  const prev = process.env.JUPYTER_PATH;
  return {
    ...process.env,
    JUPYTER_PATH: prev ? `${JUPYTER_PATH}${path.delimiter}${prev}` : JUPYTER_PATH,
    JUPYTER_RUNTIME_DIR: path.join(PREFIX, "runtime"),
  };
}

/** Is there a Jupyter (with `notebook` and `nbconvert`) for this python? */
function checkJupyter(python, need) {
  const r = spawnSync(python, ["-c", `import jupyter_core, ${need}`], { encoding: "utf8" });
  if (r.status === 0) return true;
  process.stderr.write(
    `jupyter: no Jupyter ${need} for ${python}${r.error ? ` (${r.error.code})` : ""}.\n` +
      `Install it (Debian/Ubuntu, as root):\n  apt-get update && ${APT}\n` +
      `or point --python at a python that has it.\n`,
  );
  return false;
}

/** Register the tslab kernelspec under .jupyter/ (idempotent). */
export function installKernel(python) {
  if (!existsSync(TSLAB)) {
    process.stderr.write(`jupyter: ${path.relative(process.cwd(), TSLAB)} is missing: run npm install first\n`);
    return false;
  }
  const r = spawnSync(TSLAB, ["install", `--python=${python}`, `--prefix=${PREFIX}`, `--binary=${TSLAB}`], { encoding: "utf8" });
  if (r.status !== 0) {
    process.stderr.write(`jupyter: tslab install failed:\n${r.stdout}${r.stderr}`);
    return false;
  }
  const spec = path.join(JUPYTER_PATH, "kernels", "tslab", "kernel.json");
  if (!existsSync(spec)) {
    process.stderr.write(`jupyter: tslab install did not write ${spec}\n`);
    return false;
  }
  const argv = JSON.parse(readFileSync(spec, "utf8")).argv;
  process.stderr.write(`jupyter: tslab kernel registered in ${path.relative(process.cwd(), spec)}: ${argv.join(" ")}\n`);
  return true;
}

/** Execute notebooks with nbconvert, one after the other; stop at the first failure. */
function executeNotebooks(python, files, outDir) {
  const list = files.length ? files.map((f) => path.resolve(f)) : readdirSync(NOTEBOOKS).filter((f) => f.endsWith(".ipynb")).sort().map((f) => path.join(NOTEBOOKS, f));
  if (list.length === 0) {
    process.stderr.write("jupyter: no notebooks to run\n");
    return 1;
  }
  const out = path.resolve(outDir ?? path.join(PREFIX, "executed"));
  mkdirSync(out, { recursive: true });
  const T0 = performance.now();
  let ok = 0;
  for (const nb of list) {
    const t = performance.now();
    const r = spawnSync(python, [
      "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute",
      "--ExecutePreprocessor.kernel_name=tslab", "--ExecutePreprocessor.timeout=120",
      "--output-dir", out, nb,
    ], { env: env(), encoding: "utf8" });
    const s = ((performance.now() - t) / 1000).toFixed(1);
    const name = path.relative(process.cwd(), nb);
    if (r.status !== 0) {
      process.stderr.write(`${r.stdout}${r.stderr}\njupyter: FAILED ${name} (nbconvert exit ${r.status ?? r.signal}, ${s} s)\n`);
      process.stdout.write(`${ok} passed, 1 failed\n`);
      return 1;
    }
    ok++;
    process.stderr.write(`jupyter: ok ${name} (${s} s)\n`);
  }
  process.stderr.write(`jupyter: executed notebooks are in ${out} (${((performance.now() - T0) / 1000).toFixed(1)} s in all)\n`);
  process.stdout.write(`${ok} passed, 0 failed\n`);
  return 0;
}

function main(argv) {
  let python = "/usr/bin/python3";
  let mode = "open";
  let outDir = null;
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--install") mode = "install";
    else if (a === "--execute") mode = "execute";
    else if (a === "--python" && argv[i + 1]) python = argv[++i];
    else if (a === "--output-dir" && argv[i + 1]) outDir = argv[++i];
    else if (a === "--help" || a === "-h") {
      process.stdout.write(`${readFileSync(fileURLToPath(import.meta.url), "utf8").split("\n").filter((l) => l.startsWith("//")).map((l) => l.slice(3)).join("\n")}\n`);
      return Promise.resolve(0);
    } else rest.push(a);
  }
  const files = mode === "execute" ? rest.filter((a) => !a.startsWith("-")) : [];
  const passThrough = mode === "open" ? rest : [];
  const bad = rest.find((a) => !files.includes(a) && !passThrough.includes(a));
  if (bad) {
    process.stderr.write(`jupyter: unknown argument ${bad} (see --help)\n`);
    return Promise.resolve(2);
  }
  if (!checkJupyter(python, mode === "execute" ? "nbconvert" : mode === "open" ? "notebook" : "json")) return Promise.resolve(1);
  if (!installKernel(python)) return Promise.resolve(1);
  if (mode === "install") {
    process.stderr.write(`jupyter: use it with JUPYTER_PATH=${JUPYTER_PATH}\n`);
    return Promise.resolve(0);
  }
  if (mode === "execute") return Promise.resolve(executeNotebooks(python, files, outDir));
  process.stderr.write(
    "jupyter: opening notebooks/ (kernel: TypeScript). After `npm run build`, restart the kernel to see a rebuilt kernel-model.\n",
  );
  const root = process.getuid?.() === 0 ? ["--allow-root"] : []; // Jupyter refuses root without it
  const p = spawn(python, ["-m", "jupyter", "notebook", "--notebook-dir", NOTEBOOKS, ...root, ...passThrough], { env: env(), stdio: "inherit" });
  return new Promise((resolve) => {
    process.on("SIGINT", () => {}); // Jupyter asks for confirmation itself
    p.on("exit", (code, signal) => resolve(code ?? (signal ? 1 : 0)));
    p.on("error", (e) => {
      process.stderr.write(`jupyter: ${e.message}\n`);
      resolve(1);
    });
  });
}

main(process.argv.slice(2)).then((code) => (process.exitCode = code));
