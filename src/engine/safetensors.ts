// The safetensors format (huggingface/safetensors): an 8-byte little-endian
// header length N, N bytes of JSON {name: {dtype, shape, data_offsets}, __metadata__},
// then the data. Reading is strict: any inconsistency is refused, because the
// bytes may come from a truncated or corrupt R2 object or a hand-made file.
import { TrmError } from "../errors.ts";

export type TensorDType = "F32" | "BF16" | "F16" | "I8";
export const ITEM_SIZE: Record<TensorDType, number> = { F32: 4, BF16: 2, F16: 2, I8: 1 };

export interface RawTensor {
  dtype: TensorDType;
  shape: number[];
  data: Uint8Array; // little-endian, contiguous, numel · itemsize bytes
}

export interface Safetensors {
  tensors: Map<string, RawTensor>;
  metadata: Record<string, string>;
}

const MAX_HEADER = 100 * 1024 * 1024; // the reference implementation's own cap

function bad(message: string): never {
  throw new TrmError("bad_safetensors", message);
}

export function numel(shape: readonly number[]): number {
  return shape.reduce((n, s) => n * s, 1);
}

/** Where one tensor's bytes lie in the data section (after the header). */
export interface TensorSpan {
  dtype: TensorDType;
  shape: number[];
  begin: number;
  end: number;
}

export interface SafetensorsLayout {
  dataStart: number; // file offset of the data section: 8 + header length
  spans: Map<string, TensorSpan>;
  metadata: Record<string, string>;
}

/**
 * Reads and checks the header of a `size`-byte file through `read` (which
 * returns `length` bytes at `offset`), so a caller can then read only the
 * tensors it wants, from memory or from a file larger than memory.
 */
export function readSafetensorsLayout(size: number, read: (offset: number, length: number) => Uint8Array): SafetensorsLayout {
  if (size < 8) bad(`file is ${size} bytes, shorter than the 8-byte header length`);
  const prefix = read(0, 8);
  const headerLen = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (headerLen > BigInt(Math.min(MAX_HEADER, size - 8))) {
    bad(`header length ${headerLen} exceeds the file (${size} bytes): truncated or not a safetensors file`);
  }
  const n = Number(headerLen);
  let header: unknown;
  try {
    header = JSON.parse(new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(read(8, n)));
  } catch (e) {
    bad(`header is not valid UTF-8 JSON: ${(e as Error).message}`);
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) bad("header is not a JSON object");

  const dataStart = 8 + n;
  const dataLen = size - dataStart;
  const spans = new Map<string, TensorSpan>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!entry || typeof entry !== "object" || Array.isArray(entry) || !Object.values(entry).every((v) => typeof v === "string")) {
        bad("__metadata__ must map strings to strings");
      }
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (!e || typeof e !== "object") bad(`tensor ${name}: entry is not an object`);
    if (typeof e.dtype !== "string" || !(e.dtype in ITEM_SIZE)) bad(`tensor ${name}: unsupported dtype ${JSON.stringify(e.dtype)} (F32, BF16, F16 or I8)`);
    const dtype = e.dtype as TensorDType;
    if (!Array.isArray(e.shape) || !e.shape.every((s) => Number.isSafeInteger(s) && s >= 0)) bad(`tensor ${name}: shape must be a list of non-negative integers`);
    const shape = e.shape as number[];
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((o) => Number.isSafeInteger(o) && o >= 0) || off[0] > off[1]) {
      bad(`tensor ${name}: data_offsets must be [begin, end] with 0 <= begin <= end`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLen) bad(`tensor ${name}: data_offsets [${begin}, ${end}] run past the data (${dataLen} bytes): truncated file`);
    const expected = numel(shape) * ITEM_SIZE[dtype];
    if (end - begin !== expected) bad(`tensor ${name}: ${end - begin} bytes for shape [${shape}] of ${dtype}, expected ${expected}`);
    spans.set(name, { dtype, shape, begin, end });
  }
  // The buffer must be covered exactly: no overlaps, no holes, nothing trailing.
  const sorted = [...spans].sort(([, x], [, y]) => x.begin - y.begin || x.end - y.end);
  let cursor = 0;
  for (const [name, { begin, end }] of sorted) {
    if (begin !== cursor) bad(`tensor ${name} starts at ${begin}, expected ${cursor} (${begin < cursor ? "overlap" : "hole"} in the data)`);
    cursor = end;
  }
  if (cursor !== dataLen) bad(`data is ${dataLen} bytes but tensors cover ${cursor}: ${cursor < dataLen ? "trailing bytes" : "truncated"}`);
  return { dataStart, spans, metadata };
}

/** Tensors are views into `bytes` (no copy). */
export function parseSafetensors(bytes: Uint8Array): Safetensors {
  const { dataStart, spans, metadata } = readSafetensorsLayout(bytes.byteLength, (offset, length) => bytes.subarray(offset, offset + length));
  const tensors = new Map<string, RawTensor>();
  for (const [name, { dtype, shape, begin, end }] of spans) tensors.set(name, { dtype, shape, data: bytes.subarray(dataStart + begin, dataStart + end) });
  return { tensors, metadata };
}

/** Serialises tensors in the given order; the header is padded to 8 bytes so data stays aligned. */
export function encodeSafetensors(tensors: [string, RawTensor][], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of tensors) {
    const len = numel(t.shape) * ITEM_SIZE[t.dtype];
    if (t.data.byteLength !== len) throw new TrmError("bad_tensor", `tensor ${name}: ${t.data.byteLength} bytes for shape [${t.shape}] of ${t.dtype}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + len] };
    offset += len;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - ((8 + new TextEncoder().encode(json).byteLength) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.byteLength + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.byteLength), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.byteLength;
  for (const [, t] of tensors) {
    out.set(t.data, at);
    at += t.data.byteLength;
  }
  return out;
}

/** Any supported dtype to float32 (bf16 is the top half of an f32; f16 decoded exactly; i8 as the integers, scales are the caller's). */
export function toFloat32(t: RawTensor): Float32Array {
  const n = numel(t.shape);
  const out = new Float32Array(n);
  const view = new DataView(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  if (t.dtype === "F32") {
    for (let i = 0; i < n; i++) out[i] = view.getFloat32(i * 4, true);
  } else if (t.dtype === "BF16") {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = view.getUint16(i * 2, true) << 16;
  } else if (t.dtype === "I8") {
    for (let i = 0; i < n; i++) out[i] = view.getInt8(i);
  } else {
    for (let i = 0; i < n; i++) out[i] = halfToFloat(view.getUint16(i * 2, true));
  }
  return out;
}

function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * frac * 2 ** -24;
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * (1 + frac / 1024) * 2 ** (exp - 15);
}

/** float32 to bfloat16 bits, round to nearest even (NaN stays NaN). */
export function toBFloat16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint8Array(values.length * 2);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    const isNaN = (b & 0x7f800000) === 0x7f800000 && (b & 0x7fffff) !== 0;
    const rounded = isNaN ? (b >>> 16) | 0x40 : (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
    view.setUint16(i * 2, rounded, true);
  }
  return out;
}

/** float32 values as little-endian bytes. */
export function float32Bytes(values: Float32Array): Uint8Array {
  const out = new Uint8Array(values.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return out;
}
