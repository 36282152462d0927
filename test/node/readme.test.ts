// The README's API examples, run as written against the real Worker (wrangler's
// local harness, its R2 seeded with the shipped packs as `npm start` does),
// only with its address in place of 127.0.0.1:8787: every curl command, the
// JavaScript (this Node) and the Python (python3, standard library) example.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, test } from "vitest";
import { createTestHarness } from "wrangler";
import { type PutBucket, seedShippedPacks } from "../../scripts/seed-packs.ts";
import { REPO } from "./helpers.ts";

const run = promisify(execFile);
const README = readFileSync(join(REPO, "README.md"), "utf8");
const README_ADDRESS = "http://127.0.0.1:8787";

/** The first fenced block of `lang` after the line that starts with `after`. */
function block(lang: string, after: string): string {
  const from = README.indexOf(`\n${after}`);
  expect(from, `README line starting "${after}"`).toBeGreaterThan(0);
  const m = new RegExp("```" + lang + "\\n([\\s\\S]*?)```").exec(README.slice(from));
  expect(m, `a ${lang} block after "${after}"`).not.toBeNull();
  return m![1];
}

describe("the README's API examples", () => {
  const harness = createTestHarness({ workers: [{ configPath: join(REPO, "wrangler.toml") }] });
  let base = "";
  const here = (code: string) => code.replaceAll(README_ADDRESS, base);

  beforeAll(async () => {
    base = (await harness.listen()).url.origin;
    const env = (await harness.getWorker().getEnv()) as { MODELS: PutBucket };
    await seedShippedPacks(env.MODELS);
  }, 120_000);
  afterAll(() => harness.close());

  test("every curl command answers 200 with JSON", async () => {
    const commands = block("sh", "`HEAD` answers like")
      .replace(/\\\n\s*/g, "") // continuation lines
      .split("\n")
      .filter((line) => line.startsWith("curl "));
    expect(commands.length).toBeGreaterThanOrEqual(5);
    for (const command of commands) {
      const { stdout } = await run("bash", ["-c", `${here(command)} -w '\\n%{http_code}'`]);
      const status = stdout.slice(stdout.lastIndexOf("\n") + 1);
      expect(status, command).toBe("200");
      const body = JSON.parse(stdout.slice(0, stdout.lastIndexOf("\n")));
      expect(body.error, command).toBeUndefined();
    }
  }, 120_000);

  // Project Euler grid 01, as in the examples: the shipped model solves it.
  const printed = /^(\d{81}) (true|True) (\d+)\s*$/;

  test("JavaScript (fetch) prints the solution, solved and steps", async () => {
    const { stdout } = await run(process.execPath, ["--input-type=module", "-e", here(block("js", "The same from JavaScript"))]);
    const [, solution, solved, steps] = printed.exec(stdout) ?? [];
    expect([solution?.length, solved, Number(steps) > 0], stdout).toEqual([81, "true", true]);
  }, 60_000);

  test("Python (urllib) prints the same", async () => {
    const { stdout } = await run("python3", ["-c", here(block("python", "The same from JavaScript"))]);
    const [, solution, solved] = printed.exec(stdout) ?? [];
    expect([solution?.length, solved], stdout).toEqual([81, "True"]);
  }, 60_000);
});
