"""Weight programming cost (programming.py): pulses and energies per cell, row-by-row
latency, the closed-form line energies against a pulse-by-pulse count, SRAM bit flips, the
erased default, the per-weight fast path, and the `--old-traces` command line."""
import json
import math
import subprocess
import sys

import numpy as np
import pytest

import programming as pg
from chip_traces import LayerTrace, NetworkTraces
from conftest import ROOT
from floorplan import plan_floor
from inferenceConfig import ConfigError, load_config
from peripherals.base import Context
from test_chip_traces import NET, write_csv_case


def setup(*sets, preset=None):
    param = load_config(preset, None, list(sets)).to_param()
    param.validate()
    return param, Context.from_param(param)


def device(**kw):
    base = dict(memory="RRAM", access="CMOS", cell_bit=2, levels_ltp=6, levels_ltd=3,
                g_min=1e-6, g_max=4e-6, write_voltage=2.0, pulse_width=10e-9, vdd=1.0)
    base.update(kw)
    return pg.WriteDevice(**base)


LINES = pg.ArrayLines(rows=4, cols=4, cap_row1=1e-15, cap_row2=2e-15, cap_col=3e-15)


# ------------------------------------------------------------------------------------------
# A 4x4 array by hand
# ------------------------------------------------------------------------------------------

def test_4x4_array_matches_hand_calculation():
    """cellBit 2 (levels 0..3, L = 3), 6 SET pulses and 3 RESET pulses per full swing:
    a change of d levels takes ceil(6d/3) = 2d SET or ceil(3|d|/3) = |d| RESET pulses.
    G(level) = 1e-6 (1 + level) S; Vw = 2 V, t_w = 10 ns, Vdd = 1 V; one 4x4 sub-array.

        old            new            SET pulses      RESET pulses
        0 0 0 0        3 1 0 0        6 2 0 0         0 0 0 0
        3 3 3 3        0 3 2 3        0 0 0 0         3 0 1 0
        1 2 0 3        1 2 0 3        0 0 0 0         0 0 0 0
        2 2 2 2        1 3 0 2        0 2 0 0         1 0 2 0

    Pulses: SET 6+2+2 = 10, RESET 3+1+1+2 = 7.
    Row by row, each phase as long as its slowest cell: SET 6 (row 0) + 2 (row 3) = 8,
    RESET 3 (row 1) + 2 (row 3) = 5 -> latency 13 x 10 ns = 130 ns; 4 row phases.
    Cell energy Vw^2 t_w n (G_old + G_new)/2 = 4e-8 x sum n (G_old + G_new)/2, with
    n (G_old+G_new)/2 in uS: 6 x 2.5 + 2 x 1.5 + 3 x 2.5 + 1 x 3.5 + 1 x 2.5 + 2 x 3.5
    + 2 x 2 = 42.5 -> 4e-8 x 42.5e-6 = 1.7e-12 J.
    Lines (1T1R; cap_row1 1 fF, cap_row2 2 fF, cap_col 3 fF):
      SET pulse: word line 2e-15 x 1 + bit line 1e-15 x 4 + the 4 - k columns not set
      (inhibited) 3e-15 x 4 each. Row 0: pulses 1-2 set 2 cells, pulses 3-6 set 1 cell:
      6 x 6 fF V^2 + (2 x 2 + 4 x 3) x 12 fF V^2 = 36 + 192 = 228 fJ; row 3: 2 pulses of
      1 cell: 2 x 6 + 2 x 3 x 12 = 84 fJ. SET 312 fJ.
      RESET pulse: word line 2 fJ + each cell being reset 12 fJ: row 1: 3 x 2 + (3 + 1) x 12
      = 54 fJ; row 3: 2 x 2 + (1 + 2) x 12 = 40 fJ. RESET 94 fJ. Lines 406 fJ.
    Total 1.7e-12 + 0.406e-12 = 2.106e-12 J."""
    old = np.array([[0, 0, 0, 0], [3, 3, 3, 3], [1, 2, 0, 3], [2, 2, 2, 2]])
    new = np.array([[3, 1, 0, 0], [0, 3, 2, 3], [1, 2, 0, 3], [1, 3, 0, 2]])
    dev = device()
    up, down = dev.pulses(old, new)
    assert up.tolist() == [[6, 2, 0, 0], [0, 0, 0, 0], [0, 0, 0, 0], [0, 2, 0, 0]]
    assert down.tolist() == [[0, 0, 0, 0], [3, 0, 1, 0], [0, 0, 0, 0], [1, 0, 2, 0]]
    c = pg.array_write_cost(old, new, dev, LINES)
    assert (c.set_pulses, c.reset_pulses, c.rows_written, c.cells_changed) == (10, 7, 4, 7)
    assert c.pulse_latency == pytest.approx(130e-9, rel=1e-12)
    assert c.latency == pytest.approx(130e-9, rel=1e-12)          # no periphery given
    assert c.cell_energy == pytest.approx(1.7e-12, rel=1e-12)
    assert c.line_energy == pytest.approx(406e-15, rel=1e-12)
    assert c.energy == pytest.approx(2.106e-12, rel=1e-12)
    assert c.subarrays == 1


# ------------------------------------------------------------------------------------------
# Line energies: the closed forms against pulse-by-pulse counting
# ------------------------------------------------------------------------------------------

def _pulse_by_pulse_lines(old, new, dev, lines):
    """Count the line energy pulse by pulse (the scheme the module documents)."""
    up, down = dev.pulses(old, new)
    vw2, vdd2, q2 = dev.write_voltage ** 2, dev.vdd ** 2, dev.write_voltage ** 2 / 4
    g_half = (dev.g_max + dev.g_min) / 2
    R, C = lines.rows, lines.cols
    e = 0.0
    for i in range(old.shape[0]):
        for j0 in range(0, old.shape[1], C):
            for phase, p in (("set", up[i, j0:j0 + C]), ("reset", down[i, j0:j0 + C])):
                for k in range(1, int(p.max(initial=0)) + 1):
                    n_sel = int(np.count_nonzero(p >= k))
                    if dev.access == "CMOS":
                        if phase == "set":
                            e += (lines.cap_row2 * vdd2 + lines.cap_row1 * vw2
                                  + (C - n_sel) * lines.cap_col * vw2)
                        else:
                            e += lines.cap_row2 * vdd2 + n_sel * lines.cap_col * vw2
                    else:
                        if phase == "set":
                            e += lines.cap_row1 * vw2 + (C - n_sel) * lines.cap_col * q2
                        else:
                            e += n_sel * lines.cap_col * vw2 + (C - n_sel) * lines.cap_col * q2
                        e += (R - 1) * lines.cap_row1 * q2
                        half = (C - n_sel) + (R - 1) * n_sel
                        e += half * q2 * g_half * dev.pulse_width
    return e


@pytest.mark.parametrize("access", ["CMOS", "none"])
def test_line_energy_closed_form_equals_pulse_by_pulse(access):
    rng = np.random.default_rng(3)
    old = rng.integers(0, 4, size=(9, 10))
    new = np.where(rng.random((9, 10)) < 0.5, rng.integers(0, 4, size=(9, 10)), old)
    dev = device(access=access)
    c = pg.array_write_cost(old, new, dev, LINES)
    assert c.line_energy == pytest.approx(_pulse_by_pulse_lines(old, new, dev, LINES), rel=1e-12)
    # 10 columns in blocks of 4: 3 column blocks; 9 rows in blocks of 4: 3 row blocks
    assert c.subarrays == 9


# ------------------------------------------------------------------------------------------
# Properties
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sets", [[], ["memcelltype=3"], ["accesstype=4"], ["operationmode=2"],
                                  ["memcelltype=1"], ["memcelltype=1", "operationmode=2"],
                                  ["cellBit=2"]], ids=str)
def test_identical_weights_cost_nothing(sets):
    param, ctx = setup(*sets)
    periph = pg.WritePeriphery(ctx)
    splitter = pg.CellSplitter(param)
    w = np.random.default_rng(0).integers(0, 257, size=(300, 40)).astype(np.int16)
    blocks = pg.subarray_rows(300, int(param.numRowSubArray))
    c = pg.layer_write_cost(w, w, splitter, periph.device, periph.lines, blocks, periph)
    assert (c.set_pulses, c.reset_pulses, c.cells_changed, c.rows_written) == (0, 0, 0, 0)
    assert c.cell_energy == 0 and c.line_energy == 0 and c.periphery_energy == 0
    assert c.energy == 0 and c.latency == 0


@pytest.mark.parametrize("sets", [[], ["memcelltype=3"], ["accesstype=4", "operationmode=2"],
                                  ["memcelltype=1"]], ids=str)
def test_cost_grows_with_the_number_of_changed_cells(sets):
    """Changing more cells (each change a superset of the last) costs more energy and more
    pulses; the latency never drops."""
    param, ctx = setup(*sets, "cellBit=1")
    periph = pg.WritePeriphery(ctx)
    rng = np.random.default_rng(1)
    old = rng.integers(0, 2, size=(200, 300)).astype(np.uint8)
    order = rng.permutation(old.size)
    last = None
    for k in (0, 1, 10, 100, 1000, 10000, old.size):
        new = old.copy().ravel()
        new[order[:k]] ^= 1                                   # flip k cells
        new = new.reshape(old.shape)
        c = pg.array_write_cost(old, new, periph.device, periph.lines, periphery=periph)
        assert c.cells_changed == k
        if last is not None:
            assert c.energy > last.energy
            assert c.set_pulses + c.reset_pulses > last.set_pulses + last.reset_pulses
            assert c.latency >= last.latency
            assert c.periphery_energy >= last.periphery_energy
        last = c


def test_sram_counts_exactly_the_flipped_bits():
    param, ctx = setup(preset="neurosim-1.4")                  # SRAM, 8-bit weights
    periph = pg.WritePeriphery(ctx)
    splitter = pg.CellSplitter(param)
    assert int(param.numColPerSynapse) == 8
    rng = np.random.default_rng(2)
    old = rng.integers(0, 256, size=(500, 64))           # 512 cells: 4 sub-arrays wide
    new = np.where(rng.random(old.shape) < 0.3, rng.integers(0, 256, size=old.shape), old)
    popcount = np.vectorize(lambda v: bin(int(v)).count("1"))
    ups = int(popcount(~old & new & 0xFF).sum())               # bits 0 -> 1
    downs = int(popcount(old & ~new & 0xFF).sum())             # bits 1 -> 0
    blocks = pg.subarray_rows(500, int(param.numRowSubArray))
    pairs = pg.WeightPairs(splitter, periph.device)
    for use in (pairs, None):
        c = pg.layer_write_cost(old, new, splitter, periph.device, periph.lines, blocks, periph,
                                pairs=use)
        assert (c.set_pulses, c.reset_pulses) == (ups, downs)
        assert c.cells_changed == ups + downs
        assert c.cell_energy == pytest.approx((ups + downs) * periph.device.sram_node_cap
                                              * periph.device.vdd ** 2, rel=1e-12)
        assert c.pulse_latency == 0 and c.periphery_latency > 0
    # one write per sub-array row with at least one flip
    cells_new, cells_old = splitter(new), splitter(old)
    changed = (cells_new != cells_old).reshape(500, -1, int(param.numColSubArray)).any(axis=2)
    assert c.rows_written == int(changed.sum())


def _traces(net, weights, folder="mem"):
    layers = [LayerTrace(k + 1, r, w.astype(np.int16), np.zeros((w.shape[0], 1), np.uint8))
              for k, (r, w) in enumerate(zip(net, weights))]
    return NetworkTraces(net, layers, 8, 8, folder, "npz")


@pytest.mark.parametrize("sets", [[], ["memcelltype=1"], ["cellBit=2", "operationmode=2"]],
                         ids=str)
def test_erased_default_equals_an_all_minimum_trace(sets):
    param, _ = setup(*sets)
    net = [[6, 6, 20, 3, 3, 16, 1, 1], [1, 1, 64, 1, 1, 10, 0, 1]]
    rng = np.random.default_rng(4)
    new = [rng.integers(0, 257, size=(r[2] * r[3] * r[4], r[5])) for r in net]
    fp = plan_floor(net, param)
    erased = pg.program_network(param, fp, _traces(net, new))
    zero = pg.program_network(param, fp, _traces(net, new),
                              _traces(net, [np.zeros_like(w) for w in new], "zeros"))
    assert erased.old_source == "erased" and zero.old_source == "zeros"
    assert [c.as_dict() for c in erased.layers] == [c.as_dict() for c in zero.layers]
    assert erased.energy > 0 and erased.latency > 0 and erased.reset_pulses == 0
    # the copies the floor plan makes for speed-up multiply the energy, not the latency
    for c, k in zip(erased.layers, fp.speedup_per_layer):
        assert c.copies == int(k)


@pytest.mark.parametrize("cell_bit, cols", [(1, 128), (2, 64), (3, 128), (4, 16)])
def test_per_weight_tables_equal_the_cell_path(cell_bit, cols):
    """The fast path (per weight pair) and chunking give what splitting into cells gives;
    with cellBit 3 the 3 cells of a weight straddle sub-arrays and the cell path is used."""
    param, ctx = setup(f"cellBit={cell_bit}", f"numColSubArray={cols}", "numRowSubArray=64")
    periph = pg.WritePeriphery(ctx)
    splitter = pg.CellSplitter(param)
    pairs = pg.WeightPairs(splitter, periph.device)
    rng = np.random.default_rng(cell_bit)
    old = rng.integers(0, 257, size=(150, 37))
    new = np.where(rng.random(old.shape) < 0.4, rng.integers(0, 257, size=old.shape), old)
    blocks = pg.subarray_rows(150, 64, kernel_rows=50)
    ref = pg.array_write_cost(pg.cell_levels(old, param), pg.cell_levels(new, param),
                              periph.device, periph.lines, blocks, periph, copies=3)
    for kw in ({"pairs": pairs}, {"pairs": pairs, "chunk_cells": 500}, {"chunk_cells": 700}):
        got = pg.layer_write_cost(old, new, splitter, periph.device, periph.lines, blocks,
                                  periph, copies=3, **kw)
        assert got.as_dict() == pytest.approx(ref.as_dict(), rel=1e-12)
    assert pairs.fits(cols) == (cols % int(param.numColPerSynapse) == 0)


def test_subarray_rows_of_both_mappings():
    assert pg.subarray_rows(10, 4).tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2]
    # novel mapping: each kernel position (5 rows here) starts new sub-arrays
    assert pg.subarray_rows(10, 4, kernel_rows=5).tolist() == [0, 0, 0, 0, 1, 2, 2, 2, 2, 3]


def test_pulses_follow_the_configured_levels():
    param, ctx = setup("maxNumLevelLTP=8", "device.max_levels_ltd=5", "cellBit=2")
    dev = pg.WriteDevice.from_context(ctx)
    assert (dev.levels_ltp, dev.levels_ltd, dev.pulse_width) == (8, 5, 10e-9)
    up, down = dev.pulses([0, 0, 0, 3, 3, 2], [1, 2, 3, 0, 2, 2])
    assert up.tolist() == [3, 6, 8, 0, 0, 0]                   # ceil(8d/3)
    assert down.tolist() == [0, 0, 0, 5, 2, 0]                 # ceil(5|d|/3)
    with pytest.raises(ConfigError, match="max_levels_ltp"):
        load_config(None, None, ["maxNumLevelLTP=0"])


def test_bare_param_gets_v21_defaults():
    """A FormulaBindings.Param holds 0 for the levels and the pulse width (V1.4 never set
    them); the model then takes V2.1's 32 levels and the configuration's 10 ns."""
    import FormulaBindings as fb
    p = fb.Param(memcelltype=2, cellBit=1)
    dev = pg.WriteDevice.from_context(Context.from_param(p))
    assert (dev.levels_ltp, dev.levels_ltd, dev.pulse_width) == (32, 32, 10e-9)


# ------------------------------------------------------------------------------------------
# Estimate and command line
# ------------------------------------------------------------------------------------------

def chip(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "Chip.py"), *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300)


KEYS_LAYER = {"write_energy_pJ", "write_latency_ns", "set_pulses", "reset_pulses"}


def test_cli_old_traces_prices_an_update(tmp_path):
    write_csv_case(tmp_path / "a", seed=0)
    write_csv_case(tmp_path / "b", seed=1)
    out = tmp_path / "out"
    proc = chip("--preset", "neurosim-1.4", "--set", "memcelltype=2", "--traces",
                str(tmp_path / "a"), "--old-traces", str(tmp_path / "b"), "--json",
                str(out / "upd.json"), "--csv", str(out / "upd.csv"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "write energy" in proc.stdout and "write latency" in proc.stdout
    res = json.loads((out / "upd.json").read_text())
    assert {"write_energy_pJ", "write_latency_ns"} <= set(res["chip"])
    assert all(KEYS_LAYER <= set(layer) for layer in res["layers"])
    assert res["programming"]["old_weights"] == str(tmp_path / "b")
    assert res["chip"]["write_energy_pJ"] == pytest.approx(
        sum(layer["write_energy_pJ"] for layer in res["layers"]), rel=1e-12)
    assert all(layer["set_pulses"] > 0 and layer["reset_pulses"] > 0 for layer in res["layers"])
    header = (out / "upd.csv").read_text().splitlines()[0].split(",")
    assert header[-4:] == ["write_energy_pJ", "write_latency_ns", "set_pulses", "reset_pulses"]

    # the same weights before and after: nothing to write
    proc = chip("--preset", "neurosim-1.4", "--set", "memcelltype=2", "--traces",
                str(tmp_path / "a"), "--old-traces", str(tmp_path / "a"), "--json",
                str(out / "same.json"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    same = json.loads((out / "same.json").read_text())
    assert same["chip"]["write_energy_pJ"] == 0 and same["chip"]["write_latency_ns"] == 0
    assert all(layer["set_pulses"] == layer["reset_pulses"] == 0 for layer in same["layers"])

    # the default (erased) costs SET pulses only
    proc = chip("--preset", "neurosim-1.4", "--set", "memcelltype=2", "--traces",
                str(tmp_path / "a"), "--json", str(out / "erased.json"), "--quiet")
    erased = json.loads((out / "erased.json").read_text())
    assert erased["programming"]["old_weights"] == "erased"
    assert all(layer["reset_pulses"] == 0 for layer in erased["layers"])


def test_cli_old_traces_of_another_network_exit_2(tmp_path):
    write_csv_case(tmp_path / "a")
    other = [list(NET[0]), [1, 1, 16, 1, 1, 5, 0, 1]]          # layer 2: 5 outputs, not 3
    write_csv_case(tmp_path / "b", net=other)
    proc = chip("--preset", "neurosim-1.4", "--traces", str(tmp_path / "a"), "--old-traces",
                str(tmp_path / "b"), "--json", str(tmp_path / "out" / "r.json"), "--plots",
                str(tmp_path / "out" / "p"))
    assert proc.returncode == 2
    lines = [l for l in proc.stderr.splitlines() if l.strip()]
    assert len(lines) == 1 and "layer 2" in lines[0] and "old-traces" in lines[0], proc.stderr
    assert proc.stdout == ""
    assert not (tmp_path / "out").exists()


def test_estimate_without_write_cost_keeps_neurosims_keys():
    """estimate() prices programming only when asked (the NeuroSim replay stays as is)."""
    import report
    from Chip import estimate
    param, _ = setup(preset="neurosim-1.4")
    net = [[6, 6, 2, 3, 3, 4, 1, 1], [1, 1, 16, 1, 1, 3, 0, 1]]
    rng = np.random.default_rng(5)
    layers = [LayerTrace(k + 1, r, rng.integers(0, 257, size=(r[2] * r[3] * r[4], r[5])).astype(
        np.int16), rng.integers(0, 2, size=(r[2] * r[3] * r[4], 8 * 16)).astype(np.uint8))
        for k, r in enumerate(net)]
    tr = NetworkTraces(net, layers, 8, 8, "mem", "npz")
    plain = report.results_dict(estimate(param, tr))
    assert "write_energy_pJ" not in plain["chip"] and "programming" not in plain
    priced = report.results_dict(estimate(param, tr, write_cost=True))
    assert priced["chip"]["write_energy_pJ"] > 0
    assert math.isfinite(priced["chip"]["write_latency_ns"])
    for a, b in zip(plain["layers"], priced["layers"]):
        assert set(b) - set(a) == KEYS_LAYER
        assert all(a[k] == b[k] for k in a)                   # the read figures unchanged


def test_write_activity_and_pulses_are_call_arguments():
    """programming.py prices a write with the call's column activity and pulse count, given
    as arguments: the same figures as circuits sized with those values, and the circuits
    are left as they were sized."""
    import FormulaBindings as fb_
    from peripherals.base import Context
    from peripherals.precharger import Precharger
    from peripherals.sram_write_driver import SRAMWriteDriver
    from peripherals.switch_matrix import COL_MODE, SwitchMatrix
    ctx = Context.from_param(fb_.Param())
    act = np.array([0.0, 0.25, 1.0])
    pulses = np.array([1.0, 3.0, 7.0])
    ops = np.array([2.0, 5.0, 1.0])

    def precharger(a):
        c = Precharger(ctx)
        c.initialize(128, 1e3, a, 128, 128)
        c.calculate_area(None, 1e-5)
        return c

    def driver(a):
        c = SRAMWriteDriver(ctx)
        c.initialize(128, a, 128)
        c.calculate_area(None, 1e-5)
        return c

    def switch(p):
        c = SwitchMatrix(ctx)
        c.initialize(COL_MODE, 128, 1e4, True, False, 0, 0, 16, 128, p, 1e9)
        c.calculate_area(None, 1e-5)
        return c

    pre, drv, sm = precharger(0.5), driver(0.5), switch(2.0)
    got = pre.calculate_power(0, ops, 1e-13, activity_col_write=act).write_dynamic_energy
    want = [precharger(a).calculate_power(0, o, 1e-13).write_dynamic_energy for a, o in zip(act, ops)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    got = drv.calculate_power(ops, activity_col_write=act).write_dynamic_energy
    want = [driver(a).calculate_power(o).write_dynamic_energy for a, o in zip(act, ops)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    got = sm.calculate_power(0, ops, 0.0, act, num_write_pulse=pulses).write_dynamic_energy
    want = [switch(p).calculate_power(0, o, 0.0, a).write_dynamic_energy
            for p, a, o in zip(pulses, act, ops)]
    np.testing.assert_allclose(got, want, rtol=1e-15)
    assert pre.activity_col_write == drv.activity_col_write == 0.5 and sm.num_write_pulse == 2.0
    # the arguments matter
    assert not np.allclose(got, sm.calculate_power(0, ops, 0.0, act).write_dynamic_energy, atol=0)
    assert not np.allclose(drv.calculate_power(ops, activity_col_write=act).write_dynamic_energy,
                           drv.calculate_power(ops).write_dynamic_energy, atol=0)
