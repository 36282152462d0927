// GET /v1/models/:name/tasks and GET /v1/models/:name/tasks/:task for an ARC
// pack: the tasks it can serve (its task index, sorted by id, paged: an
// official build has ~960), and one task's demonstrations and test inputs
// when the pack ships them (puzzle_table.puzzles_file, the official builder's
// test_puzzles.json). Only model.json, the index and that file are read from
// R2, never the trunk or the embedding table; the file is read once per
// isolate, verified against the manifest's sha256 and kept as one JSON
// string per task (about its own size in memory: 2 MB for ARC-AGI-1's
// evaluation set).
import { TrmError } from "../errors.ts";
import { type PuzzleTableManifest, type TaskIndex, rowCount, sha256Hex, taskEntry } from "../engine/puzzle-table.ts";
import type { PackManifest } from "../engine/pack.ts";
import { parsePuzzlesFile } from "../tasks/arc/tasks-file.ts";
import { arcContext } from "./arc.ts";
import { modelKey, readManifest } from "./models.ts";

const DEFAULT_LIMIT = 100;
const MAX_LIMIT = 1000;

/** task id -> '{"train": [...], "test": [...]}' */
type Puzzles = Map<string, string>;

const puzzleFiles = new Map<string, Promise<Puzzles>>();
const sortedIds = new WeakMap<TaskIndex, string[]>();

async function arcPack(bucket: R2Bucket, name: string): Promise<{ manifest: PackManifest; index: TaskIndex }> {
  const manifest = await readManifest(bucket, name);
  if (manifest.task !== "arc") throw new TrmError("not_found", `model ${name} is a ${manifest.task} model: only ARC models (with a task index) have tasks`, 404);
  return { manifest, index: (await arcContext(bucket, { name, manifest })).index };
}

/** The pack's puzzles file, verified and split by task; undefined when the pack ships none. */
function puzzlesOf(bucket: R2Bucket, name: string, table: PuzzleTableManifest): Promise<Puzzles> | undefined {
  const file = table.puzzles_file;
  if (file === undefined) return undefined;
  const key = `${name}\n${table.puzzles_sha256}`;
  let loading = puzzleFiles.get(key);
  if (!loading) {
    loading = (async () => {
      const unavailable = (why: string) => new TrmError("model_unavailable", `model ${name} cannot be served: ${file} ${why}`, 503);
      const object = await bucket.get(modelKey(name, file));
      if (!object) throw unavailable("is missing");
      const bytes = new Uint8Array(await object.arrayBuffer());
      const digest = await sha256Hex(bytes);
      if (digest !== table.puzzles_sha256) throw unavailable(`has sha256 ${digest}, model.json says ${table.puzzles_sha256}`);
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(bytes));
      } catch {
        throw unavailable("is not valid JSON");
      }
      try {
        return new Map([...parsePuzzlesFile(json, file)].map(([task, p]) => [task, JSON.stringify(p)]));
      } catch (e) {
        throw e instanceof TrmError ? unavailable(`is malformed: ${e.message}`) : e;
      }
    })();
    puzzleFiles.set(key, loading);
    loading.catch(() => puzzleFiles.delete(key));
  }
  return loading;
}

function pageOptions(url: URL): { limit: number; cursor: string | undefined } {
  const unknown = [...url.searchParams.keys()].filter((k) => k !== "limit" && k !== "cursor");
  if (unknown.length) throw new TrmError("bad_request", `unknown query parameter(s) ${unknown.slice(0, 5).join(", ").slice(0, 200)}; expected limit, cursor`, 400);
  const limitText = url.searchParams.get("limit");
  if (limitText !== null && !(/^[1-9][0-9]{0,3}$/.test(limitText) && Number(limitText) <= MAX_LIMIT)) {
    throw new TrmError("bad_request", `limit must be an integer from 1 to ${MAX_LIMIT}, got ${JSON.stringify(limitText.slice(0, 20))}`, 400);
  }
  const cursor = url.searchParams.get("cursor") ?? undefined;
  if (cursor !== undefined && (cursor.length === 0 || cursor.length > 200)) throw new TrmError("bad_request", "cursor must be the next_cursor of the previous page", 400);
  return { limit: limitText === null ? DEFAULT_LIMIT : Number(limitText), cursor };
}

/** GET /v1/models/:name/tasks?limit=&cursor=: task ids in order, `limit` at a time; next_cursor continues after the last one. */
export async function listTasks(bucket: R2Bucket, name: string, url: URL) {
  const { limit, cursor } = pageOptions(url);
  const { manifest, index } = await arcPack(bucket, name);
  const puzzles = await puzzlesOf(bucket, name, manifest.puzzle_table!);
  let ids = sortedIds.get(index);
  if (!ids) sortedIds.set(index, (ids = Object.keys(index.tasks).sort()));
  // The cursor is the last id of the previous page: continue at the first id after it.
  let start = 0;
  if (cursor !== undefined) {
    let hi = ids.length;
    while (start < hi) {
      const mid = (start + hi) >> 1;
      if (ids[mid] <= cursor) start = mid + 1;
      else hi = mid;
    }
  }
  const page = ids.slice(start, start + limit);
  return {
    model: name,
    total: ids.length,
    demonstrations: puzzles !== undefined,
    tasks: page.map((task) => ({ task, augmentations: rowCount(index.tasks[task]), demonstrations: puzzles?.has(task) ?? false })),
    next_cursor: start + limit < ids.length ? page[page.length - 1] : null,
  };
}

/** GET /v1/models/:name/tasks/:task: its augmentations (rows), and its train pairs and test inputs when the pack ships them. */
export async function taskInfo(bucket: R2Bucket, name: string, task: string) {
  const { manifest, index } = await arcPack(bucket, name);
  const entry = taskEntry(index, task, 404);
  const puzzle = (await puzzlesOf(bucket, name, manifest.puzzle_table!))?.get(task);
  return { model: name, task, augmentations: rowCount(entry), demonstrations: puzzle !== undefined, ...(puzzle ? (JSON.parse(puzzle) as object) : {}) };
}
