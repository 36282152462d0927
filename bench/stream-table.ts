// Streams the puzzle-embedding table of a torch checkpoint to a file, as the
// converter does, and reports peak memory and time. For the 1.8 GB case:
//   python3 bench/synthetic-arc-checkpoint.py            # writes /tmp/trm-synthetic-arc/
//   npx node bench/stream-table.ts [checkpoint] [--rows-per-chunk 4096] [--dtype f32|bf16] [--out file] [--keep]
// One JSON line. The trunk is read eagerly (it is part of the real peak);
// the table is deferred and written row chunk by row chunk. When the
// generator's table.json lies beside the checkpoint, the sha256 of the f32
// rows written is compared with the one it recorded.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { openFileSource } from "../src/convert/byte-source.ts";
import { readTorchCheckpoint } from "../src/convert/torch-checkpoint.ts";
import { float32Bytes, toBFloat16 } from "../src/engine/safetensors.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    "rows-per-chunk": { type: "string", default: "4096" },
    dtype: { type: "string", default: "f32" },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const checkpoint = positionals[0] ?? "/tmp/trm-synthetic-arc/step_518071";
const rowsPerChunk = Number(values["rows-per-chunk"]);
const dtype = values.dtype!;
if (dtype !== "f32" && dtype !== "bf16") throw new Error(`--dtype is f32 or bf16, not ${dtype}`);
const out = values.out ?? join(dirname(checkpoint), `puzzle_emb.${dtype}`);
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

const started = performance.now();
const source = openFileSource(checkpoint);
const { tensors, deferred } = readTorchCheckpoint(source, { defer: (key) => key.endsWith("puzzle_emb.weights") });
const table = deferred.get([...deferred.keys()][0]!)!;
const openMs = performance.now() - started;
const rssAfterOpen = maxRssMiB();

const fd = openSync(out, "w");
const hash = createHash("sha256");
let written = 0;
const streamStart = performance.now();
table.streamRows(rowsPerChunk, (_firstRow, rows) => {
  const bytes = dtype === "f32" ? float32Bytes(rows) : toBFloat16(rows);
  hash.update(bytes);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
  written += bytes.length;
});
closeSync(fd);
source.close();
const streamMs = performance.now() - streamStart;

const recordPath = join(dirname(checkpoint), "table.json");
const record = existsSync(recordPath) ? JSON.parse(readFileSync(recordPath, "utf8")) : undefined;
const sha256 = hash.digest("hex");
console.log(JSON.stringify({
  checkpoint,
  checkpoint_bytes: statSync(checkpoint).size,
  trunk_tensors: tensors.size,
  table_shape: table.shape,
  table_dtype: table.dtype,
  rows_per_chunk: rowsPerChunk,
  out_dtype: dtype,
  out_bytes: written,
  open_ms: Math.round(openMs),
  stream_ms: Math.round(streamMs),
  wall_ms: Math.round(performance.now() - started),
  max_rss_mib_after_open: Math.round(rssAfterOpen),
  max_rss_mib: Math.round(maxRssMiB()),
  sha256,
  matches_generator: dtype === "f32" && record ? record.float32_sha256 === sha256 : null,
}));
if (!values.keep) rmSync(out);
