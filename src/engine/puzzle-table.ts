// Puzzle-embedding rows read per request instead of a table in memory: the
// official ARC checkpoints learn one 512-wide row per (task, augmentation),
// 876,406 rows (1.8 GB), far more than an isolate holds. A pack with such a
// table stores it as its own object in row order, beside the identifiers
// (one per line, in row order) and a task index: task id -> its row ranges,
// the byte ranges of their identifiers, and a sha256 over exactly those
// bytes (rows first, then identifiers, range by range). A reader fetches one
// task's rows (one range read per range), verifies the checksum and returns
// them as float32.
import { TrmError } from "../errors.ts";

export const TASK_INDEX_FORMAT = "trm-task-index";
export const TABLE_DTYPES = ["f32", "bf16"] as const;
export type TableDtype = (typeof TABLE_DTYPES)[number];
export const TABLE_ITEM_BYTES: Record<TableDtype, number> = { f32: 4, bf16: 2 };

/** The manifest's `puzzle_table` section. */
export interface PuzzleTableManifest {
  file: string; // (rows, dim) in row order
  dtype: TableDtype;
  rows: number; // = num_puzzle_identifiers
  dim: number; // = puzzle_emb_ndim
  bytes: number; // rows * dim * item bytes
  identifiers_file: string; // one identifier per line, in row order
  index_file: string; // the task index (JSON)
  index_sha256: string;
  tasks: number;
  // Optional: the tasks' demonstrations and test inputs (the official builder's
  // test_puzzles.json: task id -> {train: [{input, output}], test: [{input, output?}]}),
  // which GET /v1/models/:name/tasks/:task shows; solving never needs it.
  puzzles_file?: string;
  puzzles_sha256?: string;
}

export interface TaskEntry {
  rows: [number, number][]; // [first, end) row ranges, ascending
  identifiers: [number, number][]; // [offset, end) byte ranges in identifiers_file, one per row range
  sha256: string; // over the rows' bytes, then the identifiers' bytes
}

export interface TaskIndex {
  format: typeof TASK_INDEX_FORMAT;
  version: 1;
  tasks: Record<string, TaskEntry>;
}

export interface TaskRows {
  task: string;
  names: string[]; // identifier of each row, in row order (the unaugmented task first)
  ids: number[]; // row numbers
  rows: Float32Array; // (names.length, dim)
  bytes: number; // bytes read
}

/** Reads `length` bytes of `file` at `offset`; resolves to fewer bytes (or null) when the object is short or missing. */
export type RangeReader = (file: string, offset: number, length: number) => Promise<Uint8Array | null>;

function badIndex(message: string): never {
  throw new TrmError("bad_pack", `task index: ${message}`);
}

export function checkTableManifest(t: PuzzleTableManifest, numIds: number, ndim: number): void {
  if (!t || typeof t !== "object") badIndex("puzzle_table must be an object");
  if (!TABLE_DTYPES.includes(t.dtype)) badIndex(`puzzle_table.dtype must be ${TABLE_DTYPES.join(" or ")}`);
  if (t.rows !== numIds || t.dim !== ndim) badIndex(`puzzle_table is (${t.rows}, ${t.dim}); the config needs (${numIds}, ${ndim})`);
  if (t.bytes !== t.rows * t.dim * TABLE_ITEM_BYTES[t.dtype]) badIndex(`puzzle_table.bytes ${t.bytes} is not rows x dim x ${TABLE_ITEM_BYTES[t.dtype]}`);
  for (const f of ["file", "identifiers_file", "index_file"] as const) {
    if (typeof t[f] !== "string" || !/^[A-Za-z0-9._-]+$/.test(t[f])) badIndex(`puzzle_table.${f} must be a file name in the pack`);
  }
  if (typeof t.index_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(t.index_sha256)) badIndex("puzzle_table.index_sha256 must be 64 hex digits");
  if (t.puzzles_file !== undefined || t.puzzles_sha256 !== undefined) {
    if (typeof t.puzzles_file !== "string" || !/^[A-Za-z0-9._-]+$/.test(t.puzzles_file)) badIndex("puzzle_table.puzzles_file must be a file name in the pack");
    if (typeof t.puzzles_sha256 !== "string" || !/^[0-9a-f]{64}$/.test(t.puzzles_sha256)) badIndex("puzzle_table.puzzles_sha256 must be 64 hex digits");
  }
}

/** Parses and checks the index against the table it describes. */
export function parseTaskIndex(json: unknown, table: PuzzleTableManifest): TaskIndex {
  const index = json as TaskIndex;
  if (!index || index.format !== TASK_INDEX_FORMAT || index.version !== 1 || typeof index.tasks !== "object") badIndex(`not a ${TASK_INDEX_FORMAT} v1 file`);
  for (const [task, e] of Object.entries(index.tasks)) {
    if (!Array.isArray(e.rows) || !Array.isArray(e.identifiers) || e.rows.length === 0 || e.rows.length !== e.identifiers.length) badIndex(`task ${task} has malformed ranges`);
    for (const [a, b] of e.rows) if (!Number.isSafeInteger(a) || !Number.isSafeInteger(b) || a < 0 || b <= a || b > table.rows) badIndex(`task ${task} has row range [${a}, ${b}) outside the table`);
    if (typeof e.sha256 !== "string" || !/^[0-9a-f]{64}$/.test(e.sha256)) badIndex(`task ${task} has no sha256`);
  }
  if (Object.keys(index.tasks).length !== table.tasks) badIndex(`has ${Object.keys(index.tasks).length} tasks, model.json says ${table.tasks}`);
  return index;
}

export const rowCount = (e: TaskEntry) => e.rows.reduce((n, [a, b]) => n + b - a, 0);

export async function sha256Hex(...parts: Uint8Array[]): Promise<string> {
  const total = parts.reduce((n, p) => n + p.length, 0);
  const joined = parts.length === 1 ? parts[0] : new Uint8Array(total);
  if (parts.length !== 1) {
    let at = 0;
    for (const p of parts) {
      joined.set(p, at);
      at += p.length;
    }
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", joined as Uint8Array<ArrayBuffer>));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function toFloat32Rows(bytes: Uint8Array, dtype: TableDtype): Float32Array {
  const aligned = new Uint8Array(bytes); // own, 4-byte aligned buffer
  if (dtype === "f32") return new Float32Array(aligned.buffer);
  const bf16 = new Uint16Array(aligned.buffer);
  const out = new Uint32Array(bf16.length);
  for (let i = 0; i < bf16.length; i++) out[i] = bf16[i] << 16;
  return new Float32Array(out.buffer);
}

/**
 * One task's rows, verified. A missing, short or corrupt read is a 503
 * (`rows_unavailable`): nothing is ever computed from unverified rows.
 */
export async function readTaskRows(read: RangeReader, table: PuzzleTableManifest, task: string, entry: TaskEntry): Promise<TaskRows> {
  const rowBytes = table.dim * TABLE_ITEM_BYTES[table.dtype];
  const unavailable = (why: string): never => {
    throw new TrmError("rows_unavailable", `the puzzle-embedding rows of task ${task} cannot be used: ${why}`, 503);
  };
  const reads = await Promise.all(
    entry.rows.flatMap(([a, b], i) => {
      const [s, e] = entry.identifiers[i];
      return [read(table.file, a * rowBytes, (b - a) * rowBytes), read(table.identifiers_file, s, e - s)];
    }),
  );
  const expected = entry.rows.flatMap(([a, b], i) => [(b - a) * rowBytes, entry.identifiers[i][1] - entry.identifiers[i][0]]);
  reads.forEach((r, i) => {
    if (!r) return unavailable(`${i % 2 ? table.identifiers_file : table.file} is missing`);
    if (r.length !== expected[i]) unavailable(`a range read of ${i % 2 ? table.identifiers_file : table.file} returned ${r.length} bytes, expected ${expected[i]} (truncated object?)`);
  });
  const rowParts = reads.filter((_, i) => i % 2 === 0) as Uint8Array[];
  const nameParts = reads.filter((_, i) => i % 2 === 1) as Uint8Array[];
  const digest = await sha256Hex(...rowParts, ...nameParts);
  if (digest !== entry.sha256) unavailable(`sha256 ${digest} does not match the task index (${entry.sha256}): corrupt or mismatched objects`);
  const names = new TextDecoder().decode(await new Blob(nameParts as Uint8Array<ArrayBuffer>[]).arrayBuffer()).split("\n").filter((n) => n);
  const ids = entry.rows.flatMap(([a, b]) => Array.from({ length: b - a }, (_, i) => a + i));
  if (names.length !== ids.length) unavailable(`${names.length} identifiers for ${ids.length} rows`);
  const all = new Uint8Array(rowParts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of rowParts) {
    all.set(p, at);
    at += p.length;
  }
  return { task, names, ids, rows: toFloat32Rows(all, table.dtype), bytes: all.length + nameParts.reduce((n, p) => n + p.length, 0) };
}

/** Recently used tasks' rows, bounded in bytes (an isolate has 128 MB for everything). */
export class TaskRowCache {
  private readonly entries = new Map<string, Promise<TaskRows>>();
  private readonly sizes = new Map<string, number>();
  private used = 0;
  private readonly maxBytes: number;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  get(key: string, load: () => Promise<TaskRows>): Promise<TaskRows> {
    const hit = this.entries.get(key);
    if (hit) {
      this.entries.delete(key); // most recent last
      this.entries.set(key, hit);
      return hit;
    }
    const loading = load();
    this.entries.set(key, loading);
    loading.then(
      (rows) => {
        if (this.entries.get(key) !== loading) return;
        this.sizes.set(key, rows.rows.byteLength);
        this.used += rows.rows.byteLength;
        for (const [k] of this.entries) {
          if (this.used <= this.maxBytes || k === key) break;
          this.evict(k);
        }
      },
      () => this.entries.get(key) === loading && this.entries.delete(key),
    );
    return loading;
  }

  private evict(key: string): void {
    this.entries.delete(key);
    this.used -= this.sizes.get(key) ?? 0;
    this.sizes.delete(key);
  }
}

/** The task index object, verified against the manifest's checksum. */
export async function loadTaskIndex(bytes: Uint8Array | null, table: PuzzleTableManifest): Promise<TaskIndex> {
  if (!bytes) badIndex(`${table.index_file} is missing`);
  const digest = await sha256Hex(bytes);
  if (digest !== table.index_sha256) badIndex(`${table.index_file} sha256 ${digest} does not match model.json (${table.index_sha256})`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    badIndex(`${table.index_file} is not valid JSON`);
  }
  return parseTaskIndex(json, table);
}

/**
 * A task's index entry, or the error that explains why a task outside the
 * checkpoint's training data cannot be solved: 422 for a solve request, 404
 * where the task is a resource (GET /v1/models/:name/tasks/:task).
 */
export function taskEntry(index: TaskIndex, task: string, status = 422): TaskEntry {
  const entry = Object.hasOwn(index.tasks, task) ? index.tasks[task] : undefined;
  if (!entry) {
    throw new TrmError(
      "unknown_task",
      `task ${JSON.stringify(task.slice(0, 64))} is not in this model's task index: TRM learns one puzzle embedding per task augmentation during training, so it can only solve tasks that were in the checkpoint's training data (${Object.keys(index.tasks).length} tasks)`,
      status,
    );
  }
  return entry;
}
