// sweep-worker.ts: the worker-thread side of sweep(): run the jobs it is sent, post the rows.
// No Linux file.
import { parentPort } from "node:worker_threads";
import { sweepRow } from "./sweep";
import type { ServerOptions } from "./servers";

parentPort!.on("message", (m: { i: number; job: ServerOptions }) => {
  try {
    parentPort!.postMessage({ i: m.i, row: sweepRow(m.job) });
  } catch (e) {
    parentPort!.postMessage({ i: m.i, error: e instanceof Error ? e.message : String(e) });
  }
});
