// `trm eval`: a puzzle file through our engine with a fixed number of
// supervision steps, scored after every step. Prints exact accuracy, cell
// accuracy on the blanks, accuracy per step, and what adaptive halting
// (stop at the first q_halt > 0) and checked halting (stop at the first
// answer that passes the task's check) would have scored and cost.
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { TrmError } from "../errors.ts";
import type { ModelConfig } from "../engine/config.ts";
import type { Puzzle } from "../engine/inputs.ts";
import { nodeKernelModule, readPackDir } from "../engine/node.ts";
import { recurse } from "../engine/recursion.ts";
import { type LinearDtype, WasmNetwork } from "../engine/wasm-network.ts";
import { MAZE_CHARSET } from "../tasks/maze.ts";
import { codecFor } from "../tasks/index.ts";
import { linearDtypeFor } from "../solver.ts";
import { UsageError, intOption, linearOption, progressBar, readText } from "./args.ts";

// The token of a cell the model must fill in: a sudoku blank ("0" → 1), an open maze cell (" " → 2).
const BLANK_TOKEN = { sudoku: 1, maze: MAZE_CHARSET.indexOf(" ") + 1 } as const;
type EvalTask = keyof typeof BLANK_TOKEN;
const BATCH = 64; // puzzles recursed together

interface Item {
  puzzle: string;
  answer?: string;
}

/** CSV with a question,answer header (as `trm generate` and the official dataset sources), or one puzzle per line. */
export function parsePuzzleFile(text: string, name: string): Item[] {
  const lines = text.split("\n").map((l) => l.trim()).filter(Boolean);
  const header = lines[0]?.split(",");
  if (header?.includes("question")) {
    const q = header.indexOf("question");
    const a = header.indexOf("answer");
    return lines.slice(1).map((l, i) => {
      const cols = l.split(",");
      if (cols.length !== header.length) throw new TrmError("bad_input", `${name} line ${i + 2} has ${cols.length} fields, the header has ${header.length}`);
      return { puzzle: cols[q], answer: a >= 0 ? cols[a] : undefined };
    });
  }
  return lines.map((puzzle) => ({ puzzle }));
}

export interface EvalReport {
  model: string;
  task: EvalTask;
  input: string;
  puzzles: number;
  steps: number;
  linear: LinearDtype; // how the linear layers computed
  exact: number; // after the last step
  cell_accuracy_blanks: number; // after the last step, over cells blank in the input (needs answers)
  per_step: number[]; // exact accuracy after step 1..steps
  adaptive: { exact: number; avg_steps: number }; // stop at the first q_halt > 0
  checked: { exact: number; avg_steps: number }; // stop at the first answer that passes the task's check
  scored_by: "answers" | "validity";
  seconds: number;
}

export async function evaluate(
  dir: string, task: EvalTask, inputName: string, items: Item[], steps: number | undefined, linear: LinearDtype | undefined,
  onProgress: (done: number) => void,
): Promise<EvalReport> {
  const pack = await readPackDir(dir);
  if (pack.manifest.task !== task) throw new TrmError("task_mismatch", `--task ${task} but the model in ${dir} is a ${pack.manifest.task} model`);
  const config: ModelConfig = pack.config;
  const maxSteps = steps ?? config.arch.halt_max_steps;
  const codec = codecFor(task);
  const withAnswers = items.every((it) => it.answer !== undefined);
  const encoded = items.map((it, i) => {
    try {
      const { sequences, context } = codec.encode(it.puzzle, config);
      const label = withAnswers ? codec.encode(it.answer, config).sequences[0].tokens : undefined;
      return { seq: sequences[0], context, label };
    } catch (e) {
      if (e instanceof TrmError) throw new TrmError(e.code, `puzzle ${i + 1} of ${inputName}: ${e.message}`, e.status);
      throw e;
    }
  });
  const net = new WasmNetwork(nodeKernelModule(), config, pack.weights, linearDtypeFor(pack.manifest, linear));
  const perStep = new Array<number>(maxSteps).fill(0);
  let adaptiveRight = 0;
  let adaptiveSteps = 0;
  let checkedRight = 0;
  let checkedSteps = 0;
  let blanks = 0;
  let blanksRight = 0;
  const started = performance.now();
  for (let b = 0; b < encoded.length; b += BATCH) {
    const chunk = encoded.slice(b, b + BATCH);
    const decided = new Array<boolean>(chunk.length).fill(false);
    const checked = new Array<boolean>(chunk.length).fill(false);
    for (const report of recurse(net, chunk.map((c) => c.seq as Puzzle), maxSteps, "fixed")) {
      report.sequences.forEach((s, i) => {
        const { seq, context, label } = chunk[i];
        const solved = codec.decode([s], context, config).solved === true;
        const right = label ? s.preds.every((t, k) => t === label[k]) : solved;
        if (right) perStep[report.step - 1]++;
        if (!checked[i] && (solved || report.step === maxSteps)) {
          checked[i] = true;
          checkedSteps += report.step;
          if (right) checkedRight++;
        }
        if (!decided[i] && (s.qHalt > 0 || report.step === maxSteps)) {
          decided[i] = true;
          adaptiveSteps += report.step;
          if (right) adaptiveRight++;
        }
        if (report.step === maxSteps && label) {
          seq.tokens.forEach((t, k) => {
            if (t !== BLANK_TOKEN[task]) return;
            blanks++;
            if (s.preds[k] === label[k]) blanksRight++;
          });
        }
      });
    }
    onProgress(Math.min(b + BATCH, encoded.length));
  }
  const n = encoded.length;
  const round = (x: number) => Math.round(x * 1e4) / 1e4;
  return {
    model: pack.manifest.name,
    task,
    input: inputName,
    puzzles: n,
    steps: maxSteps,
    linear: net.linearDtype,
    exact: round(perStep[maxSteps - 1] / n),
    cell_accuracy_blanks: withAnswers ? round(blanksRight / blanks) : NaN,
    per_step: perStep.map((c) => round(c / n)),
    adaptive: { exact: round(adaptiveRight / n), avg_steps: round(adaptiveSteps / n) },
    checked: { exact: round(checkedRight / n), avg_steps: round(checkedSteps / n) },
    scored_by: withAnswers ? "answers" : "validity",
    seconds: round((performance.now() - started) / 1000),
  };
}

export async function evalCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      task: { type: "string" },
      input: { type: "string" },
      steps: { type: "string" },
      limit: { type: "string" },
      json: { type: "string" },
      linear: { type: "string" },
    },
  });
  if (!values.model) throw new UsageError("eval needs --model <dir>");
  if (!values.input) throw new UsageError("eval needs --input <file>");
  if (values.task !== "sudoku" && values.task !== "maze") throw new UsageError(`--task must be sudoku or maze, got ${JSON.stringify(values.task)}`);
  let items = parsePuzzleFile(await readText(values.input, "input"), values.input);
  const limit = intOption(values.limit, "limit");
  if (limit !== undefined) items = items.slice(0, limit);
  if (items.length === 0) throw new TrmError("bad_input", `${values.input} holds no puzzles`);
  const linear = linearOption(values.linear);
  const bar = progressBar("eval", items.length, "puzzles");
  const report = await evaluate(values.model, values.task, values.input, items, intOption(values.steps, "steps"), linear, bar.update);
  bar.end();
  const pct = (x: number) => `${(100 * x).toFixed(1)} %`;
  const lines = [
    `model ${report.model} on ${report.input}: ${report.puzzles} puzzles, ${report.steps} fixed steps, ${report.linear} linear layers (${report.seconds} s), scored by ${report.scored_by}`,
    `exact accuracy            ${pct(report.exact)}`,
    ...(report.scored_by === "answers" ? [`cell accuracy on blanks   ${pct(report.cell_accuracy_blanks)}`] : []),
    `adaptive halting          ${pct(report.adaptive.exact)} exact, ${report.adaptive.avg_steps.toFixed(2)} steps on average`,
    `checked halting           ${pct(report.checked.exact)} exact, ${report.checked.avg_steps.toFixed(2)} steps on average`,
    `exact accuracy per step   ${report.per_step.map((a, i) => `${i + 1}:${pct(a)}`).join("  ")}`,
  ];
  process.stdout.write(lines.join("\n") + "\n");
  if (values.json) await writeFile(values.json, JSON.stringify(report, null, 2) + "\n");
}
