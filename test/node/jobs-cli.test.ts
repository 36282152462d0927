// `trm jobs` against a local Worker (wrangler's test harness: local queues,
// R2 and Durable Objects, the queue consumer running in it): on the shipped
// trained Sudoku model the job's answers must equal `trm solve` in-process,
// and on the shipped ARC reference pack its submission.json must equal
// `trm arc`'s, byte for byte.
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestHarness } from "wrangler";
import { Random } from "../../src/generate/random.ts";
import { generateSudoku, sudokuString } from "../../src/generate/sudoku.ts";
import { REPO, trm } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "trm-jobs-"));
const random = new Random(913_101);
const puzzles = Array.from({ length: 30 }, () => sudokuString(generateSudoku(random, 34).puzzle));
const input = join(work, "puzzles.txt");
writeFileSync(input, puzzles.join("\n") + "\n");
const pack = join(REPO, "weights/sudoku");
const arcPack = join(REPO, "weights/arc-parity");
const parse = (text: string) => text.trim().split("\n").map((l) => JSON.parse(l));

describe("trm jobs", () => {
  const harness = createTestHarness({ workers: [{ configPath: join(REPO, "wrangler.toml") }] });
  let url = "";

  beforeAll(async () => {
    url = (await harness.listen()).url.toString();
    const env = (await harness.getWorker().getEnv()) as { MODELS: { put(k: string, v: string | Uint8Array): Promise<unknown> } };
    await env.MODELS.put("models/sudoku/model.json", readFileSync(join(pack, "model.json"), "utf8"));
    await env.MODELS.put("models/sudoku/model.safetensors", new Uint8Array(readFileSync(join(pack, "model.safetensors"))));
    for (const file of readdirSync(arcPack).filter((f) => f !== "README.md" && f !== "test_puzzles.json")) {
      await env.MODELS.put(`models/arc-parity/${file}`, new Uint8Array(readFileSync(join(arcPack, file))));
    }
  }, 120_000);
  afterAll(() => harness.close());

  test("submit shows progress and writes every result, equal to trm solve in-process; status, results, cancel", async () => {
    const out = join(work, "results.ndjson");
    const r = await trm(["jobs", "submit", "--url", url, "--model-name", "sudoku", "--task", "sudoku", "--input", input, "--out", out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/submitted job [0-9a-f-]{36} \(30 puzzles\)/);
    expect(r.stderr).toMatch(/trm jobs: \[#+\] 30\/30 puzzles/);
    expect(r.stderr).toMatch(/done: 30 done, 0 failed of 30 puzzles/);
    const lines = parse(readFileSync(out, "utf8"));
    const local = parse((await trm(["solve", "--model", pack, "--task", "sudoku", "--input", input])).stdout);
    expect(lines.map((l) => [l.index, l.solution, l.steps, l.check.valid])).toEqual(local.map((l) => [l.index, l.solution, l.steps, l.valid]));

    const id = /submitted job ([0-9a-f-]{36})/.exec(r.stderr)![1];
    const status = await trm(["jobs", "status", id, "--url", url]);
    expect(status.code, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toMatchObject({ id, state: "done", counts: { total: 30, done: 30, failed: 0 } });
    const results = await trm(["jobs", "results", id, "--url", url]);
    expect(parse(results.stdout)).toEqual(lines);
    const cancel = await trm(["jobs", "cancel", id, "--url", url]);
    expect(JSON.parse(cancel.stdout).state).toBe("done"); // a finished job stays finished
  });

  test("an ARC job over test_puzzles.json writes the submission and pass@K that trm arc writes", async () => {
    const tasks = join(arcPack, "test_puzzles.json");
    const options = ["--augmentations", "2", "--steps", "1"];
    const local = await trm(["arc", "--model", arcPack, "--tasks", tasks, ...options, "--submission", join(work, "arc-local.json"), "--quiet"]);
    expect(local.code, local.stderr).toBe(0);
    const job = await trm(["jobs", "submit", "--url", url, "--model-name", "arc-parity", "--task", "arc", "--input", tasks, ...options, "--submission", join(work, "arc-job.json"), "--json", join(work, "arc-job-report.json")]);
    expect(job.code, job.stderr).toBe(0);
    expect(readFileSync(join(work, "arc-job.json"), "utf8")).toBe(readFileSync(join(work, "arc-local.json"), "utf8"));
    expect(JSON.parse(job.stdout)).toEqual(JSON.parse(local.stdout));
  }, 300_000);

  test("mistakes: a bad puzzle and an unknown job exit 1 naming them, usage exits 2", async () => {
    const bad = join(work, "bad.txt");
    writeFileSync(bad, `${puzzles[0]}\n12\n`);
    const r = await trm(["jobs", "submit", "--url", url, "--model-name", "sudoku", "--task", "sudoku", "--input", bad]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(bad_puzzle\).*HTTP 422.*puzzles\[1\]/);
    const unknown = await trm(["jobs", "status", "00000000-0000-4000-8000-000000000000", "--url", url]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/\(job_not_found\)/);
    for (const args of [["jobs"], ["jobs", "status", "x"], ["jobs", "status", "--url", url], ["jobs", "submit", "--url", url, "--task", "sudoku", "--input", input]]) {
      const u = await trm(args);
      expect(u.code, args.join(" ")).toBe(2);
    }
  });
});
