#!/usr/bin/env node
// cli.ts: `npx kernel-model ...`, the command line the book, tests and benchmarks rely on.
// No Linux file. Contract: ../shared/design.md ("The command-line contract").
//
//   kernel-model trace <name> [--json]     call tree in the seed's format (or JSON)
//
// Bad arguments: a one-line error naming the argument, exit code 2.

import { Command, CommanderError } from "commander";
import { formatTrace } from "./sim/trace";
import { runTrace, TRACES, traceNames } from "./scenarios/traces";

export function main(argv: string[], out: (s: string) => void = (s) => process.stdout.write(s)): number {
  const program = new Command("kernel-model")
    .description("A model of the Linux 4.6.2 receive path (深入理解Linux网络, chapter 3)")
    .exitOverride()
    .configureOutput({ writeOut: out, writeErr: (s) => process.stderr.write(s), outputError: () => undefined })
    .showHelpAfterError(false);
  program
    .command("trace")
    .description(`print a call tree in the seed's |- format. Names:\n${traceNames().map((n) => `  ${n.padEnd(18)} ${TRACES[n].title}`).join("\n")}`)
    .argument("<name>", "which trace")
    .option("--json", "the same tree as JSON")
    .action((name: string, opts: { json?: boolean }) => {
      if (!TRACES[name]) throw new CommanderError(2, "kernel-model.unknownTrace", `unknown trace "${name}" (known: ${traceNames().join(", ")})`);
      const { roots } = runTrace(name);
      out(opts.json ? `${JSON.stringify(roots, null, 1)}\n` : `${formatTrace(roots)}\n`);
    });
  try {
    program.parse(argv, { from: "user" });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return 0; // --help, --version
      if (e.code === "commander.help") return 2; // no command: the help went to stderr
      process.stderr.write(`kernel-model: ${e.message.replace(/^error: /, "")}\n`);
      return 2;
    }
    throw e;
  }
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
