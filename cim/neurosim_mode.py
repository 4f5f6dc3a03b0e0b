"""Stage 1 with DNN+NeuroSim V1.4's own accuracy model (`run.accuracy_model = neurosim-1.4`,
set by `--preset neurosim-1.4`).

NeuroSim's PyTorch wrapper (`quantization_cpu_np_infer.py`, `inference=1`, model "VGG8")
predicts hardware accuracy with a model that differs from ours (cim/hardware.py) in five
ways; this module re-implements it (from its description, in our own code) on our integer
codes, so that both models can be compared on the same weights:

1. Weight re-mapping: the signed weight `w' = q / 2^(b-1)` becomes the unsigned integer
   `X = round((2^b - 1) / 2 * (w' + 1))` (round half to even), cut into `b // cellBit`
   cells, least significant digit first (digit k has weight `L^k`, `L = 2^cellBit`).
2. Conductances: digit d becomes `G = (1 - 1/r) d + (L - 1)/r` (r = on/off ratio, 1/r = 0
   for SRAM); a dummy column holds the mid conductance `(L - 1)(1 + 1/r)/2` in every row.
3. Inputs: re-quantized onto an unsigned grid, `A = round((2^nb - 1) a / 2^(nb-1))` (a: our
   input code), applied bit-serially, least significant bit first (digits of |A| with its
   sign; bits above nb are lost).
4. Partial sums per row group: a conv layer is read per kernel position (one group per
   kernel position when in_channels < subArray, else groups of subArray channels of one
   kernel position; channels beyond a multiple of subArray are dropped, as in NeuroSim);
   a linear layer in groups of subArray rows (the same truncation). subArray is
   min(array.rows, rows_parallel). A conv layer with exactly 3 input channels and fewer
   than subArray of them takes NeuroSim's analog branch: no bit-serial input, no ADC.
5. ADC: every partial-sum tensor (one per input bit, row group and cell digit, and the
   dummy column's per input bit and row group) is quantized with its own range, the
   minimum and maximum over the WHOLE BATCH (all images, output channels and positions):
   `step = (max - min) / 2^bits`, `code = clamp(floor((x - min) / step), 0, 2^bits - 1)`,
   value `min + code * step` (a tensor with max = min passes unchanged). Results depend on
   the batch size (NeuroSim's runs use 200).

Shift-and-add: `S = sum_z 2^z sum_groups sum_k L^k * 2/(1 - 1/r) * (Q(P) - Q(D))`. NeuroSim
divides by `2^nb * 2^b`; in our integer units (a q) this is `S * 2^(nb-1) 2^(b-1) / (2^nb 2^b)
= S / 4` (an ideal array gives `(2^nb - 1)(2^b - 1) / 2^(nb+b) * a.q`, about 0.99 a.q).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F


def remap_weight_digits(q: torch.Tensor, weight_bits: int, cell_bit: int) -> torch.Tensor:
    """Cell digits [..., cells] (least significant first) of NeuroSim's unsigned weights."""
    w = q.to(torch.float64) / 2 ** (weight_bits - 1)
    x = torch.round((2 ** weight_bits - 1) / 2 * (w + 1))
    cells = weight_bits // cell_bit
    base = 2 ** cell_bit
    digits = []
    for _ in range(cells):                      # a handful of cell digits
        d = torch.fmod(x, base)
        digits.append(d)
        x = torch.round((x - d) / base)
    return torch.stack(digits, -1)


def input_digits(a: torch.Tensor, input_bits: int) -> torch.Tensor:
    """[nb, ...] signed bits of NeuroSim's re-quantized input, least significant first."""
    big = torch.round((2 ** input_bits - 1) * a.to(torch.float64) / 2 ** (input_bits - 1))
    mag = big.abs().to(torch.int64)
    sh = torch.arange(input_bits, device=a.device).view((-1,) + (1,) * a.dim())
    return ((mag.unsqueeze(0) >> sh) & 1).to(torch.float64) * torch.sign(big).unsqueeze(0)


def batch_range_quantize(x: torch.Tensor, bits: int, dims) -> torch.Tensor:
    """NeuroSim's ADC: range from min/max over `dims` (the whole batch), floor, 2^bits
    codes; a slice with max = min passes unchanged. In place on x."""
    lo, hi = x.amin(dim=dims, keepdim=True), x.amax(dim=dims, keepdim=True)
    span = hi - lo
    step = torch.where(span > 0, span, torch.ones_like(span)) / 2 ** bits
    q = torch.floor((x - lo) / step).clamp_(0, 2 ** bits - 1).mul_(step).add_(lo)
    return torch.where(span > 0, q, x)


# The float32 sums below follow the order in which NeuroSim's own calls (F.conv2d / F.linear
# on masked weights, torch CPU) accumulate them: a partial sum can sit exactly on an ADC code
# boundary (the dummy column's sums n * dummy do whenever the batch's largest count is a
# divisor of 2^bits times a count), and then its last float32 bit decides the code.


def _sequential_dummy_sums(x: torch.Tensor, d32: float) -> torch.Tensor:
    """[B, 1, P] dummy-column sums of a conv row group x [B, R, P] (0/1 input bits): the
    float32 sum of `n` copies of the dummy cell added one channel after the other, as
    F.conv2d accumulates channels for NeuroSim's (channels-last) activations; it depends on
    the count n of active rows only (a table)."""
    r = x.shape[1]
    # numpy's float32 cumsum adds sequentially (torch's does not)
    seq = np.cumsum(np.full(r, d32, dtype=np.float32), dtype=np.float32)
    table = torch.from_numpy(np.concatenate([np.zeros(1, np.float32), seq])).to(x.device)
    n = x.sum(1, keepdim=True).to(torch.int64)
    return table[n]


def _linear_sums(xb: torch.Tensor, g32: torch.Tensor, rows: torch.Tensor, d32: float, n: int,
                 cells: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A linear layer's row group as NeuroSim computes it: F.linear of the whole input bit
    vector [B, K] with the weight of each cell digit masked to the group's rows (same shapes,
    so the same float32 sums). Returns partial sums [B, N, cells, 1] and dummy [B, 1, 1]."""
    k_rows = xb.shape[1]
    mask = torch.zeros(k_rows, 1, dtype=torch.float32, device=xb.device)
    mask[rows] = 1
    gm = (g32.view(k_rows, n, cells) * mask.unsqueeze(-1))          # [K, N, cells]
    parts = [F.linear(xb, gm[:, :, c].t().contiguous()) for c in range(cells)]
    part = torch.stack(parts, -1).unsqueeze(-1)                      # [B, N, cells, 1]
    dw = (mask * d32).t().expand(n, k_rows).contiguous()             # [N, K]
    dsum = F.linear(xb, dw)[:, :1].unsqueeze(-1)                     # [B, 1, 1]
    return part, dsum


def row_groups(layer, sub_array: int) -> list[torch.Tensor]:
    """Row index sets (into the unfolded rows c*KA + kpos) read as one partial sum."""
    if layer.kind == "linear":
        k = int(layer.inner.in_features)
        n_sub = k // sub_array
        if n_sub == 0:
            return [torch.arange(k)]
        return [torch.arange(s * sub_array, (s + 1) * sub_array) for s in range(n_sub)]
    c = int(layer.inner.in_channels) // layer.groups
    ka = layer.kernel[0] * layer.kernel[1]
    n_sub = c // sub_array
    chans = [torch.arange(c)] if n_sub == 0 else \
        [torch.arange(s * sub_array, (s + 1) * sub_array) for s in range(n_sub)]
    return [ch * ka + kp for kp in range(ka) for ch in chans]


def neurosim_integer_forward(layer, codes: torch.Tensor, params) -> torch.Tensor:
    """The layer's output in our integer units (a.q) as NeuroSim V1.4's wrapper computes it
    for this batch of input codes. Output shape as the layer's output."""
    if layer.groups != 1:
        from .layers import MappingError
        raise MappingError(f"{layer.name}: the neurosim-1.4 accuracy model has no grouped "
                           "convolutions; use run.accuracy_model = cim")
    nb, wb, cb = params.input_bits, params.weight_bits, params.cell_bit
    ratio = params.on_off_ratio
    inv_r = 0.0 if math.isinf(ratio) else 1.0 / ratio
    levels = 2 ** cb
    adc_bits = max(1, int(round(math.log2(params.adc_levels))))
    sub_array = min(params.rows, params.rows_parallel)
    gain = 2.0 / (1.0 - inv_r)
    dummy = (levels - 1) * (1 + inv_r) / 2

    q = layer.weight_matrix()[0].to(torch.float64)               # [K, N]
    digits = remap_weight_digits(q, wb, cb)                       # [K, N, cells]
    g = (1 - inv_r) * digits + (levels - 1) * inv_r
    k_rows, n = q.shape
    cells = digits.shape[-1]
    g_flat = g.reshape(k_rows, n * cells).to(codes.device)
    cell_w = torch.tensor([float(levels) ** j for j in range(cells)], dtype=torch.float64,
                          device=codes.device)
    unf = layer._unfold(codes.to(torch.float64))                  # [B, K, P]
    b, _, npos = unf.shape
    analog = layer.kind == "conv" and int(layer.inner.in_channels) == 3 and sub_array > 3
    out = torch.zeros(b, n, npos, dtype=torch.float64, device=codes.device)
    groups = row_groups(layer, sub_array)
    if analog:
        for rows in groups:
            x = unf[:, rows]                                      # [B, R, P]
            part = torch.einsum("brp,rm->bmp", x, g_flat[rows]).view(b, n, cells, npos)
            d = x.sum(1, keepdim=True) * dummy                    # [B, 1, P]
            out += ((part - d.unsqueeze(2)) * cell_w.view(1, 1, -1, 1)).sum(2) * gain
        res = out / 2                                             # 2^14 / (2^7 * 2^8)
    else:
        bits = input_digits(unf, nb).to(torch.float32)            # [nb, B, K, P]
        g32 = g_flat.to(torch.float32)
        cw = cell_w.to(torch.float32).view(1, 1, -1, 1)
        d32 = torch.tensor(dummy, dtype=torch.float32).item()     # the dummy cell, float32
        for z in range(nb):                                       # bits, groups: per ADC range
            for rows in groups:
                x = bits[z][:, rows]
                if not bool(x.any()):
                    # NeuroSim's quantizer would see a constant zero tensor
                    continue
                if layer.kind == "linear":
                    part, dsum = _linear_sums(bits[z][:, :, 0], g32, rows, d32, n, cells)
                else:
                    part = torch.einsum("brp,rm->bmp", x, g32[rows]).view(b, n, cells, npos)
                    dsum = _sequential_dummy_sums(x, d32)
                qp = batch_range_quantize(part, adc_bits, (0, 1, 3))
                d = batch_range_quantize(dsum, adc_bits, (0, 1, 2))
                acc = ((qp - d.unsqueeze(2)) * cw).sum(2)
                out += (2.0 ** z * gain) * acc.to(torch.float64)
        res = out / 4
    if layer.kind == "linear":
        return res.reshape(b, n)
    return res.reshape(b, n, *layer._out_hw(codes))


def unrounded_input(layer, x: torch.Tensor) -> tuple[torch.Tensor, float]:
    """(input in code units, not rounded; its scale). NeuroSim takes each layer's input as it
    comes (after the previous layer's bias, ReLU, pooling) and re-quantizes it on its own grid:
    the network input on a 1/2^(nb-1) grid of its range, later layers on our code grid."""
    ctx = layer.ctx
    half = 2 ** (ctx.params.input_bits - 1)
    s = layer.act_range / (half if ctx.order and ctx.order[0] is layer else half - 1)
    return x / s, s


def round_to_next_grid(layer, y: torch.Tensor) -> torch.Tensor:
    """NeuroSim quantizes a layer's output onto the next layer's input grid (clipped to
    +-(2^(nb-1) - 1) codes) BEFORE the bias is added. The next layer is the following one in
    module order; the last layer's output (the logits) goes on the grid of
    `run.neurosim_output_range` / 2^(nb-1) (None: left as is)."""
    layers = layer.ctx.layers
    p = layer.ctx.params
    i = next((k for k, l in enumerate(layers) if l is layer), None)
    qmax = 2 ** (p.input_bits - 1) - 1
    if i is not None and i + 1 < len(layers):
        if not layers[i + 1].act_range:
            return y
        s = layers[i + 1].act_range / qmax
    elif p.neurosim_output_range is not None:
        s = p.neurosim_output_range / (qmax + 1)
    else:
        return y
    return torch.clamp(torch.round(y / s), -qmax, qmax) * s
