// kernel.ts: one simulated machine: CPUs, tasks, the clock, costs, sysctls and statistics.
// No single Linux file: this is the model's `struct` of globals (per-CPU rq, init_net, ...).
// Book: every section of ch.3 runs on a Kernel.
//
// Interface:
// * new Kernel({cpus, seed, costs, trace}) boots: per-CPU run queues with idle tasks,
//   sock_register(&inet_family_ops) (inet_init), eth0 (dev.ts) and lo (loopback.ts),
//   ksoftirqd/N when softirq.ts is loaded.
// * k.spawn(comm, function* (sys) {...}) creates a task whose program yields syscalls:
//   `const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0)`. It starts runnable.
// * k.run(ns) advances simulated time by ns; k.runUntilIdle() until nothing is left to do.
// * k.current is the task whose code runs (the interrupted one while in irq context),
//   k.cpu the run queue executing now, k.tr the tracer (null: tracing off).
//
// Model vs kernel: one network namespace (init_net), one user, every task may hold
// CAP_NET_RAW (`caps`). Everything happens through engine events; nothing here has a lock.

import { Engine } from "../sim/engine";
import { createRng, type Rng } from "../sim/rng";
import { Tracer } from "../sim/trace";
import { SOURCE } from "./lines";
import { makeCosts, type Costs } from "./costs";
import {
  newRq, resched_curr, schedTunables, Task, TASK_RUNNING, type CpuMode, type KGen, type Rq, type SchedTunables, type TaskStruct,
} from "./sched";
import { exit_files, newFiles, tty_fops, FMODE_READ, FMODE_WRITE, O_RDWR, type File } from "./fs";
import { makeSys, type Sys } from "./syscalls";
import type { SoftirqAction } from "./softirq";
import { net_dev_init, type NetDevice, type NetDevOptions, type SoftnetData } from "./dev";
import type { NetProtocol } from "./ip_input";
import type { ModelBugs, SkBuff } from "./sock";
import { newHashtables, type InetHashtables } from "./inet_hashtables";
import { inet_init, type NetProtoFamily, type InetProtosw } from "./af_inet";
import { loopback_net_init } from "./loopback";

export interface KernelOptions {
  /** Number of CPUs (default 1). */
  cpus?: number;
  /** Seed for every random choice (default 1). */
  seed?: number;
  /** Cost overrides (ns); see costs.ts for the defaults and their sources. */
  costs?: Partial<Costs>;
  /** Record call trees (default false: tracing off costs nothing). */
  trace?: boolean;
  /** The NIC: RX queues, ring size, IRQ affinity (dev.ts). */
  net?: NetDevOptions;
  /** Record who ran on each CPU when, and every wakeup (for plotTimeline). Default false. */
  timeline?: boolean;
}

/** What ran on a CPU from start to end (ns): a task, "hardirq", "softirq"; ctx = a context switch. */
export interface TimelineSegment {
  cpu: number;
  start: number;
  end: number;
  who: string;
  mode: CpuMode;
  ctx: boolean;
}
export interface TimelineWakeup {
  t: number;
  fromCpu: number;
  task: string;
  toCpu: number;
}

/** /proc/sys values the chapter touches. */
export interface Sysctl {
  /** net.ipv4.tcp_low_latency: 0 (default) uses the prequeue; 1 gives the book's path. */
  tcp_low_latency: number;
  /** net.core.rmem_default: SKB_TRUESIZE(256) * 256 on x86-64. */
  rmem_default: number;
  wmem_default: number;
  /** net.ipv4.tcp_rmem[1], tcp_wmem[1]: the initial sk_rcvbuf/sk_sndbuf of a TCP socket. */
  tcp_rmem_default: number;
  tcp_wmem_default: number;
  /** net.core.rmem_max (caps SO_RCVBUF), net.core.somaxconn (caps listen's backlog). */
  rmem_max: number;
  /** net.core.wmem_max (caps SO_SNDBUF). */
  wmem_max: number;
  somaxconn: number;
}

/** Statistics every scenario reads. Latencies are ns. */
export interface KernelStats {
  wakeups: number;
  contextSwitches: number;
  /** bcc runqlat: from wakeup (or preemption) to running again. */
  runqLatency: number[];
  /** NIC arrival -> the recv/read that consumed the data returns to user space. */
  e2eLatency: number[];
  /** skbs whose data reached user space (one per datagram or TCP segment). */
  delivered: number;
  filesFreed: number;
  socksFreed: number;
  /** Frames lost at the NIC (RX ring full). */
  ringDrops: number;
  /** Packets netif_rx dropped: input_pkt_queue over netdev_max_backlog (lo's path). */
  backlogDrops: number;
  /** Dropped at a socket: receive buffer or backlog full (the sum of those sk_drops). */
  socketDrops: number;
  /** Datagrams udp_recvmsg dequeued and freed unread because the copy to user space faulted
   *  (an unmapped buffer; 4.6.2 counts sk_drops for them unless peeked, and also for a faulted
   *  MSG_PEEK that leaves the datagram queued, so these are kept apart from socketDrops). */
  recvCopyFaults: number;
  /** Segments/datagrams for no socket (RST / ICMP port unreachable). */
  noSocket: number;
  listenOverflows: number;
  softirqRuns: number;
  softirqRestarts: number;
  ksoftirqdWakeups: number;
  hardirqs: number;
  /** skbs still queued on a sock when it was freed (purged unread at close). */
  freedUnread: number;
  /** Scheduler ticks that ran (scheduler_tick), all CPUs. */
  ticks: number;
}

export type Program = (sys: Sys) => KGen<unknown>;

export class Kernel {
  readonly engine = new Engine();
  readonly rng: Rng;
  readonly costs: Costs;
  readonly sched: SchedTunables;
  readonly rqs: Rq[];
  readonly tasks: TaskStruct[] = [];
  readonly sysctl: Sysctl = {
    tcp_low_latency: 0,
    rmem_default: 212992,
    wmem_default: 212992,
    tcp_rmem_default: 87380,
    tcp_wmem_default: 16384,
    rmem_max: 212992,
    wmem_max: 212992,
    somaxconn: 128,
  };
  /** Teaching switches for deliberately wrong kernel code (sock.ts ModelBugs). */
  readonly bugs: ModelBugs = { lostWakeup: false };
  /** Socket lookup tables (tcp_hashinfo, udp_table) and bound TCP ports. */
  readonly hash: InetHashtables = newHashtables();
  readonly tcpPorts = new Set<number>();
  /** Model: every ephemeral port below this one is taken (tcpPorts never shrinks: the model
   *  frees no port), so inet_hash_connect's search starts here instead of at the range's start. */
  ephemeralFrom = 0;
  readonly stats: KernelStats = {
    wakeups: 0, contextSwitches: 0, runqLatency: [], e2eLatency: [], delivered: 0, filesFreed: 0, socksFreed: 0,
    ringDrops: 0, backlogDrops: 0, socketDrops: 0, noSocket: 0, recvCopyFaults: 0, listenOverflows: 0, softirqRuns: 0, softirqRestarts: 0, ksoftirqdWakeups: 0, hardirqs: 0, ticks: 0, freedUnread: 0,
  };
  /** CPU timeline recording, or null when off. */
  timeline: { segments: TimelineSegment[]; wakeups: TimelineWakeup[] } | null;
  /** The tracer, or null when tracing is off. */
  tr: Tracer | null;
  /** The run queue whose CPU is executing code right now (null between events). */
  cpu: Rq | null = null;
  /** current: the task whose code runs (in irq context: the interrupted task). */
  current: TaskStruct;
  /** net_families[NPROTO] (net/socket.c), filled by sock_register. */
  readonly net_families: (NetProtoFamily | null)[] = [];
  /** inetsw[SOCK_MAX] (net/ipv4/af_inet.c): the protocol switch lists, filled by inet_init. */
  readonly inetsw: InetProtosw[][] = [];
  /** softirq_vec[NR_SOFTIRQS] (kernel/softirq.c): filled by open_softirq. */
  readonly softirq_vec: (SoftirqAction | null)[] = [];
  /** eth0 and the per-CPU softnet_data (dev.ts). */
  dev: NetDevice | null = null;
  /** The loopback device (loopback.ts): where the model's own tasks send to each other. */
  lo: NetDevice | null = null;
  softnet: SoftnetData[] = [];
  /** inet_protos[MAX_INET_PROTOS] (net/ipv4/protocol.c): tcp_protocol, udp_protocol. */
  readonly inet_protos: (NetProtocol | null)[] = [];
  /** Called when a read hands an skb's data to user space (scenarios count messages). */
  onDeliver: ((p: TaskStruct, skb: SkBuff) => void) | null = null;
  /** Hook installed by eventpoll.ts: eventpoll_release(file) from __fput. */
  eventpoll_release: ((k: Kernel, file: File) => void) | null = null;
  nextFileId = 1;
  /** Model: numbering of remote peers (their addresses and ports). */
  nextPeer = 0;
  /** Sockets and socks created so far, and alive now (sockets_in_use in net/socket.c). */
  socketsCreated = 0;
  sockets_in_use = 0;
  socksCreated = 0;
  socks_alive = 0;
  rqseqNext = 0;
  private nextPid = 1;

  constructor(opts: KernelOptions = {}) {
    const ncpus = opts.cpus ?? 1;
    if (!Number.isInteger(ncpus) || ncpus < 1 || ncpus > 64) throw new RangeError(`cpus must be 1..64, got ${ncpus}`);
    this.rng = createRng(opts.seed ?? 1);
    this.costs = makeCosts(opts.costs);
    this.sched = schedTunables(ncpus);
    this.tr = opts.trace ? new Tracer(SOURCE, () => this.engine.now) : null;
    this.timeline = opts.timeline ? { segments: [], wakeups: [] } : null;
    this.rqs = [];
    for (let cpu = 0; cpu < ncpus; cpu++) {
      const idle = this.newTask(`swapper/${cpu}`, null, cpu);
      idle.pid = 0;
      this.rqs.push(newRq(cpu, idle));
    }
    this.current = this.rqs[0].idle;
    inet_init(this);
    net_dev_init(this, opts.net);
    loopback_net_init(this);
  }

  get now(): number {
    return this.engine.now;
  }

  /** Turn tracing on (a fresh recorder) or off. */
  setTracing(on: boolean): Tracer | null {
    this.tr = on ? new Tracer(SOURCE, () => this.engine.now) : null;
    return this.tr;
  }

  /** The terminal every user task has on fds 0, 1, 2 (/dev/pts/0). */
  readonly tty: File = {
    id: 0, f_op: tty_fops, private_data: null, f_flags: O_RDWR, f_mode: FMODE_READ | FMODE_WRITE, f_count: 0, f_ep_links: [], name: "/dev/pts/0",
  };

  private newTask(comm: string, gen: KGen<unknown> | null, cpu: number, withTty = false): TaskStruct {
    return new Task(this.nextPid++, comm, gen, cpu, newFiles(withTty ? this.tty : null));
  }

  /** Create a task running `program` and make it runnable (wake_up_new_task) on `cpu`.
   *  `thread: t` shares t's fd table (clone(CLONE_FILES), as pthread_create does). */
  spawn(comm: string, program: Program, opts: { cpu?: number; kthread?: boolean; pinned?: boolean; CAP_NET_RAW?: boolean; thread?: TaskStruct } = {}): TaskStruct {
    const cpu = opts.cpu ?? this.tasks.length % this.rqs.length;
    if (!(cpu >= 0 && cpu < this.rqs.length)) throw new RangeError(`spawn: no cpu ${cpu}`);
    const p = this.newTask(comm, null, cpu, !opts.kthread) as Task;
    p.spawned = true; // its label names the pid: "task nginx[3]"
    p.kthread = opts.kthread ?? false;
    p.caps.CAP_NET_RAW = opts.CAP_NET_RAW ?? false;
    p.pinned = opts.pinned ?? false;
    if (opts.thread) {
      p.files = opts.thread.files;
      p.files.count++;
    }
    p.gen = program(makeSys(this, p));
    const rq = this.rqs[cpu];
    rq.min_vruntime = Math.max(rq.min_vruntime, 0);
    p.se.vruntime = rq.min_vruntime; // place_entity(initial)
    p.on_rq = true;
    p.rqseq = this.rqseqNext++;
    p.wokenAt = this.now;
    rq.cfs.insert(p);
    this.tasks.push(p);
    resched_curr(this, rq); // from outside that CPU: a reschedule IPI event at now
    return p;
  }

  /** exit(): close the task's files. Called by do_exit. */
  exitTask(p: TaskStruct): void {
    const saved = this.current;
    this.current = p;
    exit_files(this);
    this.current = saved;
    p.exitCode = 0;
  }

  /** Run for ns of simulated time. */
  run(ns: number): void {
    this.engine.runUntil(this.now + ns);
  }

  /** Run to an absolute time. */
  runUntil(t: number): void {
    this.engine.runUntil(t);
  }

  /** Run until no event is left (every task blocked or exited). */
  runUntilIdle(limit = 50_000_000): number {
    return this.engine.runUntilIdle(limit);
  }

  /** CPU time of all CPUs so far, ns, with idle brought up to now. */
  cpuTime(): { user: number; sys: number; softirq: number; irq: number; idle: number } {
    const t = { user: 0, sys: 0, softirq: 0, irq: 0, idle: 0 };
    for (const rq of this.rqs) {
      t.user += rq.time.user;
      t.sys += rq.time.sys;
      t.softirq += rq.time.softirq;
      t.irq += rq.time.irq;
      t.idle += rq.time.idle + (rq.idleSince >= 0 ? this.now - rq.idleSince : 0);
    }
    return t;
  }
}
