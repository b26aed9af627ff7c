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
export const process = {
  browser: true, env: {}, argv: ["node", "tslab"], platform: "browser", version: "", versions: {}, exitCode: undefined,
  stdout: stream("stdout"), stderr: stream("stderr"),
  cwd: () => cwd,
  exit() {
    throw new Error("process.exit is not available in the live book");
  },
  on() {
    return process;
  },
  nextTick: (f, ...a) => queueMicrotask(() => f(...a)),
  hrtime: Object.assign((prev) => {
    const ns = Math.round(performance.now() * 1e6);
    const t = [Math.floor(ns / 1e9), ns % 1e9];
    return prev ? [t[0] - prev[0], t[1] - prev[1]] : t;
  }, { bigint: () => BigInt(Math.round(performance.now() * 1e6)) }),
  memoryUsage: () => ({ rss: 0, heapTotal: 0, heapUsed: 0, external: 0, arrayBuffers: 0 }),
};
