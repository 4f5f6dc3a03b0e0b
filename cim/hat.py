"""Hardware-aware (noise-aware) training: the crossbar model in the forward pass.

With `ctx.train_hardware = True` and `ctx.mode == "hardware"`, every CIM layer computes

    y = y_soft + (y_hw - y_soft).detach()

where `y_hw` is what the simulated crossbar delivers (input and weight quantization, bit
slices, ADC, every non-ideality of the HardwareParams, evaluated without gradient) and
`y_soft = (x_q) * (w_q)` is the same product with fake-quantized operands whose rounding is a
straight-through estimator (`v + (round(v) - v).detach()`, gradient 1 inside the quantizer's
range, 0 where the input is clipped). The forward value is therefore the hardware's (up to float rounding);
the gradient is the one of the quantized float product. `resample(ctx, step)` draws new
devices (device-to-device variation, drift, faults, table spread; new read noise) for the
next batch, so the network learns to tolerate the distribution, not one chip.
"""
from __future__ import annotations

import dataclasses

import torch


def _ste_round(v: torch.Tensor) -> torch.Tensor:
    return v + (torch.round(v) - v).detach()


def resample(ctx, base_seed: int, step: int) -> None:
    """New device and noise draws for the next batch (all layers re-programmed lazily)."""
    from .hardware import derive_seed
    ctx.params = dataclasses.replace(ctx.params, seed=derive_seed(base_seed, 0x4A7, step) % (2 ** 31))
    for layer in ctx.layers:
        layer.invalidate()


def hardware_aware_forward(layer, x: torch.Tensor) -> torch.Tensor:
    """Forward of one CIMLayer with the hardware value and a straight-through gradient."""
    ctx, p = layer.ctx, layer.ctx.params
    lead = None
    if layer.kind == "linear" and x.dim() != 2:
        lead = x.shape[:-1]
        x = x.reshape(-1, x.shape[-1])
    nb, wb = p.input_bits, p.weight_bits
    if layer.act_range is None:
        from .layers import MappingError
        raise MappingError(f"{layer.name}: no activation range; calibrate the model first")
    s_a = layer.act_range / (2 ** (nb - 1) - 1) if layer.act_range > 0 else 1.0
    lo, hi = -(2 ** (nb - 1)), 2 ** (nb - 1) - 1
    x_codes = torch.clamp(_ste_round(x / s_a), lo, hi)     # clamp: no gradient outside
    w = layer.inner.weight
    qmax = 2 ** (wb - 1) - 1
    s_w = float(w.detach().abs().max()) / qmax if float(w.detach().abs().max()) > 0 else 1.0
    w_codes = torch.clamp(_ste_round(w / s_w), -qmax, qmax)
    y_soft = layer._matmul(x_codes, w_codes) * (s_a * s_w)
    with torch.no_grad():
        layer.invalidate()                      # weights changed since the last step
        codes = x_codes.detach()
        _, s_w_hw = layer.weight_codes()
        out_int = layer.integer_forward(codes, True, ctx.image_offset)
        y_hw = out_int.to(x.dtype) * (s_a * s_w_hw)
    y = y_soft + (y_hw - y_soft).detach()
    if layer.inner.bias is not None:
        y = y + (layer.inner.bias.view(1, -1, 1, 1) if layer.kind == "conv" else layer.inner.bias)
    if lead is not None:
        y = y.reshape(*lead, y.shape[-1])
    return y
