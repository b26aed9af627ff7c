// page.js: the live book's page runtime (bundled into assets/live.js by build.mjs).
//
// Turns every code cell of a section page into an editor with Run / Run below / Stop / Reset,
// and runs cells in a Web Worker (worker.js) started from the bundle's own text. Without
// JavaScript the page is the build's page: the outputs the build wrote stay in the HTML, and no
// button is shown. The page makes no request: the worker comes from a Blob URL.
//
// Interface (window.book, for readers' scripts and the browser test):
// * book.cells: [{source, bookSource, element}] per code cell in order; source is the cell's
//   current text (the book's text until edited).
// * book.run(i, source?) -> Promise<{text, ok, ms, error?, stopped?}>: runs code cell i (0-based),
//   with `source` put into the cell first when given; cells above it that have not run since the
//   kernel started run first (as "Run all above" would). text: what the cell printed (stdout,
//   stderr, text displays), in order.
// * book.runAll(), book.stop(), book.reset(i), book.restart(), book.ready (a promise: the worker
//   has loaded kernel-model).
//
// Semantics follow tslab (compile.js): later cells see earlier cells' declarations; Stop
// terminates the worker (a running cell is plain synchronous JavaScript) and starts a fresh one,
// so the cells above rerun, in order, the next time a cell runs.

import css from "./live.css";

/* global __liveWorkerMain, __liveFiles */
const WORKER_SRC = `(${__liveWorkerMain.toString()})()`;
const FILES = __liveFiles;

const el = (tag, cls, text) => {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
};
const sec = (ms) => `${(ms / 1000).toFixed(ms < 10_000 ? 2 : 1)} s`;

/** The text of one output <pre>; a call tree drawn one <span class="tl"> per line is its lines. */
function preText(p) {
  const lines = p.querySelectorAll(":scope > span.tl");
  if (lines.length === 0) return p.textContent;
  return `${[...lines].map((l) => (l.textContent === " " ? "" : l.textContent)).join("\n")}\n`;
}

/** What a cell printed: the text of its stream and text outputs, in order (the build's too). */
export function printedText(out) {
  if (!out) return "";
  return [...out.querySelectorAll("pre.output.stdout, pre.output.stderr")].map(preText).join("");
}

/** A call tree in the book's layout (scripts/lib/render.mjs renderTrace: one span per line,
 *  indented past its tree prefix when it wraps), for a live stdout output that holds one. */
const TREE_LINE = /^[ |`]*\|-/m;
function asTrace(pre) {
  const text = pre.textContent;
  if (!TREE_LINE.test(text)) return;
  const spans = text.replace(/\n$/, "").split("\n").map((l) => {
    const m = /^(?:[ `]|\|(?!-))*(?:\|-)?/.exec(l);
    const s = el("span", "tl", l || " ");
    s.style.setProperty("--ind", `${m ? m[0].length : 0}ch`);
    return s;
  });
  pre.classList.add("trace");
  pre.replaceChildren(...spans);
}

/* ---- the kernel (one worker) ---- */
class Kernel {
  constructor(onState) {
    this.onState = onState;
    this.worker = null;
    this.ready = null;
    this.runs = new Map();
    this.nextId = 1;
    this.generation = 0;
  }
  start() {
    if (this.worker) return this.ready;
    const url = URL.createObjectURL(new Blob([WORKER_SRC], { type: "text/javascript" }));
    const w = new Worker(url);
    URL.revokeObjectURL(url);
    this.worker = w;
    this.onState("starting");
    this.ready = new Promise((resolve, reject) => {
      this.rejectReady = reject;
      w.onmessage = (e) => {
        const m = e.data;
        if (m.t === "ready") {
          this.onState("ready");
          resolve();
          return;
        }
        const r = this.runs.get(m.id) ?? [...this.runs.values()].pop();
        if (!r) return;
        if (m.t === "done") {
          this.runs.delete(m.id);
          r.done(m);
        } else r.message(m);
      };
      w.onerror = (e) => {
        e.preventDefault();
        const err = new Error(e.message || "the live kernel failed");
        reject(err); // before it was ready: it failed to start
        // after: the runs in flight fail, and the next run starts a fresh worker
        for (const r of this.runs.values()) r.done({ t: "done", ok: false, error: { name: "Error", message: `the live kernel crashed: ${err.message}` } });
        this.runs.clear();
        w.terminate();
        if (this.worker === w) this.worker = null;
        this.generation++;
        this.onState("failed");
      };
    });
    this.ready.catch(() => {}); // a failed start is reported where it is awaited
    w.postMessage({ t: "init", src: WORKER_SRC, files: FILES.files, cwd: FILES.cwd });
    return this.ready;
  }
  /** Run source; handlers get the worker's messages. Resolves with the "done" message. */
  async execute(cell, source, message) {
    await this.start();
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.runs.set(id, { message, done: resolve });
      this.onState("busy");
      this.worker.postMessage({ t: "run", id, cell, source });
    }).finally(() => this.runs.size === 0 && this.worker && this.onState("ready"));
  }
  /** Terminate the worker (the only way to stop synchronous JavaScript); the next run starts a new one. */
  stop() {
    if (!this.worker) return;
    this.worker.terminate();
    this.worker = null;
    this.rejectReady(Object.assign(new Error("stopped"), { stopped: true })); // no-op once it is ready
    this.generation++;
    for (const r of this.runs.values()) r.done({ t: "done", ok: false, stopped: true, error: { name: "Stopped", message: "stopped: the live kernel was restarted" } });
    this.runs.clear();
    this.onState("stopped");
  }
}

/* ---- one cell ---- */
function setupCell(cellEl, index, live) {
  const codeEl = cellEl.querySelector(".cell-in pre.code code");
  if (!codeEl) return null;
  const n = index + 1;
  const c = {
    index, n, element: cellEl, codeEl,
    bookSource: codeEl.textContent,
    bookHTML: codeEl.innerHTML,
    bookOut: cellEl.querySelector(".cell-out")?.innerHTML ?? null,
    bookText: printedText(cellEl.querySelector(".cell-out")),
    edited: false, ran: false, running: false,
  };
  Object.defineProperty(c, "source", {
    enumerable: true,
    get: () => (c.edited ? codeEl.innerText.replace(/\n+$/, "") : c.bookSource),
  });
  codeEl.contentEditable = "plaintext-only";
  if (codeEl.contentEditable !== "plaintext-only") codeEl.contentEditable = "true";
  codeEl.spellcheck = false;
  codeEl.classList.add("live-editor");
  codeEl.setAttribute("aria-label", `code cell ${n}: edit, then Shift+Enter to run`);

  const bar = el("div", "live-bar");
  const btn = (cls, label, title, on) => {
    const b = el("button", `live-btn ${cls}`, label);
    b.type = "button";
    b.title = title;
    b.addEventListener("click", on);
    bar.append(b);
    return b;
  };
  btn("live-run", "▶ Run", "Run this cell (Shift+Enter: run and go to the next cell; Ctrl+Enter: run)", () => live.run(index));
  btn("live-below", "Run below", "Run this cell and every cell after it", () => live.runFrom(index));
  c.stopBtn = btn("live-stop", "■ Stop", "Stop: terminates the page's kernel; the cells above rerun before the next cell", () => live.stop());
  c.resetBtn = btn("live-reset", "↺ Reset", "Put back the book's text and output of this cell", () => live.reset(index));
  c.status = el("span", "live-status");
  c.status.setAttribute("role", "status");
  bar.append(c.status);
  cellEl.querySelector(".cell-in").after(bar);

  // The first edit drops highlight.js's spans (the browser would otherwise carry their colours
  // into the new text as <font> tags); the caret stays where it was.
  codeEl.addEventListener("beforeinput", () => {
    if (c.plain) return;
    const at = caretOffsets(codeEl);
    codeEl.textContent = codeEl.textContent;
    c.plain = true;
    if (at) setCaret(codeEl, at);
  });
  codeEl.addEventListener("input", () => {
    c.edited = true;
    update(c);
  });
  codeEl.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.shiftKey || e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      void live.run(index);
      if (e.shiftKey) live.focus(index + 1);
    } else if (e.key === "Tab" && !e.shiftKey) {
      e.preventDefault();
      document.execCommand("insertText", false, "  ");
    } else if (e.key === "Escape") codeEl.blur();
  });
  update(c);
  return c;
}

/** [start, end] of the selection inside root, in characters of its text. */
function caretOffsets(root) {
  const sel = getSelection();
  if (!sel.rangeCount || !root.contains(sel.anchorNode)) return null;
  const r = sel.getRangeAt(0);
  const pre = document.createRange();
  pre.selectNodeContents(root);
  pre.setEnd(r.startContainer, r.startOffset);
  const a = pre.toString().length;
  pre.setEnd(r.endContainer, r.endOffset);
  return [a, pre.toString().length];
}

function setCaret(root, [a, b]) {
  const t = root.firstChild ?? root.appendChild(document.createTextNode(""));
  const r = document.createRange();
  r.setStart(t, Math.min(a, t.length));
  r.setEnd(t, Math.min(b, t.length));
  getSelection().removeAllRanges();
  getSelection().addRange(r);
}

function update(c) {
  c.element.classList.toggle("live-edited", c.edited);
  c.element.classList.toggle("live-busy", c.running);
  c.stopBtn.hidden = !c.running;
  c.resetBtn.hidden = !c.edited && !c.outChanged;
}

function outputOf(c) {
  let out = c.element.querySelector(".cell-out");
  if (!out) {
    out = el("div", "cell-out");
    c.element.append(out);
  }
  return out;
}

function render(out, m) {
  if (m.t === "out") {
    const cls = m.name === "stderr" ? "stderr" : "stdout";
    const last = out.lastElementChild;
    if (last?.matches(`pre.output.${cls}.live-stream`)) last.append(m.text);
    else out.append(el("pre", `output ${cls} live-stream`, m.text));
    return;
  }
  let node;
  if (m.mime === "text/html" || m.mime === "image/svg+xml") {
    node = el("div", "output html");
    node.innerHTML = m.data;
  } else if (/^image\/(png|jpeg|gif)$/.test(m.mime)) {
    node = el("div", "output image");
    const img = el("img");
    img.alt = "figure";
    img.src = `data:${m.mime};base64,${m.data}`;
    node.append(img);
  } else if (m.mime === "application/pdf") {
    node = el("pre", "output stderr", "(a PDF output: not shown in the live book)\n");
  } else {
    node = el("pre", "output stdout", m.data.endsWith("\n") ? m.data : `${m.data}\n`);
  }
  if (m.displayId) {
    node.dataset.displayId = m.displayId;
    const old = out.querySelector(`[data-display-id="${m.displayId}"]`);
    if (old) return void old.replaceWith(node);
  }
  out.append(node);
}

function errorText(c, e, cells) {
  let s = `${e.name}: ${e.message}`;
  if (e.line) {
    const src = e.cell && cells[e.cell - 1] ? cells[e.cell - 1].source : c.source;
    const where = e.cell && e.cell !== c.n ? `line ${e.line} of cell [${e.cell}]` : `line ${e.line}`;
    const text = src.split("\n")[e.line - 1];
    s += `\n    at ${where}${text !== undefined ? `: ${text.trim()}` : ""}`;
  }
  return `${s}\n`;
}

/* ---- the page ---- */
class Live {
  constructor(cells) {
    this.cells = cells;
    this.queue = Promise.resolve();
    this.kernel = new Kernel((s) => this.kernelState(s));
  }
  kernelState(s) {
    const labels = { starting: "starting…", ready: "ready", busy: "running", stopped: "stopped (restarts at the next run)", failed: "failed (restarts at the next run)" };
    if (this.stateEl) this.stateEl.textContent = `kernel: ${labels[s] ?? s}`;
    if (s === "stopped" || s === "failed") for (const c of this.cells) c.ran = false;
  }
  enqueue(task) {
    const gen = this.kernel.generation;
    const p = this.queue.then(() => (gen === this.kernel.generation ? task() : { text: "", ok: false, stopped: true, error: { name: "Stopped", message: "cancelled: the kernel was stopped" } }));
    this.queue = p.catch(() => {});
    return p;
  }
  /** Run cell i, after the cells above that have not run on this kernel. */
  run(i, source) {
    const c = this.cells[i];
    if (!c) return Promise.reject(new RangeError(`book.run: no code cell ${i} (this page has ${this.cells.length}, numbered from 0)`));
    if (source !== undefined) this.setSource(i, String(source));
    c.status.textContent = "queued";
    const cancelled = (r) => {
      if (r.stopped && !r.ms && r.error?.message?.startsWith("cancelled")) c.status.textContent = "not run: the kernel was stopped";
      return r;
    };
    return this.enqueue(async () => {
      for (const b of this.cells.slice(0, i)) {
        if (b.ran) continue;
        const r = await this.runOne(b, `before cell [${c.n}]`);
        if (!r.ok) {
          c.status.textContent = r.stopped ? "stopped" : `not run: cell [${b.n}] above failed`;
          return { ...r, text: "", ok: false, error: { name: "Error", message: `cell [${b.n}] above failed` } };
        }
      }
      return this.runOne(c);
    }).then(cancelled);
  }
  async runFrom(i) {
    let last;
    for (let j = i; j < this.cells.length; j++) {
      last = await this.run(j);
      if (!last.ok) break;
    }
    return last;
  }
  async runAll() {
    for (const c of this.cells) c.ran = false;
    return this.runFrom(0);
  }
  async runOne(c, why = "") {
    const out = outputOf(c);
    out.replaceChildren();
    out.classList.add("live-out");
    c.running = true;
    c.outChanged = true;
    update(c);
    const t0 = performance.now();
    let progress = "";
    const tick = () => (c.status.textContent = `running${why ? ` (${why})` : ""} ${sec(performance.now() - t0)}${progress ? ` · ${progress}` : ""}`);
    tick();
    const timer = setInterval(tick, 100);
    const done = await this.kernel.execute(c.n, c.source, (m) => {
      if (m.t === "progress") progress = m.text;
      else render(out, m);
    }).catch((e) => (e.stopped ? { ok: false, stopped: true } : { ok: false, error: { name: "Error", message: `the live kernel failed: ${e.message}` } }));
    clearInterval(timer);
    for (const p of out.querySelectorAll("pre.output.stdout.live-stream")) asTrace(p);
    const ms = performance.now() - t0;
    c.running = false;
    c.ran = done.ok;
    c.outChanged = !done.ok || printedText(out) !== c.bookText; // Reset is offered when there is something to put back
    if (!done.ok && !done.stopped) out.append(el("pre", "output error", errorText(c, done.error, this.cells)));
    if (done.stopped) out.append(el("pre", "output stderr", `stopped after ${sec(ms)}: the kernel restarts at the next run, and the cells above rerun first\n`));
    c.status.textContent = done.stopped ? `stopped after ${sec(ms)}` : done.ok ? `ran in ${sec(ms)}${c.edited ? " (edited)" : ""}` : `error after ${sec(ms)}`;
    update(c);
    return { text: printedText(out), ok: !!done.ok, ms, ...(done.error ? { error: done.error } : {}), ...(done.stopped ? { stopped: true } : {}) };
  }
  stop() {
    this.kernel.stop();
  }
  restart() {
    this.kernel.stop();
    return this.kernel.start();
  }
  setSource(i, s) {
    const c = this.cells[i];
    if (s === c.bookSource) {
      c.codeEl.innerHTML = c.bookHTML;
      c.edited = c.plain = false;
    } else {
      c.codeEl.textContent = s;
      c.edited = c.plain = true;
    }
    update(c);
  }
  reset(i) {
    const c = this.cells[i];
    this.setSource(i, c.bookSource);
    const out = c.element.querySelector(".cell-out");
    if (c.bookOut === null) out?.remove();
    else if (out) {
      out.innerHTML = c.bookOut;
      out.classList.remove("live-out");
    }
    c.outChanged = false;
    c.status.textContent = "the book's text and output";
    update(c);
  }
  focus(i) {
    const c = this.cells[i];
    if (!c) return;
    c.codeEl.focus();
    const r = document.createRange();
    r.setStart(c.codeEl, 0);
    r.collapse(true);
    getSelection().removeAllRanges();
    getSelection().addRange(r);
  }
}

function intro(live) {
  const box = el("div", "live-intro");
  box.append(el("strong", "", "Live · 在浏览器中运行"), el("span", "", " Every cell on this page runs here, in your browser, offline: edit one and press Shift+Enter (or Run). "));
  const b = (label, title, on) => {
    const x = el("button", "live-btn", label);
    x.type = "button";
    x.title = title;
    x.addEventListener("click", on);
    box.append(x, " ");
  };
  b("Run all", "Run every cell of this page, in order", () => live.runAll());
  b("Restart", "Start a fresh kernel: the cells' declarations are forgotten", () => live.restart());
  live.stateEl = el("span", "live-state", "kernel: not started");
  box.append(live.stateEl);
  return box;
}

function main() {
  const cellEls = [...document.querySelectorAll("main .cell")];
  if (cellEls.length === 0 || typeof Worker === "undefined") return;
  const style = el("style", "", css);
  document.head.append(style);
  const cells = [];
  const live = new Live(cells);
  cellEls.forEach((e) => {
    const c = setupCell(e, cells.length, live);
    if (c) cells.push(c);
  });
  const h1 = document.querySelector("main h1");
  (h1 ?? document.querySelector("main").firstChild)?.after(intro(live));
  window.book = {
    cells: cells.map((c) => ({ get source() { return c.source; }, bookSource: c.bookSource, element: c.element })),
    run: (i, source) => live.run(i, source),
    runAll: () => live.runAll(),
    stop: () => live.stop(),
    restart: () => live.restart(),
    reset: (i) => live.reset(i),
    printedText,
    get ready() { return live.kernel.start(); },
  };
  // Start the kernel when the reader comes near a cell, so that the first Run hardly waits for
  // it; a reader who only reads never pays for it (it parses 3 MB and loads kernel-model).
  const warm = () => void live.kernel.start().catch(() => {});
  for (const c of cells) for (const ev of ["pointerover", "focusin"]) c.element.addEventListener(ev, warm, { once: true, passive: true });
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", main);
else main();
