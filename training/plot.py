"""Accuracy per supervision step, one line per `trm eval --json` report, as a PNG
for a model card.

  /usr/bin/python3 training/plot.py --out weights/sudoku/accuracy-per-step.png eval-36.json eval-30.json ...
"""
import argparse
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--title", default=None)
    p.add_argument("reports", nargs="+", help="trm eval --json files; label with path=label")
    a = p.parse_args()
    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=110)
    for spec in a.reports:
        path, _, label = spec.partition("=")
        r = json.load(open(path))
        steps = list(range(1, len(r["per_step"]) + 1))
        ax.plot(steps, [100 * x for x in r["per_step"]], marker="o", markersize=3, label=f"{label or r['input']} (n={r['puzzles']})")
    ax.set_xlabel("supervision step")
    ax.set_ylabel("exact accuracy (%)")
    ax.set_ylim(0, 100)
    ax.set_xticks(steps)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title(a.title or f"{r['model']}: accuracy after each supervision step (our engine)", fontsize=9)
    fig.tight_layout()
    fig.savefig(a.out)


if __name__ == "__main__":
    main()
