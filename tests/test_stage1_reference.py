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


def row_groups(k, p, kernel_positions=1):
    """group index of each of the k rows of one conv group. Conventional mapping: rows in
    unrolled order cut into sub-arrays of p.rows, each into groups of rows_parallel. Novel
    mapping: the rows of one kernel position (row c*KA + kpos) form their own sub-arrays."""
    r = 1 if p.sequential else min(p.rows_parallel, p.rows)
    keys = []
    for i in range(k):
        kpos, c = i % kernel_positions, i // kernel_positions
        keys.append((kpos, c // p.rows, (c % p.rows) // r))
    order = sorted(set(keys))
    return [order.index(key) for key in keys]


def sequential_reads(layer, vectors, p, gd, gr_ref, image_index, ncol, tiles):
    """Sequential read with read noise, every read drawn: colsum[(pos, g, j, col)] of the
    sense-amp codes. Reads are listed per block of positions in the order (position, group,
    plane, row); each draws ncol data reads and one read of each tile's reference cell."""
    nb, maxc, sig = p.input_bits, p.adc_max_code, p.c2c_sigma
    n_groups, k = len(gd), len(gd[0])
    pb = layer.engine.seq_pos_block
    colsum = {}
    for s0 in range(0, len(vectors), pb):
        active = []
        for pos in range(s0, min(len(vectors), s0 + pb)):
            for g in range(n_groups):
                bits = [twos_complement_bits(a, nb) for a in vectors[pos][g * k:(g + 1) * k]]
                for j in range(nb):
                    for i in range(k):
                        if bits[i][j]:
                            active.append((pos, g, j, i))
        if not active:
            continue
        z = c2c_noise(p, layer.key, image_index, (len(active), ncol + tiles), torch.float64, "cpu",
                      s0 // pb).tolist()
        for m, (pos, g, j, i) in enumerate(active):
            for col in range(ncol):
                tile = col // p.cols
                read = gd[g][i][col] * (1 + sig * z[m][col])
                ref = gr_ref[g][i][tile] * (1 + sig * z[m][ncol + tile])
                code = min(max(math.floor(read - ref + 0.5), 0), maxc)
                colsum[(pos, g, j, col)] = colsum.get((pos, g, j, col), 0) + code
    return colsum


def reference_layer(layer, codes, p, image_offset=0):
    """Integer output [B, C_out, P] of the crossbar, computed with loops."""
    q = layer.weight_matrix()
    prog = program_cells(q, p, layer.key)
    gd, gr_ref = prog.g_data.tolist(), prog.g_ref.tolist()
    n_groups, k, n = q.shape
    cps, nb, cb = p.cells_per_weight, p.input_bits, p.cell_bit
    ncol, tiles = n * cps, prog.g_ref.shape[-1]
    maxc = p.adc_max_code
    grp = row_groups(k, p, layer.kernel_positions)
    n_rg = max(grp) + 1
    vectors = input_vectors(layer, codes)
    npos = len(vectors[0])
    out = torch.zeros(codes.shape[0], n_groups * n, npos, dtype=torch.float64)
    gd_cols = [[[gd[g][i][c // cps][c % cps] for c in range(ncol)] for i in range(k)]
               for g in range(n_groups)]
    for b, per_pos in enumerate(vectors):
        seq_noise = None
        if p.sequential and p.c2c_sigma > 0:
            seq_noise = sequential_reads(layer, per_pos, p, gd_cols, gr_ref, image_offset + b,
                                         ncol, tiles)
        noise_blocks = {}

        def z_at(pos, j, ga, col):
            """parallel read noise, drawn per (image, block of positions)"""
            pb = layer.engine.pos_block
            blk = pos // pb
            if blk not in noise_blocks:
                length = min(pb, npos - blk * pb)
                noise_blocks[blk] = c2c_noise(p, layer.key, image_offset + b,
                                              (nb, length, n_groups * n_rg, ncol + tiles),
                                              torch.float64, "cpu", blk).tolist()
            return noise_blocks[blk][j][pos - blk * pb][ga][col]

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
                                # sense amp thresholds at the sensed reference + m + 0.5
                                if p.c2c_sigma == 0:
                                    colsum = sum(adc(gd[g][i][nn_][s] - gr_ref[g][i][tile], maxc)
                                                 for i in range(k) if x[i])
                                else:
                                    colsum = seq_noise.get((pos, g, j, col), 0)
                            else:
                                colsum = 0
                                for a in range(n_rg):
                                    rows = [i for i in range(k) if grp[i] == a and x[i]]
                                    r_d = sum(gd[g][i][nn_][s] for i in rows)
                                    r_r = sum(gr_ref[g][i][tile] for i in rows)
                                    if p.c2c_sigma > 0:
                                        r_d += p.c2c_sigma * math.sqrt(sum(gd[g][i][nn_][s] ** 2 for i in rows)) \
                                            * z_at(pos, j, g * n_rg + a, col)
                                        r_r += p.c2c_sigma * math.sqrt(sum(gr_ref[g][i][tile] ** 2 for i in rows)) \
                                            * z_at(pos, j, g * n_rg + a, ncol + tile)
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
    ("parallel fine full scale", dict(rows_parallel=16, adc_levels=64, on_off_ratio=17.0,
                                      adc_full_scale=10.0, d2d_sigma=0.05)),
    ("parallel novel mapping", dict(rows_parallel=4, adc_levels=8, on_off_ratio=17.0,
                                    novel_mapping=True, d2d_sigma=0.1, c2c_sigma=0.1)),
    ("parallel novel mapping exact", dict(rows_parallel=16, adc_levels=6, on_off_ratio=17.0,
                                          novel_mapping=True)),
    ("sequential ideal", dict(sequential=True, rows_parallel=1, on_off_ratio=17.0)),
    ("sequential low on/off", dict(sequential=True, rows_parallel=1, on_off_ratio=2.0, d2d_sigma=0.1)),
    ("sequential c2c low on/off", dict(sequential=True, rows_parallel=1, on_off_ratio=1.8,
                                       c2c_sigma=0.3, cell_bit=1)),
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


@pytest.mark.parametrize("over", [dict(sequential=True, on_off_ratio=10.0),
                                  dict(sequential=False, rows_parallel=3, novel_mapping=True,
                                       adc_levels=8, adc_full_scale=7.0, on_off_ratio=17.0)])
def test_position_chunks_match_reference(monkeypatch, over):
    """Memory chunks of a few output positions (and the read noise drawn per position
    block) give what the reference computes."""
    import cim.engine
    monkeypatch.setattr(cim.engine, "CHUNK_ELEMENTS", 3000)
    p = HardwareParams(**{**BASE, "c2c_sigma": 0.2, "d2d_sigma": 0.05, **over})
    layer, codes = make_layer("conv", p, seed=2)
    fast = layer.integer_forward(codes, hardware=True, image_offset=1)
    ref = reference_layer(layer, codes, p, image_offset=1)
    blocks = layer.engine.seq_pos_block if p.sequential else layer.engine.pos_block
    assert blocks < ref.shape[-1]
    torch.testing.assert_close(fast.reshape(ref.shape), ref, rtol=0, atol=1e-9)


@pytest.mark.parametrize("over", [dict(input_bits=4, rows_parallel=16, novel_mapping=True),
                                  dict(input_bits=4, rows_parallel=5),
                                  dict(input_bits=10, rows_parallel=16)])
@pytest.mark.parametrize("kind", ["conv", "conv_groups", "linear"])
def test_exact_devices_clip_screening_in_small_chunks(monkeypatch, over, kind):
    """Exact devices at a coarse ADC (the path that evaluates only the conversions that can
    clip): tiny memory chunks (many candidate chunks and pieces of risky conversions), and
    inputs above 8 bits (active rows counted without the byte-packed table), equal the
    reference."""
    import cim.engine
    monkeypatch.setattr(cim.engine, "CHUNK_ELEMENTS", 64)
    p = HardwareParams(**{**BASE, "adc_levels": 5, "on_off_ratio": 17.0, **over})
    layer, codes = make_layer(kind, p, seed=3)
    fast = layer.integer_forward(codes, hardware=True, image_offset=0)
    eng = layer.engine
    assert eng.exact_devices and not eng.lossless
    ref = reference_layer(layer, codes, p, image_offset=0)
    torch.testing.assert_close(fast.reshape(ref.shape), ref, rtol=0, atol=1e-9)
    assert eng.stats_clipped > 0


def test_ideal_hardware_is_the_exact_integer_product():
    """High ADC resolution, infinite on/off ratio, no noise: crossbar == a . q exactly.
    Sequential: also at a low on/off ratio (thresholds follow the off-state current)."""
    for seq in (False, True):
        p = HardwareParams(**{**BASE, "sequential": seq, "rows_parallel": 16, "adc_levels": 4096,
                              "on_off_ratio": 2.0 if seq else math.inf})
        for kind in ("conv", "conv_groups", "conv_dilated", "linear"):
            layer, codes = make_layer(kind, p, seed=5)
            assert torch.equal(layer.integer_forward(codes, True), layer.integer_forward(codes, False))


def test_reference_detects_a_wrong_adc():
    """The comparison can fail: a coarser ADC changes the reference result."""
    p = HardwareParams(**{**BASE, "rows_parallel": 16, "adc_levels": 3, "on_off_ratio": 17.0})
    layer, codes = make_layer("conv", p)
    exact = layer.integer_forward(codes, hardware=False).reshape(codes.shape[0], 7, -1)
    assert not torch.equal(reference_layer(layer, codes, p), exact)


def test_sequential_read_noise_spread_matches_per_read_monte_carlo():
    """Statistics, independent of the noise stream: the fast path's output spread over many
    images (every read new) equals a numpy Monte Carlo of the physics, where each row's one
    reference read serves both columns of the tile. An independent reference read per
    column would give a clearly smaller spread at this on/off ratio."""
    import numpy as np
    from cim.engine import CrossbarEngine
    p = HardwareParams(weight_bits=2, input_bits=2, cell_bit=1, rows=32, cols=32, sequential=True,
                       rows_parallel=1, on_off_ratio=1.5, c2c_sigma=0.3, seed=4)
    k, images = 24, 3000
    q = torch.ones(1, k, 1)                     # u = q + 2 = 3: both cells at level 1
    eng = CrossbarEngine(q, p, layer_key=0, dtype=torch.float64)
    unf = torch.ones(images, k, 1, dtype=torch.float64)        # code 1: LSB plane only
    fast = eng.forward_unfolded(unf, 0).flatten().numpy()
    g = p.g_min + 1.0
    rng = np.random.default_rng(0)
    draws = 40000

    def column_codes(zd, zr):
        return np.clip(np.floor(g * (1 + p.c2c_sigma * zd) - p.g_min * (1 + p.c2c_sigma * zr) + 0.5), 0, 1)

    zr = rng.standard_normal((draws, k))
    shared = 2 * column_codes(rng.standard_normal((draws, k)), zr).sum(1) \
        + column_codes(rng.standard_normal((draws, k)), zr).sum(1) - 2 * k
    indep = 2 * column_codes(rng.standard_normal((draws, k)), rng.standard_normal((draws, k))).sum(1) \
        + column_codes(rng.standard_normal((draws, k)), rng.standard_normal((draws, k))).sum(1) - 2 * k
    assert abs(fast.mean() - shared.mean()) < 5 * math.sqrt(shared.var() / images)
    assert abs(fast.var() / shared.var() - 1) < 0.07
    assert indep.var() < 0.92 * shared.var()          # the test tells the two models apart


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_parallel_read_paths_match_cpu():
    """run.device = cuda: the exact-devices path with clipping (integer arithmetic) gives the
    CPU result exactly; the noisy path (read noise drawn ahead by the CUDA generator, other
    numbers than the CPU's) runs and stays close to it."""
    exact = HardwareParams(**{**BASE, "adc_levels": 5, "on_off_ratio": 17.0, "rows_parallel": 16})
    noisy = HardwareParams(**{**BASE, "adc_levels": 16, "on_off_ratio": 17.0, "rows_parallel": 16,
                              "d2d_sigma": 0.05, "c2c_sigma": 0.02})
    for p, same in ((exact, True), (noisy, False)):
        layer, codes = make_layer("conv", p, seed=3)
        cpu = layer.integer_forward(codes, hardware=True)
        layer.inner.cuda()
        layer.invalidate()
        gpu = layer.integer_forward(codes.cuda(), hardware=True).cpu()
        assert layer.engine.device.type == "cuda"
        if same:
            assert torch.equal(gpu, cpu)
        else:
            assert torch.isfinite(gpu).all()
            assert torch.corrcoef(torch.stack([gpu.flatten(), cpu.flatten()]))[0, 1] > 0.9
