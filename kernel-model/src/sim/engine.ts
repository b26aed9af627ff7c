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
// scheduled (FIFO), which is what makes a run reproducible. The queue is one binary heap keyed by
// (time, seq), seq being the insertion count: a later insertion at the same time sorts behind the
// earlier ones. The keys live in two parallel Float64Arrays (both exact integers below 2^53; a
// single key time*2^k+seq would not be), the events in a plain array beside them, as flatqueue
// lays out its heap. Cancel is lazy: a cancelled event stays in the heap and is dropped when it
// reaches the top.
//
// Model vs kernel: nothing here is kernel; the clock is the model's ktime (ns since boot).

/** A scheduled event. `cancelled` is set by cancel() (and when it fires); the queue then skips it. */
export interface SimEvent {
  t: number;
  fn: (arg: any) => void;
  arg: any;
  cancelled: boolean;
}

export class Engine {
  /** Current simulated time, integer nanoseconds. */
  now = 0;
  /** Events fired so far (cancelled ones excluded). */
  events = 0;
  /** runUntil(t) in progress: tryAdvance never moves the clock past t. */
  private horizon = Infinity;
  /** The heap: evs[i] is keyed by (ts[i], ss[i]); n entries, cancelled ones included. */
  private evs: (SimEvent | null)[] = [];
  private ts = new Float64Array(1024);
  private ss = new Float64Array(1024);
  private n = 0;
  private seq = 0;
  private pending = 0;

  /** Schedule fn(arg) at absolute time t (ns). Times are rounded to whole ns. */
  at<A>(t: number, fn: (arg: A) => void, arg?: A): SimEvent {
    t = Math.round(t);
    if (!(t >= this.now)) throw new RangeError(`Engine.at: time ${t} is before now ${this.now}`);
    const ev: SimEvent = { t, fn, arg, cancelled: false };
    this.push(ev, t, this.seq++);
    this.pending++;
    return ev;
  }

  /** Sift the new entry up from the bottom: parents that sort after (t, seq) move down. */
  private push(ev: SimEvent, t: number, seq: number): void {
    if (this.n === this.ts.length) {
      const ts = new Float64Array(this.n * 2), ss = new Float64Array(this.n * 2);
      ts.set(this.ts);
      ss.set(this.ss);
      this.ts = ts;
      this.ss = ss;
    }
    const { evs, ts, ss } = this;
    let i = this.n++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = ts[p];
      if (pt < t || (pt === t && ss[p] < seq)) break;
      evs[i] = evs[p];
      ts[i] = pt;
      ss[i] = ss[p];
      i = p;
    }
    evs[i] = ev;
    ts[i] = t;
    ss[i] = seq;
  }

  /** Remove the top entry: the last one sifts down from the root. */
  private pop(): void {
    const { evs, ts, ss } = this;
    const n = --this.n;
    const ev = evs[n], t = ts[n], seq = ss[n];
    evs[n] = null; // drop the reference so a fired event can be collected
    if (n === 0) return;
    const half = n >> 1;
    let i = 0;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < n && (ts[r] < ts[c] || (ts[r] === ts[c] && ss[r] < ss[c]))) c = r;
      const ct = ts[c];
      if (t < ct || (t === ct && seq < ss[c])) break;
      evs[i] = evs[c];
      ts[i] = ct;
      ss[i] = ss[c];
      i = c;
    }
    evs[i] = ev;
    ts[i] = t;
    ss[i] = seq;
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
    // Drop cancelled events at the top so peekTime never reports a dead time.
    while (this.n > 0) {
      if (!this.evs[0]!.cancelled) return this.ts[0];
      this.pop();
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
    const ev = this.evs[0]!; // live: peekTime dropped the cancelled ones above it
    this.pop();
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
