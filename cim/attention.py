"""`nn.MultiheadAttention` rebuilt from `nn.Linear` layers, so `convert_model` can map it.

torch's module keeps its input projection as a bare parameter and runs it inside
`F.multi_head_attention_forward`, out of reach of the crossbar wrappers and of the dynamic
product interception. `split_multihead_attention` replaces every instance in a model (in
place, before conversion) by `LinearMultiheadAttention`: the same weights as four
`nn.Linear` layers (q, k, v, out) and the attention written as `torch.matmul` + `F.softmax`,
so the projections run on the crossbar like any Linear and Q·Kᵀ and P·V are dynamic products.
Its call signature and outputs are those of `nn.MultiheadAttention` (batch_first, attn_mask,
key_padding_mask, need_weights, average_attn_weights, unbatched inputs).
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F


def _linear(weight: torch.Tensor, bias: torch.Tensor | None) -> nn.Linear:
    lin = nn.Linear(weight.shape[1], weight.shape[0], bias=bias is not None,
                    device=weight.device, dtype=weight.dtype)
    with torch.no_grad():
        lin.weight.copy_(weight)
        if bias is not None:
            lin.bias.copy_(bias)
    return lin


def _float_mask(mask: torch.Tensor | None, name: str, dtype: torch.dtype) -> torch.Tensor | None:
    """torch's convention: a boolean mask is True where attention is NOT allowed; a float
    mask is added to the scores."""
    if mask is None:
        return None
    if mask.dtype == torch.bool:
        return torch.zeros(mask.shape, dtype=dtype, device=mask.device).masked_fill(mask, float("-inf"))
    if not torch.is_floating_point(mask):
        raise ValueError(f"{name} must be a bool or float tensor, got {mask.dtype}")
    return mask.to(dtype)


class LinearMultiheadAttention(nn.Module):
    """Drop-in for an `nn.MultiheadAttention` (see the module docstring)."""

    def __init__(self, mha: nn.MultiheadAttention, name: str = ""):
        super().__init__()
        from .layers import MappingError
        if mha.bias_k is not None or mha.add_zero_attn:
            raise MappingError(f"layer '{name}' (MultiheadAttention): add_bias_kv / add_zero_attn "
                               "are not supported; build it without them")
        e = mha.embed_dim
        self.embed_dim, self.num_heads, self.head_dim = e, mha.num_heads, mha.head_dim
        self.kdim, self.vdim = mha.kdim, mha.vdim
        self.batch_first, self.dropout = mha.batch_first, mha.dropout
        b = mha.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:e], b[e:2 * e], b[2 * e:])
        if mha._qkv_same_embed_dim:
            wq, wk, wv = mha.in_proj_weight[:e], mha.in_proj_weight[e:2 * e], mha.in_proj_weight[2 * e:]
        else:
            wq, wk, wv = mha.q_proj_weight, mha.k_proj_weight, mha.v_proj_weight
        self.q_proj = _linear(wq.detach(), None if bq is None else bq.detach())
        self.k_proj = _linear(wk.detach(), None if bk is None else bk.detach())
        self.v_proj = _linear(wv.detach(), None if bv is None else bv.detach())
        o = mha.out_proj
        self.out_proj = _linear(o.weight.detach(), None if o.bias is None else o.bias.detach())
        self.train(mha.training)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        if is_causal and attn_mask is None:
            raise ValueError("MultiheadAttention: is_causal=True needs attn_mask (as in torch)")
        unbatched = query.dim() == 2
        if unbatched:
            query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        elif self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        # now sequence-first [L, N, E]; the projections see tokens per image: [N, L, E]
        query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        n, l, s, h, d = query.shape[0], query.shape[1], key.shape[1], self.num_heads, self.head_dim
        q = self.q_proj(query).reshape(n, l, h, d).transpose(1, 2)          # [N, H, L, d]
        k = self.k_proj(key).reshape(n, s, h, d).transpose(1, 2)            # [N, H, S, d]
        v = self.v_proj(value).reshape(n, s, h, d).transpose(1, 2)
        scores = torch.matmul(q, k.transpose(-2, -1)) * (1.0 / math.sqrt(d))  # [N, H, L, S]
        mask = _float_mask(attn_mask, "attn_mask", scores.dtype)
        if mask is not None:
            mask = mask.reshape(n, h, l, s) if mask.dim() == 3 else mask
            scores.add_(mask)          # in place: a masking step, not a recorded residual add
        pad = _float_mask(key_padding_mask, "key_padding_mask", scores.dtype)
        if pad is not None:
            scores.add_(pad.reshape(n, 1, 1, s))
        p = F.softmax(scores, dim=-1)
        if self.dropout and self.training:
            p = F.dropout(p, self.dropout)
        out = torch.matmul(p, v).transpose(1, 2).reshape(n, l, h * d)      # [N, L, E]
        out = self.out_proj(out)
        if unbatched:
            out = out.squeeze(0)
        elif not self.batch_first:
            out = out.transpose(0, 1)
        if not need_weights:
            return out, None
        w = p.mean(1) if average_attn_weights else p
        return out, (w.squeeze(0) if unbatched else w)


def split_multihead_attention(model: nn.Module) -> int:
    """Replace every `nn.MultiheadAttention` of `model` (in place) by a
    `LinearMultiheadAttention` with the same weights; returns how many were replaced.
    A model that is itself an `nn.MultiheadAttention` cannot be replaced in place."""
    from .layers import MappingError
    found = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.MultiheadAttention)]
    for name, m in found:
        if name == "":
            raise MappingError("the model itself is an nn.MultiheadAttention: wrap it in a "
                               "module so it can be replaced")
        parent = model
        parts = name.split(".")
        for part in parts[:-1]:
            parent = getattr(parent, part)
        setattr(parent, parts[-1], LinearMultiheadAttention(m, name))
    return len(found)


def merge_multihead_state(state: dict[str, torch.Tensor], plain: nn.Module) -> dict[str, torch.Tensor]:
    """The inverse of the split for a state dict: `state` (keys of a split model, CIM wrappers
    already removed) with every `<mha>.q_proj / k_proj / v_proj` of `plain`'s
    `nn.MultiheadAttention` layers put back as `in_proj_weight` / `in_proj_bias` (or
    `q/k/v_proj_weight`), so `plain.load_state_dict` accepts it."""
    out = dict(state)
    for name, m in plain.named_modules():
        if not isinstance(m, nn.MultiheadAttention):
            continue
        pre = f"{name}." if name else ""
        w = [out.pop(f"{pre}{p}_proj.weight") for p in "qkv"]
        b = [out.pop(f"{pre}{p}_proj.bias", None) for p in "qkv"]
        if m._qkv_same_embed_dim:
            out[f"{pre}in_proj_weight"] = torch.cat(w)
        else:
            for p, t in zip("qkv", w):
                out[f"{pre}{p}_proj_weight"] = t
        if b[0] is not None:
            out[f"{pre}in_proj_bias"] = torch.cat(b)
    return out


__all__ = ["LinearMultiheadAttention", "split_multihead_attention", "merge_multihead_state"]
