// The scalar reference: the whole TRM / HRM network on Float32Array, written
// to be obviously correct rather than fast (dot products accumulate in
// float64). It is the oracle the WASM kernels are tested against. bf16
// matrices are widened to float32 once, here (exactly).
import { type ModelConfig, dims } from "./config.ts";
import { ropeTables, startSequence, type Puzzle } from "./inputs.ts";
import { type LayerWeightsF32, type Level, type Weights, layerF32, matrixF32 } from "./pack.ts";
import { INT8_ACTIVATION_LEVELS, INT8_WEIGHT_LEVELS, quantizeRows } from "./quantize.ts";
import type { Network, Readout, SequenceState } from "./recursion.ts";

/** y = x Wᵀ: x (rows, inF), W (outF, inF) → (rows, outF). */
export function linear(x: Float32Array, rows: number, inF: number, W: Float32Array, outF: number): Float32Array {
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let i = 0; i < inF; i++) s += x[r * inF + i] * W[o * inF + i];
      y[r * outF + o] = s;
    }
  }
  return y;
}

/** y ≈ x Wᵀ the int8 way: both operands quantised, exact integer sums, then s_w · s_x in float32. */
export function linearInt8(x: Float32Array, rows: number, inF: number, W: Float32Array, outF: number): Float32Array {
  const a = quantizeRows(x, rows, inF, INT8_ACTIVATION_LEVELS);
  const w = quantizeRows(W, outF, inF, INT8_WEIGHT_LEVELS);
  const y = new Float32Array(rows * outF);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < outF; o++) {
      let s = 0;
      for (let i = 0; i < inF; i++) s += a.q[r * inF + i] * w.q[o * inF + i];
      y[r * outF + o] = s * Math.fround(w.scale[o] * a.scale[r]);
    }
  }
  return y;
}

/** x · rsqrt(mean(x²) + eps) per row, in place. */
export function rmsNorm(x: Float32Array, rows: number, cols: number, eps: number): void {
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let c = 0; c < cols; c++) s += x[r * cols + c] ** 2;
    const scale = 1 / Math.sqrt(Math.fround(s / cols) + eps);
    for (let c = 0; c < cols; c++) x[r * cols + c] *= scale;
  }
}

/** silu(gate) · up from gu (rows, 2·inter) = [gate | up] → (rows, inter). */
export function swigluActivation(gu: Float32Array, rows: number, inter: number): Float32Array {
  const act = new Float32Array(rows * inter);
  for (let r = 0; r < rows; r++) {
    for (let j = 0; j < inter; j++) {
      const g = gu[r * 2 * inter + j];
      act[r * inter + j] = (g / (1 + Math.exp(-g))) * gu[r * 2 * inter + inter + j];
    }
  }
  return act;
}

/** down(silu(gate) · up) with [gate | up] = x gate_upᵀ: x (rows, n) → (rows, n). */
export function swigluMlp(x: Float32Array, rows: number, n: number, gateUp: Float32Array, down: Float32Array, inter: number): Float32Array {
  return linear(swigluActivation(linear(x, rows, n, gateUp, 2 * inter), rows, inter), rows, inter, down, n);
}

/** x (rows, cols) → (cols, rows). */
export function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const t = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) t[c * rows + r] = x[r * cols + c];
  return t;
}

/** x · cos + rotate_half(x) · sin on one head vector at `off` (d values) for position p. */
export function ropeHead(v: Float32Array, off: number, d: number, p: number, cos: Float32Array, sin: Float32Array): void {
  const half = d / 2;
  for (let j = 0; j < half; j++) {
    const x1 = v[off + j];
    const x2 = v[off + half + j];
    v[off + j] = Math.fround(x1 * cos[p * d + j]) - Math.fround(x2 * sin[p * d + j]);
    v[off + half + j] = Math.fround(x2 * cos[p * d + half + j]) + Math.fround(x1 * sin[p * d + half + j]);
  }
}

/** softmax(q kᵀ / sqrt(d)) v per head, bidirectional: qkv (L, 3·heads·d) → (L, heads·d). */
export function attention(qkv: Float32Array, L: number, heads: number, d: number): Float32Array {
  const H = heads * d;
  const out = new Float32Array(L * H);
  const scores = new Float64Array(L);
  const scale = 1 / Math.sqrt(d);
  for (let h = 0; h < heads; h++) {
    for (let i = 0; i < L; i++) {
      let max = -Infinity;
      for (let j = 0; j < L; j++) {
        let s = 0;
        for (let c = 0; c < d; c++) s += qkv[i * 3 * H + h * d + c] * qkv[j * 3 * H + H + h * d + c];
        scores[j] = s * scale;
        max = Math.max(max, scores[j]);
      }
      let sum = 0;
      for (let j = 0; j < L; j++) sum += scores[j] = Math.exp(scores[j] - max);
      for (let c = 0; c < d; c++) {
        let s = 0;
        for (let j = 0; j < L; j++) s += scores[j] * qkv[j * 3 * H + 2 * H + h * d + c];
        out[i * H + h * d + c] = s / sum;
      }
    }
  }
  return out;
}

export class ReferenceNetwork implements Network<Float32Array> {
  readonly config: ModelConfig;
  readonly weights: Weights;
  readonly maxBatch = Infinity; // plain arrays: no working-memory bound
  private readonly levels: Record<Level, LayerWeightsF32[]>;
  private readonly lmHead: Float32Array; // (V, H)
  private readonly rope: { cos: Float32Array; sin: Float32Array } | null;
  private ws: { zH: Float32Array; zL: Float32Array; x: Float32Array } | null = null;

  constructor(config: ModelConfig, weights: Weights) {
    this.config = config;
    this.weights = weights;
    const L = weights.levels.L.map(layerF32);
    this.levels = { L, H: weights.levels.H === weights.levels.L ? L : weights.levels.H.map(layerF32) };
    this.lmHead = matrixF32(weights.lmHead);
    this.rope = config.arch.pos_encodings === "rope" && !config.arch.mlp_t ? ropeTables(config) : null;
  }

  start(puzzle: Puzzle): SequenceState {
    return startSequence(this.config, this.weights, puzzle);
  }

  load(batch: SequenceState[]) {
    const concat = (key: keyof SequenceState) => {
      const n = batch[0][key].length;
      const out = new Float32Array(batch.length * n);
      batch.forEach((s, b) => out.set(s[key], b * n));
      return out;
    };
    this.ws = { zH: concat("zH"), zL: concat("zL"), x: concat("x") };
    return this.ws;
  }

  store(batch: SequenceState[]): void {
    const n = batch[0].zH.length;
    batch.forEach((s, b) => {
      s.zH.set(this.ws!.zH.subarray(b * n, (b + 1) * n));
      s.zL.set(this.ws!.zL.subarray(b * n, (b + 1) * n));
    });
    this.ws = null;
  }

  update(level: Level, z: Float32Array, a: Float32Array, b?: Float32Array): void {
    const { positions, hidden } = dims(this.config);
    const n = positions * hidden;
    for (let i = 0; i < z.length; i++) z[i] += b ? Math.fround(a[i] + b[i]) : a[i];
    for (let s = 0; s < z.length / n; s++) {
      const h = z.subarray(s * n, (s + 1) * n);
      for (const layer of this.levels[level]) this.block(h, layer);
    }
  }

  /** Post-norm block: h = norm(h + mix(h)); h = norm(h + mlp(h)), mix = attention or MLP-T. */
  private block(h: Float32Array, w: LayerWeightsF32): void {
    const { positions: L, hidden: H, heads, headDim: d, inter, interT } = dims(this.config);
    const eps = this.config.rms_norm_eps;
    if (this.config.arch.mlp_t) {
      const t = transpose(h, L, H); // (H, L)
      const out = swigluMlp(t, H, L, w.mlpTGateUp!, w.mlpTDown!, interT);
      for (let i = 0; i < t.length; i++) t[i] += out[i];
      rmsNorm(t, H, L, eps);
      h.set(transpose(t, H, L));
    } else {
      const qkv = linear(h, L, H, w.qkv!, 3 * H);
      if (this.rope) {
        for (let p = 0; p < L; p++) {
          for (let head = 0; head < 2 * heads; head++) ropeHead(qkv, p * 3 * H + head * d, d, p, this.rope.cos, this.rope.sin);
        }
      }
      const o = linear(attention(qkv, L, heads, d), L, H, w.o!, H);
      for (let i = 0; i < h.length; i++) h[i] += o[i];
      rmsNorm(h, L, H, eps);
    }
    const m = swigluMlp(h, L, H, w.gateUp, w.down, inter);
    for (let i = 0; i < h.length; i++) h[i] += m[i];
    rmsNorm(h, L, H, eps);
  }

  readout(zH: Float32Array): Readout {
    const { positions, hidden: H, puzzleLen: P, seqLen, vocab } = dims(this.config);
    const w = this.weights;
    const batch = zH.length / (positions * H);
    const out: Readout = { logits: [], qHalt: new Float32Array(batch), qContinue: new Float32Array(batch) };
    for (let b = 0; b < batch; b++) {
      const z = zH.subarray(b * positions * H, (b + 1) * positions * H);
      out.logits.push(linear(z.subarray(P * H), seqLen, H, this.lmHead, vocab));
      const q = linear(z.subarray(0, H), 1, H, w.qHeadW, 2);
      out.qHalt[b] = q[0] + w.qHeadB[0];
      out.qContinue[b] = q[1] + w.qHeadB[1];
    }
    return out;
  }
}
