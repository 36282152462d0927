// The converter's side of src/engine/puzzle-table.ts: the checkpoint's
// puzzle-embedding rows streamed in row order to their own object, the
// identifiers (from the official builder's identifiers.json) one per line,
// and the task index with a checksum over each task's bytes. Rows pass
// through in chunks, so a 1.8 GB table never sits in memory.
import { createHash, type Hash } from "node:crypto";
import { TrmError } from "../errors.ts";
import { TABLE_ITEM_BYTES, TASK_INDEX_FORMAT, type TableDtype, type TaskEntry, type TaskIndex } from "../engine/puzzle-table.ts";
import { float32Bytes, toBFloat16 } from "../engine/safetensors.ts";
import { parseAugmentation } from "../tasks/arc/augment.ts";

/** Streams rows [firstRow, firstRow + rows.length / dim) in order, as float32. */
export type RowStream = (rowsPerChunk: number, onChunk: (firstRow: number, rows: Float32Array) => void) => void;

export const BLANK_IDENTIFIER = "<blank>";
const ROWS_PER_CHUNK = 4096;

function bad(message: string): never {
  throw new TrmError("bad_convert", message);
}

/** identifiers.json as the official builder writes it: ["<blank>", "<task>", "<task>|||t<k>|||<perm>", ...]. */
export function parseIdentifiers(text: string, name: string): string[] {
  let ids: unknown;
  try {
    ids = JSON.parse(text);
  } catch (e) {
    bad(`${name} is not valid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(ids) || ids.length < 2 || !ids.every((x) => typeof x === "string" && x.length > 0 && !x.includes("\n"))) {
    bad(`${name} must be a JSON array of identifier strings (the identifiers.json of dataset/build_arc_dataset.py)`);
  }
  if (ids[0] !== BLANK_IDENTIFIER) bad(`${name}[0] is ${JSON.stringify(ids[0])}; the official builder reserves id 0 for "${BLANK_IDENTIFIER}"`);
  return ids as string[];
}

interface TaskBuild {
  entry: TaskEntry;
  hash: Hash;
}

/** Groups identifiers by task (row order kept; a task may span several ranges) and lays out the identifiers file. */
function layout(identifiers: string[]): { tasks: Map<string, TaskBuild>; taskOfRow: (TaskBuild | null)[]; identifiersText: Uint8Array } {
  const tasks = new Map<string, TaskBuild>();
  const taskOfRow: (TaskBuild | null)[] = [];
  const encoder = new TextEncoder();
  let offset = 0;
  identifiers.forEach((name, row) => {
    const bytes = encoder.encode(name + "\n").length;
    if (row === 0 || name === BLANK_IDENTIFIER) {
      taskOfRow.push(null);
    } else {
      const { task } = parseAugmentation(name);
      let t = tasks.get(task);
      if (!t) tasks.set(task, (t = { entry: { rows: [], identifiers: [], sha256: "" }, hash: createHash("sha256") }));
      const last = t.entry.rows.at(-1);
      if (last && last[1] === row) {
        last[1] += 1;
        t.entry.identifiers.at(-1)![1] += bytes;
      } else {
        t.entry.rows.push([row, row + 1]);
        t.entry.identifiers.push([offset, offset + bytes]);
      }
      taskOfRow.push(t);
    }
    offset += bytes;
  });
  return { tasks, taskOfRow, identifiersText: encoder.encode(identifiers.map((n) => n + "\n").join("")) };
}

export interface WrittenTable {
  index: TaskIndex;
  identifiersText: Uint8Array;
  bytes: number;
  tasks: number;
  contiguous: number; // tasks whose rows form one range
}

/** Writes the (rows, dim) table through `write` in row order and returns the task index. */
export function writePuzzleTable(rows: RowStream, identifiers: string[], dim: number, dtype: TableDtype, write: (bytes: Uint8Array) => void): WrittenTable {
  const { tasks, taskOfRow, identifiersText } = layout(identifiers);
  const rowBytes = dim * TABLE_ITEM_BYTES[dtype];
  let next = 0;
  rows(ROWS_PER_CHUNK, (first, values) => {
    if (first !== next) bad(`puzzle-embedding rows arrived out of order (row ${first}, expected ${next})`);
    const bytes = dtype === "f32" ? float32Bytes(values) : toBFloat16(values);
    const count = values.length / dim;
    for (let r = 0; r < count; r++) taskOfRow[first + r]?.hash.update(bytes.subarray(r * rowBytes, (r + 1) * rowBytes));
    write(bytes);
    next = first + count;
  });
  if (next !== identifiers.length) bad(`the puzzle-embedding table has ${next} rows, identifiers.json has ${identifiers.length}`);
  const index: TaskIndex = { format: TASK_INDEX_FORMAT, version: 1, tasks: {} };
  for (const [task, t] of tasks) {
    for (const [s, e] of t.entry.identifiers) t.hash.update(identifiersText.subarray(s, e));
    t.entry.sha256 = t.hash.digest("hex");
    index.tasks[task] = t.entry;
  }
  const contiguous = [...tasks.values()].filter((t) => t.entry.rows.length === 1).length;
  return { index, identifiersText, bytes: next * rowBytes, tasks: tasks.size, contiguous };
}
