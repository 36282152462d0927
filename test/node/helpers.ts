// Shared test plumbing: where things are, running the CLI, parity cases.
import { spawn } from "node:child_process";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";

export const REPO = resolve(import.meta.dirname, "../..");
export const SHARED = process.env.TRM_SHARED ?? resolve(REPO, "../shared");
const CLI = join(REPO, "bin/trm.js");

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `trm <args>` in a child process (the way users and other tools call it). */
export function trm(args: string[]): Promise<CliResult> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", fail);
    child.on("close", (code) => done({ code, stdout, stderr }));
  });
}

export interface ParityCase {
  name: string;
  dir: string; // checkpoint.pt, all_config.yaml, expected.json [, dataset.json]
}

/** The shared golden cases (official code) and the extra ones in test/fixtures/parity. */
export function parityCases(): ParityCase[] {
  const roots = [join(SHARED, "golden"), join(REPO, "test/fixtures/parity")];
  return roots.flatMap((root) => {
    if (!existsSync(root)) throw new Error(`parity cases missing: ${root} (set TRM_SHARED to the shared folder)`);
    return readdirSync(root, { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(root, e.name, "expected.json")))
      .map((e) => ({ name: e.name, dir: join(root, e.name) }));
  });
}

export interface ExpectedStep {
  step: number;
  q_halt_logits: number[];
  q_continue_logits: number[];
  preds: number[][];
  halted: boolean[];
  logits?: number[][][];
}

export interface Expected {
  inputs: number[][];
  puzzle_identifiers: number[];
  steps: ExpectedStep[];
}

export function readExpected(c: ParityCase): Expected {
  return JSON.parse(readFileSync(join(c.dir, "expected.json"), "utf8"));
}

export interface Agreement {
  predMismatches: number;
  haltSignMismatches: number;
  continueSignMismatches: number;
  haltRuleMismatches: number; // q_halt > q_continue (HRM's halting rule, and TRM's with the continue loss)
  haltedMismatches: number;
  maxLogitDiff: number;
  maxQDiff: number;
  stepsCompared: number;
}

/** Compares `got` steps with the expected ones (only steps present in both). */
export function compareSteps(expected: ExpectedStep[], got: ExpectedStep[]): Agreement {
  const a: Agreement = {
    predMismatches: 0, haltSignMismatches: 0, continueSignMismatches: 0, haltRuleMismatches: 0, haltedMismatches: 0, maxLogitDiff: 0, maxQDiff: 0, stepsCompared: 0,
  };
  for (const g of got) {
    const e = expected.find((s) => s.step === g.step);
    if (!e) continue;
    a.stepsCompared++;
    e.q_halt_logits.forEach((q, b) => {
      const qc = e.q_continue_logits[b];
      if (q > 0 !== g.q_halt_logits[b] > 0) a.haltSignMismatches++;
      if (qc > 0 !== g.q_continue_logits[b] > 0) a.continueSignMismatches++;
      if (q > qc !== g.q_halt_logits[b] > g.q_continue_logits[b]) a.haltRuleMismatches++;
      a.maxQDiff = Math.max(a.maxQDiff, Math.abs(q - g.q_halt_logits[b]), Math.abs(e.q_continue_logits[b] - g.q_continue_logits[b]));
      if (e.halted[b] !== g.halted[b]) a.haltedMismatches++;
    });
    e.preds.forEach((row, b) => row.forEach((p, i) => (a.predMismatches += p === g.preds[b][i] ? 0 : 1)));
    if (e.logits && g.logits) {
      e.logits.forEach((seq, b) => seq.forEach((row, i) => row.forEach((v, j) => (a.maxLogitDiff = Math.max(a.maxLogitDiff, Math.abs(v - g.logits![b][i][j]))))));
    }
  }
  return a;
}
