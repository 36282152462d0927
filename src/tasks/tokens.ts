// Raw tokens: a puzzle is an array of token ids, or
// {"tokens": [...], "puzzle_identifier": n}; the answer is the predicted tokens.
import { TrmError } from "../errors.ts";
import { checkPuzzle } from "../engine/inputs.ts";
import type { TaskCodec } from "./codec.ts";

export const tokens: TaskCodec<null> = {
  name: "tokens",
  encode(puzzle, config) {
    const p = puzzle as { tokens?: unknown; puzzle_identifier?: unknown };
    const seq = Array.isArray(puzzle) ? puzzle : p?.tokens;
    if (!Array.isArray(seq)) throw new TrmError("bad_puzzle", 'a tokens puzzle is an array of token ids or {"tokens": [...], "puzzle_identifier": n}', 422);
    const id = Array.isArray(puzzle) ? 0 : (p.puzzle_identifier ?? 0);
    return { sequences: [checkPuzzle(config, seq, id, { tokens: "tokens", id: "puzzle_identifier" }, 422)], context: null };
  },
  decode([out]) {
    return { solution: Array.from(out.preds) };
  },
};
