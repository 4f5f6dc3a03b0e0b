"""Stage 1 for attention models: dynamic matrix products and digital special functions.

A transformer has matrix products whose two operands are both computed at run time
(attention's Q·Kᵀ and softmax·V). They cannot be stored in the crossbar ahead of time like
a weight layer. This module runs them, without any change to the model's code, as
`architecture.dynamic_matmul` says:

* ``digital``: both operands quantized (the left one to `precision.input_bits`, the right
  one to `precision.weight_bits`, symmetric, scale from the largest magnitude of the image's
  operand), exact integer product: what a digital MAC unit computes;
* ``crossbar``: the right operand is written into cells for every input, then read with the
  left operand applied bit-serially, exactly like a weight layer (the same cell model,
  non-idealities, ADC and shift-and-add: `cim.engine.CrossbarEngine`, one conv group per
  matrix of the batch).

Softmax, LayerNorm, GELU and residual additions stay digital; with `precision.sfu_bits` set,
the outputs of softmax / LayerNorm / GELU are quantized to that many bits.

Intercepted: `torch.matmul` / `@` / `bmm` between per-image tensors (both operands with a
batch dimension) and `F.scaled_dot_product_attention` (split into its two products and a
softmax); two-operand `torch.einsum` equations that are batched matrix products (rewritten as
permute / reshape + the matmul path; any other equation is refused with one line).
`nn.MultiheadAttention` is rebuilt from `nn.Linear` layers by `convert_model`
(`cim.attention`), so its projections are crossbar layers and its products are caught here.

Interception: a `torch.overrides.TorchFunctionMode`, not `torch.fx`. Attention code is full
of data-dependent reshapes, masks and Python control flow (causal masks, cached positions)
that symbolic tracing rejects or specialises; a function mode sees the calls that actually
run, with their real shapes, and needs nothing from the model. Calls made inside a crossbar
layer (its own quantization and engine) are not intercepted: forward hooks on the
`CIMLayer`s mark those regions.

Every operation is recorded once per pass in execution order (`DynamicOps.operations`):
weight layers (conv / linear, by their layer index), dynamic products, softmax, layernorm,
gelu and add, with per-image shapes, bit widths and, for the dynamic products, the bit
activity of both operands and their codes for the traced images.
"""
from __future__ import annotations

import contextlib
import math
from typing import Any

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

from .engine import CrossbarEngine
from .hardware import HardwareParams, input_bits
from .layers import CIMContext, CIMLayer, MappingError

DYNAMIC_MODES = ("digital", "crossbar")
# layer keys of dynamic products start here (separate random streams from weight layers)
DYNAMIC_KEY_BASE = 1 << 20

_MATMULS = {torch.matmul, torch.Tensor.matmul, torch.Tensor.__matmul__, torch.bmm,
            torch.Tensor.bmm}
_SOFTMAX = {F.softmax, torch.softmax, torch.Tensor.softmax}
_LAYERNORM = {F.layer_norm}
_GELU = {F.gelu}
_ADD = {torch.add, torch.Tensor.add, torch.Tensor.__add__, torch.Tensor.__radd__}


def quantize_per_image(x: torch.Tensor, bits: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric signed quantization with one scale per image (dim 0): codes in
    [-(2^(b-1)-1), 2^(b-1)-1] and scales [B, 1, ...] (a digital unit can find the largest
    magnitude of an operand it holds; no calibration data needed)."""
    top = 2 ** (bits - 1) - 1
    m = x.detach().abs().reshape(x.shape[0], -1).amax(1) if x.numel() else x.new_zeros(x.shape[0])
    s = torch.where(m > 0, m / top, torch.ones_like(m)).reshape(-1, *([1] * (x.dim() - 1)))
    return torch.clamp(torch.round(x / s), -top, top), s


def quantize_unsigned(x: torch.Tensor, bits: int) -> torch.Tensor:
    """Softmax output in [0, 1] to `bits` unsigned bits (step 1 / (2^b - 1))."""
    top = 2 ** bits - 1
    return torch.round(x * top) / top


class DynamicOps(TorchFunctionMode):
    """Runs and records the non-weight operations of a model converted by `convert_model`.

    Use: ``dyn = DynamicOps(model, ctx, "digital", sfu_bits=None)`` once, then run the
    model inside ``with dyn:``; the behaviour follows `ctx.mode` (float / calibrate: float
    products, recorded; quantized: quantized operands, exact product; hardware: as
    `dynamic_matmul` says)."""

    def __init__(self, model: torch.nn.Module, ctx: CIMContext, dynamic_matmul: str = "digital",
                 sfu_bits: int | None = None):
        super().__init__()
        if dynamic_matmul not in DYNAMIC_MODES:
            raise MappingError(f"architecture.dynamic_matmul = {dynamic_matmul!r}; valid: "
                               f"{', '.join(DYNAMIC_MODES)}")
        self.ctx = ctx
        self.params: HardwareParams = ctx.params
        self.dynamic_matmul = dynamic_matmul
        self.sfu_bits = sfu_bits
        self.depth = 0                    # > 0 while inside a crossbar layer
        self.calls = 0                    # operation counter within one forward pass
        self.operations: list[dict[str, Any]] = []
        self.stats: dict[int, dict[str, Any]] = {}
        self.trace: dict[int, dict[str, list[torch.Tensor]]] = {}
        self._pass_id = None
        self._hooks = [model.register_forward_pre_hook(self._begin_forward)]
        for layer in ctx.layers:
            self._hooks.append(layer.register_forward_pre_hook(self._enter_layer))
            self._hooks.append(layer.register_forward_hook(self._leave_layer))

    # ---- hooks ------------------------------------------------------------------------------
    def _begin_forward(self, module, args) -> None:
        self.calls = 0
        if self.ctx.order == [] and self.ctx.image_offset == 0:
            # a new pass (ctx.begin_pass was called): forget the last pass's records
            self.operations, self.stats, self.trace = [], {}, {}

    def _enter_layer(self, layer: CIMLayer, args) -> None:
        if self.depth == 0:
            self._note({"kind": None, "layer": layer})
        self.depth += 1

    def _leave_layer(self, layer, args, out) -> None:
        self.depth -= 1

    def _note(self, rec: dict[str, Any]) -> int:
        """Record an operation the first time the forward pass reaches it; returns its id."""
        i = self.calls
        self.calls += 1
        if i == len(self.operations):
            self.operations.append(rec)
        return i

    def remove(self) -> None:
        for h in self._hooks:
            h.remove()

    # ---- dispatch ---------------------------------------------------------------------------
    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if self.depth > 0:
            return func(*args, **kwargs)
        if func in _MATMULS:
            return self._matmul(args[0], args[1], func)
        if func is torch.einsum:
            return self._einsum(*args, **kwargs)
        if func is F.scaled_dot_product_attention:
            return self._sdpa(*args, **kwargs)
        if func in _SOFTMAX:
            out = func(*args, **kwargs)
            x = args[0]
            self._special("softmax", x, vector=x.shape[_dim(kwargs.get("dim", args[1] if len(args) > 1 else -1), x)])
            return self._sfu_quantize(out, unsigned=True)
        if func in _LAYERNORM:
            out = func(*args, **kwargs)
            shape = args[1] if len(args) > 1 else kwargs["normalized_shape"]
            self._special("layernorm", args[0], vector=math.prod(_shape(shape)))
            return self._sfu_quantize(out)
        if func in _GELU:
            out = func(*args, **kwargs)
            self._special("gelu", args[0], vector=1)
            return self._sfu_quantize(out)
        if func in _ADD:
            out = func(*args, **kwargs)
            a, b = args[0], args[1] if len(args) > 1 else kwargs.get("other")
            if (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor) and a.dim() >= 2
                    and b.dim() >= 2 and out.dim() >= 2):
                self._special("add", out, vector=1)
            return out
        return func(*args, **kwargs)

    # ---- special functions (digital) ---------------------------------------------------------
    def _special(self, kind: str, x: torch.Tensor, vector: int) -> None:
        per_image = x[0].numel() if x.dim() > 0 and x.shape[0] else 0
        self._note({"kind": kind, "shape": list(x.shape[1:]), "elements": int(per_image),
                    "vector_length": int(vector),
                    "vectors": int(per_image // max(vector, 1)),
                    "bits": self.sfu_bits})

    def _sfu_quantize(self, out: torch.Tensor, unsigned: bool = False) -> torch.Tensor:
        if self.sfu_bits is None or self.ctx.mode not in ("quantized", "hardware"):
            return out
        if unsigned:
            return quantize_unsigned(out, self.sfu_bits)
        codes, s = quantize_per_image(out, self.sfu_bits)
        return (codes * s).to(out.dtype)

    # ---- dynamic products --------------------------------------------------------------------
    def _sdpa(self, q, k, v, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None,
              enable_gqa=False):
        if dropout_p:
            raise MappingError("scaled_dot_product_attention with dropout_p > 0 at inference")
        sc = (1.0 / math.sqrt(q.shape[-1])) if scale is None else scale
        s = self._matmul(q, k.transpose(-2, -1), torch.matmul) * sc
        t, u = s.shape[-2], s.shape[-1]
        if is_causal:
            s = s.masked_fill(torch.ones(t, u, dtype=torch.bool, device=s.device).triu(1), float("-inf"))
        if attn_mask is not None:
            s = s.masked_fill(~attn_mask, float("-inf")) if attn_mask.dtype == torch.bool else s + attn_mask
        p = F.softmax(s, dim=-1)
        self._special("softmax", s, vector=u)
        return self._matmul(self._sfu_quantize(p, unsigned=True), v, torch.matmul)

    def _einsum(self, equation=None, *operands, **kwargs):
        """A two-operand einsum that is a (batched) matrix product, rewritten as permute /
        reshape + `_matmul`, so it is run and recorded exactly like torch.matmul."""
        if kwargs or not isinstance(equation, str):
            raise MappingError("torch.einsum: only the form einsum('equation', a, b) is "
                               "intercepted; write the product with torch.matmul (or @)")
        if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
            operands = tuple(operands[0])
        a, b, plan = _einsum_plan(equation, operands)
        (batch, m_idx, k_idx, n_idx, out_idx, ia, ib) = plan
        size = {}
        for idx, t in ((ia, a), (ib, b)):
            for c, d in zip(idx, t.shape):
                size[c] = d if size.get(c, 1) == 1 else size[c]
        bs = [size[c] for c in batch]
        M, K, N = (math.prod(size[c] for c in g) for g in (m_idx, k_idx, n_idx))
        a2 = a.permute([ia.index(c) for c in batch + m_idx + k_idx])
        a2 = a2.expand(*bs, *a2.shape[len(batch):]).reshape(*bs, M, K)
        b2 = b.permute([ib.index(c) for c in batch + k_idx + n_idx])
        b2 = b2.expand(*bs, *b2.shape[len(batch):]).reshape(*bs, K, N)
        out = self._matmul(a2, b2, torch.matmul)
        out = out.reshape(*bs, *(size[c] for c in m_idx), *(size[c] for c in n_idx))
        order = batch + m_idx + n_idx
        return out.permute([order.index(c) for c in out_idx])

    def _matmul(self, a: torch.Tensor, b: torch.Tensor, func) -> torch.Tensor:
        if not (isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor)):
            return func(a, b)
        if a.dim() < 3 or b.dim() < 2 or a.shape[0] != (b.shape[0] if b.dim() >= 3 else a.shape[0]):
            # not a per-image product (e.g. a parameter times a tensor): run it as written
            return func(a, b)
        m, kk, n = a.shape[-2], a.shape[-1], b.shape[-1]
        groups = math.prod(torch.broadcast_shapes(a.shape[1:-2], b.shape[1:-2] if b.dim() > 2 else ()))
        i = self._note({"kind": "dynamic_matmul", "shape_a": list(a.shape[1:]),
                        "shape_b": list(b.shape[1:]), "m": int(m), "k": int(kk), "n": int(n),
                        "groups": int(groups), "macs": int(groups * m * kk * n),
                        "written": int(groups * kk * n),
                        "a_bits": self.params.input_bits, "b_bits": self.params.weight_bits,
                        "execution": self.dynamic_matmul})
        mode = self.ctx.mode
        if mode in ("float", "calibrate"):
            return func(a, b)
        ca, sa = quantize_per_image(a, self.params.input_bits)
        cb, sb = quantize_per_image(b, self.params.weight_bits)
        ca, cb = torch.broadcast_tensors(ca, cb.expand(*ca.shape[:-2], *cb.shape[-2:])) \
            if b.dim() < a.dim() else (ca, cb)
        if mode == "hardware":
            self._collect(i, ca, cb)
        if mode == "hardware" and self.dynamic_matmul == "crossbar":
            out = self._crossbar(i, ca, cb)
        else:
            out = torch.matmul(ca.to(torch.float64), cb.to(torch.float64))
        sa_ = sa.reshape(-1, *([1] * (out.dim() - 1)))
        sb_ = sb.reshape(-1, *([1] * (out.dim() - 1)))
        return (out * (sa_ * sb_)).to(a.dtype)

    def _crossbar(self, i: int, ca: torch.Tensor, cb: torch.Tensor) -> torch.Tensor:
        """Write every right operand into cells, read with the left one bit-serially."""
        lead = ca.shape[:-2]
        m, kk, n = ca.shape[-2], ca.shape[-1], cb.shape[-1]
        g = math.prod(lead)
        q = cb.reshape(g, kk, n)
        a = ca.reshape(g, m, kk)
        eng = CrossbarEngine(q, self.params, DYNAMIC_KEY_BASE + i, self.ctx.dtype, ca.device)
        if eng.p.sequential and eng.p.c2c_sigma == 0:
            out = torch.bmm(a.to(eng.q_eff.dtype), eng.effective_weight())
        elif eng.lossless:
            out = torch.bmm(a.to(torch.float64), q.to(torch.float64))
            eng.account_parallel(1, g * m)
        else:
            unf = a.transpose(1, 2).reshape(1, g * kk, m)
            out = eng.forward_unfolded(unf, self.ctx.image_offset).reshape(g, n, m).transpose(1, 2)
        if eng.p.sequential:
            nb = self.params.input_bits
            table = input_bits(torch.arange(1 << nb, device=ca.device), nb).sum(0)   # popcounts
            pop = table[ca.to(torch.int64) & ((1 << nb) - 1)]                      # [..., M, K]
            eng.account_sequential(pop.reshape(g, m, kk).sum(1).reshape(-1).to(torch.float64))
        st = self.stats.setdefault(i, {})
        st["adc_conversions"] = st.get("adc_conversions", 0.0) + float(eng.stats_conversions)
        st["adc_clipped"] = st.get("adc_clipped", 0.0) + float(eng.stats_clipped)
        return out.reshape(*lead, m, n).to(torch.float64)

    def _collect(self, i: int, ca: torch.Tensor, cb: torch.Tensor) -> None:
        """Bit activity of both operands (all images) and their codes (traced images)."""
        st = self.stats.setdefault(i, {})
        for name, c, nb in (("a", ca, self.params.input_bits), ("b", cb, self.params.weight_bits)):
            # ones per bit plane from a histogram of the codes (no [nb, ...] bit tensor)
            hist = torch.bincount((c.to(torch.int64) & ((1 << nb) - 1)).reshape(-1),
                                  minlength=1 << nb).to(torch.float64)
            table = input_bits(torch.arange(1 << nb, device=c.device), nb).to(torch.float64)
            ones = table @ hist                                               # [nb]
            key = f"{name}_ones"
            st[key] = ones if key not in st else st[key] + ones
            st[f"{name}_total"] = st.get(f"{name}_total", 0.0) + float(c.numel())
        take = min(ca.shape[0], self.ctx.trace_images - self.ctx.image_offset)
        if take > 0:
            tr = self.trace.setdefault(i, {"a": [], "b": []})
            tr["a"].append(ca[:take].detach().to("cpu", torch.int16))
            tr["b"].append(cb[:take].detach().to("cpu", torch.int16))

    # ---- results ------------------------------------------------------------------------------
    def statistics(self, i: int) -> dict[str, Any]:
        st = self.stats.get(i, {})
        out: dict[str, Any] = {}
        for name in ("a", "b"):
            if f"{name}_ones" in st and st[f"{name}_total"] > 0:
                out[f"{name}_bit_activity"] = [round(float(v), 6) for v in
                                               (st[f"{name}_ones"] / st[f"{name}_total"]).tolist()]
        for key in ("adc_conversions", "adc_clipped"):
            if key in st:
                out[key] = st[key]
        return out

    def manifest_operations(self, layer_index: dict[int, int]) -> list[dict[str, Any]]:
        """The operations of the last pass for manifest.json; `layer_index` maps id(CIMLayer)
        to its 1-based index in manifest["layers"]."""
        ops = []
        for i, rec in enumerate(self.operations):
            if rec["kind"] is None:
                layer = rec["layer"]
                geo = layer.geometry
                ops.append({"index": i + 1, "kind": layer.kind, "name": layer.name,
                            "layer": layer_index.get(id(layer)),
                            "ifm": geo["ifm"], "in_channels": geo["in_channels"],
                            "out_channels": geo["out_channels"], "kernel": geo["kernel"],
                            "positions": geo["positions"],
                            "macs": int(geo["positions"] * geo["rows"] * geo["cols_per_group"]),
                            "weight_bits": self.params.weight_bits,
                            "input_bits": self.params.input_bits})
            else:
                entry = {"index": i + 1, **rec}
                if rec["kind"] == "dynamic_matmul":
                    entry["stats"] = self.statistics(i)
                ops.append(entry)
        return ops


def _einsum_plan(equation: str, operands):
    """Split a two-operand einsum into batch / left-only / contracted / right-only indices;
    MappingError (one line naming the equation) unless it is a (batched) matrix product."""
    def refuse(why: str):
        raise MappingError(f"torch.einsum('{equation}'): {why}; only two-operand batched "
                           "matrix products (e.g. 'bhqd,bhkd->bhqk') are intercepted, write "
                           "others with torch.matmul (or @)")
    eq = equation.replace(" ", "")
    if len(operands) != 2 or not all(isinstance(t, torch.Tensor) for t in operands):
        refuse(f"{len(operands)} operands")
    if "." in eq:
        refuse("ellipsis '...' is not supported")
    lhs, arrow, out = eq.partition("->")
    ins = lhs.split(",")
    if len(ins) != 2:
        refuse(f"{len(ins)} operand subscripts")
    ia, ib = ins
    if not arrow:       # implicit output: the indices that appear once, sorted
        out = "".join(sorted(c for c in set(ia + ib) if (ia + ib).count(c) == 1))
    if not all(c.isalpha() for c in ia + ib + out):
        refuse("subscripts must be letters")
    for name, idx in (("first operand", ia), ("second operand", ib), ("output", out)):
        if len(set(idx)) != len(idx):
            refuse(f"repeated index in the {name} (trace or diagonal)")
    a, b = operands
    if a.dim() != len(ia) or b.dim() != len(ib):
        refuse("subscripts do not match the operands' dimensions")
    if set(out) - set(ia + ib):
        refuse("output index missing from the operands")
    if (set(ia) ^ set(ib)) - set(out):
        refuse("an index of only one operand is summed away")
    batch = [c for c in out if c in ia and c in ib]
    m_idx = [c for c in out if c in ia and c not in ib]
    n_idx = [c for c in out if c in ib and c not in ia]
    k_idx = [c for c in ia if c in ib and c not in out]
    if not k_idx:
        refuse("no contracted index (outer or element-wise product)")
    for c in batch + k_idx:
        da, db = a.shape[ia.index(c)], b.shape[ib.index(c)]
        if da != db and (c in k_idx or 1 not in (da, db)):
            refuse(f"index '{c}' has sizes {da} and {db}")
    return a, b, (batch, m_idx, k_idx, n_idx, list(out), list(ia), list(ib))


def _dim(d: int, x: torch.Tensor) -> int:
    return d if d >= 0 else x.dim() + d


def _shape(s) -> tuple[int, ...]:
    return (int(s),) if isinstance(s, int) else tuple(int(v) for v in s)


@contextlib.contextmanager
def dynamic_ops(model, ctx: CIMContext, dynamic_matmul: str = "digital", sfu_bits: int | None = None):
    """Context manager: `with dynamic_ops(model, ctx, ...) as dyn: model(x)`."""
    dyn = DynamicOps(model, ctx, dynamic_matmul, sfu_bits)
    try:
        with dyn:
            yield dyn
    finally:
        dyn.remove()


__all__ = ["DynamicOps", "dynamic_ops", "DYNAMIC_MODES", "quantize_per_image", "quantize_unsigned"]
