// Parity with the official PyTorch implementation (TRM and HRM cases alike,
// told apart by the converter): every case goes through `trm convert` +
// `trm run` (WASM engine, all 16 steps) and, for the first steps, through the
// scalar reference engine in-process. Its bf16 conversion must run on the
// bf16-resident kernels to the same outputs as the f32 pack of the same
// (bf16-rounded) weights.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { readPackDir } from "../../src/engine/node.ts";
import { checkPuzzles } from "../../src/engine/inputs.ts";
import { recurse } from "../../src/engine/recursion.ts";
import { ReferenceNetwork } from "../../src/engine/reference.ts";
import { type ExpectedStep, compareSteps, parityCases, readExpected, trm } from "./helpers.ts";

const TOLERANCE = 1e-4;
const REFERENCE_STEPS = 2; // the scalar reference is slow; steps 1 and 2 carry logits
// int8 linear layers (gemm_i8.ts) on the steps with logits: quantisation error, not parity.
// Measured on these random-weight cases: rms logit error 1.5-3.2 %, 94-100 % of predictions agree.
const INT8_STEPS = 2;
const INT8_RMS_TOLERANCE = 0.06;
const INT8_AGREEMENT = 0.9;

const work = mkdtempSync(join(tmpdir(), "trm-parity-"));

describe.each(parityCases())("parity $name", (c) => {
  const expected = readExpected(c);
  const pack = join(work, c.name);
  let wasmSteps: ExpectedStep[] = [];

  const dataset = join(c.dir, "dataset.json");
  const convert = (checkpoint: string, out: string, ...flags: string[]) =>
    trm(["convert", checkpoint, "--config", join(c.dir, "all_config.yaml"), ...(existsSync(dataset) ? ["--dataset", dataset] : []), ...flags, "--out", out]);

  test("trm convert + trm run (WASM) match the official outputs at every step", async () => {
    const conv = await convert(join(c.dir, "checkpoint.pt"), pack);
    expect(conv.code, conv.stderr).toBe(0);

    const input = join(work, `${c.name}.input.json`);
    writeFileSync(input, JSON.stringify({ inputs: expected.inputs, puzzle_identifiers: expected.puzzle_identifiers }));
    const run = await trm(["run", "--model", pack, "--input", input, "--logits", "--quiet"]);
    expect(run.code, run.stderr).toBe(0);
    const got: ExpectedStep[] = JSON.parse(run.stdout).steps;
    wasmSteps = got;

    const a = compareSteps(expected.steps, got);
    console.log(`${c.name} (wasm, ${JSON.parse(readFileSync(join(pack, "model.json"), "utf8")).arch.family}): ${a.stepsCompared} steps, max |logit diff| ${a.maxLogitDiff.toExponential(2)}, max |q diff| ${a.maxQDiff.toExponential(2)}, pred mismatches ${a.predMismatches}, q_halt / q_continue sign mismatches ${a.haltSignMismatches} / ${a.continueSignMismatches}, q_halt > q_continue mismatches ${a.haltRuleMismatches}`);
    expect(got.length).toBe(expected.steps.length);
    expect(a.stepsCompared).toBe(16);
    expect(a.predMismatches).toBe(0);
    expect(a.haltSignMismatches).toBe(0);
    expect(a.continueSignMismatches).toBe(0);
    expect(a.haltRuleMismatches).toBe(0);
    expect(a.haltedMismatches).toBe(0);
    expect(a.maxLogitDiff).toBeLessThan(TOLERANCE);
    expect(a.maxQDiff).toBeLessThan(TOLERANCE);
  });

  test("the scalar reference matches the official outputs and the WASM engine", async () => {
    const { config, weights } = await readPackDir(pack);
    const net = new ReferenceNetwork(config, weights);
    const puzzles = checkPuzzles(config, expected.inputs, expected.puzzle_identifiers);
    const got: ExpectedStep[] = [];
    for (const r of recurse(net, puzzles, REFERENCE_STEPS, "fixed")) {
      got.push({
        step: r.step,
        q_halt_logits: r.sequences.map((s) => s.qHalt),
        q_continue_logits: r.sequences.map((s) => s.qContinue),
        preds: r.sequences.map((s) => Array.from(s.preds)),
        halted: r.sequences.map(() => false), // a 2-step run never reaches the official halt at step 16
        logits: r.sequences.map((s) => Array.from({ length: config.seq_len }, (_, i) => Array.from(s.logits.subarray(i * config.vocab_size, (i + 1) * config.vocab_size)))),
      });
    }
    const a = compareSteps(expected.steps, got);
    console.log(`${c.name} (reference): ${a.stepsCompared} steps, max |logit diff| ${a.maxLogitDiff.toExponential(2)}, max |q diff| ${a.maxQDiff.toExponential(2)}`);
    expect(a.stepsCompared).toBe(REFERENCE_STEPS);
    expect(a.predMismatches).toBe(0);
    expect(a.haltSignMismatches).toBe(0);
    expect(a.maxLogitDiff).toBeLessThan(TOLERANCE);
    expect(a.maxQDiff).toBeLessThan(TOLERANCE);

    const w = compareSteps(got, wasmSteps);
    expect(w.stepsCompared).toBe(REFERENCE_STEPS);
    expect(w.predMismatches).toBe(0);
    expect(w.maxLogitDiff).toBeLessThan(TOLERANCE);
    expect(w.maxQDiff).toBeLessThan(TOLERANCE);
  });

  test("a bf16 pack, bf16-resident, gives the outputs of the f32 pack of its weights at every step", async () => {
    const [bf16, widened] = [join(work, `${c.name}-bf16`), join(work, `${c.name}-bf16-f32`)];
    const conv = await convert(join(c.dir, "checkpoint.pt"), bf16, "--dtype", "bf16");
    expect(conv.code, conv.stderr).toBe(0);
    const back = await convert(join(bf16, "model.safetensors"), widened); // the same bf16 values, stored as f32
    expect(back.code, back.stderr).toBe(0);
    const input = join(work, `${c.name}.input.json`);
    const [half, full] = await Promise.all([bf16, widened].map((m) => trm(["run", "--model", m, "--input", input, "--logits", "--quiet"])));
    expect(half.code, half.stderr).toBe(0);
    expect(full.code, full.stderr).toBe(0);
    const [h, f]: ExpectedStep[][] = [JSON.parse(half.stdout).steps, JSON.parse(full.stdout).steps];
    const a = compareSteps(f, h);
    const official = compareSteps(expected.steps, h);
    console.log(`${c.name} (wasm, bf16-resident): ${a.stepsCompared} steps, pred mismatches vs its f32 pack ${a.predMismatches}, max |logit diff| ${a.maxLogitDiff}; vs the official f32 outputs (bf16 rounding of the weights): ${official.predMismatches} pred mismatches, max |logit diff| ${official.maxLogitDiff.toExponential(2)}`);
    expect(a.stepsCompared).toBe(16);
    expect(a.predMismatches).toBe(0);
    // the bf16 kernels widen exactly and sum in the f32 kernels' order: the same bits
    expect(half.stdout).toBe(full.stdout);
  });

  test("trm run --linear int8 stays near the official outputs", async () => {
    const input = join(work, `${c.name}.input.json`);
    const run = await trm(["run", "--model", pack, "--input", input, "--logits", "--quiet", "--linear", "int8", "--steps", String(INT8_STEPS)]);
    expect(run.code, run.stderr).toBe(0);
    const got: ExpectedStep[] = JSON.parse(run.stdout).steps;
    let err = 0, norm = 0, preds = 0, agree = 0;
    for (const g of got) {
      const e = expected.steps[g.step - 1];
      e.logits!.flat(2).forEach((x, i) => [err, norm] = [err + (g.logits!.flat(2)[i] - x) ** 2, norm + x * x]);
      e.preds.flat().forEach((p, i) => [preds, agree] = [preds + 1, agree + (g.preds.flat()[i] === p ? 1 : 0)]);
    }
    const rel = Math.sqrt(err / norm);
    console.log(`${c.name} (wasm int8): ${got.length} steps, rms logit error ${(100 * rel).toFixed(2)} % of the logits' rms, ${agree}/${preds} predictions agree`);
    expect(got.length).toBe(INT8_STEPS);
    expect(rel).toBeLessThan(INT8_RMS_TOLERANCE);
    expect(agree / preds).toBeGreaterThan(INT8_AGREEMENT);
  });
});
