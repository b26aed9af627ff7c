// servers.ts: the chapter's two servers under the same seeded traffic, and their summary.
// No Linux file. Book: §3.3.3 and §3.5 (one thread per connection blocking in recv, against one
// epoll thread serving every connection, and one poll() thread doing the same the old way).
//
// Interface:
// * runServer(options) -> ServerSummary with exactly the keys of the `kernel-model run` contract
//   (design.md), measured over the traffic phase only (connection setup excluded).
// * blocking: one task per connection in read() (TCP: an acceptor spawns a thread per accepted
//   connection; UDP: one bound socket per "connection").
// * epoll: `epollThreads` tasks in epoll_wait on one epoll fd (LT, or ET), non-blocking reads
//   until EAGAIN; TCP connections are accepted through the same epoll loop.
// * poll: one task in poll() over every socket (and the listener), non-blocking reads until
//   EAGAIN (poll-server.ts).
//
// Metrics, as the real tools define them: nvcsw/nivcsw of the receiving tasks
// (/proc/PID/status), run-queue latency (bcc runqlat: wakeup -> on CPU), end-to-end latency
// (NIC arrival -> the read that consumed it returns), CPU time split as /proc/stat does.

import { Kernel } from "../kernel/kernel";
import type { Costs } from "../kernel/costs";
import type { TaskStruct, KGen } from "../kernel/sched";
import type { Sys } from "../kernel/syscalls";
import { AF_INET, SOCK_DGRAM, SOCK_NONBLOCK, SOCK_STREAM } from "../kernel/socket";
import { TcpPeer, udpSend, TCP_MSS } from "../net/peer";
import { percentiles, type Percentiles } from "../sim/stats";
import { arrivals, type TrafficPattern } from "./traffic";
import { epollLoop } from "./epoll-server";
import { pollLoop } from "./poll-server";
import { spawnLoopbackSender, type LoopbackSender } from "./loopback-sender";
import { TCP_LO_MSS } from "../kernel/tcp_output";

export type ServerModel = "blocking" | "epoll" | "poll";

export interface ServerOptions {
  model: ServerModel;
  proto?: "tcp" | "udp";
  conns: number;
  msgs: number;
  /** Messages per second over all connections (default 10,000; with the loopback sender,
   *  unset means back to back). */
  rate?: number;
  /** Who sends: "remote" hosts behind eth0 at an open-loop rate (default), or "loopback": a
   *  sender task on this machine sending over lo (loopback-sender.ts), as the probe does. */
  sender?: "remote" | "loopback";
  /** The loopback sender's CPU (default 0; the probe's --sender-cpu). */
  senderCpu?: number;
  pattern?: TrafficPattern;
  /** Messages per burst for pattern "burst" (default 64). */
  burst?: number;
  /** Which connection each message goes to: seeded random (default for remote senders), or
   *  round robin as the probe's sender does (`rr`: message i to connection i mod conns; the
   *  default for the loopback sender). */
  order?: "random" | "rr";
  /** Remote TCP senders keep within the server's receive window and a congestion window
   *  (default true: TCP); false: each segment at its time whatever the server can take, a
   *  dropped one sent again TCP_RTO_MIN later (net/peer.ts flowControl). */
  flowControl?: boolean;
  /** Payload bytes per message (default 64; above TCP_MSS a message is several segments). */
  msgSize?: number;
  /** Bytes each read() asks for (default 65536: a TCP read takes all that is queued). The probe
   *  asks for exactly one message (its --size), so a TCP message's latency includes the work on
   *  the messages queued before it. */
  readSize?: number;
  cpus?: number;
  seed?: number;
  costs?: Partial<Costs>;
  /** User-mode work per message received, ns (default 1,000). */
  work?: number;
  /** epoll: tasks calling epoll_wait on the one epoll fd (default 1). */
  epollThreads?: number;
  /** epoll: edge-triggered (EPOLLET) instead of level-triggered. */
  et?: boolean;
  /** epoll: maxevents per epoll_wait (default 64). */
  maxevents?: number;
  /** net.ipv4.tcp_low_latency (default 0, 4.6's prequeue). */
  lowLatency?: number;
  /** Send every NIC interrupt to this CPU (default: RSS, queue i -> CPU i). */
  irqCpu?: number;
  /** Pin the receiving tasks to this CPU (sched_setaffinity), as the probe does. */
  receiverCpu?: number;
  trace?: boolean;
  timeline?: boolean;
  /** Called with (0, msgs) when the traffic phase starts, then about every 100,000 events
   *  with (messages delivered, msgs). */
  onProgress?: (delivered: number, msgs: number) => void;
}

/** The `kernel-model run` summary (design.md's command-line contract), plus the run's options. */
export interface ServerSummary {
  model: ServerModel;
  conns: number;
  msgs: number;
  delivered: number;
  dropped: number;
  nvcsw: number;
  nivcsw: number;
  vcswPerMsg: number;
  cswPerMsg: number;
  runqLatencyNs: Percentiles;
  e2eLatencyNs: Percentiles;
  cpuNs: { user: number; sys: number; softirq: number; irq: number; idle: number };
  simNs: number;
  events: number;
  wallMs: number;
}

export interface ServerRun {
  summary: ServerSummary;
  kernel: Kernel;
  /** The tasks that receive (readers or epoll threads). */
  receivers: TaskStruct[];
  /** Syscalls per delivered message, by the receiving tasks. */
  syscallsPerMsg: number;
  /** The loopback sender (its task, sent count, errors), or null for remote senders. */
  sender: LoopbackSender | null;
  /** Segments the remote TCP peers sent again during the traffic phase (their
   *  TcpRetransSegs): one per frame the server dropped. 0 for UDP and the loopback sender. */
  retransmits: number;
}

/** The server's user-mode work for the n bytes a read returned (`work` ns per message). */
export function consume(sys: Sys, n: number, msgSize: number, work: number): KGen<void> {
  return sys.compute(work > 0 ? work * Math.max(1, Math.round(n / msgSize)) : 0);
}

const BASE_PORT = 10_000;

/** Run one server workload and measure it. */
export function runServer(o: ServerOptions): ServerRun {
  const wall0 = performance.now();
  const proto = o.proto ?? "tcp";
  const msgSize = o.msgSize ?? 64;
  const work = o.work ?? 1_000;
  if (!(o.conns >= 1 && Number.isInteger(o.conns))) throw new RangeError(`conns must be a positive integer, got ${o.conns}`);
  if (!(o.msgs >= 1 && Number.isInteger(o.msgs))) throw new RangeError(`msgs must be a positive integer, got ${o.msgs}`);
  const sender = o.sender ?? "remote";
  if (sender !== "remote" && sender !== "loopback") throw new RangeError(`sender must be remote or loopback, got ${String(sender)}`);
  if (sender === "loopback" && proto === "tcp" && msgSize > TCP_LO_MSS) throw new RangeError(`msgSize must be at most ${TCP_LO_MSS} with the loopback TCP sender (one segment per send), got ${msgSize}`);
  if (o.burst !== undefined && !(Number.isInteger(o.burst) && o.burst >= 1)) throw new RangeError(`burst must be an integer >= 1, got ${o.burst}`);
  if (o.rate !== undefined && !(o.rate > 0 && Number.isFinite(o.rate))) throw new RangeError(`rate must be > 0 messages/s, got ${o.rate}`);
  const k = new Kernel({
    cpus: o.cpus ?? 1, seed: o.seed ?? 1, costs: o.costs, trace: o.trace, timeline: o.timeline,
    net: o.irqCpu === undefined ? undefined : { irqAffinity: o.irqCpu },
  });
  const pin = o.receiverCpu === undefined ? {} : { cpu: o.receiverCpu, pinned: true };
  k.sysctl.tcp_low_latency = o.lowLatency ?? 0;
  k.sysctl.somaxconn = Math.max(k.sysctl.somaxconn, o.conns);
  const receivers: TaskStruct[] = [];

  // ---- the server ----
  if (o.model === "blocking") {
    // one generator function for every reader (a closure per connection would give each
    // reader generator its own prototype and hidden class)
    function* readLoop(sys: Sys, fd: number): KGen<void> {
      for (;;) {
        const n = yield* sys.read(fd, o.readSize ?? 65536);
        if (n <= 0) return;
        yield* consume(sys, n, msgSize, work);
      }
    }
    const reader = (fd: number) => (sys: Sys) => readLoop(sys, fd);
    if (proto === "tcp") {
      k.spawn("acceptor", function* (sys) {
        raiseNofile(sys, o.conns);
        const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
        yield* sys.bind(lfd, 80);
        yield* sys.listen(lfd, o.conns);
        for (let i = 0; i < o.conns; i++) {
          const fd = yield* sys.accept(lfd);
          receivers.push(k.spawn(`reader${i}`, reader(fd), { thread: sys.task, ...pin }));
        }
        yield* sys.pause();
      });
    } else {
      k.spawn("opener", function* (sys) {
        raiseNofile(sys, o.conns);
        for (let i = 0; i < o.conns; i++) {
          const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
          yield* sys.bind(fd, BASE_PORT + i);
          receivers.push(k.spawn(`reader${i}`, reader(fd), { thread: sys.task, ...pin }));
        }
        yield* sys.pause();
      });
    }
  } else if (o.model === "poll") {
    k.spawn("poll-main", function* (sys) {
      raiseNofile(sys, o.conns);
      const { lfd, fds } = yield* nonblockingSockets(sys, proto, o.conns);
      receivers.push(k.spawn("poll0", pollLoop({ lfd, fds, msgSize, work }).run, { thread: sys.task, ...pin }));
      yield* sys.pause();
    });
  } else {
    const threads = o.epollThreads ?? 1;
    k.spawn("epoll-main", function* (sys) {
      raiseNofile(sys, o.conns);
      const { lfd, fds } = yield* nonblockingSockets(sys, proto, o.conns);
      const epfd = yield* sys.epoll_create1(0);
      const loop = epollLoop({ epfd, lfd, fds, et: o.et ?? false, maxevents: o.maxevents ?? 64, msgSize, work, readSize: o.readSize });
      yield* loop.setup(sys);
      for (let t = 0; t < threads; t++) receivers.push(k.spawn(`epoll${t}`, loop.run, { thread: sys.task, ...pin }));
      yield* sys.pause();
    });
  }

  // ---- connection setup (not measured) ----
  const conn = (i: number) => (o.order === "rr" || sender === "loopback" && o.order === undefined ? i % o.conns : connOf[i]);
  const connOf: number[] = [];
  const lsender = sender === "loopback"
    ? spawnLoopbackSender(k, { proto, conns: o.conns, msgs: o.msgs, msgSize, port: (c) => (proto === "tcp" ? 80 : BASE_PORT + c), conn, cpu: o.senderCpu ?? 0 })
    : null;
  const peers: TcpPeer[] = [];
  if (proto === "tcp" && !lsender) {
    // one SYN every 20 µs: slower than the softirq handles them, so the RX ring never overflows
    for (let i = 0; i < o.conns; i++) peers.push(new TcpPeer(k, { dport: 80, flowControl: o.flowControl }).connect(100_000 + i * 20_000));
  }
  k.runUntilIdle();
  if (proto === "tcp" && o.model === "blocking" && receivers.length !== o.conns) {
    throw new Error(`setup: ${receivers.length} of ${o.conns} connections accepted`);
  }

  // ---- traffic (measured) ----
  const t0 = k.now + 1_000_000;
  const base = receivers.map((p) => [p.nvcsw, p.nivcsw, p.syscalls]);
  const s = k.stats;
  s.runqLatency.length = 0;
  s.e2eLatency.length = 0;
  const delivered0 = s.delivered;
  const drops0 = s.ringDrops + s.backlogDrops + s.socketDrops;
  const retransmits0 = sumRetransmits(peers);
  const cpu0 = k.cpuTime();
  const events0 = k.engine.events;
  const rng = k.rng.fork();
  const paced = sender === "remote" || o.rate !== undefined;
  const times = paced ? arrivals({ pattern: o.pattern ?? "poisson", msgs: o.msgs, rate: o.rate ?? 10_000, burst: o.burst, start: t0 }, rng) : null;
  const segsPerMsg = proto === "tcp" && !lsender ? Math.ceil(msgSize / TCP_MSS) : 1; // lo: one segment per send
  for (let i = 0; i < o.msgs; i++) connOf.push(o.order === "rr" ? i % o.conns : rng.int(0, o.conns - 1));
  if (lsender) {
    // the sender task waits in pause() until t0, then sends (paced by `times`, or back to back)
    lsender.start(t0, times);
  } else {
    // The senders, fed one message at a time (an event per message keeps the queue small).
    const at = times!;
    const feed = (i: number) => {
      if (i + 1 < o.msgs) k.engine.at(at[i + 1], feed, i + 1);
      const c = connOf[i];
      if (proto === "tcp") peers[c].send(msgSize, at[i], i);
      else udpSend(k, { dport: BASE_PORT + c, bytes: msgSize, at: at[i], saddr: `10.1.${(c >> 8) & 255}.${c & 255}`, sport: 20_000 + (c % 40_000), msgId: i });
    };
    k.engine.at(at[0], feed, 0);
  }
  // measure up to the last delivery: the idle tail after it would only add idle time
  let lastDelivery = t0;
  let cpu1 = cpu0;
  k.onDeliver = () => {
    lastDelivery = k.now;
    cpu1 = k.cpuTime();
  };
  o.onProgress?.(0, o.msgs);
  for (;;) {
    const n = k.engine.runEvents(100_000);
    o.onProgress?.(Math.round((s.delivered - delivered0) / segsPerMsg), o.msgs);
    if (n < 100_000) break;
  }
  k.onDeliver = null;
  const cpuNs = {
    user: cpu1.user - cpu0.user, sys: cpu1.sys - cpu0.sys, softirq: cpu1.softirq - cpu0.softirq,
    irq: cpu1.irq - cpu0.irq, idle: cpu1.idle - cpu0.idle,
  };
  let nvcsw = 0, nivcsw = 0, sys = 0;
  receivers.forEach((p, i) => {
    // every receiver was asleep when traffic began: each wakeup -> work -> sleep adds one nvcsw
    nvcsw += p.nvcsw - base[i][0];
    nivcsw += p.nivcsw - base[i][1];
    sys += p.syscalls - base[i][2];
  });
  const delivered = Math.round((s.delivered - delivered0) / segsPerMsg);
  const summary: ServerSummary = {
    model: o.model, conns: o.conns, msgs: o.msgs, delivered,
    dropped: s.ringDrops + s.backlogDrops + s.socketDrops - drops0,
    nvcsw, nivcsw,
    vcswPerMsg: delivered ? round4(nvcsw / delivered) : 0,
    cswPerMsg: delivered ? round4((nvcsw + nivcsw) / delivered) : 0,
    runqLatencyNs: percentiles(s.runqLatency),
    e2eLatencyNs: percentiles(s.e2eLatency),
    cpuNs,
    simNs: lastDelivery - t0,
    events: k.engine.events - events0,
    wallMs: Math.round(performance.now() - wall0),
  };
  return {
    summary, kernel: k, receivers, syscallsPerMsg: delivered ? round4(sys / delivered) : 0, sender: lsender,
    retransmits: sumRetransmits(peers) - retransmits0,
  };
}

function sumRetransmits(peers: TcpPeer[]): number {
  let n = 0;
  for (const p of peers) n += p.retransmits;
  return n;
}

/** The sockets an event-loop server watches: a non-blocking listener on port 80 (TCP), or one
 *  bound non-blocking UDP socket per "connection". */
function* nonblockingSockets(sys: Sys, proto: "tcp" | "udp", conns: number): KGen<{ lfd: number; fds: number[] }> {
  let lfd = -1;
  const fds: number[] = [];
  if (proto === "tcp") {
    lfd = yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, conns);
  } else {
    for (let i = 0; i < conns; i++) {
      const fd = yield* sys.socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
      yield* sys.bind(fd, BASE_PORT + i);
      fds.push(fd);
    }
  }
  return { lfd, fds };
}

/** `ulimit -n`: a server with N connections needs N fds (the default soft limit is 1024). */
function raiseNofile(sys: Sys, conns: number): void {
  sys.task.files.rlimit_nofile = Math.max(sys.task.files.rlimit_nofile, conns + 64);
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
