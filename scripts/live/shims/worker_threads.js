// worker_threads.js (shim): node:worker_threads on Web Workers, for kernel-model's sweep().
//
// sweep() starts `new Worker(".../sweep-worker.js")`, posts jobs, listens for "message",
// "error" and "exit", keeps the worker for the next sweep (ref/unref: no-ops here) and
// terminates it only on an error or an interrupt. Here each such Worker is a nested Web Worker
// that runs the same bundle in its "sweep" role (worker.js): it requires kernel-model's own
// sweep-worker.js, whose parentPort is the one below. Only the sweep's worker can be started:
// anything else is refused with a message (the page has no files to start a worker from).

let source = null; // the bundle's text, to start nested workers from (set by worker.js)
let blobUrl = null;
export function setWorkerSource(src) {
  source = src;
}

export const isMainThread = typeof globalThis.WorkerGlobalScope === "undefined";

export class Worker {
  constructor(file) {
    if (!/sweep-worker\.js$/.test(String(file))) {
      throw new Error(`worker_threads: the live page can start kernel-model's sweep workers only, not ${file}`);
    }
    if (!source) throw new Error("worker_threads: the page's worker has no bundle source to start a sweep worker from");
    blobUrl ??= URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    this.handlers = { message: [], error: [], exit: [] };
    this.w = new globalThis.Worker(blobUrl);
    this.w.postMessage({ t: "init", role: "sweep" });
    this.w.onmessage = (e) => this.emit("message", e.data);
    this.w.onerror = (e) => {
      e.preventDefault();
      this.emit("error", new Error(e.message || "sweep worker failed"));
    };
  }
  emit(ev, v) {
    for (const f of this.handlers[ev] ?? []) f(v);
  }
  on(ev, fn) {
    (this.handlers[ev] ??= []).push(fn);
    return this;
  }
  once(ev, fn) {
    const g = (v) => {
      this.removeListener(ev, g);
      fn(v);
    };
    g.listener = fn;
    return this.on(ev, g);
  }
  removeListener(ev, fn) {
    this.handlers[ev] = (this.handlers[ev] ?? []).filter((h) => h !== fn && h.listener !== fn);
    return this;
  }
  removeAllListeners(ev) {
    if (ev === undefined) this.handlers = {};
    else this.handlers[ev] = [];
    return this;
  }
  /** sweep() unrefs an idle worker so that it does not keep Node alive: nothing to do here. */
  ref() {}
  unref() {}
  postMessage(m) {
    this.w.postMessage(m);
  }
  /** On an error or an interrupt (sweep() keeps a worker that finished its jobs). */
  terminate() {
    this.w.onmessage = this.w.onerror = null;
    this.w.terminate();
    this.emit("exit", 1);
    return Promise.resolve(1);
  }
}

/** In a sweep worker: messages from the parent (after the init message) and posts back to it. */
export const parentPort = isMainThread
  ? null
  : {
      on(ev, fn) {
        if (ev === "message") globalThis.addEventListener("message", (e) => e.data?.t !== "init" && fn(e.data));
        return this;
      },
      postMessage(m) {
        globalThis.postMessage(m);
      },
    };
