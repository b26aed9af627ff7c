import { describe, expect, it } from "vitest";
import { formatTrace, runTrace, walkTrace, LINES, SOURCE, Kernel, AF_INET, SOCK_STREAM, type TraceNode } from "kernel-model";
import { main } from "../src/cli";

/** The child of `n` whose text starts with `prefix` (a direct child: nesting matters). */
function child(n: TraceNode, prefix: string): TraceNode {
  const c = n.children.find((x) => x.text.startsWith(prefix));
  if (!c) throw new Error(`"${n.text}" has no child "${prefix}": ${n.children.map((x) => x.text).join(" | ")}`);
  return c;
}

describe("the seed's socket(AF_INET, SOCK_DGRAM, 0) trace", () => {
  const { roots } = runTrace("socket-udp");

  it("has the seed's chain in the seed's nesting", () => {
    expect(roots).toHaveLength(1);
    const sysc = child(roots[0], "SYSC_socket(");
    const create = child(child(child(sysc, "sock_create("), "__sock_create("), "pf->create(");
    const sc = child(child(sysc, "sock_create("), "__sock_create(");
    child(sc, "sock = sock_alloc()");
    child(sc, "pf = rcu_dereference(net_families[family])");
    const inet = child(create, "inet_create(");
    child(inet, "sock->ops = answer->ops;");
    expect(child(inet, "answer_prot = answer->prot;").comment).toContain("udp_prot");
    child(inet, "sk = sk_alloc(");
    const init = child(inet, "sock_init_data(sock, sk)");
    expect(child(init, "sk->sk_data_ready = sock_def_readable").comment).toBe("软中断收到数据包会调用此函数唤醒等待的进程");
    // sock_map_fd comes after sock_create, under SYSC_socket
    const order = sysc.children.map((c) => c.fn);
    expect(order.indexOf("sock_map_fd")).toBeGreaterThan(order.indexOf("sock_create"));
  });

  it("prints in the seed's |- layout", () => {
    const text = formatTrace(roots, { loc: false });
    expect(text).toContain(
      "socket(AF_INET, SOCK_DGRAM, 0) = 3                  // 创建UDP的socket\n" +
      "|-SYSC_socket(family = 2, type = 2, protocol = 0)\n" +
      "  |-sock_create(family, type, protocol, &sock)\n" +
      "    |-__sock_create(net, family, type, protocol, res, 0)\n" +
      "      |-sock = sock_alloc()                         // 创建socket对象\n");
    expect(text).toContain("        |-inet_create(net, sock, protocol, kern)\n");
  });

  it("gives every call the 4.6.2 line of its first statement, in the file that defines it", () => {
    const calls = walkTrace(roots).filter((n) => n.fn);
    expect(calls.length).toBeGreaterThan(8);
    for (const n of calls) {
      const f = SOURCE.funcs[n.fn];
      expect(f, n.fn).toBeDefined();
      expect(n.loc).toBe(`${f[0]}:${f[4]}`);
      expect(LINES[n.fn]).toBe(`${f[0]}:${f[1]}`);
    }
  });
});

describe("the seed's read(fd, buf, 1024) trace (read-block-tcp)", () => {
  it("contains the seed's chain in the seed's nesting, down to sk_wait_data and schedule()", () => {
    const { roots } = runTrace("read-block-tcp");
    let n = child(roots[0], "SYSC_read(");
    for (const p of ["vfs_read(", "__vfs_read(", "new_sync_read(", "filp->f_op->read_iter(&kiocb, &iter)", "sock_recvmsg(",
      "sock_recvmsg_nosec(", "sock->ops->recvmsg(", "inet_recvmsg(", "sk->sk_prot->recvmsg(", "tcp_recvmsg(", "sk_wait_data("]) n = child(n, p);
    // sock.h:898-909: schedule_timeout under the macro, and lock_sock after the wakeup inside it
    const wait = child(n, "sk_wait_event(");
    expect(wait.children.map((c) => c.fn)).toEqual(["release_sock", "schedule_timeout", "lock_sock"]);
    child(child(child(child(wait, "schedule_timeout("), "schedule()"), "__schedule("), "context_switch(");
    expect(formatTrace(roots)).toContain("(net/core/sock.c:");
  });

  it("softirq-rx traces go from the IRQ to the woken reader", () => {
    for (const name of ["softirq-rx-tcp", "softirq-rx-tcp-low-latency", "softirq-rx-udp"]) {
      const all = walkTrace(runTrace(name).roots).map((x) => x.fn);
      for (const f of ["do_IRQ", "irq_exit", "__do_softirq", "net_rx_action", "ip_rcv", "try_to_wake_up", "context_switch"]) {
        expect(all, `${name}: ${f}`).toContain(f);
      }
    }
  });
});

describe("socket-tcp trace", () => {
  it("shows tcp_prot and sk_prot->init = tcp_v4_init_sock", () => {
    const { roots } = runTrace("socket-tcp");
    const text = formatTrace(roots);
    expect(text).toContain("answer_prot=tcp_prot");
    expect(text).toContain("|-sk->sk_prot->init(sk)");
    expect(text).toContain("|-tcp_v4_init_sock(sk)");
  });
});

describe("determinism", () => {
  /** A busy little machine: sockets, CPU hogs on 2 CPUs, wakeups. */
  function run(seed: number) {
    const k = new Kernel({ cpus: 2, seed, trace: true });
    for (let i = 0; i < 4; i++) {
      k.spawn(`t${i}`, function* (sys) {
        for (let j = 0; j < 5; j++) {
          const fd = yield* sys.socket(AF_INET, SOCK_STREAM, 0);
          yield* sys.compute(k.rng.int(1000, 3_000_000));
          yield* sys.close(fd);
        }
      });
    }
    k.runUntilIdle();
    return JSON.stringify({ trace: formatTrace(k.tr!.roots), cpu: k.cpuTime(), stats: k.stats, now: k.now,
      tasks: k.tasks.map((t) => [t.nvcsw, t.nivcsw, t.utime, t.stime]) });
  }

  it("the same seed gives byte-identical traces and statistics; another seed differs", () => {
    const a = run(7);
    expect(run(7)).toBe(a);
    expect(run(8)).not.toBe(a);
  });
});

describe("kernel-model CLI", () => {
  function cli(...args: string[]) {
    let out = "";
    const code = main(args, (s) => { out += s; });
    return { code, out };
  }

  it("trace socket-udp prints the tree; --json gives the same tree as JSON", () => {
    const t = cli("trace", "socket-udp");
    expect(t.code).toBe(0);
    expect(t.out).toContain("|-SYSC_socket(family = 2, type = 2, protocol = 0)");
    const j = cli("trace", "socket-udp", "--json");
    const tree = JSON.parse(j.out) as TraceNode[];
    expect(tree[0].children[0].fn).toBe("SYSC_socket");
  });

  it("trace's header line names the location convention; --break FN prints the gdb backtrace at FN and exits 0", () => {
    const t = cli("trace", "read-block-tcp");
    expect(t.out.split("\n")[1]).toMatch(/^# \(path:line\) in linux-4\.6\.2: the line executing when the trace reached it/);
    const b = cli("trace", "read-block-tcp", "--break", "sk_wait_data");
    expect(b.code).toBe(0);
    const lines = b.out.trimEnd().split("\n");
    expect(lines[0]).toBe("sk_wait_data(struct sock * sk, long * timeo, const struct sk_buff * skb) (linux-4.6.2/net/core/sock.c:2028)");
    expect(lines.at(-1)).toMatch(/^vfs_read\(/); // below the SYSC_read wrapper, as the seed's backtrace stops
    expect(lines).toContain("sock_recvmsg_nosec() (linux-4.6.2/net/socket.c:714)"); // an inline: no parameters, as gdb
    expect(cli("trace", "read-block-tcp", "--break", "schedule").out.split("\n").slice(0, 4)).toEqual([
      "schedule() (linux-4.6.2/kernel/sched/core.c:3247)",
      expect.stringMatching(/^schedule_timeout\(signed long timeout\) \(linux-4\.6\.2\/kernel\/time\/timer\.c:\d+\)$/),
      // the sk_wait_event macro is no frame: sk_wait_data is at the macro's use
      "sk_wait_data(struct sock * sk, long * timeo, const struct sk_buff * skb) (linux-4.6.2/net/core/sock.c:2030)",
      "tcp_recvmsg(struct sock * sk, struct msghdr * msg, size_t len, int nonblock, int flags, int * addr_len) (linux-4.6.2/net/ipv4/tcp.c:1758)",
    ]);
    expect(cli("trace", "socket-udp", "--break", "no_such_fn").code).toBe(2);
    expect(cli("trace", "--help").out).toContain("--break <fn>");
  });

  it("unknown names and flags exit 2", () => {
    expect(cli("trace", "no-such-trace").code).toBe(2);
    expect(cli("trace", "socket-udp", "--bogus").code).toBe(2);
    expect(cli("frobnicate").code).toBe(2);
    expect(cli("--help").code).toBe(0);
  });
});
