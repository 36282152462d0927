// Packs and conversion: strict safetensors reading, bf16 packs, safetensors
// state dicts as converter input, config sources.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, test } from "vitest";
import { convert, readStateDict } from "../../src/convert/convert.ts";
import { checkPuzzles } from "../../src/engine/inputs.ts";
import { nodeKernelModule } from "../../src/engine/node.ts";
import { type ModelPack, loadPack, sha256Hex } from "../../src/engine/pack.ts";
import { recurse } from "../../src/engine/recursion.ts";
import { type LinearDtype, WasmNetwork } from "../../src/engine/wasm-network.ts";
import { linearDtypeFor } from "../../src/solver.ts";
import { type RawTensor, encodeSafetensors, float32Bytes, parseSafetensors, toBFloat16, toFloat32 } from "../../src/engine/safetensors.ts";
import { TrmError } from "../../src/errors.ts";
import { REPO, SHARED } from "./helpers.ts";
import { memorySource } from "../../src/convert/byte-source.ts";

const golden = join(SHARED, "golden/att_rope");
const checkpoint = new Uint8Array(readFileSync(join(golden, "checkpoint.pt")));
const configYaml = readFileSync(join(golden, "all_config.yaml"), "utf8");

const convertGolden = (extra: Partial<Parameters<typeof convert>[0]> = {}) =>
  convert({ checkpoint: memorySource(checkpoint), checkpointName: "checkpoint.pt", configYaml, configName: "all_config.yaml", name: "t", converter: "test", ...extra });

function expectTrmError(fn: () => unknown, code: string, message: RegExp) {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(TrmError);
    expect((e as TrmError).code).toBe(code);
    expect((e as TrmError).message).toMatch(message);
    return;
  }
  throw new Error("expected an error");
}

describe("safetensors", () => {
  const a: RawTensor = { dtype: "F32", shape: [2, 3], data: float32Bytes(Float32Array.from([1, 2, 3, 4, 5, 6])) };
  const b: RawTensor = { dtype: "BF16", shape: [2], data: toBFloat16(Float32Array.from([1.5, -2])) };
  const file = encodeSafetensors([["a", a], ["b", b]], { note: "x" });
  const headerLen = Number(new DataView(file.buffer).getBigUint64(0, true));
  const withHeader = (header: object, dataBytes = file.byteLength - 8 - headerLen) => {
    const json = new TextEncoder().encode(JSON.stringify(header));
    const out = new Uint8Array(8 + json.byteLength + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(json.byteLength), true);
    out.set(json, 8);
    return out;
  };

  test("round trip, aligned data", () => {
    expect((8 + headerLen) % 8).toBe(0);
    const { tensors, metadata } = parseSafetensors(file);
    expect(metadata).toEqual({ note: "x" });
    expect(Array.from(toFloat32(tensors.get("a")!))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Array.from(toFloat32(tensors.get("b")!))).toEqual([1.5, -2]);
  });

  test("refuses inconsistent files", () => {
    expectTrmError(() => parseSafetensors(file.subarray(0, 5)), "bad_safetensors", /shorter than the 8-byte header/);
    expectTrmError(() => parseSafetensors(file.subarray(0, file.length - 2)), "bad_safetensors", /run past the data|truncated/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] }, b: { dtype: "BF16", shape: [2], data_offsets: [20, 24] } }, 28)), "bad_safetensors", /overlap/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "F32", shape: [2, 3], data_offsets: [0, 24] } }, 28)), "bad_safetensors", /trailing bytes/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "F32", shape: [2, 3], data_offsets: [4, 28] } }, 28)), "bad_safetensors", /hole/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "F32", shape: [2, 2], data_offsets: [0, 24] } }, 24)), "bad_safetensors", /24 bytes for shape \[2,2\] of F32, expected 16/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "I64", shape: [3], data_offsets: [0, 24] } }, 24)), "bad_safetensors", /unsupported dtype "I64"/);
    expectTrmError(() => parseSafetensors(withHeader({ a: { dtype: "F32", shape: [-1], data_offsets: [0, 4] } }, 4)), "bad_safetensors", /non-negative integers/);
    const huge = new Uint8Array(file);
    new DataView(huge.buffer).setBigUint64(0, 1n << 40n, true);
    expectTrmError(() => parseSafetensors(huge), "bad_safetensors", /exceeds the file/);
    const garbled = new Uint8Array(file);
    garbled[9] = 0xff;
    expectTrmError(() => parseSafetensors(garbled), "bad_safetensors", /not valid UTF-8 JSON/);
  });

  test("bf16 rounds to nearest even", () => {
    const bits = (x: number) => new DataView(toBFloat16(Float32Array.of(x)).buffer).getUint16(0, true);
    expect(bits(1)).toBe(0x3f80);
    expect(bits(1 + 2 ** -8)).toBe(0x3f80); // halfway, rounds to even
    expect(bits(1 + 3 * 2 ** -8)).toBe(0x3f82); // halfway, rounds to even (up)
    expect(bits(Infinity)).toBe(0x7f80);
    expect(bits(NaN) & 0x7fc0).toBe(0x7fc0);
  });
});

describe("convert", () => {
  test("a bf16 pack holds the f32 weights rounded to bf16, and runs", async () => {
    const f32 = await convertGolden();
    const bf16 = await convertGolden({ dtype: "bf16" });
    expect(bf16.manifest.weights.dtype).toBe("bf16");
    expect(bf16.safetensors.byteLength).toBeLessThan(f32.safetensors.byteLength * 0.51);
    const full = await loadPack(f32.manifest, f32.safetensors);
    const half = await loadPack(bf16.manifest, bf16.safetensors);
    const rounded = toFloat32({ dtype: "BF16", shape: [full.weights.lmHead.length], data: toBFloat16(full.weights.lmHead) });
    expect(Array.from(half.weights.lmHead)).toEqual(Array.from(rounded));
    // a pack whose manifest claims another dtype is refused
    await expect(loadPack({ ...bf16.manifest, weights: { ...bf16.manifest.weights, dtype: "f32" } }, bf16.safetensors)).rejects.toThrow(/is BF16, model.json says f32/);
  });

  test("an int8 pack: the blocks' linear weights in int8 with a scale per output channel, loaded dequantised, run in int8", async () => {
    const f32 = await convertGolden();
    const int8 = await convertGolden({ dtype: "int8" });
    expect(int8.manifest.weights.dtype).toBe("int8");
    expect(int8.safetensors.byteLength).toBeLessThan(f32.safetensors.byteLength * 0.5);
    const { tensors } = parseSafetensors(int8.safetensors);
    const down = "inner.L_level.layers.0.mlp.down_proj.weight";
    const [rows, cols] = tensors.get(down)!.shape;
    expect(tensors.get(down)!.dtype).toBe("I8");
    expect(tensors.get(`${down}_scale`)).toMatchObject({ dtype: "F32", shape: [rows] });
    expect(tensors.get("inner.L_level.layers.0.self_attn.qkv_proj.weight")!.dtype).toBe("I8");
    expect(tensors.get("inner.lm_head.weight")!.dtype).toBe("F32");

    const full = await loadPack(f32.manifest, f32.safetensors);
    const quant = await loadPack(int8.manifest, int8.safetensors);
    expect(Array.from(quant.weights.lmHead)).toEqual(Array.from(full.weights.lmHead));
    const scale = toFloat32(tensors.get(`${down}_scale`)!);
    const [w, wq] = [full.weights.layers[0].down, quant.weights.layers[0].down];
    for (let i = 0; i < w.length; i++) expect(Math.abs(wq[i] - w[i])).toBeLessThanOrEqual(scale[Math.floor(i / cols)] * 0.5 * (1 + 1e-6));

    // The kernels quantise the dequantised weights back to the stored integers:
    // the int8 pack computes what the f32 pack does with --linear int8.
    const expected = JSON.parse(readFileSync(join(golden, "expected.json"), "utf8"));
    const lastStep = (pack: ModelPack, linear?: LinearDtype) => {
      const net = new WasmNetwork(nodeKernelModule(), pack.config, pack.weights, linearDtypeFor(pack.manifest, linear));
      return { dtype: net.linearDtype, step: [...recurse(net, checkPuzzles(pack.config, expected.inputs, expected.puzzle_identifiers), 2, "fixed")].at(-1)! };
    };
    const fromPack = lastStep(quant);
    const fromFlag = lastStep(full, "int8");
    expect(fromPack.dtype).toBe("int8");
    expect(lastStep(full).dtype).toBe("f32");
    fromPack.step.sequences.forEach((s, b) => {
      const t = fromFlag.step.sequences[b];
      expect(Array.from(s.preds)).toEqual(Array.from(t.preds));
      s.logits.forEach((x, i) => expect(Math.abs(x - t.logits[i])).toBeLessThan(1e-4 * (1 + Math.abs(x))));
    });

    // refused: a manifest that says f32 for it, and a weight without its scale
    await expect(loadPack({ ...int8.manifest, weights: { ...int8.manifest.weights, dtype: "f32" } }, int8.safetensors)).rejects.toThrow(/is I8, model.json says f32/);
    const unscaled = encodeSafetensors([...tensors].filter(([name]) => name !== `${down}_scale`));
    const manifest = { ...int8.manifest, weights: { ...int8.manifest.weights, bytes: unscaled.byteLength, sha256: await sha256Hex(unscaled) } };
    await expect(loadPack(manifest, unscaled)).rejects.toThrow(/down_proj.weight needs .*down_proj.weight_scale: F32 of shape/);
  });

  test("a safetensors state dict converts to the same pack as the torch checkpoint", async () => {
    const fromTorch = await convertGolden();
    const tensors = [...readStateDict(memorySource(checkpoint)).tensors].map(([name, t]): [string, RawTensor] => [`_orig_mod.model.${name}`, t]);
    const fromSafetensors = await convertGolden({ checkpoint: memorySource(encodeSafetensors(tensors)) });
    expect(fromSafetensors.manifest.weights.sha256).toBe(fromTorch.manifest.weights.sha256);
    expect(fromSafetensors.manifest.provenance.source_format).toBe("safetensors");
  });

  test("bf16 H_init/L_init of an official bf16 run load exactly", async () => {
    const dir = join(REPO, "test/fixtures/parity/bf16_rope");
    const c = await convert({
      checkpoint: memorySource(new Uint8Array(readFileSync(join(dir, "checkpoint.pt")))), checkpointName: "checkpoint.pt",
      configYaml: readFileSync(join(dir, "all_config.yaml"), "utf8"), configName: "all_config.yaml",
      datasetJson: readFileSync(join(dir, "dataset.json"), "utf8"), datasetName: "dataset.json", name: "bf16", converter: "test",
    });
    expect(c.manifest.provenance.source_dtypes).toEqual({ BF16: 2, F32: 13 });
    expect(c.manifest.arch.forward_dtype).toBe("bfloat16");
    const raw = readStateDict(memorySource(new Uint8Array(readFileSync(join(dir, "checkpoint.pt"))))).tensors.get("inner.H_init")!;
    expect(raw.dtype).toBe("BF16");
    const pack = await loadPack(c.manifest, c.safetensors);
    expect(Array.from(pack.weights.HInit)).toEqual(Array.from(toFloat32(raw)));
  });

  test("config interpolation, defaults and the model name check", async () => {
    const interpolated = await convertGolden({ configYaml: configYaml.replace("puzzle_emb_ndim: 64", "puzzle_emb_ndim: ${.hidden_size}") });
    expect(interpolated.manifest.arch.puzzle_emb_ndim).toBe(64);
    await expect(convertGolden({ configYaml: configYaml.replace("recursive_reasoning.trm@", "recursive_reasoning.hrm@") })).rejects.toThrow(/only recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1/);
    await expect(convertGolden({ configYaml: "arch: [" })).rejects.toThrow(/not valid YAML/);
    await expect(convertGolden({ configYaml: configYaml.replace(/^ {2}H_cycles: 3\n/m, "") })).rejects.toThrow(/arch is missing H_cycles/);
    await expect(convertGolden({ configYaml: configYaml.replace("pos_encodings: rope", "pos_encodings: alibi") })).rejects.toThrow(/pos_encodings must be rope, learned or none/);
    await expect(convertGolden({ datasetJson: JSON.stringify({ seq_len: 40 }), datasetName: "dataset.json" })).rejects.toThrow(/seq_len is 40 according to dataset.json but 36 according to all_config.yaml/);
  });
});
