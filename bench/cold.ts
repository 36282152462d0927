// Cold start of one configuration in a fresh Node process (default V8 flags):
//   node bench/cold.ts <config> [f32|bf16]  →  one JSON line
// process boot, module imports, wasm compile, then bench/network.ts's pieces
// (instantiate, safetensors unpack, pack, first step) and memory after two steps.
const bootMs = performance.now(); // process start → this line
const configName = process.argv[2] ?? "sudoku";
const dtype = process.argv[3] ?? "f32";
if (dtype !== "f32" && dtype !== "bf16") throw new Error(`bench/cold.ts: weights ${dtype}: give f32 or bf16`);
let t = performance.now();
const { readFileSync } = await import("node:fs");
const { benchNetwork } = await import("./network.ts");
const { plan } = await import("./timing.ts");
const importMs = performance.now() - t;
t = performance.now();
const module = new WebAssembly.Module(readFileSync(new URL("../build/kernels.wasm", import.meta.url)));
const compileMs = performance.now() - t;
const run = await benchNetwork(module, configName, 1, "node", { call: plan(0, 1, 0), step: plan(0, 1, 0) }, undefined, () => process.memoryUsage().heapUsed, dtype);
const mem = process.memoryUsage();
console.log(JSON.stringify({
  config: configName,
  runtime: "node",
  dtype,
  bootMs,
  importMs,
  compileMs,
  ...run.cold,
  secondStepMs: run.step.medianMs,
  wasmBytes: run.memory.wasmBytes,
  jsHeapBytes: mem.heapUsed,
  rssBytes: mem.rss,
  externalBytes: mem.external + mem.arrayBuffers,
}));
