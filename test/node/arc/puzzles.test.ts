// `trm convert --identifiers ... --puzzles test_puzzles.json`: the builder's
// puzzles file ships in the pack byte for byte, declared in model.json
// (puzzle_table.puzzles_file + puzzles_sha256) so that the Worker can show a
// task's demonstrations; a file it could not serve is refused up front. The
// shipped arc-parity pack declares its file exactly as the converter does.
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { REPO, SHARED, trm } from "../helpers.ts";

const ARC = join(SHARED, "golden/arc");
const tmp = mkdtempSync(join(tmpdir(), "trm-arc-puzzles-"));
const convert = (out: string, ...extra: string[]) =>
  trm(["convert", join(ARC, "model/checkpoint.pt"), "--config", join(ARC, "model/all_config.yaml"), "--dataset", join(ARC, "data/test/dataset.json"), ...extra, "--out", join(tmp, out)]);
const identifiers = ["--identifiers", join(ARC, "data/identifiers.json")];

describe("trm convert --puzzles", () => {
  it("ships test_puzzles.json in the pack and declares it in model.json, as weights/arc-parity does", async () => {
    const source = join(ARC, "data/test_puzzles.json");
    const r = await convert("pack", ...identifiers, "--puzzles", source);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/puzzles: 6 tasks with demonstrations and test inputs \(.*test_puzzles\.json\), 6 of them in the task index/);
    expect(readFileSync(join(tmp, "pack/test_puzzles.json"))).toEqual(readFileSync(source));
    const table = JSON.parse(readFileSync(join(tmp, "pack/model.json"), "utf8")).puzzle_table;
    expect(table).toMatchObject({ puzzles_file: "test_puzzles.json", puzzles_sha256: createHash("sha256").update(readFileSync(source)).digest("hex") });
    const shipped = JSON.parse(readFileSync(join(REPO, "weights/arc-parity/model.json"), "utf8")).puzzle_table;
    expect(shipped).toEqual(table);
  });

  it("is optional, needs --identifiers, and refuses a file with a grid the Worker could not show", async () => {
    const plain = await convert("plain", ...identifiers);
    expect(plain.code, plain.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(tmp, "plain/model.json"), "utf8")).puzzle_table.puzzles_file).toBeUndefined();
    expect(existsSync(join(tmp, "plain/test_puzzles.json"))).toBe(false);

    const bad = join(tmp, "bad.json");
    writeFileSync(bad, JSON.stringify({ "1a2e2828": { train: [{ input: [[1]], output: [[1, 10]] }], test: [{ input: [[1]] }] } }));
    const refused = await convert("refused", ...identifiers, "--puzzles", bad);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/1a2e2828\.train\[0\]\.output/);
    expect(existsSync(join(tmp, "refused"))).toBe(false); // nothing written

    const alone = await convert("alone", "--task", "tokens", "--puzzles", join(ARC, "data/test_puzzles.json"));
    expect(alone.code).toBe(1);
    expect(alone.stderr).toMatch(/--puzzles .* needs --identifiers/);
  });
});
