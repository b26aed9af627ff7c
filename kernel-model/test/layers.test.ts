import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const SRC = path.join(__dirname, "..", "src");

describe("layers", () => {
  it("kernel/ imports nothing from plot/ or scenarios/ (plot/ registers what it draws)", () => {
    const bad: string[] = [];
    for (const f of readdirSync(path.join(SRC, "kernel")).filter((f) => f.endsWith(".ts"))) {
      const text = readFileSync(path.join(SRC, "kernel", f), "utf8");
      for (const m of text.matchAll(/from\s+"(\.\.\/(?:plot|scenarios)\/[^"]+)"/g)) bad.push(`${f}: ${m[1]}`);
    }
    expect(bad).toEqual([]);
  });
});
