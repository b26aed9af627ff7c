import { describe, expect, it } from "vitest";
import { objectGraphDot, renderDot, AF_INET, SOCK_STREAM } from "kernel-model";
import { runApp } from "./helpers";

describe("object diagram of a created socket (Fig 3.1, drawn by the model)", () => {
  const { k, task, result: fd } = runApp(function* (sys) {
    return yield* sys.socket(AF_INET, SOCK_STREAM, 0);
  });

  it("the DOT follows fd -> file -> socket -> sock, with the ops tables and the shared wait queue", () => {
    const dot = objectGraphDot(k, task, [fd]);
    expect(dot).toContain(`fdt:fd_${fd} -> file`);
    expect(dot).toMatch(/file\d+:private_data -> sock\d+;/);
    expect(dot).toContain("struct proto_ops inet_stream_ops");
    expect(dot).toContain("struct proto tcp_prot");
    expect(dot).toContain("tcp_v4_init_sock");
    expect(dot).toContain("sock_def_readable");
    expect(dot).toContain('label="same socket_wq"');
  });

  it("renders to SVG with Graphviz", async () => {
    const svg = await renderDot(objectGraphDot(k, task, [fd]));
    expect(svg.startsWith("<svg")).toBe(true);
    expect(svg).toContain("struct socket");
    expect(svg).toContain("inet_stream_ops");
  });
});
