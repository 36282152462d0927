// The work of `trm arc` for a list of tasks, in this thread or in a worker
// thread (arc-worker.ts): load the pack, then for each task read its rows,
// solve every test input under each chosen augmentation and vote. Tasks are
// independent (votes never cross tasks), so splitting them over threads
// gives exactly the answers of one thread.
import { nodeKernelModule, packRangeReader, readPackDir, readPackTaskIndex } from "../engine/node.ts";
import { readTaskRows } from "../engine/puzzle-table.ts";
import type { HaltMode } from "../engine/recursion.ts";
import { type LinearDtype, WasmNetwork } from "../engine/wasm-network.ts";
import { linearDtypeFor } from "../solver.ts";
import type { Grid } from "../tasks/arc/grid.ts";
import { solveArcTask } from "../tasks/arc/solve.ts";
import type { Candidate } from "../tasks/arc/vote.ts";

export interface ArcSettings {
  model: string; // pack directory
  augmentations: number | "all";
  maxSteps: number;
  halt: HaltMode;
  hCycles?: number;
  linear?: LinearDtype;
}

export interface TaskWork {
  task: string;
  tests: Grid[]; // test inputs, original frame
}

export interface TaskAnswer {
  task: string;
  candidates: Candidate[][]; // per test input, best first
  augmentations: number;
  sequences: number;
  seconds: number;
  bytes_read: number;
}

export async function solveTasks(
  settings: ArcSettings, work: TaskWork[],
  onProgress: (task: string, fraction: number) => void, onAnswer: (answer: TaskAnswer) => void,
): Promise<void> {
  const pack = await readPackDir(settings.model);
  const index = await readPackTaskIndex(settings.model, pack);
  const net = new WasmNetwork(nodeKernelModule(), pack.config, pack.weights, linearDtypeFor(pack.manifest, settings.linear));
  const read = packRangeReader(settings.model);
  for (const w of work) {
    const t0 = performance.now();
    const rows = await readTaskRows(read, pack.manifest.puzzle_table!, w.task, index.tasks[w.task]);
    let slice = 0;
    const result = await solveArcTask(net, w.task, w.tests, rows, settings, (p) => {
      if (p.slice !== slice) onProgress(w.task, (p.slice - 1) / p.slices);
      slice = p.slice;
    });
    onProgress(w.task, 1);
    onAnswer({ task: w.task, candidates: result.candidates, augmentations: result.augmentations.length, sequences: result.sequences, seconds: (performance.now() - t0) / 1000, bytes_read: rows.bytes });
  }
}
