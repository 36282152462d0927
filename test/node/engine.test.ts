// The recursion driver on the WASM engine: batching, grouping, halting.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { nodeKernelModule, readPackDir } from "../../src/engine/node.ts";
import { checkPuzzles } from "../../src/engine/inputs.ts";
import { type StepReport, recurse } from "../../src/engine/recursion.ts";
import { WasmNetwork } from "../../src/engine/wasm-network.ts";
import { REPO, SHARED } from "./helpers.ts";

const golden = JSON.parse(readFileSync(join(SHARED, "golden/mlp_t/expected.json"), "utf8"));
const pack = await readPackDir(join(REPO, "weights/sudoku-parity"));
const network = () => new WasmNetwork(nodeKernelModule(), pack.config, pack.weights);
const run = (inputs: number[][], steps: number, halt: "fixed" | "adaptive"): StepReport[] =>
  [...recurse(network(), checkPuzzles(pack.config, inputs, undefined), steps, halt)];

describe("recurse on the WASM engine", () => {
  test("a batch larger than maxBatch runs in groups with the results of single runs", () => {
    const net = network();
    const count = net.maxBatch + 4;
    expect(net.maxBatch).toBeLessThan(count);
    const inputs = Array.from({ length: count }, (_, i) => golden.inputs[i % 4]);
    const batched = run(inputs, 2, "fixed").at(-1)!;
    for (let b = 0; b < 4; b++) {
      const alone = run([golden.inputs[b]], 2, "fixed").at(-1)!.sequences[0];
      for (let i = b; i < count; i += 4) {
        expect(Array.from(batched.sequences[i].preds)).toEqual(Array.from(alone.preds));
        expect(batched.sequences[i].qHalt).toBeCloseTo(alone.qHalt, 5);
      }
    }
  });

  test("fixed halting runs every step; adaptive stops each sequence at its first q_halt > 0", () => {
    const fixed = run(golden.inputs, 16, "fixed");
    expect(fixed).toHaveLength(16);
    fixed.forEach((r) => r.sequences.forEach((s) => expect(s.halted).toBe(r.step === 16)));

    const adaptive = run(golden.inputs, 16, "adaptive");
    const stops = golden.inputs.map((_: unknown, b: number) => golden.steps.find((s: { q_halt_logits: number[] }) => s.q_halt_logits[b] > 0)?.step ?? 16);
    expect(adaptive).toHaveLength(Math.max(...stops));
    const final = adaptive.at(-1)!;
    final.sequences.forEach((s, b) => {
      expect(s.steps).toBe(stops[b]);
      expect(s.halted).toBe(true);
      expect(Array.from(s.preds)).toEqual(golden.steps[stops[b] - 1].preds[b]);
    });
  });
});
