#!/usr/bin/env node
// build.mjs: the live book's one script, assets/live.js, bundled with esbuild. `npm run book`
// calls buildLive() (scripts/book.mjs); run it alone to rebuild the script of a built book:
//
//   node scripts/live/build.mjs [--out book/assets]
//
// live.js is a classic script (Chromium runs no ES module and fetches nothing from file://):
//   function __liveWorkerMain() { <worker.js + kernel-model/dist + Plot + Graphviz + sucrase ...> }
//   var __liveFiles = {...};   // the read-only file snapshot cells can read (FILES below)
//   <page.js>                   // the page runtime: editors, Run/Stop/Reset, window.book
// The page starts the worker from the text of __liveWorkerMain (a Blob URL: no request), so the
// bundle is loaded once per page, from the book's own folder.
//
// Node-only parts of kernel-model are replaced here (esbuild aliases): node:worker_threads ->
// nested Web Workers (shims/worker_threads.js), node:os -> navigator.hardwareConcurrency,
// node:path -> path-browserify. Figures need nothing: kernel-model's createDocument() draws into
// linkedom, which runs as it is in the page: the same DOM in Node and in the page.

import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";
import { builtinModules } from "node:module";

const require = createRequire(import.meta.url);
const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, "..", "..");

/** Where the snapshot puts the checkout, and the cwd cells see (the book runs in notebooks/). */
export const VIRTUAL_ROOT = "/linux-net-ch3";
export const VIRTUAL_CWD = `${VIRTUAL_ROOT}/notebooks`;
/** Files a chapter reads (3.6 reads the newest probe result, else the reference run). */
export const FILES = [{ dir: "scripts/probe", match: /^(reference|repeats)\.json$/ }, { dir: "scripts/probe/results", match: /\.json$/ }];

function snapshot(root) {
  const files = {};
  for (const { dir, match } of FILES) {
    const d = path.join(root, dir);
    if (!existsSync(d)) continue;
    for (const f of readdirSync(d).filter((x) => match.test(x)).sort()) {
      const p = path.join(d, f);
      files[`${VIRTUAL_ROOT}/${dir}/${f}`] = { text: readFileSync(p, "utf8"), mtimeMs: Math.round(statSync(p).mtimeMs) };
    }
  }
  return files;
}

// keepNames: the model prints function names (sk->sk_data_ready = sock_def_readable)
/** Node modules replaced by shims (the alias below); every other builtin is external. */
const SHIMMED = ["worker_threads", "os", "path"];

const common = { bundle: true, keepNames: true, format: "iife", platform: "browser", target: "es2022", minify: true, write: false, charset: "utf8", logLevel: "silent" };

function bundle(options) {
  let r;
  try {
    r = esbuild.buildSync({ ...common, ...options });
  } catch (e) {
    // esbuild's message quotes the whole line, and Graphviz's wasm is one line of a megabyte
    const first = e.errors?.[0];
    if (!first) throw e;
    const where = first.location ? `${first.location.file}:${first.location.line}:${first.location.column}: ` : "";
    throw new Error(`live: esbuild: ${where}${first.text}${first.notes?.[0]?.text ? ` (${first.notes[0].text})` : ""}`);
  }
  return r.outputFiles[0].text;
}

export function buildLive({ outDir, root = ROOT }) {
  const t0 = performance.now();
  if (!existsSync(path.join(root, "kernel-model", "dist", "index.js"))) throw new Error("live: kernel-model is not built (npm run build)");
  const shim = (f) => path.join(HERE, "shims", f);
  const worker = bundle({
    entryPoints: [path.join(HERE, "worker.js")],
    alias: {
      "node:worker_threads": shim("worker_threads.js"),
      worker_threads: shim("worker_threads.js"),
      "node:os": shim("os.js"),
      os: shim("os.js"),
      "node:path": require.resolve("path-browserify"),
      path: require.resolve("path-browserify"),
      // viz.cjs asks for Node's url module when there is no document (a worker); the ES build
      // does not (its import.meta.url is empty here, and its wasm is inlined, so it fetches nothing)
      "@viz-js/viz": path.join(path.dirname(require.resolve("@viz-js/viz", { paths: [path.join(ROOT, "kernel-model")] })), "viz.js"),
    },
    define: { __dirname: JSON.stringify("/kernel-model/dist/scenarios") }, // sweep.ts: path.join(__dirname, "sweep-worker.js")
    inject: [shim("process.js")],
    // Node's other modules stay out of the bundle: worker.js's require gives fs as the snapshot
    // and a stand-in for the rest that fails, naming the module, where it is used.
    external: builtinModules.filter((m) => !SHIMMED.includes(m)).flatMap((m) => [m, `node:${m}`]),
  });
  const page = bundle({ entryPoints: [path.join(HERE, "page.js")], loader: { ".css": "text" } });
  const files = snapshot(root);
  const text =
    `/* live.js: the live book (scripts/live/build.mjs): kernel-model and a cell runner, in the page. */\n` +
    `function __liveWorkerMain() {\n${worker}\n}\n` +
    `var __liveFiles = ${JSON.stringify({ cwd: VIRTUAL_CWD, files })};\n` +
    page;
  mkdirSync(outDir, { recursive: true });
  const out = path.join(outDir, "live.js");
  writeFileSync(out, text);
  return { file: out, bytes: Buffer.byteLength(text), workerBytes: Buffer.byteLength(worker), files: Object.keys(files), ms: performance.now() - t0 };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const i = process.argv.indexOf("--out");
  const outDir = path.resolve(i > 0 ? process.argv[i + 1] : path.join(ROOT, "book", "assets"));
  const r = buildLive({ outDir });
  process.stdout.write(`live: wrote ${path.relative(process.cwd(), r.file)} (${(r.bytes / 1e6).toFixed(2)} MB, worker ${(r.workerBytes / 1e6).toFixed(2)} MB, ${r.files.length} snapshot files) in ${(r.ms / 1000).toFixed(1)} s\n`);
}
