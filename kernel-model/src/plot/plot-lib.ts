// plot-lib.ts: Observable Plot, loaded on first use, for the figure modules of plot/.
// No Linux file.
//
// Interface: plotLib() -> the @observablehq/plot module (an ES module: loading it costs ~0.1 s,
// so only a cell that draws pays it).
//
// Not re-exported by index.ts, on purpose: its type is Plot's, and a type reachable from the
// package's index.d.ts makes tslab (which type-checks every cell) parse Plot's ~300 KB of
// declarations on a notebook's first `import ... from "kernel-model"`.

import type * as PlotModule from "@observablehq/plot";

export function plotLib(): typeof PlotModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require("@observablehq/plot") as typeof PlotModule;
}
