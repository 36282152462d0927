import { existsSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unpickleTorch } from "../../src/convert/pickle.ts";
import { memorySource } from "../../src/convert/byte-source.ts";
import { readTorchCheckpoint } from "../../src/convert/torch-checkpoint.ts";
import type { RawTensor } from "../../src/engine/safetensors.ts";
import { readZipDirectory, readZipEntry, type ZipEntry } from "../../src/convert/zip.ts";
import { TrmError } from "../../src/errors.ts";

const GOLDEN_DIR = "/work/shared/golden";
const FIXTURES = new URL("../fixtures/checkpoints/", import.meta.url);
const KEY_PREFIX = "_orig_mod.model.";

// The in-memory path of the readers, as convert.ts uses it.
const readTensors = (bytes: Uint8Array) => readTorchCheckpoint(memorySource(bytes)).tensors;
const zipDirectory = (bytes: Uint8Array) => readZipDirectory(memorySource(bytes));
const zipEntry = (bytes: Uint8Array, entry: ZipEntry) => readZipEntry(memorySource(bytes), entry);

function readGolden(name: string): Uint8Array {
  return new Uint8Array(readFileSync(join(GOLDEN_DIR, name, "checkpoint.pt")));
}

function readFixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(new URL(name, FIXTURES)));
}

function expectTrmError(action: () => unknown, code: string, message: string | RegExp): TrmError {
  let caught: unknown;
  try {
    action();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(TrmError);
  const error = caught as TrmError;
  expect(error.code).toBe(code);
  if (typeof message === "string") expect(error.message).toContain(message);
  else expect(error.message).toMatch(message);
  return error;
}

function float32s(tensor: RawTensor): number[] {
  const dv = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return Array.from({ length: tensor.data.length / 4 }, (_, i) => dv.getFloat32(i * 4, true));
}

function bfloat16s(tensor: RawTensor): number[] {
  const dv = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  const widened = new DataView(new ArrayBuffer(4));
  return Array.from({ length: tensor.data.length / 2 }, (_, i) => {
    widened.setUint32(0, dv.getUint16(i * 2, true) << 16);
    return widened.getFloat32(0);
  });
}

function float16s(tensor: RawTensor): number[] {
  const dv = new DataView(tensor.data.buffer, tensor.data.byteOffset, tensor.data.byteLength);
  return Array.from({ length: tensor.data.length / 2 }, (_, i) => {
    const bits = dv.getUint16(i * 2, true);
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
  });
}

/** Offset of an entry's data, from its local header. */
function dataOffset(bytes: Uint8Array, entry: ZipEntry): number {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return entry.localHeaderOffset + 30 + dv.getUint16(entry.localHeaderOffset + 26, true) + dv.getUint16(entry.localHeaderOffset + 28, true);
}

function entryNamed(bytes: Uint8Array, name: string): ZipEntry {
  const entry = zipDirectory(bytes).find((e) => e.name === name);
  if (entry === undefined) throw new Error(`fixture lacks ${name}`);
  return entry;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const part of parts) {
    out.set(part, pos);
    pos += part.length;
  }
  return out;
}

/** Pickle bytes from a latin-1 string, so tests can spell opcodes as "\x80\x02...". */
function pickleOf(source: string): Uint8Array {
  return Uint8Array.from(source, (c) => c.charCodeAt(0));
}

function binUnicode(text: string): string {
  const n = text.length;
  return "X" + String.fromCharCode(n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24) + text;
}

const EMPTY_ORDERED_DICT = "\x80\x02ccollections\nOrderedDict\n)R";

// Reference values from numpy reading the raw storages (first, middle and last
// element of each flattened tensor, and the float64 sum of all elements).
type GoldenRow = [name: string, shape: number[], samples: [index: number, value: number][], sum: number];
const GOLDEN: Record<string, GoldenRow[]> = {
  att_rope: [
    ["inner.H_init", [64], [[0, -0.43233999609947205], [32, -0.19089153409004211], [63, -1.095964789390564]], 4.008794083027169],
    ["inner.L_init", [64], [[0, -0.597980797290802], [32, -0.9028946757316589], [63, -1.1175726652145386]], -8.23204157629516],
    ["inner.embed_tokens.embedding_weight", [12, 64], [[0, -0.2704969048500061], [384, 0.5551691055297852], [767, 0.09764126688241959]], -16.732070243917406],
    ["inner.lm_head.weight", [12, 64], [[0, -0.001422291505150497], [384, 0.04302048310637474], [767, -0.11409538984298706]], 1.589708056053496],
    ["inner.q_head.weight", [2, 64], [[0, 0.00783710740506649], [64, -0.024265261366963387], [127, -0.28703564405441284]], -0.19527541002025828],
    ["inner.q_head.bias", [2], [[0, 0.5614088177680969], [1, 1.201385259628296]], 1.7627940773963928],
    ["inner.puzzle_emb.weights", [10, 64], [[0, -1.1351956129074097], [320, -0.10828682035207748], [639, -0.2416413277387619]], -2.0463280918775126],
    ["inner.L_level.layers.0.self_attn.qkv_proj.weight", [192, 64], [[0, -0.010758795775473118], [6144, -0.02496623992919922], [12287, 0.1354876160621643]], -3.36085548061601],
    ["inner.L_level.layers.0.self_attn.o_proj.weight", [64, 64], [[0, -0.048816945403814316], [2048, -0.0981716513633728], [4095, 0.07178919017314911]], -8.259656158758617],
    ["inner.L_level.layers.0.mlp.gate_up_proj.weight", [512, 64], [[0, 0.11506965011358261], [16384, -0.1369810253381729], [32767, -0.05477123707532883]], -9.85958098409401],
    ["inner.L_level.layers.0.mlp.down_proj.weight", [64, 256], [[0, 0.021318547427654266], [8192, 0.021770622581243515], [16383, 0.017278628423810005]], 9.589283458283262],
    ["inner.L_level.layers.1.self_attn.qkv_proj.weight", [192, 64], [[0, -0.01851021870970726], [6144, -0.035137150436639786], [12287, 0.06071018427610397]], 9.333786649158355],
    ["inner.L_level.layers.1.self_attn.o_proj.weight", [64, 64], [[0, -0.06458116322755814], [2048, -0.004525783937424421], [4095, -0.0006617369363084435]], -2.456358590388845],
    ["inner.L_level.layers.1.mlp.gate_up_proj.weight", [512, 64], [[0, 0.005884165875613689], [16384, 0.0077159591019153595], [32767, -0.02147597074508667]], 10.613028995219793],
    ["inner.L_level.layers.1.mlp.down_proj.weight", [64, 256], [[0, -0.021453551948070526], [8192, -0.07914355397224426], [16383, 0.01829836331307888]], 6.973370279043365],
  ],
  mlp_t: [
    ["inner.H_init", [64], [[0, -0.5947237014770508], [32, 0.3740524351596832], [63, 2.036990165710449]], 9.098748434334993],
    ["inner.L_init", [64], [[0, -1.0890189409255981], [32, 0.08254212141036987], [63, -1.6523644924163818]], -2.0384427597746253],
    ["inner.embed_tokens.embedding_weight", [11, 64], [[0, -0.5230371356010437], [352, -0.17102617025375366], [703, 0.6063316464424133]], -15.478366030554753],
    ["inner.lm_head.weight", [11, 64], [[0, 0.11281562596559525], [352, -0.15184111893177032], [703, -0.06845066696405411]], -2.241689555652556],
    ["inner.q_head.weight", [2, 64], [[0, -0.0525394082069397], [64, -0.20027098059654236], [127, 0.1982930451631546]], 0.12859023234341294],
    ["inner.q_head.bias", [2], [[0, 0.546314537525177], [1, -0.003125972580164671]], 0.5431885649450123],
    ["inner.puzzle_emb.weights", [1, 64], [[0, -0.6463632583618164], [32, 1.0365464687347412], [63, -0.8438848853111267]], 1.4191279672086239],
    ["inner.L_level.layers.0.mlp_t.gate_up_proj.weight", [1024, 97], [[0, -0.08397557586431503], [49664, -0.031009506434202194], [99327, -0.012618117034435272]], -4.692226455312484],
    ["inner.L_level.layers.0.mlp_t.down_proj.weight", [97, 512], [[0, -0.04672127589583397], [24832, 0.05971018970012665], [49663, -0.022488409653306007]], 11.444748736485408],
    ["inner.L_level.layers.0.mlp.gate_up_proj.weight", [512, 64], [[0, -0.010675168596208096], [16384, -0.07992665469646454], [32767, 0.0300001110881567]], 7.795544512840365],
    ["inner.L_level.layers.0.mlp.down_proj.weight", [64, 256], [[0, 9.997794404625893e-05], [8192, 0.0658140778541565], [16383, 0.0015326110878959298]], -1.1034791394117747],
    ["inner.L_level.layers.1.mlp_t.gate_up_proj.weight", [1024, 97], [[0, 0.00906150508671999], [49664, -0.042083993554115295], [99327, -0.0005970296915620565]], 16.560443376864896],
    ["inner.L_level.layers.1.mlp_t.down_proj.weight", [97, 512], [[0, 0.010953279212117195], [24832, 0.018244491890072823], [49663, 0.02675611898303032]], 9.040510741680237],
    ["inner.L_level.layers.1.mlp.gate_up_proj.weight", [512, 64], [[0, 0.01596321538090706], [16384, 0.04727679863572121], [32767, 0.08358602970838547]], -2.624483155630969],
    ["inner.L_level.layers.1.mlp.down_proj.weight", [64, 256], [[0, 0.04942500963807106], [8192, 0.03365606814622879], [16383, -0.02119731530547142]], 2.4462815079700704],
  ],
};

describe("golden checkpoints", () => {
  for (const [name, rows] of Object.entries(GOLDEN)) {
    it(`reads every tensor of ${name} with exact values`, () => {
      const tensors = readTensors(readGolden(name));
      expect([...tensors.keys()]).toEqual(rows.map(([key]) => KEY_PREFIX + key));
      for (const [key, shape, samples, sum] of rows) {
        const tensor = tensors.get(KEY_PREFIX + key)!;
        expect(tensor.dtype).toBe("F32");
        expect(tensor.shape).toEqual(shape);
        expect(tensor.data.length).toBe(shape.reduce((a, b) => a * b, 1) * 4);
        const values = float32s(tensor);
        for (const [index, value] of samples) expect(values[index]).toBe(value);
        expect(values.reduce((a, b) => a + b, 0)).toBeCloseTo(sum, 9);
      }
    });
  }
});

describe("generated checkpoints", () => {
  it("reads bf16, f16, f64 and strided views from a zip64 archive in folder step_7/", () => {
    const bytes = readFixture("zip64_step7.pt");
    const tensors = readTensors(bytes);
    expect([...tensors.keys()]).toEqual(["bf16", "half", "double", "grid", "grid_t", "window", "column", "scalar"]);

    const bf16 = tensors.get("bf16")!;
    expect(bf16).toMatchObject({ dtype: "BF16", shape: [2, 3] });
    expect(bfloat16s(bf16)).toEqual([1, -2, 0.5, 3.25, -0.125, 100]);

    const half = tensors.get("half")!;
    expect(half).toMatchObject({ dtype: "F16", shape: [4] });
    expect(float16s(half)).toEqual([1, -0.5, 2048, 0.25]);

    const double = tensors.get("double")!; // a Parameter over a DoubleStorage
    expect(double).toMatchObject({ dtype: "F32", shape: [3] });
    expect(float32s(double)).toEqual([1.5, -2.25, Math.fround(0.001)]);

    expect(float32s(tensors.get("grid")!)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(tensors.get("grid_t")!.shape).toEqual([4, 3]);
    expect(float32s(tensors.get("grid_t")!)).toEqual([0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]);
    expect(tensors.get("window")!.shape).toEqual([2, 2]);
    expect(float32s(tensors.get("window")!)).toEqual([5, 6, 9, 10]);
    expect(float32s(tensors.get("column")!)).toEqual([2, 6, 10]);
    expect(tensors.get("scalar")!.shape).toEqual([]);
    expect(float32s(tensors.get("scalar")!)).toEqual([7]);
  });

  it("takes sizes and offsets from zip64 extra fields and skips the 64-byte alignment padding", () => {
    const bytes = readFixture("zip64_step7.pt");
    const entries = zipDirectory(bytes);
    expect(entries.map((e) => e.name)).toEqual([
      "step_7/data.pkl", "step_7/byteorder", "step_7/data/0", "step_7/data/1", "step_7/data/2", "step_7/data/3", "step_7/version",
    ]);
    const grid = entries.find((e) => e.name === "step_7/data/3")!;
    expect(grid).toMatchObject({ method: 0, compressedSize: 48, uncompressedSize: 48 });
    expect(dataOffset(bytes, grid) % 64).toBe(0);
    expect(new TextDecoder().decode(zipEntry(bytes, entries[1]!))).toBe("little");
  });

  it("reads a protocol 4 pickle from deflated entries in folder archive/", () => {
    const bytes = readFixture("protocol4_deflate.pt");
    expect(zipDirectory(bytes).every((e) => e.method === 8)).toBe(true);
    const tensors = readTensors(bytes);
    expect([...tensors.keys()]).toEqual(["weight", "bias"]);
    expect(tensors.get("weight")).toMatchObject({ dtype: "F32", shape: [2, 2] });
    expect(float32s(tensors.get("weight")!)).toEqual([0.5, -1, 2, 4]);
    expect(float32s(tensors.get("bias")!)).toEqual([3, -3]);
  });
});

describe("rejected checkpoints", () => {
  it("rejects a zip cut short at any point", () => {
    const golden = readGolden("att_rope");
    for (const length of [0, 21, 1000, golden.length >> 1, golden.length - 22, golden.length - 1]) {
      expectTrmError(() => readTensors(golden.subarray(0, length)), "bad_zip", /too short to be a zip|no end-of-central-directory record found/);
    }
  });

  it("rejects a zip whose middle is missing but whose directory records survive", () => {
    const golden = readGolden("att_rope");
    const tail = golden.subarray(golden.length - 98); // zip64 record + locator + EOCD
    for (const cut of [5000, 300_000]) {
      expectTrmError(
        () => readTensors(concat(golden.subarray(0, cut), tail)),
        "bad_zip",
        /zip64 end-of-central-directory record at offset 540361 \(56 bytes\) lies outside the \d+-byte file/,
      );
    }
  });

  it("rejects a storage whose bytes do not match the CRC32", () => {
    const bytes = readGolden("att_rope").slice();
    bytes[dataOffset(bytes, entryNamed(bytes, "checkpoint/data/5")) + 3]! ^= 0x40;
    expectTrmError(() => readTensors(bytes), "bad_zip", /entry "checkpoint\/data\/5" is corrupt: CRC32 is 0x[0-9a-f]{8}, expected 0x[0-9a-f]{8}/);
  });

  it("rejects corrupt deflate data", () => {
    const bytes = readFixture("protocol4_deflate.pt").slice();
    bytes[dataOffset(bytes, entryNamed(bytes, "archive/data.pkl")) + 10]! ^= 0xff;
    expectTrmError(() => readTensors(bytes), "bad_zip", /entry "archive\/data.pkl" (is corrupt|: deflate data is corrupt)/);
  });

  it("rejects an unsupported compression method", () => {
    const bytes = readFixture("protocol4_deflate.pt").slice();
    const firstCentralHeader = Buffer.from(bytes).indexOf("PK\x01\x02", 0, "latin1");
    new DataView(bytes.buffer).setUint16(firstCentralHeader + 10, 12, true); // method 12 is bzip2
    expectTrmError(() => readTensors(bytes), "bad_zip", 'entry "archive/data.pkl" uses compression method 12');
  });

  it("rejects a classic EOCD that defers to missing zip64 records", () => {
    const bytes = readFixture("no_data_pkl.pt").slice();
    new DataView(bytes.buffer).setUint32(bytes.length - 22 + 16, 0xffffffff, true);
    expectTrmError(() => zipDirectory(bytes), "bad_zip", "no zip64 locator precedes it");
  });

  it("rejects a pickle opcode outside the state-dict vocabulary", () => {
    expectTrmError(() => readTensors(readFixture("bad_opcode.pt")), "bad_pickle", "pickle SHORT_BINBYTES (0x43) at byte 41: opcode is not allowed");
  });

  it("rejects os.system before anything could call it", () => {
    expectTrmError(() => readTensors(readFixture("forbidden_global.pt")), "bad_pickle", "pickle GLOBAL (0x63) at byte 43: global os.system is not allowed");
  });

  it("rejects a zip without data.pkl", () => {
    expectTrmError(() => readTensors(readFixture("no_data_pkl.pt")), "bad_checkpoint", 'no data.pkl entry in the zip, so it is not a torch.save checkpoint (entries: "bad/byteorder"');
  });

  it("rejects a zip with two data.pkl", () => {
    expectTrmError(() => readTensors(readFixture("two_data_pkl.pt")), "bad_checkpoint", 'found 2 data.pkl entries ("a/data.pkl", "b/data.pkl"); expected exactly one');
  });

  it("rejects a missing storage entry", () => {
    expectTrmError(() => readTensors(readFixture("missing_storage.pt")), "bad_checkpoint", 'state dict entry "b" references storage "1", but the zip has no entry "bad/data/1"');
  });

  it("rejects a tensor that reaches past its storage", () => {
    expectTrmError(
      () => readTensors(readFixture("extent_exceeds.pt")),
      "bad_checkpoint",
      'state dict entry "w" (shape [2, 2], stride [2, 1], offset 8) reaches element 11 but its storage "0" has only 10 elements',
    );
  });

  it("rejects a storage whose byte length disagrees with its numel", () => {
    expectTrmError(() => readTensors(readFixture("storage_size_mismatch.pt")), "bad_checkpoint", 'storage "bad/data/0" is 12 bytes, expected 16 (4 × 4-byte float32)');
  });

  it("rejects a state dict value that is not a tensor", () => {
    expectTrmError(() => readTensors(readFixture("non_tensor.pt")), "bad_checkpoint", 'state dict entry "step" is a number, not a tensor');
  });

  it("rejects integer tensors", () => {
    expectTrmError(() => readTensors(readFixture("int64_tensor.pt")), "bad_checkpoint", 'state dict entry "ids" has dtype int64 (torch.LongStorage)');
  });

  it("rejects big-endian checkpoints", () => {
    expectTrmError(() => readTensors(readFixture("big_endian.pt")), "bad_checkpoint", 'checkpoint byte order is "big"');
  });
});

describe("restricted unpickler", () => {
  it("never calls a forbidden global", () => {
    const sentinel = join(tmpdir(), `trm-pickle-sentinel-${process.pid}`);
    const stream = pickleOf(`${EMPTY_ORDERED_DICT}(${binUnicode("evil")}cos\nsystem\n${binUnicode(`touch ${sentinel}`)}\x85Ru.`);
    expectTrmError(() => unpickleTorch(stream), "bad_pickle", "GLOBAL (0x63) at byte 39: global os.system is not allowed");
    expect(existsSync(sentinel)).toBe(false);
  });

  it("rejects builtins.eval reached through STACK_GLOBAL", () => {
    const stream = pickleOf("\x80\x04\x8c\x08builtins\x8c\x04eval\x93\x8c\x041+1\x85R.");
    expectTrmError(() => unpickleTorch(stream), "bad_pickle", "pickle STACK_GLOBAL (0x93) at byte 18: global builtins.eval is not allowed");
  });

  it("refuses to call a storage class", () => {
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x02ctorch\nFloatStorage\n)R.")), "bad_pickle", "REDUCE (0x52) at byte 23: torch.FloatStorage cannot be called");
  });

  it("accepts only the _metadata attribute on a state dict", () => {
    const stream = pickleOf(`${EMPTY_ORDERED_DICT}}${binUnicode("_forward_hooks")}Nsb.`);
    expectTrmError(() => unpickleTorch(stream), "bad_pickle", 'BUILD (0x62) at byte 51: only the _metadata attribute of a state dict is supported, found string "_forward_hooks"');
  });

  it("names truncation, unknown memo slots, missing STOP and foreign protocols", () => {
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x02X\xff\x00\x00\x00ab")), "bad_pickle", "BINUNICODE (0x58) at byte 2: needs 255 argument bytes but the stream ends after 2");
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x02h\x05.")), "bad_pickle", "BINGET (0x68) at byte 2: memo index 5 was never stored");
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x02}")), "bad_pickle", "at byte 3: stream ended without STOP");
    expectTrmError(() => unpickleTorch(pickleOf("}.")), "bad_pickle", "stream must start with PROTO");
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x01}.")), "bad_pickle", "protocol 1 is not supported");
    expectTrmError(() => unpickleTorch(pickleOf("\x80\x02}.junk")), "bad_pickle", "4 unexpected bytes follow STOP");
  });
});

describe("fuzzing", () => {
  // Deterministic so that a failure can be replayed.
  function mulberry32(seed: number): () => number {
    return () => {
      seed = (seed + 0x6d2b79f5) | 0;
      let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
      t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
      return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    };
  }

  // Half the flips land in the headers, pickle and central directory, where a
  // flip changes structure rather than just failing a storage's CRC.
  function mutate(source: Uint8Array, random: () => number): Uint8Array {
    if (random() < 0.3) return source.slice(0, Math.floor(random() * source.length));
    const bytes = source.slice();
    const flips = 1 + Math.floor(random() * 4);
    for (let i = 0; i < flips; i++) {
      const structural = random() < 0.5;
      const pos = structural
        ? (random() < 0.5 ? Math.floor(random() * Math.min(4096, bytes.length)) : bytes.length - 1 - Math.floor(random() * Math.min(2048, bytes.length)))
        : Math.floor(random() * bytes.length);
      bytes[pos]! ^= 1 + Math.floor(random() * 255);
    }
    return bytes;
  }

  function fuzz(source: Uint8Array, runs: number, seed: number, read: (bytes: Uint8Array) => unknown): Record<string, number> {
    const random = mulberry32(seed);
    const outcomes: Record<string, number> = {};
    for (let run = 0; run < runs; run++) {
      const mutated = mutate(source, random);
      let outcome = "ok";
      try {
        read(mutated);
      } catch (error) {
        if (!(error instanceof TrmError)) throw new Error(`run ${run} (seed ${seed}) threw a non-TrmError: ${String(error)}`);
        outcome = error.code;
      }
      outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
    }
    return outcomes;
  }

  it("only ever succeeds or throws TrmError on a damaged golden checkpoint", () => {
    const outcomes = fuzz(readGolden("att_rope"), 200, 1, readTensors);
    expect(Object.values(outcomes).reduce((a, b) => a + b, 0)).toBe(200);
    expect(outcomes.bad_zip).toBeGreaterThan(0);
  });

  it("only ever succeeds or throws TrmError on a damaged zip64 checkpoint", () => {
    const outcomes = fuzz(readFixture("zip64_step7.pt"), 200, 2, readTensors);
    expect(outcomes.bad_zip).toBeGreaterThan(0);
  });

  it("only ever returns a value or throws TrmError on a damaged pickle stream", () => {
    const golden = readGolden("att_rope");
    const pickle = zipEntry(golden, entryNamed(golden, "checkpoint/data.pkl"));
    const outcomes = fuzz(pickle, 1000, 3, unpickleTorch);
    expect(outcomes.bad_pickle).toBeGreaterThan(0);
  });
});
