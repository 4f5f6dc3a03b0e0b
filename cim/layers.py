"""Hardware-aware versions of any model's Conv2d / Linear layers.

`convert_model(model, params)` wraps every `nn.Conv2d` and `nn.Linear` of a model in a
`CIMLayer` (in place) and returns a `CIMContext` shared by all of them. Nothing about the
model is hard-coded: strides, padding, dilation, groups, biases, residual connections and
any digital operation between layers (ReLU, pooling, batch norm, additions) keep working,
because only the matrix products move to the crossbar.

Modes (`ctx.mode`, or `with ctx.use(mode)`):
* "float": the original layer;
* "calibrate": the original layer, recording the largest |input| (activation range);
* "quantized": inputs quantized to `input_bits` (two's complement codes `a`, scale
  `s_a = range / (2^(nb-1) - 1)`), weights to `weight_bits` (symmetric per layer, codes `q`,
  scale `s_w = max|w| / (2^(b-1) - 1)`), exact integer product, `y = s_a s_w (a . q) + bias`;
* "hardware": the same quantization, but the integer product is computed by the crossbar
  model (cim/engine.py, cim/hardware.py). With an ideal array it equals "quantized" exactly.

In "hardware" mode every layer collects statistics (input bit activity per bit plane, ADC
conversions and clipped conversions) and, for the first `ctx.trace_images` images, its input
codes for the trace files. The layer order is the execution order of the forward pass;
pooling modules (`nn.MaxPool2d`, `nn.AvgPool2d`, `nn.AdaptiveAvgPool2d`) are attributed to
the crossbar layer that ran last before them.
"""
from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Iterable

import torch
import torch.nn as nn
import torch.nn.functional as F

from .engine import CrossbarEngine
from .hardware import HardwareParams, input_bits

MODES = ("float", "calibrate", "quantized", "hardware")
_UNSUPPORTED = (nn.Conv1d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d,
                nn.Bilinear, nn.RNNBase, nn.LazyLinear)
_POOLS = (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)


class MappingError(ValueError):
    """The model (or its configuration) cannot be mapped onto the crossbar."""


def _pair(v) -> tuple[int, int]:
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


class CIMContext:
    """State shared by the CIM layers of one model."""

    def __init__(self, params: HardwareParams, dtype: torch.dtype = torch.float32):
        self.params = params
        self.dtype = dtype
        self.mode = "float"
        self.image_offset = 0          # global index of the first image of the current batch
        self.trace_images = 0          # record inputs of images with index < trace_images
        self.layers: list[CIMLayer] = []   # module order
        self.order: list[CIMLayer] = []    # execution order of the last pass
        self.last_layer: CIMLayer | None = None
        self.train_hardware = False    # hardware mode with straight-through gradients (cim/hat.py)

    @contextlib.contextmanager
    def use(self, mode: str):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        old, self.mode = self.mode, mode
        try:
            yield self
        finally:
            self.mode = old

    def begin_pass(self) -> None:
        """Forget execution order, pooling attribution, statistics and captured traces."""
        self.order = []
        self.last_layer = None
        self.image_offset = 0
        for layer in self.layers:
            layer.reset_pass()

    def prepare_hardware(self, device: torch.device | str | None = None) -> None:
        """Program every layer's crossbar (device randomness drawn here, once)."""
        for layer in self.layers:
            layer.prepare_hardware(device)

    def act_ranges(self) -> dict[str, float]:
        return {l.name: float(l.act_range) for l in self.layers if l.act_range is not None}

    def set_act_ranges(self, ranges: dict[str, float]) -> list[str]:
        """Apply stored ranges; return the names of layers that had none."""
        missing = []
        for layer in self.layers:
            if layer.name in ranges:
                layer.act_range = float(ranges[layer.name])
            else:
                missing.append(layer.name)
        return missing


class CIMLayer(nn.Module):
    """A Conv2d or Linear whose matrix product can run on the simulated crossbar."""

    def __init__(self, inner: nn.Module, name: str, key: int, ctx: CIMContext):
        super().__init__()
        self.inner = inner
        self.name = name
        self.key = key                       # stable index (module order) for random streams
        self.ctx = ctx
        self.kind = "conv" if isinstance(inner, nn.Conv2d) else "linear"
        self.kernel_positions = 1          # > 1: novel mapped (set by convert_model)
        self.adc_full_scale: float | None = None   # calibrated ADC full scale of this layer
        self.act_range: float | None = None
        self.engine: CrossbarEngine | None = None
        self._qcache: tuple[torch.Tensor, float] | None = None
        if self.kind == "conv":
            self.kernel = _pair(inner.kernel_size)
            self.stride = _pair(inner.stride)
            self.dilation = _pair(inner.dilation)
            self.groups = int(inner.groups)
            self.padding = self._numeric_padding(inner)
        else:
            self.kernel, self.stride, self.dilation, self.groups, self.padding = (1, 1), (1, 1), (1, 1), 1, (0, 0)
        self.reset_pass()

    # ---- set-up ----------------------------------------------------------------------------
    def _numeric_padding(self, conv: nn.Conv2d) -> tuple[int, int]:
        if conv.padding_mode != "zeros":
            raise MappingError(f"{self.name}: padding_mode={conv.padding_mode!r} is not supported "
                               "(zero padding only)")
        if isinstance(conv.padding, str):
            if conv.padding == "valid":
                return (0, 0)
            pads = []
            for k, d in zip(self.kernel, self.dilation):
                total = d * (k - 1)
                if total % 2:
                    raise MappingError(f"{self.name}: padding='same' with an even kernel is "
                                       "asymmetric and not supported")
                pads.append(total // 2)
            return (pads[0], pads[1])
        return _pair(conv.padding)

    def reset_pass(self) -> None:
        self.ran = False
        self.geometry: dict[str, Any] | None = None
        self.pool: dict[str, Any] | None = None
        self.trace_codes: list[torch.Tensor] = []
        self.bit_ones: torch.Tensor | None = None
        self.bit_total = 0.0
        self.images = 0
        self.calib_max = 0.0
        if self.engine is not None:
            self.engine.reset_stats()

    def weight_codes(self) -> tuple[torch.Tensor, float]:
        """(signed integer codes with the weight's shape, scale s_w)."""
        if self._qcache is None:
            w = self.inner.weight.detach()
            if not torch.isfinite(w).all():
                raise MappingError(f"{self.name}: weights contain NaN or inf")
            qmax = 2 ** (self.ctx.params.weight_bits - 1) - 1
            m = float(w.abs().max()) if w.numel() else 0.0
            s = m / qmax if m > 0 else 1.0
            q = torch.clamp(torch.round(w / s), -qmax, qmax)
            self._qcache = (q, s)
        return self._qcache

    def weight_matrix(self) -> torch.Tensor:
        """Codes as crossbar matrices [Gr, K, N/Gr] (rows c*KH*KW + kh*KW + kw)."""
        q, _ = self.weight_codes()
        n = q.shape[0]
        return q.reshape(self.groups, n // self.groups, -1).transpose(1, 2).contiguous()

    def invalidate(self) -> None:
        """Call after changing the weights."""
        self._qcache = None
        self.engine = None

    def prepare_hardware(self, device=None) -> None:
        self.invalidate()
        dev = device if device is not None else self.inner.weight.device
        params = self.ctx.params
        if self.adc_full_scale is not None:          # calibrated range (cim/calibration.py)
            params = dataclasses.replace(params, adc_full_scale=self.adc_full_scale)
        self.engine = CrossbarEngine(self.weight_matrix(), params, self.key,
                                     self.ctx.dtype, dev, self.kernel_positions)

    # ---- forward ---------------------------------------------------------------------------
    def _matmul(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            return F.conv2d(x, w, None, self.stride, self.padding, self.dilation, self.groups)
        return F.linear(x, w)

    def _unfold(self, codes: torch.Tensor) -> torch.Tensor:
        if self.kind == "conv":
            return F.unfold(codes, self.kernel, self.dilation, self.padding, self.stride)
        return codes.unsqueeze(-1)

    def quantize_input(self, x: torch.Tensor) -> tuple[torch.Tensor, float]:
        if self.act_range is None:
            raise MappingError(f"{self.name}: no activation range; calibrate the model first")
        nb = self.ctx.params.input_bits
        s = self.act_range / (2 ** (nb - 1) - 1) if self.act_range > 0 else 1.0
        codes = torch.clamp(torch.round(x / s), -(2 ** (nb - 1)), 2 ** (nb - 1) - 1)
        return codes, s

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ctx = self.ctx
        self._record_call(x)
        if ctx.mode == "float":
            return self.inner(x)
        if ctx.mode == "calibrate":
            if x.numel():
                self.calib_max = max(self.calib_max, float(x.detach().abs().max()))
            return self.inner(x)
        if ctx.train_hardware and ctx.mode == "hardware":
            from .hat import hardware_aware_forward
            return hardware_aware_forward(self, x)
        lead = None
        codes, s_a = self.quantize_input(x)
        _, s_w = self.weight_codes()
        hardware = ctx.mode == "hardware"
        if hardware:
            if self.engine is None:
                self.prepare_hardware()
            self._collect(codes)             # statistics and traces: our codes
            if ctx.params.accuracy_model == "neurosim-1.4" and self.act_range:
                # NeuroSim re-quantizes each layer's input itself (cim/neurosim_mode.py): pass
                # it unrounded (the network input on its own 1/2^(nb-1) grid).
                from .neurosim_mode import unrounded_input
                codes, s_a = unrounded_input(self, x)
        offset = ctx.image_offset
        if self.kind == "linear" and x.dim() != 2:
            # tokens: a [B, T, D] input is T input vectors per image (a T x 1 feature map)
            lead = x.shape[:-1]
            offset *= max(1, codes[0].numel() // codes.shape[-1])
            codes = codes.reshape(-1, codes.shape[-1])
        out_int = self.integer_forward(codes, hardware, offset)
        y = out_int.to(x.dtype) * (s_a * s_w)
        if hardware and ctx.params.accuracy_model == "neurosim-1.4":
            from .neurosim_mode import round_to_next_grid
            y = round_to_next_grid(self, y)
        if self.inner.bias is not None:
            y = y + (self.inner.bias.view(1, -1, 1, 1) if self.kind == "conv" else self.inner.bias)
        if lead is not None:
            y = y.reshape(*lead, y.shape[-1])
        return y

    def integer_forward(self, codes: torch.Tensor, hardware: bool, image_offset: int = 0) -> torch.Tensor:
        """The integer matrix product of input codes with the weight codes: exact
        (`hardware=False`) or as the crossbar computes it. Shape of the layer's output."""
        ctx = self.ctx
        q, _ = self.weight_codes()
        c = codes.to(ctx.dtype)
        if not hardware:
            return self._matmul(c, q.to(ctx.dtype))
        if ctx.params.accuracy_model == "neurosim-1.4":
            from .neurosim_mode import neurosim_integer_forward
            return neurosim_integer_forward(self, codes, ctx.params).to(ctx.dtype)
        if self.engine is None:
            self.prepare_hardware()
        eng = self.engine
        if eng.p.sequential and eng.p.c2c_sigma == 0:
            w = eng.effective_weight().transpose(1, 2).reshape(q.shape)
            return self._matmul(c, w.to(ctx.dtype))
        if eng.lossless:                       # provably exact: the plain integer product
            out = self._matmul(c, q.to(ctx.dtype))
            eng.account_parallel(out.shape[0], out[0, 0].numel())
            return out
        out = eng.forward_unfolded(self._unfold(c), image_offset)
        if self.kind == "linear":
            return out.reshape(out.shape[0], out.shape[1])
        return out.reshape(out.shape[0], out.shape[1], *self._out_hw(codes))

    def _out_hw(self, x: torch.Tensor) -> tuple[int, ...]:
        if self.kind == "linear":
            return ()
        h, w = x.shape[-2:]
        oh = (h + 2 * self.padding[0] - self.dilation[0] * (self.kernel[0] - 1) - 1) // self.stride[0] + 1
        ow = (w + 2 * self.padding[1] - self.dilation[1] * (self.kernel[1] - 1) - 1) // self.stride[1] + 1
        return (oh, ow)

    # ---- bookkeeping -----------------------------------------------------------------------
    def _record_call(self, x: torch.Tensor) -> None:
        ctx = self.ctx
        if not self.ran:
            self.ran = True
            ctx.order.append(self)
            self.geometry = self._geometry(x)
        ctx.last_layer = self

    def _geometry(self, x: torch.Tensor) -> dict[str, Any]:
        inner = self.inner
        if self.kind == "conv":
            if x.dim() != 4:
                raise MappingError(f"{self.name}: Conv2d input must be [B, C, H, W], got {tuple(x.shape)}")
            h, w = int(x.shape[-2]), int(x.shape[-1])
            oh, ow = self._out_hw(x)
            cin, cout = int(inner.in_channels), int(inner.out_channels)
        else:
            h = w = oh = ow = 1
            cin, cout = int(inner.in_features), int(inner.out_features)
            if x.dim() > 2:          # token sequence: priced as a 1x1 conv over T x 1 (V1.5)
                h = oh = x[0].numel() // x.shape[-1]
        rows = cin // self.groups * self.kernel[0] * self.kernel[1]
        return {"type": "conv" if self.kind == "linear" and h > 1 else self.kind, "ifm": [h, w], "in_channels": cin, "out_channels": cout,
                "kernel": list(self.kernel), "stride": list(self.stride),
                "padding": list(self.padding), "dilation": list(self.dilation),
                "groups": self.groups, "ofm": [oh, ow], "positions": oh * ow,
                "rows_per_group": rows, "rows": rows * self.groups,
                "cols_per_group": cout // self.groups, "bias": inner.bias is not None}

    def _coverage(self, shape) -> torch.Tensor | float:
        """How often each input element appears in the unfolded matrix."""
        if self.kind == "linear":
            return 1.0
        c, h, w = shape[1:]
        key = ("cov", c, h, w)
        cache = getattr(self, "_cov_cache", None)
        if cache is None or cache[0] != key:
            ones = torch.ones(1, c, h, w, device=self.inner.weight.device, dtype=torch.float64)
            n = F.unfold(ones, self.kernel, self.dilation, self.padding, self.stride)
            cov = F.fold(torch.ones_like(n), (h, w), self.kernel, self.dilation, self.padding, self.stride)
            self._cov_cache = (key, cov[0])
        return self._cov_cache[1]

    def _bit_tables(self, device) -> tuple[torch.Tensor, torch.Tensor]:
        """[2^nb, nb] bits of every code (MSB first) and [2^nb] popcounts."""
        nb = self.ctx.params.input_bits
        cache = getattr(self, "_tables", None)
        if cache is None or cache[0].device != torch.device(device) or cache[0].shape[1] != nb:
            v = torch.arange(2 ** nb, device=device)
            bits = input_bits(v, nb).T.to(torch.float64)
            self._tables = (bits, bits.sum(1))
        return self._tables

    def _collect(self, codes: torch.Tensor) -> None:
        """Hardware-mode statistics and trace capture for one batch of input codes.

        Bit activity of plane j = ones in plane j of the unfolded input matrix / its size,
        computed from a histogram of the codes weighted by how often each input element
        appears in the unfolded matrix (no unfolding needed)."""
        ctx, nb = self.ctx, self.ctx.params.input_bits
        b = codes.shape[0]
        u = codes.to(torch.int32) & ((1 << nb) - 1)
        bits_tab, pop_tab = self._bit_tables(codes.device)
        cov = self._coverage(codes.shape)
        weights = None if self.kind == "linear" else cov.expand(codes.shape).reshape(-1)
        hist = torch.bincount(u.reshape(-1), weights=weights, minlength=1 << nb).to(torch.float64)
        ones = hist @ bits_tab                                   # [nb]
        self.bit_ones = ones if self.bit_ones is None else self.bit_ones + ones
        geo = self.geometry
        self.bit_total += float(b * geo["rows"] * geo["positions"])
        self.images += b
        if self.engine.p.sequential:
            active = pop_tab[u.long()].sum(0)                    # ones over planes and images
            if self.kind == "conv":
                row_act = F.unfold(active.unsqueeze(0), self.kernel, self.dilation, self.padding,
                                   self.stride)[0].sum(-1)
            else:
                row_act = active.reshape(-1, active.shape[-1]).sum(0)
            self.engine.account_sequential(row_act)
        take = min(b, ctx.trace_images - ctx.image_offset)
        if take > 0:
            kept = codes[:take].detach().to("cpu", torch.int16)
            if self.kind == "linear" and kept.dim() > 2:     # tokens -> [n, D, T, 1]
                kept = kept.reshape(take, -1, kept.shape[-1]).transpose(1, 2).unsqueeze(-1)
            self.trace_codes.append(kept.contiguous())

    def statistics(self) -> dict[str, Any]:
        """Bit activity per plane (MSB first) and ADC clipping of the last hardware pass."""
        out: dict[str, Any] = {"images": self.images}
        if self.bit_ones is not None and self.bit_total > 0:
            act = (self.bit_ones / self.bit_total).tolist()
            out["input_bit_activity"] = [round(a, 6) for a in act]
        if self.engine is not None:
            conv = float(self.engine.stats_conversions)
            clip = float(self.engine.stats_clipped)
            out["adc_conversions"] = conv
            out["adc_clipped"] = clip
            out["adc_clipped_fraction"] = clip / conv if conv > 0 else 0.0
        return out


def _describe_pool(m: nn.Module) -> dict[str, Any]:
    kind = {nn.MaxPool2d: "max", nn.AvgPool2d: "avg", nn.AdaptiveAvgPool2d: "adaptive_avg",
            nn.AdaptiveMaxPool2d: "adaptive_max"}[type(m)]
    d: dict[str, Any] = {"type": kind}
    if kind in ("max", "avg"):
        d["kernel"] = list(_pair(m.kernel_size))
        d["stride"] = list(_pair(m.stride if m.stride is not None else m.kernel_size))
        d["padding"] = list(_pair(m.padding))
    else:
        d["output_size"] = list(_pair(m.output_size)) if m.output_size is not None else None
    return d


def convert_model(model: nn.Module, params: HardwareParams,
                  dtype: torch.dtype = torch.float32) -> CIMContext:
    """Wrap every Conv2d / Linear of `model` (in place; an nn.MultiheadAttention is first
    rebuilt from nn.Linear layers, cim.attention); return the shared context."""
    params.check_mappable()
    from .attention import split_multihead_attention
    split_multihead_attention(model)      # nn.MultiheadAttention -> four nn.Linear + matmuls
    ctx = CIMContext(params, dtype)
    for name, m in model.named_modules():
        if isinstance(m, _UNSUPPORTED):
            raise MappingError(f"layer '{name}' ({type(m).__name__}) cannot be mapped onto the "
                               "crossbar: only Conv2d and Linear layers (plus digital operations) "
                               "are supported")
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            if not all(torch.isfinite(p).all() for p in m.parameters()):
                raise MappingError(f"layer '{name}': weights contain NaN or inf")
    targets = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    if not targets:
        raise MappingError(f"model {type(model).__name__} has no Conv2d or Linear layer to map")
    for key, (name, m) in enumerate(targets):
        wrapper = CIMLayer(m, name, key, ctx)
        parent = model
        parts = name.split(".")
        for p in parts[:-1]:
            parent = getattr(parent, p)
        setattr(parent, parts[-1], wrapper)
        ctx.layers.append(wrapper)

    if params.novel_mapping and not params.sequential:
        set_novel_mapping(ctx)

    def pool_hook(module, inputs, output):
        last = ctx.last_layer
        if last is not None and last.pool is None:
            last.pool = _describe_pool(module)
        ctx.last_layer = None

    for m in model.modules():
        if isinstance(m, _POOLS):
            m.register_forward_hook(pool_hook)
    return ctx


def set_novel_mapping(ctx: CIMContext) -> None:
    """Mark the layers the chip novel-maps (the same rule as stage 2, floorplan.py): their
    rows are grouped per kernel position for each conversion."""
    from floorplan import novel_mapped_layers
    rows = [l.inner.in_channels * l.kernel[0] * l.kernel[1] if l.kind == "conv"
            else l.inner.in_features for l in ctx.layers]
    marks, area = novel_mapped_layers([l.kernel for l in ctx.layers], rows, ctx.params.rows)
    for layer, nm in zip(ctx.layers, marks):
        layer.kernel_positions = int(area) if nm and layer.kind == "conv" else 1


@torch.no_grad()
def calibrate(model: nn.Module, ctx: CIMContext, batches: Iterable[torch.Tensor]) -> dict[str, float]:
    """Set each layer's activation range to the largest |input| seen on `batches`."""
    ctx.begin_pass()
    with ctx.use("calibrate"):
        for xb in batches:
            model(xb)
    for layer in ctx.layers:
        if layer.ran:
            layer.act_range = layer.calib_max
    unused = [l.name for l in ctx.layers if not l.ran]
    if unused:
        raise MappingError(f"layers never called by the forward pass: {', '.join(unused)}")
    return ctx.act_ranges()


def integer_reference(layer: CIMLayer, codes: torch.Tensor) -> torch.Tensor:
    """Exact integer product of input codes with the layer's weight codes (float64)."""
    q, _ = layer.weight_codes()
    return layer._matmul(codes.to(torch.float64), q.to(torch.float64))


__all__ = ["CIMContext", "CIMLayer", "MappingError", "convert_model", "calibrate",
           "integer_reference", "MODES"]
