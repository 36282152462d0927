// topProbabilities (the "detail": "cells" option) against a plain softmax, on awkward sizes and huge logits.
import { describe, expect, test } from "vitest";
import { topProbabilities } from "../../src/cells.ts";
import { Random } from "../../src/generate/random.ts";

function reference(logits: number[], vocab: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < logits.length / vocab; r++) {
    const row = logits.slice(r * vocab, (r + 1) * vocab);
    const exps = row.map((v) => Math.exp(v - Math.max(...row)));
    out.push(Math.max(...exps) / exps.reduce((a, b) => a + b, 0));
  }
  return out;
}

describe("topProbabilities", () => {
  test.each([[1, 1], [7, 5], [81, 11], [13, 6]])("%i cells x %i tokens", (rows, vocab) => {
    const random = new Random(rows * 100 + vocab);
    const logits = Array.from({ length: rows * vocab }, () => (random.next() - 0.5) * 12);
    const got = topProbabilities(Float32Array.from(logits), vocab);
    expect(got).toHaveLength(rows);
    reference(Array.from(Float32Array.from(logits)), vocab).forEach((p, i) => expect(Math.abs(got[i] - p)).toBeLessThanOrEqual(0.0005 + 1e-9));
  });

  test("huge logits and ties do not overflow", () => {
    expect(topProbabilities(Float32Array.from([1000, 999, -1e30, 5, 5, 5]), 3)).toEqual([0.731, 0.333]);
  });
});
