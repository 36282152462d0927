"""Real-model parity: the same puzzles through this PyTorch model and through
our WASM engine (`npx trm run` on the converted pack). Reports how often the
predictions and the halting decisions agree at every supervision step, and the
largest logit difference at the last step.

  /usr/bin/python3 training/compare_engine.py --run runs/sudoku --checkpoint step_N --pack weights/sudoku --puzzles held.csv --count 200
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from data import maze_tokens, read_csv, sudoku_tokens  # noqa: E402
from trm_model import ACTLossHead, TinyRecursiveReasoningModel_ACTV1, TRMConfig  # noqa: E402


def load_model(run_dir, checkpoint):
    arch = yaml.safe_load(open(os.path.join(run_dir, "all_config.yaml")))["arch"]
    ds = json.load(open(os.path.join(run_dir, "dataset.json")))
    fields = {k: arch[k] for k in ("H_cycles", "L_cycles", "H_layers", "L_layers", "hidden_size", "expansion", "num_heads", "pos_encodings",
                                    "puzzle_emb_ndim", "puzzle_emb_len", "halt_max_steps", "halt_exploration_prob", "mlp_t", "no_ACT_continue")}
    cfg = TRMConfig(batch_size=1, seq_len=ds["seq_len"], vocab_size=ds["vocab_size"], num_puzzle_identifiers=ds["num_puzzle_identifiers"], **fields)
    head = ACTLossHead(TinyRecursiveReasoningModel_ACTV1(cfg))
    state = torch.load(os.path.join(run_dir, checkpoint))
    head.load_state_dict({k.removeprefix("_orig_mod."): v for k, v in state.items()})
    return head.model.eval(), cfg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--run", required=True)
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--pack", required=True)
    p.add_argument("--puzzles", required=True)
    p.add_argument("--count", type=int, default=200)
    p.add_argument("--task", choices=["sudoku", "maze"], required=True)
    a = p.parse_args()
    torch.set_num_threads(1)
    model, cfg = load_model(a.run, a.checkpoint)
    questions = read_csv(a.puzzles)[0][: a.count]
    inputs = torch.from_numpy((sudoku_tokens if a.task == "sudoku" else maze_tokens)(questions))
    batch = dict(inputs=inputs, labels=inputs, puzzle_identifiers=torch.zeros(len(inputs), dtype=torch.long))
    torch_preds, torch_q = [], []
    with torch.no_grad():
        carry = model.initial_carry(batch)
        for _ in range(cfg.halt_max_steps):
            carry, out = model(carry, batch)
            torch_preds.append(out["logits"].argmax(-1).numpy())
            torch_q.append(out["q_halt_logits"].numpy())
        last_logits = out["logits"].numpy()

    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(dict(inputs=inputs.tolist(), puzzle_identifiers=[0] * len(inputs)), f)
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    run = subprocess.run(["npx", "trm", "run", "--model", a.pack, "--input", f.name, "--logits", "--quiet"], cwd=repo, capture_output=True, text=True, check=True)
    os.unlink(f.name)
    steps = json.loads(run.stdout)["steps"]
    report = dict(puzzles=len(inputs), steps=[])
    for s, step in enumerate(steps):
        preds = np.array(step["preds"])
        q = np.array(step["q_halt_logits"])
        report["steps"].append(dict(
            step=s + 1,
            same_answer=float((preds == torch_preds[s]).all(-1).mean()),
            same_cells=float((preds == torch_preds[s]).mean()),
            same_halt_decision=float(((q > 0) == (torch_q[s] > 0)).mean()),
            max_q_diff=float(np.abs(q - torch_q[s]).max()),
        ))
    engine_logits = np.array(steps[-1]["logits"], dtype=np.float32)
    report["max_logit_diff_last_step"] = float(np.abs(engine_logits - last_logits).max())
    report["same_answer_all_steps"] = min(s["same_answer"] for s in report["steps"])
    report["same_halt_all_steps"] = min(s["same_halt_decision"] for s in report["steps"])
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
