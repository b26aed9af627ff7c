// sched.ts: tasks, CPUs, run queues, schedule() and try_to_wake_up().
// Linux 4.6.2: kernel/sched/core.c, kernel/sched/fair.c, include/linux/sched.h. Book: §3.3.
//
// Interface:
// * TaskStruct: a process/thread. Its program is a generator: kernel code runs inside it and
//   suspends it exactly where Linux calls schedule() (`yield* schedule(k)`).
// * Rq: one per CPU: `curr`, the CFS tree of runnable tasks, the idle task, irq frames.
// * schedule(k) (generator), __schedule(k, rq, preempt), try_to_wake_up(k, p, state, flags),
//   wake_up_process, default_wake_function, resched_curr, charge(k, ns).
// * cpuRun(k, rq) drives a CPU: it resumes the top context (an irq frame, else rq.curr) until
//   that context burns CPU time, sleeps, or finishes; cpuInterrupt() pushes an irq frame.
//
// The policy (CFS-like, all tasks nice 0, documented here because it decides every latency):
// * Each rq keeps runnable tasks (not curr) ordered by vruntime, ties FIFO (the rb-tree's
//   "equal keys go right"). pick_next_task takes the leftmost; curr is put back on preemption.
// * vruntime advances 1:1 with the CPU time a task burns. A new task starts at
//   min_vruntime + one slice (START_DEBIT); a woken task's vruntime is made relative to the
//   CPU it slept on and re-based on the CPU it wakes on (task_waking_fair, then enqueue_entity
//   with ENQUEUE_WAKING), then gets max(vruntime, min_vruntime - sched_latency/2) (place_entity
//   with GENTLE_FAIR_SLEEPERS).
// * Slice: sched_latency / nr_running, at least min_granularity; 4.6 scales sched_latency (6 ms),
//   min_granularity (0.75 ms) and wakeup_granularity (1 ms) by 1 + log2(min(ncpus, 8)).
// * The scheduler tick (HZ = 250, CONFIG_HZ_250 as Debian's and Ubuntu's 4.6 configs set it:
//   TICK_NSEC = 4 ms, on a grid common to all CPUs) runs scheduler_tick -> task_tick_fair ->
//   entity_tick -> check_preempt_tick: resched_curr when curr has run longer than its
//   sched_slice since it was last picked (sum_exec_runtime - prev_sum_exec_runtime), or, after
//   min_granularity, when its vruntime leads the leftmost task's by more than the slice. A slice
//   is therefore checked only at ticks (4.6's HRTICK feature is off by default): a hog keeps the
//   CPU up to sched_slice + one tick. __schedule re-picking prev (next == prev) restarts its
//   slice, as set_next_entity does.
// * Wakeup preemption (check_preempt_wakeup): resched when curr is idle, or when
//   curr.vruntime - p.vruntime > wakeup_granularity.
// * Placement (select_task_rq): the previous CPU if idle, else the first idle CPU after it,
//   else the previous CPU's queue.
// * A wakeup onto another CPU enqueues at once (ttwu_queue -> ttwu_do_activate: the CPUs share a
//   cache, so no wake_list) and sends a reschedule IPI (resched_curr); the target CPU acts on it
//   costs.ipi later, costs.ipi + costs.idleExit when it was idle (ipiDelay).
// * Preemption points (PREEMPT_NONE/VOLUNTARY kernel): user code is preempted at once (a
//   resched IPI or the irq return path); kernel code only at syscall exit or when it sleeps.
//
// Context switches are counted as Linux counts them for /proc/PID/status: in __schedule, if
// prev != next, ++prev->nvcsw when prev blocked (state != TASK_RUNNING), else ++prev->nivcsw.
// The switch itself costs costs.ctxSwitch of CPU time, charged before next runs.
//
// Model vs kernel:
// * One event runs at a time, so there are no locks, no RCU and no memory barriers. Code between
//   two yields runs at one instant; CPU time passes only at `yield* burn(...)` and via charge().
// * No load balancing between CPUs beyond wakeup placement; no nice levels, no cgroups.
// * Timer interrupts cost nothing. The tick is stopped while a CPU is idle (NO_HZ idle) and,
//   as a saving of events, also while it has a single runnable task: 4.6 keeps ticking then,
//   but entity_tick calls check_preempt_tick only when nr_running > 1, and nothing else the
//   tick does (load averages, load balancing) is modelled. At most one event per busy CPU per tick.

import { OrderedSet } from "js-sdsl";
import type { Kernel } from "./kernel";
import type { FilesStruct } from "./fs";
import type { SimEvent } from "../sim/engine";

// include/linux/sched.h
export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 1;
export const TASK_UNINTERRUPTIBLE = 2;
export const TASK_DEAD = 64;
export const TASK_WAKING = 256;
export const TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;
/** kernel/sched/sched.h: wake_flags. */
export const WF_SYNC = 0x01;
/** include/linux/sched.h: schedule_timeout(MAX_SCHEDULE_TIMEOUT) sleeps without a timer.
 *  Model: LONG_MAX in the kernel; here -1, a small integer no timeout of the model takes (a
 *  negative SO_RCVTIMEO becomes 0, schedule_timeout returns what is left, >= 0), so that a
 *  sock's sk_rcvtimeo / sk_sndtimeo hold it without a boxed double each. Compared with ===. */
export const MAX_SCHEDULE_TIMEOUT = -1;

export function taskStateName(state: number): string {
  if (state === TASK_RUNNING) return "TASK_RUNNING";
  if (state === TASK_INTERRUPTIBLE) return "TASK_INTERRUPTIBLE";
  if (state === TASK_UNINTERRUPTIBLE) return "TASK_UNINTERRUPTIBLE";
  if (state === TASK_NORMAL) return "TASK_NORMAL";
  if (state === TASK_DEAD) return "TASK_DEAD";
  return `0x${state.toString(16)}`;
}

/** CPU time categories, as in /proc/stat (user, system, softirq, irq; idle separately). */
export type CpuMode = "user" | "sys" | "softirq" | "irq";

/** What code running on a simulated CPU yields to it. */
export const OP_BURN = 0;
export const OP_SCHED = 1;
export const OP_PREEMPT = 2;
/** Internal: the code returned (a finished task or irq frame). */
const OP_EXIT = 3;
export interface Op {
  op: typeof OP_BURN | typeof OP_SCHED | typeof OP_PREEMPT | typeof OP_EXIT;
  ns: number;
  mode: CpuMode;
}
/** A kernel or user code path that may burn CPU time or sleep, returning R. */
export type KGen<R = number> = Generator<Op, R, unknown>;

const SCHED_OP: Op = { op: OP_SCHED, ns: 0, mode: "sys" };
const PREEMPT_OP: Op = { op: OP_PREEMPT, ns: 0, mode: "sys" };
const EXIT_OP: Op = { op: OP_EXIT, ns: 0, mode: "sys" };

/** Spend ns of CPU time in the given mode. The CPU may be interrupted meanwhile. */
/** One reusable Op per mode: cpuRun reads it before any other code runs (and copies it when it
 *  has to keep it), so burns allocate nothing. */
const BURN_OPS: Record<CpuMode, Op> = {
  user: { op: OP_BURN, ns: 0, mode: "user" }, sys: { op: OP_BURN, ns: 0, mode: "sys" },
  softirq: { op: OP_BURN, ns: 0, mode: "softirq" }, irq: { op: OP_BURN, ns: 0, mode: "irq" },
};

export function burn(ns: number, mode: CpuMode = "sys"): KGen<void> {
  if (!(ns > 0)) return PAID;
  const paid = runRq !== null ? payInPlace(ns, mode) : PAID_NO;
  if (paid === PAID_YES) return PAID; // no generator: `yield* burn()` returns at once
  return burnOp(ns, mode, paid === PAID_PREEMPT);
}

function* burnOp(ns: number, mode: CpuMode, paid: boolean): KGen<void> {
  if (paid) {
    yield PREEMPT_OP;
    return;
  }
  const op = BURN_OPS[mode];
  op.ns = ns;
  yield op;
}

/** A code path that is already done: what burn() returns when the time is paid (stateless, so
 *  one object serves every caller). */
const PAID_RESULT: IteratorReturnResult<void> = { done: true, value: undefined };
const PAID = {
  next: () => PAID_RESULT,
  return: () => PAID_RESULT,
  throw: (e: unknown) => {
    throw e;
  },
  [Symbol.iterator]() {
    return this;
  },
} as unknown as KGen<void>;

/** A code path that may sleep but returned at once (lock_sock on a free lock, a bottom-half
 *  enable with no softirq pending): its caller's `yield*` finishes without a generator. */
export function returned(): KGen<void> {
  return PAID;
}

/** Pay, now and in the current context's mode, the CPU time that plain functions charged
 *  (charge()): e.g. before __do_softirq hands the frame back to hard-IRQ accounting. */
export function* payCharges(k: Kernel): KGen<void> {
  if (k.cpu && k.cpu.debt > 0 && (runRq !== k.cpu || payInPlace(0, "sys") !== PAID_YES)) yield PREEMPT_OP;
}

/** A preemption point: the syscall-exit path (exit_to_usermode_loop checks need_resched).
 *  Yields only when a reschedule is pending, or when time is owed (paid before user code). */
export function* preemptPoint(k: Kernel): KGen<void> {
  if (preemptDue(k)) yield PREEMPT_OP;
}

/** preemptPoint's test, for code that is not a generator (the syscall record in syscalls.ts):
 *  true when it must hand PREEMPT_STEP to cpuRun; the time owed is paid in place when it can be. */
export function preemptDue(k: Kernel): boolean {
  const rq = k.cpu;
  return rq !== null && (rq.need_resched || (rq.debt > 0 && (runRq !== rq || payInPlace(0, "sys") !== PAID_YES)));
}

/** What a hand-written step function returns for `yield PREEMPT_OP` (read, never changed). */
export const PREEMPT_STEP: IteratorYieldResult<Op> = Object.freeze({ done: false, value: PREEMPT_OP });

// ---- paying CPU time in place (model) ----
// cpuRun resumes one context at a time and records which (runK, runRq, runFrame) while the code
// runs. A burn asked for there, that nothing can interrupt, is paid on the spot: the same
// accounting cpuRun would do on receiving the Op (the debt of charge() first, in the context's
// mode, then the burn, each through fastBurn), so the code goes on without yielding up through
// every generator frame. Whenever cpuRun would do anything else (start a burn event, preempt),
// payInPlace leaves the state as it found it, or as cpuRun leaves it after the same steps, and
// the code yields as before.

/** Model: pay in place (default), or always yield the Op to cpuRun: the reference behaviour a
 *  test compares the in-place path against (the two must give identical runs). */
export function setPayInPlace(on: boolean): void {
  payInPlaceOn = on;
}
let payInPlaceOn = true;
let runK: Kernel | null = null;
let runRq: Rq | null = null;
let runFrame: IrqFrame | null = null;
const PAID_NO = 0; // nothing could be paid in place without changing the outcome: yield the burn
const PAID_YES = 1; // paid: go on
const PAID_PREEMPT = 2; // paid, but cpuRun must look at need_resched before the code goes on

/** Model: code that drives a generator itself (atomicRun in tcp_output.ts charges each burn
 *  instead of burning it) must see every burn as an Op, so nothing is paid in place while it
 *  runs. Returns the function that restores the state. */
export function holdPayInPlace(): () => void {
  const k = runK, rq = runRq, f = runFrame;
  runK = null;
  runRq = null;
  runFrame = null;
  return () => {
    runK = k;
    runRq = rq;
    runFrame = f;
  };
}

/** The mode in which time charged by plain functions is paid: the irq frame's, softirq for a
 *  __do_softirq run in a task (ksoftirqd, do_softirq at local_bh_enable), else sys. cpuRun and
 *  payInPlace must agree on it (fastpath-property.test.ts). */
function debtMode(rq: Rq, frame: IrqFrame | null): CpuMode {
  return frame ? frame.mode : rq.in_softirq ? "softirq" : "sys";
}

function payInPlace(ns: number, mode: CpuMode): number {
  const k = runK!, rq = runRq!, frame = runFrame;
  const r: Runnable = frame ?? rq.curr;
  if (!payInPlaceOn || k.cpu !== rq || r.left > 0 || r.ctxLeft > 0 || r.pending !== null) return PAID_NO;
  if (rq.debt > 0) {
    // cpuRun: the debt becomes r.left in the context's mode and is paid before the Op
    if (!fastBurn(k, rq, r, rq.debt, debtMode(rq, frame))) return PAID_NO;
    rq.debt = 0;
  }
  if (ns > 0) {
    // cpuRun: returning to user code with need_resched set preempts before the burn
    if (!frame && rq.need_resched && mode === "user" && r !== rq.idle) return PAID_NO;
    if (!fastBurn(k, rq, r, ns, mode)) return PAID_NO;
  }
  // cpuRun, before it resumes the code: a reschedule pending for preemptible code
  if (!frame && rq.need_resched && (r === rq.idle || !(r as TaskStruct).inKernel)) return PAID_PREEMPT;
  k.tr?.setContext(r.label);
  return PAID_YES;
}

// ---- tail calls (model) ----
// A kernel function whose last act is to call the next one (vfs_read -> __vfs_read ->
// new_sync_read -> sock_read_iter -> ...) is a plain function that returns its callee's
// generator: `return tailCall(k, __vfs_read(...))`. The caller's `yield*` then drives the callee
// directly, so a read() that does not sleep resumes no wrapper frames, and one asleep keeps no
// wrapper generators alive. Its trace node (entered before the call) is closed when the callee
// finishes, as `finally { k.tr?.exit() }` did: with tracing on, a small generator does that.

/** Return the callee's generator; with tracing on, exit `exits` trace nodes when it finishes. */
export function tailCall<R>(k: Kernel, callee: KGen<R>, exits = 1): KGen<R> {
  return k.tr ? exitAfter(k, callee, exits) : callee;
}

function* exitAfter<R>(k: Kernel, callee: KGen<R>, exits: number): KGen<R> {
  try {
    return yield* callee;
  } finally {
    for (let i = 0; i < exits; i++) k.tr?.exit();
  }
}

/** Return `value` at once from a tail-calling function (an early error return), exiting its trace nodes. */
export function returnNow<R>(k: Kernel, value: R, exits = 1): KGen<R> {
  for (let i = 0; i < exits; i++) k.tr?.exit();
  return valueGen(value);
}

// eslint-disable-next-line require-yield
function* valueGen<R>(value: R): KGen<R> {
  return value;
}

/** struct sched_entity (include/linux/sched.h): the CFS part of a task. */
export interface SchedEntity {
  vruntime: number;
  sum_exec_runtime: number;
  /** When the task last got a CPU. */
  exec_start: number;
  /** sum_exec_runtime when the task was last picked (set_next_entity): its slice starts there. */
  prev_sum_exec_runtime: number;
}

/** Something a CPU can run: a task, or an irq frame pushed on top of one. */
export interface Runnable {
  /** Tracer context label: "task nginx[3]", "cpu0 hardirq". */
  readonly label: string;
  gen: KGen<unknown> | null;
  /** Value handed to gen.next() when it resumes (the result of what it yielded). */
  resume: unknown;
  /** CPU time still owed before gen may resume (a burn that was interrupted or preempted). */
  left: number;
  leftMode: CpuMode;
  /** Context-switch cost still to pay (sys) before `left`: kept apart so that a preempted
   *  user burn stays preemptible after the switch back. */
  ctxLeft: number;
  /** What the code yielded while it still owed time: handled once `left` is paid. */
  pending: Op | null;
}

/** struct task_struct (include/linux/sched.h): the fields this chapter needs. */
export interface TaskStruct extends Runnable {
  pid: number;
  comm: string;
  /** TASK_RUNNING, TASK_INTERRUPTIBLE, ...: set by the task itself before it sleeps. */
  state: number;
  /** On a run queue (runnable or running). Cleared by deactivate_task when it sleeps. */
  on_rq: boolean;
  /** task_cpu(p): the CPU it last ran or is queued on. */
  cpu: number;
  se: SchedEntity;
  /** Voluntary context switches (blocked), as /proc/PID/status voluntary_ctxt_switches. */
  nvcsw: number;
  /** Involuntary context switches (preempted), as nonvoluntary_ctxt_switches. */
  nivcsw: number;
  files: FilesStruct;
  /** TIF_SIGPENDING (signal_pending()): a pending signal is not blocked. The model's handler is
   *  a no-op without SA_RESTART. */
  sigpending: boolean;
  /** pending.signal: signals sent and not yet delivered (signal.ts masks: bit sig - 1). */
  sigPendingSet: number;
  /** blocked: the signal mask (sigprocmask, epoll_pwait's sigmask). */
  blocked: number;
  /** saved_sigmask to restore on the way out (set_restore_sigmask), or null. */
  saved_sigmask: number | null;
  /** Model: inside a syscall (not preemptible until syscall exit). */
  inKernel: boolean;
  /** Capabilities the model checks (CAP_NET_RAW for SOCK_RAW). */
  caps: { CAP_NET_RAW: boolean };
  /** Bound to `cpu` (kthread_bind for ksoftirqd/N; sched_setaffinity to one CPU). */
  pinned: boolean;
  /** Kernel thread (ksoftirqd): no files, never returns to user space. */
  kthread: boolean;
  exitCode: number | null;
  /** Accounting: CPU time spent in user and kernel mode by this task. */
  utime: number;
  stime: number;
  syscalls: number;
  /** Model stats: when the task was last woken (-1 when not waiting for a CPU). */
  wokenAt: number;
  /** When it last went to sleep (-1 when runnable), and total time asleep. */
  sleptAt: number;
  blockedNs: number;
  /** Tie-break for the CFS tree: FIFO among equal vruntimes. */
  rqseq: number;
}

/** The task_struct the kernel allocates (copy_process): TaskStruct's fields, in one class so
 *  that every task has the same shape, and a label built only when asked for (the tracer's
 *  context, an error message): a string per task would cost ~190 B with tracing off. */
export class Task implements TaskStruct {
  state = TASK_RUNNING;
  on_rq = false;
  se: SchedEntity = { vruntime: 0, sum_exec_runtime: 0, exec_start: 0, prev_sum_exec_runtime: 0 };
  nvcsw = 0;
  nivcsw = 0;
  caps = { CAP_NET_RAW: false };
  pinned = false;
  sigpending = false;
  sigPendingSet = 0;
  blocked = 0;
  saved_sigmask: number | null = null;
  inKernel = false;
  kthread = false;
  exitCode: number | null = null;
  utime = 0;
  stime = 0;
  syscalls = 0;
  wokenAt = -1;
  sleptAt = -1;
  blockedNs = 0;
  rqseq = 0;
  resume: unknown = undefined;
  left = 0;
  leftMode: CpuMode = "sys";
  ctxLeft = 0;
  pending: Op | null = null;
  /** Model: created by k.spawn (its label names its pid), not an idle task. */
  spawned = false;
  constructor(public pid: number, public comm: string, public gen: KGen<unknown> | null, public cpu: number, public files: FilesStruct) {}
  get label(): string {
    return this.spawned ? `task ${this.comm}[${this.pid}]` : `task ${this.comm}`;
  }
}

/** A hard-IRQ/softirq context on a CPU (the kernel runs it on the interrupted task's stack). */
export interface IrqFrame extends Runnable {
  mode: CpuMode;
}

/** Per-CPU time, ns, split as /proc/stat does. */
export interface CpuTime {
  user: number;
  sys: number;
  softirq: number;
  irq: number;
  idle: number;
}

/** struct rq (kernel/sched/sched.h) + the CPU executing it. */
export interface Rq {
  cpu: number;
  /** The task that owns the CPU (rq->curr); the idle task when nothing runs. */
  curr: TaskStruct;
  idle: TaskStruct;
  /** cfs_rq->tasks_timeline: runnable tasks other than curr, by (vruntime, rqseq). */
  cfs: OrderedSet<TaskStruct>;
  min_vruntime: number;
  /** TIF_NEED_RESCHED on curr. */
  need_resched: boolean;
  /** Hard-IRQ/softirq frames running on top of curr, innermost last. */
  irqs: IrqFrame[];
  /** The burn in progress and who owns it. */
  burnEv: SimEvent | null;
  burnOwner: Runnable | null;
  burnStart: number;
  burnEnd: number;
  burnMode: CpuMode;
  /** The burn pays a context switch (ctxLeft) rather than the owner's own work (left). */
  burnCtx: boolean;
  /** CPU time charged by plain functions (charge()) while the current context ran. */
  debt: number;
  /** When the CPU went idle (-1 when busy). */
  idleSince: number;
  time: CpuTime;
  /** The next scheduler tick on this CPU (null while the tick is stopped). */
  tickEv: SimEvent | null;
  nr_switches: number;
  /** Per-CPU softirq state (kernel/softirq.c): pending bits, in __do_softirq, ksoftirqd task. */
  softirq_pending: number;
  in_softirq: boolean;
  /** softirq_count() / SOFTIRQ_DISABLE_OFFSET: local_bh_disable nesting in process context. */
  bh_disable_cnt: number;
  ksoftirqd: TaskStruct | null;
}

/** The scheduler's tunables after 4.6's log2(ncpus) scaling (kernel/sched/fair.c). */
export interface SchedTunables {
  sched_latency: number;
  sched_min_granularity: number;
  sched_wakeup_granularity: number;
}

export function schedTunables(ncpus: number): SchedTunables {
  const factor = 1 + Math.floor(Math.log2(Math.min(Math.max(ncpus, 1), 8)));
  return {
    sched_latency: 6_000_000 * factor,
    sched_min_granularity: 750_000 * factor,
    sched_wakeup_granularity: 1_000_000 * factor,
  };
}

function cmpTasks(a: TaskStruct, b: TaskStruct): number {
  return a.se.vruntime - b.se.vruntime || a.rqseq - b.rqseq;
}

export function newRq(cpu: number, idle: TaskStruct): Rq {
  return {
    cpu, curr: idle, idle, cfs: new OrderedSet<TaskStruct>([], cmpTasks), min_vruntime: 0,
    need_resched: false, irqs: [], burnEv: null, burnOwner: null, burnStart: 0, burnEnd: 0,
    burnMode: "sys", burnCtx: false, debt: 0, idleSince: 0,
    time: { user: 0, sys: 0, softirq: 0, irq: 0, idle: 0 },
    tickEv: null, nr_switches: 0, softirq_pending: 0, in_softirq: false, bh_disable_cnt: 0, ksoftirqd: null,
  };
}

/** Runnable tasks on rq, curr included (rq->nr_running). */
export function nr_running(rq: Rq): number {
  return rq.cfs.size() + (rq.curr !== rq.idle && rq.curr.on_rq ? 1 : 0);
}

/** idle_cpu(): nothing runs and nothing waits. */
export function idle_cpu(rq: Rq): boolean {
  return rq.curr === rq.idle && rq.cfs.size() === 0;
}

/** Charge CPU time to whatever runs on the current CPU (for code that is not a generator). */
export function charge(k: Kernel, ns: number): void {
  if (k.cpu) k.cpu.debt += ns;
}

// ---- sleeping and waking (kernel/sched/core.c) ----

/** A kernel function that may sleep, written as a record of its locals and the step it is at
 *  instead of a generator (schedule, schedule_timeout, schedule_hrtimeout_range, the syscall
 *  wrapper): a caller drives it with `yield*` like any KGen; next(v) runs it to its next yield
 *  (returning what the generator would have yielded) or to its end ({done: true, value}). */
export abstract class StepRecord<R> {
  /** 0 before the first next(); each subclass numbers its own steps; 2 (or more) once done. */
  protected step = 0;
  abstract next(v?: unknown): IteratorResult<Op, R>;
  [Symbol.iterator](): this {
    return this;
  }
  /** gen.return(value): nothing more runs (no caller abandons a kernel path today). */
  return(value: R): IteratorReturnResult<R> {
    this.step = 2;
    return { done: true, value };
  }
  throw(e: unknown): never {
    throw e;
  }
}

/** schedule(): give up the CPU. Sleeps if current->state != TASK_RUNNING.
 *  Written as a two-step record instead of a generator (a task asleep keeps one small object
 *  here, not a generator frame): step 0 enters schedule -> __schedule and hands OP_SCHED to
 *  cpuRun (which runs __schedule); step 1 runs when the task is back on a CPU. */
export function schedule(k: Kernel): KGen<void> {
  return new ScheduleCall(k) as unknown as KGen<void>;
}

class ScheduleCall extends StepRecord<void> {
  private t0 = 0;
  constructor(private readonly k: Kernel) {
    super();
  }
  next(): IteratorResult<Op, void> {
    const k = this.k;
    if (this.step === 0) {
      this.step = 1;
      k.tr?.enter("schedule", "schedule()");
      k.tr?.enter("__schedule", "__schedule(false)");
      this.t0 = k.now;
      return SCHED_STEP; // the task stops here and resumes here when scheduled again
    }
    if (this.step === 1) {
      this.step = 2;
      if (k.tr && k.now > this.t0) k.tr.leaf(`... back on cpu${k.cpu?.cpu ?? 0} after ${((k.now - this.t0) / 1000).toFixed(3)}us`, "被唤醒后重新获得 CPU");
      k.tr?.exit();
      k.tr?.exit();
    }
    return DONE_STEP;
  }
}

/** The results a step record hands back (read by yield*, never changed). */
const SCHED_STEP: IteratorYieldResult<Op> = Object.freeze({ done: false, value: SCHED_OP });
const DONE_STEP: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/** set_current_state(state) (include/linux/sched.h). */
export function set_current_state(k: Kernel, state: number): void {
  k.current.state = state;
}

/** signal_pending_state(): an interruptible sleeper with a signal does not sleep. */
export function signal_pending_state(state: number, p: TaskStruct): boolean {
  return (state & TASK_INTERRUPTIBLE) !== 0 && p.sigpending;
}

/** try_to_wake_up(p, state, wake_flags): make p runnable if its state matches. Returns 1 if woken. */
export function try_to_wake_up(k: Kernel, p: TaskStruct, state: number, wake_flags: number): number {
  if (!(p.state & state)) return 0; // already running, or woken by someone else
  k.tr?.recordStack("try_to_wake_up");
  k.tr?.enter("try_to_wake_up", `try_to_wake_up(p=${p.comm}, state=${taskStateName(state)}, wake_flags=${wake_flags})`);
  charge(k, k.costs.wakeup);
  if (p.on_rq) {
    // ttwu_remote: p set its state but has not reached schedule() yet: it just keeps running.
    p.state = TASK_RUNNING;
    k.tr?.leaf("ttwu_remote(p, wake_flags)", "still on its CPU: p->state = TASK_RUNNING, no enqueue", "ttwu_remote");
    k.tr?.exit();
    return 1;
  }
  p.state = TASK_WAKING;
  p.se.vruntime -= k.rqs[p.cpu].min_vruntime; // task_waking_fair: relative to the CPU it slept on
  const cpu = select_task_rq(k, p);
  const rq = k.rqs[cpu];
  p.cpu = cpu;
  activate_task(k, rq, p, true);
  p.state = TASK_RUNNING; // ttwu_do_wakeup
  p.wokenAt = k.now;
  k.timeline?.wakeups.push({ t: k.now, fromCpu: k.cpu ? k.cpu.cpu : -1, task: p.comm, toCpu: cpu });
  if (p.sleptAt >= 0) {
    p.blockedNs += k.now - p.sleptAt;
    p.sleptAt = -1;
  }
  k.stats.wakeups++;
  k.tr?.enter("ttwu_queue", `ttwu_queue(p, cpu=${cpu})`);
  k.tr?.leaf("ttwu_do_activate(rq, p, wake_flags)", `rq=cpu${cpu}: activate_task; ttwu_do_wakeup: p->state = TASK_RUNNING`, "ttwu_do_activate");
  check_preempt_curr(k, rq, p);
  k.tr?.exit();
  k.tr?.exit();
  return 1;
}

/** default_wake_function: the func of a wait entry whose private is a task. */
export function default_wake_function(k: Kernel, curr: { private: unknown }, mode: number, wake_flags: number): number {
  k.tr?.enter("default_wake_function", "default_wake_function(curr, mode, wake_flags, key)", undefined, "default_wake_function(|curr->func(");
  const r = try_to_wake_up(k, curr.private as TaskStruct, mode, wake_flags);
  k.tr?.exit();
  return r;
}

/** wake_up_process(p): wake a sleeping task of either kind. */
export function wake_up_process(k: Kernel, p: TaskStruct): number {
  return try_to_wake_up(k, p, TASK_NORMAL, 0);
}

/** select_task_rq: the previous CPU if idle, else the first idle CPU after it, else the previous one. */
export function select_task_rq(k: Kernel, p: TaskStruct): number {
  const n = k.rqs.length;
  if (p.pinned || idle_cpu(k.rqs[p.cpu])) return p.cpu;
  for (let i = 1; i < n; i++) {
    const c = (p.cpu + i) % n;
    if (idle_cpu(k.rqs[c])) return c;
  }
  return p.cpu;
}

/** activate_task -> enqueue_task_fair -> place_entity. */
function activate_task(k: Kernel, rq: Rq, p: TaskStruct, wakeup: boolean): void {
  if (wakeup) p.se.vruntime += rq.min_vruntime; // enqueue_entity(ENQUEUE_WAKING): onto this CPU's scale
  update_min_vruntime(rq);
  if (wakeup) {
    const floor = rq.min_vruntime - k.sched.sched_latency / 2; // GENTLE_FAIR_SLEEPERS
    if (p.se.vruntime < floor) p.se.vruntime = floor;
  }
  p.on_rq = true;
  p.rqseq = k.rqseqNext++;
  rq.cfs.insert(p);
  tick_nohz_restart(k, rq);
}

/** deactivate_task: p leaves the run queue (it is going to sleep). */
function deactivate_task(rq: Rq, p: TaskStruct): void {
  p.on_rq = false;
  void rq;
}

function update_min_vruntime(rq: Rq): void {
  let v = rq.curr !== rq.idle && rq.curr.on_rq ? rq.curr.se.vruntime : Infinity;
  const left = rq.cfs.front();
  if (left && left.se.vruntime < v) v = left.se.vruntime;
  if (v !== Infinity && v > rq.min_vruntime) rq.min_vruntime = v;
}

/** check_preempt_curr -> check_preempt_wakeup (kernel/sched/fair.c). */
function check_preempt_curr(k: Kernel, rq: Rq, p: TaskStruct): void {
  const curr = rq.curr;
  if (curr === rq.idle) {
    resched_curr(k, rq);
    return;
  }
  if (rq.burnOwner === curr) update_curr(k, rq); // bring curr's vruntime up to now
  if (curr.se.vruntime - p.se.vruntime > k.sched.sched_wakeup_granularity) resched_curr(k, rq);
}

/** resched_curr: set TIF_NEED_RESCHED; a remote CPU gets a reschedule IPI (smp_send_reschedule).
 *  The flag is set at once (another path on the target may see it first); the IPI arrives
 *  costs.ipi later, plus costs.idleExit when the target CPU is idle (ipiDelay). */
export function resched_curr(k: Kernel, rq: Rq): void {
  if (rq.need_resched) return;
  rq.need_resched = true;
  if (k.cpu === rq) return;
  // From another CPU: the IPI's latency. From no CPU (a timer firing, a test's event): the model's
  // timers are local to the sleeper's CPU and free, so no IPI and no delay.
  k.engine.at(k.cpu ? k.now + ipiDelay(k, rq) : k.now, reschedIpi, { k, rq });
}

/** How long a reschedule IPI sent now takes to make rq's CPU run schedule(): the delivery, and the
 *  exit from idle when the CPU sits in its idle loop (no task, no irq frame, no burn). 4.6.2 idles
 *  with HLT/mwait (TIF_POLLING_NRFLAG off), so set_nr_and_not_polling() sends the IPI. */
export function ipiDelay(k: Kernel, rq: Rq): number {
  const idle = rq.curr === rq.idle && rq.irqs.length === 0 && rq.burnEv === null;
  return k.costs.ipi + (idle ? k.costs.idleExit : 0);
}

/** The reschedule IPI: an idle CPU wakes up; user code is preempted at once. */
function reschedIpi(a: { k: Kernel; rq: Rq }): void {
  const { k, rq } = a;
  if (rq.need_resched) irqExitPreempt(k, rq);
}

/** The return from an interrupt (IPI or tick) with need_resched set: an idle CPU schedules; user
 *  code is preempted at once; kernel code keeps running to its next preemption point. */
function irqExitPreempt(k: Kernel, rq: Rq): void {
  if (rq.irqs.length > 0) return; // an interrupted irq frame's exit will look at need_resched
  if (rq.burnEv === null) {
    cpuRun(k, rq); // idle: schedule() from the idle loop
  } else if (rq.burnOwner === rq.curr && rq.burnMode === "user") {
    pauseBurn(k, rq);
    cpuRun(k, rq);
  }
}

/** update_curr: charge the running slice to curr's vruntime (done at every burn boundary). */
function update_curr(k: Kernel, rq: Rq): void {
  if (rq.burnOwner !== rq.curr || rq.curr === rq.idle || rq.burnEv === null) return;
  const dt = k.now - rq.burnStart;
  account(k, rq, rq.burnOwner, rq.burnMode, dt);
  rq.burnStart = k.now;
}

/** sched_slice(cfs_rq, se): __sched_period(nr_running) shared equally (every task is nice 0).
 *  __sched_period: sched_latency, or nr * min_granularity beyond sched_nr_latency (8) tasks. */
export function sched_slice(k: Kernel, rq: Rq): number {
  const nr = Math.max(1, nr_running(rq));
  const { sched_latency, sched_min_granularity } = k.sched;
  const period = nr > sched_latency / sched_min_granularity ? nr * sched_min_granularity : sched_latency;
  return period / nr;
}

// ---- the scheduler tick (kernel/time/tick-sched.c, kernel/sched/core.c, kernel/sched/fair.c) ----

/** TICK_NSEC (include/linux/jiffies.h): NSEC_PER_SEC / HZ, HZ = 250 (dev.ts's HZ and JIFFY_NS,
 *  CONFIG_HZ_250 as Debian's and Ubuntu's 4.6 configs set it). A literal: dev.ts imports this file. */
export const TICK_NSEC = 4_000_000;

/** The tick runs while someone waits behind curr (see the header: NO_HZ idle, and a lone task). */
function tickWanted(rq: Rq): boolean {
  return rq.curr !== rq.idle && rq.cfs.size() > 0;
}

/** tick_nohz_restart (model): (re)arm the tick at the next TICK_NSEC boundary if it is wanted.
 *  Ticks sit on one grid, so stopping and restarting the tick never moves a tick. */
function tick_nohz_restart(k: Kernel, rq: Rq): void {
  if (rq.tickEv !== null || !tickWanted(rq)) return;
  const at = (Math.floor(k.now / TICK_NSEC) + 1) * TICK_NSEC;
  rq.tickEv = k.engine.at(at, tick_sched_timer, { k, rq });
}

/** tick_sched_timer -> tick_sched_handle -> update_process_times -> scheduler_tick, in hard-IRQ
 *  context on rq's CPU; on the way out, irq exit preempts user code if need_resched was set. */
function tick_sched_timer(a: { k: Kernel; rq: Rq }): void {
  const { k, rq } = a;
  rq.tickEv = null;
  if (!tickWanted(rq)) return; // tick_nohz_idle_enter / a lone task: the tick stops
  scheduler_tick(k, rq);
  tick_nohz_restart(k, rq); // hrtimer_forward(TICK_NSEC): the next tick
  if (rq.need_resched) irqExitPreempt(k, rq);
}

/** scheduler_tick(): update_rq_clock, curr->sched_class->task_tick (task_tick_fair). */
export function scheduler_tick(k: Kernel, rq: Rq): void {
  k.stats.ticks++;
  task_tick_fair(k, rq, rq.curr);
}

/** task_tick_fair -> entity_tick (one level: no group scheduling). */
function task_tick_fair(k: Kernel, rq: Rq, curr: TaskStruct): void {
  update_curr(k, rq); // entity_tick: update run-time statistics of 'current'
  if (nr_running(rq) > 1) check_preempt_tick(k, rq, curr);
}

/** check_preempt_tick (kernel/sched/fair.c): has curr used up its slice? */
function check_preempt_tick(k: Kernel, rq: Rq, curr: TaskStruct): void {
  const ideal_runtime = sched_slice(k, rq);
  const delta_exec = curr.se.sum_exec_runtime - curr.se.prev_sum_exec_runtime;
  if (delta_exec > ideal_runtime) {
    resched_local(rq);
    return;
  }
  // a task that missed wakeup preemption by a narrow margin need not wait a full slice
  if (delta_exec < k.sched.sched_min_granularity) return;
  const se = rq.cfs.front();
  if (!se) return;
  const delta = curr.se.vruntime - se.se.vruntime;
  if (delta < 0) return;
  if (delta > ideal_runtime) resched_local(rq);
}

/** resched_curr on the local CPU: set TIF_NEED_RESCHED, no IPI (the tick runs on that CPU). */
function resched_local(rq: Rq): void {
  rq.need_resched = true;
}

/** __schedule(preempt): pick the next task; count and perform the context switch. */
export function __schedule(k: Kernel, rq: Rq, preempt: boolean): void {
  const prev = rq.curr;
  const now = k.now;
  let voluntary = false;
  if (!preempt && prev.state !== TASK_RUNNING) {
    if (signal_pending_state(prev.state, prev)) {
      prev.state = TASK_RUNNING; // a pending signal: don't sleep, return to the caller
    } else {
      deactivate_task(rq, prev);
      prev.sleptAt = now;
      voluntary = true;
    }
  }
  rq.need_resched = false;
  if (prev !== rq.idle && prev.on_rq) {
    prev.rqseq = k.rqseqNext++;
    rq.cfs.insert(prev); // put_prev_task_fair
  }
  update_min_vruntime(rq);
  const next = rq.cfs.front() ?? rq.idle;
  if (next !== rq.idle) rq.cfs.eraseElementByKey(next);
  next.se.prev_sum_exec_runtime = next.se.sum_exec_runtime; // set_next_entity: a new slice starts
  if (next === prev) {
    k.tr?.leaf("if (likely(prev != next))", "next == prev: no switch", "", "likely(prev!=next)");
    tickStopOrStart(k, rq);
    return;
  }
  if (voluntary) prev.nvcsw++;
  else prev.nivcsw++;
  rq.nr_switches++;
  k.stats.contextSwitches++;
  if (k.tr) {
    // recorded in prev's context, so a voluntary switch nests under its schedule() call
    k.tr.setContext(prev === rq.idle ? `cpu${rq.cpu} idle` : prev.label);
    k.tr.leaf(
      `context_switch(rq=cpu${rq.cpu}, prev=${prev.comm}, next=${next.comm})`,
      prev === rq.idle ? "<== 进程上下文切换 (leaving the idle loop)"
        : voluntary ? "<== 进程上下文切换 (prev blocked: nvcsw++)" : "<== 进程上下文切换 (prev preempted: nivcsw++)",
      "context_switch",
    );
  }
  rq.curr = next;
  next.cpu = rq.cpu;
  next.se.exec_start = now;
  // The switch itself costs CPU time before next's code continues.
  next.ctxLeft += k.costs.ctxSwitch;
  if (next.wokenAt >= 0) {
    k.stats.runqLatency.push(now - next.wokenAt); // bcc runqlat: wakeup -> on CPU
    next.wokenAt = -1;
  }
  if (voluntary || prev === rq.idle) {
    // nothing to do: prev sleeps, or the idle loop yields
  } else {
    prev.wokenAt = now; // preempted: runqlat also counts its wait (bcc traces sched_switch)
  }
  tickStopOrStart(k, rq);
}

/** After a pick: stop the tick if it is no longer wanted (idle, or nobody waits), else make
 *  sure it runs. */
function tickStopOrStart(k: Kernel, rq: Rq): void {
  if (!tickWanted(rq)) {
    k.engine.cancel(rq.tickEv); // tick_nohz_idle_enter
    rq.tickEv = null;
  } else tick_nohz_restart(k, rq);
}

// ---- the CPU executor (model) ----

/** Account dt ns of CPU time in mode to the CPU and, for tasks, to the task's utime/stime/vruntime. */
function account(k: Kernel, rq: Rq, owner: Runnable | null, mode: CpuMode, dt: number): void {
  if (dt <= 0) return;
  // named stores, not rq.time[mode]: a keyed store with four keys costs more than the switch
  switch (mode) {
    case "user": rq.time.user += dt; break;
    case "sys": rq.time.sys += dt; break;
    case "softirq": rq.time.softirq += dt; break;
    default: rq.time.irq += dt;
  }
  if (k.timeline) {
    const who = !owner ? "?" : owner === rq.curr ? (owner as TaskStruct).comm : owner.label.replace(/^cpu\d+ /, "");
    k.timeline.segments.push({ cpu: rq.cpu, start: k.now - dt, end: k.now, who, mode, ctx: rq.burnCtx });
  }
  if (owner && owner === rq.curr && owner !== rq.idle) {
    const p = owner as TaskStruct;
    if (mode === "user") p.utime += dt;
    else p.stime += dt;
    p.se.sum_exec_runtime += dt;
    p.se.vruntime += dt;
  }
}

/** A burn that no event can interrupt (nothing is due before it ends) is done at once: the
 *  clock jumps to its end. The result is exactly what the burn event would give, without it.
 *  Rule that makes this safe: an event callback calls cpuRun (directly or through
 *  cpuInterrupt) only as its last action, so nothing is scheduled after the clock moved. */
function fastBurn(k: Kernel, rq: Rq, owner: Runnable, ns: number, mode: CpuMode, ctx = false): boolean {
  ns = Math.round(ns); // the clock counts whole ns, as Engine.at does
  if (!k.engine.tryAdvance(k.now + ns)) return false;
  rq.burnCtx = ctx;
  account(k, rq, owner, mode, ns);
  return true;
}

function startBurn(k: Kernel, rq: Rq, owner: Runnable, ns: number, mode: CpuMode, ctx = false): void {
  rq.burnOwner = owner;
  rq.burnCtx = ctx;
  rq.burnStart = k.now;
  rq.burnEnd = k.now + Math.round(ns);
  rq.burnMode = mode;
  rq.burnEv = k.engine.at(rq.burnEnd, burnDone, { k, rq });
}

function burnDone(a: { k: Kernel; rq: Rq }): void {
  const { k, rq } = a;
  account(k, rq, rq.burnOwner, rq.burnMode, k.now - rq.burnStart);
  rq.burnEv = null;
  rq.burnOwner = null;
  cpuRun(k, rq);
}

/** Stop the burn in progress; its owner keeps the remainder in `left`. */
function pauseBurn(k: Kernel, rq: Rq): void {
  const owner = rq.burnOwner!;
  account(k, rq, owner, rq.burnMode, k.now - rq.burnStart);
  if (rq.burnCtx) owner.ctxLeft += rq.burnEnd - k.now;
  else {
    owner.left += rq.burnEnd - k.now;
    owner.leftMode = rq.burnMode;
  }
  k.engine.cancel(rq.burnEv);
  rq.burnEv = null;
  rq.burnOwner = null;
}

/** Push an interrupt frame on a CPU and run it now (do_IRQ). Called from an engine event. */
export function cpuInterrupt(k: Kernel, rq: Rq, frame: IrqFrame): void {
  if (rq.burnEv) pauseBurn(k, rq);
  else if (rq.idleSince >= 0) {
    rq.time.idle += k.now - rq.idleSince;
    rq.idleSince = -1;
  }
  rq.irqs.push(frame);
  cpuRun(k, rq);
}

/** Run the CPU until its top context burns time, sleeps with nothing else to run, or idles. */
export function cpuRun(k: Kernel, rq: Rq): void {
  if (rq.idleSince >= 0) {
    rq.time.idle += k.now - rq.idleSince;
    rq.idleSince = -1;
  }
  for (;;) {
    const frame = rq.irqs.length > 0 ? rq.irqs[rq.irqs.length - 1] : null;
    const r: Runnable = frame ?? rq.curr;
    if (r.ctxLeft > 0) {
      const ns = r.ctxLeft;
      r.ctxLeft = 0;
      if (fastBurn(k, rq, r, ns, "sys", true)) continue;
      startBurn(k, rq, r, ns, "sys", true);
      return;
    }
    if (r.left > 0) {
      // Returning to user code with need_resched set: preempt before the rest of the burn.
      if (!frame && rq.need_resched && r.leftMode === "user" && r !== rq.idle) {
        __schedule(k, rq, true);
        continue;
      }
      const ns = r.left;
      r.left = 0;
      if (fastBurn(k, rq, r, ns, r.leftMode)) continue;
      startBurn(k, rq, r, ns, r.leftMode);
      return;
    }
    let op = r.pending;
    if (op) {
      r.pending = null;
    } else {
      if (!frame && rq.need_resched && (r === rq.idle || !(r as TaskStruct).inKernel)) {
        __schedule(k, rq, true);
        continue;
      }
      if (r.gen === null) {
        rq.idleSince = k.now; // the idle task: wait for an interrupt or a reschedule IPI
        return;
      }
      k.cpu = rq;
      k.current = rq.curr;
      k.tr?.setContext(r.label);
      const savedK = runK, savedRq = runRq, savedFrame = runFrame;
      runK = k;
      runRq = rq;
      runFrame = frame;
      let res: IteratorResult<Op, unknown>;
      try {
        res = r.gen.next(r.resume);
      } finally {
        runK = savedK;
        runRq = savedRq;
        runFrame = savedFrame;
      }
      r.resume = undefined;
      k.cpu = null;
      if (rq.debt > 0) {
        // time charged by plain functions is paid before whatever the code yielded
        r.left += rq.debt;
        r.leftMode = debtMode(rq, frame);
        rq.debt = 0;
      }
      op = res.done ? EXIT_OP : res.value;
      if (r.left > 0) {
        r.pending = { op: op.op, ns: op.ns, mode: op.mode }; // a copy: burn() reuses its Op
        continue;
      }
    }
    if (op.op === OP_BURN) {
      r.left = op.ns;
      r.leftMode = op.mode;
    } else if (op.op === OP_SCHED) {
      if (frame) throw new Error(`schedule() called in interrupt context (${frame.label})`);
      __schedule(k, rq, false);
    } else if (op.op === OP_EXIT) {
      if (frame) rq.irqs.pop(); // irq return: back to the interrupted context
      else do_exit(k, rq, r as TaskStruct);
    }
    // OP_PREEMPT: loop back to the preemption check
  }
}

/** do_exit: the program returned. Files are closed, the task is gone. */
function do_exit(k: Kernel, rq: Rq, p: TaskStruct): void {
  k.exitTask(p);
  p.state = TASK_DEAD;
  p.gen = null;
  __schedule(k, rq, false);
}
