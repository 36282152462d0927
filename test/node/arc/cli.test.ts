// The shared ARC reference through `trm convert --identifiers` and `trm arc`,
// exactly as a user runs them: the official evaluator's submission.json and
// pass@K must come out unchanged. 63 augmented inputs x 16 steps at 916
// positions: several CPU-minutes.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SHARED, trm } from "../helpers.ts";

const ARC = join(SHARED, "golden/arc");
const tmp = mkdtempSync(join(tmpdir(), "trm-arc-"));
// A folder whose parent does not exist yet, as `--out packs/arc1` in a fresh checkout (README).
const pack = join(tmp, "packs", "arc1");

describe("trm convert --identifiers + trm arc on the shared ARC reference", () => {
  it("converts the official checkpoint with its identifiers into a pack with a task index", async () => {
    const r = await trm(["convert", join(ARC, "model/checkpoint.pt"), "--config", join(ARC, "model/all_config.yaml"), "--dataset", join(ARC, "data/test/dataset.json"), "--identifiers", join(ARC, "data/identifiers.json"), "--out", pack]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/puzzle table: 109 rows x 64 \(f32, 27904 bytes\), 12 tasks, 12 of them one contiguous range/);
    const manifest = JSON.parse(readFileSync(join(pack, "model.json"), "utf8"));
    expect(manifest.task).toBe("arc");
    expect(manifest.puzzle_table).toMatchObject({ rows: 109, dim: 64, dtype: "f32", tasks: 12 });
    const index = JSON.parse(readFileSync(join(pack, "tasks.json"), "utf8"));
    expect(index.tasks["0c786b71"].rows).toEqual([[73, 82]]); // official ids 73-81 (golden/arc/README.md)
  });

  it("reproduces the official submission.json byte for byte and pass@K exactly", async () => {
    const submission = join(tmp, "submission.json");
    const report = join(tmp, "report.json");
    const r = await trm(["arc", "--model", pack, "--tasks", join(ARC, "data/test_puzzles.json"), "--augmentations", "all", "--steps", "16", "--submission", submission, "--json", report]);
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(submission, "utf8")).toBe(readFileSync(join(ARC, "eval_model/submission.json"), "utf8"));
    expect(r.stdout.trim()).toBe(readFileSync(join(ARC, "eval_model/result.json"), "utf8").trim());
    const rep = JSON.parse(readFileSync(report, "utf8"));
    expect(rep.result).toEqual(JSON.parse(readFileSync(join(ARC, "eval_model/result.json"), "utf8")));
    expect(rep.sequences).toBe(63);
    expect(rep.per_task.find((t: { task: string }) => t.task === "b7f8a4d8").tests[0].candidates[0]).toMatchObject({ votes: 6, grid: [] });
  }, 1_800_000);

  it("refuses tasks files it cannot use, naming the problem", async () => {
    const bad = join(tmp, "bad.json");
    writeFileSync(bad, JSON.stringify({ "1a2e2828": { train: [], test: [{ input: [[1, 2], [3]] }] } }));
    const r = await trm(["arc", "--model", pack, "--tasks", bad, "--submission", join(tmp, "x.json")]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/1a2e2828\.test\[0\]\.input\[1\] has 1 cells/);
    const unknown = join(tmp, "unknown.json");
    writeFileSync(unknown, JSON.stringify({ ffffffff: { train: [], test: [{ input: [[1]] }] } }));
    const u = await trm(["arc", "--model", pack, "--tasks", unknown, "--submission", join(tmp, "x.json")]);
    expect(u.code).toBe(1);
    expect(u.stderr).toMatch(/unknown_task.*one puzzle embedding per task augmentation/);
    const usage = await trm(["arc", "--model", pack, "--tasks", unknown, "--augmentations", "0", "--submission", join(tmp, "x.json")]);
    expect(usage.code).toBe(2);
  });
});
