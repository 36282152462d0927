// Typed access to the AssemblyScript kernels (assembly/index.ts). Pointers
// are byte offsets into the instance's memory; sizes are in floats.
// The module is compiled by the host (Node: from build/kernels.wasm; Worker:
// bundled import, since workerd cannot compile wasm from bytes).

export interface Kernels {
  heap_base(): number;
  packed_len(k: number, n: number): number;
  pack_nk(w: number, n: number, k: number, ldw: number, out: number): void;
  pack_kn(b: number, k: number, n: number, ldb: number, out: number): void;
  gemm(m: number, n: number, k: number, a: number, lda: number, packed: number, c: number, ldc: number, accumulate: boolean): void;
  packed_swiglu_len(k: number, inter: number): number;
  pack_swiglu(w: number, inter: number, k: number, ldw: number, out: number): void;
  gemm_swiglu(m: number, inter: number, k: number, a: number, lda: number, packed: number, out: number, ldo: number): void;
  packed_bf16_bytes(k: number, n: number): number;
  pack_nk_bf16(w: number, n: number, k: number, ldw: number, out: number): void;
  gemm_bf16(m: number, n: number, k: number, a: number, lda: number, packed: number, c: number, ldc: number, accumulate: boolean): void;
  packed_swiglu_bf16_bytes(k: number, inter: number): number;
  pack_swiglu_bf16(w: number, inter: number, k: number, ldw: number, out: number): void;
  gemm_swiglu_bf16(m: number, inter: number, k: number, a: number, lda: number, packed: number, out: number, ldo: number): void;
  packed_i8_bytes(k: number, n: number): number;
  pack_nk_i8(w: number, n: number, k: number, ldw: number, out: number): void;
  quantized_rows_bytes(m: number, k: number): number;
  gemm_i8(m: number, n: number, k: number, a: number, lda: number, packed: number, c: number, ldc: number, accumulate: boolean, scratch: number): void;
  packed_swiglu_i8_bytes(k: number, inter: number): number;
  pack_swiglu_i8(w: number, inter: number, k: number, ldw: number, out: number): void;
  gemm_swiglu_i8(m: number, inter: number, k: number, a: number, lda: number, packed: number, out: number, ldo: number, scratch: number): void;
  rms_norm_rows(x: number, rows: number, cols: number, ld: number, eps: number): void;
  swiglu(gu: number, rows: number, inter: number, out: number): void;
  softmax_block(x: number, rows: number, cols: number, ld: number, scale: number, m: number, l: number, alpha: number): void;
  rope(qkv: number, rows: number, positions: number, ld: number, heads: number, d: number, cos: number, sin: number): void;
  add(dst: number, a: number, b: number, n: number): void;
  transpose(src: number, rows: number, cols: number, lds: number, dst: number, ldd: number): void;
  attention(qkv: number, seq: number, heads: number, d: number, out: number, kpack: number, vpack: number, scores: number): void;
  attention_vpack_len(seq: number, d: number): number;
  attention_scores_len(): number;
}

export interface KernelInstance {
  kernels: Kernels;
  memory: WebAssembly.Memory;
}

const PAGE = 65536;

/** A fresh instance with its own memory: one per loaded model, so models never share buffers. */
export function instantiateKernels(module: WebAssembly.Module, initialBytes = PAGE): KernelInstance {
  const memory = new WebAssembly.Memory({ initial: Math.ceil(initialBytes / PAGE), maximum: 65536 });
  const instance = new WebAssembly.Instance(module, { env: { memory } });
  return { kernels: instance.exports as unknown as Kernels, memory };
}

/** Grows memory so that [0, bytes) is addressable. */
export function ensureMemory(memory: WebAssembly.Memory, bytes: number): void {
  const have = memory.buffer.byteLength;
  if (bytes > have) memory.grow(Math.ceil((bytes - have) / PAGE));
}

/** Bump allocation of 64-byte aligned float buffers inside one memory. */
export class Arena {
  private top: number;

  constructor(base: number) {
    this.top = align(base);
  }

  get end(): number {
    return this.top;
  }

  alloc(floats: number): number {
    const ptr = this.top;
    this.top = align(ptr + floats * 4);
    return ptr;
  }
}

function align(bytes: number): number {
  return Math.ceil(bytes / 64) * 64;
}
