// The public checkpoints' layouts (bench/RESULTS.md, "Public checkpoints"), shrunk to hidden 16
// (test/fixtures/checkpoints/public/<layout>, written by
// `python3 bench/public-checkpoints.py <layout> --hidden 16 --seed 3 --out test/fixtures/checkpoints/public/<layout>`): the files,
// keys, dtypes and all_config.yaml of sapientinc/HRM-checkpoint-* (a bare `checkpoint`, f32
// weights with bf16 H_init/L_init, HRM's yaml without forward_dtype), of the TRM MLP-T Sudoku
// and of the TRM attention Maze-Hard repos, each through the README's command (`trm convert ...
// --dtype bf16`) and then `trm solve`, so these layouts stay supported.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { REPO, trm } from "./helpers.ts";

const FIXTURES = join(REPO, "test/fixtures/checkpoints/public");
const work = mkdtempSync(join(tmpdir(), "trm-public-"));

const SUDOKU = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";
// 30x30, S top-left, G bottom-right, a few walls off the border path
const MAZE = Array.from({ length: 30 }, (_, r) => Array.from({ length: 30 }, (_, c) =>
  r === 0 && c === 0 ? "S" : r === 29 && c === 29 ? "G" : r % 4 === 2 && c > 0 && c < 28 ? "#" : " ").join("")).join("");

const LAYOUTS = [
  { layout: "hrm-sudoku", file: "checkpoint", seqLen: 81, task: "sudoku", puzzle: SUDOKU, family: "hrm", puzzleLen: 1, mlpT: false },
  { layout: "trm-sudoku", file: "step_16275", seqLen: 81, task: "sudoku", puzzle: SUDOKU, family: "trm", puzzleLen: 16, mlpT: true },
  { layout: "trm-maze", file: "step_9765", seqLen: 900, task: "maze", puzzle: MAZE, family: "trm", puzzleLen: 16, mlpT: false },
];

describe("the public checkpoints' layouts through trm convert and trm solve", () => {
  for (const l of LAYOUTS) {
    test(l.layout, async () => {
      const dir = join(FIXTURES, l.layout);
      const pack = join(work, l.layout);
      const c = await trm(["convert", join(dir, l.file), "--config", join(dir, "all_config.yaml"), "--seq-len", String(l.seqLen), "--dtype", "bf16", "--task", l.task, "--name", l.layout, "--out", pack]);
      expect(c.code, c.stderr).toBe(0);
      const manifest = JSON.parse(readFileSync(join(pack, "model.json"), "utf8"));
      expect(manifest).toMatchObject({ task: l.task, seq_len: l.seqLen, puzzle_emb_len: l.puzzleLen, weights: { dtype: "bf16" } });
      // HRM's yaml has no forward_dtype: the model's default, bfloat16, as the checkpoint's H_init/L_init
      expect(manifest.arch).toMatchObject({ family: l.family, mlp_t: l.mlpT, forward_dtype: "bfloat16" });
      expect(manifest.provenance.source_dtypes).toEqual({ BF16: 2, F32: l.family === "hrm" ? 37 : 13 });
      const input = join(work, `${l.layout}.txt`);
      writeFileSync(input, l.puzzle + "\n");
      const s = await trm(["solve", "--model", pack, "--task", l.task, "--input", input, "--steps", "2"]);
      expect(s.code, s.stderr).toBe(0);
      const answer = JSON.parse(s.stdout.trim());
      expect(answer.steps).toBe(2);
      expect([...[answer.solution].flat().join("").replace(/\n/g, "")]).toHaveLength(l.seqLen); // a maze answers in rows
    });
  }
});
