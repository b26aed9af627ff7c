import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["kernel-model/test/**/*.test.ts", "scripts/test/**/*.test.{ts,mjs}"],
    exclude: ["**/node_modules/**", "**/dist/**"],
    testTimeout: 60_000,
    // beforeAll starts a tslab kernel (scripts/test/book.test.mjs): 3-5 s here, more under load;
    // vitest's default hook timeout (10 s) failed it on a busy machine
    hookTimeout: 60_000,
  },
});
