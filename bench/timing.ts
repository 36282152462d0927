// Repeated timing of a synchronous call: warm-up, then samples of one or more
// calls each, reported per call. Wall time (performance.now) is the result;
// process CPU time is kept alongside because the machine's few vCPUs are
// shared, and cpu/wall well below 1 means the samples waited for a core.

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
  for (let s = 0; s < plan.samples; s++) {
    const cpuStart = process.cpuUsage();
    const start = performance.now();
    for (let i = 0; i < callsPerSample; i++) call();
    const ms = performance.now() - start;
    const cpu = process.cpuUsage(cpuStart);
    wall.push(ms / callsPerSample);
    cpuPerWall.push((cpu.user + cpu.system) / 1000 / ms);
  }
  return {
    medianMs: median(wall),
    minMs: Math.min(...wall),
    samples: plan.samples,
    callsPerSample,
    cpuPerWall: median(cpuPerWall),
  };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
