"""A small Vision Transformer for 28x28 grey images (Fashion-MNIST).

    patch embedding: Conv2d 1 -> 64, kernel 7, stride 7       28x28 -> 4x4 = 16 tokens
    + learned position embedding
    3 x pre-norm encoder block (dim 64, 4 heads of 16, MLP 128, GELU):
        x = x + proj(attention(LN(x)))     attention = softmax(Q Kᵀ / 4) V
        x = x + fc2(GELU(fc1(LN(x))))
    LayerNorm, mean over tokens, Linear 64 -> 10

The attention's two products (Q·Kᵀ and softmax·V) are written as plain `torch.matmul`, so
stage 1 can intercept them (cim/dynamic.py) without any change to this file; every
Linear and the patch Conv2d run on the crossbar model like any other layer.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not a multiple of heads {heads}")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, 3 * dim)
        self.proj = nn.Linear(dim, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        b, t, d = x.shape
        qkv = self.qkv(x).reshape(b, t, 3, self.heads, d // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]                       # [B, H, T, dh]
        scores = torch.matmul(q, k.transpose(-2, -1)) * self.scale
        if mask is not None:
            scores = scores.masked_fill(mask, float("-inf"))
        att = F.softmax(scores, dim=-1)
        out = torch.matmul(att, v)                             # [B, H, T, dh]
        return self.proj(out.transpose(1, 2).reshape(b, t, d))


class Block(nn.Module):
    """Pre-norm transformer block (ViT / GPT-2 layout)."""

    def __init__(self, dim: int, heads: int, mlp: int):
        super().__init__()
        self.ln1 = nn.LayerNorm(dim)
        self.attn = Attention(dim, heads)
        self.ln2 = nn.LayerNorm(dim)
        self.fc1 = nn.Linear(dim, mlp)
        self.fc2 = nn.Linear(mlp, dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        x = x + self.attn(self.ln1(x), mask)
        return x + self.fc2(F.gelu(self.fc1(self.ln2(x))))


class ViTFMNIST(nn.Module):
    def __init__(self, num_classes: int = 10, in_channels: int = 1, image: int = 28,
                 patch: int = 7, dim: int = 64, depth: int = 3, heads: int = 4, mlp: int = 128):
        super().__init__()
        if image % patch:
            raise ValueError(f"image size {image} is not a multiple of the patch size {patch}")
        self.patch = nn.Conv2d(in_channels, dim, patch, stride=patch)
        self.pos = nn.Parameter(torch.randn(1, (image // patch) ** 2, dim) * 0.02)
        self.blocks = nn.ModuleList([Block(dim, heads, mlp) for _ in range(depth)])
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Linear(dim, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.patch(x).flatten(2).transpose(1, 2) + self.pos   # [B, T, dim]
        for blk in self.blocks:
            x = blk(x)
        return self.head(self.norm(x).mean(1))


from models import register_model  # noqa: E402

register_model("vit_fmnist", ViTFMNIST, "fashion_mnist", "checkpoints/vit_fmnist.pt",
               "small Vision Transformer (patch 7, dim 64, 3 blocks, 4 heads)",
               {"epochs": 20, "lr": 2e-3, "batch_size": 128})
