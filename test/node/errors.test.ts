// Bad input through the CLI: every case exits non-zero with an error that
// names the problem, prints nothing on stdout and leaves no partial output.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { beforeAll, describe, expect, test } from "vitest";
import { REPO, SHARED, trm } from "./helpers.ts";

const work = mkdtempSync(join(tmpdir(), "trm-errors-"));
const golden = join(SHARED, "golden/att_rope");
const checkpoint = readFileSync(join(golden, "checkpoint.pt"));
const config = readFileSync(join(golden, "all_config.yaml"), "utf8");
const pack = join(work, "pack");

async function expectConvertError(file: Uint8Array | string, args: string[], code: string, message: RegExp) {
  const out = join(work, `out-${Math.random().toString(36).slice(2)}`);
  const path = typeof file === "string" ? file : join(work, `ckpt-${Math.random().toString(36).slice(2)}.pt`);
  if (typeof file !== "string") writeFileSync(path, file);
  const r = await trm(["convert", path, "--config", join(golden, "all_config.yaml"), ...args, "--out", out]);
  expect(r.code, r.stderr).toBe(1);
  expect(r.stderr).toContain(`(${code})`);
  expect(r.stderr).toMatch(message);
  expect(existsSync(out)).toBe(false);
}

describe("trm convert refuses bad checkpoints", () => {
  test("truncated zip", async () => {
    for (const cut of [100, checkpoint.length / 2, checkpoint.length - 30]) {
      await expectConvertError(checkpoint.subarray(0, Math.floor(cut)), [], "bad_zip", /end of central directory|truncated|past the end/i);
    }
  });

  test("corrupt storage bytes (CRC mismatch)", async () => {
    const bad = new Uint8Array(checkpoint);
    bad[20_000] ^= 0xff;
    await expectConvertError(bad, [], "bad_zip", /crc/i);
  });

  test("pickle with an unexpected opcode", async () => {
    await expectConvertError(join(REPO, "test/fixtures/checkpoints/bad_opcode.pt"), [], "bad_pickle", /opcode/i);
  });

  test("pickle with a forbidden global", async () => {
    await expectConvertError(join(REPO, "test/fixtures/checkpoints/forbidden_global.pt"), [], "bad_pickle", /os.system is not allowed/);
  });

  test("a shape that contradicts the config", async () => {
    const cfg = join(work, "expansion8.yaml");
    writeFileSync(cfg, config.replace("expansion: 4", "expansion: 8"));
    const out = join(work, "out-shape");
    const r = await trm(["convert", join(golden, "checkpoint.pt"), "--config", cfg, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/\(bad_weights\): tensor inner\.L_level\.layers\.0\.mlp\.gate_up_proj\.weight has shape \[512,64\], the config needs \[1024,64\]/);
    expect(existsSync(out)).toBe(false);
  });

  test("a flag that contradicts the tensors", async () => {
    await expectConvertError(checkpoint, ["--vocab-size", "13"], "bad_convert", /vocab_size is 13 according to --vocab-size but 12 according to /);
  });

  test("seq_len that nothing determines", async () => {
    const cfg = join(work, "no-dataset.yaml");
    writeFileSync(cfg, config.replace(/golden_added:[\s\S]*?(?=^load_checkpoint)/m, ""));
    const out = join(work, "out-noseq");
    const r = await trm(["convert", join(golden, "checkpoint.pt"), "--config", cfg, "--out", out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot determine seq_len: pass --seq-len or --dataset/);
    const ok = await trm(["convert", join(golden, "checkpoint.pt"), "--config", cfg, "--seq-len", "36", "--out", out]);
    expect(ok.code, ok.stderr).toBe(0);
  });
});

describe("trm run refuses bad inputs and packs", () => {
  beforeAll(async () => {
    const r = await trm(["convert", join(golden, "checkpoint.pt"), "--config", join(golden, "all_config.yaml"), "--out", pack]);
    expect(r.code, r.stderr).toBe(0);
  });

  const good = () => Array.from({ length: 36 }, (_, i) => i % 12);

  async function expectRunError(input: unknown, code: string, message: RegExp, model = pack) {
    const file = join(work, `in-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(file, typeof input === "string" ? input : JSON.stringify(input));
    const r = await trm(["run", "--model", model, "--input", file, "--quiet"]);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toBe("");
    expect(r.stderr).toContain(`(${code})`);
    expect(r.stderr).toMatch(message);
  }

  test("tokens outside the vocabulary", async () => {
    const seq = good();
    seq[7] = 12;
    await expectRunError({ inputs: [good(), seq], puzzle_identifiers: [0, 1] }, "token_out_of_vocab", /inputs\[1\]\[7\] = 12 is not a token id in \[0, 12\)/);
    await expectRunError({ inputs: [[...good().slice(1), -1]], puzzle_identifiers: [0] }, "token_out_of_vocab", /inputs\[0\]\[35\] = -1/);
    await expectRunError({ inputs: [[...good().slice(1), 1.5]], puzzle_identifiers: [0] }, "token_out_of_vocab", /= 1.5/);
  });

  test("a wrong sequence length", async () => {
    await expectRunError({ inputs: [good().slice(1)], puzzle_identifiers: [0] }, "bad_sequence_length", /inputs\[0\] has 35 tokens, the model needs 36/);
  });

  test("a puzzle id out of range", async () => {
    await expectRunError({ inputs: [good()], puzzle_identifiers: [10] }, "puzzle_id_out_of_range", /puzzle_identifiers\[0\] = 10 is not in \[0, 10\)/);
    await expectRunError({ inputs: [good(), good()], puzzle_identifiers: [0] }, "bad_puzzle_identifiers", /one id per input/);
  });

  test("--linear: an unknown dtype, or with the reference engine", async () => {
    const file = join(work, "linear.json");
    writeFileSync(file, JSON.stringify({ inputs: [good()], puzzle_identifiers: [0] }));
    const unknown = await trm(["run", "--model", pack, "--input", file, "--quiet", "--linear", "int4"]);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/--linear must be f32 or int8, got "int4"/);
    const reference = await trm(["run", "--model", pack, "--input", file, "--quiet", "--linear", "int8", "--engine", "reference"]);
    expect(reference.code).toBe(2);
    expect(reference.stderr).toMatch(/--linear applies to --engine wasm/);
  });

  test("malformed input JSON", async () => {
    await expectRunError("{not json", "bad_input_json", /not valid JSON/);
    await expectRunError({ inputs: [] }, "bad_inputs", /non-empty array/);
  });

  test("a corrupt or truncated pack", async () => {
    const broken = join(work, "broken-pack");
    const weights = readFileSync(join(pack, "model.safetensors"));
    const manifest = JSON.parse(readFileSync(join(pack, "model.json"), "utf8"));
    const writePack = (bytes: Uint8Array, m = manifest) => {
      mkdirSync(broken, { recursive: true });
      writeFileSync(join(broken, "model.safetensors"), bytes);
      writeFileSync(join(broken, "model.json"), JSON.stringify(m));
    };
    const input = { inputs: [good()], puzzle_identifiers: [0] };

    writePack(weights.subarray(0, weights.length - 100));
    await expectRunError(input, "bad_pack", /truncated or wrong file/, broken);

    const flipped = new Uint8Array(weights);
    flipped[flipped.length - 5] ^= 1;
    writePack(flipped);
    await expectRunError(input, "bad_pack", /sha256 .* does not match/, broken);

    // A consistent checksum over a header that lies about a shape.
    const text = new TextDecoder().decode(weights.subarray(8, 8 + Number(new DataView(weights.buffer, weights.byteOffset).getBigUint64(0, true))));
    const lying = text.replace('"inner.q_head.bias":{"dtype":"F32","shape":[2]', '"inner.q_head.bias":{"dtype":"F32","shape":[3]');
    expect(lying).not.toBe(text);
    const bytes = new Uint8Array(weights);
    bytes.set(new TextEncoder().encode(lying), 8);
    const { createHash } = await import("node:crypto");
    writePack(bytes, { ...manifest, weights: { ...manifest.weights, sha256: createHash("sha256").update(bytes).digest("hex") } });
    await expectRunError(input, "bad_safetensors", /q_head.bias: 8 bytes for shape \[3\]/, broken);
  });

  test("a missing pack names the directory", async () => {
    await expectRunError({ inputs: [good()] }, "model_not_found", /no model.json in .*nowhere/, join(work, "nowhere"));
  });
});
