// trace.ts: the call-tree recorder and its seed-style formatter.
// No Linux file. Book: every trace of ch.3 (the seed prints them as `|-` trees).
//
// Interface:
// * new Tracer(lines) is installed as k.tr; kernel code calls k.tr?.enter(fn, text, comment)
//   on entry and k.tr?.exit() on return, k.tr?.leaf(text, comment) for a statement line.
//   With tracing off k.tr is null and `k.tr?.enter(...)` does not even build its arguments.
// * Each execution context (a task, a CPU's hard IRQ, its softirq) has its own call stack, so
//   a task that sleeps inside tcp_recvmsg resumes its own tree when it runs again.
// * formatTrace(roots) prints the seed's layout; toJSON gives the same tree as data.
//
// Model vs kernel: a trace is what ftrace's function_graph would show, restricted to the
// functions the model implements, plus the statement lines the book prints (`sock->ops = ...`).

/** One line of a call tree: a kernel function call or a statement inside one. */
export interface TraceNode {
  /** Kernel function name when the line is a call (used for file:line), else "". */
  fn: string;
  /** The line as printed: `sock_create(family, type, protocol, &sock)`. */
  text: string;
  comment?: string;
  /** `net/socket.c:1093`: where fn is defined in Linux 4.6.2. */
  loc?: string;
  /** Simulated time (ns) when the line was entered. */
  t: number;
  /** Execution context: "task reader[2]", "cpu0 hardirq", "cpu0 softirq", ... */
  ctx: string;
  children: TraceNode[];
}

export class Tracer {
  readonly roots: TraceNode[] = [];
  private stacks = new Map<string, TraceNode[]>();
  private stack: TraceNode[] = [];
  private ctx = "";
  /** Clock of the engine, read when a line is entered. */
  constructor(
    private readonly lines: Readonly<Record<string, string>>,
    private readonly clock: () => number,
  ) {}

  /** Switch the recorder to another execution context (each keeps its own stack). */
  setContext(ctx: string): void {
    if (ctx === this.ctx) return;
    let s = this.stacks.get(ctx);
    if (!s) this.stacks.set(ctx, (s = []));
    this.stack = s;
    this.ctx = ctx;
  }

  get context(): string {
    return this.ctx;
  }

  private add(fn: string, text: string, comment?: string): TraceNode {
    const node: TraceNode = { fn, text, t: this.clock(), ctx: this.ctx, children: [] };
    if (comment) node.comment = comment;
    const loc = fn ? this.lines[fn] : undefined;
    if (loc) node.loc = loc;
    const top = this.stack[this.stack.length - 1];
    (top ? top.children : this.roots).push(node);
    return node;
  }

  /** Enter a call: the line `text`, below which the callee's lines nest until exit(). */
  enter(fn: string, text: string, comment?: string): TraceNode {
    const node = this.add(fn, text, comment);
    this.stack.push(node);
    return node;
  }

  exit(): void {
    this.stack.pop();
  }

  /** A statement line (an assignment, a branch taken) that has no children. */
  leaf(text: string, comment?: string, fn = ""): TraceNode {
    return this.add(fn, text, comment);
  }

  /** Call stacks that reached a function (try_to_wake_up records the waker chain), counted. */
  readonly wakeStacks = new Map<string, number>();

  /** Count the current call stack (kernel function names, outermost first) ending in `fn`. */
  recordStack(fn: string): void {
    const names = this.stack.map((n) => n.fn || n.text.replace(/\(.*$/, "").replace(/^.*= /, "").trim()).filter(Boolean);
    const key = [...names, fn].join(";");
    this.wakeStacks.set(key, (this.wakeStacks.get(key) ?? 0) + 1);
  }
}

export interface FormatOptions {
  /** Print `(file:line)` after each kernel call. Default true. */
  loc?: boolean;
  /** Print `// comment`. Default true. */
  comments?: boolean;
  /** Column where comments start. Default 52 (the seed's). */
  commentCol?: number;
  /** Print a `[t=12.345us ctx]` header above each root. Default: when roots differ in ctx. */
  headers?: boolean;
}

/** Display width: CJK characters take two columns, as in a terminal. */
function width(s: string): number {
  let w = 0;
  for (const ch of s) w += /[\u1100-\u115f\u2e80-\ua4cf\uac00-\ud7a3\uf900-\ufaff\uff00-\uff60\uffe0-\uffe6]/.test(ch) ? 2 : 1;
  return w;
}

/** Time in µs with ns precision, trailing zeros trimmed: 12500 -> "12.5us". */
export function fmtUs(ns: number): string {
  return `${(ns / 1000).toFixed(3).replace(/\.?0+$/, "")}us`;
}

/** The seed's layout: root at column 0, each level two spaces deeper, prefixed `|-`. */
export function formatTrace(roots: readonly TraceNode[], opts: FormatOptions = {}): string {
  const showLoc = opts.loc ?? true;
  const showComments = opts.comments ?? true;
  const col = opts.commentCol ?? 52;
  const headers = opts.headers ?? new Set(roots.map((r) => r.ctx)).size > 1;
  const out: string[] = [];
  const line = (n: TraceNode, depth: number) => {
    let s = depth === 0 ? n.text : `${"  ".repeat(depth - 1)}|-${n.text}`;
    const tail: string[] = [];
    if (showComments && n.comment) tail.push(`// ${n.comment}`);
    if (showLoc && n.loc) tail.push(`(${n.loc})`);
    if (tail.length) s += " ".repeat(Math.max(1, col - width(s))) + tail.join("  ");
    out.push(s);
    for (const c of n.children) line(c, depth + 1);
  };
  for (const r of roots) {
    if (headers) out.push(`[${fmtUs(r.t)} ${r.ctx}]`);
    line(r, 0);
  }
  return out.join("\n");
}

/** Depth-first list of every node (for tests and searches). */
export function walkTrace(roots: readonly TraceNode[]): TraceNode[] {
  const all: TraceNode[] = [];
  const go = (n: TraceNode) => {
    all.push(n);
    n.children.forEach(go);
  };
  roots.forEach(go);
  return all;
}
