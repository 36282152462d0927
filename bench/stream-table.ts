// Streams the puzzle-embedding table of a torch checkpoint to a file through
// the converter's writePuzzleTable (row order, per-task checksums), and
// reports peak memory and time. For the 1.8 GB case:
//   python3 bench/public-checkpoints.py trm-arc1          # writes /tmp/trm-public/trm-arc1/
//   npx node bench/stream-table.ts [checkpoint] [--identifiers identifiers.json] [--dtype f32|bf16] [--out file] [--keep]
// One JSON line. The trunk is read eagerly (it is part of the real peak);
// the table is deferred and streamed in the converter's chunks. The
// identifiers default to the generator's identifiers.json beside the
// checkpoint; when its table.json is there too, the sha256 of the f32 rows
// written is compared with the one it recorded.
import { createHash } from "node:crypto";
import { closeSync, existsSync, openSync, readFileSync, rmSync, statSync, writeSync } from "node:fs";
import { dirname, join } from "node:path";
import { parseArgs } from "node:util";
import { openFileSource } from "../src/convert/byte-source.ts";
import { readTorchCheckpoint } from "../src/convert/torch-checkpoint.ts";
import { parseIdentifiers, writePuzzleTable } from "../src/convert/puzzle-table.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    identifiers: { type: "string" },
    dtype: { type: "string", default: "f32" },
    out: { type: "string" },
    keep: { type: "boolean", default: false },
  },
});
const checkpoint = positionals[0] ?? "/tmp/trm-public/trm-arc1/step_518071";
const dtype = values.dtype!;
if (dtype !== "f32" && dtype !== "bf16") throw new Error(`--dtype is f32 or bf16, not ${dtype}`);
const identifiersPath = values.identifiers ?? join(dirname(checkpoint), "identifiers.json");
const out = values.out ?? join(dirname(checkpoint), `puzzle_emb.${dtype}`);
const maxRssMiB = () => process.resourceUsage().maxRSS / 1024; // maxRSS is in KiB

const started = performance.now();
const identifiers = parseIdentifiers(readFileSync(identifiersPath, "utf8"), identifiersPath);
const source = openFileSource(checkpoint);
const { tensors, deferred } = readTorchCheckpoint(source, { defer: (key) => key.endsWith("puzzle_emb.weights") });
const table = deferred.get([...deferred.keys()][0]!)!;
const openMs = performance.now() - started;
const rssAfterOpen = maxRssMiB();

const fd = openSync(out, "w");
const hash = createHash("sha256");
const streamStart = performance.now();
const written = writePuzzleTable(table.streamRows, identifiers, table.shape[1]!, dtype, (bytes) => {
  hash.update(bytes);
  for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
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
  tasks: written.tasks,
  out_dtype: dtype,
  out_bytes: written.bytes,
  open_ms: Math.round(openMs),
  stream_ms: Math.round(streamMs),
  wall_ms: Math.round(performance.now() - started),
  max_rss_mib_after_open: Math.round(rssAfterOpen),
  max_rss_mib: Math.round(maxRssMiB()),
  sha256,
  matches_generator: dtype === "f32" && record ? record.float32_sha256 === sha256 : null,
}));
if (!values.keep) rmSync(out);
