// `trm solve`, in-process and through a local Worker (wrangler's test
// harness with its local R2 bucket), on the golden Sudoku model.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestHarness } from "wrangler";
import { REPO, SHARED, trm } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "trm-solve-"));
// The golden inputs of the official attention model, one JSON line each, with a bad line among them.
const golden = JSON.parse(readFileSync(join(SHARED, "golden/att_rope/expected.json"), "utf8"));
const lineOf = (b: number) => JSON.stringify({ tokens: golden.inputs[b], puzzle_identifier: golden.puzzle_identifiers[b] });
const input = join(work, "puzzles.jsonl");
writeFileSync(input, [lineOf(0), "12345", "", lineOf(1), lineOf(2), lineOf(3)].join("\n") + "\n");
const pack = join(REPO, "weights/tokens-parity");
const sudokuInput = join(work, "sudoku.txt");
writeFileSync(sudokuInput, "003020600900305001001806400008102900700000008006708200002609500800203009005010300\n");
const sudokuPack = join(REPO, "weights/sudoku-parity");

const parse = (stdout: string) => stdout.trim().split("\n").map((l) => JSON.parse(l));

function expectGoldenAnswers(lines: { index: number; solution?: number[]; steps?: number; valid?: boolean | null; error?: { code: string } }[]) {
  expect(lines.map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
  expect(lines[1].error?.code).toBe("bad_puzzle");
  [0, 2, 3, 4].forEach((i, b) => {
    expect(lines[i].solution).toEqual(golden.steps[15].preds[b]);
    expect(lines[i].steps).toBe(16);
    expect(lines[i].valid).toBe(null); // the tokens task has no check
  });
}

describe("trm solve in-process", () => {
  test("answers every line in order, bad lines as errors", async () => {
    const r = await trm(["solve", "--model", pack, "--task", "tokens", "--input", input]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.trim().split("\n")).toEqual([expect.stringMatching(/^trm solve: \[#+\] 5\/5 puzzles/)]); // one bar
    expectGoldenAnswers(parse(r.stdout));
  });

  test("--steps and --halt", async () => {
    const r = await trm(["solve", "--model", pack, "--task", "tokens", "--input", input, "--steps", "3", "--halt", "adaptive"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = parse(r.stdout);
    const firstHalt = (b: number) => Math.min(3, golden.steps.find((s: { q_halt_logits: number[] }) => s.q_halt_logits[b] > 0)?.step ?? 3);
    [0, 2, 3, 4].forEach((i, b) => expect(lines[i].steps).toBe(firstHalt(b)));
  });

  test("--linear int8 answers every line with the int8 kernels", async () => {
    const r = await trm(["solve", "--model", pack, "--task", "tokens", "--input", input, "--linear", "int8"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = parse(r.stdout);
    expect(lines.map((l) => l.index)).toEqual([0, 1, 2, 3, 4]);
    expect(lines[1].error?.code).toBe("bad_puzzle");
    [0, 2, 3, 4].forEach((i) => expect(lines[i].solution).toHaveLength(golden.inputs[0].length));
  });

  test("usage mistakes", async () => {
    const mismatch = await trm(["solve", "--model", sudokuPack, "--task", "maze", "--input", sudokuInput]);
    expect(mismatch.code).toBe(1);
    expect(mismatch.stderr).toMatch(/--task maze but the model .* is a sudoku model/);
    const none = await trm([]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/a command is needed[\s\S]*usage:/);
    const missing = await trm(["solve", "--model", pack, "--task", "tokens", "--input", join(work, "nope.txt")]);
    expect(missing.code).toBe(1); // bad input, named; no usage dump
    expect(missing.stderr).toMatch(/\(unreadable_file\): cannot read input .*nope\.txt: ENOENT/);
    expect(missing.stderr).not.toMatch(/usage:/);
    const noInput = await trm(["solve", "--model", pack, "--task", "tokens"]);
    expect(noInput.code).toBe(2);
    expect(noInput.stderr).toMatch(/solve needs --input[\s\S]*npx trm --help/);
    const both = await trm(["solve", "--model", pack, "--url", "http://x", "--task", "sudoku", "--input", input]);
    expect(both.code).toBe(2);
    expect(both.stderr).toMatch(/either --model <dir> or --url/);
    const remoteLinear = await trm(["solve", "--url", "http://x", "--model-name", "m", "--task", "sudoku", "--input", input, "--linear", "int8"]);
    expect(remoteLinear.code).toBe(2);
    expect(remoteLinear.stderr).toMatch(/--linear applies to --model <dir>/);
    const badLinear = await trm(["solve", "--model", pack, "--task", "sudoku", "--input", input, "--linear", "fp16"]);
    expect(badLinear.code).toBe(2);
    expect(badLinear.stderr).toMatch(/--linear must be f32 or int8, got "fp16"/);
    const steps = await trm(["solve", "--model", pack, "--task", "tokens", "--input", input, "--steps", "99"]);
    expect(steps.code).toBe(1);
    expect(steps.stderr).toMatch(/max_steps must be an integer from 1 to 16/);
  });
});

describe("trm solve --url", () => {
  const harness = createTestHarness({ workers: [{ configPath: join(REPO, "wrangler.toml") }] });
  let url = "";

  beforeAll(async () => {
    url = (await harness.listen()).url.toString();
    const env = (await harness.getWorker().getEnv()) as { MODELS: { put(k: string, v: string | Uint8Array): Promise<unknown> } };
    await env.MODELS.put("models/tokens-parity/model.json", readFileSync(join(pack, "model.json"), "utf8"));
    await env.MODELS.put("models/tokens-parity/model.safetensors", new Uint8Array(readFileSync(join(pack, "model.safetensors"))));
  }, 120_000);
  afterAll(() => harness.close());

  test("gives the same answers through the Worker as in-process", async () => {
    const remote = await trm(["solve", "--url", url, "--model-name", "tokens-parity", "--task", "tokens", "--input", input]);
    expect(remote.code, remote.stderr).toBe(0);
    const local = await trm(["solve", "--model", pack, "--task", "tokens", "--input", input]);
    expectGoldenAnswers(parse(remote.stdout));
    expect(parse(remote.stdout)).toEqual(parse(local.stdout));
  });

  test("an unknown model name is reported", async () => {
    const r = await trm(["solve", "--url", url, "--model-name", "nope", "--task", "tokens", "--input", input]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(model_not_found\).*HTTP 404/);
  });

  test("a task the model does not serve is refused before anything is sent", async () => {
    const r = await trm(["solve", "--url", url, "--model-name", "tokens-parity", "--task", "sudoku", "--input", sudokuInput]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(task_mismatch\): --task sudoku but .*tokens-parity is a tokens model/);
  });
});
