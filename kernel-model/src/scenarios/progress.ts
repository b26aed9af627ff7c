// progress.ts: progress of a long run in a notebook cell, as the command line shows it: runs
// done, time so far and an estimate of the time left, on one line that rewrites itself (\r),
// after the first second only (short cells print nothing).
// No Linux file. Book: §3.5's sweeps (tens of runs).
//
// Interface: sweepProgress(label?) -> onRow(done, total) for sweep({onRow}); it writes to
// stderr. The HTML book leaves these lines out of the page (scripts/lib/render.mjs).

/** A progress printer for sweep(jobs, {onRow}). */
export function sweepProgress(label = "sweep", write: (s: string) => void = (s) => void process.stderr.write(s)) {
  const t0 = Date.now();
  let shown = false;
  return (done: number, total: number): void => {
    const s = (Date.now() - t0) / 1000;
    if (s < 1 && done < total) return;
    if (!shown && done === total) return; // finished within the first second: say nothing
    shown = true;
    const left = done > 0 ? (s / done) * (total - done) : NaN;
    write(`\rprogress: ${label} ${done}/${total} runs, ${s.toFixed(1)} s` +
      (done < total ? `, about ${left.toFixed(0)} s left ` : " done\n"));
  };
}
