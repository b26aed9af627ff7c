import { describe, expect, it } from "vitest";
import { Kernel, udpSend, AF_INET, SOCK_DGRAM, SOL_SOCKET, SO_RCVBUF, MSG_DONTWAIT, EAGAIN, createRng } from "kernel-model";

function udpSink(k: Kernel, opts: { rcvbuf?: number; readEvery?: number } = {}) {
  const counts = { read: 0 };
  k.spawn("sink", function* (sys) {
    const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
    yield* sys.bind(fd, 53);
    if (opts.rcvbuf) yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, opts.rcvbuf);
    for (;;) {
      if (opts.readEvery) yield* sys.compute(opts.readEvery);
      const n = yield* sys.recv(fd, 1500);
      if (n > 0) counts.read++;
    }
  });
  return counts;
}

describe("NET_RX softirq: irq_exit first, ksoftirqd past the limits", () => {
  it("sparse packets: softirqs run in irq_exit, ksoftirqd never wakes", () => {
    const k = new Kernel();
    const c = udpSink(k);
    for (let i = 0; i < 50; i++) udpSend(k, { dport: 53, bytes: 64, at: 1_000_000 + i * 100_000 });
    k.run(10_000_000);
    expect(c.read).toBe(50);
    expect(k.stats.softirqRuns).toBe(50);
    expect(k.stats.hardirqs).toBe(50);
    expect(k.stats.ksoftirqdWakeups).toBe(0);
  });

  it("a flood keeps NAPI polling (few hard IRQs) and hands the softirq to ksoftirqd/0, a task that competes for the CPU", () => {
    const k = new Kernel();
    udpSink(k);
    for (let i = 0; i < 20_000; i++) udpSend(k, { dport: 53, bytes: 64, at: 1_000_000 + i * 1_000 }); // 1 Mpps
    k.run(30_000_000);
    expect(k.stats.hardirqs).toBeLessThan(200); // the IRQ stays masked while NAPI polls
    expect(k.stats.ksoftirqdWakeups).toBeGreaterThan(0);
    const ksoftirqd = k.tasks.find((t) => t.comm === "ksoftirqd/0")!;
    expect(ksoftirqd.stime).toBeGreaterThan(1_000_000); // it ran net_rx_action as a task
    expect(k.rqs[0].time.softirq).toBeGreaterThan(10_000_000);
    // one NAPI instance: each net_rx_action polls 64 frames and re-raises NET_RX (repoll);
    // __do_softirq restarts until its 10 restarts / 2 ms run out
    expect(k.stats.softirqRestarts).toBeGreaterThan(0);
  });
});

describe("drops and conservation", () => {
  it("UDP receive buffer full: counted in sk_drops; a full RX ring: counted as rx_missed", () => {
    const k = new Kernel({ net: { rxRing: 64 } });
    udpSink(k, { rcvbuf: 4096, readEvery: 50_000_000 }); // a reader that is busy for 50 ms
    for (let i = 0; i < 400; i++) udpSend(k, { dport: 53, bytes: 64, at: 2_000_000 }); // one burst
    k.run(1_000_000_000);
    expect(k.stats.ringDrops).toBe(400 - 64);
    expect(k.stats.socketDrops).toBeGreaterThan(0);
    expect(k.stats.delivered + k.stats.socketDrops + k.stats.ringDrops).toBe(400);
  });

  it("over 30 seeds: sent = read + still queued + dropped, for random bursts and readers", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const k = new Kernel({ seed, cpus: 1 + (seed % 2), net: { rxRing: 32 + (seed % 4) * 32 } });
      const rng = createRng(seed);
      let read = 0;
      const fds: number[] = [];
      for (let r = 0; r < 2; r++) {
        k.spawn(`reader${r}`, function* (sys) {
          const fd = yield* sys.socket(AF_INET, SOCK_DGRAM, 0);
          yield* sys.bind(fd, 1000 + r);
          yield* sys.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, 2304 * (1 + rng.int(0, 20)));
          fds.push(fd);
          for (;;) {
            yield* sys.compute(rng.int(0, 300_000));
            const n = yield* sys.recv(fd, 1500, rng.int(0, 3) === 0 ? MSG_DONTWAIT : 0);
            if (n > 0) read++;
            else expect(n).toBe(-EAGAIN);
          }
        });
      }
      let sent = 0;
      let t = 1_000_000;
      for (let b = 0; b < 40; b++) {
        t += rng.exp(200_000);
        const burst = rng.int(1, 60);
        for (let i = 0; i < burst; i++) {
          udpSend(k, { dport: 1000 + rng.int(0, 2), bytes: rng.int(1, 1400), at: Math.round(t) }); // port 1002: nobody
          sent++;
        }
      }
      k.run(Math.round(t) + 50_000_000);
      const queued = [...k.hash.udp.values()].reduce((a, sk) => a + sk.sk_receive_queue.length, 0);
      expect(read, `seed ${seed}`).toBe(k.stats.delivered);
      expect(read + queued + k.stats.socketDrops + k.stats.ringDrops + k.stats.noSocket, `seed ${seed}`).toBe(sent);
    }
  });
});
