"""Puzzle CSVs (source,question,answer,rating, as `trm generate` writes them) to
token tensors in the official encodings, with the official augmentations."""
import csv

import numpy as np

MAZE_CHARSET = "# SGo"


def read_csv(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r["question"] for r in rows], [r["answer"] for r in rows], np.array([float(r["rating"]) for r in rows])


def sudoku_tokens(strings):
    """'.'/'0' blank, digits 1-9 → value + 1 (PAD 0, blank 1), as dataset/build_sudoku_dataset.py."""
    arr = np.array([[0 if c in ".0" else int(c) for c in s] for s in strings], dtype=np.int64)
    return arr + 1


def maze_tokens(strings):
    """Each cell's index in "# SGo" + 1 (PAD 0), as dataset/build_maze_dataset.py."""
    lookup = np.zeros(128, dtype=np.int64)
    lookup[[ord(c) for c in MAZE_CHARSET]] = np.arange(len(MAZE_CHARSET)) + 1
    return lookup[np.array([[ord(c) for c in s] for s in strings])]


class PuzzlePool:
    """A training set held as tokens; batches are random puzzles, freshly augmented."""

    def __init__(self, task, paths, exclude=()):
        questions, answers = [], []
        for p in paths:
            q, a, _ = read_csv(p)
            questions += q
            answers += a
        excluded = set(exclude)
        keep = [i for i, q in enumerate(questions) if q not in excluded]
        self.removed = len(questions) - len(keep)
        questions, answers = [questions[i] for i in keep], [answers[i] for i in keep]
        encode = sudoku_tokens if task == "sudoku" else maze_tokens
        self.task = task
        self.inputs, self.labels = encode(questions), encode(answers)
        self.side = int(round(self.inputs.shape[1] ** 0.5))

    def __len__(self):
        return len(self.inputs)

    def batch(self, rng, n):
        idx = rng.integers(0, len(self), n)
        augment = shuffle_sudoku if self.task == "sudoku" else dihedral
        return augment(rng, self.inputs[idx], self.labels[idx], self.side)


def shuffle_sudoku(rng, inputs, labels, side=9):
    """The validity-preserving shuffles of build_sudoku_dataset.shuffle_sudoku, batched:
    digit relabelling, optional transpose, band/row and stack/column permutations."""
    n = len(inputs)
    digit_map = np.concatenate([np.zeros((n, 1), np.int64), np.ones((n, 1), np.int64), 2 + rng.permuted(np.tile(np.arange(9), (n, 1)), axis=1)], axis=1)
    # tokens: 0 PAD, 1 blank, 2..10 digits → digit_map[token]
    def perm9():
        bands = rng.permuted(np.tile(np.arange(3), (n, 1)), axis=1)
        inner = rng.permuted(np.tile(np.arange(3), (n * 3, 1)), axis=1).reshape(n, 3, 3)
        return (bands[:, :, None] * 3 + inner).reshape(n, 9)
    rows, cols = perm9(), perm9()
    mapping = rows[:, :, None] * 9 + cols[:, None, :]  # (n, 9, 9): new cell (i, j) takes old cell (rows[i], cols[j])
    transpose = rng.random(n) < 0.5
    mapping = np.where(transpose[:, None, None], mapping.transpose(0, 2, 1), mapping).reshape(n, 81)
    take = lambda x: np.take_along_axis(digit_map, np.take_along_axis(x, mapping, axis=1), axis=1)
    return take(inputs), take(labels)


def dihedral(rng, inputs, labels, side):
    """One of the 8 dihedral transforms per puzzle (dataset/common.py dihedral_transform)."""
    n = len(inputs)
    tids = rng.integers(0, 8, n)
    grids_in, grids_out = inputs.reshape(n, side, side), labels.reshape(n, side, side)
    ops = [
        lambda g: g,
        lambda g: np.rot90(g, 1, axes=(1, 2)),
        lambda g: np.rot90(g, 2, axes=(1, 2)),
        lambda g: np.rot90(g, 3, axes=(1, 2)),
        lambda g: g[:, :, ::-1],
        lambda g: g[:, ::-1, :],
        lambda g: g.transpose(0, 2, 1),
        lambda g: np.rot90(g, 1, axes=(1, 2))[:, :, ::-1],
    ]
    out_in, out_lab = np.empty_like(grids_in), np.empty_like(grids_out)
    for t in range(8):
        sel = tids == t
        out_in[sel], out_lab[sel] = ops[t](grids_in[sel]), ops[t](grids_out[sel])
    return out_in.reshape(n, -1), out_lab.reshape(n, -1)
