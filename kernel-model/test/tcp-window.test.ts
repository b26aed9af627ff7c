// tcp-window.test.ts: the receive window (issue 11). The window 4.6.2 advertises
// (__tcp_select_window, tcp_select_window, tcp_select_initial_window), the window update of
// tcp_cleanup_rbuf, and remote peers that send within it and within a congestion window
// (net/peer.ts), against the open-loop peer of before (flowControl: false).
import { describe, expect, it } from "vitest";
import {
  Kernel, TcpPeer, runServer, tcp_prot, __tcp_select_window, tcp_select_window, tcp_select_initial_window, tcp_receive_window,
  AF_INET, SOCK_STREAM, SOL_SOCKET, SO_RCVBUF, TCP_MSS, TCP_RTO_MIN,
  type Sock, type Socket, type TcpSock, type TraceNode,
} from "kernel-model";

/** A bare tcp_sock with the model's default buffer (tcp_rmem[1] = 87380) and a given state. */
function tcpSock(o: { rmem: number; rcv_ssthresh: number; rcvbuf?: number }): TcpSock {
  const tp = tcp_prot.alloc(new Kernel()) as TcpSock;
  tp.sk_rcvbuf = o.rcvbuf ?? 87380;
  tp.sk_backlog.rmem_alloc = o.rmem;
  tp.rcv_ssthresh = o.rcv_ssthresh;
  return tp;
}

// With sk_rcvbuf 87380 and sysctl_tcp_adv_win_scale 1: tcp_full_space = 87380 - 43690 = 43690;
// window_clamp (tcp_init_buffer_space) = 43690 - advmss 1460 = 42230; rcv_mss 1448;
// rcv_wscale 7. A received segment's truesize is 2304 (skbTruesize).
describe("__tcp_select_window: the window 4.6.2 offers for a buffer state", () => {
  it("an empty buffer: the free space, at most rcv_ssthresh, rounded up to a multiple of 128", () => {
    expect(__tcp_select_window(tcpSock({ rmem: 0, rcv_ssthresh: 42230 }))).toBe(42240); // 43690 -> clamp 42230 -> 330 * 128
    expect(__tcp_select_window(tcpSock({ rmem: 0, rcv_ssthresh: 28960 }))).toBe(29056); // the initial rcv_ssthresh -> 227 * 128
    expect(__tcp_select_window(tcpSock({ rmem: 2304 * 5, rcv_ssthresh: 42230 }))).toBe(38016); // free 37930, above half: up to 297 * 128
  });

  it("less than half free: rounded down to 128s; zero below 1/16 of the buffer or one MSS", () => {
    // 20 skbs queued: free (87380 - 46080) / 2 = 20650 < 42230 / 2: round_down(20650, 128)
    expect(__tcp_select_window(tcpSock({ rmem: 2304 * 20, rcv_ssthresh: 42230 }))).toBe(20608);
    // 36 skbs: free 2218 -> 2176, below allowed_space >> 4 = 2730: zero window
    expect(__tcp_select_window(tcpSock({ rmem: 2304 * 36, rcv_ssthresh: 42230 }))).toBe(0);
    // over sk_rcvbuf (tcp_space is negative)
    expect(__tcp_select_window(tcpSock({ rmem: 90000, rcv_ssthresh: 42230 }))).toBe(0);
    // a small SO_RCVBUF (sk_rcvbuf 8192): full space 4096 > free 3776 but 3776 >= 4096 / 2:
    // min(3776, rcv_ssthresh) rounded up; the window clamp is max(2 * 1460, 4096 - 1460) = 2920
    expect(__tcp_select_window(tcpSock({ rmem: 640, rcv_ssthresh: 2920, rcvbuf: 8192 }))).toBe(2944);
  });

  it("tcp_select_window never shrinks the offered window, records rcv_wnd and rcv_wup, and returns the field >> 7", () => {
    const tp = tcpSock({ rmem: 2304 * 36, rcv_ssthresh: 42230 }); // __tcp_select_window says 0
    tp.rcv_wup = 1;
    tp.rcv_wnd = 29056;
    tp.rcv_nxt = 1001; // 1000 bytes since the last ACK: 28056 left of the offer
    expect(tcp_receive_window(tp)).toBe(28056);
    expect(tcp_select_window(tp)).toBe(220); // ALIGN(28056, 128) = 28160 = 220 << 7
    expect([tp.rcv_wnd, tp.rcv_wup]).toEqual([28160, 1001]);
    tp.sk_backlog.rmem_alloc = 0;
    tp.rcv_nxt = 30001; // the peer filled the offer, the reader emptied the buffer
    expect(tcp_select_window(tp)).toBe(330); // 42240 >> 7
    expect([tp.rcv_wnd, tp.rcv_wup]).toEqual([42240, 30001]);
  });

  it("tcp_select_initial_window: the SYN-ACK offers 20 segments (tcp_default_init_rwnd), or what the buffer allows", () => {
    expect(tcp_select_initial_window(43690, 1448)).toBe(28960); // min(30 * 1448, 20 * 1448)
    expect(tcp_select_initial_window(4096, 1448)).toBe(2896); // SO_RCVBUF 4096: 2 * 1448
  });

  it("a connection's SYN-ACK and first ACK carry those windows to the peer", () => {
    const k = new Kernel();
    k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 8);
      yield* sys.accept(lfd);
      yield* sys.pause();
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(100_000);
    const edges: number[] = [];
    const onAck = peer.onAck.bind(peer);
    peer.onAck = (t, ack, edge) => {
      edges.push(edge - ack);
      onAck(t, ack, edge);
    };
    peer.send(100, 1_000_000);
    k.run(2_000_000);
    expect(peer.snd_wnd_end).toBe(1 + 28960); // the SYN-ACK's window; the ACK is read when the next segment is due
    expect(edges).toEqual([29056]); // one segment, one ACK: rcv_ssthresh 28960 rounded up (100 < 128: no tcp_grow_window)
    peer.send(100, 3_000_000);
    k.run(1_000_000);
    expect(peer.snd_wnd_end).toBe(1 + 100 + 29056);
  });
});

interface SlowReader {
  k: Kernel;
  peer: TcpPeer;
  read: number;
  inOrder: boolean;
  drops: number;
  maxRmem: number;
  rcvbuf: number;
  /** Every ACK the peer was told: when, in whose context, ack, edge. */
  acks: { t: number; byReader: boolean; ack: number; edge: number }[];
  /** When the reader's first read returned, and when the last segment reached the NIC. */
  firstRead: number;
  lastArrival: number;
  /** The peer, 1 µs before the reader's first read: segments waiting, and the window left. */
  before: { queued: number; wndLeft: number; sndNxt: number; wndEnd: number };
}

/** A reader that sleeps until `firstReadAt`, then reads `readSize` bytes every `readEvery` ns;
 *  the peer hands over `bytes` at 1 ms (full segments) and closes. */
function slowReader(o: { flowControl: boolean; bytes: number; firstReadAt: number; readEvery: number; readSize: number; trace?: boolean }): SlowReader {
  const k = new Kernel({ trace: o.trace });
  let sk: Sock | null = null;
  const out = { read: 0, firstRead: 0 };
  let lastSeq = 0, inOrder = true, maxRmem = 0;
  k.onDeliver = (_p, skb) => {
    if (skb.seq < lastSeq) inOrder = false;
    lastSeq = skb.seq;
  };
  const reader = k.spawn("reader", function* (sys) {
    const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
    yield* sys.bind(lfd, 80);
    yield* sys.listen(lfd, 8);
    const fd = yield* sys.accept(lfd);
    sk = (sys.task.files.fd[fd]!.private_data as Socket).sk;
    yield* sys.clock_nanosleep_abs(o.firstReadAt);
    for (;;) {
      const n = yield* sys.read(fd, o.readSize);
      if (n <= 0) break;
      if (!out.firstRead) out.firstRead = k.now;
      out.read += n;
      yield* sys.clock_nanosleep_abs(k.now + o.readEvery);
    }
  });
  const peer = new TcpPeer(k, { dport: 80, flowControl: o.flowControl });
  const acks: SlowReader["acks"] = [];
  const onAck = peer.onAck.bind(peer);
  peer.onAck = (t, ack, edge) => {
    acks.push({ t, byReader: k.current === reader, ack, edge });
    onAck(t, ack, edge);
  };
  let lastArrival = 0;
  const dev = k.dev!;
  const ring = dev.rings[0];
  const push = ring.skbs.push.bind(ring.skbs);
  ring.skbs.push = (...s) => {
    lastArrival = k.now;
    if (sk) maxRmem = Math.max(maxRmem, sk.sk_backlog.rmem_alloc);
    return push(...s);
  };
  peer.connect(100_000);
  peer.send(o.bytes, 1_000_000);
  peer.close(1_000_000);
  let before = { queued: 0, wndLeft: 0, sndNxt: 0, wndEnd: 0 };
  k.engine.at(o.firstReadAt - 1_000, () => {
    before = { queued: peer.queued, wndLeft: peer.snd_wnd_end - peer.snd_nxt, sndNxt: peer.snd_nxt, wndEnd: peer.snd_wnd_end };
  });
  k.run(30_000_000_000);
  const s = k.stats;
  return {
    k, peer, read: out.read, inOrder, drops: s.socketDrops + s.ringDrops + s.backlogDrops, maxRmem: Math.max(maxRmem, sk!.sk_backlog.rmem_alloc),
    rcvbuf: sk!.sk_rcvbuf, acks, firstRead: out.firstRead, lastArrival, before,
  };
}

describe("a peer that reads the window (flowControl, the default) against one that does not", () => {
  const SLOW = { bytes: 1_000_000, firstReadAt: 20_000_000, readEvery: 2_000_000, readSize: 16_384 };

  it("a slow reader offered far more than sk_rcvbuf: no drops, no retransmissions, sk_rmem_alloc within sk_rcvbuf", () => {
    const tcp = slowReader({ ...SLOW, flowControl: true });
    expect(tcp.read).toBe(1_000_000);
    expect(tcp.inOrder).toBe(true);
    expect(tcp.drops).toBe(0);
    expect(tcp.peer.retransmits).toBe(0);
    expect(tcp.maxRmem).toBeLessThanOrEqual(tcp.rcvbuf);
    expect(tcp.peer.delayed).toBeGreaterThan(600); // most of the 691 segments waited for the window
    // the open-loop peer of before: the receive buffer overflows, and every drop is sent again
    const open = slowReader({ ...SLOW, flowControl: false });
    expect(open.read).toBe(1_000_000);
    expect(open.drops).toBeGreaterThan(10);
    expect(open.peer.retransmits).toBe(open.drops);
    expect(open.maxRmem).toBeGreaterThan(open.rcvbuf * 0.9);
  });

  it("the sender stops at a zero window and resumes on tcp_cleanup_rbuf's window update; every byte arrives once, in order", () => {
    const r = slowReader({ ...SLOW, bytes: 200_000, flowControl: true, trace: true });
    // before the first read: the buffer is full, the window is shut, the rest waits at the peer
    expect(r.before.queued).toBeGreaterThan(0);
    expect(r.before.wndLeft).toBeLessThan(TCP_MSS);
    expect(r.before.sndNxt).toBeLessThanOrEqual(r.before.wndEnd);
    const lastBefore = r.acks.filter((a) => a.t < SLOW.firstReadAt).at(-1)!;
    expect(lastBefore.edge - lastBefore.ack).toBeLessThan(TCP_MSS); // the ACK that closed it
    // the reader's read sends the window update (same ack, the edge moves), and data follows
    const update = r.acks.find((a) => a.t >= SLOW.firstReadAt && a.edge > lastBefore.edge);
    expect(update).toBeDefined();
    expect(update!.byReader).toBe(true);
    expect(update!.ack).toBe(lastBefore.ack);
    expect(r.lastArrival).toBeGreaterThan(update!.t + r.peer.rtt - 1);
    expect([r.read, r.inOrder, r.drops, r.peer.retransmits]).toEqual([200_000, true, 0, 0]);
    // and the trace says so where tcp_recvmsg ran tcp_cleanup_rbuf
    const leaves: TraceNode[] = [];
    const walk = (n: TraceNode) => {
      if (n.fn === "tcp_cleanup_rbuf") leaves.push(n);
      n.children.forEach(walk);
    };
    r.k.tr!.roots.forEach(walk);
    expect(leaves.some((n) => n.comment?.startsWith("window update: new_window"))).toBe(true);
    expect(leaves.some((n) => n.comment?.startsWith("no window update"))).toBe(true);
  });

  it("when the window never binds, the two peers give the same run, event for event", () => {
    const o = { model: "blocking", proto: "tcp", conns: 20, msgs: 2_000, rate: 20_000, msgSize: 200 } as const;
    const a = runServer({ ...o, flowControl: true }).summary;
    const b = runServer({ ...o, flowControl: false }).summary;
    expect({ ...a, wallMs: 0 }).toEqual({ ...b, wallMs: 0 });
    expect(a.dropped).toBe(0);
  });
});

describe("congestion control at the peer", () => {
  it("a drop: the retransmission timer fires TCP_RTO_MIN later, cwnd falls to 1 and ssthresh to max(cwnd / 2, 2)", () => {
    const k = new Kernel({ net: { rxRing: 4 } }); // 10 segments at once overflow a 4-slot ring
    let read = 0;
    k.spawn("reader", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 8);
      const fd = yield* sys.accept(lfd);
      for (;;) {
        const n = yield* sys.read(fd, 65536);
        if (n <= 0) break;
        read += n;
      }
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(100_000);
    peer.send(20 * TCP_MSS, 1_000_000); // 20 segments: the initial cwnd lets 10 go at once
    peer.close(1_000_000);
    const until = (t: number) => k.run(t - k.now);
    let lastAck = 0;
    const onAck = peer.onAck.bind(peer);
    peer.onAck = (t, ack, edge) => {
      lastAck = ack;
      onAck(t, ack, edge);
    };
    until(1_100_000);
    expect(peer.packets_out).toBe(10); // cwnd 10: the other 10 (and the FIN) wait
    expect(peer.queued).toBe(11);
    const dropped = k.stats.ringDrops;
    expect(dropped).toBeGreaterThan(0);
    expect(peer.retransmits).toBe(0); // the sender does not know yet
    until(1_000_000 + TCP_RTO_MIN - 10_000);
    expect(peer.retransmits).toBe(0);
    const cwnd = peer.snd_cwnd; // slow start grew it on the ACKs of the segments that got through
    expect(cwnd).toBeGreaterThan(10);
    until(1_000_000 + TCP_RTO_MIN + 1_000);
    expect(peer.snd_ssthresh).toBe(Math.max(cwnd >> 1, 2)); // tcp_enter_loss
    expect(peer.snd_cwnd).toBe(1);
    expect(peer.retransmits).toBe(1); // the first lost segment; the others as ACKs open the cwnd
    until(5_000_000_000);
    expect(read).toBe(20 * TCP_MSS);
    expect(peer.retransmits).toBe(k.stats.ringDrops); // each dropped frame sent again once
    expect(lastAck).toBe(peer.write_seq); // everything ACKed, the FIN too
    expect(peer.queued).toBe(0);
  });
});

describe("the open-loop bench shape (workload 5) at a test's size: 2M msgs/s offered, Poisson", () => {
  it("retransmissions per delivered message fall well below the open-loop peer's", () => {
    const o = { model: "epoll", proto: "tcp", conns: 100, msgs: 10_000, rate: 2_000_000, pattern: "poisson" } as const;
    const tcp = runServer({ ...o, flowControl: true });
    const open = runServer({ ...o, flowControl: false });
    expect(tcp.summary.delivered).toBe(10_000);
    expect(open.summary.delivered).toBe(10_000);
    const per = (r: typeof tcp) => r.retransmits / r.summary.delivered;
    expect(per(open)).toBeGreaterThan(2); // several drops and retransmissions per message (main: 2.29)
    expect(per(tcp)).toBeLessThan(0.25); // the peers back off (0.18)
    expect(tcp.retransmits).toBe(tcp.summary.dropped);
    expect(tcp.summary.e2eLatencyNs.p50).toBeLessThan(open.summary.e2eLatencyNs.p50 / 10); // waiting, not retransmitting
  });
});
