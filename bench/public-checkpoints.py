"""Writes a synthetic ARC checkpoint at the size of the public ones (1.8 GB).

    python3 bench/synthetic-arc-checkpoint.py [--out /tmp/trm-synthetic-arc] [--rows 876406] [--seed 0]

The shape of `arcprize/trm_arc_prize_verification` arc_v1_public/step_518071:
the official ARC arch (hidden 512, 8 heads, expansion 4, L_layers 2,
attention with RoPE, puzzle_emb_ndim 512, puzzle_emb_len 16, vocab 12,
seq_len 900, forward bfloat16, so H_init/L_init are bfloat16), the official
keys (`_orig_mod.model.inner.*`), random weights, and
`inner.puzzle_emb.weights` float32 [rows, 512] as one stored zip entry. It is
written torch's way (zip64 records, data descriptors, 64-byte aligned data)
by the same stand-ins as test/fixtures/checkpoints/generate.py, without torch.
The table goes to disk 4096 rows at a time, so this never holds it in memory.

Writes into --out (never commit these):
  step_518071        the checkpoint (torch.save names it after the step)
  all_config.yaml    the arch section as the official pretrain.py writes it
  dataset.json       the metadata fields the converter reads from <build>/test/dataset.json
  table.json         rows, columns and the sha256 of the table's float32 bytes, to check a streamed copy
  identifiers.json   one identifier per row in the official layout ("<blank>", then per task the
                     original and its "<task>|||t<k>|||<perm>" augmentations, each task contiguous;
                     960 tasks, as many rows each as the official build gives on average)
  test_puzzles.json  two of those tasks with random test inputs, for requests against the pack
"""

import argparse
import hashlib
import importlib.util
import json
import math
import os

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("torch_fixtures", os.path.join(HERE, "..", "test", "fixtures", "checkpoints", "generate.py"))
fx = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fx)

HIDDEN, HEADS, EXPANSION, LAYERS, VOCAB, SEQ_LEN, PUZZLE_EMB_LEN = 512, 8, 4, 2, 12, 900, 16
OFFICIAL_ROWS = 876406  # identifiers of the official 1000-augmentation ARC-AGI-1 build, <blank> included
CHUNK_ROWS = 4096
PREFIX = "_orig_mod.model.inner."


def swiglu_width(n, expansion):
    # The official _find_multiple(round(expansion * n * 2 / 3), 256); Python's round() as there.
    return math.ceil(round(expansion * n * 2 / 3) / 256) * 256


def table_chunks(rng, rows, digest):
    for first in range(0, rows, CHUNK_ROWS):
        chunk = rng.standard_normal((min(CHUNK_ROWS, rows - first), HIDDEN), dtype=np.float32).astype("<f4").tobytes()
        digest.update(chunk)
        yield chunk


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/trm-synthetic-arc")
    parser.add_argument("--rows", type=int, default=OFFICIAL_ROWS, help="puzzle-embedding rows (default: the official count)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    inter = swiglu_width(HIDDEN, EXPANSION)

    def linear(out_features, in_features):
        return rng.standard_normal((out_features, in_features), dtype=np.float32) / np.float32(math.sqrt(in_features))

    # (key, array or None for the table, storage class); state dict order as the official model registers them.
    params = [
        ("H_init", rng.standard_normal(HIDDEN, dtype=np.float32), "BFloat16Storage"),
        ("L_init", rng.standard_normal(HIDDEN, dtype=np.float32), "BFloat16Storage"),
        ("embed_tokens.embedding_weight", rng.standard_normal((VOCAB, HIDDEN), dtype=np.float32), "FloatStorage"),
        ("lm_head.weight", linear(VOCAB, HIDDEN), "FloatStorage"),
        ("q_head.weight", linear(2, HIDDEN), "FloatStorage"),
        ("q_head.bias", np.array([-5, -5], dtype=np.float32), "FloatStorage"),
        ("puzzle_emb.weights", None, "FloatStorage"),
    ]
    for layer in range(LAYERS):
        base = f"L_level.layers.{layer}."
        params += [
            (base + "self_attn.qkv_proj.weight", linear(3 * HIDDEN, HIDDEN), "FloatStorage"),
            (base + "self_attn.o_proj.weight", linear(HIDDEN, HIDDEN), "FloatStorage"),
            (base + "mlp.gate_up_proj.weight", linear(2 * inter, HIDDEN), "FloatStorage"),
            (base + "mlp.down_proj.weight", linear(HIDDEN, inter), "FloatStorage"),
        ]

    digest = hashlib.sha256()
    items = []
    for index, (name, values, storage_class) in enumerate(params):
        key = str(index)
        if values is None:
            storage = fx.Storage(storage_class, key, table_chunks(rng, args.rows, digest), args.rows * HIDDEN)
            shape = (args.rows, HIDDEN)
        elif storage_class == "BFloat16Storage":
            storage = fx.bf16_storage(key, values)
            shape = values.shape
        else:
            storage = fx.float_storage(key, values)
            shape = values.shape
        stride = tuple(int(np.prod(shape[d + 1:])) for d in range(len(shape)))
        items.append((PREFIX + name, fx.Tensor(storage, shape, stride)))

    folder = "step_518071"
    path = os.path.join(args.out, folder)
    fx.write_torch_style_zip(path, fx.checkpoint_files(folder, fx.state_dict(items)))

    with open(os.path.join(args.out, "table.json"), "w") as f:
        json.dump({"key": PREFIX + "puzzle_emb.weights", "rows": args.rows, "columns": HIDDEN, "float32_sha256": digest.hexdigest(), "seed": args.seed}, f)
        f.write("\n")
    with open(os.path.join(args.out, "dataset.json"), "w") as f:
        json.dump({"pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": VOCAB, "seq_len": SEQ_LEN, "num_puzzle_identifiers": args.rows, "sets": ["all"]}, f)
        f.write("\n")
    with open(os.path.join(args.out, "all_config.yaml"), "w") as f:
        f.write(ALL_CONFIG)
    names, tasks = synthetic_identifiers(np.random.default_rng(args.seed + 1), args.rows)
    with open(os.path.join(args.out, "identifiers.json"), "w") as f:
        json.dump(names, f)
    with open(os.path.join(args.out, "test_puzzles.json"), "w") as f:
        grid = lambda h, w: rng.integers(0, 10, (h, w)).tolist()
        json.dump({t: {"train": [], "test": [{"input": grid(12, 15)}]} for t in tasks[:2]}, f)
    print(f"wrote {path} ({os.path.getsize(path)} bytes; puzzle_emb.weights [{args.rows}, {HIDDEN}] float32, sha256 {digest.hexdigest()})")


def synthetic_identifiers(rng, rows, tasks=960):
    """Identifiers shaped like the official build's: row 0 blank, then each task's rows together."""
    names = ["<blank>"]
    ids = [f"{i:08x}" for i in rng.choice(2**32, tasks, replace=False)]
    per_task = [(rows - 1) // tasks + (1 if i < (rows - 1) % tasks else 0) for i in range(tasks)]
    for task, count in zip(ids, per_task):
        names.append(task)
        for _ in range(count - 1):
            perm = "0" + "".join(str(c) for c in rng.permutation(np.arange(1, 10)))
            names.append(f"{task}|||t{rng.integers(0, 8)}|||{perm}")
    return names, ids


# The official arch of config/arch/trm.yaml with the ARC run's overrides, in
# the layout pretrain.py writes (yaml.dump of the config, keys sorted).
# Training fields are placeholders: they do not influence the model.
ALL_CONFIG = f"""arch:
  H_cycles: 3
  H_layers: 0
  L_cycles: 4
  L_layers: {LAYERS}
  expansion: {EXPANSION}
  forward_dtype: bfloat16
  halt_exploration_prob: 0.1
  halt_max_steps: 16
  hidden_size: {HIDDEN}
  loss:
    loss_type: stablemax_cross_entropy
    name: losses@ACTLossHead
  mlp_t: false
  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1
  no_ACT_continue: true
  num_heads: {HEADS}
  pos_encodings: rope
  puzzle_emb_len: {PUZZLE_EMB_LEN}
  puzzle_emb_ndim: {HIDDEN}
beta1: 0.9
beta2: 0.95
checkpoint_every_eval: true
checkpoint_path: checkpoints/synthetic-arc
data_paths:
- data/arc1concept-aug-1000
data_paths_test: []
ema: true
ema_rate: 0.999
epochs: 100000
eval_interval: 10000
eval_save_outputs: []
evaluators:
- name: arc@ARC
freeze_weights: false
global_batch_size: 768
load_checkpoint: null
lr: 0.0001
lr_min_ratio: 1.0
lr_warmup_steps: 2000
min_eval_interval: 0
project_name: synthetic-arc
puzzle_emb_lr: 0.01
puzzle_emb_weight_decay: 0.1
run_name: synthetic-arc
seed: 0
weight_decay: 0.1
"""

if __name__ == "__main__":
    main()
