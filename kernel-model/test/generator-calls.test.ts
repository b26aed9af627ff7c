// A guard for a trap of the model's style: a kernel function that may sleep is a generator
// (lock_sock, release_sock's callers, sk_wait_data, tcp_sendmsg, ...), run with `yield*`. A plain
// call `lock_sock(k, sk);` compiles, makes a generator object and throws it away: the lock is never
// taken and nothing says so. This test parses kernel-model/src (the TypeScript parser, no type
// checker: fast) and fails on any statement that calls a generator function of src and discards
// the result. Passing a generator on (return f(), () => f(), atomicRun(k, f()), x.gen = f()) is
// fine; only a call whose value is dropped is the bug.
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";

const SRC = path.join(__dirname, "..", "src");

function sources(dir = SRC): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(path.join(dir, e.name)) : e.name.endsWith(".ts") ? [path.join(dir, e.name)] : []);
}

function parse(file: string, text: string): ts.SourceFile {
  return ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
}

/** Names of the generator functions a file declares (function* f, const f = function* ...), and
 *  of the functions declared to return one (the read chain's tail calls: f(): KGen<number>). */
function generatorNames(sf: ts.SourceFile, into: Set<string>): void {
  const visit = (n: ts.Node): void => {
    if ((ts.isFunctionDeclaration(n) || ts.isFunctionExpression(n)) && n.asteriskToken && n.name) into.add(n.name.text);
    if (ts.isFunctionDeclaration(n) && n.name && n.type && /^(KGen|Generator)</.test(n.type.getText(sf))) into.add(n.name.text);
    if (ts.isVariableDeclaration(n) && ts.isIdentifier(n.name) && n.initializer && ts.isFunctionExpression(n.initializer) && n.initializer.asteriskToken) {
      into.add(n.name.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
}

/** Statements `f(...);` (also `void f(...)`, `(f(...))`, `a && f(...)`) with f a generator. */
function discardedCalls(sf: ts.SourceFile, gens: Set<string>): string[] {
  const out: string[] = [];
  const calls = (e: ts.Expression): ts.CallExpression[] => {
    if (ts.isParenthesizedExpression(e) || ts.isVoidExpression(e)) return calls(e.expression);
    if (ts.isBinaryExpression(e) && [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken, ts.SyntaxKind.CommaToken].includes(e.operatorToken.kind)) {
      return [...calls(e.left), ...calls(e.right)];
    }
    if (ts.isConditionalExpression(e)) return [...calls(e.whenTrue), ...calls(e.whenFalse)];
    return ts.isCallExpression(e) ? [e] : [];
  };
  const visit = (n: ts.Node): void => {
    if (ts.isExpressionStatement(n)) {
      for (const c of calls(n.expression)) {
        const callee = ts.isIdentifier(c.expression) ? c.expression.text : undefined;
        if (callee && gens.has(callee)) {
          const { line } = sf.getLineAndCharacterOfPosition(c.getStart(sf));
          out.push(`${path.relative(SRC, sf.fileName)}:${line + 1}: ${c.getText(sf).split("\n")[0]}`);
        }
      }
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

describe("generator kernel functions are run with yield*", () => {
  const files = sources().map((f) => parse(f, readFileSync(f, "utf8")));
  const gens = new Set<string>();
  for (const sf of files) generatorNames(sf, gens);

  it("finds the generators it guards (lock_sock, __lock_sock, sk_wait_data, tcp_recvmsg, tcp_sendmsg, schedule, vfs_read)", () => {
    for (const g of ["lock_sock", "__lock_sock", "sk_wait_data", "tcp_recvmsg", "tcp_sendmsg", "schedule", "inet_shutdown", "vfs_read"]) expect(gens.has(g), g).toBe(true);
  });

  it("no statement in kernel-model/src calls a generator function and drops the generator", () => {
    expect(files.flatMap((sf) => discardedCalls(sf, gens))).toEqual([]);
  });

  it("the scan catches a planted `lock_sock(k, sk);` and its disguises, and lets yield*, return and hand-offs pass", () => {
    const planted = parse(path.join(SRC, "planted.ts"), [
      "function* f(k, sk) {",
      "  lock_sock(k, sk);", // the trap
      "  if (sk.x) void release_sock_wait(k, sk);",
      "  sk.y && sk_wait_data(k, sk, t, l);",
      "  yield* lock_sock(k, sk);",
      "  const g = sk_wait_data(k, sk, t, l);",
      "  atomicRun(k, sk_wait_data(k, sk, t, l));",
      "  return lock_sock(k, sk);",
      "}",
      "function* release_sock_wait(k, sk) {}",
    ].join("\n"));
    const g = new Set(gens);
    generatorNames(planted, g);
    expect(discardedCalls(planted, g)).toEqual([
      "planted.ts:2: lock_sock(k, sk)",
      "planted.ts:3: release_sock_wait(k, sk)",
      "planted.ts:4: sk_wait_data(k, sk, t, l)",
    ]);
  });
});
