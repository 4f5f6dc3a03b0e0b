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
        for z in range(nb):                                       # bits, groups: per ADC range
            for rows in groups:
                x = bits[z][:, rows]
                if not bool(x.any()):
                    # NeuroSim's quantizer would see a constant zero tensor
                    continue
                part = torch.einsum("brp,rm->bmp", x, g32[rows]).view(b, n, cells, npos)
                qp = batch_range_quantize(part, adc_bits, (0, 1, 3))
                d = batch_range_quantize(x.sum(1, keepdim=True) * dummy, adc_bits, (0, 1, 2))
                acc = ((qp - d.unsqueeze(2)) * cw).sum(2)
                out += (2.0 ** z * gain) * acc.to(torch.float64)
        res = out / 4
    if layer.kind == "linear":
        return res.reshape(b, n)
    return res.reshape(b, n, *layer._out_hw(codes))
