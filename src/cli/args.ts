// Command-line argument helpers shared by the trm subcommands.
import { readFile } from "node:fs/promises";
import { TrmError } from "../errors.ts";
import { LINEAR_DTYPES, type LinearDtype } from "../engine/wasm-network.ts";
import { HALT_MODES, type SolveHalt } from "../solver.ts";

/** A mistake in how the command was called: exit code 2, with the whole usage text only when asked. */
export class UsageError extends Error {
  readonly showUsage: boolean;
  constructor(message: string, showUsage = false) {
    super(message);
    this.showUsage = showUsage;
  }
}

/** A text file the user named; a missing or unreadable one is bad input (exit 1) naming it. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch (e) {
    throw new TrmError("unreadable_file", `cannot read ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

export function intOption(v: string | undefined, name: string, min = 1): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v) || Number(v) < min) throw new UsageError(`--${name} must be an integer >= ${min}, got ${JSON.stringify(v)}`);
  return Number(v);
}

/** --linear f32|int8: how the block's linear layers compute (undefined: as the pack says). */
export function linearOption(v: string | undefined): LinearDtype | undefined {
  if (v === undefined || (LINEAR_DTYPES as readonly string[]).includes(v)) return v as LinearDtype | undefined;
  throw new UsageError(`--linear must be ${LINEAR_DTYPES.join(" or ")}, got ${JSON.stringify(v)}`);
}

/** --halt: one of `modes` (run takes the engine's fixed|adaptive, solve also checked). */
export function haltOption<M extends SolveHalt>(v: string | undefined, modes: readonly M[] = HALT_MODES as readonly M[]): M {
  if (v === undefined) return "fixed" as M;
  if ((modes as readonly string[]).includes(v)) return v as M;
  throw new UsageError(`--halt must be ${modes.join(", ")}, got ${JSON.stringify(v)}`);
}

/**
 * Progress as one bar on stderr: redrawn in place on a terminal; elsewhere
 * (a log, a pipe) written once, when the work is done.
 */
export function progressBar(command: string, total: number, unit: string): { update(done: number): void; end(): void } {
  const started = performance.now();
  const tty = process.stderr.isTTY;
  let last = "";
  const render = (done: number) => {
    const width = 30;
    const filled = Math.round((width * done) / total);
    const elapsed = (performance.now() - started) / 1000;
    const eta = done > 0 ? (elapsed * (total - done)) / done : 0;
    return `trm ${command}: [${"#".repeat(filled)}${" ".repeat(width - filled)}] ${done}/${total} ${unit}  ${elapsed.toFixed(1)} s  eta ${eta.toFixed(0)} s`;
  };
  return {
    update(done) {
      last = render(done);
      if (tty) process.stderr.write(`\r${last}`);
    },
    end() {
      process.stderr.write(tty ? "\n" : `${last}\n`);
    },
  };
}
