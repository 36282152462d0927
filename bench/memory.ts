// Memory of a served model inside workerd, row by row: a fresh Worker
// (bench/workerd/worker.ts) per row, its pack put in the Worker's local R2
// bucket, loaded the way the API Worker loads packs (src/worker/models.ts),
// then one full supervision step over `augmentations` sequences. Then:
//   wasm_bytes: the kernels' WebAssembly memory (never shrinks: its peak);
//   js_heap_bytes: the isolate's JS heap in use plus the ArrayBuffers it holds
//     (V8's Runtime.getHeapUsage usedSize + backingStorageSize over the inspector,
//     after a forced GC), so pack bytes still held after loading would show here;
//   js_heap_peak_bytes: the largest heap sampled while the step ran (carries, rows,
//     votes alive at once; garbage included, so an upper bound): what total_bytes uses;
//   cpu_ms_per_augmentation_step: workerd's CPU time (this Worker's process, all
//     threads, /proc) over the step request, per sequence.
// 128 MiB is the Workers isolate limit, which the local runtime does not enforce.
import { join } from "node:path";
import { unstable_startWorker } from "wrangler";
import { dims } from "../src/engine/config.ts";
import { MANIFEST_FILE, WEIGHTS_FILE } from "../src/engine/pack.ts";
import { CONFIGS } from "./configs.ts";
import { randomPack } from "./random-weights.ts";
import { workerdCpuMs } from "./workerd.ts";

export const ISOLATE_LIMIT_BYTES = 128 * 2 ** 20;

export interface MemoryRow {
  config: string;
  augmentations: number; // sequences through the step (1 = a single puzzle)
  dtype: "f32" | "bf16"; // of the pack, kept so in wasm memory
  runtime: "workerd";
  parameters: number;
  pack_bytes: number;
  wasm_bytes: number;
  js_heap_bytes: number; // used JS heap + ArrayBuffer backing stores
  js_heap_used_bytes: number;
  js_array_buffer_bytes: number;
  js_heap_peak_bytes: number; // the most sampled while the step ran (no forced GC: an upper bound)
  total_bytes: number; // wasm + JS at its peak
  under_128_mib: boolean;
  load_ms: number; // wall, R2 read to packed
  step_ms: number; // wall
  cpu_ms_per_augmentation_step: number | null;
}


/** A DevTools-protocol session on the Worker's inspector (the proxy wrangler runs). */
export async function inspector(port: number) {
  const list = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as { webSocketDebuggerUrl: string }[];
  // the proxy accepts the DevTools front end's origin
  const ws = new WebSocket(list[0].webSocketDebuggerUrl, { headers: { Origin: "https://devtools.devprod.cloudflare.dev" } } as unknown as string[]);
  await new Promise((resolve, reject) => {
    ws.addEventListener("open", resolve);
    ws.addEventListener("error", () => reject(new Error("cannot connect to the Worker's inspector")));
  });
  let id = 0;
  let context: number | undefined; // the Worker's execution context, once Runtime.enable has announced it
  const pending = new Map<number, { resolve: (result: unknown) => void; reject: (e: Error) => void }>();
  ws.addEventListener("message", (e) => {
    const m = JSON.parse(String(e.data)) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: { context?: { id: number } } };
    if (m.method === "Runtime.executionContextCreated") context = m.params?.context?.id;
    if (m.id === undefined) return;
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.error) p?.reject(new Error(`inspector: ${m.error.message}`));
    else p?.resolve(m.result);
  });
  // An answer that never comes (seen once on a loaded machine) fails the row instead of hanging the bench.
  const send = (method: string, params: Record<string, unknown> = {}, timeoutMs = 60_000) => new Promise<unknown>((resolve, reject) => {
    pending.set(++id, { resolve, reject });
    ws.send(JSON.stringify({ id, method, params }));
    setTimeout(() => reject(new Error(`the Worker's inspector did not answer ${method} within ${timeoutMs} ms`)), timeoutMs).unref();
  });
  return { send, context: () => context, close: () => ws.close() };
}

export type Inspector = Awaited<ReturnType<typeof inspector>>;

export interface HeapUsage {
  usedSize: number; // JS heap in use
  totalSize: number; // JS heap V8 has committed
  backingStorageSize?: number; // ArrayBuffer backing stores
}

/**
 * The isolate's heap after a forced GC; `enter` makes a request, since the
 * isolate runs the collection when it is entered. A request that lands before
 * the inspector's message does not run it, so enter again until it is done.
 */
export async function heapAfterGc(session: Inspector, enter: () => Promise<unknown>): Promise<HeapUsage> {
  let done = false;
  const gc = session.send("HeapProfiler.collectGarbage").finally(() => (done = true));
  for (let i = 0; i < 20 && !done; i++) {
    await enter();
    await Promise.race([gc, new Promise((r) => setTimeout(r, 1000))]);
  }
  await gc;
  return (await session.send("Runtime.getHeapUsage")) as HeapUsage;
}

/**
 * Bytes of every WebAssembly.Memory alive in the isolate (one per loaded model's
 * engine), found from outside: Runtime.queryObjects over WebAssembly.Memory's
 * prototype. An engine instance that leaked would show as one more entry.
 */
export async function wasmMemories(session: Inspector): Promise<number[]> {
  if (session.context() === undefined) await session.send("Runtime.enable");
  const group = { objectGroup: "wasm-memories" }; // released below, so the inspector itself holds nothing
  try {
    const proto = (await session.send("Runtime.evaluate", { expression: "WebAssembly.Memory.prototype", contextId: session.context(), ...group })) as { result: { objectId: string } };
    const found = (await session.send("Runtime.queryObjects", { prototypeObjectId: proto.result.objectId, ...group })) as { objects: { objectId: string } };
    const sizes = (await session.send("Runtime.callFunctionOn", {
      objectId: found.objects.objectId, functionDeclaration: "function () { return this.map((m) => m.buffer.byteLength); }", returnByValue: true, ...group,
    })) as { result: { value: number[] } };
    return sizes.result.value;
  } finally {
    await session.send("Runtime.releaseObjectGroup", group);
  }
}

export async function memoryInWorkerd(rows: { config: string; augmentations: number; dtype: "f32" | "bf16" }[]): Promise<MemoryRow[]> {
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= "false";
  process.env.WRANGLER_SEND_METRICS ??= "false";
  const out: MemoryRow[] = [];
  for (const r of rows) {
    const config = CONFIGS[r.config];
    const name = `${r.config}-${r.dtype}`;
    const { manifest, bytes } = await randomPack(config, r.dtype, name);
    const port = 20000 + Math.floor(Math.random() * 20000);
    const worker = await unstable_startWorker({
      config: join(import.meta.dirname, "workerd", "wrangler.toml"),
      dev: { server: { port: 0 }, inspector: { port }, persist: false, logLevel: "error" },
    });
    try {
      await worker.ready;
      const call = async (path: string, init?: { method: string; body: string | Uint8Array }) => {
        const res = await worker.fetch(`http://bench${path}`, init as Parameters<typeof worker.fetch>[1]);
        if (!res.ok) throw new Error(`workerd memory bench ${path}: ${res.status} ${await res.text()}`);
        return res;
      };
      await call(`/models/${name}/${MANIFEST_FILE}`, { method: "PUT", body: JSON.stringify(manifest) });
      await call(`/models/${name}/${WEIGHTS_FILE}`, { method: "PUT", body: bytes });
      const { load_ms } = (await (await call(`/load?model=${name}`)).json()) as { load_ms: number };
      const session = await inspector(port);
      try {
        // While the step runs, sample the heap whenever the isolate lets the inspector in (between
        // supervision steps and slices): no forced GC, so garbage counts too and the peak is an upper bound.
        const usage = async () => {
          const h = (await session.send("Runtime.getHeapUsage")) as { usedSize: number; backingStorageSize?: number };
          return h.usedSize + (h.backingStorageSize ?? 0);
        };
        let peak = 0;
        let stepping = true;
        const sampler = (async () => {
          while (stepping) {
            peak = Math.max(peak, await usage().catch(() => 0));
            await new Promise((r) => setTimeout(r, 100));
          }
        })();
        const cpu0 = workerdCpuMs({ ownOnly: true });
        // ARC rows with augmentations run as an ARC request does: sliced, then voted
        const arc = config.seq_len === 900 && config.vocab_size === 12 && r.augmentations > 1 ? "&arc=1" : "";
        const step = (await (await call(`/step?model=${name}&augmentations=${r.augmentations}${arc}`)).json()) as { step_ms: number; wasm_bytes: number };
        const cpu1 = workerdCpuMs({ ownOnly: true });
        stepping = false;
        await sampler;
        const heap = await heapAfterGc(session, () => call("/ping"));
        const js = heap.usedSize + (heap.backingStorageSize ?? 0);
        out.push({
          config: r.config, augmentations: r.augmentations, dtype: r.dtype, runtime: "workerd",
          parameters: manifest.weights.parameters, pack_bytes: bytes.byteLength,
          wasm_bytes: step.wasm_bytes, js_heap_bytes: js, js_heap_used_bytes: heap.usedSize, js_array_buffer_bytes: heap.backingStorageSize ?? 0,
          js_heap_peak_bytes: Math.max(peak, js),
          total_bytes: step.wasm_bytes + Math.max(peak, js), under_128_mib: step.wasm_bytes + Math.max(peak, js) < ISOLATE_LIMIT_BYTES,
          load_ms, step_ms: step.step_ms,
          cpu_ms_per_augmentation_step: cpu0 === null || cpu1 === null ? null : (cpu1 - cpu0) / r.augmentations,
        });
      } finally {
        session.close();
      }
    } finally {
      await worker.dispose();
    }
    process.stderr.write(`bench: memory ${r.config} x${r.augmentations} ${r.dtype}: ${dims(config).positions} positions done\n`);
  }
  return out;
}
