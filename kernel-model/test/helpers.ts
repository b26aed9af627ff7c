// Test helpers: run one user program on a fresh kernel and collect what its syscalls returned.
import { Kernel, udpSend, AF_INET, SOCK_DGRAM, type KernelOptions, type Sys, type KGen } from "kernel-model";

/** Run `body` as task "app" until the machine is idle; returns the kernel and the body's result.
 *  The task then sleeps in pause() (so its files stay open for inspection) unless exit is set. */
export function runApp<T>(body: (sys: Sys, k: Kernel) => KGen<T>, opts: KernelOptions & { CAP_NET_RAW?: boolean; exit?: boolean } = {}) {
  const k = new Kernel(opts);
  let result: T | undefined;
  const task = k.spawn("app", function* (sys) {
    result = yield* body(sys, k);
    if (!opts.exit) yield* sys.pause();
  }, { CAP_NET_RAW: opts.CAP_NET_RAW });
  k.runUntilIdle();
  return { k, task, result: result as T };
}

/** At the end of a run no CPU may sit idle with a softirq pending: in 4.6.2 a softirq raised
 *  with bottom halves off runs at the re-enable (__local_bh_enable_ip), one raised in hard IRQ
 *  at irq_exit, and what __do_softirq leaves goes to ksoftirqd (kernel/softirq.c). */
export function expectSoftirqsRun(k: Kernel): void {
  const left = k.rqs.filter((rq) => rq.softirq_pending !== 0 || rq.bh_disable_cnt !== 0);
  if (left.length) {
    throw new Error(`softirqs left: ${left.map((rq) => `cpu${rq.cpu} pending 0x${rq.softirq_pending.toString(16)} bh_disable_cnt ${rq.bh_disable_cnt}`).join("; ")}`);
  }
}

/** The timeline figures' run: a UDP reader (5 µs of work per datagram) and one datagram at
 *  20 µs, run to 50 µs with the timeline on. */
export function udpReaderTimeline(): Kernel {
  const k = new Kernel({ timeline: true });
  k.spawn("reader", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    yield* sys.bind(fd, 53);
    for (;;) {
      yield* sys.recv(fd, 1500);
      yield* sys.compute(5000);
    }
  });
  udpSend(k, { dport: 53, bytes: 64, at: 20_000 });
  k.run(50_000);
  return k;
}
