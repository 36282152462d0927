// A tensor left in its file and read back row chunk by row chunk: what the
// converter uses for the 1.8 GB ARC puzzle-embedding table, whatever file
// format holds it (torch zip or safetensors).

import { type TensorDType, toFloat32 } from "../engine/safetensors.ts";

export interface DeferOptions {
  /** Tensor names (as in the file) to leave in the file and return as DeferredTensor. */
  defer?: (name: string) => boolean;
}

export interface DeferredTensor {
  /** As it would be read eagerly (a torch float64 storage narrows to F32). */
  readonly dtype: TensorDType;
  readonly shape: readonly number[];
  /**
   * Reads the rows (along axis 0) in order, `rowsPerChunk` at a time (the
   * last chunk may be shorter), and hands each chunk to `onChunk` as float32,
   * (rows, ...shape[1:]) flattened. Memory stays at about one chunk. Where
   * the format has a checksum it is checked as the rows go by, and a mismatch
   * throws after the last chunk, so a caller commits nothing until this returns.
   */
  streamRows(rowsPerChunk: number, onChunk: (firstRow: number, rows: Float32Array) => void): void;
}

/** One pass over the tensor's bytes: reads relative to where its first element lies, then a final check. */
export interface RowReader {
  read(offset: number, length: number): Uint8Array;
  finish(): void;
}

/**
 * A C-contiguous tensor of `shape` whose elements, `itemSize` bytes each as
 * stored, `open()` reads from offset 0; `toStored` turns stored bytes into
 * bytes of `dtype` (the identity unless the storage is wider).
 */
export function deferredRows(
  dtype: TensorDType, shape: readonly number[], itemSize: number, open: () => RowReader,
  toStored: (bytes: Uint8Array) => Uint8Array = (bytes) => bytes,
): DeferredTensor {
  const rows = shape[0]!;
  const rowElements = shape.slice(1).reduce((a, b) => a * b, 1);
  const rowBytes = rowElements * itemSize;
  return {
    dtype,
    shape: [...shape],
    streamRows(rowsPerChunk, onChunk) {
      if (!Number.isSafeInteger(rowsPerChunk) || rowsPerChunk < 1) throw new RangeError(`rowsPerChunk must be a positive integer, got ${rowsPerChunk}`);
      const reader = open();
      for (let first = 0; first < rows; first += rowsPerChunk) {
        const count = Math.min(rowsPerChunk, rows - first);
        const data = toStored(reader.read(first * rowBytes, count * rowBytes));
        onChunk(first, toFloat32({ dtype, shape: [count * rowElements], data }));
      }
      reader.finish();
    },
  };
}
