// HRM beyond the shared golden case (test/node/parity.test.ts runs that one):
// the converter on HRM layouts (bare file name `checkpoint`, no forward_dtype,
// bf16 H_init/L_init, learned positions on a Sudoku shape, sizes inferred from
// the tensors), the WASM engine against the scalar reference on such a model
// (also bf16-resident, and with fewer H cycles than trained), and
// `trm run` / `solve` / `eval` serving an HRM pack.
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { randomTensors } from "../../bench/random-weights.ts";
import { type ModelConfig, MODEL_DEFAULTS, validateConfig } from "../../src/engine/config.ts";
import { checkPuzzles } from "../../src/engine/inputs.ts";
import { nodeKernelModule, readPackDir } from "../../src/engine/node.ts";
import { type Network, type RecursionOptions, recurse } from "../../src/engine/recursion.ts";
import { ReferenceNetwork } from "../../src/engine/reference.ts";
import { type RawTensor, encodeSafetensors, toBFloat16, toFloat32 } from "../../src/engine/safetensors.ts";
import { WasmNetwork } from "../../src/engine/wasm-network.ts";
import { maze } from "../../src/tasks/maze.ts";
import { type ExpectedStep, SHARED, compareSteps, trm } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "trm-hrm-"));
const TOLERANCE = 1e-4;

// An HRM on the Sudoku shape with learned positions: 81 cells + 1 puzzle position.
const SUDOKU_HRM: ModelConfig = validateConfig({
  arch: {
    family: "hrm", H_cycles: 2, L_cycles: 2, H_layers: 2, L_layers: 1, hidden_size: 64, expansion: 4, num_heads: 4,
    pos_encodings: "learned", puzzle_emb_ndim: 64, puzzle_emb_len: 0, halt_max_steps: 16, halt_exploration_prob: 0.1,
    forward_dtype: "bfloat16", mlp_t: false, no_ACT_continue: false,
  },
  seq_len: 81, vocab_size: 11, num_puzzle_identifiers: 1, puzzle_emb_len: 1, ...MODEL_DEFAULTS,
});

// all_config.yaml as sapientinc/HRM's pretrain.py writes it: data_path a string, no forward_dtype.
const HRM_YAML = `arch:
  H_cycles: 2
  H_layers: 2
  L_cycles: 2
  L_layers: 1
  expansion: 4
  halt_exploration_prob: 0.1
  halt_max_steps: 16
  hidden_size: 64
  loss:
    loss_type: stablemax_cross_entropy
    name: losses@ACTLossHead
  name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1
  num_heads: 4
  pos_encodings: learned
  puzzle_emb_ndim: \${.hidden_size}
data_path: data/sudoku-extreme-1k-aug-1000
global_batch_size: 384
`;

/** The official state dict of an official bf16 run: _orig_mod.model. prefix, H_init/L_init bf16, the rest f32. */
function officialStateDict(): Uint8Array {
  const tensors = [...randomTensors(SUDOKU_HRM, 5)].map(([name, t]): [string, RawTensor] => [
    `_orig_mod.model.${name}`,
    name.endsWith("_init") ? { dtype: "BF16", shape: t.shape, data: toBFloat16(toFloat32(t)) } : t,
  ]);
  return encodeSafetensors(tensors);
}

const checkpoint = join(work, "checkpoint"); // the bare name of the Hugging Face repos' file
writeFileSync(checkpoint, officialStateDict());
const yaml = join(work, "all_config.yaml");
writeFileSync(yaml, HRM_YAML);
const pack = join(work, "hrm-sudoku");

describe("trm convert on HRM", () => {
  test("a bf16 run's state dict named `checkpoint`, no forward_dtype, seq_len and vocab from the tensors", async () => {
    const r = await trm(["convert", checkpoint, "--config", yaml, "--out", pack]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/seq_len = 81 \(from the embed_pos tensor \(82 positions - puzzle_emb_len 1\)\)/);
    expect(r.stderr).toMatch(/task = sudoku \(inferred\)/);
    const m = JSON.parse(readFileSync(join(pack, "model.json"), "utf8"));
    expect(m.arch).toMatchObject({ family: "hrm", forward_dtype: "bfloat16", puzzle_emb_len: 0, no_ACT_continue: false, mlp_t: false, H_layers: 2 });
    expect(m).toMatchObject({ seq_len: 81, vocab_size: 11, num_puzzle_identifiers: 1, puzzle_emb_len: 1, task: "sudoku" });
    expect(m.provenance.source_dtypes).toEqual({ BF16: 2, F32: 18 });
  });

  test("the official golden HRM zip under the bare name `checkpoint`", async () => {
    const dir = join(work, "golden");
    const bare = join(work, "golden-checkpoint");
    copyFileSync(join(SHARED, "golden/hrm_att_rope/checkpoint.pt"), bare);
    const r = await trm(["convert", bare, "--config", join(SHARED, "golden/hrm_att_rope/all_config.yaml"), "--out", dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(dir, "model.json"), "utf8")).arch.family).toBe("hrm");
  });

  test("HRM configs that the official model would not build are refused, naming the problem", async () => {
    const bad = async (text: string, message: RegExp) => {
      const f = join(work, `bad-${Math.random().toString(36).slice(2)}.yaml`);
      writeFileSync(f, text);
      const r = await trm(["convert", checkpoint, "--config", f, "--out", join(work, "never")]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    };
    await bad(HRM_YAML.replace("  num_heads: 4\n", "  num_heads: 4\n  puzzle_emb_len: 16\n"), /arch.puzzle_emb_len: HRM has no such option/);
    await bad(HRM_YAML.replace("pos_encodings: learned", "pos_encodings: none"), /HRM supports pos_encodings rope or learned/);
    await bad(HRM_YAML.replace("hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1", "recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1"), /is TRM, but the checkpoint has inner.H_level tensors \(HRM\)/);
    await bad(HRM_YAML.replace("  H_layers: 2\n", "  H_layers: 3\n"), /missing tensor inner.H_level.layers.2/);
  });
});

const inputs = Array.from({ length: 3 }, (_, b) => Array.from({ length: 81 }, (_, i) => (i * 7 + b * 5) % 11));

function steps<T>(net: Network<T>, count: number, opts?: RecursionOptions): ExpectedStep[] {
  const puzzles = checkPuzzles(net.config, inputs, undefined);
  return [...recurse(net, puzzles, count, "fixed", opts)].map((r) => ({
    step: r.step,
    q_halt_logits: r.sequences.map((s) => s.qHalt),
    q_continue_logits: r.sequences.map((s) => s.qContinue),
    preds: r.sequences.map((s) => Array.from(s.preds)),
    halted: r.sequences.map((s) => s.halted),
    logits: r.sequences.map((s) => Array.from({ length: 81 }, (_, i) => Array.from(s.logits.subarray(i * 11, (i + 1) * 11)))),
  }));
}

describe("the WASM engine on an HRM with learned positions", () => {
  test("matches the scalar reference, also with fewer H cycles than trained", async () => {
    const { config, weights } = await readPackDir(pack);
    const wasm = new WasmNetwork(nodeKernelModule(), config, weights);
    const ref = new ReferenceNetwork(config, weights);
    for (const opts of [{}, { hCycles: 1 }]) {
      const a = compareSteps(steps(ref, 2, opts), steps(wasm, 2, opts));
      expect(a.stepsCompared).toBe(2);
      expect(a.predMismatches).toBe(0);
      expect(a.haltRuleMismatches).toBe(0);
      expect(a.maxLogitDiff).toBeLessThan(TOLERANCE);
      expect(a.maxQDiff).toBeLessThan(TOLERANCE);
    }
    // one H cycle is another computation than the trained two
    expect(compareSteps(steps(wasm, 1), steps(wasm, 1, { hCycles: 1 })).maxLogitDiff).toBeGreaterThan(1e-2);
  });

  test("its bf16 pack runs bf16-resident to the bits of the f32 pack of the same values", async () => {
    const half = join(work, "hrm-sudoku-bf16");
    const widened = join(work, "hrm-sudoku-bf16-f32");
    expect((await trm(["convert", checkpoint, "--config", yaml, "--dtype", "bf16", "--out", half])).code).toBe(0);
    expect((await trm(["convert", join(half, "model.safetensors"), "--config", yaml, "--out", widened])).code).toBe(0);
    const [a, b] = await Promise.all([half, widened].map(readPackDir));
    expect(a.weights.levels.H[0].qkv).toBeInstanceOf(Uint16Array);
    expect(a.weights.levels.H).not.toBe(a.weights.levels.L);
    const [sa, sb] = [steps(new WasmNetwork(nodeKernelModule(), a.config, a.weights), 3), steps(new WasmNetwork(nodeKernelModule(), b.config, b.weights), 3)];
    expect(sa).toEqual(sb);
  });
});

describe("trm run / solve / eval serve HRM packs", () => {
  test("trm run: WASM and the reference engine agree", async () => {
    const input = join(work, "run.json");
    writeFileSync(input, JSON.stringify({ inputs }));
    const [w, r] = await Promise.all(["wasm", "reference"].map((engine) =>
      trm(["run", "--model", pack, "--input", input, "--steps", "2", "--logits", "--quiet", "--engine", engine])));
    expect(w.code, w.stderr).toBe(0);
    expect(r.code, r.stderr).toBe(0);
    const a = compareSteps(JSON.parse(r.stdout).steps, JSON.parse(w.stdout).steps);
    expect(a.predMismatches).toBe(0);
    expect(a.maxLogitDiff).toBeLessThan(TOLERANCE);
  });

  test("trm solve and trm eval on Sudoku puzzles", async () => {
    const puzzles = join(work, "puzzles.txt");
    const grid = "003020600900305001001806400008102900700000008006708200002609500800203009005010300";
    writeFileSync(puzzles, `${grid}\n${grid.replace(/0/g, ".")}\n`);
    const s = await trm(["solve", "--model", pack, "--task", "sudoku", "--input", puzzles, "--steps", "2"]);
    expect(s.code, s.stderr).toBe(0);
    const lines = s.stdout.trim().split("\n").map((l) => JSON.parse(l));
    expect(lines).toHaveLength(2);
    lines.forEach((l) => expect(l).toMatchObject({ steps: 2, solution: expect.stringMatching(/^[0-9]{81}$/) }));
    expect(lines[0].solution).toBe(lines[1].solution); // "0" and "." are both blanks
    const e = await trm(["eval", "--model", pack, "--task", "sudoku", "--input", puzzles, "--steps", "2", "--json", join(work, "eval.json")]);
    expect(e.code, e.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(work, "eval.json"), "utf8"))).toMatchObject({ puzzles: 2 });
  });
});

describe("the maze codec at 30x30 (HRM and TRM Maze-Hard)", () => {
  // build_maze_dataset.py: char2id[ord(c)] = CHARSET.index(c) + 1 over CHARSET "# SGo", row-major; vocab 6, 900 tokens, puzzle id 0
  const CHAR2ID: Record<string, number> = { "#": 1, " ": 2, S: 3, G: 4, o: 5 };
  const config = { ...SUDOKU_HRM, seq_len: 900, vocab_size: 6 };
  const rows = Array.from({ length: 30 }, (_, r) => Array.from({ length: 30 }, (_, c) => (r === 0 && c === 0 ? "S" : r === 29 && c === 29 ? "G" : (r * 31 + c * 17) % 9 === 0 && r > 0 && c < 29 ? "#" : " ")).join(""));

  test("encodes like the official dataset builder and decodes a shortest path as valid", () => {
    const { sequences, context } = maze.encode(rows, config);
    expect(Array.from(sequences[0].tokens)).toEqual([...rows.join("")].map((ch) => CHAR2ID[ch]));
    expect(sequences[0].puzzleId).toBe(0);
    // along row 0, then down column 29 (no walls there): 57 path cells, the shortest a 30x30 grid allows
    const solved = rows.map((row, r) => [...row].map((ch, c) => (ch === " " && (r === 0 || c === 29) ? "o" : ch)).join(""));
    const preds = Int32Array.from(solved.join(""), (ch) => CHAR2ID[ch]);
    const answer = maze.decode([{ preds, qHalt: 0 }], context, config);
    expect(answer.solution).toEqual(solved);
    expect(answer.check).toEqual({ valid: true, keeps_maze: true, connected: true, shortest: true });
    expect(() => maze.encode(rows.slice(1), config)).toThrow(/30x30 mazes/);
  });
});
