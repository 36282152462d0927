"""Write weights/<name>/README.md from what was measured: the pack's manifest,
the training log, `trm eval --json` reports and a compare_engine.py report.

  /usr/bin/python3 training/model_card.py --pack weights/sudoku --run runs/sudoku --checkpoint step_N \
      --eval eval-36.json="36 clues" ... --compare compare.json --plot accuracy-per-step.png --about about.md
"""
import argparse
import json
import os


def pct(x):
    return f"{100 * x:.1f} %"


def local_path(p):
    """The paths of training/README.md's reproduction commands (data/, runs/) instead of this machine's."""
    for prefix, short in (("/work/data/sudoku/", "data/"), ("/work/data/", "data/"), ("/work/runs/", "runs/")):
        if p.startswith(prefix):
            return short + p[len(prefix):]
    return p


def training_summary(run_dir):
    """Segments of the run (a start event each, e.g. a resume with new settings) with their last logged figures."""
    segments, last = [], None
    for line in open(os.path.join(run_dir, "log.jsonl")):
        rec = json.loads(line)
        if rec.get("event") == "start":
            segments.append(dict(start=rec, end=None))
        elif "event" not in rec:
            segments[-1]["end"] = rec
            last = rec
    return segments, last


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--pack", required=True)
    p.add_argument("--run", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--eval", nargs="+", required=True, help="report.json=label")
    p.add_argument("--compare", required=True)
    p.add_argument("--plot", required=True, help="PNG file name inside the pack directory")
    p.add_argument("--compare-note", default="", help="markdown appended to the comparison section")
    p.add_argument("--about", required=True, help="markdown: what the model is, data and difficulty, honest limits")
    p.add_argument("--hardware", default="AMD EPYC (Zen 5), 2 vCPUs shared with other jobs, Debian PyTorch 1.13.1 on OpenBLAS 0.3.21, 1 thread")
    a = p.parse_args()

    manifest = json.load(open(os.path.join(a.pack, "model.json")))
    arch = manifest["arch"]
    evals = []
    for spec in a.eval:
        path, _, label = spec.partition("=")
        evals.append((label, json.load(open(path))))
    cmp = json.load(open(a.compare))
    segments, last = training_summary(a.run)

    out = [f"# {manifest['name']}: a trained TRM for {manifest['task']}", ""]
    out += [open(a.about).read().strip(), ""]

    out += ["## Accuracy, measured through our engine", ""]
    out += [f"`npx trm eval` (the WASM engine, not PyTorch), {evals[0][1]['steps']} fixed supervision steps, every puzzle held out (generated with seeds never used for training, or public benchmark files never trained or tuned on).", ""]
    out += ["| puzzle set | puzzles | exact (16 steps) | cell accuracy on blanks | adaptive halting: exact | adaptive: avg steps |", "| --- | --- | --- | --- | --- | --- |"]
    for label, r in evals:
        cells = pct(r["cell_accuracy_blanks"]) if r["scored_by"] == "answers" else "n/a (no answers; scored by validity)"
        out.append(f"| {label} | {r['puzzles']} | **{pct(r['exact'])}** | {cells} | {pct(r['adaptive']['exact'])} | {r['adaptive']['avg_steps']:.2f} |")
    out += ["", "Exact accuracy after each supervision step:", ""]
    steps = len(evals[0][1]["per_step"])
    out += ["| step | " + " | ".join(label for label, _ in evals) + " |", "| --- |" + " --- |" * len(evals)]
    for s in range(steps):
        out.append(f"| {s + 1} | " + " | ".join(pct(r["per_step"][s]) for _, r in evals) + " |")
    out += ["", f"![exact accuracy per supervision step]({a.plot})", ""]
    out += ["Adaptive halting stops each puzzle at its first step with `q_halt > 0` (the Worker's `\"halt\": \"adaptive\"`).", ""]

    out += ["## The same answers in PyTorch and in our engine", ""]
    out += [f"`training/compare_engine.py` ran {cmp['puzzles']} held-out puzzles through the PyTorch model (checkpoint `{a.checkpoint}`) and through this pack in our WASM engine, all {len(cmp['steps'])} steps:",
            f"- identical answers at every step: {pct(cmp['same_answer_all_steps'])} of puzzles at the worst step;",
            f"- identical halting decisions (`q_halt > 0`) at every step: {pct(cmp['same_halt_all_steps'])} at the worst step;",
            f"- largest logit difference at the last step: {cmp['max_logit_diff_last_step']:.2e}; largest q_halt difference over all steps: {max(s['max_q_diff'] for s in cmp['steps']):.2e}.", ""]
    if a.compare_note:
        out += [a.compare_note, ""]

    out += ["## Architecture", ""]
    block = "MLP over the positions axis (MLP-T)" if arch["mlp_t"] else f"attention ({arch['num_heads']} heads)"
    out += [f"- Official TRM (`recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1`): {arch['L_layers']} post-norm blocks, {block} + SwiGLU, hidden {arch['hidden_size']}, expansion {arch['expansion']}, positions `{arch['pos_encodings']}`.",
            f"- Recursion: H_cycles {arch['H_cycles']} x (L_cycles {arch['L_cycles']} latent updates + 1 answer update) per supervision step, up to {arch['halt_max_steps']} steps; Q-head halting without the continue loss.",
            f"- Sequence: {manifest['seq_len']} cells + {manifest['puzzle_emb_len']} puzzle-embedding position(s); vocabulary {manifest['vocab_size']}; {manifest['num_puzzle_identifiers']} puzzle identifier.",
            f"- {manifest['weights']['parameters']:,} parameters, {manifest['weights']['dtype']}, {manifest['weights']['bytes']:,} bytes; sha256 `{manifest['weights']['sha256']}`.", ""]

    out += ["## Training", ""]
    total_seconds = last["seconds"]
    out += [f"- Hardware: {a.hardware}.",
            f"- Trainer: `training/train.py` (official semantics, see `training/README.md`), {a.checkpoint.split('_')[-1]} optimizer steps, {total_seconds / 60:.0f} minutes of training wall time in {len(segments)} segment(s); checkpoint `{a.checkpoint}` (EMA weights) converted with `npx trm convert`.",
            ""]
    for i, seg in enumerate(segments):
        args = seg["start"]["args"]
        end = seg["end"] or {}
        flag = lambda k: "--" + k.replace("_", "-")
        value = lambda v: " ".join(map(local_path, v)) if isinstance(v, list) else local_path(str(v))
        cmd = ["/usr/bin/python3 training/train.py"] + [f"{flag(k)} {value(v)}" for k, v in args.items() if not isinstance(v, bool) and v is not None] + [flag(k) for k, v in args.items() if v is True]
        out += [f"Segment {i + 1}: from step {seg['start']['step']} to {end.get('step', '?')}, batch {args['batch']}, peak lr {args['lr']}, {end.get('seq_steps_per_s', '?')} sequence-steps/s at its end:", "", "```", " ".join(cmd), "```", ""]
    out += ["Held-out accuracy of the EMA weights during training (the first `--eval-size` puzzles of the segment's `--eval` file, 16 steps):", ""]
    out += ["| optimizer step | held-out file | exact after 16 steps | adaptive: exact @ avg steps |", "| --- | --- | --- | --- |"]
    eval_file = None
    for line in open(os.path.join(a.run, "log.jsonl")):
        rec = json.loads(line)
        if rec.get("event") == "start":
            eval_file = f"`{local_path(rec['args']['eval'])}` (first {rec['args']['eval_size']})"
        elif rec.get("event") == "eval":
            out.append(f"| {rec['step']} | {eval_file} | {pct(rec['per_step'][-1])} | {pct(rec['adaptive_exact'])} @ {rec['adaptive_steps']:.2f} |")
    out += [""]
    with open(os.path.join(a.pack, "README.md"), "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
