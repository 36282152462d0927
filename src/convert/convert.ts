// Official checkpoint (+ all_config.yaml, dataset.json) → weight pack, for
// TRM (TinyRecursiveReasoningModel_ACTV1) and HRM (HierarchicalReasoningModel_ACTV1).
// What the tensors tell (vocab, puzzle ids, MLP-T / learned-position length)
// is inferred and must agree with every other source of the same number.
import { basename } from "node:path";
import { parse as parseYaml } from "yaml";
import { TrmError } from "../errors.ts";
import {
  ARCH_DEFAULTS, type ArchConfig, MODEL_DEFAULTS, type ModelConfig, type TaskName, TASKS,
  effectivePuzzleLen, expectedTensors, swigluWidth, validateConfig,
} from "../engine/config.ts";
import {
  INT8_SCALE_SUFFIX, PACK_FORMAT, PACK_FORMAT_VERSION, type PackDtype, type PackManifest, WEIGHTS_FILE, parameterCount, sha256Hex,
  storedDtype, weightsFromTensors,
} from "../engine/pack.ts";
import { INT8_WEIGHT_LEVELS, quantizeRows } from "../engine/quantize.ts";
import { type RawTensor, encodeSafetensors, float32Bytes, toBFloat16, toFloat32 } from "../engine/safetensors.ts";
import { createHash } from "node:crypto";
import type { ByteSource } from "./byte-source.ts";
import type { DeferredTensor } from "./deferred.ts";
import { ARC_SEQ_LEN, ARC_VOCAB } from "../tasks/arc/grid.ts";
import { parsePuzzlesFile } from "../tasks/arc/tasks-file.ts";
import { type RowStream, parseIdentifiers, writePuzzleTable } from "./puzzle-table.ts";
import { readSafetensors } from "./safetensors-source.ts";
import { readTorchCheckpoint } from "./torch-checkpoint.ts";

export interface ConvertOptions {
  checkpoint: ByteSource; // read by range: an ARC checkpoint's 1.8 GB table is streamed, never held

  checkpointName: string;
  configYaml: string;
  configName: string;
  datasetJson?: string;
  datasetName?: string;
  seqLen?: number;
  vocabSize?: number;
  numPuzzleIdentifiers?: number;
  dtype?: PackDtype;
  task?: TaskName;
  name: string;
  converter: string; // "trm-worker <version>"
  /** identifiers.json of the official ARC builder: the puzzle embedding becomes its own object with a task index. */
  identifiersJson?: string;
  identifiersName?: string;
  /** Receives that object's bytes in row order (required with identifiersJson). */
  writeTable?: (bytes: Uint8Array) => void;
  /** Optional, with identifiersJson: the builder's test_puzzles.json, shipped in the pack so that the Worker can show its tasks' demonstrations. */
  puzzlesJson?: Uint8Array;
  puzzlesName?: string;
}

export interface Converted {
  manifest: PackManifest;
  safetensors: Uint8Array;
  files: [string, Uint8Array][]; // further pack files (the task index and identifiers of an ARC pack)
  notes: string[]; // what was inferred, for the CLI to print
}

export const TABLE_FILE = "puzzle_emb.bin";
export const IDENTIFIERS_FILE = "identifiers.txt";
export const TASK_INDEX_FILE = "tasks.json";
export const PUZZLES_FILE = "test_puzzles.json";
const PUZZLE_TABLE_TENSOR = "inner.puzzle_emb.weights";

/** Rows of an in-memory (rows, dim) tensor, chunk by chunk. */
function tensorRows(t: RawTensor): RowStream {
  const [rows, dim] = t.shape;
  const itemBytes = t.data.byteLength / (rows * dim);
  return (perChunk, onChunk) => {
    for (let r = 0; r < rows; r += perChunk) {
      const end = Math.min(rows, r + perChunk);
      onChunk(r, toFloat32({ dtype: t.dtype, shape: [end - r, dim], data: t.data.subarray(r * dim * itemBytes, end * dim * itemBytes) }));
    }
  };
}

const ARCH_FIELDS: (keyof ArchConfig)[] = [
  "H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion", "num_heads", "pos_encodings",
  "puzzle_emb_ndim", "puzzle_emb_len", "halt_max_steps", "halt_exploration_prob", "forward_dtype", "mlp_t", "no_ACT_continue",
];
// What HRM's model fixes instead of reading (see ArchConfig); mlp_t only exists in TRM's copy of hrm.py.
const HRM_FIXED: Partial<ArchConfig> = { puzzle_emb_len: 0, no_ACT_continue: false };

/** The model family an official arch.name names (sapientinc/HRM's or TRM's own copy of HRM). */
function familyOfName(name: string): ArchConfig["family"] | null {
  if (/(^|\.)trm@TinyRecursiveReasoningModel_ACTV1$/.test(name)) return "trm";
  if (/(^|\.)(hrm_act_v1|hrm)@HierarchicalReasoningModel_ACTV1$/.test(name)) return "hrm";
  return null;
}

function bad(message: string): never {
  throw new TrmError("bad_convert", message);
}

const stripWrappers = (key: string) => key.replace(/^_orig_mod\./, "").replace(/^model\./, "");

/**
 * Reads the state dict and strips the wrappers torch.compile and ACTLossHead
 * add ("_orig_mod.", "model."). With `deferTable`, the checkpoint's
 * puzzle embedding stays in the file, to be streamed row by row.
 */
export function readStateDict(source: ByteSource, { deferTable = false } = {}): { tensors: Map<string, RawTensor>; deferred: Map<string, DeferredTensor>; format: string } {
  const magic = source.size >= 4 ? source.read(0, 2) : new Uint8Array(0);
  const isZip = magic[0] === 0x50 && magic[1] === 0x4b;
  const defer = (key: string) => deferTable && stripWrappers(key) === PUZZLE_TABLE_TENSOR;
  const read = isZip ? readTorchCheckpoint(source, { defer }) : readSafetensors(source, { defer });
  const rename = <T>(raw: Map<string, T>, seen: Set<string>): Map<string, T> => {
    const out = new Map<string, T>();
    for (const [key, t] of raw) {
      const name = stripWrappers(key);
      if (!name.startsWith("inner.")) bad(`state dict key ${key} is not a TinyRecursiveReasoningModel_ACTV1 or HierarchicalReasoningModel_ACTV1 parameter (expected .../inner.*)`);
      if (seen.has(name)) bad(`state dict has ${name} twice (under different prefixes)`);
      seen.add(name);
      out.set(name, t);
    }
    return out;
  };
  const seen = new Set<string>();
  return { tensors: rename(read.tensors, seen), deferred: rename(read.deferred, seen), format: isZip ? "torch-zip" : "safetensors" };
}

/** sha256 of a whole source, 16 MiB at a time. */
function sourceSha256(source: ByteSource): string {
  const hash = createHash("sha256");
  const CHUNK = 16 * 1024 * 1024;
  for (let at = 0; at < source.size; at += CHUNK) hash.update(source.read(at, Math.min(CHUNK, source.size - at)));
  return hash.digest("hex");
}

/**
 * The arch section of all_config.yaml, with the official defaults and
 * `${.field}` interpolations resolved. The family comes from arch.name, or,
 * when there is none, from the checkpoint (HRM has H_level tensors).
 */
function readArch(yamlText: string, configName: string, checkpointIsHrm: boolean): { arch: ArchConfig; extras: Record<string, unknown> } {
  let doc: unknown;
  try {
    doc = parseYaml(yamlText);
  } catch (e) {
    bad(`${configName} is not valid YAML: ${(e as Error).message}`);
  }
  const root = doc as Record<string, unknown>;
  const archIn = root?.arch as Record<string, unknown> | undefined;
  if (!archIn || typeof archIn !== "object") bad(`${configName} has no arch: section (expected the all_config.yaml that pretrain.py writes)`);
  let family: ArchConfig["family"] = checkpointIsHrm ? "hrm" : "trm";
  if (archIn.name !== undefined) {
    const named = familyOfName(String(archIn.name));
    if (!named) {
      bad(`${configName} arch.name is ${archIn.name}; supported: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1, hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1 (or recursive_reasoning.hrm@...)`);
    }
    if (named !== family) {
      bad(`${configName} arch.name ${archIn.name} is ${named.toUpperCase()}, but the checkpoint ${checkpointIsHrm ? "has" : "has no"} inner.H_level tensors (${family.toUpperCase()})`);
    }
  }
  const resolve = (v: unknown): unknown => {
    const m = typeof v === "string" ? /^\$\{\.(\w+)\}$/.exec(v) : null;
    return m ? resolve(archIn[m[1]]) : v;
  };
  const arch: Record<string, unknown> = { family };
  for (const f of ARCH_FIELDS) {
    const fixed = family === "hrm" ? HRM_FIXED[f] : undefined;
    if (fixed !== undefined && archIn[f] !== undefined) bad(`${configName} arch.${f}: HRM has no such option`);
    arch[f] = fixed ?? (archIn[f] !== undefined ? resolve(archIn[f]) : ARCH_DEFAULTS[f]);
  }
  const missing = ARCH_FIELDS.filter((f) => arch[f] === undefined);
  if (missing.length) bad(`${configName} arch is missing ${missing.join(", ")}`);
  // Not official all_config.yaml keys, but written by some tools (and by the shared golden cases).
  const added = (root.golden_added ?? {}) as Record<string, Record<string, unknown>>;
  const extras = {
    ...(added.dataset_metadata ?? {}),
    ...(added.model_defaults_not_in_official_yaml ?? {}),
    ...(archIn.rms_norm_eps !== undefined ? { rms_norm_eps: archIn.rms_norm_eps } : {}),
    ...(archIn.rope_theta !== undefined ? { rope_theta: archIn.rope_theta } : {}),
  };
  return { arch: arch as unknown as ArchConfig, extras };
}

/** Collects one number from several sources; they must agree. */
class Resolver {
  private values = new Map<string, { value: number; source: string }>();
  readonly notes: string[] = [];

  offer(field: string, value: unknown, source: string): void {
    if (value === undefined || value === null) return;
    if (typeof value !== "number" || !Number.isFinite(value)) bad(`${field} from ${source} is not a number: ${JSON.stringify(value)}`);
    const have = this.values.get(field);
    if (have && have.value !== value) bad(`${field} is ${have.value} according to ${have.source} but ${value} according to ${source}`);
    if (!have) this.values.set(field, { value, source });
  }

  get(field: string, hint: string): number {
    const v = this.values.get(field);
    if (!v) bad(`cannot determine ${field}: ${hint}`);
    this.notes.push(`${field} = ${v.value} (from ${v.source})`);
    return v.value;
  }
}

function inferTask(cfg: ModelConfig): TaskName {
  if (cfg.vocab_size === 11 && cfg.seq_len === 81) return "sudoku";
  if (cfg.vocab_size === 6 && Number.isInteger(Math.sqrt(cfg.seq_len))) return "maze";
  if (cfg.vocab_size === 12 && cfg.seq_len === 900) return "arc";
  return "tokens";
}

export async function convert(opts: ConvertOptions): Promise<Converted> {
  const { tensors, deferred, format } = readStateDict(opts.checkpoint, { deferTable: opts.identifiersJson !== undefined });
  const isHrm = [...tensors.keys()].some((n) => n.startsWith("inner.H_level."));
  const { arch, extras } = readArch(opts.configYaml, opts.configName, isHrm);
  const r = new Resolver();

  let dataset: Record<string, unknown> = {};
  if (opts.datasetJson !== undefined) {
    try {
      dataset = JSON.parse(opts.datasetJson);
    } catch (e) {
      bad(`${opts.datasetName} is not valid JSON: ${(e as Error).message}`);
    }
  }
  r.offer("seq_len", opts.seqLen, "--seq-len");
  r.offer("vocab_size", opts.vocabSize, "--vocab-size");
  r.offer("num_puzzle_identifiers", opts.numPuzzleIdentifiers, "--num-puzzle-identifiers");
  const identifiers = opts.identifiersJson === undefined ? undefined : parseIdentifiers(opts.identifiersJson, opts.identifiersName ?? "identifiers.json");
  if (identifiers) {
    r.offer("num_puzzle_identifiers", identifiers.length, opts.identifiersName ?? "identifiers.json");
    // identifiers name ARC augmentations: the official builder's 30x30 canvas and 12 tokens
    r.offer("seq_len", ARC_SEQ_LEN, "the ARC encoding (--identifiers)");
    r.offer("vocab_size", ARC_VOCAB, "the ARC encoding (--identifiers)");
  }
  for (const f of ["seq_len", "vocab_size", "num_puzzle_identifiers"]) {
    r.offer(f, dataset[f], opts.datasetName ?? "dataset.json");
    r.offer(f, extras[f], opts.configName);
  }

  // What the tensors tell.
  const P = effectivePuzzleLen(arch);
  const shape = (name: string) => (tensors.get(name) ?? deferred.get(name))?.shape;
  const embed = shape("inner.embed_tokens.embedding_weight");
  if (!embed || embed.length !== 2) bad("checkpoint has no 2-D inner.embed_tokens.embedding_weight");
  r.offer("vocab_size", embed[0], "the embed_tokens tensor");
  const puzzle = shape("inner.puzzle_emb.weights");
  if (puzzle) r.offer("num_puzzle_identifiers", puzzle[0], "the puzzle_emb.weights tensor");
  else if (arch.puzzle_emb_ndim === 0) r.offer("num_puzzle_identifiers", 1, "puzzle_emb_ndim 0 (no puzzle embedding)");
  const pos = shape("inner.embed_pos.embedding_weight");
  if (pos) r.offer("seq_len", pos[0] - P, `the embed_pos tensor (${pos[0]} positions - puzzle_emb_len ${P})`);
  const mlpT = shape("inner.L_level.layers.0.mlp_t.down_proj.weight");
  if (mlpT) r.offer("seq_len", mlpT[0] - P, `the mlp_t tensors (${mlpT[0]} positions - puzzle_emb_len ${P})`);

  const rmsEps = extras.rms_norm_eps !== undefined ? Number(extras.rms_norm_eps) : MODEL_DEFAULTS.rms_norm_eps;
  const ropeTheta = extras.rope_theta !== undefined ? Number(extras.rope_theta) : MODEL_DEFAULTS.rope_theta;
  const config = validateConfig({
    arch,
    seq_len: r.get("seq_len", "pass --seq-len or --dataset dataset.json (the attention model's tensors do not fix it)"),
    vocab_size: r.get("vocab_size", "pass --vocab-size or --dataset"),
    num_puzzle_identifiers: r.get("num_puzzle_identifiers", "pass --num-puzzle-identifiers or --dataset"),
    puzzle_emb_len: P,
    rms_norm_eps: rmsEps,
    rope_theta: ropeTheta,
  });
  if (mlpT) r.notes.push(`MLP-T width ${swigluWidth(P + config.seq_len, arch.expansion)} over ${P + config.seq_len} positions`);

  // Every tensor against the config (names, shapes), then the output dtype.
  const external = identifiers !== undefined;
  if (external && arch.puzzle_emb_ndim === 0) bad(`--identifiers names puzzle-embedding rows, but this model has none (puzzle_emb_ndim 0)`);
  const tableShape = [config.num_puzzle_identifiers, arch.puzzle_emb_ndim];
  const tableRows: RowStream | undefined = !external
    ? undefined
    : deferred.has(PUZZLE_TABLE_TENSOR)
      ? (perChunk, onChunk) => deferred.get(PUZZLE_TABLE_TENSOR)!.streamRows(perChunk, onChunk)
      : tensors.has(PUZZLE_TABLE_TENSOR)
        ? tensorRows(tensors.get(PUZZLE_TABLE_TENSOR)!)
        : bad(`--identifiers names puzzle-embedding rows, but the checkpoint has no ${PUZZLE_TABLE_TENSOR}`);
  const tableTensor = deferred.get(PUZZLE_TABLE_TENSOR) ?? tensors.get(PUZZLE_TABLE_TENSOR);
  if (external && (tableTensor!.shape.length !== 2 || tableTensor!.shape.some((n, i) => n !== tableShape[i]))) {
    bad(`tensor ${PUZZLE_TABLE_TENSOR} has shape [${tableTensor!.shape}], the config needs [${tableShape}]`);
  }
  const trunkNames = [...tensors.keys()].filter((n) => !(external && n === PUZZLE_TABLE_TENSOR));
  weightsFromTensors(config, (n) => tensors.get(n), trunkNames, { puzzleTable: !external });
  const dtype = opts.dtype ?? "f32";
  const out: [string, RawTensor][] = expectedTensors(config, { puzzleTable: !external }).flatMap(({ name }): [string, RawTensor][] => {
    const t = tensors.get(name)!;
    const values = toFloat32(t);
    const stored = storedDtype(dtype, name);
    if (stored === "F32") return [[name, { dtype: stored, shape: t.shape, data: float32Bytes(values) }]];
    if (stored === "BF16") return [[name, { dtype: stored, shape: t.shape, data: toBFloat16(values) }]];
    const [rows, cols] = t.shape;
    const { q, scale } = quantizeRows(values, rows, cols, INT8_WEIGHT_LEVELS); // per output channel
    return [
      [name, { dtype: "I8", shape: t.shape, data: new Uint8Array(Int8Array.from(q).buffer) }],
      [name + INT8_SCALE_SUFFIX, { dtype: "F32", shape: [rows], data: float32Bytes(scale) }],
    ];
  });
  const sourceDtypes: Record<string, number> = {};
  for (const t of tensors.values()) sourceDtypes[t.dtype] = (sourceDtypes[t.dtype] ?? 0) + 1;

  const task = opts.task ?? inferTask(config);
  if (!TASKS.includes(task)) bad(`--task must be one of ${TASKS.join(", ")}`);
  if (task === "arc" && !external) bad("an ARC pack needs --identifiers <build>/identifiers.json (written by the official dataset/build_arc_dataset.py): it names each puzzle-embedding row's task and augmentation");

  let puzzleTable: PackManifest["puzzle_table"];
  const files: [string, Uint8Array][] = [];
  if (identifiers) {
    if (!opts.writeTable) bad("convert with identifiers needs a writeTable sink");
    const tableDtype = dtype === "bf16" ? "bf16" : "f32";
    const table = writePuzzleTable(tableRows!, identifiers, arch.puzzle_emb_ndim, tableDtype, opts.writeTable);
    const indexBytes = new TextEncoder().encode(JSON.stringify(table.index) + "\n");
    files.push([TASK_INDEX_FILE, indexBytes], [IDENTIFIERS_FILE, table.identifiersText]);
    puzzleTable = {
      file: TABLE_FILE,
      dtype: tableDtype,
      rows: identifiers.length,
      dim: arch.puzzle_emb_ndim,
      bytes: table.bytes,
      identifiers_file: IDENTIFIERS_FILE,
      index_file: TASK_INDEX_FILE,
      index_sha256: await sha256Hex(indexBytes),
      tasks: table.tasks,
    };
    r.notes.push(`puzzle table: ${identifiers.length} rows x ${arch.puzzle_emb_ndim} (${tableDtype}, ${table.bytes} bytes), ${table.tasks} tasks, ${table.contiguous} of them one contiguous range`);
    if (opts.puzzlesJson) {
      const where = opts.puzzlesName ?? PUZZLES_FILE;
      let json: unknown;
      try {
        json = JSON.parse(new TextDecoder().decode(opts.puzzlesJson));
      } catch {
        bad(`${where} is not valid JSON`);
      }
      const puzzles = parsePuzzlesFile(json, where);
      files.push([PUZZLES_FILE, opts.puzzlesJson]);
      puzzleTable.puzzles_file = PUZZLES_FILE;
      puzzleTable.puzzles_sha256 = await sha256Hex(opts.puzzlesJson);
      const indexed = [...puzzles.keys()].filter((t) => Object.hasOwn(table.index.tasks, t)).length;
      r.notes.push(`puzzles: ${puzzles.size} tasks with demonstrations and test inputs (${where}), ${indexed} of them in the task index`);
    }
  } else if (opts.puzzlesJson) {
    bad("--puzzles ships an ARC pack's demonstrations; it needs --identifiers");
  }
  const safetensors = encodeSafetensors(out, { format: "pt", source: "trm-worker convert" });
  const manifest: PackManifest = {
    format: PACK_FORMAT,
    format_version: PACK_FORMAT_VERSION,
    name: opts.name,
    task,
    arch: config.arch,
    seq_len: config.seq_len,
    vocab_size: config.vocab_size,
    num_puzzle_identifiers: config.num_puzzle_identifiers,
    puzzle_emb_len: config.puzzle_emb_len,
    rms_norm_eps: config.rms_norm_eps,
    rope_theta: config.rope_theta,
    weights: {
      file: WEIGHTS_FILE,
      dtype,
      bytes: safetensors.byteLength,
      sha256: await sha256Hex(safetensors),
      parameters: parameterCount(config, { puzzleTable: !external }),
    },
    ...(puzzleTable ? { puzzle_table: puzzleTable } : {}),
    provenance: {
      source: basename(opts.checkpointName),
      source_format: format,
      source_sha256: sourceSha256(opts.checkpoint),
      source_dtypes: sourceDtypes,
      config: basename(opts.configName),
      ...(opts.datasetName ? { dataset: basename(opts.datasetName) } : {}),
      converter: opts.converter,
      converted_at: new Date().toISOString(),
    },
  };
  return { manifest, safetensors, files, notes: [...r.notes, `task = ${task}${opts.task ? "" : " (inferred)"}`] };
}
