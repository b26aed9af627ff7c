// compile.js: one notebook cell (TypeScript) -> a JavaScript function the live page can run,
// with tslab's semantics. Runs in the page's worker (bundled by build.mjs) and in Node (tests).
//
// Interface:
// * compileCell(source, {name}) -> {code, names, functions, lastExpression}
//   code: the text of a function expression `(function (__live_s, require, process, __live_imp) {...})`
//   to evaluate (indirect eval); calling it with the cell scope, a require, the process shim and
//   an interop helper returns a promise of the value of the cell's last expression statement.
//   names: the top-level names the cell declares (they must exist on the scope object before the
//   call); functions: the function declarations among them.
// * CellSyntaxError {message, line, column}: the cell does not parse (line is 1-based, in the cell).
//
// How tslab runs a cell, and what we do for each part:
// * Types are stripped, not checked (sucrase's TypeScript transform; tslab type-checks with its
//   own TypeScript 5.0.4, so a type error that tslab refuses runs here).
// * Top-level declarations (import, const, let, var, function, class) of every cell live in one
//   scope shared by the cells (tslab: its `exports` object). We rewrite each declaration into an
//   assignment to a property of that scope, and run the cell `with (scope)`, so a later cell sees
//   them and a cell that redeclares `const x` simply assigns x again.
// * The cell body runs in an async function, so top-level `await` works (tslab does the same).
// * The value of a last expression statement is returned; the runtime prints it when it is not
//   null or undefined (tslab: `console.log(ret)`).
// * Line numbers are kept: every rewrite stays on the lines it replaces and the wrapper opens on
//   line 1, so a stack frame `cell-N.ts:L:C` is line L of the cell.

import * as acorn from "acorn";
import { transform } from "sucrase";

export class CellSyntaxError extends Error {
  constructor(message, line, column) {
    super(message);
    this.name = "SyntaxError";
    this.line = line;
    this.column = column;
  }
}

/** Names bound by a declaration pattern: `{a, b: [c, ...d], e = 1}` -> a, c, d, e. */
function patternNames(p, out) {
  if (!p) return out;
  if (p.type === "Identifier") out.push(p.name);
  else if (p.type === "ObjectPattern") for (const q of p.properties) patternNames(q.type === "RestElement" ? q.argument : q.value, out);
  else if (p.type === "ArrayPattern") for (const q of p.elements) patternNames(q, out);
  else if (p.type === "RestElement") patternNames(p.argument, out);
  else if (p.type === "AssignmentPattern") patternNames(p.left, out);
  return out;
}

/** The same number of line breaks as `orig`, so that the lines after it do not move. */
const sameLines = (orig, repl) => repl + "\n".repeat((orig.match(/\n/g) ?? []).length);

export function compileCell(source, { name = "cell" } = {}) {
  let js;
  try {
    // keepUnusedImports: a cell may import names that only later cells use (tslab keeps them).
    js = transform(source, { transforms: ["typescript"], disableESTransforms: true, keepUnusedImports: true }).code;
  } catch (e) {
    throw new CellSyntaxError(e.message.replace(/\s*\(\d+:\d+\)$/, ""), e.loc?.line ?? null, e.loc?.column ?? null);
  }
  let ast;
  try {
    ast = acorn.parse(js, { ecmaVersion: "latest", sourceType: "module", allowAwaitOutsideFunction: true, locations: true });
  } catch (e) {
    throw new CellSyntaxError(e.message.replace(/\s*\(\d+:\d+\)$/, ""), e.loc?.line ?? null, e.loc ? e.loc.column + 1 : null);
  }
  const edits = []; // [start, end, text]
  const names = [];
  const functions = [];
  const body = ast.body;
  const declare = (node, inner) => {
    const d = inner ?? node;
    if (d.type === "VariableDeclaration") {
      // `const a = 1, {b} = o;` -> `;(a = 1, {b} = o);`  (`let x;` -> `;(x = undefined);`)
      edits.push([node.start, d.start + d.kind.length, ";("]);
      const last = d.declarations[d.declarations.length - 1];
      for (const v of d.declarations) {
        patternNames(v.id, names);
        if (!v.init && v !== last) edits.push([v.id.end, v.id.end, " = undefined"]);
      }
      edits.push([last.end, d.end, sameLines(js.slice(last.end, d.end), `${last.init ? "" : " = undefined"});`)]);
      return true;
    }
    if (d.type === "FunctionDeclaration") {
      // Hoisted inside the cell; copied to the scope when the cell starts (see the prefix).
      if (inner) edits.push([node.start, d.start, ""]);
      names.push(d.id.name);
      functions.push(d.id.name);
      return true;
    }
    if (d.type === "ClassDeclaration") {
      edits.push([node.start, d.start, `;(${d.id.name} = `]);
      edits.push([d.end, d.end, ");"]);
      names.push(d.id.name);
      return true;
    }
    return false;
  };
  for (const [i, s] of body.entries()) {
    if (s.type === "ImportDeclaration") {
      const from = JSON.stringify(s.source.value);
      let text;
      if (s.specifiers.length === 0) {
        // `import "m"` runs the module; `import {} from "m"` is what type-only imports leave: nothing.
        text = /^import\s*["']/.test(js.slice(s.start, s.end)) ? `require(${from});` : "";
      } else {
        const ns = s.specifiers.find((p) => p.type === "ImportNamespaceSpecifier");
        const parts = s.specifiers.filter((p) => p.type !== "ImportNamespaceSpecifier").map((p) => {
          names.push(p.local.name);
          const imported = p.type === "ImportDefaultSpecifier" ? "default" : p.imported.type === "Literal" ? JSON.stringify(p.imported.value) : p.imported.name;
          return `${imported}: ${p.local.name}`;
        });
        const assigns = [];
        if (ns) {
          names.push(ns.local.name);
          assigns.push(`${ns.local.name} = require(${from})`);
        }
        if (parts.length) assigns.push(`{${parts.join(", ")}} = __live_imp(require(${from}))`);
        text = `;(${assigns.join(", ")});`;
      }
      edits.push([s.start, s.end, sameLines(js.slice(s.start, s.end), text)]);
    } else if (s.type === "ExportNamedDeclaration" && s.declaration) {
      declare(s, s.declaration);
    } else if (s.type === "ExportNamedDeclaration" || s.type === "ExportAllDeclaration") {
      edits.push([s.start, s.end, sameLines(js.slice(s.start, s.end), "")]); // a cell exports nothing
    } else if (!declare(s) && i === body.length - 1 && s.type === "ExpressionStatement" && !s.directive) {
      edits.push([s.start, s.expression.start, "return ("]);
      edits.push([s.expression.end, s.end, sameLines(js.slice(s.expression.end, s.end), ");")]);
    }
  }
  edits.sort((a, b) => b[0] - a[0] || b[1] - a[1]);
  let out = js;
  for (const [a, b, t] of edits) out = out.slice(0, a) + t + out.slice(b);
  const hoist = functions.map((f) => `__live_s.${f} = ${f};`).join(" ");
  const last = body[body.length - 1];
  const lastExpression = !!last && last.type === "ExpressionStatement" && !last.directive;
  // The wrapper opens on the cell's first line and closes after its last: lines stay the same.
  const code =
    `(function (__live_s, require, process, __live_imp) { with (__live_s) { return (async () => { ${hoist}${out}\n` +
    `})(); } })\n//# sourceURL=${name}.ts`;
  return { code, names: [...new Set(names)], functions, lastExpression };
}

/** Line (1-based, in the cell) of the innermost stack frame in the cell's code, or null. */
export function cellLineOf(error, name) {
  const stack = String(error?.stack ?? "");
  const re = new RegExp(`${name.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\.ts:(\\d+):(\\d+)`);
  const m = re.exec(stack);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}
