#!/usr/bin/env node
// cli.ts: `npx kernel-model ...`, the command line the book, tests and benchmarks rely on.
// No Linux file. Contract: ../shared/design.md ("The command-line contract").
//
//   kernel-model trace <name> [--json]     call tree in the book's |- format (or JSON)
//   kernel-model trace <name> --break FN   the backtrace when FN is entered, gdb-style
//   kernel-model run --model blocking|epoll|poll --conns N --msgs M [--rate PPS] [--cpus C]
//                    [--seed S] [--proto tcp|udp] [--calibrate PROBE.json] [--json]
//                    one workload, its summary; the JSON repeats every parameter and flags drops
//   kernel-model compare [--probe FILE] [--calibrate FILE] [--json]
//                    the probe's matrix through the model, cell by cell, with the agreement rule
//
// Bad arguments: a one-line error naming the argument, exit code 2.

import { Command, CommanderError, InvalidArgumentError, Option } from "commander";
import { backtrace, formatTrace } from "./sim/trace";
import { SOURCE } from "./kernel/lines";
import { runTrace, TRACES, traceNames } from "./scenarios/traces";
import { runServer, type ServerOptions, type ServerSummary } from "./scenarios/servers";
import { readCalibration, readProbeFile, type ProbeCalibration } from "./scenarios/calibrate";
import { compareProbeFile, formatComparison, REFERENCE_PROBE } from "./scenarios/probe-compare";

/** Run a command that completes synchronously (trace, run); returns the exit code. `compare`
 *  runs on worker threads: use mainAsync for it (the executable always does). */
export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const program = buildProgram(out);
  try {
    program.parse(argv, { from: "user" });
    return 0;
  } catch (e) {
    return handleError(e);
  }
}

function buildProgram(out: (s: string) => void): Command {
  const program = new Command("kernel-model")
    .description("A model of the Linux 4.6.2 receive path (深入理解Linux网络, chapter 3)")
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s), outputError: () => undefined })
    .showHelpAfterError(false);
  program
    .command("trace")
    .description(`print a call tree in the book's |- format (--break FN: the gdb backtrace where it enters FN). Names:\n${traceNames().map((n) => `  ${n.padEnd(18)} ${TRACES[n].title}`).join("\n")}`)
    .argument("<name>", "which trace")
    .option("--json", "the same tree as JSON")
    .option("--break <fn>", "stop where the trace first enters kernel function <fn> and print the backtrace, innermost first, " +
      "as gdb's bt: fn(typed params) (linux-4.6.2/path:line), <fn> at its first statement, each caller at its call site " +
      "(down to the frame below the SYSC_ syscall wrapper, where the book's backtraces stop)")
    .action((name: string, opts: { json?: boolean; break?: string }) => {
      if (!TRACES[name]) throw new CommanderError(2, "kernel-model.unknownTrace", `unknown trace "${name}" (known: ${traceNames().join(", ")})`);
      const { title, roots } = runTrace(name);
      if (opts.break !== undefined) {
        const bt = backtrace(roots, opts.break, SOURCE);
        if (!bt) throw new CommanderError(2, "kernel-model.noBreak", `--break: trace "${name}" never enters "${opts.break}"`);
        out(opts.json ? `${JSON.stringify(bt)}\n` : `${bt.join("\n")}\n`);
        return;
      }
      out(opts.json ? `${JSON.stringify(roots, null, 1)}\n` : `${traceHeader(name, title)}\n${formatTrace(roots)}\n`);
    });
  program
    .command("run")
    .description("run one workload (a blocking, an epoll or a poll server) and print its summary")
    .addOption(new Option("--model <model>", "blocking: a thread per connection in read(); epoll: epoll_wait + non-blocking reads; poll: one thread in poll() over every socket").choices(["blocking", "epoll", "poll"]).makeOptionMandatory())
    .requiredOption("--conns <n>", "connections", intArg("--conns", 1, 1_000_000))
    .requiredOption("--msgs <m>", "messages in total", intArg("--msgs", 1, 100_000_000))
    .option("--rate <pps>", "messages per second over all connections (default 10000; --sender loopback: back to back)", intArg("--rate", 1, 1e9))
    .addOption(new Option("--sender <who>", "remote: hosts behind eth0 at an open-loop rate; loopback: a sender task on this machine over lo, as the probe").choices(["remote", "loopback"]).default("remote"))
    .option("--sender-cpu <c>", "--sender loopback: the sender's CPU", intArg("--sender-cpu", 0, 63), 0)
    .option("--cpus <c>", "CPUs", intArg("--cpus", 1, 64), 1)
    .option("--seed <s>", "seed of every random choice", intArg("--seed", -2147483648, 2147483647), 1)
    .addOption(new Option("--proto <proto>", "transport").choices(["tcp", "udp"]).default("tcp"))
    .addOption(new Option("--pattern <p>", "arrivals").choices(["fixed", "poisson", "burst"]).default("poisson"))
    .option("--burst <b>", "messages per burst (--pattern burst)", intArg("--burst", 1, 1_000_000), 64)
    .option("--size <bytes>", "payload bytes per message", intArg("--size", 1, 1_000_000), 64)
    .option("--work <ns>", "user work per message, ns", intArg("--work", 0, 1e9), 1000)
    .option("--threads <t>", "epoll: tasks in epoll_wait", intArg("--threads", 1, 64), 1)
    .option("--et", "epoll: edge-triggered (EPOLLET)")
    .option("--calibrate <probe.json>", "costs measured by npm run probe (switch, syscall, wakeup, IPI, idle exit)")
    .option("--json", "the summary as JSON: every parameter, the keys of the command-line contract, and `complete` (false when messages were lost)")
    .action((opts: Record<string, unknown>) => {
      const cal = opts.calibrate ? calibration(opts.calibrate as string) : null;
      const sender = opts.sender as "remote" | "loopback";
      if (sender === "loopback" && (opts.senderCpu as number) >= (opts.cpus as number)) {
        throw new CommanderError(2, "kernel-model.sender-cpu", `--sender-cpu must be below --cpus (${opts.cpus as number}), got ${opts.senderCpu as number}`);
      }
      const rate = opts.rate === undefined ? (sender === "remote" ? 10_000 : undefined) : (opts.rate as number);
      const o: ServerOptions = {
        model: opts.model as "blocking" | "epoll" | "poll", proto: opts.proto as "tcp" | "udp", conns: opts.conns as number,
        msgs: opts.msgs as number, rate, sender, senderCpu: opts.senderCpu as number, cpus: opts.cpus as number, seed: opts.seed as number,
        pattern: opts.pattern as ServerOptions["pattern"], burst: opts.burst as number, msgSize: opts.size as number,
        work: opts.work as number, epollThreads: opts.threads as number, et: Boolean(opts.et),
        ...(cal ? { costs: cal.costs } : {}),
      };
      // what a saved result needs to be repeated: every parameter, the costs and where they came from
      const params = {
        seed: o.seed, rate: o.rate ?? "back-to-back", pattern: o.pattern, ...(o.pattern === "burst" ? { burst: o.burst } : {}), proto: o.proto,
        cpus: o.cpus, sender, ...(sender === "loopback" ? { senderCpu: o.senderCpu } : {}), size: o.msgSize, work: o.work,
        ...(o.model === "epoll" ? { threads: o.epollThreads, et: o.et } : {}),
        costsSource: cal ? cal.file : "defaults (kernel-model/src/kernel/costs.ts)",
      };
      const err = (s: string) => process.stderr.write(s);
      // OSTEP habit: the parameters first, so the run can be repeated
      err(`ARG model ${o.model}  proto ${o.proto}  sender ${sender}${sender === "loopback" ? ` (cpu ${o.senderCpu})` : ""}  conns ${o.conns}  msgs ${o.msgs}` +
        `  rate ${o.rate === undefined ? "back-to-back" : `${o.rate}/s  pattern ${o.pattern}`}` +
        `${o.pattern === "burst" ? ` burst ${o.burst}` : ""}  size ${o.msgSize}  work ${o.work}ns  cpus ${o.cpus}  seed ${o.seed}` +
        `${o.model === "epoll" ? `  threads ${o.epollThreads}  ${o.et ? "ET" : "LT"}` : ""}  costs ${cal ? cal.file : "defaults"}\n`);
      const t0 = Date.now();
      const tty = Boolean(process.stderr.isTTY);
      o.onProgress = (done, total) => {
        if (Date.now() - t0 > 1000) err(`${tty ? "\r" : ""}progress ${done}/${total} messages (${Math.round((100 * done) / total)}%)${tty ? "" : "\n"}`);
      };
      const { summary, kernel } = runServer(o);
      if (tty && Date.now() - t0 > 1000) err("\n");
      const complete = summary.dropped === 0 && summary.delivered === summary.msgs;
      if (!complete) err(`warning: ${summary.msgs - summary.delivered} of ${summary.msgs} messages lost (${summary.dropped} dropped): a run that loses messages is a different experiment\n`);
      const { model, ...rest } = summary;
      out(opts.json ? `${JSON.stringify({ model, ...params, ...rest, complete, costs: kernel.costs })}\n` : formatSummary(summary));
    });
  program
    .command("compare")
    .description("run the probe's matrix (npm run probe) through the model with that probe's costs, and print per cell the kernel's and the model's " +
      "voluntary switches per message and p50/p99 latency. A cell agrees when switches per message are within max(30%, 0.02) of the kernel's " +
      "AND the p50 latency within a factor of 2.")
    .option("--probe <file>", "a probe result (default: the committed reference, scripts/probe/reference.json)")
    .option("--calibrate <file>", "take the model's costs from this probe result instead of --probe's")
    .option("--json", "{cells: [{proto, server, conns, regime, kernel: {vcswPerMsg, p50Ns, p99Ns}, model: {...}, agree}], agree, total}")
    .action(async (opts: { probe?: string; calibrate?: string; json?: boolean }) => {
      const probeFile = opts.probe ?? REFERENCE_PROBE;
      const probe = readOrFail(() => readProbeFile(probeFile));
      const cal = opts.calibrate ? calibration(opts.calibrate) : null;
      const err = (s: string) => process.stderr.write(s);
      const r = await compareProbeFile(probe, { calibration: cal ?? undefined, onRow: (d, t) => { if (process.stderr.isTTY) err(`\rmodel runs ${d}/${t}`); } });
      if (process.stderr.isTTY) err("\n");
      const lost = r.rows.filter((x) => x.modelDropped > 0);
      if (lost.length) err(`warning: the model dropped messages in ${lost.length} cells (${lost.map((x) => `${x.mode} ${x.proto} N=${x.conns} ${x.regime}`).join(", ")})\n`);
      out(opts.json ? `${JSON.stringify(r.report)}\n` : formatComparison(r, probeFile, cal?.file ?? probeFile));
    });
  return program;
}

/** The same as main for commands that run asynchronously (compare); resolves to the exit code. */
export async function mainAsync(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const program = buildProgram(out);
  try {
    await program.parseAsync(argv, { from: "user" });
    return 0;
  } catch (e) {
    return handleError(e);
  }
}

function handleError(e: unknown): number {
  if (e instanceof CommanderError) {
    if (e.exitCode === 0) return 0; // --help, --version
    if (e.code === "commander.help") return 2; // no command: the help went to stderr
    process.stderr.write(`kernel-model: ${e.message.replace(/^error: /, "")}\n`);
    return 2;
  }
  throw e;
}

/** A probe file that cannot be used is a bad argument: one line, exit code 2. */
function readOrFail<T>(f: () => T, flag = "--probe"): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof RangeError) throw new CommanderError(2, "kernel-model.badProbe", `${flag} ${e.message}`);
    throw e;
  }
}

function calibration(file: string): ProbeCalibration & { file: string } {
  return readOrFail(() => readCalibration(file), "--calibrate");
}

if (require.main === module) void mainAsync(process.argv.slice(2)).then((code) => { process.exitCode = code; });

/** The first line of `trace NAME`: what it shows and how its locations read. */
export function traceHeader(name: string, title: string): string {
  return `# ${name}: ${title}\n# (path:line) in linux-4.6.2: the line executing when the trace reached it: a call at the callee's first statement (where gdb's break stops), a statement at itself`;
}

/** A commander parser for an integer flag in [lo, hi], with an error that names the flag. */
function intArg(flag: string, lo: number, hi: number) {
  return (v: string) => {
    const n = Number(v);
    if (!/^-?\d+(e\d+)?$/.test(v) || !Number.isInteger(n) || n < lo || n > hi) {
      throw new InvalidArgumentError(`${flag} must be an integer in [${lo}, ${hi}], got "${v}"`);
    }
    return n;
  };
}

/** The human table of a run's summary. */
export function formatSummary(s: ServerSummary): string {
  const us = (ns: number) => (ns / 1000).toFixed(1);
  const lat = (p: ServerSummary["e2eLatencyNs"]) => `p50 ${us(p.p50)}  p90 ${us(p.p90)}  p99 ${us(p.p99)}  max ${us(p.max)} µs`;
  const total = s.cpuNs.user + s.cpuNs.sys + s.cpuNs.softirq + s.cpuNs.irq + s.cpuNs.idle;
  const pct = (x: number) => `${total ? ((100 * x) / total).toFixed(1) : "0.0"}%`;
  return [
    `model              ${s.model}`,
    `messages           ${s.delivered} delivered of ${s.msgs}, ${s.dropped} dropped`,
    `context switches   ${s.nvcsw} voluntary, ${s.nivcsw} involuntary (receiving tasks)`,
    `per message        ${s.vcswPerMsg} voluntary, ${s.cswPerMsg} total`,
    `run-queue latency  ${lat(s.runqLatencyNs)}`,
    `end-to-end latency ${lat(s.e2eLatencyNs)}`,
    `CPU time           user ${pct(s.cpuNs.user)}  sys ${pct(s.cpuNs.sys)}  softirq ${pct(s.cpuNs.softirq)}  irq ${pct(s.cpuNs.irq)}  idle ${pct(s.cpuNs.idle)}`,
    `simulated          ${(s.simNs / 1e6).toFixed(3)} ms, ${s.events} events, ${s.wallMs} ms wall`,
    "",
  ].join("\n");
}
