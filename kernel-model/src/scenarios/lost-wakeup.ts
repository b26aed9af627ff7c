// lost-wakeup.ts: why sk_wait_data queues itself BEFORE it tests for data.
// No Linux file (it exercises net/core/sock.c sk_wait_data). Book: §3.3.1 等待接收消息.
//
// Interface: lostWakeup({seed, buggy, packets, cpus}) runs one TCP reader in a read() loop and a
// peer sending `packets` segments at Poisson times (open loop: net/peer.ts flowControl false);
// returns whether the reader ended asleep with data waiting for it (a lost wakeup), and what it
// read.
//
// With k.bugs.lostWakeup the model's sk_wait_data tests the queue first and queues itself after
// a short window (release_sock's work); a segment whose softirq runs in that window finds no
// sleeper, and the reader then sleeps with data queued. The real order (prepare_to_wait, then
// test) makes that wakeup set the task RUNNING, so schedule() returns at once.

import { Kernel } from "../kernel/kernel";
import { TcpPeer } from "../net/peer";
import { AF_INET, SOCK_STREAM } from "../kernel/socket";
import { TASK_INTERRUPTIBLE } from "../kernel/sched";
import { tcp_sk } from "../kernel/tcp";

export interface LostWakeupOptions {
  seed: number;
  buggy: boolean;
  packets?: number;
  /** Mean gap between segments, ns (Poisson). Default 20 µs. */
  gap?: number;
  cpus?: number;
}

export interface LostWakeupResult {
  seed: number;
  buggy: boolean;
  /** The reader sleeps in TASK_INTERRUPTIBLE while data waits for it. */
  stuck: boolean;
  bytesRead: number;
  bytesSent: number;
  /** When the last segment reached the NIC and when the reader last returned from read(). */
  lastArrival: number;
  lastRead: number;
}

export function lostWakeup(o: LostWakeupOptions): LostWakeupResult {
  const k = new Kernel({ seed: o.seed, cpus: o.cpus ?? 1 });
  k.bugs.lostWakeup = o.buggy;
  let bytesRead = 0;
  let lastRead = 0;
  let fd = -1;
  const reader = k.spawn("reader", function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 16);
    fd = yield* sys.accept(lfd);
    for (;;) {
      const n = yield* sys.read(fd, 65536);
      if (n <= 0) break;
      bytesRead += n;
      lastRead = k.now;
    }
  });
  // open loop: the race needs the Poisson arrival times drawn here. A TCP sender would send in
  // bursts as ACKs open its cwnd, and would stop once a stuck reader left cwnd segments unACKed
  // on the prequeue (4.6's delayed-ACK timer that would process them is not modelled).
  const peer = new TcpPeer(k, { dport: 80, flowControl: false }).connect(100_000);
  let t = 1_000_000;
  const packets = o.packets ?? 200;
  for (let i = 0; i < packets; i++) {
    t += Math.max(1, Math.round(k.rng.exp(o.gap ?? 20_000)));
    peer.send(100, t);
  }
  k.runUntilIdle();
  const sk = (reader.files.fd[fd]?.private_data as { sk: Parameters<typeof tcp_sk>[0] } | undefined)?.sk;
  const tp = sk ? tcp_sk(sk) : null;
  const waiting = tp ? tp.sk_receive_queue.length + tp.ucopy.prequeue.length + tp.sk_backlog.queue.length : 0;
  return {
    seed: o.seed, buggy: o.buggy, stuck: reader.state === TASK_INTERRUPTIBLE && waiting > 0,
    bytesRead, bytesSent: peer.bytesSent, lastArrival: t, lastRead,
  };
}
