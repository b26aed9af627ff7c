import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["kernel-model/test/**/*.test.ts", "scripts/test/**/*.test.{ts,mjs}"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
  },
});
