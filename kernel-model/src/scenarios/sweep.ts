// sweep.ts: many independent server runs, as tidy rows for Plot, on worker threads.
// No Linux file. Book: §3.5 (the figures: switches and latency over connections, load, CPUs).
//
// Interface:
// * grid({model: [...], conns: [...], rate: [...], ...}) -> every combination as ServerOptions.
// * sweep(jobs, {parallel}) -> Promise<SweepRow[]> in the order of `jobs`. With parallel (the
//   default) the runs go to worker threads, one per core but one (defaultSweepWorkers); each
//   run is seeded and independent, so the rows are identical to a serial run (tested), wallMs
//   aside. The workers stay, idle,
//   for the next sweep (a notebook sweeps cell after cell, and a new worker loads and compiles
//   the model again: a few hundred ms), at most one per core; an idle worker does not keep the
//   process alive. idleSweepWorkers() says how many wait.
// * sweepSerial(jobs) -> the same rows in this thread.
// * A SIGINT during a parallel sweep (Jupyter's "interrupt the kernel": tslab turns it into an
//   interrupt of the running cell) terminates the workers and rejects with "sweep interrupted";
//   in a process with no other SIGINT handler the signal is then raised again (Ctrl-C exits).
// * A job that offers far more messages per second than the model's CPUs serve (more than
//   OVERLOAD_RATE per CPU) gets a one-line warning on stderr first: its queues only grow, and
//   the run takes long.
//
// Model vs kernel: nothing kernel here; the worker runs runServer from the built dist/.

import * as os from "node:os";
import * as path from "node:path";
import { Worker } from "node:worker_threads";
import { runServer, type ServerOptions, type ServerSummary } from "./servers";

/** One row per run: the options that vary plus the summary (flat, ready for Plot). */
export type SweepRow = Omit<ServerOptions, "onProgress"> & ServerSummary & { syscallsPerMsg: number; proto: string; rate: number; cpus: number };

/** Every combination of the listed values (the cartesian product), other fields fixed. */
export function grid(axes: { [K in keyof ServerOptions]?: ServerOptions[K][] }, fixed: Partial<ServerOptions> = {}): ServerOptions[] {
  let jobs: Partial<ServerOptions>[] = [{ ...fixed }];
  for (const [key, values] of Object.entries(axes) as [keyof ServerOptions, unknown[]][]) {
    jobs = jobs.flatMap((j) => values.map((v) => ({ ...j, [key]: v })));
  }
  return jobs as ServerOptions[];
}

/** Run one job and flatten it into a row. */
export function sweepRow(job: ServerOptions): SweepRow {
  const run = runServer(job);
  const { onProgress, ...opts } = job;
  void onProgress;
  return {
    ...opts, proto: job.proto ?? "tcp", rate: job.rate ?? 10_000, cpus: job.cpus ?? 1,
    ...run.summary, syscallsPerMsg: run.syscallsPerMsg,
  };
}

export function sweepSerial(jobs: ServerOptions[]): SweepRow[] {
  return jobs.map(sweepRow);
}

export interface SweepOptions {
  /** Use worker threads (default true). */
  parallel?: boolean;
  /** Workers (default: defaultSweepWorkers(), one per core but one; at most the number of jobs). */
  workers?: number;
  onRow?: (done: number, total: number) => void;
}

/** Messages per second per CPU above which a run is far past what one CPU serves (about
 *  150,000/s with the default costs): the queues grow for the whole run. */
export const OVERLOAD_RATE = 500_000;

function warnOverload(jobs: ServerOptions[]): void {
  const over = jobs.filter((j) => (j.rate ?? 10_000) / (j.cpus ?? 1) > OVERLOAD_RATE);
  if (over.length === 0) return;
  const worst = over.reduce((a, b) => ((a.rate ?? 0) / (a.cpus ?? 1) >= (b.rate ?? 0) / (b.cpus ?? 1) ? a : b));
  process.stderr.write(`sweep: warning: ${over.length} of ${jobs.length} runs offer more than ${OVERLOAD_RATE} messages/s per CPU ` +
    `(up to ${worst.rate}/s on ${worst.cpus ?? 1} CPU), far more than the model serves: messages queue and the runs are slow\n`);
}

/** Idle sweep workers, kept for the next sweep (module header). A worker holds no state between
 *  jobs: each job is a fresh runServer. */
const idleWorkers: Worker[] = [];

/** How many sweep workers wait, idle, for the next sweep. */
export function idleSweepWorkers(): number {
  return idleWorkers.length;
}

function takeWorker(script: string): Worker {
  const w = idleWorkers.pop();
  if (w) {
    w.ref();
    return w;
  }
  const fresh = new Worker(script);
  fresh.on("exit", () => {
    const i = idleWorkers.indexOf(fresh);
    if (i >= 0) idleWorkers.splice(i, 1);
  });
  return fresh;
}

/** Back to the idle list, unref'd: it no longer keeps the process alive. At most one per core
 *  (two on a one-core machine) waits; a sweep with more workers ends the rest. */
function releaseWorker(w: Worker): void {
  w.removeAllListeners("message");
  w.removeAllListeners("error");
  if (idleWorkers.length >= Math.max(2, os.availableParallelism())) {
    void w.terminate();
    return;
  }
  w.unref();
  idleWorkers.push(w);
}

/** Workers when the caller names none: one per core but one. The main thread and V8's compiler
 *  and GC threads need a core while cold workers compile the model: on 2 cores, the 32 runs of
 *  §3.6's comparison took 1.7-1.9 s with one worker and 1.9-2.5 s with two (1.6-1.7 s serially). */
export function defaultSweepWorkers(): number {
  return Math.max(1, os.availableParallelism() - 1);
}

export async function sweep(jobs: ServerOptions[], o: SweepOptions = {}): Promise<SweepRow[]> {
  warnOverload(jobs);
  if (o.parallel === false || jobs.length <= 1) {
    const rows: SweepRow[] = [];
    for (const j of jobs) {
      rows.push(sweepRow(j));
      o.onRow?.(rows.length, jobs.length);
    }
    return rows;
  }
  const n = Math.max(1, Math.min(o.workers ?? defaultSweepWorkers(), jobs.length));
  const rows: SweepRow[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const script = path.join(__dirname, "sweep-worker.js");
  const workers = new Set<Worker>(); // busy with this sweep
  let interrupted: (() => void) | null = null;
  const stopped = new Promise<never>((_, reject) => {
    interrupted = () => {
      const busy = workers.size;
      for (const w of workers) void w.terminate();
      workers.clear();
      reject(new Error(`sweep interrupted: ${busy} worker(s) stopped`));
    };
  });
  stopped.catch(() => {});
  const onSigint = () => {
    interrupted?.();
    // alone on SIGINT: behave as if we were not listening (the process exits)
    if (process.listenerCount("SIGINT") === 1) {
      process.removeListener("SIGINT", onSigint);
      process.kill(process.pid, "SIGINT");
    }
  };
  process.on("SIGINT", onSigint);
  let failed = false;
  const all = Promise.all(
    Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
      const w = takeWorker(script);
      workers.add(w);
      const exit = () => {
        workers.delete(w);
        reject(new Error("sweep worker exited"));
      };
      w.once("exit", exit);
      const feed = () => {
        if (failed || next >= jobs.length) {
          w.removeListener("exit", exit);
          if (workers.delete(w)) releaseWorker(w);
          resolve();
          return;
        }
        const i = next++;
        const { onProgress, ...job } = jobs[i];
        void onProgress;
        w.postMessage({ i, job });
      };
      w.on("message", (m: { i: number; row?: SweepRow; error?: string }) => {
        if (m.error) {
          failed = true;
          w.removeListener("exit", exit);
          workers.delete(w);
          void w.terminate();
          reject(new Error(`sweep job ${m.i}: ${m.error}`));
          return;
        }
        rows[m.i] = m.row!;
        o.onRow?.(++done, jobs.length);
        feed();
      });
      w.on("error", (e) => {
        w.removeListener("exit", exit);
        workers.delete(w);
        reject(e);
      });
      feed();
    })),
  );
  try {
    await Promise.race([all, stopped]);
  } finally {
    process.removeListener("SIGINT", onSigint);
  }
  return rows;
}
