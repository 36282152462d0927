// Node's contention figures for bench/timing.ts: our own CPU time, and the
// whole machine's busy time from /proc/stat (null where there is none).
import { readFileSync } from "node:fs";
import type { Contention } from "./timing.ts";

export const nodeContention: Contention = {
  ownCpuMs() {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1000;
  },
  /** CPU seconds all vCPUs have spent busy since boot (the "cpu" line of /proc/stat, in USER_HZ = 1/100 s). */
  machineBusySeconds() {
    let stat: string;
    try {
      stat = readFileSync("/proc/stat", "utf8");
    } catch {
      return null;
    }
    const [user, nice, system, , , irq, softirq] = stat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
    return (user + nice + system + irq + softirq) / 100;
  },
};
