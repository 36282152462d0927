"""Train a TRM on CPU with the official training semantics (pretrain.py,
models/losses.py) and write official-format checkpoints.

Each optimizer step is one supervision step of a batch whose sequences carry
their latent state (detached) across steps; halted sequences take fresh
augmented puzzles. AdamW with linear warm-up and cosine decay; sign-SGD on the
puzzle embeddings; an EMA of the weights is what gets evaluated and saved.

  /usr/bin/python3 training/train.py --task sudoku --train a.csv --eval held.csv --out runs/sudoku ...
Resume a stopped run with the same command plus --resume.
"""
import argparse
import copy
import json
import math
import os
import platform
import sys
import time

import numpy as np
import torch
import yaml

sys.path.insert(0, os.path.dirname(__file__))
from data import PuzzlePool, maze_tokens, read_csv, sudoku_tokens  # noqa: E402
from trm_model import ACTLossHead, TinyRecursiveReasoningModel_ACTV1, TRMConfig, swiglu_width  # noqa: E402

VOCAB = {"sudoku": 11, "maze": 6}  # PAD + 10 digit tokens; PAD + "# SGo"


def parse_args():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--task", choices=["sudoku", "maze"], required=True)
    p.add_argument("--train", nargs="+", required=True, help="training CSVs")
    p.add_argument("--eval", required=True, help="held-out CSV (excluded from training; a slice is evaluated during training)")
    p.add_argument("--eval-size", type=int, default=256)
    p.add_argument("--out", required=True)
    p.add_argument("--hidden", type=int, default=64)
    p.add_argument("--heads", type=int, default=2)
    p.add_argument("--expansion", type=float, default=4)
    p.add_argument("--H-cycles", type=int, default=2)
    p.add_argument("--L-cycles", type=int, default=3)
    p.add_argument("--L-layers", type=int, default=2)
    p.add_argument("--mlp-t", action="store_true")
    p.add_argument("--pos", choices=["rope", "learned", "none"], default="rope")
    p.add_argument("--puzzle-emb-len", type=int, default=16)
    p.add_argument("--puzzle-emb-ndim", type=int, default=None, help="default: hidden size")
    p.add_argument("--halt-max-steps", type=int, default=16)
    p.add_argument("--halt-exploration-prob", type=float, default=0.1)
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--lr-min-ratio", type=float, default=0.1)
    p.add_argument("--warmup", type=int, default=500)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--puzzle-emb-lr", type=float, default=1e-2)
    p.add_argument("--puzzle-emb-weight-decay", type=float, default=0.1)
    p.add_argument("--ema-rate", type=float, default=0.999)
    p.add_argument("--total-steps", type=int, required=True, help="optimizer steps the schedule spans")
    p.add_argument("--stop-after-minutes", type=float, default=None, help="checkpoint and exit after this long (resume later)")
    p.add_argument("--eval-every", type=int, default=1000)
    p.add_argument("--log-every", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    return p.parse_args()


def lr_at(step, a):
    """Linear warm-up, then cosine down to lr_min_ratio (pretrain.cosine_schedule_with_warmup_lr_lambda)."""
    if step < a.warmup:
        return a.lr * step / max(1, a.warmup)
    progress = min(1.0, (step - a.warmup) / max(1, a.total_steps - a.warmup))
    return a.lr * (a.lr_min_ratio + max(0.0, (1 - a.lr_min_ratio) * 0.5 * (1.0 + math.cos(math.pi * progress))))


def encode(task, strings):
    return torch.from_numpy(sudoku_tokens(strings) if task == "sudoku" else maze_tokens(strings))


@torch.no_grad()
def evaluate(head, inputs, labels, steps, batch=256):
    """Exact accuracy after each supervision step (no early halting, as official evaluation),
    plus adaptive halting: the answer at the first step whose q_halt > 0."""
    model = head.model
    model.eval()
    n = len(inputs)
    per_step = np.zeros(steps)
    halt_step = np.full(n, steps)
    halt_right = np.zeros(n, dtype=bool)
    for s0 in range(0, n, batch):
        b = dict(inputs=inputs[s0 : s0 + batch], labels=labels[s0 : s0 + batch])
        b["puzzle_identifiers"] = torch.zeros(len(b["inputs"]), dtype=torch.long)
        carry = model.initial_carry(b)
        decided = np.zeros(len(b["inputs"]), dtype=bool)
        for step in range(1, steps + 1):
            carry, out = model(carry, b)
            right = (out["logits"].argmax(-1) == b["labels"]).all(-1).numpy()
            per_step[step - 1] += right.sum()
            halt = (out["q_halt_logits"] > 0).numpy() | (step == steps)
            newly = halt & ~decided
            halt_step[s0 : s0 + batch][newly] = step
            halt_right[s0 : s0 + batch][newly] = right[newly]
            decided |= halt
    model.train()
    return dict(per_step=(per_step / n).round(4).tolist(), adaptive_exact=float(halt_right.mean()), adaptive_steps=float(halt_step.mean()))


def official_config_yaml(a, cfg, data_paths):
    """all_config.yaml in the layout pretrain.py writes (yaml.dump of PretrainConfig)."""
    return dict(
        arch=dict(
            name="recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1",
            loss=dict(name="losses@ACTLossHead", loss_type="stablemax_cross_entropy"),
            H_cycles=cfg.H_cycles, L_cycles=cfg.L_cycles, H_layers=cfg.H_layers, L_layers=cfg.L_layers,
            hidden_size=cfg.hidden_size, expansion=cfg.expansion, num_heads=cfg.num_heads,
            pos_encodings=cfg.pos_encodings, puzzle_emb_ndim=cfg.puzzle_emb_ndim, puzzle_emb_len=cfg.puzzle_emb_len,
            halt_max_steps=cfg.halt_max_steps, halt_exploration_prob=cfg.halt_exploration_prob,
            forward_dtype=cfg.forward_dtype, mlp_t=cfg.mlp_t, no_ACT_continue=cfg.no_ACT_continue,
        ),
        beta1=0.9, beta2=0.95, checkpoint_every_eval=True, checkpoint_path=a.out, data_paths=data_paths, data_paths_test=[],
        ema=True, ema_rate=a.ema_rate, epochs=a.total_steps, eval_interval=a.eval_every, eval_save_outputs=[], evaluators=[],
        freeze_weights=False, global_batch_size=a.batch, load_checkpoint=None, lr=a.lr, lr_min_ratio=a.lr_min_ratio,
        lr_warmup_steps=a.warmup, min_eval_interval=0, project_name=f"trm-worker-{a.task}", puzzle_emb_lr=a.puzzle_emb_lr,
        puzzle_emb_weight_decay=a.puzzle_emb_weight_decay, run_name=os.path.basename(a.out.rstrip("/")), seed=a.seed,
        weight_decay=a.weight_decay,
    )


def main():
    a = parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    rng = np.random.default_rng(a.seed)
    os.makedirs(a.out, exist_ok=True)

    eval_q, eval_a, _ = read_csv(a.eval)
    pool = PuzzlePool(a.task, a.train, exclude=eval_q)
    eval_inputs, eval_labels = encode(a.task, eval_q[: a.eval_size]), encode(a.task, eval_a[: a.eval_size])
    seq_len = pool.inputs.shape[1]
    print(f"train: {len(pool)} puzzles ({pool.removed} held-out duplicates removed); eval slice: {len(eval_inputs)}", flush=True)

    cfg = TRMConfig(
        batch_size=a.batch, seq_len=seq_len, vocab_size=VOCAB[a.task], num_puzzle_identifiers=1,
        H_cycles=a.H_cycles, L_cycles=a.L_cycles, H_layers=0, L_layers=a.L_layers, hidden_size=a.hidden,
        expansion=a.expansion, num_heads=a.heads, pos_encodings=a.pos,
        puzzle_emb_ndim=a.hidden if a.puzzle_emb_ndim is None else a.puzzle_emb_ndim, puzzle_emb_len=a.puzzle_emb_len,
        halt_max_steps=a.halt_max_steps, halt_exploration_prob=a.halt_exploration_prob, mlp_t=a.mlp_t,
    )
    head = ACTLossHead(TinyRecursiveReasoningModel_ACTV1(cfg))
    params = [p for p in head.parameters() if p.requires_grad]
    print(f"parameters: {sum(p.numel() for p in params)}", flush=True)
    opt = torch.optim.AdamW(params, lr=a.lr, betas=(0.9, 0.95), weight_decay=a.weight_decay)
    ema = {k: p.detach().clone() for k, p in head.named_parameters()}
    step, trained_seconds, samples = 0, 0.0, 0

    with open(os.path.join(a.out, "all_config.yaml"), "w") as f:
        yaml.dump(official_config_yaml(a, cfg, a.train), f)
    with open(os.path.join(a.out, "dataset.json"), "w") as f:
        json.dump(dict(pad_id=0, ignore_label_id=0, blank_identifier_id=0, vocab_size=cfg.vocab_size, seq_len=seq_len,
                       num_puzzle_identifiers=1, total_groups=len(pool), mean_puzzle_examples=1.0, total_puzzles=len(pool), sets=["all"]), f)

    resume_path = os.path.join(a.out, "resume.pt")
    if a.resume:
        state = torch.load(resume_path)
        head.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        ema = state["ema"]
        step, trained_seconds, samples = state["step"], state["trained_seconds"], state["samples"]
        rng = np.random.default_rng([a.seed, step])
        print(f"resumed at step {step}", flush=True)

    def ema_head():
        h = copy.deepcopy(head)
        with torch.no_grad():
            for k, p in h.named_parameters():
                p.copy_(ema[k])
        return h

    def save(final=False):
        h = ema_head()
        sd = {"_orig_mod." + k: v for k, v in h.state_dict().items()}  # torch.compile's prefix, as in official checkpoints
        torch.save(sd, os.path.join(a.out, f"step_{step}"))
        torch.save(dict(model=head.state_dict(), opt=opt.state_dict(), ema=ema, step=step, trained_seconds=trained_seconds, samples=samples), resume_path + ".tmp")
        os.replace(resume_path + ".tmp", resume_path)

    log = open(os.path.join(a.out, "log.jsonl"), "a")
    hardware = dict(cpu=platform.processor() or platform.machine(), torch=torch.__version__, threads=a.threads,
                    blas=torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO" in torch.__config__.show() else "?")
    log.write(json.dumps(dict(event="start", step=step, args=vars(a), hardware=hardware, parameters=sum(p.numel() for p in params))) + "\n")
    carry = None
    start_step = step
    window = dict(count=0, exact=0, cell=0.0, steps=0, q_halt_right=0, lm_loss=0.0, q_halt_loss=0.0, n=0)
    session_start = time.time()
    t_mark = time.time()
    head.train()
    while step < a.total_steps:
        inputs, labels = pool.batch(rng, a.batch)
        batch = dict(inputs=torch.from_numpy(inputs), labels=torch.from_numpy(labels), puzzle_identifiers=torch.zeros(a.batch, dtype=torch.long))
        if carry is None:
            carry = head.model.initial_carry(batch)
        lr = lr_at(step, a)
        for g in opt.param_groups:
            g["lr"] = lr
        first_call = carry["halted"].all().item() and step == start_step
        carry, loss, m = head(carry, batch)
        if first_call:
            # Stagger the first cohort's step counters so the slots halt, and take new puzzles, at
            # different optimizer steps: otherwise a small batch trains on the same puzzles for
            # halt_max_steps steps in a row and memorises them.
            carry["steps"] = carry["steps"] + torch.randint_like(carry["steps"], 0, cfg.halt_max_steps - 1)
        (loss / a.batch).backward()
        opt.step()
        opt.zero_grad(set_to_none=True)
        if cfg.puzzle_emb_ndim > 0:
            head.model.inner.puzzle_emb.sign_sgd_step(a.puzzle_emb_lr * lr / a.lr, a.puzzle_emb_weight_decay)
        with torch.no_grad():
            for k, p in head.named_parameters():
                ema[k].mul_(a.ema_rate).add_(p.detach(), alpha=1 - a.ema_rate)
        step += 1
        samples += int(m["count"])
        for k in window:
            window[k] += m.get(k, 1 if k == "n" else 0)

        if step % a.log_every == 0:
            now = time.time()
            trained_seconds += now - t_mark
            rate = a.log_every * a.batch / (now - t_mark)
            t_mark = now
            c = max(1, window["count"])
            rec = dict(step=step, lr=lr, seconds=round(trained_seconds, 1), seq_steps_per_s=round(rate, 1),
                       lm_loss=window["lm_loss"] / window["n"] / a.batch, q_halt_loss=window["q_halt_loss"] / window["n"] / a.batch,
                       halted=window["count"], exact=window["exact"] / c, cell=window["cell"] / c, avg_steps=window["steps"] / c,
                       q_halt_acc=window["q_halt_right"] / c)
            log.write(json.dumps(rec) + "\n")
            log.flush()
            print(" ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in rec.items()), flush=True)
            window = {k: 0 for k in window}
        if step % a.eval_every == 0 or step == a.total_steps:
            t0 = time.time()
            res = evaluate(ema_head(), eval_inputs, eval_labels, cfg.halt_max_steps)
            save()
            log.write(json.dumps(dict(event="eval", step=step, seconds=round(trained_seconds, 1), eval_seconds=round(time.time() - t0, 1), **res)) + "\n")
            log.flush()
            print(f"eval step={step}: per-step exact {res['per_step']}, adaptive {res['adaptive_exact']:.3f} @ {res['adaptive_steps']:.2f} steps", flush=True)
            t_mark = time.time()
        if a.stop_after_minutes and time.time() - session_start > a.stop_after_minutes * 60:
            save()
            print(f"stopped after {a.stop_after_minutes} minutes at step {step}; resume with --resume", flush=True)
            break
    log.close()


if __name__ == "__main__":
    main()
