"""Sub-array driving and selection circuits against NeuroSim V1.4's component dump.

Each circuit is built the way the V1.4 sub-array builds it for the three cases that have
a components.json (SRAM parallel, RRAM 1T1R parallel, RRAM sequential with cellBit 2); its
inputs are the sub-array members recorded in `area.subarray.properties`. Areas, constant
per-evaluation energies, leakages and clock-pass delays must agree to 1e-9 relative (they
agree to ~1e-15). Activity-dependent energies are evaluated for a whole array of row
activities in one call: they must equal scalar calls, reproduce the recorded per-layer
minimum and maximum at the recorded activity extremes, and, being affine in the activity,
the recorded layer sum at the mean activity.
"""
import json
import math

import numpy as np
import pytest

import FormulaBindings as fb
from peripherals.base import AreaModify, Context
from peripherals.current_sense_amp import CurrentSenseAmp
from peripherals.decoder_driver import DecoderDriver
from peripherals.demux import DeMux
from peripherals.level_shifter import LevelShifter
from peripherals.mux import Mux
from peripherals.new_mux import NewMux
from peripherals.new_switch_matrix import NewSwitchMatrix
from peripherals.precharger import Precharger
from peripherals.row_decoder import COL_MODE, REGULAR_COL, REGULAR_ROW, ROW_MODE, RowDecoder
from peripherals.sense_amp import SenseAmp
from peripherals.sram_write_driver import SRAMWriteDriver
from peripherals.switch_matrix import SwitchMatrix
from peripherals.wl_decoder_output import WLDecoderOutput
from peripherals.wl_new_decoder_driver import WLNewDecoderDriver

from conftest import DATA, probe

# the circuits return records; Probe keeps the last ones for the checks below
CurrentSenseAmp = probe(CurrentSenseAmp)
DecoderDriver = probe(DecoderDriver)
DeMux = probe(DeMux)
LevelShifter = probe(LevelShifter)
Mux = probe(Mux)
NewMux = probe(NewMux)
NewSwitchMatrix = probe(NewSwitchMatrix)
Precharger = probe(Precharger)
RowDecoder = probe(RowDecoder)
SenseAmp = probe(SenseAmp)
SRAMWriteDriver = probe(SRAMWriteDriver)
SwitchMatrix = probe(SwitchMatrix)
WLDecoderOutput = probe(WLDecoderOutput)
WLNewDecoderDriver = probe(WLNewDecoderDriver)



REF = DATA / "neurosim14"
REL = 1e-9
UNIT_WIRE_CAP = 0.2e-15 / 1e-6        # F/m, the sub-array's wire capacitance
CASES = ["small_default", "small_rram", "small_rram_sequential_cb2"]


def _value(v: str):
    if v in ("true", "false"):
        return v == "true"
    try:
        return int(v)
    except ValueError:
        return float(v)


def case_param(case: str) -> fb.Param:
    cfg = json.loads((REF / case / "config.json").read_text())
    kw = {k: _value(v["used"]) for k, v in cfg["param_changes_vs_shipped_Param.cpp"].items()}
    kw.update(cfg["argv"])
    return fb.Param(**kw)


def build(case: str) -> dict:
    """The circuits of this package that the V1.4 sub-array uses in `case`, initialized,
    sized and timed (clock pass) as it does."""
    ctx = Context.from_param(case_param(case))
    comp = json.loads((REF / case / "components.json").read_text())
    prop = comp["area"]["subarray"]["properties"]
    p, cell, tech = ctx.param, ctx.cell, ctx.tech
    n_row, n_col = int(prop["numRow"]), int(prop["numCol"])
    ncm = int(prop["numColMuxed"])
    n_par = int(prop["numRowParallel"])
    width_array, height_array = prop["lengthRow_um"] * 1e-6, prop["lengthCol_um"] * 1e-6
    res_row, res_col = prop["resRow_ohm"], prop["resCol_ohm"]
    clk = p.clkFreq
    wr_mem, wr_neuro = n_col // 8, n_col
    c = {"ctx": ctx, "comp": comp, "prop": prop}

    mux = Mux(ctx)
    if cell.mem_type == "SRAM":
        mux.initialize(math.ceil(n_col / ncm), ncm, prop["resCellAccess_ohm"] / (n_par // 2), False)
    elif p.conventionalParallel:
        mux.initialize(math.ceil(n_col / ncm), ncm, prop["cell_resMemCellAvg_ohm"] / n_par, False)
    else:   # sequential: the gate is sized against one on-state cell with its access device
        mux.initialize(math.ceil(n_col / ncm), ncm, cell.resistance_on * (1 + fb.rules.IR_DROP_TOLERANCE), False)
    mux_dec = RowDecoder(ctx)
    mux_dec.initialize(REGULAR_ROW, math.ceil(math.log2(ncm)), True, False)
    mux.calculate_area(None, width_array)
    mux_dec.calculate_area()
    mux.calculate_area(max(mux_dec.height, mux.height), width_array, AreaModify.OVERRIDE)
    mux.calculate_latency(1e20, 0, 1)
    mux_dec.calculate_latency(1e20, mux.cap_tg_gate_n * math.ceil(n_col / ncm),
                              mux.cap_tg_gate_p * math.ceil(n_col / ncm), 0, 0, 1, 0)
    mux.calculate_power(ncm)
    mux_dec.calculate_power(ncm, 1)
    c["column_mux"], c["mux_decoder"] = mux, mux_dec

    if cell.mem_type == "SRAM":
        wl = SwitchMatrix(ctx)
        wl.initialize(ROW_MODE, n_row, res_row, True, False, 0, 0, wr_mem, wr_neuro, 1, clk)
        wl.calculate_area(height_array, None)
        # the repeater-free latency model reads the wire-only row capacitance per cell
        wl.calculate_latency(1e20, prop["capRow1_F"], res_row, 1, 0,
                             unit_cap=width_array * UNIT_WIRE_CAP / p.numColSubArray,
                             unit_res=res_row / p.numColSubArray)
        wl.calculate_power(ncm, 0, 0.0, 0)
        pre = Precharger(ctx)
        pre.initialize(n_col, res_col, 0, n_col, wr_neuro)
        pre.calculate_area(None, width_array)
        pre.calculate_latency(1e20, prop["capCol_F"], 1, 0)
        pre.calculate_power(ncm * int(prop["numAdd"]), 0, prop["capCol_F"])
        wd = SRAMWriteDriver(ctx)
        wd.initialize(n_col, 0, wr_neuro)
        wd.calculate_area(None, width_array)
        wd.calculate_power(0)
        c.update(wl_switch_matrix=wl, precharger=pre, sram_write_driver=wd)
        return c

    for name, h, w in [("wl_level_shifter", height_array, None), ("bl_level_shifter", height_array, None),
                       ("sl_level_shifter", None, width_array)]:
        ls = LevelShifter(ctx)
        ls.initialize(n_row if name != "sl_level_shifter" else n_col, 0, clk)
        ls.calculate_area(h, w)
        c[name] = ls
    sl = SwitchMatrix(ctx)
    if p.conventionalParallel:
        sl.initialize(COL_MODE, n_col, prop["cell_resMemCellAvg_ohm"] / n_par * n_row, True, False, 0, 0,
                      wr_mem, wr_neuro, 1, clk)
    else:
        sl.initialize(COL_MODE, n_col, cell.resistance_on * (1 + fb.rules.IR_DROP_TOLERANCE), True, False,
                      0, 0, wr_mem, wr_neuro, 1, clk)
    sl.calculate_area(None, width_array)
    sl.calculate_power(0, 0, 0, 0)
    c["sl_switch_matrix"] = sl
    if p.conventionalParallel:
        wl = NewSwitchMatrix(ctx)
        wl.initialize(n_row, 0, clk)
        wl.calculate_area(height_array, None)
        wl.calculate_latency(1e20, prop["capRow2_F"], res_row, 1, 0)
        wl.calculate_power(ncm, 0, 0.0)
        c["wl_new_switch_matrix"] = wl
    else:
        dec = RowDecoder(ctx)
        dec.initialize(REGULAR_ROW, math.ceil(math.log2(n_row)), False, False)
        drv = WLNewDecoderDriver(ctx)
        drv.initialize(n_row)
        dec.calculate_area(height_array, None)
        drv.calculate_area(height_array, None)
        dec.calculate_latency(1e20, prop["capRow2_F"], None, res_row, n_col, 1, 0)
        drv.calculate_latency(dec.ramp_output, prop["capRow2_F"], res_row, 1, 0)
        dec.calculate_power(0.0, 0)
        drv.calculate_power(0.0, 0)
        c["wl_decoder"], c["wl_new_decoder_driver"] = dec, drv
    return c


@pytest.fixture(scope="module", params=CASES)
def built(request):
    return build(request.param)


_built_cache = {}


def built_case(case):
    if case not in _built_cache:
        _built_cache[case] = build(case)
    return _built_cache[case]


# ---------------------------------------------------------------- areas

def test_every_component_of_this_package_is_covered(built):
    """Each used sub-array component that this package models is built and checked."""
    mine = {"column_mux", "mux_decoder", "wl_switch_matrix", "precharger", "sram_write_driver",
            "wl_level_shifter", "sl_level_shifter", "bl_level_shifter", "wl_new_switch_matrix",
            "sl_switch_matrix", "wl_decoder", "wl_new_decoder_driver"}
    used = set(built["comp"]["area"]["subarray"]["components"]) & mine
    assert used and used <= set(built)


def test_areas_match_neurosim(built):
    comps = built["comp"]["area"]["subarray"]["components"]
    checked = 0
    for name, ref in comps.items():
        if name not in built:
            continue
        c = built[name]
        assert c.area * 1e12 == pytest.approx(ref["area_um2"], rel=REL), name
        assert c.height * 1e6 == pytest.approx(ref["height_um"], rel=REL), name
        assert c.width * 1e6 == pytest.approx(ref["width_um"], rel=REL), name
        checked += 1
    assert checked >= 5


# ---------------------------------------------------------------- clock-pass delays

def test_sensing_cycle_delays_match_neurosim(built):
    for layer in built["comp"]["clock"]["per_layer"]:
        comps = layer["components_ns"]
        names = [n for n in comps if n in built]
        assert len(names) >= 3
        for name in names:
            assert built[name].read_latency * 1e9 == pytest.approx(comps[name], rel=REL), name


def test_sram_sequential_clock_period():
    """SRAM sequential (small_sequential): the clock is beta x (word-line decoder +
    precharger + bit-line swing + sense amp). The decoder, precharger and sense amp come
    from here; the bit-line delay is the recorded sub-array value (same SRAM geometry as
    small_default)."""
    ctx = Context.from_param(case_param("small_sequential"))
    ref = json.loads((REF / "small_default" / "components.json").read_text())
    prop = ref["area"]["subarray"]["properties"]
    col_delay = ref["clock"]["per_layer"][0]["column_delay_ns"] * 1e-9
    tech, p = ctx.tech, ctx.param
    n = 128
    width_array, height_array = prop["lengthRow_um"] * 1e-6, prop["lengthCol_um"] * 1e-6
    # sequential SRAM: both access gates of every cell load the word line
    cap_row1 = width_array * UNIT_WIRE_CAP + 2 * fb.gate_cap(ctx.cell.width_access_cmos * tech.featureSize, tech) * n
    dec = RowDecoder(ctx)
    dec.initialize(REGULAR_ROW, 7, False, False)
    dec.calculate_area(height_array, None)
    dec.calculate_latency(1e20, cap_row1, None, prop["resRow_ohm"], n, 1, 0)
    pre = Precharger(ctx)
    pre.initialize(n, prop["resCol_ohm"], 0, n, n)
    pre.calculate_area(None, width_array)
    pre.calculate_latency(1e20, prop["capCol_F"], 1, 0)
    sa = SenseAmp(ctx)
    sa.initialize(n, False, ctx.cell.min_sense_voltage, width_array / n, p.clkFreq, n)
    sa.calculate_area(None, width_array, AreaModify.MAGIC)
    sa.calculate_latency(1)
    assert sa.width == pytest.approx(width_array) and sa.height * sa.width == pytest.approx(sa.area)
    cycle = p.beta * (dec.read_latency + pre.read_latency + col_delay + sa.read_latency)
    clk = json.loads((REF / "small_sequential" / "results.json").read_text())["clk_period_s"]
    assert cycle == pytest.approx(clk, rel=1e-12)
    sa.calculate_power(np.array([0.0, 3.0]))
    assert sa.read_dynamic_energy[0] == 0 and sa.read_dynamic_energy[1] > 0 and sa.leakage > 0


# ---------------------------------------------------------------- constant energies, leakage

def _subarray_layers(c):
    return [layer["subarray"]["components"] for layer in c["comp"]["layers"]]


def test_constant_energies_and_leakages_match_neurosim(built):
    checked = 0
    for comps in _subarray_layers(built):
        for name, rec in comps.items():
            if name not in built:
                continue
            c = built[name]
            rde = rec.get("read_dynamic_energy", {})
            if "per_evaluation_pJ" in rde:
                assert c.read_dynamic_energy * 1e12 == pytest.approx(rde["per_evaluation_pJ"], rel=REL), name
                checked += 1
            if "leakage" in rec:
                assert c.leakage * 1e6 == pytest.approx(rec["leakage"]["value_uW"], rel=REL), name
                checked += 1
    assert checked >= 8


# ---------------------------------------------------------------- activity-dependent energies

def _activity_circuits(c):
    """(component name, function(activity array) -> read energy J) for the circuits
    whose per-evaluation energy depends on the row activity."""
    p = c["ctx"].param
    prop = c["prop"]
    ncm, n_row = int(prop["numColMuxed"]), int(prop["numRow"])
    out = []
    if "wl_switch_matrix" in c:
        def f(act, s=c["wl_switch_matrix"]):
            s.calculate_power(ncm, 0, act, 0)
            return s.read_dynamic_energy
        out.append(("wl_switch_matrix", f))
    if "wl_new_switch_matrix" in c:
        def f(act, s=c["wl_new_switch_matrix"]):
            s.calculate_power(ncm, 0, act)
            return s.read_dynamic_energy
        out.append(("wl_new_switch_matrix", f))
    if "wl_decoder" in c:
        for name in ("wl_decoder", "wl_new_decoder_driver"):
            def f(act, s=c[name]):
                s.calculate_power(n_row * np.asarray(act) * ncm, 0)
                return s.read_dynamic_energy
            out.append((name, f))
    assert p.numColMuxed == ncm
    return out


def test_activity_dependent_energies(built):
    funcs = _activity_circuits(built)
    assert funcs
    for layer in built["comp"]["layers"]:
        st = layer["subarray"]
        act = st["totals"]["activity_row_read"]
        acts = np.array([act["min"], act["max"], act["mean"], 0.0, 0.5, 1.0])
        for name, f in funcs:
            rec = st["components"][name]["read_dynamic_energy"]
            e = np.array(f(acts))
            assert e.shape == acts.shape
            scalar = np.array([f(float(a)) for a in acts])
            assert isinstance(f(0.25), float)
            np.testing.assert_allclose(e, scalar, rtol=1e-15, atol=0)
            assert np.all(np.diff(e[3:]) > 0), name          # more active rows, more energy
            assert e[0] * 1e12 == pytest.approx(rec["per_evaluation_min_pJ"], rel=REL, abs=1e-18), name
            assert e[1] * 1e12 == pytest.approx(rec["per_evaluation_max_pJ"], rel=REL), name
            assert e[2] * 1e12 * rec["evaluations"] == pytest.approx(rec["sum_pJ"], rel=1e-9), name
            # the layer's activity range brackets every recorded evaluation
            assert e[0] <= e[2] <= e[1]


def test_activity_arrays_broadcast_against_read_counts():
    c = built_case("small_rram")
    s = c["wl_new_switch_matrix"]
    act = np.array([[0.0], [0.1], [0.3]])
    n_read = np.array([1.0, 4.0, 8.0])
    s.calculate_power(n_read, 0, act)
    e = s.read_dynamic_energy
    assert e.shape == (3, 3)
    for i in range(3):
        for j in range(3):
            s.calculate_power(float(n_read[j]), 0, float(act[i, 0]))
            assert e[i, j] == pytest.approx(s.read_dynamic_energy, rel=1e-15)


# ---------------------------------------------------------------- quirks and invariants

def test_row_decoder_quirks():
    ctx = built_case("small_rram_sequential_cb2")["ctx"]
    dec = RowDecoder(ctx)
    dec.initialize(REGULAR_ROW, 7, False, False)
    dec.calculate_area(11.264e-6, None)
    # the predecode inverters never add a column when a height is imposed (reference quirk)
    tech, F = ctx.tech, ctx.tech.featureSize
    _, h_nor, w_nor = fb.gate_area(fb.GateType.NOR, 4, dec.width_nor_n, dec.width_nor_p, tech)
    _, h_nand, w_nand = fb.gate_area(fb.GateType.NAND, 2, dec.width_nand_n, dec.width_nand_p, tech)
    _, _, w_drv = fb.gate_area(fb.GateType.INV, 1, dec.width_driver_inv_n, dec.width_driver_inv_p, tech)
    assert dec.num_inv == 7 and dec.num_nand == 12 and dec.num_nor == 128
    cols_nor = math.ceil(128 / int(11.264e-6 / h_nor))
    cols_nand = math.ceil(12 / min(12, int(11.264e-6 / h_nand)))
    expected = (w_nand * cols_nand + fb.rules.METAL3_PITCH * dec.num_metal_connection * F
                + (w_nor + 2 * w_drv) * cols_nor)
    assert dec.width == pytest.approx(expected, rel=1e-14)
    free = RowDecoder(ctx)
    free.initialize(REGULAR_ROW, 7, False, False)
    free.calculate_area()
    assert free.height == pytest.approx(128 * fb.rules.CELL_HEIGHT * ctx.tech.featureSize)
    # colnum = 0 (the reference divides by it) leaves the per-cell term out
    dec.calculate_latency(1e20, 1e-14, None, 300.0, 0, 1, 1)
    assert math.isfinite(dec.read_latency) and dec.read_latency > 0
    # read energy gets the control activity factor, write energy does not
    dec.calculate_power(2.0, 2.0)
    assert dec.read_dynamic_energy == pytest.approx(dec.write_dynamic_energy * ctx.param.epsilon)
    col = RowDecoder(ctx)
    col.initialize(REGULAR_COL, 4, False, True)
    col.calculate_area(None, 20e-6)
    assert col.width == 20e-6 and col.height > 0


def test_layout_modes():
    ctx = built_case("small_default")["ctx"]
    pre = Precharger(ctx)
    pre.initialize(128, 300.0, 0, 128, 128)
    pre.calculate_area()
    area = pre.area
    pre.calculate_area(None, 20e-6, AreaModify.MAGIC)
    assert pre.area == pytest.approx(area) and pre.width == 20e-6
    pre.calculate_area(5e-6, 30e-6, AreaModify.OVERRIDE)
    assert (pre.height, pre.width, pre.area) == (5e-6, 30e-6, pytest.approx(150e-12))
    with pytest.raises(ValueError):
        pre.calculate_area(5e-6, None, AreaModify.OVERRIDE)
    ls = LevelShifter(ctx)
    ls.initialize(16, 0.1, 1e9)
    with pytest.raises(ValueError):
        ls.calculate_area(None, None)
    with pytest.raises(RuntimeError):
        Mux(ctx).calculate_area()


def test_level_shifter_calibration_and_read_activity_quirk():
    ctx = Context.from_param(fb.Param(memcelltype=2))
    raw = Context.from_param(fb.Param(memcelltype=2, validated=False))
    a, b = LevelShifter(ctx), LevelShifter(raw)
    for ls in (a, b):
        ls.initialize(64, 0.25, 1e9)
        ls.calculate_area(10e-6, None)
    assert a.area > b.area * ctx.param.alpha
    a.calculate_latency(1e20, 1e-14, 0, 1, 1)
    assert a.read_latency > 0 and a.write_latency == a.read_latency
    # the read energy follows the activity given at initialization, not the argument
    a.calculate_power(np.array([1.0, 2.0]), 0, 0.9)
    e1 = a.read_dynamic_energy
    a.calculate_power(np.array([1.0, 2.0]), 0, 0.1)
    np.testing.assert_array_equal(e1, a.read_dynamic_energy)
    assert e1[1] == pytest.approx(2 * e1[0])


def test_gate_sizing_hits_the_target_resistance():
    """On planar nodes on-resistance is inversely proportional to width, so the
    unclamped gates land exactly on their target resistance."""
    ctx = built_case("small_rram")["ctx"]
    dd = DecoderDriver(ctx)
    dd.initialize(ROW_MODE, 128, 128)
    target = ctx.cell.resistance_on * (1 + fb.rules.IR_DROP_TOLERANCE) / 128 * fb.rules.IR_DROP_TOLERANCE
    assert dd.res_tg == pytest.approx(target, rel=1e-12)
    m = Mux(ctx)
    m.initialize(16, 8, 2000.0, False)
    assert m.width_tg_n > ctx.tech.featureSize
    assert m.res_tg == pytest.approx(2000.0 * fb.rules.IR_DROP_TOLERANCE, rel=1e-12)
    s = SwitchMatrix(ctx)
    s.initialize(ROW_MODE, 128, 300.0, True, False, 0, 0, 16, 128, 1, 1e9)
    ratio = ctx.param.switchmatrixsizeratio
    assert s.res_tg == pytest.approx(300.0 * ratio / fb.rules.LINEAR_REGION_RATIO, rel=1e-12)


def test_multigate_node_rounds_gates_to_fins():
    ctx = Context.from_param(fb.Param(technode=7))
    F = ctx.tech.featureSize
    s = SwitchMatrix(ctx)
    s.initialize(ROW_MODE, 128, 500.0, True, False, 0, 0, 16, 128, 1, 1e9)
    for w in (s.width_tg_n, s.width_tg_p):
        assert (w / (2 * F)) == pytest.approx(round(w / (2 * F)))
    s.calculate_area(128 * 34.43 * F, None)
    h_cell = fb.rules.cell_height_in_F(7) * F
    assert s.width > 0 and s.height == pytest.approx(128 * 34.43 * F)
    m = Mux(ctx)
    m.initialize(16, 8, 500.0, False)
    m.calculate_area(None, 128 * 16 * F)
    assert m.height > 0
    dec = RowDecoder(ctx)
    dec.initialize(REGULAR_ROW, 3, True, False)
    dec.calculate_area()
    assert dec.height == pytest.approx(8 * h_cell)


def test_unused_circuits_are_finite_and_broadcast():
    """Circuits V1.4's sub-array constructs but does not use in the supported modes."""
    ctx = built_case("small_rram")["ctx"]
    cross = Context.from_param(fb.Param(memcelltype=2, accesstype=4, operationmode=1, cellBit=2))
    n_read = np.array([0.0, 1.0, 5.0])
    units = []
    for cx in (ctx, cross):
        dd = DecoderDriver(cx)
        dd.initialize(ROW_MODE, 128, 128)
        dd.calculate_area(11.264e-6, None)
        dd.calculate_latency(1e10, 7e-15, 7e-15, 330.0, n_read, n_read)
        dd.calculate_power(16, 128, n_read, n_read)
        units.append(dd)
        ddc = DecoderDriver(cx)
        ddc.initialize(COL_MODE, 128, 128)
        ddc.calculate_area(None, 33.792e-6)
        assert ddc.width == 33.792e-6 and ddc.height > 0
    wo = WLDecoderOutput(ctx)
    wo.initialize(128, False, True)
    wo.calculate_area(11.264e-6, None)
    wo.calculate_latency(1e20, 1e-14, 300.0, n_read, n_read)
    wo.calculate_power(n_read, n_read)
    nm = NewMux(ctx)
    nm.initialize(16)
    nm.calculate_area(None, 33.792e-6)
    nm.calculate_latency(1e20, 1e-15, n_read, n_read)
    nm.calculate_power(n_read, 1, 1, 1, 0.5, 0.5)
    dm = DeMux(ctx)
    dm.initialize(16, 128)
    dm.calculate_area(None, 33.792e-6)
    dm.calculate_latency(1e20, n_read)
    dm.calculate_power(n_read)
    units += [wo, nm, dm]
    for u in units:
        assert u.area > 0 and u.height > 0 and u.width > 0
        for x in (u.read_latency, u.read_dynamic_energy):
            x = np.asarray(x)
            assert x.shape == (3,) and np.all(np.isfinite(x)) and x[0] == 0 and x[2] == pytest.approx(5 * x[1])
            assert x[1] > 0
        assert u.leakage >= 0


def test_current_sense_amp_fits():
    ctx65 = Context.from_param(fb.Param(memcelltype=2, technode=65))
    ctx22 = Context.from_param(fb.Param(memcelltype=2))
    for cx in (ctx65, ctx22):
        a = CurrentSenseAmp(cx)
        a.initialize(16, True, False, 1e9, 128)
        a.calculate_unit_area()
        a.calculate_area(1e-6)
        assert a.area == pytest.approx(16 * a.area_unit) and a.height * 1e-6 == pytest.approx(a.area_unit)
    a = CurrentSenseAmp(ctx65)
    a.initialize(16, True, False, 1e9, 128)
    r_ref = a.r_ref
    assert r_ref == pytest.approx(100e3 + (1.7e6 - 100e3) / 2)
    scale = 0.5 / ctx65.param.readVoltage
    # ratio just above 0.9: the upper polynomial applies (the reference's always-true
    # chained comparison); far outside the fit range the delay is 1 ns
    r = np.array([r_ref / 0.95 / scale, r_ref / 50 / scale, np.inf, 0.0, np.nan])
    t = a.column_latency(r)
    ratio = 0.95
    t_max = (0.1239 * math.log(r[0] * scale / 1000) + 0.6642) * 1e-9
    upper = 0.0036 * ratio ** 4 - 0.0363 * ratio ** 3 + 0.1043 * ratio ** 2 - 0.0346 * ratio + 1.0512
    assert t[0] == pytest.approx(t_max * upper, rel=1e-12)
    assert t[1] == 1e-9 and t[2] == 0 and t[3] == 0 and t[4] == 0
    pw = a.column_power(r)
    assert pw[2] == 1e-6 and pw[3] == 0 and pw[1] > pw[0] > 0
    cols = np.array([[r[0], r[1]], [r[1], r[1]], [np.inf, np.inf]])
    a.calculate_latency(cols, 8, np.array([1.0, 1.0, 2.0]))
    assert a.read_latency[0] == pytest.approx(8 * max(t[0], t[1]))
    assert a.read_latency[1] == pytest.approx(8 * 1e-9)
    assert a.read_latency[2] == pytest.approx(2 * 8 * 5e-10)      # clamped to 0.5 ns
    a.calculate_power(cols, 2.0)
    assert a.read_dynamic_energy[0] == pytest.approx(2 * (t[0] * pw[0] + t[1] * pw[1]))
    assert a.read_dynamic_energy[2] == 0 and a.leakage == 0
