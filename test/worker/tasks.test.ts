// GET /v1/models/:name/tasks and /tasks/:task inside workerd, against a real
// local R2 bucket holding the shared ARC reference pack: the listing is the
// task index, paged; a task shows the pack's own test_puzzles.json entry;
// neither route needs the trunk or the embedding table; anything wrong is a
// documented 4xx or 503.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, test } from "vitest";
import puzzlesFile from "../../weights/arc-parity/test_puzzles.json";
import taskIndex from "../../weights/arc-parity/tasks.json";
import { call, expectError, post, solvePath } from "./http.ts";
import { ARC_PACK, arcManifest, seedArcPack, seedPacks } from "./packs.ts";

interface TaskList {
  model: string;
  total: number;
  demonstrations: boolean;
  tasks: { task: string; augmentations: number; demonstrations: boolean }[];
  next_cursor: string | null;
}

const puzzles = puzzlesFile as Record<string, { train: unknown[]; test: unknown[] }>;
const ids = Object.keys(taskIndex.tasks).sort();
const list = async (model: string, query = "") => {
  const r = await call(`/v1/models/${model}/tasks${query}`);
  const body = await r.json();
  expect(r.status, JSON.stringify(body)).toBe(200);
  return body as TaskList;
};

beforeAll(async () => {
  await seedPacks();
  await seedArcPack();
});

describe("GET /v1/models/:name/tasks", () => {
  test("lists every task of the index, sorted, with its augmentations and whether the pack ships its demonstrations", async () => {
    const body = await list(ARC_PACK);
    expect(body).toMatchObject({ model: ARC_PACK, total: 12, demonstrations: true, next_cursor: null });
    expect(body.tasks.map((t) => t.task)).toEqual(ids);
    expect(body.tasks.every((t) => t.augmentations === 9)).toBe(true); // original + 8 dihedral rows each
    expect(body.tasks.filter((t) => t.demonstrations).map((t) => t.task)).toEqual(Object.keys(puzzles).sort());
    expect(Object.keys(puzzles)).toHaveLength(6);
  });

  test("pages with limit and cursor: every task once, in order, and the last page says so", async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: TaskList = await list(ARC_PACK, `?limit=5${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
      expect(page.tasks.length).toBeLessThanOrEqual(5);
      seen.push(...page.tasks.map((t) => t.task));
      cursor = page.next_cursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(3);
    expect(seen).toEqual(ids);
    // a cursor continues after it whether or not it is an id of the index
    expect((await list(ARC_PACK, `?limit=2&cursor=${ids[3]}`)).tasks.map((t) => t.task)).toEqual(ids.slice(4, 6));
    expect((await list(ARC_PACK, `?cursor=${ids[3]}0`)).tasks.map((t) => t.task)).toEqual(ids.slice(4));
    expect((await list(ARC_PACK, "?cursor=zzzz")).tasks).toEqual([]);
    expect((await list(ARC_PACK, "?limit=12")).next_cursor).toBeNull();
  });

  test("a bad limit, cursor or query parameter is a 400 naming it", async () => {
    for (const q of ["?limit=0", "?limit=1001", "?limit=five", "?limit=-1", "?limit=2.5", "?limit="]) await expectError(call(`/v1/models/${ARC_PACK}/tasks${q}`), 400, "bad_request", /limit must be an integer from 1 to 1000/);
    await expectError(call(`/v1/models/${ARC_PACK}/tasks?cursor=`), 400, "bad_request", /cursor/);
    await expectError(call(`/v1/models/${ARC_PACK}/tasks?page=2`), 400, "bad_request", /unknown query parameter\(s\) page/);
  });

  test("non-ARC and unknown models are 404s that say which", async () => {
    await expectError(call("/v1/models/sudoku-parity/tasks"), 404, "not_found", /sudoku-parity is a sudoku model: only ARC models/);
    await expectError(call("/v1/models/sudoku-parity/tasks/1a2e2828"), 404, "not_found", /only ARC models/);
    await expectError(call("/v1/models/nope/tasks"), 404, "model_not_found");
  });
});

describe("GET /v1/models/:name/tasks/:task", () => {
  test("gives the task's train pairs and test inputs (with outputs) exactly as the pack's test_puzzles.json has them", async () => {
    for (const task of Object.keys(puzzles)) {
      const r = await call(`/v1/models/${ARC_PACK}/tasks/${task}`);
      expect(r.status).toBe(200);
      expect(await r.json()).toEqual({ model: ARC_PACK, task, augmentations: 9, demonstrations: true, train: puzzles[task].train, test: puzzles[task].test });
    }
  });

  test("a task of the index without demonstrations gives its augmentations only; a task outside the index is 404 unknown_task", async () => {
    const bare = ids.find((t) => !(t in puzzles))!;
    expect(await (await call(`/v1/models/${ARC_PACK}/tasks/${bare}`)).json()).toEqual({ model: ARC_PACK, task: bare, augmentations: 9, demonstrations: false });
    await expectError(call(`/v1/models/${ARC_PACK}/tasks/00000000`), 404, "unknown_task", /not in this model's task index: TRM learns one puzzle embedding per task augmentation/);
    await expectError(call(`/v1/models/${ARC_PACK}/tasks/${encodeURIComponent("__proto__")}`), 404, "unknown_task");
    expect((await call(`/v1/models/${ARC_PACK}/tasks/${ids[0]}`, { method: "HEAD" })).status).toBe(200);
  });

  test("neither route reads the trunk or the embedding table: they answer with both objects gone", async () => {
    await seedArcPack("arc-index-only");
    await env.MODELS.delete("models/arc-index-only/model.safetensors");
    await env.MODELS.delete("models/arc-index-only/puzzle_emb.bin");
    expect((await list("arc-index-only")).total).toBe(12);
    expect((await call("/v1/models/arc-index-only/tasks/1a2e2828")).status).toBe(200);
  });

  test("a pack that declares no puzzles file lists its tasks without demonstrations", async () => {
    await seedArcPack("arc-no-puzzles");
    const { puzzles_file: _f, puzzles_sha256: _s, ...table } = arcManifest.puzzle_table;
    await env.MODELS.put("models/arc-no-puzzles/model.json", JSON.stringify({ ...arcManifest, puzzle_table: table }));
    const body = await list("arc-no-puzzles");
    expect(body.demonstrations).toBe(false);
    expect(body.tasks.some((t) => t.demonstrations)).toBe(false);
    expect(await (await call("/v1/models/arc-no-puzzles/tasks/1a2e2828")).json()).toEqual({ model: "arc-no-puzzles", task: "1a2e2828", augmentations: 9, demonstrations: false });
  });

  test("a puzzles file that is missing, altered or malformed is a 503 naming it, and solving the pack still works", async () => {
    await seedArcPack("arc-altered-puzzles", { "test_puzzles.json": JSON.stringify(puzzles).replace("[[7]]", "[[8]]") });
    await expectError(call("/v1/models/arc-altered-puzzles/tasks/1a2e2828"), 503, "model_unavailable", /test_puzzles\.json has sha256 [0-9a-f]{64}, model\.json says 2b0cb55f/);
    await expectError(call("/v1/models/arc-altered-puzzles/tasks"), 503, "model_unavailable");
    const solved = await post(solvePath("arc-altered-puzzles"), { task: "1a2e2828", test: [{ input: (puzzles["1a2e2828"].test[0] as { input: number[][] }).input }], augmentations: 1, max_steps: 1 });
    expect(solved.status).toBe(200);

    await seedArcPack("arc-missing-puzzles");
    await env.MODELS.delete("models/arc-missing-puzzles/test_puzzles.json");
    await expectError(call("/v1/models/arc-missing-puzzles/tasks"), 503, "model_unavailable", /test_puzzles\.json is missing/);

    const malformed = JSON.stringify({ "1a2e2828": { train: [], test: [{ input: [[1, 12]] }] } });
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(malformed)))].map((b) => b.toString(16).padStart(2, "0")).join("");
    await seedArcPack("arc-malformed-puzzles", { "test_puzzles.json": malformed });
    await env.MODELS.put("models/arc-malformed-puzzles/model.json", JSON.stringify({ ...arcManifest, puzzle_table: { ...arcManifest.puzzle_table, puzzles_sha256: digest } }));
    await expectError(call("/v1/models/arc-malformed-puzzles/tasks/1a2e2828"), 503, "model_unavailable", /is malformed: 1a2e2828\.test\[0\]\.input/);
  });
});
