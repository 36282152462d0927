// Command-line argument helpers shared by the trm subcommands.
import { readFile } from "node:fs/promises";
import type { HaltMode } from "../engine/recursion.ts";
import { LINEAR_DTYPES, type LinearDtype } from "../engine/wasm-network.ts";

/** A mistake in how the command was called: printed with the usage text, exit code 2. */
export class UsageError extends Error {}

/** A text file the user named; a missing or unreadable one is a usage mistake naming it. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await readFile(path, "utf8");
  } catch {
    throw new UsageError(`cannot read ${what} ${path}`);
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

export function haltOption(v: string | undefined): HaltMode {
  if (v === undefined || v === "fixed" || v === "adaptive") return v ?? "fixed";
  throw new UsageError(`--halt must be fixed or adaptive, got ${JSON.stringify(v)}`);
}
