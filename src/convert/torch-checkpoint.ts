// Reads the tensors of a `torch.save(model.state_dict())` zip checkpoint
// without Python: the zip holds `<folder>/data.pkl` (the pickled dict, whose
// tensors reference storages by key), the raw storages at
// `<folder>/data/<key>`, and optionally `<folder>/byteorder`. The folder name
// is whatever the file was first saved as, so it is discovered, not assumed.
//
// Small tensors are read into memory. A tensor the caller defers (the 1.8 GB
// ARC puzzle-embedding table) is only located and checked here; its rows are
// read later, a chunk at a time, straight from the ByteSource.

import { TrmError } from "../errors.ts";
import type { RawTensor, TensorDType } from "../engine/safetensors.ts";
import type { ByteSource } from "./byte-source.ts";
import { type DeferOptions, type DeferredTensor, deferredRows } from "./deferred.ts";
import { unpickleTorch, type PickleValue, type StorageRef, type TensorRef } from "./pickle.ts";
import { openStoredEntry, readZipDirectory, readZipEntry, type ZipEntry } from "./zip.ts";

export interface TorchCheckpoint {
  /** Every tensor not deferred, in state dict order. */
  tensors: Map<string, RawTensor>;
  deferred: Map<string, DeferredTensor>;
}

const PICKLE_NAME = "data.pkl";

function fail(message: string): never {
  throw new TrmError("bad_checkpoint", message);
}

function indexEntries(entries: readonly ZipEntry[]): Map<string, ZipEntry> {
  const byName = new Map<string, ZipEntry>();
  for (const entry of entries) {
    if (byName.has(entry.name)) fail(`zip entry "${entry.name}" appears twice`);
    byName.set(entry.name, entry);
  }
  return byName;
}

/** Returns the folder prefix ("checkpoint/", "archive/", ...) of the single data.pkl. */
function findArchiveFolder(names: readonly string[]): string {
  const pickles = names.filter((name) => name === PICKLE_NAME || name.endsWith(`/${PICKLE_NAME}`));
  if (pickles.length === 0) {
    const sample = names.slice(0, 5).map((name) => `"${name}"`).join(", ");
    fail(`no ${PICKLE_NAME} entry in the zip, so it is not a torch.save checkpoint (entries: ${sample || "none"}${names.length > 5 ? ", ..." : ""})`);
  }
  if (pickles.length > 1) fail(`found ${pickles.length} ${PICKLE_NAME} entries (${pickles.map((name) => `"${name}"`).join(", ")}); expected exactly one`);
  return pickles[0]!.slice(0, -PICKLE_NAME.length);
}

function checkByteOrder(source: ByteSource, byName: Map<string, ZipEntry>, folder: string): void {
  const entry = byName.get(`${folder}byteorder`);
  if (entry === undefined) return; // older torch versions omit it; they only wrote little-endian files in practice
  const order = new TextDecoder().decode(readZipEntry(source, entry));
  if (order !== "little") fail(`checkpoint byte order is "${order}"; only "little" is supported`);
}

function outputDType(storage: StorageRef, key: string): TensorDType {
  switch (storage.dtype) {
    case "float32":
    case "float64": // narrowed to F32 on copy
      return "F32";
    case "bfloat16":
      return "BF16";
    case "float16":
      return "F16";
    default:
      return fail(`state dict entry "${key}" has dtype ${storage.dtype} (torch.${storage.className}); only float32, float64, float16 and bfloat16 tensors are supported`);
  }
}

function elementCount(shape: readonly number[], key: string): number {
  const count = shape.reduce((product, size) => product * size, 1);
  if (!Number.isSafeInteger(count)) fail(`state dict entry "${key}" has shape [${shape.join(", ")}], too many elements`);
  return count;
}

// Sizes of 1 never step, so their stride does not matter (torch leaves them arbitrary).
function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && stride[d] !== expected) return false;
    expected *= shape[d]!;
  }
  return true;
}

function checkExtent(tensor: TensorRef, numel: number, key: string): void {
  const { storage, storageOffset, shape, stride } = tensor;
  const where = `state dict entry "${key}" (shape [${shape.join(", ")}], stride [${stride.join(", ")}], offset ${storageOffset})`;
  // More elements than the storage holds means elements overlap (stride 0,
  // broadcasting); that never happens for weights and would let a tiny file
  // demand a huge allocation.
  if (numel > storage.numel) fail(`${where} has ${numel} elements but its storage "${storage.key}" only ${storage.numel}`);
  if (numel === 0) return;
  const lastIndex = shape.reduce((sum, size, d) => sum + (size - 1) * stride[d]!, storageOffset);
  if (lastIndex >= storage.numel) fail(`${where} reaches element ${lastIndex} but its storage "${storage.key}" has only ${storage.numel} elements`);
}

/** Copies the tensor's elements out of its storage in C order. */
function gather(storageBytes: Uint8Array, tensor: TensorRef, numel: number): Uint8Array {
  const { itemSize } = tensor.storage;
  const { shape, stride, storageOffset } = tensor;
  if (isContiguous(shape, stride)) return storageBytes.slice(storageOffset * itemSize, (storageOffset + numel) * itemSize);

  const out = new Uint8Array(numel * itemSize);
  const last = shape.length - 1;
  const innerSize = shape[last]!;
  const innerStride = stride[last]!;
  const outerIndex: number[] = new Array(last).fill(0);
  let outPos = 0;
  for (let row = 0; row < numel / innerSize; row++) {
    const rowStart = outerIndex.reduce((sum, i, d) => sum + i * stride[d]!, storageOffset);
    for (let j = 0; j < innerSize; j++) {
      const from = (rowStart + j * innerStride) * itemSize;
      out.set(storageBytes.subarray(from, from + itemSize), outPos);
      outPos += itemSize;
    }
    for (let d = last - 1; d >= 0; d--) {
      if (++outerIndex[d]! < shape[d]!) break;
      outerIndex[d] = 0;
    }
  }
  return out;
}

function float64ToFloat32(bytes: Uint8Array): Uint8Array {
  const count = bytes.length / 8;
  const source = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Uint8Array(count * 4);
  const target = new DataView(out.buffer);
  for (let i = 0; i < count; i++) target.setFloat32(i * 4, source.getFloat64(i * 8, true), true);
  return out;
}

/** Elements as stored to the bytes of `dtype` (only float64 changes: it narrows to float32). */
function narrow(elements: Uint8Array, storage: StorageRef): Uint8Array {
  return storage.dtype === "float64" ? float64ToFloat32(elements) : elements;
}

/** The zip entry of a tensor's storage, after checking that its size matches the pickle's numel. */
function storageEntryOf(byName: Map<string, ZipEntry>, folder: string, storage: StorageRef, key: string): ZipEntry {
  const name = `${folder}data/${storage.key}`;
  const entry = byName.get(name);
  if (entry === undefined) fail(`state dict entry "${key}" references storage "${storage.key}", but the zip has no entry "${name}"`);
  const expected = storage.numel * storage.itemSize;
  if (entry.uncompressedSize !== expected) fail(`storage "${name}" is ${entry.uncompressedSize} bytes, expected ${expected} (${storage.numel} × ${storage.itemSize}-byte ${storage.dtype})`);
  return entry;
}

/** Reads each storage once (several tensors may share one). */
function makeStorageLoader(source: ByteSource, byName: Map<string, ZipEntry>, folder: string): (storage: StorageRef, key: string) => Uint8Array {
  const loaded = new Map<string, Uint8Array>();
  return (storage, key) => {
    const entry = storageEntryOf(byName, folder, storage, key);
    let data = loaded.get(entry.name);
    if (data === undefined) {
      data = readZipEntry(source, entry);
      loaded.set(entry.name, data);
    }
    return data;
  };
}

function deferTensor(source: ByteSource, entry: ZipEntry, tensor: TensorRef, dtype: TensorDType, key: string): DeferredTensor {
  const { shape, stride, storage, storageOffset } = tensor;
  if (shape.length === 0) fail(`state dict entry "${key}" is a scalar; only a tensor with rows can be streamed`);
  if (!isContiguous(shape, stride)) fail(`state dict entry "${key}" (shape [${shape.join(", ")}], stride [${stride.join(", ")}]) is not C-contiguous, so its rows cannot be streamed from the file`);
  openStoredEntry(source, entry); // refuse a deflated or misplaced entry now, before any row is wanted
  const start = storageOffset * storage.itemSize;
  const open = () => {
    // A fresh reader per pass: its CRC covers the whole storage, tensor or not.
    const reader = openStoredEntry(source, entry);
    return { read: (offset: number, length: number) => reader.read(start + offset, length), finish: () => reader.verifyCrc() };
  };
  return deferredRows(dtype, shape, storage.itemSize, open, (bytes) => narrow(bytes, storage));
}

function describeValue(value: PickleValue): string {
  if (value === null) return "None";
  if (typeof value !== "object") return `a ${typeof value}`;
  return `a ${value.kind}`;
}

/**
 * Reads every tensor of a torch.save'd state dict, keyed exactly as in the
 * pickle; those for which `defer(key)` holds are returned unread, as
 * DeferredTensor. Throws TrmError (bad_zip, bad_pickle or bad_checkpoint) for
 * anything malformed or outside what a state dict of float tensors contains.
 */
export function readTorchCheckpoint(source: ByteSource, options: DeferOptions = {}): TorchCheckpoint {
  const byName = indexEntries(readZipDirectory(source));
  const folder = findArchiveFolder([...byName.keys()]);
  checkByteOrder(source, byName, folder);
  const root = unpickleTorch(readZipEntry(source, byName.get(`${folder}${PICKLE_NAME}`)!));
  if (root === null || typeof root !== "object" || root.kind !== "dict") fail(`${folder}${PICKLE_NAME} holds ${describeValue(root)}, expected a state dict (a dict of tensors)`);

  const loadStorage = makeStorageLoader(source, byName, folder);
  const tensors = new Map<string, RawTensor>();
  const deferred = new Map<string, DeferredTensor>();
  for (const [key, value] of root.entries) {
    if (typeof key !== "string") fail(`state dict key ${String(key)} is not a string`);
    if (value === null || typeof value !== "object" || value.kind !== "tensor") fail(`state dict entry "${key}" is ${describeValue(value)}, not a tensor`);
    const dtype = outputDType(value.storage, key);
    const numel = elementCount(value.shape, key);
    checkExtent(value, numel, key);
    if (options.defer?.(key)) {
      deferred.set(key, deferTensor(source, storageEntryOf(byName, folder, value.storage, key), value, dtype, key));
      continue;
    }
    const data = narrow(gather(loadStorage(value.storage, key), value, numel), value.storage);
    tensors.set(key, { dtype, shape: [...value.shape], data });
  }
  return { tensors, deferred };
}
