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
// * backtrace(roots, fn) is the stack when `fn` was first entered, innermost first, in the
//   seed's gdb format (`fn(typed params) (linux-4.6.2/path:line)`): `trace NAME --break FN`.
//
// Locations (one convention, printed in the CLI's header line): every line shows the 4.6.2
// source line being executed at the moment the trace reached it. A call line (fn set) shows the
// callee's first statement (where gdb's `break fn` stops); a statement line shows itself, inside
// the function of the call above it. Each line also keeps `site`, the line of its enclosing
// function that made the call: the caller frames of a backtrace print those.
// Both come from lines.generated.ts, which scripts/gen-lines.mjs derives from the source.
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
  /** `net/socket.c:1160`: the line executing when this line was reached (see the header). */
  loc?: string;
  /** The call site: where the enclosing function makes this call (or this statement) in 4.6.2. */
  site?: string;
  /** Simulated time (ns) when the line was entered. */
  t: number;
  /** Execution context: "task reader[2]", "cpu0 hardirq", "cpu0 softirq", ... */
  ctx: string;
  children: TraceNode[];
}

/** The source table a Tracer locates lines with (lines.generated.ts). */
export interface SourceTable {
  /** name -> [file, definition line, body open, body close, first statement, gdb params,
   *  kind: 0 function, 1 inline function, 2 function-like macro]. */
  funcs: Readonly<Record<string, readonly [string, number, number, number, number, string, number]>>;
  /** caller -> call needle -> the lines of caller's body (in its file) where the needle stands. */
  calls: Readonly<Record<string, Readonly<Record<string, readonly number[]>>>>;
}

/** What a line calls, as searched for in its caller: `sock = sock_alloc()` -> `sock_alloc(`,
 *  `sk->sk_data_ready(sk) = sock_def_readable(sk)` -> `sk->sk_data_ready(`, a statement without
 *  a call -> its text up to `;`. Whitespace removed (the source is compared the same way). */
export function siteNeedle(text: string): string {
  let s = text;
  const call = /^[\w>.\-[\]*]+\s*=\s*(?=[\w>.\-&]+\()/.exec(s);
  if (call) s = s.slice(call[0].length);
  const paren = s.indexOf("(");
  const semi = s.search(/;|: /);
  if (paren >= 0 && (semi < 0 || paren < semi)) s = s.slice(0, paren + 1);
  else if (semi >= 0) s = s.slice(0, semi);
  return s.replace(/\s+/g, "");
}

export class Tracer {
  /** scripts/gen-lines.mjs: called with (enclosing function, needle) for every line placed. */
  static collect: ((frame: string, needle: string) => void) | null = null;
  readonly roots: TraceNode[] = [];
  private stacks = new Map<string, TraceNode[]>();
  private stack: TraceNode[] = [];
  private ctx = "";
  /** Clock of the engine, read when a line is entered. */
  constructor(
    private readonly src: SourceTable,
    private readonly clock: () => number,
  ) {}

  /** `file:line` of fn's first statement, or undefined when fn is not in the table. */
  entryLoc(fn: string): string | undefined {
    const f = this.src.funcs[fn];
    return f ? `${f[0]}:${f[4]}` : undefined;
  }

  /** The call site of a new line: in the nearest enclosing call's function, the first line of
   *  `needle` at or after the previous sibling's site (source order), else the first one.
   *  A call directly under a statement line (`pf->create(...)` -> `inet_create`) is that
   *  statement's indirect target: its site is the statement's. */
  private locate(node: TraceNode, needle: string): void {
    const top = this.stack[this.stack.length - 1];
    if (!top) return;
    if (!top.fn && node.fn) {
      if (top.site) node.site = top.site;
      return;
    }
    let frame = "";
    for (let i = this.stack.length - 1; i >= 0 && !frame; i--) frame = this.stack[i].fn;
    const f = this.src.funcs[frame];
    let lines: readonly number[] | undefined;
    Tracer.collect?.(frame, needle);
    for (const n of needle.split("|")) lines ??= f && this.src.calls[frame]?.[n];
    if (!lines) return;
    const prev = top.children.length ? top.children[top.children.length - 1].site : undefined;
    const after = prev ? Number(prev.slice(prev.lastIndexOf(":") + 1)) : 0;
    const line = lines.find((l) => l >= after) ?? lines[0];
    node.site = `${f[0]}:${line}`;
  }

  private add(fn: string, text: string, comment?: string, via?: string): TraceNode {
    const needle = via ? via.replace(/\s+/g, "") : siteNeedle(text);
    // a statement that calls a 4.6.2 function or macro by name (`init_waitqueue_head(&ep->wq)`)
    // is that function's frame
    if (!fn && needle.endsWith("(") && /^[A-Za-z_]\w*\($/.test(needle) && this.src.funcs[needle.slice(0, -1)]) fn = needle.slice(0, -1);
    const node: TraceNode = { fn, text, t: this.clock(), ctx: this.ctx, children: [] };
    if (comment) node.comment = comment;
    this.locate(node, needle);
    const loc = fn ? this.entryLoc(fn) : node.site;
    if (loc) node.loc = loc;
    const top = this.stack[this.stack.length - 1];
    (top ? top.children : this.roots).push(node);
    return node;
  }

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


  /** Enter a call: the line `text`, below which the callee's lines nest until exit().
   *  `via`: how the caller's source spells the call when the text does not (a macro such as
   *  wake_up_interruptible_sync_poll around __wake_up_sync_key), as a siteNeedle; `a(|b(`
   *  when different callers spell it differently. */
  enter(fn: string, text: string, comment?: string, via?: string): TraceNode {
    const node = this.add(fn, text, comment, via);
    this.stack.push(node);
    return node;
  }

  exit(): void {
    this.stack.pop();
  }

  /** A statement line (an assignment, a branch taken) that has no children. */
  leaf(text: string, comment?: string, fn = "", via?: string): TraceNode {
    return this.add(fn, text, comment, via);
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

/** The path from a root to the first line (in time order) that enters `fn`, or null. */
export function pathTo(roots: readonly TraceNode[], fn: string): TraceNode[] | null {
  let best: TraceNode[] | null = null;
  const go = (n: TraceNode, path: TraceNode[]) => {
    const p = [...path, n];
    if (n.fn === fn && (!best || n.t < best[best.length - 1].t)) best = p;
    n.children.forEach((c) => go(c, p));
  };
  roots.forEach((r) => go(r, []));
  return best;
}

/** The stack at the moment `fn` is entered, innermost first, as gdb's `bt` prints it in the
 *  seed: `fn(typed params) (linux-4.6.2/path:line)`; fn at its first statement, each caller
 *  at its call site, inline functions with `()`. It stops below the SYSCALL_DEFINE wrapper
 *  (SYSC_*) and the user-space line, where the seed's backtraces stop. */
export function backtrace(roots: readonly TraceNode[], fn: string, src: SourceTable, prefix = "linux-4.6.2/"): string[] | null {
  const path = pathTo(roots, fn);
  if (!path) return null;
  const out: string[] = [];
  let at = path[path.length - 1].loc; // the innermost frame: its first statement
  for (let i = path.length - 1; i >= 0; i--) {
    const n = path[i];
    const f = n.fn ? src.funcs[n.fn] : undefined;
    if (n.fn && f?.[6] !== 2) {
      // a macro (sk_wait_event) is no frame for gdb: its caller's line is the macro's use
      if (n.fn.startsWith("SYSC_")) break;
      out.push(`${n.fn}(${f && !f[6] ? f[5] : ""}) (${at ? prefix + at : "?"})`);
    }
    at = n.site ?? at; // the enclosing frame is executing this line's call site
  }
  return out;
}
