// engine.ts: the discrete-event core: an integer-nanosecond clock and an event queue.
// No Linux file: this is the simulator the kernel model runs on. Book: all of ch.3.
//
// Interface:
// * new Engine() starts at now = 0 ns.
// * at(t, fn, arg) schedules fn(arg) at absolute time t (integer ns, t >= now) and returns a
//   handle; cancel(handle) stops it from firing (lazy deletion).
// * runUntil(t), runUntilIdle(limit), runEvents(n) advance the clock by firing events in order.
//
// Ordering: events fire by time; events with the same time fire in the order they were
// scheduled (FIFO), which is what makes a run reproducible. The heap is flatqueue (a typed-array
// binary heap, ~15 M pop+push/s) keyed by time alone; every distinct pending time owns one FIFO
// bucket, so equal times keep insertion order without a second key. This is the (time, seq)
// order: a later insertion at the same time lands behind the earlier ones in the bucket.
//
// Model vs kernel: nothing here is kernel; the clock is the model's ktime (ns since boot).

import FlatQueue from "flatqueue";

/** A scheduled event. `cancelled` is set by cancel(); the queue skips it when it comes due. */
export interface SimEvent {
  t: number;
  fn: (arg: any) => void;
  arg: any;
  cancelled: boolean;
}

/** The FIFO of events due at one time; `head` is the next to fire. */
interface Bucket {
  evs: SimEvent[];
  head: number;
}

export class Engine {
  /** Current simulated time, integer nanoseconds. */
  now = 0;
  /** Events fired so far (cancelled ones excluded). */
  events = 0;
  /** runUntil(t) in progress: tryAdvance never moves the clock past t. */
  private horizon = Infinity;
  private heap = new FlatQueue<number>();
  private buckets = new Map<number, Bucket>();
  private pending = 0;

  /** Schedule fn(arg) at absolute time t (ns). Times are rounded to whole ns. */
  at<A>(t: number, fn: (arg: A) => void, arg?: A): SimEvent {
    t = Math.round(t);
    if (!(t >= this.now)) throw new RangeError(`Engine.at: time ${t} is before now ${this.now}`);
    const ev: SimEvent = { t, fn, arg, cancelled: false };
    let b = this.buckets.get(t);
    if (b === undefined) {
      b = { evs: [], head: 0 };
      this.buckets.set(t, b);
      this.heap.push(t, t);
    }
    b.evs.push(ev);
    this.pending++;
    return ev;
  }

  /** Schedule fn(arg) after a delay of dt ns. */
  after<A>(dt: number, fn: (arg: A) => void, arg?: A): SimEvent {
    return this.at(this.now + dt, fn, arg);
  }

  cancel(ev: SimEvent | null | undefined): void {
    if (ev && !ev.cancelled) {
      ev.cancelled = true;
      this.pending--;
    }
  }

  /** Number of live (not cancelled) events waiting. */
  get size(): number {
    return this.pending;
  }

  /** Time of the next live event, or Infinity. */
  peekTime(): number {
    while (this.heap.length > 0) {
      const t = this.heap.peekValue()!;
      const b = this.buckets.get(t)!;
      // Skip cancelled events at the bucket's head so peekTime never reports a dead time.
      while (b.head < b.evs.length && b.evs[b.head].cancelled) b.head++;
      if (b.head < b.evs.length) return t;
      this.buckets.delete(t);
      this.heap.pop();
    }
    return Infinity;
  }

  /** Move the clock forward to t when no live event is due before or at t (a burn that
   *  nothing can interrupt needs no event of its own). Returns false, doing nothing, otherwise. */
  tryAdvance(t: number): boolean {
    if (t > this.horizon || this.peekTime() <= t) return false;
    this.now = t;
    return true;
  }

  /** Fire the next event; returns false when none is left. */
  step(): boolean {
    const t = this.peekTime();
    if (t === Infinity) return false;
    const b = this.buckets.get(t)!;
    const ev = b.evs[b.head++]; // live: peekTime skipped the cancelled head
    if (b.head === b.evs.length) {
      this.buckets.delete(t);
      this.heap.pop();
    }
    this.now = t;
    this.pending--;
    ev.cancelled = true; // fired: a late cancel() is a no-op
    this.events++;
    ev.fn(ev.arg);
    return true;
  }

  /** Fire every event with time <= t, then set the clock to t. */
  runUntil(t: number): void {
    const saved = this.horizon;
    this.horizon = Math.min(saved, t);
    try {
      while (this.peekTime() <= t) this.step();
    } finally {
      this.horizon = saved;
    }
    if (t > this.now && t !== Infinity) this.now = Math.round(t);
  }

  /** Fire events until none is left (or `limit` events fired, as a guard against livelock). */
  runUntilIdle(limit = Infinity): number {
    let n = 0;
    while (n < limit && this.step()) n++;
    return n;
  }

  /** Fire at most n events. */
  runEvents(n: number): number {
    let i = 0;
    while (i < n && this.step()) i++;
    return i;
  }
}
