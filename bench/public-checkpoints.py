"""Writes stand-ins of the public TRM and HRM checkpoints: their files, layout and sizes, random weights.

    python3 bench/public-checkpoints.py <layout> [--out DIR] [--checkpoint-name NAME] [--rows N] [--hidden N] [--seed 0]

Nothing here can download the real ones, so each layout copies what those
repositories hold (sources in bench/RESULTS.md, "Public checkpoints"): the
state dict torch.save wrote from torch.compile(ACTLossHead(model)) (keys
`_orig_mod.model.inner.*`, parameters float32, H_init/L_init bfloat16 because
forward_dtype is bfloat16), under the repository's file name, beside the
all_config.yaml its pretrain.py writes. Weights are random; shapes are the
published ones. Written torch's way (zip64 records, data descriptors, 64-byte
aligned data) by test/fixtures/checkpoints/generate.py's stand-ins, without
torch; a puzzle table goes to disk 4096 rows at a time, never held in memory.

Layouts (default --out /tmp/trm-public/<layout>; never commit these):
  hrm-sudoku   sapientinc/HRM-checkpoint-sudoku-extreme: `checkpoint` (27,275,266 parameters, vocab 11),
               all_config.yaml (HRM's: data_path, no forward_dtype / puzzle_emb_len / mlp_t)
  hrm-maze     sapientinc/HRM-checkpoint-maze-30x30-hard: the same with vocab 6 (27,270,146)
  hrm-arc2     sapientinc/HRM-checkpoint-ARC-2: vocab 12 (27,276,290) and a 1,045,829 x 512 float32
               puzzle table; also what HRM's dataset/build_arc_dataset.py writes beside it:
               identifiers.json (HRM's naming, "<task>_t<k>_<perm>") and test/dataset.json, and
               test_challenges.json (two of the tasks, random test inputs)
  trm-sudoku   TRM MLP-T Sudoku (Sanjin2024/TinyRecursiveModels-Sudoku-Extreme-mlp): step_16275
               (5,028,866 parameters), all_config.yaml (TRM's: mlp_t, pos_encodings none, L_cycles 6)
  trm-maze     TRM attention Maze-Hard (Sanjin2024/TinyRecursiveModel-Maze-Hard): step_9765, RoPE, L_cycles 4
  trm-arc1     arcprize/trm_arc_prize_verification arc_v1_public: step_518071, 876,406 x 512 table,
               identifiers.json (TRM's naming, "<task>|||t<k>|||<perm>"), test/dataset.json,
               test_puzzles.json, and table.json (the table's float32 sha256, for bench/stream-table.ts)
--checkpoint-name renames the checkpoint file (the alphaXiv repos hold the TRM layouts as
step_32550_sudoku_epoch50k and maze_hard_step_32550); --rows resizes the puzzle table;
--hidden shrinks the width (heads: hidden / 64, at least 1) for the tiny copies of the
layouts that test/node/public-layouts.test.ts converts (test/fixtures/checkpoints/public/).
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

HIDDEN, EXPANSION = 512, 4
CHUNK_ROWS = 4096
PREFIX = "_orig_mod.model.inner."

# layout -> (family, file name, vocab, seq_len, table rows, extra arch fields)
LAYOUTS = {
    "hrm-sudoku": ("hrm", "checkpoint", 11, 81, 1, {}),
    "hrm-maze": ("hrm", "checkpoint", 6, 900, 1, {}),
    "hrm-arc2": ("hrm", "checkpoint", 12, 900, 1045829, {}),
    "trm-sudoku": ("trm", "step_16275", 11, 81, 1, {"mlp_t": True, "pos_encodings": "none", "L_cycles": 6}),
    "trm-maze": ("trm", "step_9765", 6, 900, 1, {"mlp_t": False, "pos_encodings": "rope", "L_cycles": 4}),
    "trm-arc1": ("trm", "step_518071", 12, 900, 876406, {"mlp_t": False, "pos_encodings": "rope", "L_cycles": 4}),
}
ARC_TASKS = {"hrm-arc2": 1120, "trm-arc1": 960}  # ARC-AGI-2 training + evaluation; ARC-AGI-1 + ConceptARC groups
PUZZLE_EMB_LEN = {"hrm": 1, "trm": 16}  # HRM: ceil(puzzle_emb_ndim / hidden); TRM: puzzle_emb_len


def swiglu_width(n, expansion):
    # The official _find_multiple(round(expansion * n * 2 / 3), 256); Python's round() as there.
    return math.ceil(round(expansion * n * 2 / 3) / 256) * 256


def table_chunks(rng, rows, hidden, digest):
    for first in range(0, rows, CHUNK_ROWS):
        chunk = rng.standard_normal((min(CHUNK_ROWS, rows - first), hidden), dtype=np.float32).astype("<f4").tobytes()
        digest.update(chunk)
        yield chunk


def state_dict_params(rng, family, vocab, seq_len, arch, hidden):
    """(key, array or None for the puzzle table, storage class) in the order the official model registers them."""
    def linear(out_features, in_features):
        return rng.standard_normal((out_features, in_features), dtype=np.float32) / np.float32(math.sqrt(in_features))

    inter = swiglu_width(hidden, EXPANSION)
    params = [
        ("H_init", rng.standard_normal(hidden, dtype=np.float32), "BFloat16Storage"),
        ("L_init", rng.standard_normal(hidden, dtype=np.float32), "BFloat16Storage"),
        ("embed_tokens.embedding_weight", rng.standard_normal((vocab, hidden), dtype=np.float32), "FloatStorage"),
        ("lm_head.weight", linear(vocab, hidden), "FloatStorage"),
        ("q_head.weight", linear(2, hidden), "FloatStorage"),
        ("q_head.bias", np.array([-5, -5], dtype=np.float32), "FloatStorage"),
        ("puzzle_emb.weights", None, "FloatStorage"),
    ]
    levels = [("H_level", 4), ("L_level", 4)] if family == "hrm" else [("L_level", 2)]
    positions = seq_len + PUZZLE_EMB_LEN[family]
    for level, layers in levels:
        for layer in range(layers):
            base = f"{level}.layers.{layer}."
            if arch.get("mlp_t"):  # TRM's MLP-T: a SwiGLU over positions instead of attention
                inter_t = swiglu_width(positions, EXPANSION)
                params += [(base + "mlp_t.gate_up_proj.weight", linear(2 * inter_t, positions), "FloatStorage"),
                           (base + "mlp_t.down_proj.weight", linear(positions, inter_t), "FloatStorage")]
            else:
                params += [(base + "self_attn.qkv_proj.weight", linear(3 * hidden, hidden), "FloatStorage"),
                           (base + "self_attn.o_proj.weight", linear(hidden, hidden), "FloatStorage")]
            params += [(base + "mlp.gate_up_proj.weight", linear(2 * inter, hidden), "FloatStorage"),
                       (base + "mlp.down_proj.weight", linear(hidden, inter), "FloatStorage")]
    return params


def hrm_config(data_path, hidden):
    # sapientinc/HRM pretrain.py: yaml.dump(PretrainConfig.model_dump()) with config/arch/hrm_v1.yaml
    # (${.hidden_size} already resolved); no forward_dtype, so the model's default, bfloat16.
    return f"""arch:
  H_cycles: 2
  H_layers: 4
  L_cycles: 2
  L_layers: 4
  expansion: {EXPANSION}
  halt_exploration_prob: 0.1
  halt_max_steps: 16
  hidden_size: {hidden}
  loss:
    loss_type: stablemax_cross_entropy
    name: losses@ACTLossHead
  name: hrm.hrm_act_v1@HierarchicalReasoningModel_ACTV1
  num_heads: {max(1, hidden // 64)}
  pos_encodings: rope
  puzzle_emb_ndim: {hidden}
beta1: 0.9
beta2: 0.95
checkpoint_every_eval: true
checkpoint_path: checkpoints/stand-in
data_path: {data_path}
epochs: 20000
eval_interval: 2000
eval_save_outputs: []
global_batch_size: 768
lr: 0.0001
lr_min_ratio: 1.0
lr_warmup_steps: 2000
project_name: stand-in
puzzle_emb_lr: 0.0001
puzzle_emb_weight_decay: 1.0
run_name: stand-in
seed: 0
weight_decay: 1.0
"""


def trm_config(arch, data_path, hidden):
    # TinyRecursiveModels pretrain.py: config/arch/trm.yaml with the run's overrides, keys sorted.
    return f"""arch:
  H_cycles: 3
  H_layers: 0
  L_cycles: {arch["L_cycles"]}
  L_layers: 2
  expansion: {EXPANSION}
  forward_dtype: bfloat16
  halt_exploration_prob: 0.1
  halt_max_steps: 16
  hidden_size: {hidden}
  loss:
    loss_type: stablemax_cross_entropy
    name: losses@ACTLossHead
  mlp_t: {str(arch["mlp_t"]).lower()}
  name: recursive_reasoning.trm@TinyRecursiveReasoningModel_ACTV1
  no_ACT_continue: true
  num_heads: {max(1, hidden // 64)}
  pos_encodings: {arch["pos_encodings"]}
  puzzle_emb_len: 16
  puzzle_emb_ndim: {hidden}
beta1: 0.9
beta2: 0.95
checkpoint_every_eval: true
checkpoint_path: checkpoints/stand-in
data_paths:
- {data_path}
data_paths_test: []
ema: true
ema_rate: 0.999
epochs: 50000
eval_interval: 5000
eval_save_outputs: []
evaluators: []
freeze_weights: false
global_batch_size: 768
load_checkpoint: null
lr: 0.0001
lr_min_ratio: 1.0
lr_warmup_steps: 2000
min_eval_interval: 0
project_name: stand-in
puzzle_emb_lr: 0.0001
puzzle_emb_weight_decay: 1.0
run_name: stand-in
seed: 0
weight_decay: 1.0
"""


def arc_identifiers(rng, rows, tasks, naming):
    """Row 0 blank, then each task's original and its augmentations together, as both builders order them."""
    names = ["<blank>"]
    ids = [f"{i:08x}" for i in rng.choice(2**32, tasks, replace=False)]
    per_task = [(rows - 1) // tasks + (1 if i < (rows - 1) % tasks else 0) for i in range(tasks)]
    for task, count in zip(ids, per_task):
        names.append(task)
        for _ in range(count - 1):
            perm = "0" + "".join(str(c) for c in rng.permutation(np.arange(1, 10)))
            t = rng.integers(0, 8)
            names.append(f"{task}|||t{t}|||{perm}" if naming == "trm" else f"{task}_t{t}_{perm}")
    return names, ids


def write_json(path, value):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(value, f)
        f.write("\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("layout", choices=sorted(LAYOUTS))
    parser.add_argument("--out", help="default: /tmp/trm-public/<layout>")
    parser.add_argument("--checkpoint-name", help="the checkpoint's file name (default: the repository's)")
    parser.add_argument("--rows", type=int, help="puzzle-embedding rows (default: the published count)")
    parser.add_argument("--hidden", type=int, default=HIDDEN, help="hidden size (default: the published 512)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    hidden = args.hidden
    family, file_name, vocab, seq_len, rows, arch = LAYOUTS[args.layout]
    rows = args.rows or rows
    file_name = args.checkpoint_name or file_name
    out = args.out or os.path.join("/tmp/trm-public", args.layout)
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(args.seed)

    digest = hashlib.sha256()
    items = []
    for index, (name, values, storage_class) in enumerate(state_dict_params(rng, family, vocab, seq_len, arch, hidden)):
        key = str(index)
        if values is None:
            storage = fx.Storage(storage_class, key, table_chunks(rng, rows, hidden, digest), rows * hidden)
            shape = (rows, hidden)
        elif storage_class == "BFloat16Storage":
            storage = fx.bf16_storage(key, values)
            shape = values.shape
        else:
            storage = fx.float_storage(key, values)
            shape = values.shape
        stride = tuple(int(np.prod(shape[d + 1:])) for d in range(len(shape)))
        items.append((PREFIX + name, fx.Tensor(storage, shape, stride)))
    path = os.path.join(out, file_name)
    # torch.save names the archive's folder after the file it writes: pretrain.py's step_<N>
    folder = file_name if file_name.startswith("step_") else "step_52080"
    fx.write_torch_style_zip(path, fx.checkpoint_files(folder, fx.state_dict(items)))

    data_path = {"sudoku": "data/sudoku-extreme-1k-aug-1000", "maze": "data/maze-30x30-hard-1k"}.get(args.layout.split("-")[1], "data/arc-aug-1000")
    with open(os.path.join(out, "all_config.yaml"), "w") as f:
        f.write(hrm_config(data_path, hidden) if family == "hrm" else trm_config(arch, data_path, hidden))
    if args.layout in ARC_TASKS:
        write_json(os.path.join(out, "test", "dataset.json"), {
            "pad_id": 0, "ignore_label_id": 0, "blank_identifier_id": 0, "vocab_size": vocab, "seq_len": seq_len,
            "num_puzzle_identifiers": rows, "total_groups": ARC_TASKS[args.layout], "mean_puzzle_examples": 1.0, "sets": ["all"],
        })
        names, tasks = arc_identifiers(np.random.default_rng(args.seed + 1), rows, ARC_TASKS[args.layout], family)
        write_json(os.path.join(out, "identifiers.json"), names)
        grid = lambda h, w: rng.integers(0, 10, (h, w)).tolist()
        write_json(os.path.join(out, "test_puzzles.json" if family == "trm" else "test_challenges.json"),
                   {t: {"train": [], "test": [{"input": grid(12, 15)}]} for t in tasks[:2]})
        write_json(os.path.join(out, "table.json"), {"key": PREFIX + "puzzle_emb.weights", "rows": rows, "columns": hidden, "float32_sha256": digest.hexdigest(), "seed": args.seed})
    print(f"wrote {path} ({os.path.getsize(path)} bytes; {len(items)} tensors, puzzle_emb.weights [{rows}, {hidden}] float32)")


if __name__ == "__main__":
    main()
