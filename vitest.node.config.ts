import { defineConfig } from "vitest/config";

// Engine, converter and CLI tests: plain Node (the engine runs in Node too).
export default defineConfig({
  test: {
    include: ["test/node/**/*.test.ts"],
    environment: "node",
    testTimeout: 120_000,
  },
});
