// redis.ts: why Redis serves so many requests with one thread (the book's §3.1 question 5,
// answered in its §3.5): Redis's aeMain loop (epoll_wait, then each ready client's request,
// then epoll_wait again) against one thread per connection blocking in read(), fed the same
// seeded requests.
// No Linux file. Book: §3.1 question 5, §3.5 "为什么Redis的网络性能都很突出".
//
// Interface:
// * redisVsThreads({conns, requests, rate, work, proto, seed}) -> [aeMain row, threads row]:
//   per server, the requests served per simulated second, CPU ns per request (all of it, and
//   its sys part), context switches per request (/proc/PID/status), and the run's summary.
//   The default rate (200,000 requests/s) is more than either server finishes, so both run
//   flat out and `qps` is what each can serve.
//
// Model vs kernel:
// * aeMain is runServer's epoll server with one thread (epoll-server.ts). Redis's
//   readQueryFromClient reads each ready client once per wakeup; the model reads until EAGAIN
//   (one more read per ready socket), which is what nginx does and is slightly slower.
// * Replies are not sent: the transmit path is chapter 4. `work` is the command's own CPU
//   time (user mode), the same for both servers.

import { runServer, type ServerSummary } from "./servers";

export interface RedisOptions {
  /** Client connections (default 1,000). */
  conns?: number;
  /** Requests over all connections (default 5,000). */
  requests?: number;
  /** Offered requests per second (default 200,000: more than either server serves). */
  rate?: number;
  /** User-mode CPU per command, ns (default 2,000: a GET on a small key). */
  work?: number;
  proto?: "tcp" | "udp";
  seed?: number;
}

export interface RedisRow {
  server: "aeMain" | "thread-per-connection";
  /** Threads that receive: 1 for aeMain, conns for the other. */
  threads: number;
  /** Requests served per simulated second. */
  qps: number;
  cpuNsPerRequest: number;
  sysNsPerRequest: number;
  switchesPerRequest: number;
  summary: ServerSummary;
}

function checkInt(name: string, v: number, lo: number, hi: number): void {
  if (!(Number.isInteger(v) && v >= lo && v <= hi)) throw new RangeError(`${name} must be an integer in [${lo}, ${hi}], got ${v}`);
}

/** Run Redis's loop and thread-per-connection on the same requests. */
export function redisVsThreads(o: RedisOptions = {}): RedisRow[] {
  const conns = o.conns ?? 1_000;
  const requests = o.requests ?? 5_000;
  const rate = o.rate ?? 200_000;
  const work = o.work ?? 2_000;
  checkInt("conns", conns, 1, 100_000);
  checkInt("requests", requests, 1, 10_000_000);
  checkInt("work", work, 0, 1e9);
  if (!(rate > 0 && rate <= 1e8)) throw new RangeError(`rate must be in (0, 1e8] requests/s, got ${rate}`);
  const common = { proto: o.proto ?? "tcp", conns, msgs: requests, rate, work, seed: o.seed ?? 1 } as const;
  return (["epoll", "blocking"] as const).map((model) => {
    const { summary: s } = runServer({ ...common, model, epollThreads: 1 });
    const c = s.cpuNs;
    const busy = c.user + c.sys + c.softirq + c.irq;
    const n = Math.max(1, s.delivered);
    return {
      server: model === "epoll" ? "aeMain" : "thread-per-connection",
      threads: model === "epoll" ? 1 : conns,
      qps: s.simNs > 0 ? Math.round((s.delivered * 1e9) / s.simNs) : 0,
      cpuNsPerRequest: Math.round(busy / n),
      sysNsPerRequest: Math.round(c.sys / n),
      switchesPerRequest: s.cswPerMsg,
      summary: s,
    };
  });
}
