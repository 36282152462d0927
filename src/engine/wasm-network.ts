// The TRM / HRM network on the WASM SIMD kernels. Linear weights are packed
// into GEMM panels once, at construction, in the dtype they come in: f32
// panels (gemm.ts), or bf16 panels (gemm_bf16.ts) for a bf16 pack, widened
// in registers, so a bf16 model takes half the memory. Activations live in
// the same memory and are sized for the largest batch seen so far. With
// linear dtype "int8" the block's linear layers (qkv, o, the MLPs) run on the
// int8 kernels (gemm_i8.ts: weights per output channel, activations per row);
// attention scores, norms, lm_head and q_head stay float32 (lm_head bf16 in a
// bf16 pack). The network keeps no view of the weights it was given (only
// copies of the small input tables), so the pack's bytes can be released
// once it is built. Everything here runs synchronously inside one
// supervision step (see recursion.ts), so requests interleaving at awaits
// never see each other's buffers half-written.
import { type Dims, type ModelConfig, dims } from "./config.ts";
import { ropeTables, startSequence, type Puzzle } from "./inputs.ts";
import { Arena, ensureMemory, instantiateKernels, type Kernels } from "./kernels.ts";
import { type InputWeights, type LayerWeights, type Level, type Matrix, type Weights, matrixF32 } from "./pack.ts";
import type { Network, Readout, SequenceState } from "./recursion.ts";

// Rows of the channel MLP per GEMM: bounds its (rows, 2·inter) scratch.
const MLP_ROWS = 128;
// Positions (sequences × (P + seq)) loaded at once: bounds the four (B, P+seq, H)
// state buffers (16 MiB at hidden 512), e.g. 21 Sudokus or 2 ARC grids per group.
const MAX_BATCH_POSITIONS = 2048;

/** How the block's linear layers compute. */
export type LinearDtype = "f32" | "int8";
export const LINEAR_DTYPES: readonly LinearDtype[] = ["f32", "int8"];

/** A weight packed for one of the GEMM kernels. */
interface Packed {
  ptr: number;
  kind: "f32" | "bf16" | "int8";
}

interface PackedLayer {
  qkv: Packed | null; // panels of qkv_projᵀ (H, 3H)
  o: Packed | null; // o_projᵀ (H, H)
  mlpTGateUp: Packed | null; // (P+seq, 2·It), gate/up panel pairs for gemm_swiglu
  mlpTDown: Packed | null; // (It, P+seq)
  gateUp: Packed; // (H, 2·I), gate/up panel pairs for gemm_swiglu
  down: Packed; // (I, H)
}

interface Activations {
  capacity: number; // sequences
  zH: number; // (B, P+seq, H)
  zL: number; // (B, P+seq, H)
  x: number; // (B, P+seq, H)
  inj: number; // (B, P+seq, H) z_H + x
  qkv: number; // (P+seq, 3H) one sequence
  attn: number; // (P+seq, H)
  kpack: number; // panels of kᵀ (d, P+seq)
  vpack: number; // panels of v (P+seq, d), one key block at a time
  scores: number; // (query block, key block) + running max/sum per query row
  act: number; // (MLP_ROWS, I) silu(gate)·up
  tT: number; // (H, P+seq) MLP-T transposed state
  actT: number; // (H, It)
  logits: number; // (seq, V)
  quantized: number; // int8 only: the quantised rows of the current linear layer's input
}

export class WasmNetwork implements Network<number> {
  readonly config: ModelConfig;
  readonly maxBatch: number;
  readonly linearDtype: LinearDtype;
  private readonly inputs: InputWeights; // copies: no view of the pack survives construction
  private readonly d: Dims;
  private readonly k: Kernels;
  private readonly memory: WebAssembly.Memory;
  private readonly levels: Record<Level, PackedLayer[]>; // TRM: H is L
  private readonly lmHead: Packed; // panels of lm_headᵀ (H, V)
  private readonly rope: { cos: number; sin: number } | null; // (P+seq, d) each
  private readonly activationBase: number;
  private act: Activations | null = null;
  private batchSize = 0;

  constructor(module: WebAssembly.Module, config: ModelConfig, weights: Weights, linearDtype: LinearDtype = "f32") {
    this.config = config;
    this.linearDtype = linearDtype;
    const w = weights;
    this.inputs = {
      HInit: w.HInit.slice(), LInit: w.LInit.slice(), embedTokens: w.embedTokens.slice(), embedPos: w.embedPos?.slice() ?? null,
      puzzleEmb: w.puzzleEmb?.slice() ?? null, qHeadW: w.qHeadW.slice(), qHeadB: w.qHeadB.slice(),
    };
    this.d = dims(config);
    this.maxBatch = Math.max(1, Math.floor(MAX_BATCH_POSITIONS / this.d.positions));
    const { kernels, memory } = instantiateKernels(module);
    this.k = kernels;
    this.memory = memory;
    const arena = new Arena(kernels.heap_base());
    const { hidden: H, positions: L, inter, interT, vocab } = this.d;

    // The raw weight goes to a staging area at the end of the arena and is packed below it.
    const stage = (m: Matrix, kind: Packed["kind"], bytes: number, packInto: (staging: number, out: number) => void): Packed => {
      const ptr = arena.alloc(Math.ceil(bytes / 4));
      const staging = arena.end;
      ensureMemory(memory, staging + m.byteLength);
      if (m instanceof Float32Array) new Float32Array(memory.buffer, staging, m.length).set(m);
      else new Uint16Array(memory.buffer, staging, m.length).set(m);
      packInto(staging, ptr);
      return { ptr, kind };
    };
    const k = kernels;
    // W (n, kdim) as B = Wᵀ in the dtype it comes in, or int8 for the block's layers when asked.
    const pack = (m: Matrix, n: number, kdim: number, int8 = linearDtype === "int8"): Packed => {
      if (int8) return stage(matrixF32(m), "int8", k.packed_i8_bytes(kdim, n), (src, out) => k.pack_nk_i8(src, n, kdim, kdim, out));
      if (m instanceof Uint16Array) return stage(m, "bf16", k.packed_bf16_bytes(kdim, n), (src, out) => k.pack_nk_bf16(src, n, kdim, kdim, out));
      return stage(m, "f32", 4 * k.packed_len(kdim, n), (src, out) => k.pack_nk(src, n, kdim, kdim, out));
    };
    // A fused gate_up weight (2·inter, kdim) in panel pairs for gemm_swiglu.
    const packSwiglu = (m: Matrix, inter: number, kdim: number): Packed => {
      if (linearDtype === "int8") {
        return stage(matrixF32(m), "int8", k.packed_swiglu_i8_bytes(kdim, inter), (src, out) => k.pack_swiglu_i8(src, inter, kdim, kdim, out));
      }
      if (m instanceof Uint16Array) {
        return stage(m, "bf16", k.packed_swiglu_bf16_bytes(kdim, inter), (src, out) => k.pack_swiglu_bf16(src, inter, kdim, kdim, out));
      }
      return stage(m, "f32", 4 * k.packed_swiglu_len(kdim, inter), (src, out) => k.pack_swiglu(src, inter, kdim, kdim, out));
    };
    const level = (layers: LayerWeights[]): PackedLayer[] => layers.map((lw) => ({
      qkv: lw.qkv ? pack(lw.qkv, 3 * H, H) : null,
      o: lw.o ? pack(lw.o, H, H) : null,
      mlpTGateUp: lw.mlpTGateUp ? packSwiglu(lw.mlpTGateUp, interT, L) : null,
      mlpTDown: lw.mlpTDown ? pack(lw.mlpTDown, L, interT) : null,
      gateUp: packSwiglu(lw.gateUp, inter, H),
      down: pack(lw.down, H, inter),
    }));
    const lLevel = level(w.levels.L);
    this.levels = { L: lLevel, H: w.levels.H === w.levels.L ? lLevel : level(w.levels.H) };
    this.lmHead = pack(w.lmHead, vocab, H, false); // never int8: the answer's logits
    if (config.arch.pos_encodings === "rope" && !config.arch.mlp_t) {
      const tables = ropeTables(config);
      const cos = arena.alloc(tables.cos.length);
      const sin = arena.alloc(tables.sin.length);
      ensureMemory(memory, arena.end);
      this.f32().set(tables.cos, cos / 4);
      this.f32().set(tables.sin, sin / 4);
      this.rope = { cos, sin };
    } else {
      this.rope = null;
    }
    this.activationBase = arena.end;
  }

  /** Bytes of wasm memory in use. */
  get memoryBytes(): number {
    return this.memory.buffer.byteLength;
  }

  private f32(): Float32Array {
    return new Float32Array(this.memory.buffer);
  }

  /** Lays out activations for `capacity` sequences above the weights. */
  private activations(capacity: number): Activations {
    if (this.act && this.act.capacity >= capacity) return this.act;
    const { hidden: H, positions: L, headDim, inter, interT, seqLen, vocab } = this.d;
    const arena = new Arena(this.activationBase);
    const state = capacity * L * H;
    const attention = !this.config.arch.mlp_t;
    const mlpT = this.config.arch.mlp_t;
    const k = this.k;
    // Inputs of the int8 linear layers: MLP (MLP_ROWS, H or I), attention (L, H), MLP-T (H, L or It).
    const quantizedBytes = this.linearDtype === "int8"
      ? Math.max(
        k.quantized_rows_bytes(MLP_ROWS, Math.max(H, inter)),
        attention ? k.quantized_rows_bytes(L, H) : 0,
        mlpT ? k.quantized_rows_bytes(H, Math.max(L, interT)) : 0,
      )
      : 0;
    const act: Activations = {
      capacity,
      zH: arena.alloc(state),
      zL: arena.alloc(state),
      x: arena.alloc(state),
      inj: arena.alloc(state),
      qkv: attention ? arena.alloc(L * 3 * H) : 0,
      attn: attention ? arena.alloc(L * H) : 0,
      kpack: attention ? arena.alloc(k.packed_len(headDim, L)) : 0,
      vpack: attention ? arena.alloc(k.attention_vpack_len(L, headDim)) : 0,
      scores: attention ? arena.alloc(k.attention_scores_len()) : 0,
      act: arena.alloc(MLP_ROWS * inter),
      tT: mlpT ? arena.alloc(H * L) : 0,
      actT: mlpT ? arena.alloc(H * interT) : 0,
      logits: arena.alloc(seqLen * vocab),
      quantized: quantizedBytes ? arena.alloc(Math.ceil(quantizedBytes / 4)) : 0,
    };
    ensureMemory(this.memory, arena.end);
    this.act = act;
    return act;
  }

  start(puzzle: Puzzle): SequenceState {
    return startSequence(this.config, this.inputs, puzzle);
  }

  load(batch: SequenceState[]) {
    const a = this.activations(batch.length);
    this.batchSize = batch.length;
    const mem = this.f32();
    const n = this.d.positions * this.d.hidden;
    batch.forEach((s, b) => {
      mem.set(s.zH, a.zH / 4 + b * n);
      mem.set(s.zL, a.zL / 4 + b * n);
      mem.set(s.x, a.x / 4 + b * n);
    });
    return { zH: a.zH, zL: a.zL, x: a.x };
  }

  store(batch: SequenceState[]): void {
    const a = this.act!;
    const mem = this.f32();
    const n = this.d.positions * this.d.hidden;
    batch.forEach((s, b) => {
      s.zH.set(mem.subarray(a.zH / 4 + b * n, a.zH / 4 + (b + 1) * n));
      s.zL.set(mem.subarray(a.zL / 4 + b * n, a.zL / 4 + (b + 1) * n));
    });
  }

  update(level: Level, z: number, a: number, b?: number): void {
    const act = this.act!;
    const n = this.batchSize * this.d.positions * this.d.hidden;
    if (b !== undefined) {
      this.k.add(act.inj, a, b, n); // z_H + x first, as the official code adds them
      this.k.add(z, z, act.inj, n);
    } else {
      this.k.add(z, z, a, n);
    }
    for (const layer of this.levels[level]) this.block(z, layer);
  }

  /** Post-norm block over the whole batch: h = norm(h + mix(h)); h = norm(h + mlp(h)). */
  private block(h: number, w: PackedLayer): void {
    const k = this.k;
    const a = this.act!;
    const { hidden: H, positions: L, heads, headDim, inter, interT } = this.d;
    const eps = this.config.rms_norm_eps;
    const rows = this.batchSize * L;
    for (let s = 0; s < this.batchSize; s++) {
      const hs = h + s * L * H * 4; // (L, H)
      if (this.config.arch.mlp_t) {
        k.transpose(hs, L, H, H, a.tT, L); // (H, L)
        this.gemmSwiglu(H, interT, L, a.tT, L, w.mlpTGateUp!, a.actT, interT);
        this.gemm(H, L, interT, a.actT, interT, w.mlpTDown!, a.tT, L, true); // tT += mlp_t(tT)
        k.rms_norm_rows(a.tT, H, L, L, eps);
        k.transpose(a.tT, H, L, L, hs, H);
      } else {
        this.gemm(L, 3 * H, H, hs, H, w.qkv!, a.qkv, 3 * H, false);
        if (this.rope) k.rope(a.qkv, L, L, 3 * H, heads, headDim, this.rope.cos, this.rope.sin);
        k.attention(a.qkv, L, heads, headDim, a.attn, a.kpack, a.vpack, a.scores);
        this.gemm(L, H, H, a.attn, H, w.o!, hs, H, true); // h += o_proj(attn)
      }
    }
    if (!this.config.arch.mlp_t) k.rms_norm_rows(h, rows, H, H, eps);
    for (let r0 = 0; r0 < rows; r0 += MLP_ROWS) {
      const m = Math.min(MLP_ROWS, rows - r0);
      const hr = h + r0 * H * 4;
      this.gemmSwiglu(m, inter, H, hr, H, w.gateUp, a.act, inter);
      this.gemm(m, H, inter, a.act, inter, w.down, hr, H, true); // h += mlp(h)
    }
    k.rms_norm_rows(h, rows, H, H, eps);
  }

  /** C (m, n) = A (m, kdim) · packed weight (+= when accumulating), on the weight's kernel. */
  private gemm(m: number, n: number, kdim: number, a: number, lda: number, w: Packed, c: number, ldc: number, accumulate: boolean): void {
    if (w.kind === "int8") this.k.gemm_i8(m, n, kdim, a, lda, w.ptr, c, ldc, accumulate, this.act!.quantized);
    else if (w.kind === "bf16") this.k.gemm_bf16(m, n, kdim, a, lda, w.ptr, c, ldc, accumulate);
    else this.k.gemm(m, n, kdim, a, lda, w.ptr, c, ldc, accumulate);
  }

  /** out (m, inter) = silu(A·Gᵀ)·(A·Uᵀ), on the weight's kernel. */
  private gemmSwiglu(m: number, inter: number, kdim: number, a: number, lda: number, w: Packed, out: number, ldo: number): void {
    if (w.kind === "int8") this.k.gemm_swiglu_i8(m, inter, kdim, a, lda, w.ptr, out, ldo, this.act!.quantized);
    else if (w.kind === "bf16") this.k.gemm_swiglu_bf16(m, inter, kdim, a, lda, w.ptr, out, ldo);
    else this.k.gemm_swiglu(m, inter, kdim, a, lda, w.ptr, out, ldo);
  }

  readout(zH: number): Readout {
    const a = this.act!;
    const { positions: L, hidden: H, puzzleLen: P, seqLen, vocab } = this.d;
    const w = this.inputs;
    const out: Readout = { logits: [], qHalt: new Float32Array(this.batchSize), qContinue: new Float32Array(this.batchSize) };
    for (let b = 0; b < this.batchSize; b++) {
      const z = zH + b * L * H * 4;
      this.gemm(seqLen, vocab, H, z + P * H * 4, H, this.lmHead, a.logits, vocab, false);
      const mem = this.f32();
      out.logits.push(mem.slice(a.logits / 4, a.logits / 4 + seqLen * vocab));
      const z0 = mem.subarray(z / 4, z / 4 + H); // position 0
      let halt = 0;
      let cont = 0;
      for (let i = 0; i < H; i++) {
        halt += z0[i] * w.qHeadW[i];
        cont += z0[i] * w.qHeadW[H + i];
      }
      out.qHalt[b] = halt + w.qHeadB[0];
      out.qContinue[b] = cont + w.qHeadB[1];
    }
    return out;
  }
}
