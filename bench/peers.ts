// The two other WebAssembly engines, run in the bench's own process on the
// same shapes and weights as ours: onnxruntime-web (wasm backend, MLAS,
// 1 thread) on ONNX models that bench/onnx.ts builds here, and
// @tensorflow/tfjs-backend-wasm (XNNPACK, 1 thread) on the same graphs written
// as tf ops. Both are SIMD128 builds without relaxed SIMD (peer-bench.md §5).
// Weights are constants in both (ORT pre-packs initializers at session
// creation, XNNPACK caches its packed weights on first use), like ours.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import * as tf from "@tensorflow/tfjs-core";
import { setThreadsCount, setWasmPaths } from "@tensorflow/tfjs-backend-wasm";
import * as ort from "onnxruntime-web";
import { type ModelConfig, dims } from "../src/engine/config.ts";
import { type LayerWeightsF32, type Weights, layerF32 } from "../src/engine/pack.ts";
import { GraphBuilder, encodeModel } from "./onnx.ts";

const require = createRequire(import.meta.url);

export interface Runner {
  run(): Promise<void>;
  /** The result of the last run, as float32 (for checking against ours). */
  output(): Float32Array;
  dispose(): void;
}

export interface RopeTables {
  cos: Float32Array; // (positions, d)
  sin: Float32Array;
}

export interface PeerEngine {
  name: string;
  version: string;
  initMs: number; // runtime start (wasm compile + init)
  /** C (m, n) = A (m, k) · B (k, n), B a constant. */
  matmul(m: number, k: number, n: number, b: Float32Array, a: Float32Array): Promise<Runner>;
  /** The channel SwiGLU block: rms_norm(x + down(silu(gate) · up)), x (m, H); weights as PyTorch stores them. */
  swigluBlock(m: number, config: ModelConfig, layer: LayerWeightsF32, x: Float32Array): Promise<Runner>;
  /** One network call: every block of `weights` on one sequence x (positions, H). */
  networkCall(config: ModelConfig, weights: Weights, rope: RopeTables | null, x: Float32Array): Promise<Runner>;
}

function packageVersion(name: string): string {
  return (require(`${name}/package.json`) as { version: string }).version;
}

/** W (rows, cols) → Wᵀ (cols, rows): PyTorch's [out, in] to the [in, out] a matmul takes. */
export function transposed(w: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(w.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = w[r * cols + c];
  return out;
}

// ------------------------------------------------------------------ onnxruntime-web

function onnxRms(g: GraphBuilder, x: string, eps: number): string {
  const mean = g.op1("ReduceMean", [g.op1("Mul", [x, x])], { axes: [-1], keepdims: 1 });
  return g.op1("Div", [x, g.op1("Sqrt", [g.op1("Add", [mean, g.scalar(eps)])])]);
}

/** down(silu(gate) · up) with gate_up (rows, in) → fused [in, 2·inter] weight. */
function onnxSwiglu(g: GraphBuilder, x: string, gateUp: Float32Array, down: Float32Array, width: number, inter: number): string {
  const gu = g.op1("MatMul", [x, g.constant(transposed(gateUp, 2 * inter, width), [width, 2 * inter])]);
  const [gate, up] = g.op("Split", [gu, g.ints([inter, inter])], { axis: -1 }, 2);
  const act = g.op1("Mul", [g.op1("Mul", [gate, g.op1("Sigmoid", [gate])]), up]);
  return g.op1("MatMul", [act, g.constant(transposed(down, width, inter), [inter, width])]);
}

function onnxChannelBlock(g: GraphBuilder, x: string, config: ModelConfig, w: LayerWeightsF32): string {
  const { hidden: H, inter } = dims(config);
  return onnxRms(g, g.op1("Add", [x, onnxSwiglu(g, x, w.gateUp, w.down, H, inter)]), config.rms_norm_eps);
}

function onnxRope(g: GraphBuilder, x: string, d: number, cos: string, sin: string): string {
  const [x1, x2] = g.op("Split", [x, g.ints([d / 2, d / 2])], { axis: -1 }, 2);
  const rotated = g.op1("Concat", [g.op1("Neg", [x2]), x1], { axis: -1 });
  return g.op1("Add", [g.op1("Mul", [x, cos]), g.op1("Mul", [rotated, sin])]);
}

function onnxBlock(g: GraphBuilder, x: string, config: ModelConfig, w: LayerWeightsF32, rope: { cos: string; sin: string } | null): string {
  const { hidden: H, positions: L, heads, headDim: d, interT } = dims(config);
  const eps = config.rms_norm_eps;
  let h: string;
  if (config.arch.mlp_t) {
    const t = g.op1("Transpose", [x], { perm: [1, 0] }); // (H, L)
    const mixed = onnxRms(g, g.op1("Add", [t, onnxSwiglu(g, t, w.mlpTGateUp!, w.mlpTDown!, L, interT)]), eps);
    h = g.op1("Transpose", [mixed], { perm: [1, 0] });
  } else {
    const qkv = g.op1("MatMul", [x, g.constant(transposed(w.qkv!, 3 * H, H), [H, 3 * H])]);
    const split = g.op1("Transpose", [g.op1("Reshape", [qkv, g.ints([L, 3, heads, d])])], { perm: [1, 2, 0, 3] }); // (3, heads, L, d)
    let [q, k, v] = g.op("Split", [split, g.ints([1, 1, 1])], { axis: 0 }, 3); // (1, heads, L, d) each
    if (rope) {
      q = onnxRope(g, q, d, rope.cos, rope.sin);
      k = onnxRope(g, k, d, rope.cos, rope.sin);
    }
    const scores = g.op1("Mul", [g.op1("MatMul", [q, g.op1("Transpose", [k], { perm: [0, 1, 3, 2] })]), g.scalar(1 / Math.sqrt(d))]);
    const o = g.op1("MatMul", [g.op1("Softmax", [scores], { axis: -1 }), v]); // (1, heads, L, d)
    const merged = g.op1("Reshape", [g.op1("Transpose", [o], { perm: [0, 2, 1, 3] }), g.ints([L, H])]);
    const proj = g.op1("MatMul", [merged, g.constant(transposed(w.o!, H, H), [H, H])]);
    h = onnxRms(g, g.op1("Add", [x, proj]), eps);
  }
  return onnxChannelBlock(g, h, config, w);
}

async function ortRunner(g: GraphBuilder, name: string, inputDims: number[], outputDims: number[], x: Float32Array): Promise<Runner> {
  g.output("Y");
  const model = encodeModel(g.graph(name, [{ name: "X", dims: inputDims }], [{ name: "Y", dims: outputDims }]));
  const session = await ort.InferenceSession.create(model, { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const feeds = { X: new ort.Tensor("float32", x, inputDims) };
  let last: Float32Array = new Float32Array(0);
  return {
    async run() {
      const out = await session.run(feeds);
      last = out.Y.data as Float32Array;
      out.Y.dispose();
    },
    output: () => last,
    dispose: () => void session.release(),
  };
}

export async function onnxruntimeWeb(): Promise<PeerEngine> {
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = "error";
  const t0 = performance.now();
  { // the first session starts the runtime: time it apart from real models
    const g = new GraphBuilder();
    g.op1("Add", ["X", g.scalar(1)]);
    const r = await ortRunner(g, "init", [1], [1], Float32Array.of(0));
    await r.run();
    r.dispose();
  }
  return {
    name: "onnxruntime-web",
    version: ort.env.versions.web ?? "?",
    initMs: performance.now() - t0,
    async matmul(m, k, n, b, a) {
      const g = new GraphBuilder();
      g.op1("MatMul", ["X", g.constant(b, [k, n])]);
      return ortRunner(g, "matmul", [m, k], [m, n], a);
    },
    async swigluBlock(m, config, layer, x) {
      const g = new GraphBuilder();
      onnxChannelBlock(g, "X", config, layer);
      return ortRunner(g, "swiglu_block", [m, dims(config).hidden], [m, dims(config).hidden], x);
    },
    async networkCall(config, weights, rope, x) {
      const { positions: L, hidden: H, headDim: d } = dims(config);
      const g = new GraphBuilder();
      const tables = rope ? { cos: g.constant(rope.cos, [L, d]), sin: g.constant(rope.sin, [L, d]) } : null;
      let h = "X";
      for (const layer of weights.levels.L.map(layerF32)) h = onnxBlock(g, h, config, layer, tables);
      return ortRunner(g, "network_call", [L, H], [L, H], x);
    },
  };
}

// ------------------------------------------------------------------ tfjs-backend-wasm

function tfRms(x: tf.Tensor, eps: number): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)));
}

interface TfSwiglu {
  gateUp: tf.Tensor2D; // (in, 2·inter)
  down: tf.Tensor2D; // (inter, in)
}

function tfSwigluWeights(gateUp: Float32Array, down: Float32Array, width: number, inter: number): TfSwiglu {
  return {
    gateUp: tf.tensor2d(transposed(gateUp, 2 * inter, width), [width, 2 * inter]),
    down: tf.tensor2d(transposed(down, width, inter), [inter, width]),
  };
}

function tfSwiglu(x: tf.Tensor2D, w: TfSwiglu): tf.Tensor2D {
  const [gate, up] = tf.split(tf.matMul(x, w.gateUp), 2, 1);
  return tf.matMul(tf.mul(tf.mul(gate, tf.sigmoid(gate)), up) as tf.Tensor2D, w.down);
}

interface TfLayer {
  mlpT?: TfSwiglu;
  qkv?: tf.Tensor2D;
  o?: tf.Tensor2D;
  mlp: TfSwiglu;
}

function tfLayer(config: ModelConfig, w: LayerWeightsF32): TfLayer {
  const { hidden: H, positions: L, inter, interT } = dims(config);
  return {
    mlpT: config.arch.mlp_t ? tfSwigluWeights(w.mlpTGateUp!, w.mlpTDown!, L, interT) : undefined,
    qkv: w.qkv ? tf.tensor2d(transposed(w.qkv, 3 * H, H), [H, 3 * H]) : undefined,
    o: w.o ? tf.tensor2d(transposed(w.o, H, H), [H, H]) : undefined,
    mlp: tfSwigluWeights(w.gateUp, w.down, H, inter),
  };
}

function tfRope(x: tf.Tensor2D, cos: tf.Tensor2D, sin: tf.Tensor2D): tf.Tensor2D {
  const [x1, x2] = tf.split(x, 2, 1);
  return tf.add(tf.mul(x, cos), tf.mul(tf.concat([tf.neg(x2), x1], 1), sin));
}

/**
 * One block. Attention is per head with 2-D matMuls and an explicit transpose:
 * tfjs-wasm only sends 2-D, untransposed matMuls to XNNPACK (peer-bench.md §3),
 * so this is its fast form.
 */
function tfBlock(x: tf.Tensor2D, config: ModelConfig, w: TfLayer, rope: { cos: tf.Tensor2D; sin: tf.Tensor2D } | null): tf.Tensor2D {
  const { hidden: H, positions: L, heads, headDim: d } = dims(config);
  const eps = config.rms_norm_eps;
  let h: tf.Tensor2D;
  if (w.mlpT) {
    const t = tf.transpose(x);
    h = tf.transpose(tfRms(tf.add(t, tfSwiglu(t, w.mlpT)), eps)) as tf.Tensor2D;
  } else {
    const qkv = tf.matMul(x, w.qkv!);
    const outs: tf.Tensor2D[] = [];
    for (let head = 0; head < heads; head++) {
      let q = tf.slice(qkv, [0, head * d], [L, d]) as tf.Tensor2D;
      let k = tf.slice(qkv, [0, H + head * d], [L, d]) as tf.Tensor2D;
      const v = tf.slice(qkv, [0, 2 * H + head * d], [L, d]) as tf.Tensor2D;
      if (rope) {
        q = tfRope(q, rope.cos, rope.sin);
        k = tfRope(k, rope.cos, rope.sin);
      }
      const p = tf.softmax(tf.mul(tf.matMul(q, tf.transpose(k)), 1 / Math.sqrt(d)));
      outs.push(tf.matMul(p as tf.Tensor2D, v));
    }
    h = tfRms(tf.add(x, tf.matMul(tf.concat(outs, 1), w.o!)), eps) as tf.Tensor2D;
  }
  return tfRms(tf.add(h, tfSwiglu(h, w.mlp)), eps) as tf.Tensor2D;
}

function tfRunner(f: () => tf.Tensor, keep: tf.Tensor[]): Runner {
  let last: Float32Array = new Float32Array(0);
  return {
    async run() {
      const y = tf.tidy(f);
      last = y.dataSync() as Float32Array;
      y.dispose();
    },
    output: () => last,
    dispose: () => keep.forEach((t) => t.dispose()),
  };
}

export async function tfjsWasm(): Promise<PeerEngine> {
  const t0 = performance.now();
  tf.env().set("WASM_HAS_MULTITHREAD_SUPPORT", false); // the single-threaded SIMD binary
  setWasmPaths(join(dirname(require.resolve("@tensorflow/tfjs-backend-wasm/package.json")), "dist") + "/");
  setThreadsCount(1);
  if (!(await tf.setBackend("wasm"))) throw new Error("tfjs: the wasm backend did not start");
  await tf.ready();
  if (!tf.env().getBool("WASM_HAS_SIMD_SUPPORT")) throw new Error("tfjs: no SIMD in the wasm backend");
  return {
    name: "tfjs-wasm",
    version: packageVersion("@tensorflow/tfjs-backend-wasm"),
    initMs: performance.now() - t0,
    async matmul(m, k, n, b, a) {
      const A = tf.tensor2d(a, [m, k]);
      const B = tf.tensor2d(b, [k, n]);
      return tfRunner(() => tf.matMul(A, B), [A, B]);
    },
    async swigluBlock(m, config, layer, x) {
      const { hidden: H, inter } = dims(config);
      const X = tf.tensor2d(x, [m, H]);
      const w = tfSwigluWeights(layer.gateUp, layer.down, H, inter);
      return tfRunner(() => tfRms(tf.add(X, tfSwiglu(X, w)), config.rms_norm_eps), [X, w.gateUp, w.down]);
    },
    async networkCall(config, weights, rope, x) {
      const { positions: L, hidden: H, headDim: d } = dims(config);
      const X = tf.tensor2d(x, [L, H]);
      const layers = weights.levels.L.map((lw) => tfLayer(config, layerF32(lw)));
      const tables = rope ? { cos: tf.tensor2d(rope.cos, [L, d]), sin: tf.tensor2d(rope.sin, [L, d]) } : null;
      const keep: tf.Tensor[] = [X, ...(tables ? [tables.cos, tables.sin] : [])];
      for (const l of layers) keep.push(...[l.qkv, l.o, l.mlpT?.gateUp, l.mlpT?.down, l.mlp.gateUp, l.mlp.down].filter((t) => t !== undefined));
      return tfRunner(() => layers.reduce((h, l) => tfBlock(h, config, l, tables), X as tf.Tensor2D), keep);
    },
  };
}
