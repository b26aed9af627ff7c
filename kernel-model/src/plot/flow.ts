// flow.ts: a call trace drawn as a flow chart: one lane per execution context (the process,
// the hard IRQ and softirq), the chosen kernel functions in the order they ran, with the
// simulated time each one started, and the links between lanes (the wait-queue entry the
// softirq finds, the wakeup). The book's summary figures (图3.12 同步阻塞流程汇总, 图3.26 epoll原理汇总)
// drawn from a run of the model.
// No Linux file. Book: §3.3.3, §3.4.5.
//
// Interface:
// * traceFlowDot(roots, {lanes, links, notes, title}) -> Graphviz DOT. Each lane picks the
//   trace roots it reads (`root`) and lists the functions to show (`steps`), in call order;
//   a step matches the next node of that lane whose fn is that name (or, for a statement
//   line, whose text starts with `name(`). A step that the trace
//   does not contain throws (the figure cannot silently drop a function the model stopped
//   calling). links: [{from, to, label}] between step ids (id defaults to the fn name).
//   notes: lines printed in a box under the lanes (the measured costs). A step's `besides`
//   puts it on the row of a step of another lane (the wakeup beside the switch it causes).
// * The DOT goes through renderDot (objects.ts) like every other diagram.
//
// Model vs kernel: the times are the model's simulated clock (ns), shown in µs.

import type { TraceNode } from "../sim/trace";
import { walkTrace } from "../sim/trace";
import { DOT_FONT } from "./objects";

export interface FlowStep {
  fn: string;
  /** A second line under the name (what the step does, the pointer it goes through). */
  note?: string;
  /** For links; defaults to fn. */
  id?: string;
  /** Draw this step highlighted (the callbacks of §3.4.5). */
  mark?: boolean;
  /** Put this step on the same row as the step with this id (in another lane). */
  besides?: string;
}

export interface FlowLane {
  title: string;
  /** Which roots of the trace belong to this lane. */
  root: (r: TraceNode) => boolean;
  steps: (string | FlowStep)[];
  color?: string;
}

export interface FlowOptions {
  lanes: FlowLane[];
  links?: { from: string; to: string; label: string; color?: string }[];
  notes?: string[];
  title?: string;
}

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const us = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

/** The flow chart of a trace (see the file header). */
export function traceFlowDot(roots: readonly TraceNode[], o: FlowOptions): string {
  const out = [
    "digraph flow {",
    `  graph [rankdir=TB fontname="${DOT_FONT}" fontsize=11 nodesep=0.35 ranksep=0.22 newrank=true${o.title ? ` label="${esc(o.title)}" labelloc=t` : ""}];`,
    `  node [shape=box style="rounded,filled" fillcolor="#ffffff" fontname="${DOT_FONT}" fontsize=10 margin="0.12,0.05"];`,
    `  edge [fontname="${DOT_FONT}" fontsize=9];`,
  ];
  const ids = new Map<string, string>();
  const rows: [string, string][] = [];
  o.lanes.forEach((lane, li) => {
    const nodes = walkTrace(roots.filter(lane.root));
    let at = 0;
    out.push(`  subgraph cluster_lane${li} {`, `    label="${esc(lane.title)}"; style="rounded,filled"; fillcolor="${lane.color ?? "#f6f8fa"}"; color="#b8c0cc";`);
    let prev = "";
    lane.steps.forEach((s, si) => {
      const step: FlowStep = typeof s === "string" ? { fn: s } : s;
      let i = at;
      // a call node names its function; a statement line (a leaf) starts with it
      while (i < nodes.length && nodes[i].fn !== step.fn && !nodes[i].text.startsWith(`${step.fn}(`)) i++;
      if (i >= nodes.length) throw new Error(`traceFlowDot: lane "${lane.title}": ${step.fn} is not in the trace (after step ${si})`);
      const n = nodes[i];
      at = i + 1;
      const nid = `l${li}s${si}`;
      const key = step.id ?? step.fn;
      if (!ids.has(key)) ids.set(key, nid);
      const lines = [`<b>${esc(step.fn)}</b>`];
      if (step.note) lines.push(`<font point-size="9">${esc(step.note)}</font>`);
      lines.push(`<font point-size="9" color="#4a5563">t = ${us(n.t)}${n.loc ? `  ${esc(n.loc)}` : ""}</font>`);
      out.push(`    ${nid} [label=<${lines.join("<br/>")}>${step.mark ? ' fillcolor="#fde8c8" color="#c26a00" penwidth=1.6' : ""}];`);
      if (prev) out.push(`    ${prev} -> ${nid};`);
      if (step.besides) rows.push([nid, step.besides]);
      prev = nid;
    });
    out.push("  }");
  });
  for (const l of o.links ?? []) {
    const a = ids.get(l.from);
    const b = ids.get(l.to);
    if (!a || !b) throw new Error(`traceFlowDot: link ${l.from} -> ${l.to}: no such step`);
    out.push(`  ${a} -> ${b} [style=dashed constraint=false color="${l.color ?? "#c0392b"}" fontcolor="${l.color ?? "#c0392b"}" label="${esc(l.label)}"];`);
  }
  for (const [a, id] of rows) {
    const b = ids.get(id);
    if (!b) throw new Error(`traceFlowDot: besides ${id}: no such step`);
    out.push(`  { rank=same; ${a}; ${b}; }`);
  }
  if (o.notes?.length) {
    const rows = o.notes.map((t) => `<tr><td align="left">${esc(t)}</td></tr>`).join("");
    out.push(`  notes [shape=plain label=<<table border="1" cellborder="0" cellspacing="0" cellpadding="4" bgcolor="#fffbe6">${rows}</table>>];`);
    // under the longest lane
    const longest = o.lanes.reduce((m, l, i) => (l.steps.length > o.lanes[m].steps.length ? i : m), 0);
    out.push(`  l${longest}s${o.lanes[longest].steps.length - 1} -> notes [style=invis];`);
  }
  out.push("}");
  return out.join("\n");
}

/** 图3.12 同步阻塞流程汇总, from a trace of a reader blocked in read() on TCP and one segment
 *  (runTrace("softirq-rx-tcp-low-latency"): the book's tcp_queue_rcv path). */
export function blockingFlowDot(roots: readonly TraceNode[], notes: string[] = []): string {
  return traceFlowDot(roots, {
    lanes: [
      {
        title: "process context: the reader's read()",
        root: (r) => r.ctx.startsWith("task ") && r.text.startsWith("read("),
        steps: [
          { fn: "SYSC_read", note: "read(fd, buf, 1024)" },
          { fn: "sock_read_iter", note: "file->f_op->read_iter" },
          { fn: "inet_recvmsg", note: "sock->ops->recvmsg" },
          { fn: "tcp_recvmsg", note: "sk->sk_prot->recvmsg" },
          { fn: "sk_wait_data", note: "prepare_to_wait: entry on sk_sleep(sk)" },
          { fn: "schedule", note: "TASK_INTERRUPTIBLE: the reader leaves the CPU" },
          { fn: "finish_wait", note: "woken: its entry leaves the queue" },
          { fn: "skb_copy_datagram_iter", note: "copy to the user's buffer" },
        ],
      },
      {
        title: "hard IRQ, then the NET_RX softirq",
        root: (r) => / irq$/.test(r.ctx),
        color: "#fdf3f0",
        steps: [
          { fn: "do_IRQ", note: "the NIC interrupts" },
          { fn: "napi_schedule", note: "raise NET_RX_SOFTIRQ" },
          { fn: "net_rx_action", note: "irq_exit -> __do_softirq" },
          { fn: "ip_rcv" },
          { fn: "tcp_v4_rcv" },
          { fn: "tcp_queue_rcv", note: "skb onto sk_receive_queue" },
          { fn: "sock_def_readable", note: "sk->sk_data_ready" },
          { fn: "autoremove_wake_function", note: "the entry's func" },
          { fn: "try_to_wake_up", note: "reader -> TASK_RUNNING" },
        ],
      },
      {
        title: "scheduler",
        root: (r) => / idle$/.test(r.ctx),
        color: "#eef7ee",
        steps: [{ fn: "context_switch", id: "switch-in", note: "idle -> reader", besides: "try_to_wake_up" }],
      },
    ],
    links: [
      { from: "sk_wait_data", to: "autoremove_wake_function", label: "the wait entry" },
      { from: "try_to_wake_up", to: "switch-in", label: "run queue" },
      { from: "switch-in", to: "finish_wait", label: "the reader runs" },
    ],
    notes,
  });
}

/** 图3.26 epoll原理汇总, from runTrace("epoll-data-ready"): the three callbacks in the softirq
 *  (sock_def_readable, ep_poll_callback, default_wake_function) and epoll_wait's return. */
export function epollFlowDot(roots: readonly TraceNode[], notes: string[] = []): string {
  return traceFlowDot(roots, {
    lanes: [
      {
        title: "process context: the server's epoll_wait(), then read()",
        root: (r) => r.ctx.startsWith("task "),
        steps: [
          { fn: "SYSC_epoll_wait", note: "epoll_wait(epfd, events, 64, -1)" },
          { fn: "ep_poll", note: "rdllist empty: entry on ep->wq" },
          { fn: "schedule", note: "the server leaves the CPU" },
          { fn: "ep_send_events", note: "woken: copy the ready events" },
          { fn: "tcp_poll", note: "ep_item_poll: still readable?" },
          { fn: "tcp_recvmsg", note: "read(): data is already queued" },
          { fn: "skb_copy_datagram_iter", note: "copy to the user's buffer" },
        ],
      },
      {
        title: "hard IRQ, then the NET_RX softirq",
        root: (r) => / irq$/.test(r.ctx),
        color: "#fdf3f0",
        steps: [
          { fn: "do_IRQ", note: "the NIC interrupts" },
          { fn: "net_rx_action", note: "irq_exit -> __do_softirq" },
          { fn: "tcp_v4_rcv" },
          { fn: "tcp_queue_rcv", note: "skb onto sk_receive_queue" },
          { fn: "sock_def_readable", note: "1: sk->sk_data_ready, set by socket()", mark: true },
          { fn: "ep_poll_callback", note: "2: the socket's entry, set by epoll_ctl", mark: true },
          { fn: "default_wake_function", note: "3: ep->wq's entry, set by epoll_wait", mark: true },
          { fn: "try_to_wake_up", note: "server -> TASK_RUNNING" },
        ],
      },
    ],
    links: [
      { from: "ep_poll", to: "default_wake_function", label: "ep->wq entry" },
      { from: "ep_poll_callback", to: "ep_send_events", label: "epitem on rdllist", color: "#6a4fb3" },
      { from: "try_to_wake_up", to: "ep_send_events", label: "the server runs" },
    ],
    notes,
  });
}
