import { resolve } from "node:path";
import { defineConfig } from "vitest/config";
import { cloudflareTest } from "@cloudflare/vitest-plugin";

// Golden vectors from the official code live in the shared folder next to the repository.
const shared = process.env.TRM_SHARED ?? resolve(import.meta.dirname, "../shared");

// The Worker inside workerd, with its real (local, ephemeral) R2 buckets,
// queues and Durable Objects. Jobs get small slices (4 shipped-model Sudokus at 16 steps, 4.13 GFLOP each, per message),
// a 1 s retry backoff and a small job limit, so a few puzzles exercise many
// messages, retries and the limit quickly.
const jobVars = { JOB_SLICE_GFLOP: 17, JOB_RETRY_DELAY_S: 1, MAX_JOB_PUZZLES: 100 };

export default defineConfig({
  plugins: [cloudflareTest({ wrangler: { configPath: "./wrangler.toml" }, miniflare: { bindings: jobVars } })],
  resolve: { alias: { "@shared": shared } },
  test: {
    include: ["test/worker/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
