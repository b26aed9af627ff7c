// worker.js: the live book's kernel: a Web Worker that runs the page's cells, as tslab does.
// build.mjs bundles it (with kernel-model, Plot, Graphviz, sucrase) into the function
// the page starts as a Blob worker. The same bundle, started with role "sweep", is one of
// sweep()'s worker threads (shims/worker_threads.js).
//
// Why a worker: a cell is synchronous JavaScript (k.runUntilIdle() runs to the end), and the only
// honest way to stop it is to terminate the thread that runs it; the page stays responsive and
// shows progress meanwhile. Everything a cell shows already leaves it as text (console output,
// tslab.display.html(svg.outerHTML)), so nothing needs the page's DOM: Plot draws into
// linkedom through kernel-model's createDocument(), as it does in Node.
//
// Messages: page -> worker {t:"init", src, files, cwd}, {t:"run", id, cell, source};
// worker -> page {t:"ready"}, {t:"out", id, name: "stdout"|"stderr", text},
// {t:"display", id, mime, data, displayId?}, {t:"progress", id, text},
// {t:"done", id, ok, ms, error?: {name, message, cell, line}}.

import { formatWithOptions, inspect, format } from "node-inspect-extracted";
import pathBrowserify from "path-browserify";
import { CellSyntaxError, compileCell } from "./compile.js";
import { createFs } from "./shims/fs.js";
import { setWorkerSource } from "./shims/worker_threads.js";
import { process, setCwd, setSink } from "./shims/process.js";

const post = globalThis.postMessage.bind(globalThis); // cells may shadow postMessage: keep ours
let current = null; // id of the run whose output console.log goes to

/* ---- output: console and tslab.display, batched (a cell may print thousands of lines) ---- */
let pending = [];
let flushTimer = null;
function flush() {
  clearTimeout(flushTimer);
  flushTimer = null;
  for (const m of pending) post(m);
  pending = [];
}
function emit(m) {
  const last = pending[pending.length - 1];
  if (m.t === "out" && last?.t === "out" && last.name === m.name && last.id === m.id) last.text += m.text;
  else pending.push(m);
  flushTimer ??= setTimeout(flush, 40);
}
const write = (name) => (...args) => emit({ t: "out", id: current, name, text: `${formatWithOptions({}, ...args)}\n` });
for (const k of ["log", "info", "debug"]) console[k] = write("stdout");
for (const k of ["error", "warn", "trace"]) console[k] = write("stderr");
console.dir = (v, o) => emit({ t: "out", id: current, name: "stdout", text: `${inspect(v, o)}\n` });
console.table = write("stdout");

// process.stdout / process.stderr (kernel-model's code and the cells' share one process, from
// shims/process.js). A progress line (sweepProgress: "\rprogress: ...") is shown in the cell's
// status, not in its output: the HTML book leaves it out too (render.mjs).
const PROGRESS = /\r?progress: ([^\r\n]*)(\r|\n|$)/g;
setSink((name, chunk) => {
  const s = chunk.replace(PROGRESS, (_, text) => (post({ t: "progress", id: current, text }), ""));
  if (s) emit({ t: "out", id: current, name, text: s });
});

function toBase64(b) {
  let s = "";
  for (let i = 0; i < b.length; i += 0x8000) s += String.fromCharCode(...b.subarray(i, i + 0x8000));
  return btoa(s);
}

/* ---- the modules a cell can import ---- */
function makeDisplay(displayId) {
  const raw = (mime, data) => {
    if (mime === "text/javascript") throw new Error("tslab.display.javascript: the live book does not run JavaScript in the page (run it in Jupyter)");
    const d = data instanceof Uint8Array ? toBase64(data) : String(data);
    emit({ t: "display", id: current, mime, data: d, displayId });
  };
  return {
    raw, html: (s) => raw("text/html", s), svg: (s) => raw("image/svg+xml", s), text: (s) => raw("text/plain", s),
    markdown: (s) => raw("text/markdown", s), latex: (s) => raw("text/latex", s), javascript: (s) => raw("text/javascript", s),
    png: (b) => raw("image/png", b), jpeg: (b) => raw("image/jpeg", b), gif: (b) => raw("image/gif", b), pdf: (b) => raw("application/pdf", b),
  };
}
let displayIds = 0;
const tslab = {
  display: makeDisplay(undefined),
  newDisplay: () => makeDisplay(`d${++displayIds}`),
  versions: { tslab: "1.0.22 (the live book's shim)", typescript: "none: sucrase strips the types", node: "none: a browser worker" },
};

let modules = null;
function setup({ files, cwd }) {
  setCwd(cwd);
  const path = { ...pathBrowserify, posix: pathBrowserify };
  const fs = createFs({ files, path, cwd });
  nodeModules.fs = fs;
  // eslint-disable-next-line no-undef -- esbuild bundles this require (lazily, at first call)
  const km = require("../../kernel-model/dist/index.js");
  const kernelModel = {
    ...km,
    // the same sweep, with its progress shown under the running cell
    sweep: (jobs, o = {}) => km.sweep(jobs, { ...o, onRow: (d, n) => (post({ t: "progress", id: current, text: `sweep: ${d}/${n} runs` }), o.onRow?.(d, n)) }),
  };
  const util = { inspect, format, formatWithOptions };
  modules = {
    "kernel-model": kernelModel, tslab, fs, "node:fs": fs, path, "node:path": path, util, "node:util": util,
  };
}

/**
 * Node's own modules, for bundled code: build.mjs leaves every Node builtin it does not shim
 * external, and esbuild's require of an external calls this. fs is the snapshot; any other
 * module loads as a stand-in whose every use throws, naming the module: a part of kernel-model
 * that needs Node fails in the cell that uses it, not when the page loads.
 */
const nodeModules = {};
function unavailable(name) {
  const fail = function () {
    throw new Error(`kernel-model needs Node's ${name} here, which a browser does not have: run this cell in Jupyter (npm run jupyter)`);
  };
  // __esModule: TypeScript's import helpers then use the stand-in itself, so every use reaches `fail`
  const stand = new Proxy(fail, { get: (_, k) => (k === "__esModule" ? true : typeof k === "symbol" ? undefined : stand), apply: fail, construct: fail });
  return stand;
}
globalThis.require = (name) => nodeModules[String(name).replace(/^node:/, "")] ?? (nodeModules[name] = unavailable(name));

function requireInCell(name) {
  const m = modules[name];
  if (m) return m;
  throw new Error(`Cannot find module '${name}' in the live book: a cell here can import kernel-model, tslab, fs (read-only), path and util. Run this cell in Jupyter (npm run jupyter) for other modules.`);
}
const interop = (m) => (m && (m.__esModule || m === modules.fs) ? m : { ...m, default: m });

/* ---- cells ---- */
const scope = Object.create(null); // the names the cells declare (tslab: its exports object)

function errorInfo(e, cell) {
  const stack = String(e?.stack ?? "");
  const m = /cell-(\d+)\.ts:(\d+):(\d+)/.exec(stack);
  return {
    name: e?.name ?? "Error",
    message: e instanceof Error ? e.message : `${inspect(e)}`,
    cell: m ? Number(m[1]) : e instanceof CellSyntaxError ? cell : null,
    line: m ? Number(m[2]) : (e?.line ?? null),
  };
}

async function run({ id, cell, source }) {
  current = id;
  const t0 = performance.now();
  try {
    const c = compileCell(source, { name: `cell-${cell}` });
    for (const n of c.names) if (!(n in scope)) scope[n] = undefined;
    const fn = (0, eval)(c.code);
    const value = await fn(scope, requireInCell, process, interop);
    if (value !== undefined && value !== null) console.log(value);
    flush();
    post({ t: "done", id, ok: true, ms: performance.now() - t0 });
  } catch (e) {
    flush();
    post({ t: "done", id, ok: false, ms: performance.now() - t0, error: errorInfo(e, cell) });
  }
}

globalThis.addEventListener("message", (e) => {
  const m = e.data;
  if (m?.t === "init" && m.role === "sweep") {
    // eslint-disable-next-line no-undef
    require("../../kernel-model/dist/scenarios/sweep-worker.js");
  } else if (m?.t === "init") {
    setWorkerSource(m.src);
    setup(m);
    post({ t: "ready" });
  } else if (m?.t === "run") {
    void run(m);
  }
});
// An error that escapes a cell (a timer callback that throws, say) shows under the last cell.
globalThis.addEventListener("unhandledrejection", (e) => {
  e.preventDefault();
  console.error(`Uncaught (in promise) ${e.reason?.stack ?? e.reason}`);
});
globalThis.addEventListener("error", (e) => {
  e.preventDefault();
  console.error(`Uncaught ${e.error?.stack ?? e.message}`);
});
