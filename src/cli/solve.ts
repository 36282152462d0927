// `trm solve`: a file of puzzles (one per line) → NDJSON answers, either
// in-process from a pack directory or through a running Worker.
import { parseArgs } from "node:util";
import { TrmError } from "../errors.ts";
import { TASKS, type TaskName } from "../engine/config.ts";
import { nodeKernelModule, readPackDir } from "../engine/node.ts";
import type { LinearDtype } from "../engine/wasm-network.ts";
import { UsageError, haltOption, intOption, linearOption, progressBar, readText } from "./args.ts";
import { type EncodedPuzzle, type Result, type SolveHalt, createModel, encodePuzzles, solveEncoded, solveOptions } from "../solver.ts";

const BATCH = 16; // puzzles per in-process batch: output and progress come after each
const REQUEST_LINES = 64; // lines per request to a Worker (its default MAX_PUZZLES)

interface Line {
  index: number;
  solution?: unknown;
  steps?: number;
  confidence?: number;
  valid?: boolean | null;
  error?: { code: string; message: string };
}

const print = (line: Line) => process.stdout.write(JSON.stringify(line) + "\n");

/** One puzzle per non-empty line; the tokens task takes JSON lines, the others their plain notation. */
export function parseLines(text: string, task: TaskName): { index: number; puzzle: unknown; error?: Line["error"] }[] {
  return text.split("\n").map((l) => l.trim()).filter(Boolean).map((l, index) => {
    if (task !== "tokens") return { index, puzzle: l };
    try {
      return { index, puzzle: JSON.parse(l) };
    } catch (e) {
      return { index, puzzle: null, error: { code: "malformed_json", message: `line ${index + 1} is not valid JSON: ${(e as Error).message}` } };
    }
  });
}

function resultLine(index: number, r: Pick<Result, "answer" | "step" | "confidence">): Line {
  const valid = r.answer.check?.valid;
  return { index, solution: r.answer.solution, steps: r.step, confidence: r.confidence, valid: typeof valid === "boolean" ? valid : null };
}

async function solveLocally(
  dir: string, task: TaskName, lines: ReturnType<typeof parseLines>, steps: number | undefined, halt: SolveHalt, linear: LinearDtype | undefined,
) {
  const pack = await readPackDir(dir);
  if (pack.manifest.task !== task) throw new TrmError("task_mismatch", `--task ${task} but the model in ${dir} is a ${pack.manifest.task} model`);
  const model = createModel(pack.manifest.name, nodeKernelModule(), pack, linear);
  const opts = solveOptions({ max_steps: steps, halt }, model.config);
  const bar = progressBar("solve", lines.length, "puzzles");
  for (let b = 0; b < lines.length; b += BATCH) {
    const batch = lines.slice(b, b + BATCH);
    const good: { index: number; encoded: EncodedPuzzle }[] = [];
    const out = new Map<number, Line>();
    for (const l of batch) {
      if (l.error) {
        out.set(l.index, { index: l.index, error: l.error });
        continue;
      }
      try {
        good.push({ index: l.index, encoded: encodePuzzles(model, [l.puzzle], () => `line ${l.index + 1}`)[0] });
      } catch (e) {
        if (!(e instanceof TrmError)) throw e;
        out.set(l.index, { index: l.index, error: { code: e.code, message: e.message } });
      }
    }
    if (good.length) {
      const results = await solveEncoded(model, good.map((g) => g.encoded), opts);
      results.forEach((r, i) => out.set(good[i].index, resultLine(good[i].index, r)));
    }
    batch.forEach((l) => print(out.get(l.index)!));
    bar.update(Math.min(b + BATCH, lines.length));
  }
  bar.end();
}

/** The Worker's answer as an error naming the endpoint, or the error of an unreachable Worker. */
async function workerFetch(endpoint: string, init: RequestInit): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(endpoint, init);
  } catch (e) {
    throw new TrmError("worker_unreachable", `cannot reach ${endpoint}: ${(e as Error).message}`);
  }
  if (!res.ok) {
    const err = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
    throw new TrmError(err?.error?.code ?? "worker_error", `${endpoint} answered HTTP ${res.status}: ${err?.error?.message ?? res.statusText}`);
  }
  return res;
}

async function solveRemotely(url: string, name: string, task: TaskName, token: string | undefined, lines: ReturnType<typeof parseLines>, steps: number | undefined, halt: SolveHalt) {
  const model = `${url.replace(/\/+$/, "")}/v1/models/${encodeURIComponent(name)}`;
  const auth: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
  const served = ((await (await workerFetch(model, { headers: auth })).json()) as { task?: string }).task;
  if (served !== task) throw new TrmError("task_mismatch", `--task ${task} but ${model} is a ${served} model`);
  const bar = progressBar("solve", lines.length, "puzzles");
  for (let b = 0; b < lines.length; b += REQUEST_LINES) {
    const chunk = lines.slice(b, b + REQUEST_LINES);
    const body = chunk.map((l) => (l.error ? "{}" : JSON.stringify({ puzzle: l.puzzle, halt, ...(steps ? { max_steps: steps } : {}) }))).join("\n") + "\n";
    const res = await workerFetch(`${model}/solve`, { method: "POST", headers: { "content-type": "application/x-ndjson", ...auth }, body });
    let buffered = "";
    const emit = (text: string) => {
      const o = JSON.parse(text) as { line: number; result?: { solution: unknown; steps: number; confidence: number; check?: { valid?: boolean } }; error?: Line["error"] };
      const l = chunk[o.line - 1];
      if (l.error) return print({ index: l.index, error: l.error });
      if (o.error) return print({ index: l.index, error: o.error });
      const r = o.result!;
      print({ index: l.index, solution: r.solution, steps: r.steps, confidence: r.confidence, valid: r.check?.valid ?? null });
      bar.update(l.index + 1);
    };
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      buffered += r.value;
      const complete = buffered.split("\n");
      buffered = complete.pop()!;
      complete.filter(Boolean).forEach(emit);
    }
    if (buffered.trim()) emit(buffered);
  }
  bar.end();
}

export async function solveCommand(argv: string[]): Promise<void> {
  const usage = (message: string) => new UsageError(message);
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      url: { type: "string" },
      "model-name": { type: "string" },
      token: { type: "string" },
      task: { type: "string" },
      input: { type: "string" },
      steps: { type: "string" },
      halt: { type: "string" },
      linear: { type: "string" },
    },
  });
  const task = values.task as TaskName;
  if (!TASKS.includes(task)) throw usage(`solve needs --task ${TASKS.join("|")}`);
  if (!values.input) throw usage("solve needs --input <file> (one puzzle per line)");
  if (Boolean(values.model) === Boolean(values.url)) throw usage("solve needs either --model <dir> or --url <worker url> --model-name <name>");
  if (values.url && !values["model-name"]) throw usage("--url needs --model-name <name>");
  if (values.url && values.linear) throw usage("--linear applies to --model <dir>; a Worker computes as its packs say");
  const linear = linearOption(values.linear);
  const steps = intOption(values.steps, "steps");
  const halt = haltOption(values.halt);
  const lines = parseLines(await readText(values.input, "input"), task);
  if (lines.length === 0) throw new TrmError("bad_input", `${values.input} has no puzzles`);
  if (values.model) await solveLocally(values.model, task, lines, steps, halt, linear);
  else await solveRemotely(values.url!, values["model-name"]!, task, values.token ?? process.env.TRM_API_TOKEN, lines, steps, halt);
}
