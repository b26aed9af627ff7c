// kernel.mjs: a small Jupyter client for the tslab kernel, in Node, no Python.
//
// Interface:
// * const k = await startKernel({cwd}) spawns `tslab kernel --config-path <connection file>`
//   with cwd as the notebook folder (tslab compiles cells with cwd as rootDir, like Jupyter
//   starting a kernel next to its notebook), connects the five channels over ZeroMQ and waits
//   until the kernel answers kernel_info_request on shell and publishes on iopub.
// * const r = await k.execute(code) sends execute_request on shell and resolves once both the
//   execute_reply (shell) and the `idle` status for that request (iopub) have arrived:
//   r = {status: "ok"|"error"|"abort", executionCount, outputs, stdout, stderr, ms}
//   outputs are nbformat outputs: stream {name, text}, display_data {data, metadata},
//   execute_result, error {ename, evalue, traceback}; consecutive stream chunks are merged.
// * await k.shutdown() sends shutdown_request on control, waits for the process to exit
//   (SIGTERM, then SIGKILL if it does not) and closes the sockets and the connection file.
//
// Protocol: https://jupyter-client.readthedocs.io/en/latest/messaging.html (version 5.3).
// Each message is [routing ids..., "<IDS|MSG>", hmac, header, parent_header, metadata, content],
// hmac = HMAC-SHA256(key, header + parent_header + metadata + content) in hex.
// Channels: shell (Dealer -> kernel Router), control (Dealer), stdin (Dealer, unused: tslab has
// no input()), iopub (Subscriber -> kernel Publisher), hb (Request -> kernel Reply).
// Transport: ipc sockets in a private temp folder, so no TCP port is chosen, raced for or opened.
//
// tslab facts this relies on (see shared/design.md): the value of a cell's last expression
// arrives as stdout text; an error arrives as stderr text plus status "error" in execute_reply,
// after which tslab drops requests for ~200 ms, so callers stop at the first failing cell.

import { spawn } from "node:child_process";
import { createHmac, randomBytes, randomUUID } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import path from "node:path";

const require = createRequire(import.meta.url);
const DELIM = Buffer.from("<IDS|MSG>");

/** Path of tslab's CLI entry (node_modules/tslab/bin/tslab), run with this Node. */
export function tslabBin() {
  return path.join(path.dirname(require.resolve("tslab/package.json")), "bin", "tslab");
}

/** zeromq@6 as tslab itself loads it (tslab's dependency, hoisted or nested). */
function loadZmq() {
  const tslabDir = path.dirname(require.resolve("tslab/package.json"));
  return require(require.resolve("zeromq", { paths: [tslabDir] }));
}

/** Sign and frame one message. */
function frame(key, ids, header, parent, metadata, content) {
  const parts = [header, parent, metadata, content].map((o) => JSON.stringify(o));
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  return [...ids, DELIM, h.digest("hex"), ...parts];
}

/** Parse and verify one message (frames as Buffers). Throws on a bad signature. */
export function parseMessage(key, frames) {
  const i = frames.findIndex((f) => DELIM.equals(f));
  if (i < 0) throw new Error("jupyter: message without <IDS|MSG> delimiter");
  const sig = frames[i + 1].toString();
  const parts = frames.slice(i + 2, i + 6);
  const h = createHmac("sha256", key);
  for (const p of parts) h.update(p);
  if (key && h.digest("hex") !== sig) throw new Error("jupyter: bad HMAC signature on a kernel message");
  const [header, parent_header, metadata, content] = parts.map((p) => JSON.parse(p.toString()));
  return { header, parent_header, metadata, content };
}

export class KernelError extends Error {}

// Kernel processes still running; killed if this process exits without shutting them down
// (Ctrl-C, an uncaught error), so no tslab kernel outlives its client.
const live = new Map(); // process -> its temp folder
process.once("exit", () => {
  for (const [p, dir] of live) {
    p.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * Start a tslab kernel whose cells run with `cwd` as their folder.
 * @param {{cwd: string, startTimeoutMs?: number, env?: NodeJS.ProcessEnv}} opts
 */
export async function startKernel(opts) {
  const k = new TslabKernel(opts);
  try {
    await k._start();
  } catch (e) {
    await k.shutdown().catch(() => {});
    throw e;
  }
  return k;
}

class TslabKernel {
  constructor({ cwd, startTimeoutMs = 30_000, env = process.env }) {
    this.cwd = cwd;
    this.startTimeoutMs = startTimeoutMs;
    this.env = env;
    this.key = randomUUID();
    this.session = randomUUID();
    this.dir = mkdtempSync(path.join(tmpdir(), "tslab-"));
    this.waiters = new Map(); // msg_id -> {onShell, onIopub}
    this.log = ""; // kernel process stdout+stderr, for diagnostics
    this.exited = null; // {code, signal} once the process ended
    this.closed = false;
  }

  async _start() {
    const zmq = loadZmq();
    const ip = path.join(this.dir, "k");
    const conn = {
      transport: "ipc", ip, key: this.key, signature_scheme: "hmac-sha256",
      shell_port: 1, iopub_port: 2, stdin_port: 3, control_port: 4, hb_port: 5,
      kernel_name: "tslab",
    };
    const connFile = path.join(this.dir, "kernel.json");
    writeFileSync(connFile, JSON.stringify(conn));
    // tslab binds `${transport}://${ip}:${port}`: ipc:///tmp/tslab-XXXX/k:1 and so on.
    const addr = (port) => `ipc://${ip}:${port}`;

    this.proc = spawn(process.execPath, [tslabBin(), "kernel", "--config-path", connFile], {
      cwd: this.cwd, env: this.env, stdio: ["ignore", "pipe", "pipe"],
    });
    live.set(this.proc, this.dir);
    this.proc.stdout.on("data", (d) => (this.log += d));
    this.proc.stderr.on("data", (d) => (this.log += d));
    this.exitedP = new Promise((resolve) => {
      this.proc.on("exit", (code, signal) => {
        live.delete(this.proc);
        this.exited = { code, signal };
        const err = new KernelError(`tslab kernel exited (code ${code}, signal ${signal})\n${this.log}`);
        for (const w of this.waiters.values()) w.fail(err);
        this.waiters.clear();
        resolve(this.exited);
      });
    });
    this.proc.on("error", (e) => (this.log += `spawn error: ${e.message}\n`));

    const linger = { linger: 0 };
    this.shell = new zmq.Dealer({ ...linger, routingId: `shell-${this.session.slice(0, 8)}` });
    this.control = new zmq.Dealer(linger);
    this.stdin = new zmq.Dealer(linger);
    this.iopub = new zmq.Subscriber(linger);
    this.hb = new zmq.Request(linger);
    this.iopub.subscribe();
    this.shell.connect(addr(conn.shell_port));
    this.control.connect(addr(conn.control_port));
    this.stdin.connect(addr(conn.stdin_port));
    this.iopub.connect(addr(conn.iopub_port));
    this.hb.connect(addr(conn.hb_port));
    this._pump(this.shell, "shell");
    this._pump(this.control, "shell");
    this._pump(this.iopub, "iopub");

    // Wait until the kernel answers and iopub is subscribed (ZeroMQ's "slow joiner": messages
    // published before the subscription reaches the kernel are lost), as jupyter_client does.
    const deadline = Date.now() + this.startTimeoutMs;
    for (;;) {
      if (this.exited) throw new KernelError(`tslab kernel exited while starting\n${this.log}`);
      if (Date.now() > deadline) throw new KernelError(`tslab kernel did not answer within ${this.startTimeoutMs} ms\n${this.log}`);
      const got = { shell: null, iopub: false };
      const id = this._send(this.shell, "kernel_info_request", {}, {
        onShell: (m) => (got.shell = m),
        onIopub: () => (got.iopub = true),
      });
      const t0 = Date.now();
      while (Date.now() - t0 < 1000 && !(got.shell && got.iopub) && !this.exited) await sleep(10);
      this.waiters.delete(id);
      if (got.shell && got.iopub) {
        this.info = got.shell.content;
        return;
      }
    }
  }

  /** Route every message from a socket to the waiter of its parent msg_id. */
  async _pump(sock, channel) {
    try {
      for await (const frames of sock) {
        let msg;
        try {
          msg = parseMessage(this.key, frames);
        } catch (e) {
          this.log += `${e.message}\n`;
          continue;
        }
        const w = this.waiters.get(msg.parent_header?.msg_id);
        if (!w) continue;
        if (channel === "shell") w.onShell?.(msg);
        else w.onIopub?.(msg);
      }
    } catch (e) {
      if (!this.closed) this.log += `${channel} socket: ${e.message}\n`;
    }
  }

  _send(sock, msg_type, content, waiter) {
    const header = {
      msg_id: randomBytes(16).toString("hex"), session: this.session, username: "book",
      date: new Date().toISOString(), msg_type, version: "5.3",
    };
    this.waiters.set(header.msg_id, { fail: () => {}, ...waiter });
    sock.send(frame(this.key, [], header, {}, {}, content)).catch((e) => (this.log += `send: ${e.message}\n`));
    return header.msg_id;
  }

  /**
   * Execute one cell. Resolves with its outputs; rejects only when the kernel dies or the
   * timeout passes (then the kernel is interrupted with SIGINT, as Jupyter does).
   * @param {string} code
   * @param {{timeoutMs?: number}} [o]
   */
  execute(code, { timeoutMs = 120_000 } = {}) {
    if (this.exited) return Promise.reject(new KernelError(`tslab kernel is not running\n${this.log}`));
    const t0 = performance.now();
    return new Promise((resolve, reject) => {
      const outputs = [];
      let reply = null;
      let idle = false;
      let id = "";
      const timer = setTimeout(() => {
        this.waiters.delete(id);
        this.proc.kill("SIGINT");
        reject(new KernelError(`cell did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      const finish = () => {
        if (!reply || !idle) return;
        clearTimeout(timer);
        this.waiters.delete(id);
        const text = (name) => outputs.filter((o) => o.output_type === "stream" && o.name === name).map((o) => o.text).join("");
        resolve({
          status: reply.content.status, executionCount: reply.content.execution_count ?? null,
          outputs, stdout: text("stdout"), stderr: text("stderr"), ms: performance.now() - t0,
        });
      };
      id = this._send(this.shell, "execute_request", {
        code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true,
      }, {
        onShell: (m) => {
          if (m.header.msg_type === "execute_reply") (reply = m), finish();
        },
        onIopub: (m) => {
          const c = m.content;
          switch (m.header.msg_type) {
            case "status":
              if (c.execution_state === "idle") (idle = true), finish();
              break;
            case "stream": {
              const last = outputs[outputs.length - 1];
              if (last?.output_type === "stream" && last.name === c.name) last.text += c.text;
              else outputs.push({ output_type: "stream", name: c.name, text: c.text });
              break;
            }
            case "display_data":
              outputs.push({ output_type: "display_data", data: c.data, metadata: c.metadata ?? {} });
              break;
            case "update_display_data":
              break; // not used by the book
            case "execute_result":
              outputs.push({ output_type: "execute_result", data: c.data, metadata: c.metadata ?? {}, execution_count: c.execution_count });
              break;
            case "error":
              outputs.push({ output_type: "error", ename: c.ename, evalue: c.evalue, traceback: c.traceback });
              break;
          }
        },
        fail: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }

  /** Ask the kernel to shut down, wait for it to exit, release sockets and temp files. */
  async shutdown({ timeoutMs = 3000 } = {}) {
    if (this.proc && !this.exited && this.control) {
      this._send(this.control, "shutdown_request", { restart: false }, {});
      await within(this.exitedP, timeoutMs);
    }
    if (this.proc && !this.exited) {
      this.proc.kill("SIGTERM");
      await within(this.exitedP, 1000);
    }
    if (this.proc && !this.exited) {
      this.proc.kill("SIGKILL");
      await this.exitedP;
    }
    this.closed = true;
    for (const s of [this.shell, this.control, this.stdin, this.iopub, this.hb]) s?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sleep(ms) {
  return new Promise((r) => setTimeout(r, ms));
}

/** Wait for p, at most ms (the timer does not keep Node alive afterwards). */
function within(p, ms) {
  let t;
  return Promise.race([p, new Promise((r) => (t = setTimeout(r, ms)))]).finally(() => clearTimeout(t));
}
