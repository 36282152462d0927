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

/**
 * CPU ms of the workerd processes on the machine (or only those this process
 * started, its descendants), summed over their threads (/proc/<pid>/task/<tid>/schedstat, ns);
 * null without /proc.
 */
export function workerdCpuMs({ ownOnly = false } = {}): number | null {
  try {
    const parent = new Map<number, number>();
    const comm = new Map<number, string>();
    for (const d of readdirSync("/proc").filter((x) => /^\d+$/.test(x))) {
      try {
        const stat = readFileSync(`/proc/${d}/stat`, "utf8");
        const close = stat.lastIndexOf(")");
        comm.set(Number(d), stat.slice(stat.indexOf("(") + 1, close));
        parent.set(Number(d), Number(stat.slice(close + 2).split(" ")[1]));
      } catch {
        // process ended
      }
    }
    const mine = (pid: number): boolean => {
      for (let p = pid; p > 1; p = parent.get(p) ?? 0) if (p === process.pid) return true;
      return false;
    };
    let ns = 0;
    for (const [pid, name] of comm) {
      if (name !== "workerd" || (ownOnly && !mine(pid))) continue; // another run's workerd
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

export async function benchInWorkerd(runs: { config: string; batch: number; dtype: "f32" | "bf16" }[], quick: boolean): Promise<WorkerdRun[]> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const out: WorkerdRun[] = [];
  for (const r of runs) {
    const harness = createTestHarness({ workers: [{ configPath: join(import.meta.dirname, "workerd", "wrangler.toml") }] });
    try {
      const { url } = await harness.listen();
      const cpuStart = workerdCpuMs();
      const start = performance.now();
      const res = await fetch(new URL(`/run?config=${r.config}&batch=${r.batch}&dtype=${r.dtype}&quick=${quick ? 1 : 0}`, url));
      if (!res.ok) throw new Error(`workerd bench ${r.config} ${r.dtype}: ${res.status} ${await res.text()}`);
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
