// Repeated timing of a synchronous call: warm-up, then samples of one or more
// calls each, reported per call. Wall time (performance.now) is the result.
// Two contention figures come with it, because this machine's 2 vCPUs are
// shared: cpu/wall well below 1 means the samples waited for a core, and
// other processes' CPU use (from /proc/stat) catches a neighbour that slows
// us without taking our core (measured: GEMM halves while cpu/wall stays 1).
import { readFileSync } from "node:fs";

export interface Plan {
  warmupMs: number; // run at least this long first (0: no warm-up; the code is already hot)
  samples: number;
  sampleMs: number; // repeat the call inside a sample until it lasts about this long (0: one call)
}

export interface Timing {
  medianMs: number; // per call
  minMs: number; // per call
  samples: number;
  callsPerSample: number;
  cpuPerWall: number; // median over samples
  otherVcpus: number | null; // vCPUs busy with other processes, averaged over the samples (null: no /proc/stat)
}

export function measure(call: () => void, plan: Plan): Timing {
  let warmupCalls = 0;
  const warmupStart = performance.now();
  // At least one call when warming up: V8 tiers wasm up (Liftoff → TurboFan) on first use.
  while (plan.warmupMs > 0 && (warmupCalls === 0 || performance.now() - warmupStart < plan.warmupMs)) {
    call();
    warmupCalls++;
  }
  const estimateMs = warmupCalls > 0 ? (performance.now() - warmupStart) / warmupCalls : Infinity;
  const callsPerSample = Math.max(1, Math.round(plan.sampleMs / estimateMs));

  const wall: number[] = [];
  const cpuPerWall: number[] = [];
  const busyStart = machineBusySeconds();
  const ownStart = process.cpuUsage();
  const samplesStart = performance.now();
  for (let s = 0; s < plan.samples; s++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < callsPerSample; i++) call();
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    wall.push(ms / callsPerSample);
    cpuPerWall.push((cpu.user + cpu.system) / 1000 / ms);
  }
  const seconds = (performance.now() - samplesStart) / 1000;
  const own = process.cpuUsage(ownStart);
  const busyEnd = machineBusySeconds();
  const otherVcpus = busyStart === null || busyEnd === null ? null : (busyEnd - busyStart - (own.user + own.system) / 1e6) / seconds;
  return {
    medianMs: median(wall),
    minMs: Math.min(...wall),
    samples: plan.samples,
    callsPerSample,
    cpuPerWall: median(cpuPerWall),
    otherVcpus,
  };
}

/** CPU seconds all vCPUs have spent busy since boot (the "cpu" line of /proc/stat, in USER_HZ = 1/100 s). */
function machineBusySeconds(): number | null {
  let stat: string;
  try {
    stat = readFileSync("/proc/stat", "utf8");
  } catch {
    return null;
  }
  const [user, nice, system, , , irq, softirq] = stat.split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  return (user + nice + system + irq + softirq) / 100;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
