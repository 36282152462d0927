// `trm`: convert official checkpoints, run the recursion, solve puzzles.
// Results go to stdout as JSON; progress and errors go to stderr.
import { parseArgs } from "node:util";
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { TrmError } from "../errors.ts";
import { type FileSource, openFileSource } from "../convert/byte-source.ts";
import { TABLE_FILE, convert } from "../convert/convert.ts";
import { MANIFEST_FILE, PACK_DTYPES, type PackDtype, WEIGHTS_FILE } from "../engine/pack.ts";
import { nodeKernelModule, readPackDir } from "../engine/node.ts";
import { checkPuzzles } from "../engine/inputs.ts";
import { type Network, recurse } from "../engine/recursion.ts";
import { ReferenceNetwork } from "../engine/reference.ts";
import { WasmNetwork } from "../engine/wasm-network.ts";
import { linearDtypeFor } from "../solver.ts";
import { TASKS, type TaskName } from "../engine/config.ts";
import { UsageError, haltOption, intOption, linearOption, readText } from "./args.ts";
import { arcCommand } from "./arc.ts";
import { evalCommand } from "./eval.ts";
import { generateCommand } from "./generate.ts";
import { jobsCommand } from "./jobs.ts";
import { solveCommand } from "./solve.ts";

const VERSION = "0.1.0";

const USAGE = `usage:
  trm convert <checkpoint> --config all_config.yaml [--dataset dataset.json] [--identifiers identifiers.json [--puzzles test_puzzles.json]] [--seq-len N]
              [--vocab-size N] [--num-puzzle-identifiers N] [--dtype f32|bf16|int8] [--task NAME] [--name NAME] --out <dir>
  trm run --model <dir> --input <file.json> [--steps N] [--halt fixed|adaptive] [--logits] [--engine wasm|reference] [--linear f32|int8]
  trm solve --model <dir> --task sudoku|maze|tokens --input <file> [--steps N] [--halt fixed|adaptive|checked] [--linear f32|int8]
  trm solve --url <worker url> --model-name <name> --task ... --input <file> [--steps N] [--halt ...] [--token T]
  trm eval --model <dir> --task sudoku|maze --input <file.csv|file.txt> [--steps N] [--limit N] [--linear f32|int8] [--json out.json]
  trm arc --model <dir> --tasks test_puzzles.json [--solutions file] [--augmentations N|all] [--steps N] [--halt fixed|adaptive]
          [--h-cycles N] [--linear f32|int8] [--threads N] --submission <file> [--json report.json]
  trm jobs submit --url <worker url> --model-name <name> --task ... --input <file> [--steps N] [--halt ...] [--out results.ndjson] [--no-wait]
  trm jobs submit --url <worker url> --model-name <name> --task arc --input test_puzzles.json [--augmentations N|all] [--h-cycles N]
                  [--steps N] --submission <file> [--json report.json] [--out votes.ndjson] [--no-wait]
  trm jobs status|results|cancel <job id> --url <worker url> [--out results.ndjson]
  trm generate sudoku --count N [--clues N|MIN-MAX] [--seed S] [--out file.csv]
  trm generate maze --count N [--side 9] [--min-path N] [--loops N] [--seed S] [--out file.csv]

--dtype int8 stores the blocks' linear weights as int8 with a scale per output channel (about 1/4 of f32);
such a pack runs its linear layers on the int8 kernels. --linear f32|int8 overrides that when running:
int8 quantises each row of activations to 7 bits on the fly; attention, norms and the heads stay float32.
--token defaults to $TRM_API_TOKEN. Exit status: 0 done, 1 bad input (the message names it), 2 usage mistake.`;

async function writeWhole(path: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

async function convertCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: "string" },
      dataset: { type: "string" },
      "seq-len": { type: "string" },
      "vocab-size": { type: "string" },
      "num-puzzle-identifiers": { type: "string" },
      dtype: { type: "string" },
      task: { type: "string" },
      name: { type: "string" },
      out: { type: "string" },
      identifiers: { type: "string" },
      puzzles: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("convert takes exactly one checkpoint file");
  if (!values.config) throw new UsageError("convert needs --config all_config.yaml");
  if (!values.out) throw new UsageError("convert needs --out <dir>");
  if (values.dtype !== undefined && !PACK_DTYPES.includes(values.dtype as PackDtype)) throw new UsageError(`--dtype must be ${PACK_DTYPES.join(", ")}, got ${values.dtype}`);
  if (values.task !== undefined && !TASKS.includes(values.task as TaskName)) throw new UsageError(`--task must be one of ${TASKS.join(", ")}`);
  const [checkpointPath] = positionals;
  let checkpoint: FileSource;
  try {
    checkpoint = openFileSource(checkpointPath);
  } catch {
    throw new UsageError(`cannot read checkpoint ${checkpointPath}`);
  }
  const out = resolve(values.out);
  // The puzzle table (ARC) streams to a temporary file beside the output folder while converting,
  // and moves into it on success; a failed conversion leaves nothing behind.
  // Its folder may not exist yet (--out packs/arc1 in a fresh checkout): made then, removed on failure if made here.
  const tableTmp = `${out}.${TABLE_FILE}.${process.pid}.tmp`;
  let tableFd: number | undefined;
  let madeParent: string | undefined;
  const writeTable = (bytes: Uint8Array) => {
    if (tableFd === undefined) {
      madeParent = mkdirSync(dirname(tableTmp), { recursive: true });
      tableFd = openSync(tableTmp, "w");
    }
    writeSync(tableFd, bytes);
  };
  const result = await convert({
    checkpoint,
    checkpointName: checkpointPath,
    configYaml: await readText(values.config, "config"),
    configName: values.config,
    datasetJson: values.dataset ? await readText(values.dataset, "dataset") : undefined,
    datasetName: values.dataset,
    seqLen: intOption(values["seq-len"], "seq-len"),
    vocabSize: intOption(values["vocab-size"], "vocab-size"),
    numPuzzleIdentifiers: intOption(values["num-puzzle-identifiers"], "num-puzzle-identifiers"),
    dtype: values.dtype as PackDtype | undefined,
    task: values.task as TaskName | undefined,
    name: values.name ?? basename(out),
    converter: `trm-worker ${VERSION}`,
    identifiersJson: values.identifiers ? await readText(values.identifiers, "identifiers") : undefined,
    identifiersName: values.identifiers,
    writeTable,
    puzzlesJson: values.puzzles ? new TextEncoder().encode(await readText(values.puzzles, "puzzles")) : undefined,
    puzzlesName: values.puzzles,
  })
    .catch((e) => {
      if (tableFd !== undefined) closeSync(tableFd);
      rmSync(tableTmp, { force: true });
      if (madeParent) rmSync(madeParent, { recursive: true, force: true });
      throw e;
    })
    .finally(() => checkpoint.close());
  // Nothing is written until the conversion has succeeded; each file appears whole (write, then rename).
  await mkdir(out, { recursive: true });
  if (tableFd !== undefined) {
    closeSync(tableFd);
    await rename(tableTmp, join(out, TABLE_FILE));
  }
  for (const [name, bytes] of result.files) await writeWhole(join(out, name), bytes);
  await writeWhole(join(out, WEIGHTS_FILE), result.safetensors);
  await writeWhole(join(out, MANIFEST_FILE), JSON.stringify(result.manifest, null, 2) + "\n");
  for (const note of result.notes) process.stderr.write(`trm convert: ${note}\n`);
  const w = result.manifest.weights;
  process.stderr.write(`trm convert: wrote ${out} (${w.parameters} parameters, ${w.dtype}, ${w.bytes} bytes)\n`);
}

async function runCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      model: { type: "string" },
      input: { type: "string" },
      steps: { type: "string" },
      halt: { type: "string" },
      logits: { type: "boolean", default: false },
      engine: { type: "string", default: "wasm" },
      linear: { type: "string" },
      quiet: { type: "boolean", default: false },
    },
  });
  if (!values.model) throw new UsageError("run needs --model <dir>");
  if (!values.input) throw new UsageError("run needs --input <file.json>");
  if (values.engine !== "wasm" && values.engine !== "reference") throw new UsageError(`--engine must be wasm or reference, got ${values.engine}`);
  const halt = haltOption(values.halt, ["fixed", "adaptive"] as const);
  const linear = linearOption(values.linear);
  if (linear && values.engine !== "wasm") throw new UsageError("--linear applies to --engine wasm (the reference computes in float32/float64)");
  const pack = await readPackDir(values.model);
  const maxSteps = intOption(values.steps, "steps") ?? pack.config.arch.halt_max_steps;
  let input: { inputs?: unknown; puzzle_identifiers?: unknown };
  try {
    input = JSON.parse(await readText(values.input, "input"));
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new TrmError("bad_input_json", `${values.input} is not valid JSON: ${(e as Error).message}`);
  }
  const puzzles = checkPuzzles(pack.config, input?.inputs, input?.puzzle_identifiers);
  const net: Network<unknown> =
    values.engine === "wasm"
      ? new WasmNetwork(nodeKernelModule(), pack.config, pack.weights, linearDtypeFor(pack.manifest, linear))
      : new ReferenceNetwork(pack.config, pack.weights);

  const steps: unknown[] = [];
  const started = performance.now();
  for (const report of recurse(net, puzzles, maxSteps, halt)) {
    const seqs = report.sequences;
    steps.push({
      step: report.step,
      q_halt_logits: seqs.map((s) => s.qHalt),
      q_continue_logits: seqs.map((s) => s.qContinue),
      preds: seqs.map((s) => Array.from(s.preds)),
      halted: seqs.map((s) => s.halted),
      ...(values.logits ? { logits: seqs.map((s) => rows(s.logits, pack.config.vocab_size)) } : {}),
    });
    if (!values.quiet) {
      const active = seqs.filter((s) => s.steps === report.step).length;
      process.stderr.write(`trm run: step ${report.step}/${maxSteps}, ${active} sequence(s) computed, ${Math.round(performance.now() - started)} ms\n`);
    }
  }
  process.stdout.write(JSON.stringify({ steps }) + "\n");
}

/** (rows·cols) → number[][] */
function rows(m: Float32Array, cols: number): number[][] {
  return Array.from({ length: m.length / cols }, (_, r) => Array.from(m.subarray(r * cols, (r + 1) * cols)));
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  switch (command) {
    case "convert":
      return convertCommand(rest);
    case "run":
      return runCommand(rest);
    case "solve":
      return solveCommand(rest);
    case "eval":
      return evalCommand(rest);
    case "arc":
      return arcCommand(rest);
    case "generate":
      return generateCommand(rest);
    case "jobs":
      return jobsCommand(rest);
    case "--version":
      process.stdout.write(`trm-worker ${VERSION}\n`);
      return;
    case "help":
    case "--help":
    case "-h":
      process.stdout.write(USAGE + "\n");
      return;
    case undefined:
      throw new UsageError("a command is needed", true);
    default:
      throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  }
}

// A reader that stops early (`trm solve ... | head`) is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(0);
  throw e;
});

main(process.argv.slice(2)).catch((e: unknown) => {
  if (e instanceof UsageError || (e instanceof TypeError && (e as { code?: string }).code?.startsWith("ERR_PARSE_ARGS"))) {
    process.stderr.write(`trm: ${e.message}\n${e instanceof UsageError && e.showUsage ? USAGE : "npx trm --help shows the usage"}\n`);
    process.exitCode = 2;
  } else if (e instanceof TrmError) {
    process.stderr.write(`trm: error (${e.code}): ${e.message}\n`);
    process.exitCode = 1;
  } else {
    process.stderr.write(`trm: internal error: ${(e as Error)?.stack ?? e}\n`);
    process.exitCode = 70;
  }
});
