// loopback-sender.ts: a sender task on this machine that sends to the model's own sockets over
// `lo`, as the probe's sender thread does (scripts/probe/probe.c). No Linux file.
// Book: §3.6 (the model runs the probe's experiment).
//
// Interface:
// * spawnLoopbackSender(k, o) -> {task, start(at, times)}: a task (k.spawn, pinned to o.cpu) that
//   opens one socket per connection (TCP: connect()ed over lo while the server accepts), then
//   waits (pause()) until start signals it at `at`, and sends message i to connection conn[i]
//   (UDP sendto to port(c); TCP send, whose ACKs come back over lo). Each send runs the whole
//   receive path in the sender's context (dev_queue_xmit -> loopback_xmit -> netif_rx ->
//   do_softirq), so the load is closed-loop: the sender cannot outrun its own softirq.
// * Pacing: with `times` (absolute ns, from traffic.ts), the sender waits for times[i] the way
//   the probe's --wait auto does: clock_nanosleep(TIMER_ABSTIME) when the gap is at least
//   50 µs, a busy loop on the clock (user time) below that. Without times: back to back.
//
// Model vs kernel: TCP is sent as the probe sets it up (TCP_NODELAY) with the simplifications of
// tcp_output.ts (fixed cwnd 10, every segment ACKed at once). The sender's own work between two sends (the probe's clock_gettime and loop)
// is `perMsgUserNs` of user time (default 100 ns).

import type { Kernel } from "../kernel/kernel";
import type { TaskStruct } from "../kernel/sched";
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from "../kernel/socket";
import { kill } from "../kernel/signal";

export interface LoopbackSenderOptions {
  /** udp: one socket per connection, sendto its port; tcp: one socket per connection,
   *  connect()ed to `port(c)` while the server accepts (setup), then send(). */
  proto: "udp" | "tcp";
  conns: number;
  msgs: number;
  msgSize: number;
  /** Destination port of connection c. */
  port: (c: number) => number;
  /** Connection of message i. */
  conn: (i: number) => number;
  /** CPU the sender is pinned to (the probe's --sender-cpu). */
  cpu: number;
  perMsgUserNs?: number;
}

/** The probe's --wait auto: below this gap it spins, at or above it sleeps. */
export const SPIN_BELOW_NS = 50_000;

export interface LoopbackSender {
  task: TaskStruct;
  /** Messages whose sendto returned the full length; errors by errno. */
  sent: number;
  errors: Map<number, number>;
  /** Signal the sender (waiting in pause()) to begin at time `at`; `times` are the absolute
   *  send times (ns), null for back to back. */
  start(at: number, times: number[] | null): void;
}

export function spawnLoopbackSender(k: Kernel, o: LoopbackSenderOptions): LoopbackSender {
  if (!(o.cpu >= 0 && o.cpu < k.rqs.length)) throw new RangeError(`senderCpu must be 0..${k.rqs.length - 1}, got ${o.cpu}`);
  const per = o.perMsgUserNs ?? 100;
  let times: number[] | null = null;
  const s: LoopbackSender = {
    task: null as unknown as TaskStruct, sent: 0, errors: new Map(),
    start(at, t) {
      times = t;
      k.engine.at(at, () => kill(k, s.task));
    },
  };
  s.task = k.spawn("sender", function* (sys) {
    sys.task.files.rlimit_nofile = Math.max(sys.task.files.rlimit_nofile, o.conns + 64);
    const fds: number[] = [];
    for (let c = 0; c < o.conns; c++) {
      const fd = yield* sys.socket(AF_INET, o.proto === "tcp" ? SOCK_STREAM : SOCK_DGRAM, 0);
      if (o.proto === "tcp") {
        // the probe sets TCP_NODELAY; the model's TCP always behaves so (tcp_output.ts)
        const r = yield* sys.connect(fd, o.port(c));
        if (r !== 0) throw new Error(`loopback sender: connect to port ${o.port(c)} failed (${r})`);
      }
      fds.push(fd);
    }
    yield* sys.pause(); // until start(at)
    for (let i = 0; i < o.msgs; i++) {
      if (times) {
        const gap = times[i] - k.now;
        if (gap >= SPIN_BELOW_NS) yield* sys.clock_nanosleep_abs(times[i]);
        else if (gap > 0) yield* sys.compute(gap);
      }
      if (per > 0) yield* sys.compute(per);
      const c = o.conn(i);
      const n = o.proto === "tcp"
        ? yield* sys.send(fds[c], o.msgSize, 0, { msgId: i })
        : yield* sys.sendto(fds[c], o.msgSize, 0, o.port(c), { msgId: i });
      if (n === o.msgSize) s.sent++;
      else s.errors.set(n, (s.errors.get(n) ?? 0) + 1);
    }
  }, { cpu: o.cpu, pinned: true });
  return s;
}
