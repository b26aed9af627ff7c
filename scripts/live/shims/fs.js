// fs.js (shim): the `fs` a cell imports in the live page: a read-only snapshot of the files the
// chapters read (build.mjs lists them), taken when the book was built, at the same paths under
// a virtual checkout (/linux-net-ch3, cwd notebooks/ as in Jupyter and the book build).
//
// Interface: createFs({files: {path: {text, mtimeMs}}, path}) -> an object with Node's sync
// read API (existsSync, readFileSync, readdirSync, statSync, lstatSync, realpathSync) and
// promises.readFile/readdir/stat. Every other fs function throws a one-line error saying the
// files are a read-only snapshot (code EROFS), so a cell that writes fails clearly.

function fsError(code, syscall, p, what) {
  const e = new Error(`${code}: ${what}, ${syscall} '${p}'`);
  e.code = code;
  e.syscall = syscall;
  e.path = p;
  return e;
}

export function createFs({ files, path, cwd }) {
  const abs = (p) => path.normalize(path.isAbsolute(String(p)) ? String(p) : path.join(cwd, String(p)));
  const dirs = new Map(); // dir -> Set of entries
  for (const f of Object.keys(files)) {
    let p = f;
    while (p !== "/") {
      const d = path.dirname(p);
      if (!dirs.has(d)) dirs.set(d, new Set());
      dirs.get(d).add(path.basename(p));
      p = d;
    }
  }
  const stat = (p, syscall = "stat") => {
    const a = abs(p);
    const f = files[a];
    if (!f && !dirs.has(a)) throw fsError("ENOENT", syscall, p, "no such file or directory");
    const t = f ? f.mtimeMs : 0;
    return {
      size: f ? new TextEncoder().encode(f.text).length : 4096, mtimeMs: t, mtime: new Date(t),
      isFile: () => !!f, isDirectory: () => !f, isSymbolicLink: () => false,
    };
  };
  const api = {
    existsSync: (p) => files[abs(p)] !== undefined || dirs.has(abs(p)),
    statSync: (p) => stat(p),
    lstatSync: (p) => stat(p, "lstat"),
    realpathSync: (p) => (stat(p), abs(p)),
    readFileSync(p) {
      const a = abs(p);
      if (files[a]) return files[a].text; // a string with or without an encoding: the page has no Buffer
      if (dirs.has(a)) throw fsError("EISDIR", "read", p, "illegal operation on a directory");
      throw fsError("ENOENT", "open", p, "no such file or directory");
    },
    readdirSync(p) {
      const a = abs(p);
      if (!dirs.has(a)) throw fsError(files[a] ? "ENOTDIR" : "ENOENT", "scandir", p, files[a] ? "not a directory" : "no such file or directory");
      return [...dirs.get(a)].sort();
    },
  };
  api.promises = {
    readFile: async (p) => api.readFileSync(p),
    readdir: async (p) => api.readdirSync(p),
    stat: async (p) => api.statSync(p),
  };
  const snapshot = Object.keys(files).map((f) => path.relative(path.dirname(cwd), f)).join(", ") || "no files";
  const refuse = (name) => () => {
    const e = new Error(`EROFS: fs.${name} is not available in the live book: its files are a read-only snapshot taken when the book was built (${snapshot}). Run this cell in Jupyter (npm run jupyter) to use the file system.`);
    e.code = "EROFS";
    throw e;
  };
  const fs = new Proxy(api, {
    get: (t, k) => {
      if (k === "default") return fs; // `import fs from "fs"`
      if (k === "__esModule") return true; // TypeScript's import helpers then keep this object (and its refusals)
      if (k in t || typeof k === "symbol" || k === "then") return t[k];
      return refuse(String(k));
    },
  });
  return fs;
}
