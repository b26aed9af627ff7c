// sweep.ts: many independent server runs, as tidy rows for Plot, on worker threads.
// No Linux file. Book: §3.5 (the figures: switches and latency over connections, load, CPUs).
//
// Interface:
// * grid({model: [...], conns: [...], rate: [...], ...}) -> every combination as ServerOptions.
// * sweep(jobs, {parallel}) -> Promise<SweepRow[]> in the order of `jobs`. With parallel (the
//   default) the runs go to worker threads, one per core; each run is seeded and independent,
//   so the rows are identical to a serial run (tested), wallMs aside.
// * sweepSerial(jobs) -> the same rows in this thread.
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
  /** Workers (default: the machine's cores, at most the number of jobs). */
  workers?: number;
  onRow?: (done: number, total: number) => void;
}

export async function sweep(jobs: ServerOptions[], o: SweepOptions = {}): Promise<SweepRow[]> {
  if (o.parallel === false || jobs.length <= 1) {
    const rows: SweepRow[] = [];
    for (const j of jobs) {
      rows.push(sweepRow(j));
      o.onRow?.(rows.length, jobs.length);
    }
    return rows;
  }
  const n = Math.max(1, Math.min(o.workers ?? os.availableParallelism(), jobs.length));
  const rows: SweepRow[] = new Array(jobs.length);
  let next = 0;
  let done = 0;
  const script = path.join(__dirname, "sweep-worker.js");
  await Promise.all(
    Array.from({ length: n }, () => new Promise<void>((resolve, reject) => {
      const w = new Worker(script);
      const feed = () => {
        if (next >= jobs.length) {
          void w.terminate().then(() => resolve());
          return;
        }
        const i = next++;
        const { onProgress, ...job } = jobs[i];
        void onProgress;
        w.postMessage({ i, job });
      };
      w.on("message", (m: { i: number; row?: SweepRow; error?: string }) => {
        if (m.error) {
          reject(new Error(`sweep job ${m.i}: ${m.error}`));
          void w.terminate();
          return;
        }
        rows[m.i] = m.row!;
        o.onRow?.(++done, jobs.length);
        feed();
      });
      w.on("error", reject);
      feed();
    })),
  );
  return rows;
}
