// A read-only ZIP reader for PyTorch checkpoints (torch.save writes a zip).
//
// Only the central directory is trusted for sizes and CRCs: torch sets the
// "data descriptor" flag and leaves zeros in the local headers, and pads the
// local extra field so that data starts on a 64-byte boundary, so local and
// central extra fields differ. Every offset and size read from the file is
// bounds-checked before use, so a truncated or corrupt file fails with a
// TrmError("bad_zip") that says what is wrong.

import { crc32, inflateRawSync } from "node:zlib";
import { TrmError } from "../errors.ts";

export interface ZipEntry {
  readonly name: string;
  /** 0 = stored, 8 = deflate; anything else is rejected when read. */
  readonly method: number;
  readonly flags: number;
  readonly crc32: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  readonly localHeaderOffset: number;
}

const EOCD_SIGNATURE = 0x06054b50;
const EOCD_SIZE = 22;
const MAX_COMMENT_LENGTH = 0xffff;
const ZIP64_LOCATOR_SIGNATURE = 0x07064b50;
const ZIP64_LOCATOR_SIZE = 20;
const ZIP64_EOCD_SIGNATURE = 0x06064b50;
const ZIP64_EOCD_SIZE = 56;
const CENTRAL_HEADER_SIGNATURE = 0x02014b50;
const CENTRAL_HEADER_SIZE = 46;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
const ZIP64_EXTRA_ID = 0x0001;
const U16_SATURATED = 0xffff;
const U32_SATURATED = 0xffffffff;
const FLAG_ENCRYPTED = 0x1;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(message: string): never {
  throw new TrmError("bad_zip", message);
}

// Every multi-byte read goes through these, so an out-of-range offset turns
// into a message naming the structure being read instead of a RangeError.
function requireRange(bytes: Uint8Array, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > bytes.length) {
    fail(`${what} at offset ${offset} (${length} bytes) lies outside the ${bytes.length}-byte file; the file is truncated or corrupt`);
  }
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function readU64AsNumber(dv: DataView, offset: number, what: string): number {
  const value = dv.getBigUint64(offset, true);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is ${value}, too large to be a real offset or size`);
  return Number(value);
}

function expectSignature(dv: DataView, offset: number, signature: number, what: string): void {
  const found = dv.getUint32(offset, true);
  if (found !== signature) {
    fail(`expected ${what} signature 0x${signature.toString(16).padStart(8, "0")} at offset ${offset}, found 0x${found.toString(16).padStart(8, "0")}`);
  }
}

interface CentralDirectoryLocation {
  entryCount: number;
  size: number;
  offset: number;
}

// The EOCD record is followed only by its own comment, so scan backwards and
// accept the first signature whose comment length reaches exactly the end of
// the file (a stray signature inside the comment will not match).
function findEndOfCentralDirectory(bytes: Uint8Array): number {
  if (bytes.length < EOCD_SIZE) fail(`file is ${bytes.length} bytes, too short to be a zip (the end-of-central-directory record alone is ${EOCD_SIZE})`);
  const dv = view(bytes);
  const lowest = Math.max(0, bytes.length - EOCD_SIZE - MAX_COMMENT_LENGTH);
  for (let pos = bytes.length - EOCD_SIZE; pos >= lowest; pos--) {
    if (dv.getUint32(pos, true) !== EOCD_SIGNATURE) continue;
    if (pos + EOCD_SIZE + dv.getUint16(pos + 20, true) === bytes.length) return pos;
  }
  return fail("no end-of-central-directory record found; the file is not a zip or is truncated");
}

function readZip64CentralDirectory(bytes: Uint8Array, locatorOffset: number): CentralDirectoryLocation {
  const dv = view(bytes);
  if (dv.getUint32(locatorOffset + 4, true) !== 0 || dv.getUint32(locatorOffset + 16, true) > 1) fail("multi-disk zip64 archives are not supported");
  const recordOffset = readU64AsNumber(dv, locatorOffset + 8, "zip64 end-of-central-directory offset");
  requireRange(bytes, recordOffset, ZIP64_EOCD_SIZE, "zip64 end-of-central-directory record");
  expectSignature(dv, recordOffset, ZIP64_EOCD_SIGNATURE, "zip64 end-of-central-directory");
  if (dv.getUint32(recordOffset + 16, true) !== 0 || dv.getUint32(recordOffset + 20, true) !== 0) fail("multi-disk zip64 archives are not supported");
  return {
    entryCount: readU64AsNumber(dv, recordOffset + 32, "zip64 total entry count"),
    size: readU64AsNumber(dv, recordOffset + 40, "zip64 central directory size"),
    offset: readU64AsNumber(dv, recordOffset + 48, "zip64 central directory offset"),
  };
}

function locateCentralDirectory(bytes: Uint8Array): CentralDirectoryLocation {
  const eocd = findEndOfCentralDirectory(bytes);
  const dv = view(bytes);
  // torch always writes the zip64 records; when present they are authoritative.
  const locator = eocd - ZIP64_LOCATOR_SIZE;
  if (locator >= 0 && dv.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    return readZip64CentralDirectory(bytes, locator);
  }
  if (dv.getUint16(eocd + 4, true) !== 0 || dv.getUint16(eocd + 6, true) !== 0) fail("multi-disk zip archives are not supported");
  const location = {
    entryCount: dv.getUint16(eocd + 10, true),
    size: dv.getUint32(eocd + 12, true),
    offset: dv.getUint32(eocd + 16, true),
  };
  if (location.entryCount === U16_SATURATED || location.size === U32_SATURATED || location.offset === U32_SATURATED) {
    fail("end-of-central-directory record defers to zip64 values, but no zip64 locator precedes it");
  }
  return location;
}

interface Zip64Fields {
  uncompressedSize: number;
  compressedSize: number;
  localHeaderOffset: number;
}

// A zip64 extra field holds, in this order, only those values whose 32-bit
// fields in the central header are saturated to 0xFFFFFFFF.
function applyZip64Extra(extra: Uint8Array, fields: Zip64Fields, entryName: string): Zip64Fields {
  const dv = view(extra);
  for (let pos = 0; pos + 4 <= extra.length; ) {
    const id = dv.getUint16(pos, true);
    const size = dv.getUint16(pos + 2, true);
    const body = pos + 4;
    if (body + size > extra.length) fail(`entry "${entryName}": extra field 0x${id.toString(16)} claims ${size} bytes, only ${extra.length - body} remain`);
    if (id === ZIP64_EXTRA_ID) {
      const result = { ...fields };
      let cursor = body;
      const take = (what: string): number => {
        if (cursor + 8 > body + size) fail(`entry "${entryName}": zip64 extra field is ${size} bytes, too short to hold the ${what}`);
        const value = readU64AsNumber(dv, cursor, `entry "${entryName}" zip64 ${what}`);
        cursor += 8;
        return value;
      };
      if (fields.uncompressedSize === U32_SATURATED) result.uncompressedSize = take("uncompressed size");
      if (fields.compressedSize === U32_SATURATED) result.compressedSize = take("compressed size");
      if (fields.localHeaderOffset === U32_SATURATED) result.localHeaderOffset = take("local header offset");
      return result;
    }
    pos = body + size;
  }
  return fields;
}

function decodeName(raw: Uint8Array, where: string): string {
  try {
    return utf8.decode(raw);
  } catch {
    return fail(`${where}: file name is not valid UTF-8`);
  }
}

/** Parses the central directory. Entry data is not touched until readZipEntry. */
export function readZipDirectory(bytes: Uint8Array): ZipEntry[] {
  const location = locateCentralDirectory(bytes);
  requireRange(bytes, location.offset, location.size, "central directory");
  const dv = view(bytes);
  const end = location.offset + location.size;
  const entries: ZipEntry[] = [];
  let pos = location.offset;
  for (let index = 0; index < location.entryCount; index++) {
    const where = `central directory entry ${index}`;
    if (pos + CENTRAL_HEADER_SIZE > end) fail(`${where} at offset ${pos} runs past the end of the central directory (offset ${end})`);
    expectSignature(dv, pos, CENTRAL_HEADER_SIGNATURE, where);
    const nameLength = dv.getUint16(pos + 28, true);
    const extraLength = dv.getUint16(pos + 30, true);
    const commentLength = dv.getUint16(pos + 32, true);
    const recordEnd = pos + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (recordEnd > end) fail(`${where} at offset ${pos} (name, extra and comment ${nameLength + extraLength + commentLength} bytes) runs past the end of the central directory (offset ${end})`);
    const nameStart = pos + CENTRAL_HEADER_SIZE;
    const name = decodeName(bytes.subarray(nameStart, nameStart + nameLength), where);
    const extra = bytes.subarray(nameStart + nameLength, nameStart + nameLength + extraLength);
    const sizes = applyZip64Extra(
      extra,
      {
        compressedSize: dv.getUint32(pos + 20, true),
        uncompressedSize: dv.getUint32(pos + 24, true),
        localHeaderOffset: dv.getUint32(pos + 42, true),
      },
      name,
    );
    entries.push({
      name,
      method: dv.getUint16(pos + 10, true),
      flags: dv.getUint16(pos + 8, true),
      crc32: dv.getUint32(pos + 16, true),
      ...sizes,
    });
    pos = recordEnd;
  }
  return entries;
}

function inflate(compressed: Uint8Array, entry: ZipEntry): Uint8Array {
  let inflated: Uint8Array;
  try {
    // maxOutputLength stops a lying size field from inflating without bound.
    inflated = inflateRawSync(compressed, { maxOutputLength: Math.max(1, entry.uncompressedSize) });
  } catch (error) {
    return fail(`entry "${entry.name}": deflate data is corrupt or larger than the declared ${entry.uncompressedSize} bytes (${(error as Error).message})`);
  }
  return new Uint8Array(inflated.buffer, inflated.byteOffset, inflated.byteLength);
}

/**
 * Returns the uncompressed bytes of one entry after checking its CRC32.
 * Stored entries are returned as a view into `bytes` (no copy).
 */
export function readZipEntry(bytes: Uint8Array, entry: ZipEntry): Uint8Array {
  const where = `entry "${entry.name}"`;
  if (entry.flags & FLAG_ENCRYPTED) fail(`${where} is encrypted`);
  requireRange(bytes, entry.localHeaderOffset, LOCAL_HEADER_SIZE, `${where} local header`);
  const dv = view(bytes);
  expectSignature(dv, entry.localHeaderOffset, LOCAL_HEADER_SIGNATURE, `${where} local header`);
  const nameLength = dv.getUint16(entry.localHeaderOffset + 26, true);
  const extraLength = dv.getUint16(entry.localHeaderOffset + 28, true);
  const nameStart = entry.localHeaderOffset + LOCAL_HEADER_SIZE;
  requireRange(bytes, nameStart, nameLength + extraLength, `${where} local name and extra field`);
  const localName = decodeName(bytes.subarray(nameStart, nameStart + nameLength), `${where} local header`);
  if (localName !== entry.name) fail(`${where}: local header names "${localName}" instead`);
  const dataStart = nameStart + nameLength + extraLength;
  requireRange(bytes, dataStart, entry.compressedSize, `${where} data`);
  const raw = bytes.subarray(dataStart, dataStart + entry.compressedSize);

  let data: Uint8Array;
  if (entry.method === METHOD_STORED) {
    if (entry.compressedSize !== entry.uncompressedSize) fail(`${where} is stored but its compressed size ${entry.compressedSize} differs from its size ${entry.uncompressedSize}`);
    data = raw;
  } else if (entry.method === METHOD_DEFLATE) {
    data = inflate(raw, entry);
  } else {
    return fail(`${where} uses compression method ${entry.method}; only 0 (stored) and 8 (deflate) are supported`);
  }
  if (data.length !== entry.uncompressedSize) fail(`${where} inflated to ${data.length} bytes, expected ${entry.uncompressedSize}`);
  const actualCrc = crc32(data);
  if (actualCrc !== entry.crc32) {
    fail(`${where} is corrupt: CRC32 is 0x${actualCrc.toString(16).padStart(8, "0")}, expected 0x${entry.crc32.toString(16).padStart(8, "0")}`);
  }
  return data;
}
