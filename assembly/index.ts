// The kernels' exports. Memory is imported: the host owns the layout and
// places its buffers above heap_base().
export { packed_len, pack_nk, pack_kn, gemm, packed_swiglu_len, pack_swiglu, gemm_swiglu } from "./gemm";
export { rms_norm_rows } from "./norm";
export { swiglu, softmax_rows } from "./activation";
export { rope } from "./rope";
export { add, transpose } from "./layout";
export { attention, QB as attention_query_block } from "./attention";

/** First byte the host may use. */
export function heap_base(): usize {
  return __heap_base;
}
