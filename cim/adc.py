"""ADC non-idealities of the parallel read (offset, gain error, INL/DNL), per ADC.

Which ADC converts which column: a sub-array column tile of `array.cols` columns has
`cols / cols_per_adc` ADCs, column `c` (of the layer's crossbar columns) is converted by ADC
`(c // cols) * (cols / cols_per_adc) + (c % cols) // cols_per_adc`; each tile's reference
column has an ADC of its own (numbered after the data ADCs). Every ADC draws, once per layer
from its own stream (`STREAM_ADC`), an offset `o ~ N(0, adc_offset)` (LSB), a gain error
`e ~ N(0, adc_gain_error)` (relative) and its non-linearity. A reading `r` (cell steps) is
first mapped to `u = r (1 + e) / step + o` (LSB), then quantised:

* `array.adc_type = sense_amp` (a flash converter of `L - 1` comparators): the threshold of
  code `m + 1` is `m + 0.5 + d_m`, `d_m ~ N(0, adc_inl)` LSB per comparator (sorted, so the
  transfer stays monotonic); the code is the number of thresholds at or below `u`. The
  comparator spread is the converter's DNL; its running sum is the INL.
* `array.adc_type = sar` (binary capacitor DAC, B = ceil(log2 L) bits): bit `b` weighs
  `2^b + adc_inl * sqrt(2^b / 2^(B-1)) * z_b` LSB (capacitor mismatch grows as the square root
  of the unit capacitors; the MSB weight has std `adc_inl`); the successive approximation
  keeps bit b when `u >= DAC(code with bit b set) - 0.5`, MSB first. Mismatch gives the
  SAR's characteristic code-dependent DNL (missing codes, non-monotonic steps at the major
  transitions).

The code is clamped to [0, L-1]; a conversion counts as clipped when `u >= L - 1 + 0.5`
(beyond the ideal top threshold). With every parameter 0 the result equals the ideal ADC
(`cim.hardware.adc_convert`).
"""
from __future__ import annotations

import math

import torch

STREAM_ADC = 7


class AdcModel:
    """The ADCs of one layer's crossbar (parallel read)."""

    def __init__(self, p, layer_key: int, ncol: int, tiles: int, max_code: int, step: float,
                 dtype=torch.float32, device="cpu"):
        from .hardware import _gen, derive_seed
        self.max_code = int(max_code)
        self.step = float(step)
        self.kind = p.adc_kind
        cpa = min(p.cols_per_adc, p.cols)
        per_tile = -(-p.cols // cpa)
        c = torch.arange(ncol)
        data_ids = (c // p.cols) * per_tile + (c % p.cols) // cpa
        n_data = tiles * per_tile
        ref_ids = n_data + torch.arange(tiles)
        n_adc = n_data + tiles
        gen = _gen(derive_seed(p.seed, layer_key, STREAM_ADC))
        f64 = torch.float64
        offset = torch.randn(n_adc, generator=gen, dtype=f64) * p.adc_offset
        gain = torch.randn(n_adc, generator=gen, dtype=f64) * p.adc_gain_error
        self.ids = torch.cat([data_ids, ref_ids])                  # [ncol + tiles]
        self.n_adc = n_adc
        self.offset = offset
        self.gain = gain
        ids = self.ids
        self.col_offset = offset[ids].to(dtype=dtype, device=device)
        self.col_scale = ((1.0 + gain[ids]) / self.step).to(dtype=dtype, device=device)
        self.thresholds = None
        self.dac = None
        if p.adc_inl > 0:
            if self.kind == "sar":
                bits = max(1, math.ceil(math.log2(self.max_code + 1)))
                self.bits = bits
                w = 2.0 ** torch.arange(bits, dtype=f64)
                z = torch.randn(n_adc, bits, generator=gen, dtype=f64)
                self.weights = w + p.adc_inl * torch.sqrt(w / w[-1]) * z     # [n_adc, B]
                codes = torch.arange(2 ** bits)
                cb = ((codes.unsqueeze(1) >> torch.arange(bits)) & 1).to(f64)  # [2^B, B]
                self.dac = (self.weights @ cb.T)[ids].to(dtype=dtype, device=device)  # [col, 2^B]
            else:
                z = torch.randn(n_adc, self.max_code, generator=gen, dtype=f64)
                t = torch.arange(self.max_code, dtype=f64) + 0.5 + p.adc_inl * z
                self.thresholds = torch.sort(t, dim=1).values
                self.col_thr = self.thresholds[ids].to(dtype=dtype, device=device).contiguous()

    def convert(self, reading: torch.Tensor, first_col: int = 0):
        """Codes (in cell steps, i.e. code * step) and the number of clipped conversions for
        readings `[..., C]` whose last dimension is columns `first_col .. first_col + C - 1`
        of [data columns, reference columns]."""
        c = reading.shape[-1]
        sl = slice(first_col, first_col + c)
        u = reading * self.col_scale[sl] + self.col_offset[sl]
        clipped = torch.count_nonzero(u >= self.max_code + 0.5)
        if self.thresholds is not None:
            flat = u.reshape(-1, c).T.contiguous()                         # [C, M]
            code = torch.searchsorted(self.col_thr[sl], flat, right=True).to(u.dtype)
            code = code.T.reshape(u.shape)
        elif self.dac is not None:
            dac = self.dac[sl]                                              # [C, 2^B]
            code = torch.zeros_like(u, dtype=torch.long)
            cols = torch.arange(c, device=u.device).expand_as(u)
            for b in range(self.bits - 1, -1, -1):                          # MSB first (B <= 16)
                trial = code + (1 << b)
                keep = u >= dac[cols, trial] - 0.5
                code = torch.where(keep, trial, code)
            code = code.to(u.dtype)
        else:
            code = torch.floor(u + 0.5)
        return code.clamp_(0, self.max_code).mul_(self.step), clipped
