// A safetensors checkpoint read through a ByteSource: the header is checked
// as parseSafetensors checks it, small tensors are read, and deferred ones
// are streamed by row ranges (safetensors data is always C-contiguous and
// carries no checksum).

import { TrmError } from "../errors.ts";
import { ITEM_SIZE, type RawTensor, readSafetensorsLayout } from "../engine/safetensors.ts";
import type { ByteSource } from "./byte-source.ts";
import { type DeferOptions, type DeferredTensor, deferredRows } from "./deferred.ts";

export interface SafetensorsCheckpoint {
  /** Every tensor not deferred, in header order. */
  tensors: Map<string, RawTensor>;
  deferred: Map<string, DeferredTensor>;
  metadata: Record<string, string>;
}

export function readSafetensors(source: ByteSource, options: DeferOptions = {}): SafetensorsCheckpoint {
  const { dataStart, spans, metadata } = readSafetensorsLayout(source.size, (offset, length) => source.read(offset, length));
  const tensors = new Map<string, RawTensor>();
  const deferred = new Map<string, DeferredTensor>();
  for (const [name, { dtype, shape, begin, end }] of spans) {
    if (!options.defer?.(name)) {
      tensors.set(name, { dtype, shape, data: source.read(dataStart + begin, end - begin) });
      continue;
    }
    if (shape.length === 0) throw new TrmError("bad_safetensors", `tensor ${name} is a scalar; only a tensor with rows can be streamed`);
    const open = () => ({ read: (offset: number, length: number) => source.read(dataStart + begin + offset, length), finish: () => {} });
    deferred.set(name, deferredRows(dtype, shape, ITEM_SIZE[dtype], open));
  }
  return { tensors, deferred, metadata };
}
