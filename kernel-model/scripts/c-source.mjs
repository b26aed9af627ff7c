// c-source.mjs: a small reader of C source, enough to find where a Linux 4.6.2 function is.
// No Linux file: reads ../shared/linux-4.6.2 (the pristine files the model follows).
//
// Interface:
// * sourceRoot(repoRoot): the linux-4.6.2 directory beside the repository (../shared/linux-4.6.2,
//   or ../../shared from a worktree, or $LINUX_SRC), or null when it is not there.
// * indexSource(root): Map name -> [{file, def, open, close, entry, params, inline, macro}] for
//   every function definition (and function-like #define) in every .c/.h file under root:
//   def = the line that names it (SYSCALL_DEFINEn(...) for syscalls: SYSC_name and sys_name),
//   open/close = the lines of its body's braces (a macro: its first and last line),
//   entry = its first statement (where `break name` stops: declarations are skipped),
//   params = the parameter list as gdb prints it (`struct sock * sk, long * timeo`).
// * codeLines(text): the file's lines with comments and string contents blanked (same line count).
//
// Model vs a compiler: a brace-and-parenthesis scan, no preprocessor. Where one name has two
// definitions under #ifdef, both are listed; gen-lines.mjs picks by the file the model names.

import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";

/** The 4.6.2 tree beside the repository: <repo>/../shared/linux-4.6.2 (CI's clone), or one
 *  level further up (a git worktree under <work>/wt/), or $LINUX_SRC. */
export function sourceRoot(repoRoot) {
  const dirs = [process.env.LINUX_SRC, join(repoRoot, "..", "shared", "linux-4.6.2"), join(repoRoot, "..", "..", "shared", "linux-4.6.2")];
  return dirs.find((d) => d && existsSync(join(d, "net", "socket.c"))) ?? null;
}

/** Lines with comments and the contents of string/char literals replaced by spaces. */
export function codeLines(text) {
  let out = "";
  let i = 0;
  const n = text.length;
  while (i < n) {
    const c = text[i];
    const d = text[i + 1];
    if (c === "/" && d === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? n : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === "/" && d === "/") {
      while (i < n && text[i] !== "\n") (out += " "), i++;
    } else if (c === '"' || c === "'") {
      out += c;
      i++;
      while (i < n && text[i] !== c && text[i] !== "\n") {
        if (text[i] === "\\") (out += " "), i++;
        out += " ";
        i++;
      }
      if (i < n) (out += text[i]), i++;
    } else {
      out += c;
      i++;
    }
  }
  return out.split("\n");
}

const KEYWORDS = new Set(["if", "for", "while", "switch", "return", "sizeof", "do", "else", "goto", "case", "typeof", "__typeof__"]);
const ANNOTATIONS = /\b(__user|__rcu|__force|__iomem|__kernel|__percpu|__must_check|__always_unused|__maybe_unused)\b/g;

/** gdb's spelling of a parameter list: `struct sock * sk, long * timeo` (annotations dropped). */
function gdbParams(raw) {
  const s = raw.replace(ANNOTATIONS, " ").replace(/\s+/g, " ").trim();
  if (s === "void" || s === "") return "";
  return s.split(",").map((p) => {
    const t = p.trim().replace(/\s*(\*+)\s*/g, (_, st) => ` ${st} `).replace(/\s+/g, " ").trim();
    return t.replace(/\* \*/g, "**");
  }).join(", ");
}

/** SYSCALL_DEFINEn(name, type, arg, ...) -> "type arg, ..." */
function syscallParams(raw) {
  const parts = raw.split(",").map((p) => p.trim());
  const out = [];
  for (let i = 1; i + 1 < parts.length; i += 2) out.push(`${parts[i]} ${parts[i + 1]}`);
  return gdbParams(out.join(", "));
}

/** A declaration line (skipped when looking for the first statement), including DEFINE_WAIT(). */
function isDeclaration(code) {
  const s = code.trim();
  if (/^(DEFINE_|DECLARE_)\w*\(/.test(s) || /^LIST_HEAD\(/.test(s) || /^BUILD_BUG_ON/.test(s)) return true;
  const m = /^((?:const|volatile|static|register|struct|union|enum|unsigned|signed)\s+)*([A-Za-z_]\w*)\b/.exec(s);
  if (!m || KEYWORDS.has(m[2])) return false;
  // `type name`, `type *name`, `struct x name[...]`, optionally `= init`, ended by ; or ,
  return /^((?:const|volatile|static|register|struct|union|enum|unsigned|signed)\s+)*[A-Za-z_]\w*(\s+const)?(\s*\*+\s*|\s+)(const\s+)?[A-Za-z_]\w*(\[[^\]]*\])?\s*(=|;|,|\[)/.test(s)
    && !/^[A-Za-z_]\w*\s*(=|\()/.test(s);
}

function* cFiles(dir) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* cFiles(p);
    else if (/\.(c|h)$/.test(name)) yield p;
  }
}

/** Every function definition and function-like macro under root, by name. */
export function indexSource(root) {
  const index = new Map();
  const add = (name, rec) => {
    if (!index.has(name)) index.set(name, []);
    index.get(name).push(rec);
  };
  for (const path of cFiles(root)) {
    const file = relative(root, path).split("\\").join("/");
    const raw = readFileSync(path, "utf8").split("\n");
    const code = codeLines(raw.join("\n"));
    // function-like macros: #define name( ... with backslash continuations
    for (let i = 0; i < code.length; i++) {
      const m = /^\s*#\s*define\s+([A-Za-z_]\w*)\(([^)]*)\)/.exec(code[i]);
      if (!m) continue;
      let j = i;
      while (/\\\s*$/.test(code[j]) && j + 1 < code.length) j++;
      let entry = i;
      for (let l = i + 1; l <= j; l++) {
        const s = code[l].replace(/\\\s*$/, "").replace(/^\s*\(\{\s*/, "").replace(/^\s*do\s*\{\s*/, "").trim();
        if (s && !/^[{}()]*;?$/.test(s) && !isDeclaration(s)) {
          entry = l;
          break;
        }
      }
      add(m[1], { file, def: i + 1, open: i + 1, close: j + 1, entry: entry + 1, params: gdbParams(m[2]), inline: true, macro: true });
    }
    // blank preprocessor lines for the brace scan
    const scan = code.slice();
    for (let i = 0; i < scan.length; i++) {
      if (!/^\s*#/.test(scan[i])) continue;
      while (/\\\s*$/.test(scan[i]) && i + 1 < scan.length) scan[i++] = "";
      scan[i] = "";
    }
    let depth = 0;
    let header = ""; // text since the last top-level ; or }
    let headerStart = 0;
    for (let i = 0; i < scan.length; i++) {
      const line = scan[i];
      for (let c = 0; c < line.length; c++) {
        const ch = line[c];
        if (depth === 0) {
          if (ch === "{") {
            const rec = functionHeader(header);
            // find the matching close brace
            let d = 0;
            let close = -1;
            outer: for (let l = i; l < scan.length; l++) {
              for (let cc = l === i ? c : 0; cc < scan[l].length; cc++) {
                if (scan[l][cc] === "{") d++;
                else if (scan[l][cc] === "}" && --d === 0) {
                  close = l;
                  break outer;
                }
              }
            }
            if (rec && close >= 0) {
              let def = headerStart;
              for (let l = headerStart; l <= i; l++) if (new RegExp(`\\b${rec.key}\\s*\\(`).test(scan[l])) { def = l; break; }
              let entry = close;
              for (let l = i; l <= close; l++) {
                const s = (l === i ? scan[l].slice(c + 1) : scan[l]).trim();
                if (s && s !== "}" && !isDeclaration(s)) {
                  entry = l;
                  break;
                }
              }
              const inline = /\binline\b/.test(header);
              for (const name of rec.names) add(name, { file, def: def + 1, open: i + 1, close: close + 1, entry: entry + 1, params: rec.params, inline, macro: false });
            }
            if (close < 0) return index;
            // skip the body
            i = close;
            const after = scan[close].lastIndexOf("}");
            header = scan[close].slice(after + 1);
            headerStart = close;
            break;
          } else if (ch === ";" || ch === "}") {
            header = "";
            headerStart = i;
          } else {
            if (header.trim() === "") headerStart = i;
            header += ch;
          }
        }
      }
      if (depth === 0) header += " ";
    }
  }
  return index;
}

/** The name(s) and parameters a top-level `header {` defines, or null (struct, initializer). */
function functionHeader(header) {
  const h = header.replace(/\s+/g, " ").trim();
  if (!h || /=\s*$/.test(h) || /(^|\s)(struct|union|enum)\s+\w+\s*$/.test(h) || /=/.test(h.replace(/\([^()]*\)/g, ""))) return null;
  const sc = /\bSYSCALL_DEFINE\d\((\w+)\s*,?(.*)\)\s*$/.exec(h);
  if (sc) return { key: "SYSCALL_DEFINE\\d", names: [`SYSC_${sc[1]}`, `sys_${sc[1]}`, `SyS_${sc[1]}`], params: syscallParams(`${sc[1]},${sc[2]}`) };
  // the name is the identifier before the parameter list: the last top-level (...) group
  let depth = 0;
  let end = -1;
  let start = -1;
  for (let i = h.length - 1; i >= 0; i--) {
    if (h[i] === ")") {
      if (depth++ === 0 && end < 0) end = i;
    } else if (h[i] === "(") {
      if (--depth === 0 && end >= 0) {
        start = i;
        // attributes after the list (`__releases(x)`): keep looking left for name(...)
        const before = h.slice(0, i).trimEnd();
        const m = /([A-Za-z_]\w*)$/.exec(before);
        if (m && /^(__releases|__acquires|__attribute__|__printf|__must_hold|__scanf)$/.test(m[1])) {
          end = -1;
          continue;
        }
        break;
      }
    }
  }
  if (start < 0) return null;
  const m = /([A-Za-z_]\w*)\s*$/.exec(h.slice(0, start));
  if (!m || KEYWORDS.has(m[1])) return null;
  if (!/[A-Za-z_]/.test(h.slice(0, m.index))) return null; // no return type: a macro call
  return { key: m[1], names: [m[1]], params: gdbParams(h.slice(start + 1, end)) };
}
