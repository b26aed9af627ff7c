// trace-defects.test.ts: the paths issue #10 found wrong stay as Linux 4.6.2 runs them.
import { describe, expect, it } from "vitest";
import { runTrace, walkTrace, type TraceNode } from "kernel-model";

const all = (name: string) => walkTrace(runTrace(name).roots);
const find = (nodes: TraceNode[], fn: string) => nodes.filter((n) => n.fn === fn);
/** The parent of every node (walkTrace order). */
function parents(roots: TraceNode[]): Map<TraceNode, TraceNode> {
  const m = new Map<TraceNode, TraceNode>();
  const go = (n: TraceNode) => n.children.forEach((c) => (m.set(c, n), go(c)));
  roots.forEach(go);
  return m;
}
const SOFTIRQ = ["softirq-rx-tcp", "softirq-rx-tcp-low-latency", "softirq-rx-udp", "epoll-data-ready"];

describe("issue #10: every trace as 4.6.2 runs it", () => {
  it("1. __netif_receive_skb_core calls the only match directly, pt_prev->func (dev.c:4160), not deliver_skb", () => {
    for (const name of SOFTIRQ) {
      const nodes = all(name);
      expect(nodes.some((n) => n.text.includes("deliver_skb")), name).toBe(false);
      const call = nodes.find((n) => n.text.startsWith("ret = pt_prev->func(skb, skb->dev, pt_prev, orig_dev)"))!;
      expect(call.children.map((c) => c.fn), name).toEqual(["ip_rcv"]);
    }
  });

  it("2. the first segment of a connection takes step5 (sk_forward_alloc = 0), the next one the fast path", () => {
    const roots = runTrace("softirq-rx-tcp-low-latency").roots;
    const est = find(walkTrace(roots), "tcp_rcv_established");
    expect(est).toHaveLength(2);
    expect(est[0].children.map((c) => c.fn)).toEqual(["", "tcp_ack", "tcp_data_queue"]);
    expect(est[0].children[0].text).toBe("if ((int)skb->truesize > sk->sk_forward_alloc) goto step5;");
    expect(find(est[0].children[2].children, "tcp_queue_rcv")[0].text).toBe("tcp_queue_rcv(sk, skb, 0, &fragstolen)");
    expect(est[1].children.map((c) => c.fn)).toEqual(["tcp_queue_rcv", "sock_def_readable"]);
  });

  it("3. tcp_v4_rcv always calls tcp_prequeue; without a reader in tcp_recvmsg it returns false", () => {
    for (const name of ["softirq-rx-tcp-low-latency", "epoll-data-ready"]) {
      const pq = find(all(name), "tcp_prequeue");
      expect(pq.length, name).toBeGreaterThan(0);
      for (const n of pq) expect(n.text).toBe("tcp_prequeue(sk, skb) = false");
    }
  });

  it("4. a UDP wakeup goes through receiver_wake_function, which calls autoremove_wake_function", () => {
    const nodes = all("softirq-rx-udp");
    const common = find(nodes, "__wake_up_common")[0];
    expect(common.children.map((c) => c.fn)).toEqual(["receiver_wake_function"]);
    expect(common.children[0].children.map((c) => c.fn)).toEqual(["autoremove_wake_function"]);
  });

  it("5. schedule_timeout under sk_wait_event and __skb_wait_for_more_packets; schedule_hrtimeout_range_clock in ep_poll", () => {
    const wait = find(all("read-block-tcp"), "sk_wait_event")[0];
    expect(wait.children.map((c) => c.fn)).toEqual(["release_sock", "schedule_timeout", "lock_sock"]);
    const udp = find(all("recv-block-udp"), "__skb_wait_for_more_packets")[0];
    expect(udp.children.map((c) => c.fn)).toEqual(["prepare_to_wait_exclusive", "schedule_timeout", "finish_wait"]);
    const hr = find(all("epoll-wait"), "schedule_hrtimeout_range")[0];
    expect(hr.children.map((c) => c.fn)).toEqual(["schedule_hrtimeout_range_clock"]);
  });

  it("6. recv() enters SYSC_recvfrom (x86-64 has no recv syscall): import_single_range, sockfd_lookup_light, sock_recvmsg", () => {
    const sysc = runTrace("recv-block-udp").roots[0].children[0];
    expect(sysc.text).toBe("SYSC_recvfrom(fd = 3, ubuf, size = 1024, flags = 0x0, addr = NULL, addr_len = NULL)");
    expect(sysc.children.map((c) => c.fn)).toEqual(["import_single_range", "sockfd_lookup_light", "sock_recvmsg"]);
    expect(sysc.children[2].text).toBe("sock_recvmsg(sock, &msg, iov_iter_count(&msg.msg_iter), flags)");
  });

  it("7. __skb_try_recv_datagram dequeues; skb_copy_datagram_msg (the skbuff.h inline) copies after the UDP header", () => {
    const blocked = find(all("recv-block-udp"), "__skb_recv_datagram")[0];
    expect(blocked.children.map((c) => c.fn)).toEqual(["__skb_try_recv_datagram", "__skb_wait_for_more_packets", "__skb_try_recv_datagram"]);
    expect(blocked.children[0].children).toEqual([]); // empty queue: -EAGAIN, nothing unlinked
    const nodes = all("softirq-rx-udp"); // the resumed call: the wait returns, the second try dequeues
    const recv = find(nodes, "__skb_recv_datagram")[0];
    expect(recv.children.map((c) => c.fn)).toEqual(["__skb_wait_for_more_packets", "__skb_try_recv_datagram"]);
    expect(recv.children[1].children.map((c) => c.text)).toEqual(["__skb_unlink(skb, queue)"]);
    const copy = find(nodes, "skb_copy_datagram_msg")[0];
    expect(copy.text).toMatch(/^skb_copy_datagram_msg\(skb, sizeof\(struct udphdr\), msg, /);
    expect(copy.loc).toMatch(/^include\/linux\/skbuff\.h:/);
    expect(copy.children.map((c) => c.fn)).toEqual(["skb_copy_datagram_iter"]);
  });

  it("8. __raise_softirq_irqoff runs inside ____napi_schedule (dev.c:3419)", () => {
    for (const name of SOFTIRQ) {
      const roots = runTrace(name).roots;
      const p = parents(roots);
      for (const n of find(walkTrace(roots), "__raise_softirq_irqoff")) expect(p.get(n)!.fn, name).toBe("____napi_schedule");
    }
  });

  it("9. softirq traces: no teardown (__fput, sock_close, pause), roots in time order", () => {
    for (const name of SOFTIRQ) {
      const roots = runTrace(name).roots;
      const fns = walkTrace(roots).map((n) => n.fn);
      for (const f of ["__fput", "sock_close", "inet_release"]) expect(fns, `${name}: ${f}`).not.toContain(f);
      expect(roots.some((r) => r.text.startsWith("pause("))).toBe(false);
      for (let i = 1; i < roots.length; i++) expect(roots[i].t, name).toBeGreaterThanOrEqual(roots[i - 1].t);
    }
  });

  it("elided frames are back: __schedule, ttwu_queue, new_inode_pseudo, tcp_cleanup_rbuf", () => {
    const rx = all("softirq-rx-tcp-low-latency").map((n) => n.fn);
    for (const f of ["__schedule", "ttwu_queue", "ttwu_do_activate", "tcp_cleanup_rbuf"]) expect(rx, f).toContain(f);
    const sock = all("socket-udp").map((n) => n.fn);
    expect(sock).toContain("new_inode_pseudo");
    expect(sock).toContain("alloc_inode");
  });
});
