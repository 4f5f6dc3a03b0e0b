"""Defect (e) of issue 12: an ADC coarser than one cell step (`adc_full_scale` > levels - 1)
must not leave its rounding of the offset-binary offset in the result (it was amplified by the
shift-and-add: SRAM, 128 rows, 32 levels, S = 62 gave 0.23 accuracy)."""
import math

import pytest
import torch
import torch.nn as nn

from cim import HardwareParams, convert_model

torch.set_num_threads(1)


def _layer(p, weight, kind="linear"):
    if kind == "linear":
        m = nn.Linear(weight.shape[1], weight.shape[0], bias=False)
    else:
        m = nn.Conv2d(weight.shape[1], weight.shape[0], weight.shape[2], bias=False)
    m.weight.data.copy_(weight)
    ctx = convert_model(nn.Sequential(m), p, torch.float64)
    return ctx.layers[0]


@pytest.mark.parametrize("full_scale", [40.0, 62.0, 128.0])
@pytest.mark.parametrize("cell_bit,ratio", [(1, math.inf), (2, math.inf), (1, 17.0)])
def test_zero_weights_read_zero_with_a_coarse_adc(full_scale, cell_bit, ratio):
    """Weights of code 0 store only the offset 2^(b-1): whatever the ADC's step, the array
    must deliver 0 (the stored offset is removed by what the same ADC reads of it)."""
    p = HardwareParams(rows=16, cols=16, rows_parallel=16, adc_levels=32, cell_bit=cell_bit,
                       on_off_ratio=ratio, adc_full_scale=full_scale)
    w = torch.zeros(4, 16)
    w[0, 0] = 1.0                                   # scale reference; column 0 only
    layer = _layer(p, w)
    g = torch.Generator().manual_seed(0)
    codes = torch.randint(0, 128, (5, 16), generator=g).double()
    out = layer.integer_forward(codes, hardware=True)
    assert torch.equal(out[:, 1:], torch.zeros_like(out[:, 1:])), out[:, 1:]


def test_single_row_conversions_have_no_offset_bias():
    """One row per conversion, a step of 40/31 cell steps: a lone cell reads 40/31 instead
    of 1, a pure gain on the stored weight u = q + 128. With the offset read through the same
    ADC the result is that gain times a.q; before the fix it carried 0.29 * 128 * sum(a)."""
    p = HardwareParams(rows=8, cols=16, rows_parallel=1, adc_levels=32, adc_full_scale=40.0)
    torch.manual_seed(1)
    w = torch.randn(3, 8)
    layer = _layer(p, w)
    q, _ = layer.weight_codes()
    codes = torch.randint(0, 128, (6, 8)).double()
    out = layer.integer_forward(codes, hardware=True)
    exact = codes @ q.double().t()
    torch.testing.assert_close(out, exact * (40.0 / 31), rtol=1e-9, atol=1e-6)
