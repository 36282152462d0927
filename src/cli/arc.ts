// `trm arc`: an ARC evaluation as the official pipeline runs it. Every test
// input of every task goes through the recursion under each chosen
// augmentation, the predictions vote (src/tasks/arc/vote.ts), and the
// submission and pass@K come out as evaluators/arc.py writes them.
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { TrmError } from "../errors.ts";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { readPackDir, readPackTaskIndex } from "../engine/node.ts";
import { rowCount } from "../engine/puzzle-table.ts";
import { linearDtypeFor } from "../solver.ts";
import { toArray } from "../tasks/arc/grid.ts";
import { augmentationsOption, hCyclesOption } from "../tasks/arc/solve.ts";
import { type Candidate, PASS_KS, evaluate } from "../tasks/arc/vote.ts";
import { parseTasksFile, resultJson, submissionJson } from "../tasks/arc/tasks-file.ts";
import { UsageError, haltOption, intOption, linearOption, progressBar, readText } from "./args.ts";
import { type ArcSettings, type TaskAnswer, type TaskWork, solveTasks } from "./arc-solve.ts";

function parseJsonFile(text: string, path: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new TrmError("bad_input_json", `${path} is not valid JSON: ${(e as Error).message}`);
  }
}

const TOP_CANDIDATES = 10;
const present = (c: Candidate) => ({ votes: c.votes, confidence: c.confidence, grid: toArray(c.grid) });

/** Tasks to threads, largest first onto the least loaded (all of a task stays on one thread). */
function shareOut(work: TaskWork[], planned: Map<string, number>, threads: number): TaskWork[][] {
  const shares = Array.from({ length: threads }, () => ({ load: 0, work: [] as TaskWork[] }));
  for (const w of [...work].sort((a, b) => planned.get(b.task)! - planned.get(a.task)!)) {
    const least = shares.reduce((m, s) => (s.load < m.load ? s : m));
    least.work.push(w);
    least.load += planned.get(w.task)!;
  }
  return shares.map((s) => s.work).filter((w) => w.length);
}

/** Runs each share in a worker thread (arc-worker.ts); the first error stops them all. */
async function inThreads(settings: ArcSettings, shares: TaskWork[][], onProgress: (task: string, fraction: number) => void, onAnswer: (a: TaskAnswer) => void): Promise<void> {
  const workers = shares.map((work) => new Worker(new URL("./arc-worker.ts", import.meta.url), { workerData: { settings, work } }));
  try {
    await Promise.all(
      workers.map(
        (worker) =>
          new Promise<void>((resolve, reject) => {
            worker.on("message", (m: { type: string; task: string; fraction: number; answer: TaskAnswer; error: { code: string; message: string; status: number } }) => {
              if (m.type === "progress") onProgress(m.task, m.fraction);
              else if (m.type === "answer") onAnswer(m.answer);
              else if (m.type === "done") resolve();
              else reject(new TrmError(m.error.code, m.error.message, m.error.status));
            });
            worker.on("error", reject);
            worker.on("exit", (code) => code !== 0 && reject(new Error(`a trm arc worker thread exited with code ${code}`)));
          }),
      ),
    );
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

export async function arcCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      tasks: { type: "string" },
      solutions: { type: "string" },
      augmentations: { type: "string" },
      steps: { type: "string" },
      halt: { type: "string" },
      "h-cycles": { type: "string" },
      linear: { type: "string" },
      submission: { type: "string" },
      json: { type: "string" },
      threads: { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  if (!values.model) throw new UsageError("arc needs --model <pack>");
  if (!values.tasks) throw new UsageError("arc needs --tasks test_puzzles.json (or an ARC challenges file)");
  if (!values.submission && !values.json) throw new UsageError("arc needs --submission <file> and/or --json <report>");
  const augmentations = (() => {
    try {
      return augmentationsOption(values.augmentations, "--augmentations");
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  })();
  const halt = haltOption(values.halt, ["fixed", "adaptive"] as const);
  const linear = linearOption(values.linear);

  const pack = await readPackDir(values.model);
  if (pack.manifest.task !== "arc") throw new TrmError("wrong_task", `${values.model} is a ${pack.manifest.task} model, not an ARC model`);
  const index = await readPackTaskIndex(values.model, pack);
  const maxSteps = intOption(values.steps, "steps") ?? pack.config.arch.halt_max_steps;
  if (maxSteps > pack.config.arch.halt_max_steps) throw new UsageError(`--steps must be at most ${pack.config.arch.halt_max_steps} (the model's halt_max_steps)`);
  let hCycles: number | undefined;
  try {
    hCycles = hCyclesOption(values["h-cycles"], pack.config.arch.H_cycles, "--h-cycles");
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const solutions = values.solutions ? parseJsonFile(await readText(values.solutions, "solutions"), values.solutions) : undefined;
  const tasks = parseTasksFile(parseJsonFile(await readText(values.tasks, "tasks"), values.tasks), values.tasks, solutions);

  const known = tasks.filter((t) => Object.hasOwn(index.tasks, t.task));
  const unknown = tasks.filter((t) => !Object.hasOwn(index.tasks, t.task)).map((t) => t.task);
  if (known.length === 0) throw new TrmError("unknown_task", `none of the ${tasks.length} tasks in ${values.tasks} is in the model's task index: TRM learns one puzzle embedding per task augmentation, so it can only solve tasks from its training data`);
  if (unknown.length) process.stderr.write(`trm arc: ${unknown.length} task(s) not in the model's task index, scored as having no prediction (as the official evaluator does): ${unknown.slice(0, 8).join(", ")}${unknown.length > 8 ? ", ..." : ""}\n`);

  const work = known.map((t): TaskWork => ({ task: t.task, tests: t.tests.map((x) => x.input) }));
  const planned = new Map(known.map((t) => [t.task, t.tests.length * Math.min(rowCount(index.tasks[t.task]), augmentations === "all" ? Infinity : augmentations)]));
  const totalSequences = [...planned.values()].reduce((a, b) => a + b, 0);
  const threads = intOption(values.threads, "threads") ?? Math.min(availableParallelism(), known.length);
  const started = performance.now();
  const bar = values.quiet ? undefined : progressBar("arc", totalSequences, "augmented inputs");
  const fractions = new Map<string, number>();
  const progress = (task: string, fraction: number) => {
    fractions.set(task, fraction);
    bar?.update(Math.round([...fractions].reduce((n, [t, f]) => n + f * planned.get(t)!, 0)));
  };
  const answers = new Map<string, TaskAnswer>();
  const settings: ArcSettings = { model: values.model, augmentations, maxSteps, halt, hCycles, linear };
  if (threads <= 1) await solveTasks(settings, work, progress, (a) => answers.set(a.task, a));
  else await inThreads(settings, shareOut(work, planned, threads), progress, (a) => answers.set(a.task, a));
  bar?.end();
  const evaluation = evaluate(tasks, (task, j) => answers.get(task)?.candidates[j] ?? []);
  const sequencesDone = [...answers.values()].reduce((n, a) => n + a.sequences, 0);
  const seconds = (performance.now() - started) / 1000;

  if (values.submission) await writeFile(values.submission, submissionJson(evaluation.submission));
  const summary = evaluation.pass
    ? PASS_KS.map((k) => `pass@${k} ${(100 * evaluation.pass![k]).toFixed(2)} %`).join("  ")
    : "no test outputs in the tasks file: submission only";
  process.stderr.write(`trm arc: ${known.length} task(s), ${sequencesDone} augmented test inputs, ${maxSteps} steps (${halt}), H_cycles ${hCycles ?? pack.config.arch.H_cycles}, ${seconds.toFixed(1)} s: ${summary}\n`);
  if (values.json) {
    const report = {
      model: pack.manifest.name,
      tasks_file: values.tasks,
      options: { augmentations, steps: maxSteps, halt, h_cycles: hCycles ?? pack.config.arch.H_cycles, linear: linearDtypeFor(pack.manifest, linear) },
      tasks: tasks.length,
      unknown_tasks: unknown,
      sequences: sequencesDone,
      seconds,
      result: evaluation.pass ? JSON.parse(resultJson(evaluation.pass)) : null,
      per_task: evaluation.tasks.map((r) => ({
        task: r.task,
        ...(answers.has(r.task) ? (({ task: _, candidates: __, ...figures }) => figures)(answers.get(r.task)!) : { augmentations: 0, sequences: 0 }),
        pass: r.pass,
        tests: r.tests.map((x) => ({ rank_of_correct: x.rank, candidates: x.candidates.slice(0, TOP_CANDIDATES).map(present) })),
      })),
    };
    await writeFile(values.json, JSON.stringify(report, null, 2) + "\n");
  }
  if (evaluation.pass) process.stdout.write(resultJson(evaluation.pass) + "\n");
}
