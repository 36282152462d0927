import { defineConfig } from "vitest/config";

// The playground page in headless Chromium against a local Worker (test/browser).
export default defineConfig({
  test: {
    include: ["test/browser/**/*.test.ts"],
    environment: "node",
    testTimeout: 180_000,
    hookTimeout: 180_000,
  },
});
