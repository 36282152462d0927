// The ARC encoding and augmentations against the official builder's output
// (the shared test split), and round trips on every ARC-AGI-1 task.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DIHEDRAL_INVERSE, augmentGrid, augmentationName, dihedral, invertGrid, parseAugmentation } from "../../../src/tasks/arc/augment.ts";
import { type Grid, cropPrediction, encodeGrid, parseGrid, sameGrid } from "../../../src/tasks/arc/grid.ts";
import { SHARED } from "../helpers.ts";

const readJson = (p: string) => JSON.parse(readFileSync(join(SHARED, p), "utf8"));

describe("ARC encoding as dataset/build_arc_dataset.py", () => {
  const identifiers: string[] = readJson("golden/arc/data/identifiers.json");
  const puzzles = readJson("golden/arc/data/test_puzzles.json");
  const split = readJson("golden/arc/dataset_export/test_split.json");

  it("encodes every augmented test input and label of the official test split exactly", () => {
    const seen = new Set<number>();
    for (let p = 0; p < split.puzzle_identifiers.length; p++) {
      const aug = parseAugmentation(identifiers[split.puzzle_identifiers[p]]);
      seen.add(aug.transform);
      const tests = puzzles[aug.task].test;
      const rows = split.puzzle_indices.slice(p, p + 2);
      expect(rows[1] - rows[0]).toBe(tests.length);
      tests.forEach((t: { input: number[][]; output: number[][] }, j: number) => {
        expect(Array.from(encodeGrid(augmentGrid(parseGrid(t.input, "input"), aug)))).toEqual(split.inputs[rows[0] + j]);
        expect(Array.from(encodeGrid(augmentGrid(parseGrid(t.output, "output"), aug)))).toEqual(split.labels[rows[0] + j]);
      });
    }
    expect(seen.size).toBe(8); // every dihedral transform is exercised
  });

  it("parses and prints the official identifier names", () => {
    for (const name of identifiers.slice(1)) expect(augmentationName(parseAugmentation(name))).toBe(name);
  });

  it("reads HRM's builder names (<task>_t<k>_<perm>) as the same augmentations", () => {
    for (const name of identifiers.slice(1)) {
      const trmAug = parseAugmentation(name);
      const hrmName = name.includes("|||") ? `${trmAug.task}_t${trmAug.transform}_${trmAug.perm.join("")}` : name;
      expect(parseAugmentation(hrmName)).toEqual(trmAug);
    }
    // other names with underscores stay plain tasks (ConceptARC-style ids), as do non-permutations
    expect(parseAugmentation("AboveBelow_1")).toMatchObject({ task: "AboveBelow_1", transform: 0 });
    expect(parseAugmentation("007bbfd7_t3_0112345678")).toMatchObject({ task: "007bbfd7_t3_0112345678", transform: 0 });
  });

  it("rejects malformed grids with the grid and cell named", () => {
    expect(() => parseGrid([[1, 2], [3]], "test[0].input")).toThrow(/test\[0\]\.input\[1\] has 1 cells/);
    expect(() => parseGrid([[1, 10]], "g")).toThrow(/g\[0\]\[1\] = 10 is not a colour/);
    expect(() => parseGrid([], "g")).toThrow(/non-empty/);
    expect(() => parseGrid(Array(31).fill([0]), "g")).toThrow(/31 rows/);
    expect(() => parseGrid([Array(31).fill(0)], "g")).toThrow(/31 columns/);
    expect(() => parseGrid([[0.5]], "g")).toThrow(/not a colour/);
  });
});

describe("ARC round trips on every ARC-AGI-1 task", () => {
  const grids: Grid[] = [];
  for (const subset of ["training", "evaluation"]) {
    const tasks = readJson(`benchmarks/arc/arc-agi_${subset}_challenges.json`);
    const solutions = readJson(`benchmarks/arc/arc-agi_${subset}_solutions.json`);
    for (const [id, t] of Object.entries(tasks) as [string, { train: { input: number[][]; output: number[][] }[]; test: { input: number[][] }[] }][]) {
      t.train.forEach((e, i) => grids.push(parseGrid(e.input, `${id}.train[${i}].input`), parseGrid(e.output, `${id}.train[${i}].output`)));
      t.test.forEach((e, i) => grids.push(parseGrid(e.input, `${id}.test[${i}].input`), parseGrid(solutions[id][i], `${id}.solution[${i}]`)));
    }
  }

  it("crop(encode(grid)) is the grid", () => {
    expect(grids.length).toBeGreaterThan(6000);
    for (const g of grids) expect(sameGrid(cropPrediction(encodeGrid(g)), g)).toBe(true);
  });

  it("every augmentation inverts, and DIHEDRAL_INVERSE undoes each transform", () => {
    const perm = Uint8Array.from([0, 3, 1, 4, 9, 5, 2, 6, 8, 7]);
    grids.forEach((g, i) => {
      for (let t = 0; t < 8; t++) {
        expect(sameGrid(dihedral(dihedral(g, t), DIHEDRAL_INVERSE[t]), g)).toBe(true);
        const aug = { task: "x", transform: t, perm: i % 2 ? perm : Uint8Array.from({ length: 10 }, (_, c) => c) };
        const there = augmentGrid(g, aug);
        expect(sameGrid(cropPrediction(encodeGrid(there)), there)).toBe(true);
        expect(sameGrid(invertGrid(there, aug), g)).toBe(true);
      }
    });
  });
});
