// Repeated timing of a call: warm-up, then samples of one or more calls each,
// reported per call. Wall time (performance.now) is the result. Platform-free
// (it also runs inside workerd); Node adds contention figures through
// `nodeContention` (bench/node-contention.ts), because this machine's 2 vCPUs
// are shared: cpu/wall well below 1 means the samples waited for a core, and
// other processes' CPU use catches a neighbour that slows us without taking
// our core (measured: GEMM halves while cpu/wall stays 1).

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
  cpuPerWall: number | null; // median over samples (null: not measurable here)
  otherVcpus: number | null; // vCPUs busy with other processes, averaged over the samples (null: not measurable here)
  sampleMs?: number[]; // measureRounds: per call in each round, in round order (for paired comparisons)
}

/** Optional CPU accounting around samples (Node: process.cpuUsage and /proc/stat). */
export interface Contention {
  ownCpuMs(): number;
  machineBusySeconds(): number | null;
}

export const plan = (warmupMs: number, samples: number, sampleMs: number): Plan => ({ warmupMs, samples, sampleMs });

/** Times `call` (sync or async) under `plan`. */
export async function measure(call: () => unknown, p: Plan, contention?: Contention): Promise<Timing> {
  const run = async () => {
    const r = call();
    if (r instanceof Promise) await r;
  };
  let warmupCalls = 0;
  const warmupStart = performance.now();
  // At least one call when warming up: V8 tiers wasm up (Liftoff → TurboFan) on first use.
  while (p.warmupMs > 0 && (warmupCalls === 0 || performance.now() - warmupStart < p.warmupMs)) {
    await run();
    warmupCalls++;
  }
  const estimateMs = warmupCalls > 0 ? (performance.now() - warmupStart) / warmupCalls : Infinity;
  const callsPerSample = Math.max(1, Math.round(p.sampleMs / estimateMs));

  const wall: number[] = [];
  const cpuPerWall: number[] = [];
  const busyStart = contention?.machineBusySeconds() ?? null;
  const ownStart = contention?.ownCpuMs() ?? 0;
  const samplesStart = performance.now();
  for (let s = 0; s < p.samples; s++) {
    const cpuStart = contention?.ownCpuMs() ?? 0;
    const start = performance.now();
    for (let i = 0; i < callsPerSample; i++) await run();
    const ms = performance.now() - start;
    wall.push(ms / callsPerSample);
    if (contention) cpuPerWall.push((contention.ownCpuMs() - cpuStart) / ms);
  }
  const seconds = (performance.now() - samplesStart) / 1000;
  const own = (contention?.ownCpuMs() ?? 0) - ownStart;
  const busyEnd = contention?.machineBusySeconds() ?? null;
  const otherVcpus = busyStart === null || busyEnd === null ? null : (busyEnd - busyStart - own / 1000) / seconds;
  return {
    medianMs: median(wall),
    minMs: Math.min(...wall),
    samples: p.samples,
    callsPerSample,
    cpuPerWall: contention ? median(cpuPerWall) : null,
    otherVcpus,
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * Times several calls side by side: each is warmed up, then every round takes
 * one sample of each in turn, so a neighbour's load falls on all of them
 * alike and their ratios (same round) stay fair.
 */
export async function measureRounds(calls: Record<string, () => unknown>, p: Plan, contention?: Contention): Promise<Record<string, Timing>> {
  const names = Object.keys(calls);
  const perSample: Record<string, number> = {};
  for (const name of names) {
    // a one-sample measurement warms the call up and sizes its samples
    const t = await measure(calls[name], { ...p, samples: 1 }, contention);
    perSample[name] = t.callsPerSample;
  }
  const rounds: Record<string, Timing[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (let s = 0; s < p.samples; s++) {
    for (const name of names) {
      rounds[name].push(await measureFixed(calls[name], perSample[name], contention));
    }
  }
  return Object.fromEntries(names.map((n) => [n, combine(rounds[n])]));
}

/** One sample of exactly `count` calls. */
async function measureFixed(call: () => unknown, count: number, contention?: Contention): Promise<Timing> {
  const busyStart = contention?.machineBusySeconds() ?? null;
  const cpuStart = contention?.ownCpuMs() ?? 0;
  const start = performance.now();
  for (let i = 0; i < count; i++) {
    const r = call();
    if (r instanceof Promise) await r;
  }
  const ms = performance.now() - start;
  const own = (contention?.ownCpuMs() ?? 0) - cpuStart;
  const busyEnd = contention?.machineBusySeconds() ?? null;
  return {
    medianMs: ms / count,
    minMs: ms / count,
    samples: 1,
    callsPerSample: count,
    cpuPerWall: contention ? own / ms : null,
    otherVcpus: busyStart === null || busyEnd === null ? null : (busyEnd - busyStart - own / 1000) / (ms / 1000),
  };
}

function combine(samples: Timing[]): Timing {
  const nums = (f: (t: Timing) => number | null) => samples.map(f).filter((x): x is number => x !== null);
  const cpu = nums((t) => t.cpuPerWall);
  const other = nums((t) => t.otherVcpus);
  return {
    medianMs: median(samples.map((t) => t.medianMs)),
    minMs: Math.min(...samples.map((t) => t.minMs)),
    samples: samples.length,
    callsPerSample: samples[0].callsPerSample,
    cpuPerWall: cpu.length ? median(cpu) : null,
    otherVcpus: other.length ? other.reduce((a, b) => a + b, 0) / other.length : null,
    sampleMs: samples.map((t) => t.medianMs),
  };
}

/**
 * How many times faster `b` is than `a`, from calls measured in the same
 * rounds: the median over rounds of a's time / b's time in that round. The two
 * run back to back in each round, so a machine that slows down or speeds up
 * between rounds (other tenants, frequency) cancels out of each ratio, which
 * a ratio of the two medians does not do.
 */
export function pairedSpeedup(a: Timing, b: Timing): number {
  const ra = a.sampleMs!, rb = b.sampleMs!;
  return median(ra.map((ms, i) => ms / rb[i]));
}
