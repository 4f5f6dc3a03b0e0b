"""A slow, obviously-correct reference of the crossbar (plain Python loops over images,
positions, bit planes, row groups, columns, rows) against the vectorised fast path.

Both use the same programmed conductances (`program_cells`, tested on its own in
test_stage1_devices.py) and the same read-noise stream (`c2c_noise`), so for the same seeds
they must agree exactly: every ADC code and every output integer.
"""
import math

import pytest
import torch
import torch.nn as nn

from cim import HardwareParams, convert_model
from cim.hardware import c2c_noise, program_cells

torch.set_num_threads(1)


# ------------------------------------------------------------------------------------------
# the reference
# ------------------------------------------------------------------------------------------

def adc(reading, max_code, step=1.0):
    return min(max(math.floor(reading / step + 0.5), 0), max_code) * step


def twos_complement_bits(code, nb):
    u = int(code) & ((1 << nb) - 1)
    return [(u >> (nb - 1 - j)) & 1 for j in range(nb)]


def input_vectors(layer, codes):
    """vectors[b][p] = list of K_total input codes (im2col written out with loops)."""
    if layer.kind == "linear":
        return [[[int(v) for v in codes[b]]] for b in range(codes.shape[0])]
    B, C, H, W = codes.shape
    (kh, kw), (sh, sw), (ph, pw), (dh, dw) = layer.kernel, layer.stride, layer.padding, layer.dilation
    oh_n = (H + 2 * ph - dh * (kh - 1) - 1) // sh + 1
    ow_n = (W + 2 * pw - dw * (kw - 1) - 1) // sw + 1
    out = []
    for b in range(B):
        per_pos = []
        for oh in range(oh_n):
            for ow in range(ow_n):
                vec = []
                for c in range(C):
                    for i in range(kh):
                        for j in range(kw):
                            y, x = oh * sh - ph + i * dh, ow * sw - pw + j * dw
                            vec.append(int(codes[b, c, y, x]) if 0 <= y < H and 0 <= x < W else 0)
                per_pos.append(vec)
        out.append(per_pos)
    return out


def row_groups(k, p):
    """group index of each of the k rows of one conv group."""
    r = 1 if p.sequential else min(p.rows_parallel, p.rows)
    per_sub = -(-p.rows // r)
    return [(i // p.rows) * per_sub + (i % p.rows) // r for i in range(k)]


def sense_amp_moments(g, sigma, max_code):
    """Mean and variance of adc(g*(1+sigma*N(0,1))) by summing over the codes."""
    sd = sigma * g
    mean = second = 0.0
    for m in range(max_code + 1):
        lo = -math.inf if m == 0 else m - 0.5
        hi = math.inf if m == max_code else m + 0.5
        if sd == 0:
            pm = 1.0 if lo <= g < hi else 0.0
        else:
            cdf = lambda t: 0.0 if t == -math.inf else (1.0 if t == math.inf else
                                                         0.5 * math.erfc(-(t - g) / (sd * math.sqrt(2))))
            pm = cdf(hi) - cdf(lo)
        mean += m * pm
        second += m * m * pm
    return mean, max(second - mean * mean, 0.0)


def reference_layer(layer, codes, p, image_offset=0):
    """Integer output [B, C_out, P] of the crossbar, computed with loops."""
    q = layer.weight_matrix()
    prog = program_cells(q, p, layer.key)
    gd, gr_ref = prog.g_data.tolist(), prog.g_ref.tolist()
    n_groups, k, n = q.shape
    cps, nb, cb = p.cells_per_weight, p.input_bits, p.cell_bit
    ncol, tiles = n * cps, prog.g_ref.shape[-1]
    maxc = p.adc_max_code
    grp = row_groups(k, p)
    n_rg = max(grp) + 1
    vectors = input_vectors(layer, codes)
    out = torch.zeros(codes.shape[0], n_groups * n, len(vectors[0]), dtype=torch.float64)
    for b, per_pos in enumerate(vectors):
        z = None
        if p.c2c_sigma > 0:
            shape = ((nb, len(per_pos), n_groups, ncol) if p.sequential
                     else (nb, len(per_pos), n_groups * n_rg, ncol + tiles))
            z = c2c_noise(p, layer.key, image_offset + b, shape, torch.float64, "cpu").tolist()
        for pos, vec in enumerate(per_pos):
            for g in range(n_groups):
                a_codes = vec[g * k:(g + 1) * k]
                bits = [twos_complement_bits(a, nb) for a in a_codes]
                for nn_ in range(n):
                    total = 0
                    for j in range(nb):
                        wj = -(2 ** (nb - 1)) if j == 0 else 2 ** (nb - 1 - j)
                        x = [bits[i][j] for i in range(k)]
                        acc = 0
                        for s in range(cps):
                            col = nn_ * cps + s
                            tile = col // p.cols
                            if p.sequential:
                                if p.c2c_sigma == 0:
                                    colsum = sum(adc(gd[g][i][nn_][s], maxc) - adc(gr_ref[g][i][tile], maxc)
                                                 for i in range(k) if x[i])
                                else:
                                    mean = var = 0.0
                                    for i in range(k):
                                        if x[i]:
                                            m1, v1 = sense_amp_moments(gd[g][i][nn_][s], p.c2c_sigma, maxc)
                                            m2, v2 = sense_amp_moments(gr_ref[g][i][tile], p.c2c_sigma, maxc)
                                            mean += m1 - m2
                                            var += v1 + v2
                                    colsum = math.floor(mean + math.sqrt(var) * z[j][pos][g][col] + 0.5)
                            else:
                                colsum = 0
                                for a in range(n_rg):
                                    rows = [i for i in range(k) if grp[i] == a and x[i]]
                                    r_d = sum(gd[g][i][nn_][s] for i in rows)
                                    r_r = sum(gr_ref[g][i][tile] for i in rows)
                                    if z is not None:
                                        r_d += p.c2c_sigma * math.sqrt(sum(gd[g][i][nn_][s] ** 2 for i in rows)) \
                                            * z[j][pos][g * n_rg + a][col]
                                        r_r += p.c2c_sigma * math.sqrt(sum(gr_ref[g][i][tile] ** 2 for i in rows)) \
                                            * z[j][pos][g * n_rg + a][ncol + tile]
                                    colsum += adc(r_d, maxc, p.adc_step) - adc(r_r, maxc, p.adc_step)
                            acc += 2 ** (cb * (cps - 1 - s)) * colsum
                        total += wj * acc
                    total -= 2 ** (p.weight_bits - 1) * sum(a_codes)
                    out[b, g * n + nn_, pos] = total
    return out


# ------------------------------------------------------------------------------------------
# layers and cases
# ------------------------------------------------------------------------------------------

def make_layer(kind, p, seed=0):
    torch.manual_seed(seed)
    if kind == "conv":
        m = nn.Conv2d(5, 7, 3, stride=2, padding=1, bias=False)
        shape = (2, 5, 5, 5)
    elif kind == "conv_groups":
        m = nn.Conv2d(4, 6, (3, 2), stride=(1, 2), padding=(0, 1), groups=2, bias=True)
        shape = (2, 4, 4, 5)
    elif kind == "conv_dilated":
        m = nn.Conv2d(3, 4, 3, padding=2, dilation=2, bias=False)
        shape = (1, 3, 4, 4)
    else:
        m = nn.Linear(37, 9)
        shape = (3, 37)
    model = nn.Sequential(m)
    ctx = convert_model(model, p, torch.float64)
    layer = ctx.layers[0]
    nb = p.input_bits
    g = torch.Generator().manual_seed(seed + 1)
    codes = torch.randint(-(2 ** (nb - 1)), 2 ** (nb - 1), shape, generator=g).double()
    codes[torch.rand(shape, generator=g) < 0.3] = 0
    return layer, codes


BASE = dict(rows=16, cols=16, weight_bits=5, input_bits=4, cell_bit=2, seed=11)
CASES = [
    ("ideal parallel", dict(rows_parallel=16, adc_levels=4096)),
    ("parallel adc4 on/off 5", dict(rows_parallel=16, adc_levels=4, on_off_ratio=5.0)),
    ("parallel rp5 cb1", dict(rows_parallel=5, adc_levels=8, on_off_ratio=17.0, cell_bit=1)),
    ("parallel cb3 d2d", dict(rows_parallel=16, adc_levels=16, on_off_ratio=10.0, cell_bit=3, d2d_sigma=0.2)),
    ("parallel c2c", dict(rows_parallel=7, adc_levels=32, on_off_ratio=17.0, c2c_sigma=0.15)),
    ("parallel everything", dict(rows_parallel=16, adc_levels=8, on_off_ratio=17.0, d2d_sigma=0.1,
                                 c2c_sigma=0.1, drift_nu=0.05, drift_time_s=1e3,
                                 stuck_on_rate=0.02, stuck_off_rate=0.03)),
    ("parallel wide full scale", dict(rows_parallel=16, adc_levels=8, on_off_ratio=17.0,
                                      adc_full_scale=20.0)),
    ("parallel drift target", dict(rows_parallel=16, adc_levels=32, on_off_ratio=17.0, drift_nu=0.1,
                                   drift_time_s=1e4, drift_mode="target", drift_target=1.3)),
    ("sequential ideal", dict(sequential=True, rows_parallel=1, on_off_ratio=17.0)),
    ("sequential d2d stuck", dict(sequential=True, rows_parallel=1, on_off_ratio=8.0, d2d_sigma=0.25,
                                  stuck_on_rate=0.05, cell_bit=3)),
    ("sequential c2c", dict(sequential=True, rows_parallel=1, on_off_ratio=17.0, c2c_sigma=0.2,
                            d2d_sigma=0.1)),
]


@pytest.mark.parametrize("name,over", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("kind", ["conv", "conv_groups", "linear"])
def test_fast_path_equals_reference(name, over, kind):
    p = HardwareParams(**{**BASE, **over})
    layer, codes = make_layer(kind, p)
    fast = layer.integer_forward(codes, hardware=True, image_offset=3)
    ref = reference_layer(layer, codes, p, image_offset=3)
    fast = fast.reshape(ref.shape)
    if p.adc_step == 1.0:      # integer results: identical
        assert torch.equal(fast, ref), f"max diff {(fast - ref).abs().max()}"
    else:                      # same ADC codes; code*step sums differ only in float rounding
        torch.testing.assert_close(fast, ref, rtol=0, atol=1e-9)
        assert not torch.equal(ref, layer.integer_forward(codes, hardware=False).reshape(ref.shape))


def test_dilated_conv_and_column_tiles_match_reference():
    p = HardwareParams(**{**BASE, "rows_parallel": 4, "adc_levels": 6, "on_off_ratio": 9.0,
                          "cols": 16, "d2d_sigma": 0.1, "c2c_sigma": 0.05})
    layer, codes = make_layer("conv_dilated", p)
    fast = layer.integer_forward(codes, hardware=True).reshape(codes.shape[0], 4, -1)
    assert torch.equal(fast, reference_layer(layer, codes, p))


def test_ideal_hardware_is_the_exact_integer_product():
    """High ADC resolution, infinite on/off ratio, no noise: crossbar == a . q exactly."""
    for seq in (False, True):
        p = HardwareParams(**{**BASE, "sequential": seq, "rows_parallel": 16, "adc_levels": 4096})
        for kind in ("conv", "conv_groups", "conv_dilated", "linear"):
            layer, codes = make_layer(kind, p, seed=5)
            assert torch.equal(layer.integer_forward(codes, True), layer.integer_forward(codes, False))


def test_reference_detects_a_wrong_adc():
    """The comparison can fail: a coarser ADC changes the reference result."""
    p = HardwareParams(**{**BASE, "rows_parallel": 16, "adc_levels": 3, "on_off_ratio": 17.0})
    layer, codes = make_layer("conv", p)
    exact = layer.integer_forward(codes, hardware=False).reshape(codes.shape[0], 7, -1)
    assert not torch.equal(reference_layer(layer, codes, p), exact)


def test_sequential_read_noise_moments_match_per_read_sampling():
    """The sequential-mode noise model draws the column sum from a normal with the exact
    mean and variance of the sum of per-row sense-amp codes; check both against drawing
    every cell read (Monte Carlo)."""
    from cim.hardware import adc_convert, sense_amp_moments as fast_moments
    gen = torch.Generator().manual_seed(3)
    levels = 4
    g = (torch.randint(0, levels, (40,), generator=gen).double() + 0.2)   # one column, 40 active rows
    g_ref = torch.full((40,), 0.2, dtype=torch.float64)
    sigma, draws = 0.2, 40000
    reads = adc_convert(g * (1 + sigma * torch.randn(draws, 40, generator=gen, dtype=torch.float64)), levels - 1)
    refs = adc_convert(g_ref * (1 + sigma * torch.randn(draws, 40, generator=gen, dtype=torch.float64)), levels - 1)
    column = (reads - refs).sum(1)
    m_d, v_d, _ = fast_moments(g, sigma, levels - 1)
    m_r, v_r, _ = fast_moments(g_ref, sigma, levels - 1)
    mean, var = float((m_d - m_r).sum()), float((v_d + v_r).sum())
    se = math.sqrt(var / draws)
    assert abs(float(column.mean()) - mean) < 5 * se
    assert abs(float(column.var()) / var - 1) < 0.05
    # and the reference's per-code enumeration agrees with the fast closed form
    for gi in (0.0, 0.2, 1.3, 2.5, 3.2):
        m1, v1 = sense_amp_moments(gi, sigma, levels - 1)
        m2, v2, _ = fast_moments(torch.tensor([gi], dtype=torch.float64), sigma, levels - 1)
        assert m1 == pytest.approx(float(m2), abs=1e-12) and v1 == pytest.approx(float(v2), abs=1e-12)
