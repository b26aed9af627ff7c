// Test helpers: run one user program on a fresh kernel and collect what its syscalls returned.
import { Kernel, type KernelOptions, type Sys, type KGen } from "kernel-model";

/** Run `body` as task "app" until the machine is idle; returns the kernel and the body's result.
 *  The task then sleeps in pause() (so its files stay open for inspection) unless exit is set. */
export function runApp<T>(body: (sys: Sys, k: Kernel) => KGen<T>, opts: KernelOptions & { CAP_NET_RAW?: boolean; exit?: boolean } = {}) {
  const k = new Kernel(opts);
  let result: T | undefined;
  const task = k.spawn("app", function* (sys) {
    result = yield* body(sys, k);
    if (!opts.exit) yield* sys.pause();
  }, { CAP_NET_RAW: opts.CAP_NET_RAW });
  k.runUntilIdle();
  return { k, task, result: result as T };
}
