// Runs bench/workerd/worker.ts in workerd through wrangler's test harness:
// one fresh Worker (isolate) per configuration, so its cold-start pieces are cold.
import { join } from "node:path";
import { createTestHarness } from "wrangler";
import type { NetworkRun } from "./network.ts";

export async function benchInWorkerd(runs: { config: string; batch: number }[], quick: boolean): Promise<NetworkRun[]> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const out: NetworkRun[] = [];
  for (const r of runs) {
    const harness = createTestHarness({ workers: [{ configPath: join(import.meta.dirname, "workerd", "wrangler.toml") }] });
    try {
      const { url } = await harness.listen();
      const res = await fetch(new URL(`/run?config=${r.config}&batch=${r.batch}&quick=${quick ? 1 : 0}`, url));
      if (!res.ok) throw new Error(`workerd bench ${r.config}: ${res.status} ${await res.text()}`);
      out.push((await res.json()) as NetworkRun);
    } finally {
      await harness.close();
    }
  }
  return out;
}
