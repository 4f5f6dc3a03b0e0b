"""BERT-base and GPT-2-small, built from their published configurations, for chip-cost studies.

No download and no `transformers` dependency: the two architectures are written here
compactly, with the layer shapes of the published models, and run with seeded random weights
(`python inference_sim.py --set model=bert_base --random-init`). Inputs are random token ids
of `run.seq_len` tokens (`random_token_split`); with random weights there are no labels, so
stage 1 reports the top-1 agreement of the quantized and hardware passes with float.

    BERT-base (Devlin et al. 2019; bert-base-uncased config.json): vocabulary 30522,
    512 positions, 2 token types, hidden 768, 12 layers, 12 heads, intermediate 3072, GELU,
    post-norm (LayerNorm after each residual addition, eps 1e-12), pooler (Linear 768 + tanh
    on the first token).
    GPT-2 small (Radford et al. 2019; gpt2 config.json): vocabulary 50257, 1024 positions,
    n_embd 768, 12 layers, 12 heads, MLP 3072, GELU (tanh form), pre-norm, final LayerNorm
    (eps 1e-5), causal attention.

What differs from the published models, on purpose: the task heads. Both end in a 2-way
Linear (BERT on the pooled first token, GPT-2 on the last token) instead of GPT-2's
50257-way language-model head tied to the embedding; token and position embeddings are table
look-ups (digital memory reads) and are not priced by stage 2.
"""
from __future__ import annotations

import types

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .vit_fmnist import Attention, Block


class BertLayer(nn.Module):
    """Post-norm encoder layer (BERT)."""

    def __init__(self, dim: int, heads: int, mlp: int, eps: float):
        super().__init__()
        self.attn = Attention(dim, heads)
        self.ln1 = nn.LayerNorm(dim, eps=eps)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)
        self.ln2 = nn.LayerNorm(dim, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.ln1(x + self.attn(x))
        return self.ln2(x + self.fc2(F.gelu(self.fc1(x))))


def _init(module: nn.Module) -> None:
    """The published initialisation: N(0, 0.02) weights, zero biases, unit LayerNorm."""
    for m in module.modules():
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if getattr(m, "bias", None) is not None:
                nn.init.zeros_(m.bias)


class BertBase(nn.Module):
    vocab_size, max_positions = 30522, 512

    def __init__(self, num_classes: int = 2, in_channels: int = 1, dim: int = 768,
                 depth: int = 12, heads: int = 12, mlp: int = 3072):
        super().__init__()
        self.tok = nn.Embedding(self.vocab_size, dim)
        self.pos = nn.Embedding(self.max_positions, dim)
        self.segment = nn.Embedding(2, dim)
        self.ln = nn.LayerNorm(dim, eps=1e-12)
        self.layers = nn.ModuleList([BertLayer(dim, heads, mlp, 1e-12) for _ in range(depth)])
        self.pooler = nn.Linear(dim, dim)
        self.head = nn.Linear(dim, num_classes)
        _init(self)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        if t > self.max_positions:
            raise ValueError(f"sequence length {t} exceeds BERT's {self.max_positions} positions")
        pos = torch.arange(t, device=ids.device)
        x = self.ln(self.tok(ids) + self.pos(pos)[None] + self.segment(torch.zeros_like(ids)))
        for layer in self.layers:
            x = layer(x)
        return self.head(torch.tanh(self.pooler(x[:, 0])))


class GPT2Small(nn.Module):
    vocab_size, max_positions = 50257, 1024

    def __init__(self, num_classes: int = 2, in_channels: int = 1, dim: int = 768,
                 depth: int = 12, heads: int = 12, mlp: int = 3072):
        super().__init__()
        self.tok = nn.Embedding(self.vocab_size, dim)
        self.pos = nn.Embedding(self.max_positions, dim)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(depth)])
        for b in self.blocks:
            b.ln1.eps = b.ln2.eps = 1e-5
        self.ln_f = nn.LayerNorm(dim, eps=1e-5)
        self.head = nn.Linear(dim, num_classes)
        _init(self)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        t = ids.shape[1]
        if t > self.max_positions:
            raise ValueError(f"sequence length {t} exceeds GPT-2's {self.max_positions} positions")
        pos = torch.arange(t, device=ids.device)
        x = self.tok(ids) + self.pos(pos)[None]
        mask = torch.ones(t, t, dtype=torch.bool, device=ids.device).triu(1)
        for blk in self.blocks:
            x = blk(x, mask)
        return self.head(self.ln_f(x)[:, -1])


def random_token_split(model: nn.Module, n: int, seq_len: int, seed: int):
    """Seeded random token ids [n, seq_len] for a token model, zero labels, indices and a
    description (an object with `.source`)."""
    vocab = int(getattr(model, "vocab_size", 0))
    if vocab < 1:
        raise ValueError(f"model {type(model).__name__} has no vocab_size: it is not a token model")
    gen = torch.Generator().manual_seed(int(seed))
    x = torch.randint(0, vocab, (n, seq_len), generator=gen)
    src = types.SimpleNamespace(source=f"{n} random token sequences of {seq_len} tokens (seed {seed})")
    return x, torch.zeros(n, dtype=torch.long), np.arange(n), src


from models import register_model  # noqa: E402

register_model("bert_base", BertBase, "random_tokens", None,
               "BERT-base shapes (12 x 768, 12 heads), random weights, random token ids")
register_model("gpt2_small", GPT2Small, "random_tokens", None,
               "GPT-2 small shapes (12 x 768, 12 heads, causal), random weights, random token ids")


class GPT2Tiny(GPT2Small):
    """GPT-2's layout at toy size (2 layers, 64 wide, 2 heads, vocabulary 1000) for quick
    runs and tests; same code path as gpt2_small."""
    vocab_size, max_positions = 1000, 1024

    def __init__(self, num_classes: int = 2, in_channels: int = 1):
        super().__init__(num_classes, in_channels, dim=64, depth=2, heads=2, mlp=256)


register_model("gpt2_tiny", GPT2Tiny, "random_tokens", None,
               "GPT-2 layout at toy size (2 x 64, 2 heads) for quick runs and tests")
