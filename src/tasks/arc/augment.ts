// The ARC augmentations of the official builders: a colour permutation that
// keeps 0, then one of the 8 dihedral transforms (dataset/common.py ids), named
// "<task>|||t<k>|||<perm>" by TRM's builder and "<task>_t<k>_<perm>" by HRM's
// (sapientinc/HRM dataset/build_arc_dataset.py), where perm[c] is the new colour
// of c. The evaluator maps a prediction back with the inverse transform, then the
// inverse permutation.
import { TrmError } from "../../errors.ts";
import type { Grid } from "./grid.ts";

export const SEPARATOR = "|||";
/** DIHEDRAL_INVERSE[t] undoes transform t. */
export const DIHEDRAL_INVERSE = [0, 3, 2, 1, 4, 5, 6, 7] as const;

export interface Augmentation {
  task: string;
  transform: number; // dihedral id 0..7
  perm: Uint8Array; // (10) colour c -> perm[c]; perm[0] = 0
}

/**
 * out[i][j] for each transform, in numpy's terms on an (h, w) grid:
 * 0 identity, 1 rot90, 2 rot90 twice, 3 rot90 thrice, 4 fliplr, 5 flipud,
 * 6 transpose, 7 fliplr(rot90).
 */
export function dihedral(g: Grid, t: number): Grid {
  const { rows: h, cols: w } = g;
  const swaps = t === 1 || t === 3 || t === 6 || t === 7;
  const rows = swaps ? w : h;
  const cols = swaps ? h : w;
  const at = (r: number, c: number) => g.cells[r * w + c];
  const source: (i: number, j: number) => number = [
    (i: number, j: number) => at(i, j),
    (i: number, j: number) => at(j, w - 1 - i),
    (i: number, j: number) => at(h - 1 - i, w - 1 - j),
    (i: number, j: number) => at(h - 1 - j, i),
    (i: number, j: number) => at(i, w - 1 - j),
    (i: number, j: number) => at(h - 1 - i, j),
    (i: number, j: number) => at(j, i),
    (i: number, j: number) => at(h - 1 - j, w - 1 - i),
  ][t];
  if (!source) throw new RangeError(`dihedral transform ${t} is not 0..7`);
  const cells = new Uint8Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) cells[i * cols + j] = source(i, j);
  return { rows, cols, cells };
}

function recolour(g: Grid, map: Uint8Array): Grid {
  return { rows: g.rows, cols: g.cols, cells: g.cells.map((c) => map[c]) };
}

const IDENTITY_PERM = Uint8Array.from({ length: 10 }, (_, i) => i);

// HRM's name of an augmentation; its arc_eval.ipynb reads the last two "_" fields.
const HRM_AUGMENTATION = /^(.+)_t([0-7])_(0[1-9]{9})$/;

/** Parses an identifier as the official inverse_aug does: a plain task id is the identity. */
export function parseAugmentation(name: string): Augmentation {
  if (!name.includes(SEPARATOR)) {
    const hrm = HRM_AUGMENTATION.exec(name);
    if (hrm && new Set(hrm[3]).size === 10) return { task: hrm[1], transform: Number(hrm[2]), perm: Uint8Array.from(hrm[3], Number) };
    return { task: name, transform: 0, perm: IDENTITY_PERM };
  }
  const parts = name.split(SEPARATOR);
  const [t, perm] = parts.slice(-2);
  const bad = (why: string): never => {
    throw new TrmError("bad_identifier", `puzzle identifier ${JSON.stringify(name)}: ${why} (expected <task>|||t<0-7>|||<permutation of 0-9 keeping 0>)`);
  };
  if (parts.length !== 3) bad(`has ${parts.length - 1} separators`);
  if (!/^t[0-7]$/.test(t)) bad(`transform ${JSON.stringify(t)} is not t0..t7`);
  if (!/^0[1-9]{9}$/.test(perm) || new Set(perm).size !== 10) bad(`colour map ${JSON.stringify(perm)} is not a permutation of 0-9 keeping 0`);
  return { task: parts[0], transform: Number(t.slice(1)), perm: Uint8Array.from(perm, Number) };
}

export function augmentationName(a: Augmentation): string {
  const identity = a.transform === 0 && a.perm.every((c, i) => c === i);
  return identity ? a.task : `${a.task}${SEPARATOR}t${a.transform}${SEPARATOR}${a.perm.join("")}`;
}

/** The builder's _map_grid: dihedral(perm[grid], t). */
export function augmentGrid(g: Grid, a: Augmentation): Grid {
  return dihedral(recolour(g, a.perm), a.transform);
}

/** The evaluator's inverse: argsort(perm)[inverse_dihedral(grid, t)]. */
export function invertGrid(g: Grid, a: Augmentation): Grid {
  const inverse = new Uint8Array(10);
  a.perm.forEach((to, from) => (inverse[to] = from));
  return recolour(dihedral(g, DIHEDRAL_INVERSE[a.transform]), inverse);
}
