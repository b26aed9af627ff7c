// index.ts: the API map of kernel-model (flat re-exports, like Plot's index.js or xv6's defs.h).
// Notebooks import everything from "kernel-model".

export * from "./sim/engine";
export * from "./sim/rng";
export * from "./sim/trace";
export * from "./kernel/errno";
export * from "./kernel/costs";
export * from "./kernel/sched";
export * from "./kernel/wait";
export * from "./kernel/fs";
export * from "./kernel/socket";
export * from "./kernel/sock";
export * from "./kernel/af_inet";
export * from "./kernel/tcp";
export * from "./kernel/udp";
export * from "./kernel/syscalls";
export * from "./kernel/signal";
export * from "./kernel/kernel";
export { LINES } from "./kernel/lines";
export * from "./scenarios/traces";
export * from "./plot/objects";
