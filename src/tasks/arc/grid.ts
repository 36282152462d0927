// ARC grids and their token encoding, as the official dataset/build_arc_dataset.py
// writes them and evaluators/arc.py reads them back:
//   a grid of colours 0..9, 1..30 rows by 1..30 columns, sits at the top-left
//   of a 30x30 canvas; colour c is token c + 2, PAD is 0, and EOS (1) runs
//   along the row under the grid and the column right of it (each only as
//   long as the grid, and only where it fits inside 30).
import { TrmError } from "../../errors.ts";

export const ARC_SIDE = 30; // ARCMaxGridSize
export const ARC_SEQ_LEN = ARC_SIDE * ARC_SIDE;
export const ARC_VOCAB = 12; // PAD, EOS, colours 0..9
export const PAD = 0;
export const EOS = 1;
const COLOUR_OFFSET = 2;

export interface Grid {
  rows: number;
  cols: number;
  cells: Uint8Array; // (rows, cols) colours 0..9, row-major
}

function bad(message: string): never {
  throw new TrmError("bad_grid", message, 422);
}

/** A JSON grid (array of equal-length arrays of integers 0..9, 1..30 each way); errors name `where` and the cell. */
export function parseGrid(value: unknown, where: string): Grid {
  if (!Array.isArray(value) || value.length === 0) bad(`${where} must be a non-empty array of rows`);
  const rows = value.length;
  if (rows > ARC_SIDE) bad(`${where} has ${rows} rows; ARC grids have at most ${ARC_SIDE}`);
  const first = value[0];
  if (!Array.isArray(first) || first.length === 0) bad(`${where}[0] must be a non-empty array of colours`);
  const cols = first.length;
  if (cols > ARC_SIDE) bad(`${where} has ${cols} columns; ARC grids have at most ${ARC_SIDE}`);
  const cells = new Uint8Array(rows * cols);
  value.forEach((row, r) => {
    if (!Array.isArray(row)) bad(`${where}[${r}] is not an array`);
    if (row.length !== cols) bad(`${where}[${r}] has ${row.length} cells, row 0 has ${cols}: grids are rectangular`);
    row.forEach((c, k) => {
      if (typeof c !== "number" || !Number.isInteger(c) || c < 0 || c > 9) bad(`${where}[${r}][${k}] = ${String(JSON.stringify(c)).slice(0, 20)} is not a colour 0..9`);
      cells[r * cols + k] = c;
    });
  });
  return { rows, cols, cells };
}

export function toArray(g: Grid): number[][] {
  return Array.from({ length: g.rows }, (_, r) => Array.from(g.cells.subarray(r * g.cols, (r + 1) * g.cols)));
}

/** The grid at the top-left of the canvas with its EOS row and column (np_grid_to_seq_translational_augment without translation). */
export function encodeGrid(g: Grid): Int32Array {
  const t = new Int32Array(ARC_SEQ_LEN); // (30, 30), PAD = 0
  for (let r = 0; r < g.rows; r++) for (let c = 0; c < g.cols; c++) t[r * ARC_SIDE + c] = g.cells[r * g.cols + c] + COLOUR_OFFSET;
  if (g.rows < ARC_SIDE) for (let c = 0; c < g.cols; c++) t[g.rows * ARC_SIDE + c] = EOS;
  if (g.cols < ARC_SIDE) for (let r = 0; r < g.rows; r++) t[r * ARC_SIDE + g.cols] = EOS;
  return t;
}

/**
 * The official evaluator's _crop: scanning rows top-down, the allowed width
 * shrinks to the first non-colour token of each row; the answer is the
 * (rows, width) rectangle of largest area, the earlier one on ties. A first
 * token that is not a colour gives a 0x0 grid.
 */
export function cropPrediction(tokens: ArrayLike<number>): Grid {
  let width = ARC_SIDE;
  let best = { rows: 0, cols: 0, area: 0 };
  for (let r = 1; r <= ARC_SIDE; r++) {
    for (let c = 1; c <= width; c++) {
      const t = tokens[(r - 1) * ARC_SIDE + c - 1];
      if (t < COLOUR_OFFSET || t > COLOUR_OFFSET + 9) {
        width = c - 1;
        break;
      }
    }
    if (r * width > best.area) best = { rows: r, cols: width, area: r * width };
  }
  const cells = new Uint8Array(best.rows * best.cols);
  for (let r = 0; r < best.rows; r++) for (let c = 0; c < best.cols; c++) cells[r * best.cols + c] = tokens[r * ARC_SIDE + c] - COLOUR_OFFSET;
  return { rows: best.rows, cols: best.cols, cells };
}

/** An exact identity for a grid (the official grid_hash hashes the same shape and bytes). */
export function gridKey(g: Grid): string {
  return `${g.rows}x${g.cols}:${String.fromCharCode(...g.cells.map((c) => 48 + c))}`;
}

export function sameGrid(a: Grid, b: Grid): boolean {
  return a.rows === b.rows && a.cols === b.cols && a.cells.every((c, i) => c === b.cells[i]);
}
