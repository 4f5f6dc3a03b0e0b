"""Measured conductance tables, output noise, IR drop, ADC non-idealities and hardware-aware
training (issue 12, items 2-5), each against a slow reference written from the physics:

* the exact IR-drop solver against a dense Kirchhoff (nodal) solve built with loops;
* the fast IR-drop model against the series formula cell by cell;
* the whole parallel read (table, output noise, per-ADC offset / gain / flash or SAR
  non-linearity, exact IR drop) against a loop over images, positions, bit planes, row
  groups and columns that solves each read and converts each column with its own ADC.
"""
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from cim import HardwareParams, convert_model
from cim.adc import AdcModel
from cim.conductance import TableError, load_conductance_table, output_noise, output_noise_sigma
from cim.hardware import program_cells
from cim.ir_drop import series_conductance, solve_tile

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------------------------------------
# conductance tables
# ------------------------------------------------------------------------------------------

def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_example_tables_load():
    for name in ("conductance_table_example.csv", "conductance_table_example.yaml"):
        t = load_conductance_table(str(ROOT / "data" / name), 2, 128)
        assert len(t.mean) == 4 and t.mean[0] < t.mean[-1]
    t = load_conductance_table(str(ROOT / "data" / "conductance_table_example.yaml"), 2, 128)
    assert t.output_noise == (1e-6,)


@pytest.mark.parametrize("text", [
    "level,mean,std\n1,2e-6,1e-7\n0,1e-7,1e-8\n",        # header, any row order
    "Std,State,Mean\n1e-8,0,1e-7\n1e-7,1,2e-6\n",        # any column order, 'state' alias
    "0,1e-7,1e-8\n1,2e-6,1e-7\n",                        # no header: level, mean, std
    "# comment\n1e-7,1e-8\n2e-6,1e-7\n",                  # no header: mean, std
])
def test_csv_layouts(tmp_path, text):
    t = load_conductance_table(write(tmp_path, "t.csv", text), 1, 16)
    assert t.mean == (1e-7, 2e-6) and t.std == (1e-8, 1e-7)


@pytest.mark.parametrize("text,needle", [
    ("level,mean\n0,1e-7\n1,2e-6\n", "missing column(s) std"),
    ("level,mean,std\n0,nan,1e-8\n1,2e-6,1e-7\n", "finite"),
    ("level,mean,std\n0,1e-7,-1e-8\n1,2e-6,1e-7\n", "negative std"),
    ("level,mean,std\n0,1e-7,1e-8\n1,2e-6,1e-7\n2,3e-6,1e-7\n", "3 levels"),
    ("level,mean,std\n0,1e-7,1e-8\n0,2e-6,1e-7\n", "each once"),
    ("level,mean,std\n0,3e-6,1e-8\n1,2e-6,1e-7\n", "increase"),
    ("level,mean,std\n0,abc,1e-8\n1,2e-6,1e-7\n", "not a number"),
    ("", "no data rows"),
])
def test_bad_csv(tmp_path, text, needle):
    with pytest.raises(TableError, match=None) as e:
        load_conductance_table(write(tmp_path, "t.csv", text), 1, 16)
    assert needle in str(e.value) and "t.csv" in str(e.value) and "\n" not in str(e.value)


def test_bad_yaml_and_missing(tmp_path):
    with pytest.raises(TableError, match="output_noise has 3 values"):
        load_conductance_table(write(tmp_path, "t.yaml", "mean: [1e-7, 2e-6]\nstd: [0, 0]\n"
                                     "output_noise: [1, 2, 3]\n"), 1, 16)
    with pytest.raises(TableError, match="missing list 'std'"):
        load_conductance_table(write(tmp_path, "t.yaml", "mean: [1e-7, 2e-6]\n"), 1, 16)
    with pytest.raises(TableError, match="cannot be read"):
        load_conductance_table(str(tmp_path / "absent.csv"), 1, 16)


def test_cli_bad_table_exits_2(tmp_path):
    bad = write(tmp_path, "bad.csv", "level,mean,std\n0,1e-7,-1\n1,2e-6,1e-7\n")
    r = subprocess.run([sys.executable, "inference_sim.py", "--no-traces", "--set",
                        f"device.conductance_table={bad}"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "negative std" in r.stderr


def test_config_rules():
    from inferenceConfig import Config, ConfigError
    c = Config()
    c.set("nonideal.ir_drop", "exact")
    with pytest.raises(ConfigError, match="parallel read only"):
        c.validate()
    c.set("array.operation_mode", "parallel")
    c.validate()
    c.set("nonideal.adc_offset", -1)
    with pytest.raises(ConfigError, match="adc_offset"):
        c.validate()
    c = Config()
    c.set("device.cell_bit", 2)
    c.set("device.conductance_table", str(ROOT / "data" / "conductance_table_example.yaml"))
    with pytest.raises(ConfigError, match="output_noise is modelled for parallel read only"):
        c.validate()
    c.set("array.operation_mode", "parallel")
    c.validate()
    text = Config().describe()
    for name in ("conductance_table", "ir_drop", "adc_offset", "adc_gain_error", "adc_inl"):
        assert name in text


def test_table_programming_statistics():
    """Cells at level l follow N(mean_l, std_l) (normalised), reference cells level 0."""
    means, stds = (0.3, 1.1, 2.4, 3.3), (0.05, 0.1, 0.0, 0.2)
    p = HardwareParams(weight_bits=4, cell_bit=2, rows=64, cols=64, level_means=means,
                       level_stds=stds, on_off_ratio=11.0, seed=3)
    q = torch.randint(-7, 8, (1, 400, 50))
    prog = program_cells(q, p, 0)
    from cim.hardware import weight_slices
    lv = weight_slices(q, p).long()
    for l in range(4):
        g = prog.g_data[lv == l].double()
        assert abs(float(g.mean()) - means[l]) < 4 * stds[l] / math.sqrt(g.numel()) + 1e-6
        if stds[l] > 0:
            assert abs(float(g.std()) / stds[l] - 1) < 0.05
    assert abs(float(prog.g_ref.mean()) - means[0]) < 0.01


def test_from_config_normalises_table():
    from inferenceConfig import Config
    c = Config()
    c.set("device.cell_bit", 2)
    c.set("device.conductance_table", str(ROOT / "data" / "conductance_table_example.csv"))
    c.validate()
    p = HardwareParams.from_config(c)
    assert p.level_means[-1] - p.level_means[0] == pytest.approx(3.0)
    assert p.g_min == pytest.approx(p.level_means[0])
    assert p.on_off_ratio == pytest.approx(1e-5 / 6e-7)


# ------------------------------------------------------------------------------------------
# IR drop
# ------------------------------------------------------------------------------------------

def kirchhoff(g, x, rows, offset, r_row, r_col, voltages=False):
    """Column currents of one tile by a dense nodal solve (loops build the equations);
    voltages=True: also the row-wire node voltages vr[i][j] (active rows) and the column-wire
    node voltages vc[i][j] at the group's rows.

    g: [R][C] conductances of the R rows of a group at sub-array rows offset..offset+R-1
    (C columns, positions 0..C-1); x: [R] active rows. Read voltage 1 on active rows, row
    wires driven at column 0, column wires read at virtual ground below row rows-1."""
    R, C = len(g), len(g[0])
    act = [i for i in range(R) if x[i]]
    idx = {}
    for i in act:
        for j in range(C):
            idx[("r", i, j)] = len(idx)
    for pos in range(rows):
        for j in range(C):
            idx[("c", pos, j)] = len(idx)
    n = len(idx)
    A = np.zeros((n, n))
    b = np.zeros(n)

    def add(eq, key, coef):
        if key == "one":
            b[eq] -= coef
        elif key != "zero":
            A[eq, idx[key]] += coef

    gr, gc = 1.0 / r_row, 1.0 / r_col
    for i in act:
        pos = offset + i
        for j in range(C):
            eq = idx[("r", i, j)]
            left = "one" if j == 0 else ("r", i, j - 1)
            add(eq, left, gr); add(eq, ("r", i, j), -gr)                      # in from the left
            if j + 1 < C:
                add(eq, ("r", i, j), -gr); add(eq, ("r", i, j + 1), gr)       # out to the right
            add(eq, ("r", i, j), -g[i][j]); add(eq, ("c", pos, j), g[i][j])   # into the cell
    for pos in range(rows):
        i = pos - offset
        for j in range(C):
            eq = idx[("c", pos, j)]
            if pos > 0:
                add(eq, ("c", pos - 1, j), gc); add(eq, ("c", pos, j), -gc)   # from above
            below = "zero" if pos == rows - 1 else ("c", pos + 1, j)
            add(eq, ("c", pos, j), -gc); add(eq, below, gc)                   # to below / amp
            if 0 <= i < R and x[i]:
                add(eq, ("r", i, j), g[i][j]); add(eq, ("c", pos, j), -g[i][j])  # from the cell
    v = np.linalg.solve(A, b)
    cur = [v[idx[("c", rows - 1, j)]] * gc for j in range(C)]
    if not voltages:
        return cur
    vr = {(i, j): v[idx[("r", i, j)]] for i in act for j in range(C)}
    vc = {(i, j): v[idx[("c", offset + i, j)]] for i in range(R) for j in range(C)}
    return cur, vr, vc


@pytest.mark.parametrize("offset,rows", [(0, 6), (2, 8), (5, 8)])
def test_exact_solver_matches_kirchhoff(offset, rows):
    gen = torch.Generator().manual_seed(offset)
    R, T, C, V = 3, 2, 5, 4
    g = torch.rand(1, R, T, C, generator=gen, dtype=torch.float64) * 2
    x = (torch.rand(1, V, R, generator=gen) < 0.7).double()
    r_row, r_col = 0.01, 0.03
    out = solve_tile(x, g, torch.tensor([offset]), rows, r_row, r_col)
    for v in range(V):
        for t in range(T):
            ref = kirchhoff(g[0, :, t].tolist(), x[0, v].tolist(), rows, offset, r_row, r_col)
            assert out[0, v, t].tolist() == pytest.approx(ref, rel=1e-6, abs=1e-9)


def test_fast_ir_sequential_is_one_row_nodal_solution():
    """Sequential read: each cell's conductance becomes its current with its row alone
    active (dense Kirchhoff solve of the tile, one row)."""
    base = dict(weight_bits=4, cell_bit=2, rows=8, cols=8, on_off_ratio=10.0, d2d_sigma=0.1,
                seed=5, sequential=True, rows_parallel=1)
    q = torch.randint(-7, 8, (1, 11, 5))
    p0 = HardwareParams(**base)
    p1 = HardwareParams(**base, ir_drop="fast", wire_r_row=0.002, wire_r_col=0.005)
    g0, g1 = program_cells(q, p0, 1), program_cells(q, p1, 1)
    for k in range(11):
        for t in range(2):
            cols_t = range(8 * t, min(8 * t + 8, 10))
            row = ([float(g0.g_data[0, k, c // 2, c % 2]) for c in cols_t] + [0.0] * (8 - len(cols_t))
                   + [float(g0.g_ref[0, k, t])])
            cur = kirchhoff([row], [1], 8, k % 8, 0.002, 0.005)
            for m, c in enumerate(cols_t):
                assert float(g1.g_data[0, k, c // 2, c % 2]) == pytest.approx(cur[m], rel=1e-5)
            assert float(g1.g_ref[0, k, t]) == pytest.approx(cur[8], rel=1e-5)


def fast_vs_exact_error(rows, r_row, r_col, activity, seed=0, vectors=16):
    """Largest relative error of the column currents against the exact solve, for the fast
    model, stage 2's per-cell series model and no wire model (random binary weights on a
    level-0 offset of 0.06, one rows x rows tile plus its reference column)."""
    from cim.ir_drop import FastIR
    gen = torch.Generator().manual_seed(seed)
    g = (torch.rand(1, rows, rows, generator=gen) < 0.5).double() + 0.06
    gref = torch.full((1, rows, 1), 0.06, dtype=torch.float64)
    x = (torch.rand(1, vectors, rows, generator=gen) < activity).double()
    p = HardwareParams(rows=rows, cols=rows, rows_parallel=rows, wire_r_row=r_row, wire_r_col=r_col)
    from cim.ir_drop import exact_readings
    exact, _ = exact_readings(x, g, gref, torch.tensor([0]), p)
    fast, _ = FastIR(g, gref, torch.tensor([0]), torch.tensor([rows]), p).readings(x)
    series = x @ series_conductance(g[0], torch.arange(rows), torch.arange(rows), rows, r_row, r_col)
    ideal = x @ g[0]
    return tuple(float(((m - exact).abs() / exact.clamp(min=1e-12)).max()) for m in (fast, series, ideal))


def test_fast_model_error_is_bounded():
    # 128 x 128 RRAM at 22 nm (r * unit as HardwareParams.from_config computes), 25 % activity
    err_fast, err_series, err_ideal = fast_vs_exact_error(128, 1.4696e-05, 4.4088e-05, 0.25)
    assert err_fast < 0.05 and err_fast < err_series < err_ideal


# ------------------------------------------------------------------------------------------
# the whole parallel read against a loop reference
# ------------------------------------------------------------------------------------------

def adc_code(u, adc, a, max_code):
    """Code of one ADC (index a) for input u in LSB, from its drawn parameters."""
    if adc.thresholds is not None:
        code = sum(1 for t in adc.thresholds[a].tolist() if t <= u)
    elif adc.dac is not None:
        w = adc.weights[a].tolist()
        code = 0
        for bit in range(adc.bits - 1, -1, -1):
            trial = code | (1 << bit)
            dac = sum(w[i] for i in range(adc.bits) if (trial >> i) & 1)
            if u >= dac - 0.5:
                code = trial
    else:
        code = math.floor(u + 0.5)
    return min(max(code, 0), max_code)


def reference_parallel(layer, codes, p):
    q = layer.weight_matrix()
    prog = program_cells(q, p, layer.key)
    gd, gref = prog.g_data, prog.g_ref
    n_groups, k, n = q.shape
    cps, nb, cb = p.cells_per_weight, p.input_bits, p.cell_bit
    ncol, tiles = n * cps, gref.shape[-1]
    maxc, step = p.adc_max_code, p.adc_step
    r = min(p.rows_parallel, p.rows)
    per_sub = -(-p.rows // r)
    grp = [(i // p.rows) * per_sub + (i % p.rows) // r for i in range(k)]
    n_rg = max(grp) + 1
    adc = AdcModel(p, layer.key, ncol, tiles, maxc, step, torch.float64) if p.has_adc_errors else None
    cpa = min(p.cols_per_adc, p.cols)
    per_tile = p.cols // cpa
    sig = (output_noise_sigma(p, ncol, tiles, torch.float64, "cpu").tolist()
           if p.output_noise is not None else None)
    # im2col with loops
    if layer.kind == "linear":
        vecs = [[[int(v) for v in codes[b]]] for b in range(codes.shape[0])]
    else:
        B, C, H, W = codes.shape
        (kh, kw), (sh, sw), (ph, pw) = layer.kernel, layer.stride, layer.padding
        oh_n, ow_n = (H + 2 * ph - kh) // sh + 1, (W + 2 * pw - kw) // sw + 1
        vecs = [[[int(codes[b, c, oh * sh - ph + i, ow * sw - pw + j])
                  if 0 <= oh * sh - ph + i < H and 0 <= ow * sw - pw + j < W else 0
                  for c in range(C) for i in range(kh) for j in range(kw)]
                 for oh in range(oh_n) for ow in range(ow_n)] for b in range(B)]
    out = torch.zeros(codes.shape[0], n_groups * n, len(vecs[0]), dtype=torch.float64)
    for b, per_pos in enumerate(vecs):
        zo = (output_noise(p, layer.key, b, (nb, len(per_pos), n_groups * n_rg, ncol + tiles),
                           torch.float64, "cpu").tolist() if sig else None)
        for pos, vec in enumerate(per_pos):
            for g in range(n_groups):
                a_codes = vec[g * k:(g + 1) * k]
                bits = [[(int(a) & ((1 << nb) - 1)) >> (nb - 1 - j) & 1 for j in range(nb)] for a in a_codes]
                d = [0.0] * ncol
                totals = [0.0] * n
                for j in range(nb):
                    wj = -(2 ** (nb - 1)) if j == 0 else 2 ** (nb - 1 - j)
                    colsum = [0.0] * ncol
                    for a in range(n_rg):
                        rows_a = [i for i in range(k) if grp[i] == a]
                        ga = g * n_rg + a
                        read = [0.0] * (ncol + tiles)
                        for t in range(tiles):
                            cols_t = list(range(t * p.cols, min((t + 1) * p.cols, ncol)))
                            if p.ir_drop in ("exact", "fast"):
                                gm = [[float(gd[g, i, c // cps, c % cps]) for c in cols_t]
                                      + [0.0] * (p.cols - len(cols_t)) + [float(gref[g, i, t])]
                                      for i in rows_a]
                                xs = [bits[i][j] for i in rows_a]
                                off = rows_a[0] % p.rows
                                if p.ir_drop == "fast":
                                    # node voltages with every row of the group active, the
                                    # column voltage scaled by the active fraction
                                    _, vr, vc = kirchhoff(gm, [1] * len(rows_a), p.rows, off,
                                                          p.wire_r_row, p.wire_r_col, voltages=True)
                                    frac = sum(xs) / len(rows_a)
                                    cur = [sum(gm[m][c] * (vr[m, c] - frac * vc[m, c])
                                               for m in range(len(rows_a)) if xs[m])
                                           for c in range(p.cols + 1)]
                                elif any(xs):
                                    cur = kirchhoff(gm, xs, p.rows, off, p.wire_r_row, p.wire_r_col)
                                else:
                                    cur = [0.0] * (p.cols + 1)
                                for m, c in enumerate(cols_t):
                                    read[c] = cur[m]
                                read[ncol + t] = cur[p.cols]
                            else:
                                for c in cols_t:
                                    read[c] = sum(float(gd[g, i, c // cps, c % cps]) for i in rows_a if bits[i][j])
                                read[ncol + t] = sum(float(gref[g, i, t]) for i in rows_a if bits[i][j])
                        if sig:
                            read = [read[c] + sig[c] * zo[j][pos][ga][c] for c in range(ncol + tiles)]
                        for c in range(ncol):
                            t = c // p.cols
                            if adc is not None:
                                a_d = t * per_tile + (c % p.cols) // cpa
                                a_r = tiles * per_tile + t
                                u_d = read[c] * (1 + float(adc.gain[a_d])) / step + float(adc.offset[a_d])
                                u_r = read[ncol + t] * (1 + float(adc.gain[a_r])) / step + float(adc.offset[a_r])
                                dc = adc_code(u_d, adc, a_d, maxc) - adc_code(u_r, adc, a_r, maxc)
                            else:
                                dc = (min(max(math.floor(read[c] / step + 0.5), 0), maxc)
                                      - min(max(math.floor(read[ncol + t] / step + 0.5), 0), maxc))
                            colsum[c] += dc * step
                    for nn_ in range(n):
                        totals[nn_] += wj * sum(2 ** (cb * (cps - 1 - s)) * colsum[nn_ * cps + s]
                                                for s in range(cps))
                for nn_ in range(n):
                    out[b, g * n + nn_, pos] = totals[nn_] - 2 ** (p.weight_bits - 1) * sum(a_codes)
    return out


def make(kind, p, seed=0, nonneg=False):
    torch.manual_seed(seed)
    if kind == "conv":
        m, shape = nn.Conv2d(3, 5, 3, stride=2, padding=1, bias=False), (2, 3, 5, 5)
    else:
        m, shape = nn.Linear(21, 6), (3, 21)
    ctx = convert_model(nn.Sequential(m), p, torch.float64)
    layer = ctx.layers[0]
    gen = torch.Generator().manual_seed(seed + 1)
    nb = p.input_bits
    codes = torch.randint(-(2 ** (nb - 1)), 2 ** (nb - 1), shape, generator=gen).double()
    codes[torch.rand(shape, generator=gen) < 0.3] = 0
    if nonneg:                       # post-ReLU inputs: the sign plane and top planes are empty
        codes = codes.abs().clamp(max=2 ** (nb - 2) - 1)
    return layer, codes


BASE = dict(rows=8, cols=8, weight_bits=4, input_bits=3, cell_bit=2, seed=7, cols_per_adc=4,
            on_off_ratio=10.0, rows_parallel=8, adc_levels=16)
CASES = [
    ("table", dict(level_means=(0.35, 1.2, 2.1, 3.35), level_stds=(0.05, 0.1, 0.1, 0.15))),
    ("output noise", dict(output_noise=(0.3,) * 8)),
    ("adc offset gain", dict(adc_offset=0.4, adc_gain_error=0.05)),
    ("adc big offset", dict(adc_offset=1.2)),
    ("adc flash inl", dict(adc_inl=0.3, adc_offset=0.1)),
    ("adc sar inl", dict(adc_inl=0.5, adc_kind="sar", adc_gain_error=0.02)),
    ("adc wide step", dict(adc_inl=0.2, adc_full_scale=40.0, rows_parallel=5)),
    ("ir exact", dict(ir_drop="exact", wire_r_row=0.004, wire_r_col=0.01, rows_parallel=3)),
    ("ir fast d2d", dict(ir_drop="fast", wire_r_row=0.004, wire_r_col=0.01, d2d_sigma=0.1)),
    ("ir fast groups", dict(ir_drop="fast", wire_r_row=0.004, wire_r_col=0.01, rows_parallel=3,
                            adc_offset=0.2)),
    ("everything", dict(level_means=(0.35, 1.2, 2.1, 3.35), level_stds=(0.05, 0.1, 0.1, 0.15),
                        output_noise=(0.2,), adc_offset=0.3, adc_gain_error=0.03, adc_inl=0.2,
                        ir_drop="exact", wire_r_row=0.003, wire_r_col=0.008)),
]


@pytest.mark.parametrize("name,over", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("kind", ["conv", "linear", "linear_relu"])
def test_parallel_effects_equal_reference(name, over, kind):
    p = HardwareParams(**{**BASE, **over})
    layer, codes = make(kind.split("_")[0], p, nonneg=kind.endswith("relu"))
    layer.prepare_hardware()
    fast = layer.engine.forward_unfolded(layer._unfold(codes.to(torch.float64)), 0)
    ref = reference_parallel(layer, codes, p)
    # every ADC code equal: the results are integers times the ADC step (float rounding only)
    torch.testing.assert_close(fast, ref, rtol=0, atol=1e-9)


def test_ideal_settings_reduce_to_ideal_adc():
    """All new effects at 0 keep the exact paths (lossless with enough ADC levels)."""
    p = HardwareParams(**{**BASE, "adc_levels": 4096})
    layer, codes = make("linear", p)
    layer.prepare_hardware()
    assert layer.engine.lossless and layer.engine.adc is None


def test_adc_streams_are_own_and_seeded():
    p = HardwareParams(**{**BASE, "adc_offset": 0.5})
    a1 = AdcModel(p, 0, 16, 2, 15, 1.0)
    a2 = AdcModel(p, 0, 16, 2, 15, 1.0)
    a3 = AdcModel(HardwareParams(**{**BASE, "adc_offset": 0.5, "d2d_sigma": 0.3}), 0, 16, 2, 15, 1.0)
    assert torch.equal(a1.offset, a2.offset) and torch.equal(a1.offset, a3.offset)
    assert not torch.equal(a1.offset, AdcModel(p, 1, 16, 2, 15, 1.0).offset)


# ------------------------------------------------------------------------------------------
# hardware-aware training
# ------------------------------------------------------------------------------------------

def small_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 36, 3))


def test_hat_forward_equals_hardware_and_has_gradients():
    from cim import calibrate
    from cim.hat import resample
    p = HardwareParams(rows=16, cols=16, rows_parallel=16, adc_levels=8, on_off_ratio=10.0,
                       d2d_sigma=0.1, seed=1)
    net = small_net()
    ctx = convert_model(net, p)
    x = torch.randn(5, 1, 6, 6, generator=torch.Generator().manual_seed(2))
    calibrate(net, ctx, [x])
    with torch.no_grad(), ctx.use("hardware"):
        ctx.prepare_hardware()
        y_hw = net(x)
    ctx.train_hardware = True
    with ctx.use("hardware"):
        y = net(x)
    torch.testing.assert_close(y.detach(), y_hw, rtol=1e-6, atol=1e-6)   # y_soft + (y_hw - y_soft)
    y.square().sum().backward()
    for layer in ctx.layers:
        gw = layer.inner.weight.grad
        assert gw is not None and torch.isfinite(gw).all() and gw.abs().sum() > 0
    s1 = ctx.params.seed
    resample(ctx, 0, 1)
    assert ctx.params.seed != s1 and all(l.engine is None for l in ctx.layers)


def test_hat_training_reduces_loss_on_synthetic_data():
    import torch.nn.functional as F
    from cim import calibrate
    from cim.hat import resample
    p = HardwareParams(rows=16, cols=16, rows_parallel=16, adc_levels=16, on_off_ratio=10.0,
                       d2d_sigma=0.15, seed=1)
    net = small_net()
    gen = torch.Generator().manual_seed(3)
    y = torch.randint(0, 3, (48,), generator=gen)
    x = torch.randn(48, 1, 6, 6, generator=gen) * 0.3
    x[torch.arange(48), 0, 2 * y, 2 * y] += 2.0            # a learnable class pattern
    ctx = convert_model(net, p)
    calibrate(net, ctx, [x])
    ctx.train_hardware = True
    opt = torch.optim.Adam(net.parameters(), lr=1e-2)

    def loss_now():
        with torch.no_grad(), ctx.use("hardware"):
            resample(ctx, 99, 0)
            return float(F.cross_entropy(net(x), y))
    before = loss_now()
    for step in range(25):
        resample(ctx, 0, step)
        with ctx.use("hardware"):
            loss = F.cross_entropy(net(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss_now() < 0.7 * before


def test_train_cli_refuses_shipped_checkpoint_and_missing_init(tmp_path):
    r = subprocess.run([sys.executable, "train.py", "--hardware-aware", "--out",
                        "checkpoints/fmnist_cnn.pt"], cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "shipped checkpoint" in r.stderr
    r = subprocess.run([sys.executable, "train.py", "--hardware-aware", "--init",
                        str(tmp_path / "none.pt"), "--out", str(tmp_path / "o.pt")],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 2 and "--init" in r.stderr and not (tmp_path / "o.pt").exists()
