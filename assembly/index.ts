// The kernels' exports. Memory is imported: the host owns the layout and
// places its buffers above heap_base().
export { packed_len, pack_nk, pack_kn, gemm, packed_swiglu_len, pack_swiglu, gemm_swiglu } from "./gemm";
export { packed_bf16_bytes, pack_nk_bf16, gemm_bf16, packed_swiglu_bf16_bytes, pack_swiglu_bf16, gemm_swiglu_bf16 } from "./gemm_bf16";
export { packed_i8_bytes, pack_nk_i8, quantized_rows_bytes, gemm_i8, packed_swiglu_i8_bytes, pack_swiglu_i8, gemm_swiglu_i8 } from "./gemm_i8";
export { rms_norm_rows } from "./norm";
export { swiglu, softmax_block } from "./activation";
export { rope } from "./rope";
export { add, transpose } from "./layout";
export { attention, attention_vpack_len, attention_scores_len } from "./attention";

/** First byte the host may use. */
export function heap_base(): usize {
  return __heap_base;
}
