// Runs bench/workerd/worker.ts in workerd through wrangler's test harness:
// one fresh Worker (isolate) per configuration, so its cold-start pieces are cold.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { createTestHarness } from "wrangler";
import type { NetworkRun } from "./network.ts";

/** A workerd run with workerd's own CPU time over the request (null without /proc). */
export interface WorkerdRun extends NetworkRun {
  workerd_cpu_per_wall: number | null;
}

/** CPU ms of every workerd process on the machine, summed over its threads (/proc/<pid>/task/<tid>/schedstat, ns). */
function workerdCpuMs(): number | null {
  try {
    let ns = 0;
    for (const pid of readdirSync("/proc").filter((d) => /^\d+$/.test(d))) {
      let comm: string;
      try {
        comm = readFileSync(`/proc/${pid}/comm`, "utf8").trim();
      } catch {
        continue;
      }
      if (comm !== "workerd") continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        try {
          ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
        } catch {
          // thread ended
        }
      }
    }
    return ns / 1e6;
  } catch {
    return null;
  }
}

export async function benchInWorkerd(runs: { config: string; batch: number }[], quick: boolean): Promise<WorkerdRun[]> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const out: WorkerdRun[] = [];
  for (const r of runs) {
    const harness = createTestHarness({ workers: [{ configPath: join(import.meta.dirname, "workerd", "wrangler.toml") }] });
    try {
      const { url } = await harness.listen();
      const cpuStart = workerdCpuMs();
      const start = performance.now();
      const res = await fetch(new URL(`/run?config=${r.config}&batch=${r.batch}&quick=${quick ? 1 : 0}`, url));
      if (!res.ok) throw new Error(`workerd bench ${r.config}: ${res.status} ${await res.text()}`);
      const run = (await res.json()) as NetworkRun;
      const wall = performance.now() - start;
      const cpuEnd = workerdCpuMs();
      // the whole request (cold pieces, warm-up, samples): did workerd wait for a core?
      out.push({ ...run, workerd_cpu_per_wall: cpuStart === null || cpuEnd === null ? null : (cpuEnd - cpuStart) / wall });
    } finally {
      await harness.close();
    }
  }
  return out;
}
