import { resolve } from "node:path";
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";

// Golden vectors from the official code live in the shared folder next to the repository.
const shared = process.env.TRM_SHARED ?? resolve(import.meta.dirname, "../shared");

// The Worker inside workerd, with its real (local, ephemeral) R2 bucket.
export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" } })],
  resolve: { alias: { "@shared": shared } },
  test: {
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
