// traces.ts: the named call traces of the chapter (`npx kernel-model trace <name>`).
// No Linux file. Book: the seed's two traces (§3.2 socket, §3.3 read) and one per section.
//
// Interface:
// * TRACES: name -> {title, section, run()}; run() boots a fresh traced Kernel, plays the
//   scenario and returns the call-tree roots that matter for that section.
// * traceNames(), runTrace(name) -> {title, roots}.
// * since(n, t), resumedCall(call, t, label), inTimeOrder(roots): a blocked call shown from
//   its wakeup on (headed at the time its task got the CPU back), and roots in time order.
//
// Every trace is a real run of the model: nothing here is written out by hand. The softirq
// traces end with the reader back in user space (it then pause()s), so no exit teardown
// (__fput, sock_close) clutters them.

import { Kernel } from "../kernel/kernel";
import type { TraceNode } from "../sim/trace";
import { AF_INET, SOCK_DGRAM, SOCK_STREAM } from "../kernel/socket";
import { TcpPeer, udpSend } from "../net/peer";
import { EPOLL_TRACES } from "./traces-epoll";
import { SELECT_TRACES } from "./traces-select";
import { LO_TRACES } from "./traces-lo";

export interface TraceSpec {
  title: string;
  section: string;
  run: () => TraceNode[];
}

/** Roots whose text starts with one of the prefixes (a syscall, an irq). */
function pick(k: Kernel, ...prefixes: string[]): TraceNode[] {
  return k.tr!.roots.filter((r) => prefixes.some((p) => r.text.startsWith(p)));
}

function socketTrace(type: number, comment: string): TraceNode[] {
  const k = new Kernel({ trace: true });
  k.spawn("app", function* (sys) {
    yield* sys.socket(AF_INET, type, 0);
  });
  k.runUntilIdle();
  const roots = pick(k, "socket(");
  roots[0].comment = comment;
  return roots;
}

/** A reader blocked in read()/recv() on a connected TCP or a bound UDP socket, then one packet.
 *  Returns the traced kernel and the index of the first root recorded after the reader slept. */
function blockedReader(proto: "tcp" | "udp", call: "read" | "recv", lowLatency = 0, second = false) {
  const k = new Kernel({ trace: true });
  k.sysctl.tcp_low_latency = lowLatency;
  k.spawn("reader", function* (sys) {
    const fd = yield* sys.socket(AF_INET, proto === "tcp" ? SOCK_STREAM : SOCK_DGRAM, 0);
    yield* sys.bind(fd, 80);
    let rfd = fd;
    if (proto === "tcp") {
      yield* sys.listen(fd, 16);
      rfd = yield* sys.accept(fd);
    }
    if (call === "read") yield* sys.read(rfd, 1024);
    else yield* sys.recv(rfd, 1024, 0);
    yield* sys.pause(); // stay: the trace tells the receive, not the scenario's exit (__fput, sock_close)
  });
  const at = 1_000_000;
  if (proto === "tcp") {
    const peer = new TcpPeer(k, { dport: 80 }).connect(100_000).send(100, at);
    // a second segment after the reader has read the first: sk_forward_alloc now covers it
    if (second) peer.send(100, at + 100_000);
  } else udpSend(k, { dport: 80, bytes: 100, at });
  k.runUntil(at - 1);
  const mark = k.tr!.roots.length;
  k.runUntilIdle();
  return { k, mark };
}

/** The trace of the blocking call alone, as far as schedule() (the seed's second trace). */
function blockingCallTrace(proto: "tcp" | "udp", call: "read" | "recv", comment: string): TraceNode[] {
  const { k } = blockedReader(proto, call);
  const roots = pick(k, `${call}(`);
  roots[0].comment = comment;
  return roots;
}

/** A copy of `n` keeping only the lines entered at or after t (and the calls that contain them). */
export function since(n: TraceNode, t: number): TraceNode | null {
  const children = n.children.map((c) => since(c, t)).filter((c): c is TraceNode => c !== null);
  if (n.t < t && children.length === 0) return null;
  return { ...n, children };
}

/** A blocked call's tree from `t` on, headed at the time its task got the CPU back. */
export function resumedCall(call: TraceNode, t: number, label: string): TraceNode {
  const resumed = since(call, t)!;
  resumed.text = `${call.text}   (${label}, resumed after the wakeup)`;
  let at = resumed;
  while (at.t < t && at.children.length > 0) at = at.children.find((c) => !!since(c, t))!;
  resumed.t = at.t;
  return resumed;
}

/** Roots in the order they happened (a resumed call sorts by its resumption). */
export function inTimeOrder(roots: TraceNode[]): TraceNode[] {
  return roots.map((r, i) => ({ r, i })).sort((a, b) => a.r.t - b.r.t || a.i - b.i).map((x) => x.r);
}

/** From the NIC's IRQ to the reader running again and returning. */
function softirqTrace(proto: "tcp" | "udp", lowLatency: number, second = false): TraceNode[] {
  const { k, mark } = blockedReader(proto, "read", lowLatency, second);
  const call = k.tr!.roots.find((r) => r.text.startsWith("read("))!;
  const after = k.tr!.roots.slice(mark).filter((r) => !r.text.startsWith("pause("));
  return inTimeOrder([...after, resumedCall(call, after[0].t, "the reader's call")]);
}

export const TRACES: Record<string, TraceSpec> = {
  "socket-tcp": {
    title: "socket(AF_INET, SOCK_STREAM, 0): struct socket, struct sock, tcp_prot, the fd",
    section: "3.2",
    run: () => socketTrace(SOCK_STREAM, "创建TCP的socket"),
  },
  "socket-udp": {
    title: "socket(AF_INET, SOCK_DGRAM, 0): the seed's trace",
    section: "3.2",
    run: () => socketTrace(SOCK_DGRAM, "创建UDP的socket"),
  },
  "read-block-tcp": {
    title: "read(fd, buf, 1024) on a TCP socket with no data, down to sk_wait_data and schedule(): the seed's second trace",
    section: "3.3",
    run: () => blockingCallTrace("tcp", "read", "读取tcp socket上的数据"),
  },
  "recv-block-udp": {
    title: "recv(fd, buf, 1024, 0) on a UDP socket with no data: __skb_recv_datagram waits exclusively",
    section: "3.3.1",
    run: () => blockingCallTrace("udp", "recv", "读取udp socket上的数据"),
  },
  "softirq-rx-tcp": {
    title: "a TCP segment for a blocked reader: IRQ -> NET_RX -> tcp_v4_rcv -> prequeue -> wakeup -> the reader runs TCP",
    section: "3.3.2",
    run: () => softirqTrace("tcp", 0),
  },
  "softirq-rx-tcp-low-latency": {
    title: "the same with net.ipv4.tcp_low_latency = 1: tcp_prequeue declines; the first segment takes step5 (sk_forward_alloc = 0) -> tcp_data_queue -> tcp_queue_rcv -> sk_data_ready, a second one the fast path",
    section: "3.3.2",
    run: () => softirqTrace("tcp", 1, true),
  },
  "softirq-rx-udp": {
    title: "a UDP datagram for a blocked reader: IRQ -> NET_RX -> udp_rcv -> sock_queue_rcv_skb -> sk_data_ready -> receiver_wake_function -> wakeup",
    section: "3.3.2",
    run: () => softirqTrace("udp", 0),
  },
};

Object.assign(TRACES, EPOLL_TRACES, SELECT_TRACES);
Object.assign(TRACES, LO_TRACES);

export function traceNames(): string[] {
  return Object.keys(TRACES);
}

export function runTrace(name: string): { title: string; roots: TraceNode[] } {
  const spec = TRACES[name];
  if (!spec) throw new RangeError(`unknown trace "${name}" (known: ${traceNames().join(", ")})`);
  return { title: spec.title, roots: spec.run() };
}
