// process.js (shim): the `process` of the page's worker, injected by esbuild into every bundled
// module that names it (kernel-model, path-browserify, ...) and given to cells. stdout/stderr
// go to the running cell's output through setSink (worker.js); versions has no `node`, so no
// library takes the worker for Node.
let sink = (name, text) => void (name === "stderr" ? console.error : console.log)(text);
export function setSink(f) {
  sink = f;
}
const stream = (name) => ({ write: (chunk) => (sink(name, String(chunk)), true), isTTY: false, columns: 80 });
let cwd = "/";
export function setCwd(dir) {
  cwd = dir;
}
const byEvent = new Map();
const listeners = (ev) => byEvent.get(ev) ?? byEvent.set(ev, []).get(ev);
function removeListener(ev, f) {
  const l = listeners(ev);
  if (l.includes(f)) l.splice(l.indexOf(f), 1);
  return process;
}
export const process = {
  browser: true, env: {}, argv: ["node", "tslab"], platform: "browser", version: "", versions: {}, exitCode: undefined,
  stdout: stream("stdout"), stderr: stream("stderr"),
  cwd: () => cwd,
  exit() {
    throw new Error("process.exit is not available in the live book");
  },
  // Listeners (sweep() listens for SIGINT): kept, and never called: a page sends no signal;
  // Stop terminates the worker instead.
  on: (ev, f) => (listeners(ev).push(f), process),
  once: (ev, f) => (listeners(ev).push(f), process),
  off: (ev, f) => removeListener(ev, f),
  removeListener: (ev, f) => removeListener(ev, f),
  listenerCount: (ev) => listeners(ev).length,
  emit: (ev, ...a) => (listeners(ev).slice().forEach((f) => f(...a)), listeners(ev).length > 0),
  kill() {
    throw new Error("process.kill is not available in the live book");
  },
  nextTick: (f, ...a) => queueMicrotask(() => f(...a)),
  hrtime: Object.assign((prev) => {
    const ns = Math.round(performance.now() * 1e6);
    const t = [Math.floor(ns / 1e9), ns % 1e9];
    return prev ? [t[0] - prev[0], t[1] - prev[1]] : t;
  }, { bigint: () => BigInt(Math.round(performance.now() * 1e6)) }),
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
};
