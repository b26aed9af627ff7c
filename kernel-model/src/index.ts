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
export * from "./kernel/timer";
export * from "./kernel/poll";
export * from "./kernel/softirq";
export * from "./kernel/dev";
export * from "./kernel/ip_input";
export * from "./kernel/inet_hashtables";
export * from "./kernel/inet_connection_sock";
export * from "./kernel/tcp_ipv4";
export * from "./kernel/tcp_input";
export * from "./kernel/datagram";
export * from "./kernel/eventpoll";
export * from "./net/peer";
export { LINES } from "./kernel/lines";
export * from "./scenarios/traces";
export * from "./plot/objects";
export * from "./plot/eventpoll"; // registers the eventpoll drawer with objectGraphDot
export * from "./scenarios/lost-wakeup";
export * from "./sim/stats";
export * from "./plot/timeline";
export * from "./scenarios/traffic";
export * from "./scenarios/servers";
export * from "./scenarios/epoll-server";
export * from "./scenarios/sweep";
export * from "./scenarios/calibrate";
export * from "./plot/figures";
export * from "./scenarios/probe-compare";
export * from "./plot/probe";
export * from "./scenarios/redis";
export * from "./plot/flow";
export * from "./sim/claim";
