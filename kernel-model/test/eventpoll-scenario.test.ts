// epoll end to end: the §3.4 traces, the object diagrams before and after data arrives, and the
// book's §3.5 claim: one epoll thread needs far fewer context switches per message than a
// blocking thread per connection.
import { describe, expect, it } from "vitest";
import {
  Kernel, TcpPeer, formatTrace, walkTrace, objectGraphDot, renderDot, AF_INET, SOCK_STREAM, SOCK_NONBLOCK,
  EPOLLIN, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EAGAIN, TASK_RUNNING, TASK_INTERRUPTIBLE,
  type EpollEvent, type TaskStruct, type TraceNode,
} from "kernel-model";
import { EPOLL_TRACES } from "../src/scenarios/traces-epoll";
import { TRACES } from "../src/scenarios/traces";
import { main } from "../src/cli";

const fns = (roots: TraceNode[]) => walkTrace(roots).map((n) => n.fn).filter(Boolean);
/** The functions on the path from the root to the first node named `fn` (depth-first). */
function pathTo(roots: TraceNode[], fn: string): string[] {
  const go = (n: TraceNode, path: string[]): string[] | null => {
    const p = n.fn ? [...path, n.fn] : path;
    if (n.fn === fn) return p;
    for (const c of n.children) {
      const r = go(c, p);
      if (r) return r;
    }
    return null;
  };
  for (const r of roots) {
    const p = go(r, []);
    if (p) return p;
  }
  throw new Error(`no ${fn} in the trace`);
}

describe("the §3.4 traces (EPOLL_TRACES)", () => {
  it("epoll-create: SYSC_epoll_create -> SYSC_epoll_create1 -> ep_alloc, anon_inode_getfile, fd_install", () => {
    const roots = EPOLL_TRACES["epoll-create"].run();
    expect(roots).toHaveLength(1);
    expect(roots[0].text).toBe("epoll_create(1) = 6");
    expect(fns(roots)).toEqual(["SYSC_epoll_create", "SYSC_epoll_create1", "ep_alloc", "init_waitqueue_head", "init_waitqueue_head", "INIT_LIST_HEAD", "get_unused_fd_flags", "anon_inode_getfile", "alloc_file", "fd_install"]);
    expect(formatTrace(roots)).toContain("|-ep->rbr = RB_ROOT");
  });

  it("epoll-ctl-add: ep_insert -> ep_item_poll -> sock_poll -> tcp_poll -> sock_poll_wait -> poll_wait -> ep_ptable_queue_proc", () => {
    const roots = EPOLL_TRACES["epoll-ctl-add"].run();
    expect(pathTo(roots, "add_wait_queue")).toEqual(["SYSC_epoll_ctl", "ep_insert", "ep_item_poll", "sock_poll", "tcp_poll", "sock_poll_wait",
      "poll_wait", "ep_ptable_queue_proc", "add_wait_queue"]);
    const insert = fns(roots);
    expect(insert.indexOf("ep_rbtree_insert")).toBeGreaterThan(insert.indexOf("ep_ptable_queue_proc"));
    expect(formatTrace(roots)).toContain("|-init_waitqueue_func_entry(&pwq->wait, ep_poll_callback)");
  });

  it("epoll-wait: the wait entry goes at the head of ep->wq, then schedule() (via schedule_hrtimeout_range_clock) switches away", () => {
    const roots = EPOLL_TRACES["epoll-wait"].run();
    const text = formatTrace(roots);
    expect(roots[0].text).toBe("epoll_wait(6, events, 64, -1)"); // no return value: it is asleep
    expect(text).toContain("|-__add_wait_queue_exclusive(&ep->wq, &wait)");
    expect(pathTo(roots, "context_switch")).toEqual(["SYSC_epoll_wait", "ep_poll", "schedule_hrtimeout_range", "schedule_hrtimeout_range_clock", "schedule", "__schedule", "context_switch"]);
  });

  it("epoll-data-ready: first segment step5 -> tcp_data_queue -> tcp_queue_rcv -> sock_def_readable -> ep_poll_callback -> try_to_wake_up; tcp_prequeue declines", () => {
    const roots = EPOLL_TRACES["epoll-data-ready"].run();
    // pt_prev->func is called directly (no deliver_skb); sk_forward_alloc = 0 sends the first segment to step5
    expect(pathTo(roots, "try_to_wake_up")).toEqual([
      "do_IRQ", "exiting_irq", "irq_exit", "invoke_softirq", "__do_softirq", "net_rx_action", "napi_poll", "igb_poll", "igb_clean_rx_irq",
      "napi_gro_receive", "napi_skb_finish", "netif_receive_skb_internal", "__netif_receive_skb", "__netif_receive_skb_core", "ip_rcv",
      "NF_HOOK", "NF_HOOK_THRESH", "ip_rcv_finish", "dst_input", "ip_local_deliver", "NF_HOOK", "NF_HOOK_THRESH", "ip_local_deliver_finish",
      "tcp_v4_rcv", "tcp_v4_do_rcv", "tcp_rcv_established", "tcp_data_queue", "sock_def_readable",
      "__wake_up_sync_key", "__wake_up_common", "ep_poll_callback", "wake_up_locked", "__wake_up_locked", "__wake_up_common", "default_wake_function",
      "try_to_wake_up",
    ]);
    const all = fns(roots);
    expect(all).toContain("tcp_queue_rcv");
    expect(all).not.toContain("deliver_skb");
    expect(walkTrace(roots).filter((n) => n.fn === "tcp_prequeue").every((n) => n.text === "tcp_prequeue(sk, skb) = false")).toBe(true);
    // the second segment, after the read freed the first one's memory, takes the fast path
    const irqs = roots.filter((r) => r.text.startsWith("do_IRQ"));
    expect(irqs).toHaveLength(2);
    const est = (r: TraceNode) => walkTrace([r]).find((n) => n.fn === "tcp_rcv_established")!;
    expect(est(irqs[0]).children.map((c) => c.fn)).toEqual(["", "tcp_ack", "tcp_data_queue"]);
    expect(est(irqs[1]).children.map((c) => c.fn)).toEqual(["tcp_queue_rcv", "sock_def_readable"]);
    const resumed = roots.find((r) => r.text.includes("resumed"))!;
    expect(resumed.text.startsWith("epoll_wait(6, events, 64, -1) = 1")).toBe(true);
    expect(fns([resumed])).toContain("ep_send_events_proc");
    expect(fns([resumed])).not.toContain("ep_events_available"); // only the part after the wakeup
    expect(roots.find((r) => r.text.startsWith("read("))!.text).toBe("read(4, buf, 1024) = 100");
    // roots in time order
    for (let i = 1; i < roots.length; i++) expect(roots[i].t).toBeGreaterThanOrEqual(roots[i - 1].t);
  });

  it("every trace is reproducible: two runs give the same text", () => {
    for (const spec of Object.values(EPOLL_TRACES)) expect(formatTrace(spec.run())).toBe(formatTrace(spec.run()));
  });

  it("`kernel-model trace epoll-...` works once EPOLL_TRACES is merged into TRACES", () => {
    const saved = { ...TRACES };
    Object.assign(TRACES, EPOLL_TRACES);
    try {
      for (const name of Object.keys(EPOLL_TRACES)) {
        let out = "";
        expect(main(["trace", name], (s) => { out += s; })).toBe(0);
        expect(out).toContain("epoll");
      }
    } finally {
      for (const name of Object.keys(TRACES)) if (!(name in saved)) delete TRACES[name];
    }
  });
});

describe("object diagrams of epoll, before and after data arrives (§3.4.3, §3.4.4)", () => {
  /** The book's server: two connections in one epoll; the task sleeps in epoll_wait. */
  function server() {
    const k = new Kernel();
    const p = k.spawn("server", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 16);
      const c1 = yield* sys.accept4(lfd, SOCK_NONBLOCK);
      const c2 = yield* sys.accept4(lfd, SOCK_NONBLOCK);
      const efd = yield* sys.epoll_create(1);
      yield* sys.epoll_ctl(efd, EPOLL_CTL_ADD, c1, { events: EPOLLIN, data: c1 });
      yield* sys.epoll_ctl(efd, EPOLL_CTL_ADD, c2, { events: EPOLLIN, data: c2 });
      yield* sys.epoll_wait(efd, [], 64, -1);
      yield* sys.pause();
    });
    const peer = new TcpPeer(k, { dport: 80 }).connect(100_000);
    new TcpPeer(k, { dport: 80 }).connect(200_000);
    return { k, p, peer };
  }

  /** Node ids of the diagram: struct file serials of the two connections and the epoll fd. */
  const ids = (p: TaskStruct) => ({ s1: p.files.fd[4]!.id, s2: p.files.fd[5]!.id, ep: p.files.fd[6]!.id });

  it("before: ep->wq holds the task (default_wake_function); each socket's queue holds ep_poll_callback; rdllist empty", () => {
    const { k, p } = server();
    k.run(1_500_000);
    expect(p.state).toBe(TASK_INTERRUPTIBLE);
    const dot = objectGraphDot(k, p, [4, 5, 6]);
    const { s1, s2, ep } = ids(p);
    expect(dot).toContain("struct eventpoll");
    expect(dot).toMatch(/rdllist<\/td><td align="left">\(empty\)/);
    expect(dot).toMatch(/func=default_wake_function private=task server EXCLUSIVE/);
    expect(dot).toContain(`ep${ep}_epi0:pwqlist -> sock${s1}_wq:entry_0`);
    expect(dot).toContain(`ep${ep}_epi1:pwqlist -> sock${s2}_wq:entry_0`);
    // (a socket's wait queue node may be emitted twice, by the socket and by the epitem: same id, same label)
    expect(new Set(dot.split("\n").filter((l) => l.includes("func=ep_poll_callback private=NULL (eppoll_entry by container_of)"))).size).toBe(2);
    expect(dot).not.toContain('label="rdllink"');
  });

  it("after: the epitem is on rdllist, the task is runnable, its entry still on ep->wq (it removes it itself)", () => {
    const { k, p, peer } = server();
    k.run(1_500_000);
    peer.send(100, 2_000_000);
    const c = k.costs;
    let seen: { state: number; dot: string } | null = null;
    // a probe event just after ep_poll_callback ran, before the woken task gets the CPU
    k.engine.at(2_000_000 + c.hardirq + c.softirqEntry + c.rxPacket + 1, () => {
      seen = { state: p.state, dot: objectGraphDot(k, p, [4, 5, 6]) };
    });
    k.run(1_000_000);
    const { state, dot } = seen!;
    const { ep } = ids(p);
    expect(state).toBe(TASK_RUNNING);
    expect(dot).toMatch(/rdllist<\/td><td align="left">fd 4</);
    expect(dot).toContain(`ep${ep}:rdllist -> ep${ep}_epi0:rdllink [color="#c0392b" label="rdllink"]`);
    expect(dot).toMatch(/func=default_wake_function private=task server EXCLUSIVE/);
    expect(p.state).toBe(TASK_INTERRUPTIBLE); // later: back from epoll_wait, now in pause()
  });

  it("renders to SVG", async () => {
    const { k, p } = server();
    k.run(1_500_000);
    const svg = await renderDot(objectGraphDot(k, p, [4, 5, 6]));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("struct eventpoll");
    expect(svg).toContain("ep_poll_callback");
  });
});

describe("§3.5: one epoll thread vs a blocking thread per connection, bursty load", () => {
  const CONNS = 32;
  const BURSTS = 20;
  const T0 = 10_000_000;
  const PERIOD = 1_000_000;

  /** Connections, then BURSTS bursts: each connection sends one 512-byte message within 100 µs. */
  function traffic(k: Kernel) {
    const peers = Array.from({ length: CONNS }, (_, i) => new TcpPeer(k, { dport: 80 }).connect(1_000_000 + i * 20_000));
    for (let b = 0; b < BURSTS; b++) for (const p of peers) p.send(512, T0 + b * PERIOD + k.rng.int(0, 100_000));
    for (const p of peers) p.close(T0 + BURSTS * PERIOD + 1_000_000);
  }

  /** Voluntary context switches of the receiving tasks per message, over the bursts only. */
  function measure(k: Kernel, receivers: () => TaskStruct[]) {
    k.runUntil(T0 - 1);
    const nv0 = receivers().reduce((s, t) => s + t.nvcsw, 0);
    const d0 = k.stats.delivered;
    k.runUntil(T0 + BURSTS * PERIOD);
    const msgs = k.stats.delivered - d0;
    const nvcsw = receivers().reduce((s, t) => s + t.nvcsw, 0) - nv0;
    k.runUntilIdle();
    return { msgs, nvcsw, perMsg: nvcsw / msgs };
  }

  function blocking() {
    const k = new Kernel({ seed: 3 });
    const readers: TaskStruct[] = [];
    const mainTask = k.spawn("main", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 128);
      yield* sys.pause();
    });
    k.run(100_000);
    for (let i = 0; i < CONNS; i++) {
      readers.push(k.spawn(`conn${i}`, function* (sys) {
        const fd = yield* sys.accept(3);
        while ((yield* sys.read(fd, 4096)) > 0);
        yield* sys.close(fd);
      }, { thread: mainTask }));
    }
    traffic(k);
    return measure(k, () => readers);
  }

  function epoll() {
    const k = new Kernel({ seed: 3 });
    const task = k.spawn("epoll", function* (sys) {
      const lfd = yield* sys.socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
      yield* sys.bind(lfd, 80);
      yield* sys.listen(lfd, 128);
      const epfd = yield* sys.epoll_create1(0);
      yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, { events: EPOLLIN, data: lfd });
      const events: EpollEvent[] = [];
      for (;;) {
        const n = yield* sys.epoll_wait(epfd, events, 64, -1);
        for (let i = 0; i < n; i++) {
          const fd = events[i].data;
          if (fd === lfd) {
            for (let c; (c = yield* sys.accept4(lfd, SOCK_NONBLOCK)) >= 0;) yield* sys.epoll_ctl(epfd, EPOLL_CTL_ADD, c, { events: EPOLLIN, data: c });
            continue;
          }
          for (;;) {
            const r = yield* sys.read(fd, 4096);
            if (r > 0) continue;
            if (r === 0) {
              yield* sys.epoll_ctl(epfd, EPOLL_CTL_DEL, fd, null);
              yield* sys.close(fd);
            } else expect(r).toBe(-EAGAIN);
            break;
          }
        }
      }
    });
    traffic(k);
    return measure(k, () => [task]);
  }

  it("epoll needs far fewer voluntary context switches per message", () => {
    const b = blocking();
    const e = epoll();
    console.log(`bursty load, ${CONNS} connections x ${BURSTS} bursts, 1 CPU: ` +
      `blocking ${b.nvcsw} nvcsw / ${b.msgs} msgs = ${b.perMsg.toFixed(3)} per message; ` +
      `epoll ${e.nvcsw} nvcsw / ${e.msgs} msgs = ${e.perMsg.toFixed(3)} per message`);
    expect(b.msgs).toBe(CONNS * BURSTS);
    expect(e.msgs).toBe(CONNS * BURSTS);
    expect(b.perMsg).toBeGreaterThan(0.9); // one sleep per message, as the book says
    expect(e.perMsg * 4).toBeLessThan(b.perMsg); // with a wide margin
  });
});
