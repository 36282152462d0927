// A read-only ZIP reader for PyTorch checkpoints (torch.save writes a zip).
//
// Only the central directory is trusted for sizes and CRCs: torch sets the
// "data descriptor" flag and leaves zeros in the local headers, and pads the
// local extra field so that data starts on a 64-byte boundary, so local and
// central extra fields differ. Every offset and size read from the file is
// bounds-checked before use, so a truncated or corrupt file fails with a
// TrmError("bad_zip") that says what is wrong.
//
// It reads through a ByteSource and touches only the end-of-directory tail,
// the central directory, the local headers and the entries asked for, so a
// checkpoint far larger than memory can be opened; a stored entry can also be
// read piece by piece (openStoredEntry) with its CRC32 checked incrementally.

import { crc32, inflateRawSync } from "node:zlib";
import { TrmError } from "../errors.ts";
import type { ByteSource } from "./byte-source.ts";

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
// Name, extra field and comment are each at most 0xffff bytes.
const MAX_CENTRAL_RECORD = CENTRAL_HEADER_SIZE + 3 * 0xffff;
const LOCAL_HEADER_SIGNATURE = 0x04034b50;
const LOCAL_HEADER_SIZE = 30;
const ZIP64_EXTRA_ID = 0x0001;
const U16_SATURATED = 0xffff;
const U32_SATURATED = 0xffffffff;
const FLAG_ENCRYPTED = 0x1;
const METHOD_STORED = 0;
const METHOD_DEFLATE = 8;
// Bytes read at a time when the CRC must cover data the caller skipped.
const CRC_PIECE = 4 << 20;

const utf8 = new TextDecoder("utf-8", { fatal: true });

function fail(message: string): never {
  throw new TrmError("bad_zip", message);
}

// Every read from the source goes through this first, so an out-of-range
// offset turns into a message naming the structure being read.
function requireRange(source: ByteSource, offset: number, length: number, what: string): void {
  if (!Number.isSafeInteger(offset) || offset < 0 || length < 0 || offset + length > source.size) {
    fail(`${what} at offset ${offset} (${length} bytes) lies outside the ${source.size}-byte file; the file is truncated or corrupt`);
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

/** `offset` is where `dv` starts in the file, for the message. */
function expectSignature(dv: DataView, at: number, signature: number, what: string, offset = 0): void {
  const found = dv.getUint32(at, true);
  if (found !== signature) {
    fail(`expected ${what} signature 0x${signature.toString(16).padStart(8, "0")} at offset ${offset + at}, found 0x${found.toString(16).padStart(8, "0")}`);
  }
}

interface CentralDirectoryLocation {
  entryCount: number;
  size: number;
  offset: number;
}

/** The last bytes of the file: room for the longest comment, the EOCD record and a zip64 locator before it. */
interface Tail {
  bytes: Uint8Array;
  start: number; // file offset of bytes[0]
}

function readTail(source: ByteSource): Tail {
  if (source.size < EOCD_SIZE) fail(`file is ${source.size} bytes, too short to be a zip (the end-of-central-directory record alone is ${EOCD_SIZE})`);
  const start = Math.max(0, source.size - EOCD_SIZE - MAX_COMMENT_LENGTH - ZIP64_LOCATOR_SIZE);
  return { bytes: source.read(start, source.size - start), start };
}

// The EOCD record is followed only by its own comment, so scan backwards and
// accept the first signature whose comment length reaches exactly the end of
// the file (a stray signature inside the comment will not match).
// Returns the record's position inside the tail.
function findEndOfCentralDirectory(tail: Tail): number {
  const dv = view(tail.bytes);
  const lowest = Math.max(0, tail.bytes.length - EOCD_SIZE - MAX_COMMENT_LENGTH);
  for (let pos = tail.bytes.length - EOCD_SIZE; pos >= lowest; pos--) {
    if (dv.getUint32(pos, true) !== EOCD_SIGNATURE) continue;
    if (pos + EOCD_SIZE + dv.getUint16(pos + 20, true) === tail.bytes.length) return pos;
  }
  return fail("no end-of-central-directory record found; the file is not a zip or is truncated");
}

function readZip64CentralDirectory(source: ByteSource, locator: DataView): CentralDirectoryLocation {
  if (locator.getUint32(4, true) !== 0 || locator.getUint32(16, true) > 1) fail("multi-disk zip64 archives are not supported");
  const recordOffset = readU64AsNumber(locator, 8, "zip64 end-of-central-directory offset");
  requireRange(source, recordOffset, ZIP64_EOCD_SIZE, "zip64 end-of-central-directory record");
  const dv = view(source.read(recordOffset, ZIP64_EOCD_SIZE));
  expectSignature(dv, 0, ZIP64_EOCD_SIGNATURE, "zip64 end-of-central-directory", recordOffset);
  if (dv.getUint32(16, true) !== 0 || dv.getUint32(20, true) !== 0) fail("multi-disk zip64 archives are not supported");
  return {
    entryCount: readU64AsNumber(dv, 32, "zip64 total entry count"),
    size: readU64AsNumber(dv, 40, "zip64 central directory size"),
    offset: readU64AsNumber(dv, 48, "zip64 central directory offset"),
  };
}

function locateCentralDirectory(source: ByteSource): CentralDirectoryLocation {
  const tail = readTail(source);
  const eocd = findEndOfCentralDirectory(tail);
  const dv = view(tail.bytes);
  // torch always writes the zip64 records; when present they are authoritative.
  const locator = eocd - ZIP64_LOCATOR_SIZE;
  if (locator >= 0 && dv.getUint32(locator, true) === ZIP64_LOCATOR_SIGNATURE) {
    return readZip64CentralDirectory(source, view(tail.bytes.subarray(locator, eocd)));
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

/** Parses the central directory. Entry data is not touched until readZipEntry or openStoredEntry. */
export function readZipDirectory(source: ByteSource): ZipEntry[] {
  const location = locateCentralDirectory(source);
  requireRange(source, location.offset, location.size, "central directory");
  // A lying size must not make us read (and allocate) most of a huge file.
  if (location.size > location.entryCount * MAX_CENTRAL_RECORD) {
    fail(`central directory is ${location.size} bytes, more than ${location.entryCount} entries can occupy; the file is corrupt`);
  }
  const directory = source.read(location.offset, location.size);
  const dv = view(directory);
  const base = location.offset; // file offset of directory[0], for messages
  const end = directory.length;
  const entries: ZipEntry[] = [];
  let pos = 0;
  for (let index = 0; index < location.entryCount; index++) {
    const where = `central directory entry ${index}`;
    if (pos + CENTRAL_HEADER_SIZE > end) fail(`${where} at offset ${base + pos} runs past the end of the central directory (offset ${base + end})`);
    expectSignature(dv, pos, CENTRAL_HEADER_SIGNATURE, where, base);
    const nameLength = dv.getUint16(pos + 28, true);
    const extraLength = dv.getUint16(pos + 30, true);
    const commentLength = dv.getUint16(pos + 32, true);
    const recordEnd = pos + CENTRAL_HEADER_SIZE + nameLength + extraLength + commentLength;
    if (recordEnd > end) fail(`${where} at offset ${base + pos} (name, extra and comment ${nameLength + extraLength + commentLength} bytes) runs past the end of the central directory (offset ${base + end})`);
    const nameStart = pos + CENTRAL_HEADER_SIZE;
    const name = decodeName(directory.subarray(nameStart, nameStart + nameLength), where);
    const extra = directory.subarray(nameStart + nameLength, nameStart + nameLength + extraLength);
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

/** Checks the local header against the central one and returns the file offset of the entry's data. */
function locateData(source: ByteSource, entry: ZipEntry, where: string): number {
  if (entry.flags & FLAG_ENCRYPTED) fail(`${where} is encrypted`);
  requireRange(source, entry.localHeaderOffset, LOCAL_HEADER_SIZE, `${where} local header`);
  const dv = view(source.read(entry.localHeaderOffset, LOCAL_HEADER_SIZE));
  expectSignature(dv, 0, LOCAL_HEADER_SIGNATURE, `${where} local header`, entry.localHeaderOffset);
  const nameLength = dv.getUint16(26, true);
  const extraLength = dv.getUint16(28, true);
  const nameStart = entry.localHeaderOffset + LOCAL_HEADER_SIZE;
  requireRange(source, nameStart, nameLength + extraLength, `${where} local name and extra field`);
  const localName = decodeName(source.read(nameStart, nameLength), `${where} local header`);
  if (localName !== entry.name) fail(`${where}: local header names "${localName}" instead`);
  const dataStart = nameStart + nameLength + extraLength;
  requireRange(source, dataStart, entry.compressedSize, `${where} data`);
  return dataStart;
}

function checkCrc(where: string, actual: number, entry: ZipEntry): void {
  if (actual !== entry.crc32) {
    fail(`${where} is corrupt: CRC32 is 0x${actual.toString(16).padStart(8, "0")}, expected 0x${entry.crc32.toString(16).padStart(8, "0")}`);
  }
}

function unsupportedMethod(where: string, entry: ZipEntry): never {
  return fail(`${where} uses compression method ${entry.method}; only 0 (stored) and 8 (deflate) are supported`);
}

/** An uncompressed entry read in pieces; reads are relative to the entry's data. */
export interface StoredEntryReader {
  readonly entry: ZipEntry;
  read(offset: number, length: number): Uint8Array;
  /**
   * Throws bad_zip unless the CRC32 over all of the entry's bytes matches the
   * central directory. The CRC follows the reads that go forward through the
   * entry; whatever they skipped or left after the last one is read here.
   */
  verifyCrc(): void;
}

function storedReader(source: ByteSource, entry: ZipEntry, dataStart: number, where: string): StoredEntryReader {
  if (entry.compressedSize !== entry.uncompressedSize) fail(`${where} is stored but its compressed size ${entry.compressedSize} differs from its size ${entry.uncompressedSize}`);
  const size = entry.uncompressedSize;
  let crc = 0;
  let covered = 0; // the CRC covers data bytes [0, covered)
  const catchUp = (to: number): void => {
    for (; covered < to; ) {
      const length = Math.min(CRC_PIECE, to - covered);
      crc = crc32(source.read(dataStart + covered, length), crc);
      covered += length;
    }
  };
  return {
    entry,
    read(offset, length) {
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
        throw new RangeError(`read of ${length} bytes at ${offset} outside the ${size} bytes of ${where}`);
      }
      catchUp(offset);
      const bytes = source.read(dataStart + offset, length);
      if (offset + length > covered) {
        crc = crc32(bytes.subarray(covered - offset), crc);
        covered = offset + length;
      }
      return bytes;
    },
    verifyCrc() {
      catchUp(size);
      checkCrc(where, crc, entry);
    },
  };
}

/**
 * Opens a stored (uncompressed) entry for reading in pieces. Deflated entries
 * are refused: they can only be read whole, with readZipEntry.
 */
export function openStoredEntry(source: ByteSource, entry: ZipEntry): StoredEntryReader {
  const where = `entry "${entry.name}"`;
  const dataStart = locateData(source, entry, where);
  if (entry.method === METHOD_DEFLATE) fail(`${where} is deflate-compressed, so it cannot be read in pieces; torch.save stores entries uncompressed, so re-save the checkpoint with torch.save`);
  if (entry.method !== METHOD_STORED) unsupportedMethod(where, entry);
  return storedReader(source, entry, dataStart, where);
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
 * A stored entry of a memorySource is a view into its bytes (no copy).
 */
export function readZipEntry(source: ByteSource, entry: ZipEntry): Uint8Array {
  const where = `entry "${entry.name}"`;
  const dataStart = locateData(source, entry, where);
  if (entry.method === METHOD_STORED) {
    const reader = storedReader(source, entry, dataStart, where);
    const data = reader.read(0, entry.uncompressedSize);
    reader.verifyCrc();
    return data;
  }
  if (entry.method !== METHOD_DEFLATE) unsupportedMethod(where, entry);
  const data = inflate(source.read(dataStart, entry.compressedSize), entry);
  if (data.length !== entry.uncompressedSize) fail(`${where} inflated to ${data.length} bytes, expected ${entry.uncompressedSize}`);
  checkCrc(where, crc32(data), entry);
  return data;
}
