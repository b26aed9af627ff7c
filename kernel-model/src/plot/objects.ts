// objects.ts: diagrams of live kernel objects (the book's Figures 3.1-3.x, drawn from the model).
// No Linux file. Book: Fig 3.1 (socket objects), §3.3 wait queue, §3.4 eventpoll.
//
// Interface:
// * objectGraphDot(k, task, fds?) -> Graphviz DOT: fd table -> struct file -> struct socket ->
//   struct sock, with the ops tables (sock->ops, sk->sk_prot), the shared wait queue and its
//   entries (each entry's func), read from the model's objects at the moment of the call.
// * renderDot(dot) -> Promise<string>: the SVG (Graphviz compiled to WebAssembly, offline).
// * Extra nodes (eventpoll, ...) are contributed by registerObjectDrawer (eventpoll.ts uses it).
//
// Model vs kernel: a diagram, not a dump: only the fields the chapter talks about.

import type { Kernel } from "../kernel/kernel";
import type { TaskStruct } from "../kernel/sched";
import type { File } from "../kernel/fs";
import type { Socket } from "../kernel/socket";
import type { Sock } from "../kernel/sock";
import type { WaitQueueHead } from "../kernel/wait";

/** The diagrams' font. Graphviz (viz.js) has exact metrics only for its built-in PostScript
 *  fonts; Courier is 0.6 em per character, as wide as the monospace fonts browsers draw with
 *  (DejaVu Sans Mono, Menlo, Courier New), so a label measured by Graphviz fits its box in the
 *  browser. renderDot swaps the SVG's font-family for that list (BROWSER_MONO). */
export const DOT_FONT = "Courier";
const BROWSER_MONO = '"DejaVu Sans Mono", Menlo, Consolas, "Liberation Mono", "Courier New", monospace';

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

/** A Graphviz HTML-like table: a title row and one row per field (port = field name). */
export function dotTable(id: string, title: string, rows: [field: string, value: string][], color = "#f4f6fb"): string {
  const body = rows
    .map(([f, v]) => `<tr><td align="left" port="${esc(f.replace(/\W/g, "_"))}">${esc(f)}</td><td align="left">${esc(v)}</td></tr>`)
    .join("");
  return `  ${id} [shape=plain label=<<table border="0" cellborder="1" cellspacing="0" cellpadding="3" bgcolor="${color}"><tr><td colspan="2" bgcolor="#dde3f0"><b>${esc(title)}</b></td></tr>${body}</table>>];`;
}

const fname = (f: unknown): string => (typeof f === "function" && f.name ? f.name : f == null ? "NULL" : String(f));

/** Something that draws extra objects reachable from a file (eventpoll registers one). */
export type ObjectDrawer = (k: Kernel, file: File, id: string, out: string[]) => boolean;
const drawers: ObjectDrawer[] = [];
export function registerObjectDrawer(d: ObjectDrawer): void {
  drawers.push(d);
}

/** Nodes and edges for one wait queue head and its entries, in list order. */
export function waitQueueDot(q: WaitQueueHead, id: string, out: string[]): void {
  const rows: [string, string][] = q.task_list.map((w, i) => {
    const who = w.private && typeof w.private === "object" && "comm" in (w.private as object)
      ? `task ${(w.private as TaskStruct).comm}` : w.private ? "NULL (eppoll_entry by container_of)" : "NULL";
    return [`entry ${i}`, `func=${fname(w.func)} private=${who}${w.flags & 1 ? " EXCLUSIVE" : ""}`];
  });
  if (rows.length === 0) rows.push(["task_list", "(empty)"]);
  out.push(dotTable(id, `wait_queue_head_t ${q.name}`, rows, "#fff8e6"));
}

function sockDot(k: Kernel, sk: Sock, id: string, out: string[]): void {
  out.push(dotTable(id, `struct sock (${sk.sk_prot.name.toLowerCase()}_sock)`, [
    ["sk_state", String(sk.sk_state)],
    ["sk_prot", `&${sk.sk_prot.name.toLowerCase()}_prot`],
    ["sk_wq", sk.sk_wq ? "-> socket_wq" : "NULL"],
    ["sk_receive_queue", `${sk.sk_receive_queue.length} skb`],
    ["sk_backlog", `${sk.sk_backlog.queue.length} skb`],
    ["sk_rmem_alloc / sk_rcvbuf", `${sk.sk_backlog.rmem_alloc} / ${sk.sk_rcvbuf}`],
    ["sk_data_ready", fname(sk.sk_data_ready)],
    ["sk_state_change", fname(sk.sk_state_change)],
    ["sk_backlog_rcv", fname(sk.sk_backlog_rcv)],
  ], "#eef7ee"));
  const p = sk.sk_prot;
  const protRows: [string, string][] = (["init", "recvmsg", "backlog_rcv", "close"] as const).map((f) => [f, fname(p[f])]);
  out.push(dotTable(`${id}_prot`, `struct proto ${p.name.toLowerCase()}_prot`, protRows, "#f7f7f7"));
  out.push(`  ${id}:sk_prot -> ${id}_prot;`);
  void k;
}

function socketDot(k: Kernel, sock: Socket, id: string, out: string[]): void {
  out.push(dotTable(id, "struct socket", [
    ["state", ["SS_FREE", "SS_UNCONNECTED", "SS_CONNECTING", "SS_CONNECTED", "SS_DISCONNECTING"][sock.state] ?? String(sock.state)],
    ["type", String(sock.type)],
    ["ops", sock.ops ? `&${sock.ops.name}` : "NULL"],
    ["wq", "-> socket_wq"],
    ["sk", sock.sk ? "-> struct sock" : "NULL"],
    ["file", sock.file ? "-> struct file" : "NULL"],
  ], "#eef3fb"));
  if (sock.ops) {
    const rows: [string, string][] = (["release", "poll", "recvmsg"] as const).map((f) => [f, fname(sock.ops![f])]);
    out.push(dotTable(`${id}_ops`, `struct proto_ops ${sock.ops.name}`, rows, "#f7f7f7"));
    out.push(`  ${id}:ops -> ${id}_ops;`);
  }
  waitQueueDot(sock.wq.wait, `${id}_wq`, out);
  out.push(`  ${id}:wq -> ${id}_wq [label="wq->wait"];`);
  if (sock.sk) {
    sockDot(k, sock.sk, `${id}_sk`, out);
    out.push(`  ${id}:sk -> ${id}_sk;`);
    if (sock.sk.sk_wq === sock.wq) out.push(`  ${id}_sk:sk_wq -> ${id}_wq [style=dashed label="same socket_wq"];`);
  }
}

/** DOT for the objects behind a task's fds (all open fds when fds is omitted). */
export function objectGraphDot(k: Kernel, task: TaskStruct, fds?: number[]): string {
  const out: string[] = [
    "digraph kernel_objects {",
    `  graph [rankdir=LR fontname="${DOT_FONT}" fontsize=10 nodesep=0.3 ranksep=0.5];`,
    `  node [fontname="${DOT_FONT}" fontsize=10]; edge [fontname="${DOT_FONT}" fontsize=9];`,
  ];
  const list = fds ?? task.files.fd.map((f, i) => (f ? i : -1)).filter((i) => i >= 0);
  out.push(dotTable("fdt", `files_struct of ${task.comm}[${task.pid}]`, list.map((fd) => [`fd ${fd}`, task.files.fd[fd] ? "-> struct file" : "(closed)"]), "#ffffff"));
  const seen = new Set<File>();
  for (const fd of list) {
    const file = task.files.fd[fd];
    if (!file) continue;
    const fid = `file${file.id}`;
    out.push(`  fdt:fd_${fd} -> ${fid};`);
    if (seen.has(file)) continue;
    seen.add(file);
    out.push(dotTable(fid, "struct file", [
      ["f_op", `&${file.f_op.name}`],
      ["private_data", file.f_op.name === "socket_file_ops" ? "-> struct socket" : "->"],
      ["f_count", String(file.f_count)],
      ["f_flags", `0x${file.f_flags.toString(16)}`],
    ]));
    if (file.f_op.name === "socket_file_ops") {
      const sid = `sock${file.id}`;
      socketDot(k, file.private_data as Socket, sid, out);
      out.push(`  ${fid}:private_data -> ${sid};`);
      out.push(`  ${sid}:file -> ${fid} [style=dotted arrowhead=empty];`);
    } else {
      for (const d of drawers) if (d(k, file, fid, out)) break;
    }
  }
  out.push("}");
  return out.join("\n");
}

let vizPromise: Promise<{ renderString(dot: string, o: { format: string }): string }> | null = null;

let figures = 0;

/** Render DOT to an SVG string with Graphviz (WebAssembly, no network).
 *  The SVG's ids get a prefix unique in this process (dot1-, dot2-, ...), so two diagrams on
 *  one page do not share ids; text is drawn with the browser's monospace fonts (DOT_FONT). */
export async function renderDot(dot: string): Promise<string> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  vizPromise ??= (require("@viz-js/viz") as { instance(): Promise<{ renderString(dot: string, o: { format: string }): string }> }).instance();
  const viz = await vizPromise;
  const svg = viz.renderString(dot, { format: "svg" });
  const p = `dot${++figures}-`;
  return svg
    .slice(svg.indexOf("<svg")) // drop the XML prolog: the SVG goes inline into HTML
    .replace(/ id="([^"]+)"/g, ` id="${p}$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${p}$1)`)
    .replace(/ href="#([^"]+)"/g, ` href="#${p}$1"`)
    .replace(/font-family="Courier,monospace"/g, `font-family='${BROWSER_MONO}'`);
}
