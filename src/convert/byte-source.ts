// Random access to the bytes of a checkpoint, so that a reader can take the
// zip directory, the pickle and the small storages without holding a 1.8 GB
// file in memory. One interface over a buffer already in memory and over an
// open file: the zip reader has a single implementation for both.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { TrmError } from "../errors.ts";

export interface ByteSource {
  readonly size: number;
  /** Exactly `length` bytes at `offset`; the range must lie inside [0, size). */
  read(offset: number, length: number): Uint8Array;
}

export interface FileSource extends ByteSource {
  close(): void;
}

// Callers check ranges against `size` with their own messages first, so a
// range outside the source here is a bug in the caller, not bad input.
function checkRange(size: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > size) {
    throw new RangeError(`read of ${length} bytes at offset ${offset} outside a ${size}-byte source`);
  }
}

/** Reads are views into `bytes` (no copy). */
export function memorySource(bytes: Uint8Array): ByteSource {
  return {
    size: bytes.length,
    read(offset, length) {
      checkRange(bytes.length, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/** Synchronous reads from an open file; each read returns fresh bytes. */
export function openFileSource(path: string): FileSource {
  const fd = openSync(path, "r");
  let size: number;
  try {
    size = fstatSync(fd).size;
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let open = true;
  return {
    size,
    read(offset, length) {
      if (!open) throw new Error(`read from ${path} after close()`);
      checkRange(size, offset, length);
      const out = new Uint8Array(length);
      for (let done = 0; done < length; ) {
        const n = readSync(fd, out, done, length - done, offset + done);
        // The file shrank since it was opened (another process truncating it).
        if (n === 0) throw new TrmError("bad_checkpoint", `${path} ended at byte ${offset + done} while reading ${length} bytes at offset ${offset}; it was ${size} bytes when opened`);
        done += n;
      }
      return out;
    },
    close() {
      if (open) closeSync(fd);
      open = false;
    },
  };
}
