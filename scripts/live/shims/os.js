// os.js (shim): the node:os that kernel-model's sweep asks how many workers to start.
const cores = () => Math.max(1, Number(globalThis.navigator?.hardwareConcurrency) || 1);
export const availableParallelism = cores;
export const cpus = () => Array.from({ length: cores() }, () => ({ model: "browser", speed: 0 }));
export const platform = () => "browser";
export const EOL = "\n";
export default { availableParallelism, cpus, platform, EOL };
