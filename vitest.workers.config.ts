import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";

// The Worker inside workerd, with its real (local, ephemeral) R2 bucket.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  test: {
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
