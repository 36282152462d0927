"""TRM in PyTorch with the official module and parameter names.

A re-implementation of models/recursive_reasoning/trm.py, models/layers.py and
models/losses.py of SamsungSAILMontreal/TinyRecursiveModels (commit e7b6871):
same maths, same initialisation, same state-dict keys, so a checkpoint saved
from ACTLossHead(TinyRecursiveReasoningModel_ACTV1(cfg)) has the
`model.inner.*` keys of an official run (`_orig_mod.` is added when saving,
as torch.compile does officially).
"""
import math
from dataclasses import dataclass
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

IGNORE_LABEL_ID = -100


def trunc_normal_init_(tensor: torch.Tensor, std: float = 1.0, lower: float = -2.0, upper: float = 2.0):
    """JAX-style truncated normal whose standard deviation really is `std`."""
    with torch.no_grad():
        if std == 0:
            return tensor.zero_()
        sqrt2 = math.sqrt(2)
        a, b = math.erf(lower / sqrt2), math.erf(upper / sqrt2)
        z = (b - a) / 2
        c = (2 * math.pi) ** -0.5
        pdf_u, pdf_l = c * math.exp(-0.5 * lower**2), c * math.exp(-0.5 * upper**2)
        comp_std = std / math.sqrt(1 - (upper * pdf_u - lower * pdf_l) / z - ((pdf_u - pdf_l) / z) ** 2)
        tensor.uniform_(a, b).erfinv_().mul_(sqrt2 * comp_std).clip_(lower * comp_std, upper * comp_std)
    return tensor


def rms_norm(x: torch.Tensor, eps: float) -> torch.Tensor:
    return x * torch.rsqrt(x.square().mean(-1, keepdim=True) + eps)


def swiglu_width(hidden: int, expansion: float) -> int:
    inter = round(expansion * hidden * 2 / 3)  # Python round: half to even, as officially
    return -(inter // -256) * 256


class CastedLinear(nn.Module):
    def __init__(self, in_features: int, out_features: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(trunc_normal_init_(torch.empty(out_features, in_features), std=1.0 / math.sqrt(in_features)))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)


class CastedEmbedding(nn.Module):
    def __init__(self, num: int, dim: int, init_std: float):
        super().__init__()
        self.embedding_weight = nn.Parameter(trunc_normal_init_(torch.empty(num, dim), std=init_std))

    def forward(self, ids):
        return F.embedding(ids, self.embedding_weight)


class CastedSparseEmbedding(nn.Module):
    """Puzzle embeddings: a table trained by sign-SGD on the rows a batch uses."""

    def __init__(self, num: int, dim: int, batch_size: int):
        super().__init__()
        self.register_buffer("weights", torch.zeros(num, dim), persistent=True)  # zero init, as officially
        self.register_buffer("local_weights", torch.zeros(batch_size, dim), persistent=False)
        self.register_buffer("local_ids", torch.zeros(batch_size, dtype=torch.long), persistent=False)
        self.local_weights.requires_grad_(True)

    def forward(self, ids):
        if not self.training:
            return self.weights[ids]
        with torch.no_grad():
            self.local_weights.copy_(self.weights[ids])
            self.local_ids.copy_(ids)
        return self.local_weights

    @torch.no_grad()
    def sign_sgd_step(self, lr: float, weight_decay: float):
        grad = self.local_weights.grad
        if grad is None:
            return
        ids, inv = self.local_ids.unique(return_inverse=True)
        summed = torch.zeros(ids.shape[0], grad.shape[1]).index_add_(0, inv, grad)
        rows = self.weights[ids]
        rows.mul_(1.0 - lr * weight_decay).add_(torch.sign(summed), alpha=-lr)
        self.weights[ids] = rows
        self.local_weights.grad = None


class RotaryEmbedding(nn.Module):
    def __init__(self, dim: int, max_positions: int, base: float):
        super().__init__()
        inv_freq = 1.0 / (base ** (torch.arange(0, dim, 2, dtype=torch.float32) / dim))
        freqs = torch.outer(torch.arange(max_positions, dtype=torch.float32), inv_freq)
        emb = torch.cat((freqs, freqs), dim=-1)
        self.register_buffer("cos_cached", emb.cos(), persistent=False)
        self.register_buffer("sin_cached", emb.sin(), persistent=False)

    def forward(self):
        return self.cos_cached, self.sin_cached


def rotate_half(x):
    x1, x2 = x[..., : x.shape[-1] // 2], x[..., x.shape[-1] // 2 :]
    return torch.cat((-x2, x1), dim=-1)


class Attention(nn.Module):
    def __init__(self, hidden: int, num_heads: int):
        super().__init__()
        self.num_heads, self.head_dim = num_heads, hidden // num_heads
        self.qkv_proj = CastedLinear(hidden, 3 * hidden, bias=False)
        self.o_proj = CastedLinear(hidden, hidden, bias=False)

    def forward(self, cos_sin, hidden_states):
        B, S, _ = hidden_states.shape
        qkv = self.qkv_proj(hidden_states).view(B, S, 3 * self.num_heads, self.head_dim)
        q, k, v = qkv[:, :, : self.num_heads], qkv[:, :, self.num_heads : 2 * self.num_heads], qkv[:, :, 2 * self.num_heads :]
        if cos_sin is not None:
            cos, sin = cos_sin
            cos, sin = cos.unsqueeze(-2), sin.unsqueeze(-2)  # (S, 1, head_dim)
            q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        q, k, v = (t.transpose(1, 2) for t in (q, k, v))  # (B, heads, S, head_dim)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(self.head_dim)  # (B, heads, S, S)
        out = torch.matmul(scores.softmax(-1), v)  # torch 1.13 has no scaled_dot_product_attention
        return self.o_proj(out.transpose(1, 2).reshape(B, S, -1))


class SwiGLU(nn.Module):
    def __init__(self, hidden: int, expansion: float):
        super().__init__()
        inter = swiglu_width(hidden, expansion)
        self.gate_up_proj = CastedLinear(hidden, 2 * inter, bias=False)
        self.down_proj = CastedLinear(inter, hidden, bias=False)

    def forward(self, x):
        gate, up = self.gate_up_proj(x).chunk(2, dim=-1)
        return self.down_proj(F.silu(gate) * up)


@dataclass
class TRMConfig:
    batch_size: int
    seq_len: int
    vocab_size: int
    num_puzzle_identifiers: int
    H_cycles: int
    L_cycles: int
    H_layers: int
    L_layers: int
    hidden_size: int
    expansion: float
    num_heads: int
    pos_encodings: str
    puzzle_emb_ndim: int
    puzzle_emb_len: int
    halt_max_steps: int
    halt_exploration_prob: float
    mlp_t: bool
    no_ACT_continue: bool = True
    forward_dtype: str = "float32"
    rms_norm_eps: float = 1e-5
    rope_theta: float = 10000.0

    @property
    def effective_puzzle_emb_len(self) -> int:
        return -(self.puzzle_emb_ndim // -self.hidden_size) if self.puzzle_emb_len == 0 else self.puzzle_emb_len


class TinyRecursiveReasoningModel_ACTV1Block(nn.Module):
    def __init__(self, cfg: TRMConfig):
        super().__init__()
        self.cfg = cfg
        if cfg.mlp_t:
            self.mlp_t = SwiGLU(cfg.seq_len + cfg.effective_puzzle_emb_len, cfg.expansion)
        else:
            self.self_attn = Attention(cfg.hidden_size, cfg.num_heads)
        self.mlp = SwiGLU(cfg.hidden_size, cfg.expansion)

    def forward(self, cos_sin, hidden_states):
        eps = self.cfg.rms_norm_eps
        if self.cfg.mlp_t:  # post-norm MLP over the positions axis
            h = hidden_states.transpose(1, 2)
            hidden_states = rms_norm(h + self.mlp_t(h), eps).transpose(1, 2)
        else:
            hidden_states = rms_norm(hidden_states + self.self_attn(cos_sin, hidden_states), eps)
        return rms_norm(hidden_states + self.mlp(hidden_states), eps)


class TinyRecursiveReasoningModel_ACTV1ReasoningModule(nn.Module):
    def __init__(self, layers):
        super().__init__()
        self.layers = nn.ModuleList(layers)

    def forward(self, hidden_states, input_injection, cos_sin):
        hidden_states = hidden_states + input_injection
        for layer in self.layers:
            hidden_states = layer(cos_sin, hidden_states)
        return hidden_states


class TinyRecursiveReasoningModel_ACTV1_Inner(nn.Module):
    def __init__(self, cfg: TRMConfig):
        super().__init__()
        self.cfg = cfg
        self.embed_scale = math.sqrt(cfg.hidden_size)
        self.embed_tokens = CastedEmbedding(cfg.vocab_size, cfg.hidden_size, init_std=1.0 / self.embed_scale)
        self.lm_head = CastedLinear(cfg.hidden_size, cfg.vocab_size, bias=False)
        self.q_head = CastedLinear(cfg.hidden_size, 2, bias=True)
        self.puzzle_emb_len = cfg.effective_puzzle_emb_len
        if cfg.puzzle_emb_ndim > 0:
            self.puzzle_emb = CastedSparseEmbedding(cfg.num_puzzle_identifiers, cfg.puzzle_emb_ndim, cfg.batch_size)
        positions = cfg.seq_len + self.puzzle_emb_len
        if cfg.pos_encodings == "rope":
            self.rotary_emb = RotaryEmbedding(cfg.hidden_size // cfg.num_heads, positions, cfg.rope_theta)
        elif cfg.pos_encodings == "learned":
            self.embed_pos = CastedEmbedding(positions, cfg.hidden_size, init_std=1.0 / self.embed_scale)
        self.L_level = TinyRecursiveReasoningModel_ACTV1ReasoningModule(
            [TinyRecursiveReasoningModel_ACTV1Block(cfg) for _ in range(cfg.L_layers)]
        )
        self.register_buffer("H_init", trunc_normal_init_(torch.empty(cfg.hidden_size), std=1), persistent=True)
        self.register_buffer("L_init", trunc_normal_init_(torch.empty(cfg.hidden_size), std=1), persistent=True)
        with torch.no_grad():  # Q starts near "don't halt" for fast bootstrapping, as officially
            self.q_head.weight.zero_()
            self.q_head.bias.fill_(-5)

    def input_embeddings(self, inputs, puzzle_identifiers):
        embedding = self.embed_tokens(inputs)  # (B, seq, H)
        if self.cfg.puzzle_emb_ndim > 0:
            puzzle = self.puzzle_emb(puzzle_identifiers)  # (B, ndim)
            pad = self.puzzle_emb_len * self.cfg.hidden_size - puzzle.shape[-1]
            if pad > 0:
                puzzle = F.pad(puzzle, (0, pad))
            embedding = torch.cat((puzzle.view(-1, self.puzzle_emb_len, self.cfg.hidden_size), embedding), dim=-2)
        if self.cfg.pos_encodings == "learned":
            embedding = 0.707106781 * (embedding + self.embed_pos.embedding_weight)
        return self.embed_scale * embedding  # (B, P + seq, H)

    def reset_carry(self, reset, z_H, z_L):
        return torch.where(reset.view(-1, 1, 1), self.H_init, z_H), torch.where(reset.view(-1, 1, 1), self.L_init, z_L)

    def forward(self, z_H, z_L, batch):
        """One supervision step: H_cycles x {L_cycles x z_L update; z_H update}; gradient through the last cycle only."""
        cos_sin = self.rotary_emb() if hasattr(self, "rotary_emb") else None
        x = self.input_embeddings(batch["inputs"], batch["puzzle_identifiers"])
        with torch.no_grad():
            for _ in range(self.cfg.H_cycles - 1):
                for _ in range(self.cfg.L_cycles):
                    z_L = self.L_level(z_L, z_H + x, cos_sin)
                z_H = self.L_level(z_H, z_L, cos_sin)
        for _ in range(self.cfg.L_cycles):
            z_L = self.L_level(z_L, z_H + x, cos_sin)
        z_H = self.L_level(z_H, z_L, cos_sin)
        logits = self.lm_head(z_H)[:, self.puzzle_emb_len :]
        q = self.q_head(z_H[:, 0])
        return z_H.detach(), z_L.detach(), logits, q[..., 0], q[..., 1]


class TinyRecursiveReasoningModel_ACTV1(nn.Module):
    """The ACT wrapper: the carry persists across calls; halted sequences take new puzzles."""

    def __init__(self, cfg: TRMConfig):
        super().__init__()
        self.config = cfg
        self.inner = TinyRecursiveReasoningModel_ACTV1_Inner(cfg)

    def initial_carry(self, batch):
        B = batch["inputs"].shape[0]
        positions = self.config.seq_len + self.inner.puzzle_emb_len
        return dict(
            z_H=torch.zeros(B, positions, self.config.hidden_size),
            z_L=torch.zeros(B, positions, self.config.hidden_size),
            steps=torch.zeros(B, dtype=torch.int32),
            halted=torch.ones(B, dtype=torch.bool),
            data={k: torch.zeros_like(v) for k, v in batch.items()},
        )

    def forward(self, carry, batch):
        halted = carry["halted"]
        z_H, z_L = self.inner.reset_carry(halted, carry["z_H"], carry["z_L"])
        steps = torch.where(halted, 0, carry["steps"])
        data = {k: torch.where(halted.view((-1,) + (1,) * (batch[k].ndim - 1)), batch[k], v) for k, v in carry["data"].items()}
        z_H, z_L, logits, q_halt, q_continue = self.inner(z_H, z_L, data)
        with torch.no_grad():
            steps = steps + 1
            halted = steps >= self.config.halt_max_steps
            if self.training and self.config.halt_max_steps > 1:
                halted = halted | (q_halt > 0)
                # Exploration: some sequences must run a random minimum number of steps.
                explore = torch.rand_like(q_halt) < self.config.halt_exploration_prob
                min_steps = explore * torch.randint_like(steps, low=2, high=self.config.halt_max_steps + 1)
                halted = halted & (steps >= min_steps)
        new_carry = dict(z_H=z_H, z_L=z_L, steps=steps, halted=halted, data=data)
        return new_carry, dict(logits=logits, q_halt_logits=q_halt, q_continue_logits=q_continue)


def log_stablemax(x, dim=-1):
    s = torch.where(x < 0, 1 / (1 - x + 1e-30), x + 1)
    return torch.log(s / s.sum(dim=dim, keepdim=True))


def stablemax_cross_entropy(logits, labels, valid_mask):
    logprobs = log_stablemax(logits.to(torch.float64), dim=-1)
    picked = torch.gather(logprobs, -1, torch.where(valid_mask, labels, 0).unsqueeze(-1)).squeeze(-1)
    return -torch.where(valid_mask, picked, 0)


class ACTLossHead(nn.Module):
    """Loss = stablemax cross-entropy on the answer + 0.5 BCE(q_halt, whole answer correct)."""

    def __init__(self, model: TinyRecursiveReasoningModel_ACTV1):
        super().__init__()
        self.model = model

    def forward(self, carry, batch):
        carry, out = self.model(carry, batch)
        labels = carry["data"]["labels"]
        with torch.no_grad():
            mask = labels != IGNORE_LABEL_ID
            counts = mask.sum(-1)
            preds = out["logits"].argmax(-1)
            is_correct = mask & (preds == labels)
            seq_correct = is_correct.sum(-1) == counts
            valid = carry["halted"] & (counts > 0)
            metrics = dict(
                count=valid.sum().item(),
                exact=(valid & seq_correct).sum().item(),
                cell=torch.where(valid, is_correct.float().sum(-1) / counts.clamp_min(1), 0).sum().item(),
                steps=torch.where(valid, carry["steps"], 0).sum().item(),
                q_halt_right=(valid & ((out["q_halt_logits"] >= 0) == seq_correct)).sum().item(),
            )
        lm_loss = (stablemax_cross_entropy(out["logits"], labels, mask) / counts.clamp_min(1).unsqueeze(-1)).sum()
        q_halt_loss = F.binary_cross_entropy_with_logits(out["q_halt_logits"], seq_correct.float(), reduction="sum")
        metrics.update(lm_loss=lm_loss.item(), q_halt_loss=q_halt_loss.item())
        return carry, lm_loss + 0.5 * q_halt_loss, metrics
