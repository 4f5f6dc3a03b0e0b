"""Sub-array (Array.py) against DNN+NeuroSim V1.4's component-level reference data.

components.json (small_default: SRAM parallel; small_rram: RRAM 1T1R parallel;
small_rram_sequential_cb2: RRAM sequential, cellBit 2) gives, per layer, every sub-array
evaluation summed. The layer's weight and input traces are regenerated with
tools/make_traces.py and cut into sub-array blocks the way the reference's tile and PE
code cuts them (`_layer_blocks` below, a test-side copy of that partition), then every
block is evaluated with all of its input vectors at once.
"""
from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import Array
import inferenceConfig as ic
from peripherals.base import Context

from conftest import DATA, ROOT

CASES = DATA / "neurosim14"
COMPONENT_CASES = ["small_default", "small_rram", "small_rram_sequential_cb2"]

# components.json names -> SubArray attribute names
CHILD = {"column_mux": "mux", "adc_multilevel_sense_amp": "multilevel_sense_amp",
         "adc_encoder": "multilevel_sa_encoder", "adc_sar": "sar_adc"}


def rel(a, b):
    a, b = float(a), float(b)
    if a == b:
        return 0.0
    return abs(a - b) / max(abs(a), abs(b))


def case_param(case: str):
    cfg = json.loads((CASES / case / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in cfg["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in cfg["argv"].items()]
    return ic.load_config("neurosim-1.4", None, settings).to_param()


def make_subarray(param, area=True) -> Array.SubArray:
    sa = Array.SubArray(Context.from_param(param))
    sa.initialize(param.numRowSubArray, param.numColSubArray, param.unitLengthWireResistance)
    if area:
        sa.calculate_area()
    return sa


@pytest.fixture(scope="module")
def components():
    return {c: json.loads((CASES / c / "components.json").read_text()) for c in COMPONENT_CASES}


@pytest.fixture(scope="module")
def subarrays():
    out = {}
    for c in COMPONENT_CASES:
        p = case_param(c)
        out[c] = (p, make_subarray(p))
    return out


_TRACE_CACHE: dict = {}


@pytest.fixture(scope="module")
def traces(tmp_path_factory):
    """Regenerated traces of each case (cached per generator command)."""
    def get(case: str):
        cfg = json.loads((CASES / case / "config.json").read_text())
        tg = cfg["trace_generation"]
        key = (json.dumps(cfg["network_rows"]), tg["seed"], tg["padding"])
        if key not in _TRACE_CACHE:
            out = tmp_path_factory.mktemp("traces")
            subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"),
                            "--network", str(CASES / case / "network.csv"), "--out", str(out),
                            "--seed", str(tg["seed"]), "--padding", tg["padding"], "--format", "npz"],
                           check=True, capture_output=True)
            _TRACE_CACHE[key] = dict(np.load(out / "traces.npz"))
        return _TRACE_CACHE[key]
    return get


# ------------------------------------------------------------------------------------
# Test-side copy of how the reference cuts a layer into sub-array blocks
# ------------------------------------------------------------------------------------
def _pe_blocks(dup_row, dup_col, n_sa_row, n_sa_col, w_rows, w_cols, mem, inp, R, C):
    """Blocks one PE hands to its sub-arrays (ProcessingUnitCalculatePerformance)."""
    out = []
    if dup_row * dup_col > 1:
        if dup_row < n_sa_row or dup_col < n_sa_col:
            for i in range(math.ceil(w_rows / R)):
                for j in range(math.ceil(w_cols / C)):
                    r, c = min(R, w_rows - i * R), min(C, w_cols - j * C)
                    out.append((mem[i * R:i * R + r, j * C:j * C + c], inp[i * R:i * R + r]))
        else:   # the whole (small) matrix sits in one sub-array
            out.append((mem[:w_rows, :w_cols], inp[:w_rows]))
    else:
        for i in range(n_sa_row):
            for j in range(n_sa_col):
                if i * R < w_rows and j * C < w_cols:
                    r, c = min(R, w_rows - i * R), min(C, w_cols - j * C)
                    assert i * R + r <= mem.shape[0] and j * C + c <= mem.shape[1]
                    out.append((mem[i * R:i * R + r, j * C:j * C + c], inp[i * R:i * R + r]))
    return out


def _layer_blocks(row, novel, G, X, p, floorplan, speed_up):
    """(conductance block, input-bit block) of every sub-array evaluation of a layer."""
    R, C = p.numRowSubArray, p.numColSubArray
    H, W, cin, kh, kw, cout, _pool, stride = row
    w_rows, w_cols = cin * kh * kw, cout * p.numColPerSynapse
    n_vec = int((H - kh + 1) / stride * (W - kw + 1) / stride) * p.numBitInput
    X = X[:, :n_vec]
    su_row, su_col = speed_up
    blocks = []
    if not novel:
        T, pe = floorplan["cm_tile_storage"][0], floorplan["cm_pe_storage"][0]
        n_pe = math.ceil(T / pe)
        n_sa = math.ceil(pe / R), math.ceil(pe / C)
        for ti in range(math.ceil(w_rows / T)):
            for tj in range(math.ceil(w_cols / T)):
                r, c = min(T, w_rows - ti * T), min(T, w_cols - tj * T)
                mem, inp = G[ti * T:ti * T + r, tj * T:tj * T + c], X[ti * T:ti * T + r]
                if su_row * su_col > 1 and su_row >= n_pe and su_col >= n_pe:
                    blocks += _pe_blocks(math.ceil(su_row / n_pe), math.ceil(su_col / n_pe), *n_sa,
                                         r, c, mem, inp, R, C)
                elif su_row * su_col > 1:
                    for i in range(math.ceil(r / pe)):
                        for j in range(math.ceil(c / pe)):
                            rr, cc = min(pe, r - i * pe), min(pe, c - j * pe)
                            blocks += _pe_blocks(1, 1, *n_sa, rr, cc, mem[i * pe:i * pe + rr, j * pe:j * pe + cc],
                                                 inp[i * pe:i * pe + rr], R, C)
                else:
                    for i in range(n_pe):
                        for j in range(n_pe):
                            if i * pe < r and j * pe < c:
                                rr, cc = min(pe, r - i * pe), min(pe, c - j * pe)
                                blocks += _pe_blocks(1, 1, *n_sa, int(r / n_pe), c,
                                                     mem[i * pe:i * pe + rr, j * pe:j * pe + cc],
                                                     inp[i * pe:i * pe + rr], R, C)
    else:
        n_pe, pe, _ = floorplan["nm_tile_storage"]
        n_sa = math.ceil(pe / R), math.ceil(pe / C)
        n_tr, n_tc = math.ceil(cin / pe), math.ceil(w_cols / pe)
        for ti in range(n_tr):
            for tj in range(n_tc):
                r, c = min(pe * n_pe, w_rows - ti * pe * n_pe), min(pe, w_cols - tj * pe)
                # rows taken kernel-position-major (the reference's reshape)
                idx = np.array([ti * pe + k * cin + i for k in range(n_pe) for i in range(int(cin / n_tr))])
                tmem, tin = G[idx][:, tj * pe:tj * pe + int(w_cols / n_tc)], X[idx]
                per = int(r / n_pe)
                for k in range(n_pe):
                    loc = k * min(pe, per)
                    blocks += _pe_blocks(1, 1, *n_sa, per, c, tmem[loc:loc + per], tin[loc:loc + per], R, C)
    return blocks


def _case_layers(case, traces, param):
    cfg = json.loads((CASES / case / "config.json").read_text())
    res = json.loads((CASES / case / "results.json").read_text())
    comp = json.loads((CASES / case / "components.json").read_text())
    tr = traces(case)
    for l, row in enumerate(cfg["network_rows"], start=1):
        info = comp["layers"][l - 1]
        x = np.unpackbits(tr[f"x{l}"], axis=1, count=int(tr[f"x{l}_shape"][1]))
        G = Array.layer_conductance(tr[f"w{l}"], param)
        blocks = _layer_blocks(row, info["mapping"] == "novel", G, x, param, res["floorplan"],
                               info["info"]["speedUp"])
        yield l, info, blocks


# ------------------------------------------------------------------------------------
# Data path helpers
# ------------------------------------------------------------------------------------
def test_weight_mapping():
    b = 8
    q = np.arange(-127, 128)
    v = Array.weight_codes_to_values(q, b)
    assert np.array_equal(v, q + 128)
    # the same through the real-valued path (values printed to 5 decimals, like the traces)
    w = np.round(q / 128, 5)
    assert np.array_equal(Array.weight_values(w, b), v)
    assert Array.weight_values(np.array([1.0, -1.0, 0.0]), b).tolist() == [256, 0, 128]
    # MSB cell first; 0b10110101 = 181 -> cellBit 2: 2,3,1,1; cellBit 1: the bits
    cells = Array.split_into_cells(np.array([[181, 3]]), 4, 2)
    assert cells.tolist() == [[2, 3, 1, 1, 0, 0, 0, 3]]
    assert Array.split_into_cells(np.array([[181]]), 8, 1).tolist() == [[1, 0, 1, 1, 0, 1, 0, 1]]
    g = Array.levels_to_conductance(np.array([0, 1, 2, 3]), 2, 1e-5, 1e-6)
    assert np.allclose(g, [1e-6, 4e-6, 7e-6, 1e-5], rtol=1e-14)
    p = case_param("small_rram_sequential_cb2")
    G = Array.layer_conductance(np.array([[-127, 0, 127]]), p)
    assert G.shape == (1, 12)
    assert np.allclose(G[0, :4], Array.levels_to_conductance([0, 0, 0, 1], 2, p.maxConductance, p.minConductance))


def _loop_column_resistance(g, x, *, mem, access, parallel, p, res_sram):
    """Per-element transcription of the documented model (independent of the matrix form)."""
    rows, cols = g.shape
    out = np.empty((x.shape[1], cols))
    for v in range(x.shape[1]):
        for j in range(cols):
            tot, active = 0.0, 0
            for i in range(rows):
                if x[i, v] != 1:
                    continue
                active += 1
                if mem == "SRAM":
                    tot += 1.0 / (res_sram + p.wireResistanceCol)
                    continue
                r = 1.0 / g[i, j] + (j + 1) * p.wireResistanceRow + (rows - i) * p.wireResistanceCol
                if mem == "RRAM" and access == "CMOS":
                    r += p.resistanceAccess
                tot += 1.0 / r
            if mem != "SRAM":
                tot = tot / p.numAdd if parallel else (tot / active if active else 0.0)
            out[v, j] = 1.0 / tot if tot else np.inf
    return out


@pytest.mark.parametrize("settings", [[], ["memcelltype=2"], ["memcelltype=2", "operationmode=1", "cellBit=2"],
                                      ["memcelltype=3"], ["memcelltype=2", "accesstype=4"],
                                      ["memcelltype=2", "numRowParallel=32"]],
                         ids=["sram", "rram", "rram_seq", "fefet", "crossbar", "rram_pr32"])
def test_column_resistance_matches_elementwise_model(settings):
    p = ic.load_config("neurosim-1.4", None, settings).to_param()
    sa = Array.SubArray(Context.from_param(p))
    sa.initialize_array(p.numRowSubArray, p.numColSubArray, p.unitLengthWireResistance)
    rng = np.random.default_rng(3)
    g = Array.layer_conductance(rng.integers(-127, 128, (40, 8)), p)[:, :20]
    x = (rng.random((40, 6)) < 0.2).astype(np.uint8)
    x[:, 0] = 0                                     # a vector without active rows
    got = sa.column_resistance(g, x)
    want = _loop_column_resistance(g, x, mem=sa.mem_type, access=sa.access,
                                   parallel=sa.conventional_parallel, p=p, res_sram=sa.res_cell_access)
    assert got.shape == (6, 20)
    assert np.all(np.isinf(got[0]))
    np.testing.assert_allclose(got[1:], want[1:], rtol=1e-12)
    act = Array.row_activity(x, p.numRowSubArray)
    np.testing.assert_allclose(act, x.sum(axis=0) / p.numRowSubArray, rtol=0)


# ------------------------------------------------------------------------------------
# Array properties and area
# ------------------------------------------------------------------------------------
PROPS = {"numRow": "num_row", "numCol": "num_col", "numColMuxed": "num_col_muxed", "numAdd": "num_add",
         "numRowParallel": "num_row_parallel", "levelOutput": "level_output",
         "numReadPulse": "num_read_pulse", "numCellPerSynapse": "num_cell_per_synapse",
         "avgWeightBit": "avg_weight_bit", "lengthRow_um": "length_row", "lengthCol_um": "length_col",
         "capRow1_F": "cap_row1", "capRow2_F": "cap_row2", "capCol_F": "cap_col", "resRow_ohm": "res_row",
         "resCol_ohm": "res_col", "resCellAccess_ohm": "res_cell_access", "capCellAccess_F": "cap_cell_access",
         "cell_widthAccessCMOS": "width_access_cmos", "cell_resMemCellAvg_ohm": "res_mem_cell_avg"}


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_array_properties(case, components):
    """The cell array alone (no peripheral circuit needed)."""
    p = case_param(case)
    sa = Array.SubArray(Context.from_param(p))
    sa.initialize_array(p.numRowSubArray, p.numColSubArray, p.unitLengthWireResistance)
    ref = components[case]["area"]["subarray"]["properties"]
    for key, attr in PROPS.items():
        scale = 1e6 if key.endswith("_um") else 1.0
        assert rel(getattr(sa, attr) * scale, ref[key]) < 1e-12, key


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_subarray_area(case, components, subarrays):
    _, sa = subarrays[case]
    sa_obj, sa = sa, sa.calculate_area()      # the layout record the sub-array returns
    ref = components[case]["area"]["subarray"]
    tot = ref["total"]
    mine = {"area_um2": sa.area, "height_um": sa.height, "width_um": sa.width,
            "used_area_um2": sa.used_area, "empty_area_um2": sa.empty_area, "adc_area_um2": sa.area_adc,
            "accum_area_um2": sa.area_accum, "other_area_um2": sa.area_other}
    for k, v in mine.items():
        scale = 1e12 if k.endswith("um2") else 1e6
        assert rel(v * scale, tot[k]) < 1e-12, k
    for name, r in ref["components"].items():
        if name == "array":
            obj = {"area": sa.area_array, "height": sa.height_array, "width": sa.width_array}
        else:
            c = sa.children.get(CHILD.get(name, name))
            assert c is not None, name
            obj = {"area": c.area, "height": c.height, "width": c.width}
        assert rel(obj["area"] * 1e12, r["area_um2"]) < 1e-12, name
        assert rel(obj["height"] * 1e6, r["height_um"]) < 1e-12, name
        assert rel(obj["width"] * 1e6, r["width_um"]) < 1e-12, name
    for name in ref["unused_components"]:
        assert sa_obj.child(CHILD.get(name, name)) is None, name
    rref = ref["properties"]["multilevelSenseAmp_Rref_ohm"]
    got = sa_obj.properties()["Rref"]
    # parallel read: the sub-array's ADC levels; sequential: 2^cellBit levels
    assert len(got) == len(rref)
    assert max(rel(a, b) for a, b in zip(got, rref)) < 1e-12


# ------------------------------------------------------------------------------------
# Clock pass and performance pass against the per-layer sums
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_clock_pass(case, components, subarrays, traces):
    p, sa = subarrays[case]
    clock = components[case]["clock"]
    for l, info, blocks in _case_layers(case, traces, p):
        ref = clock["per_layer"][l - 1]
        cycles = [sa.clock_pass(g, x) for g, x in blocks]
        n = sum(c.sensing_cycle.size for c in cycles)
        assert n == ref["subarray_evaluations"]
        assert rel(max(c.max for c in cycles) * 1e9, ref["max_sensing_cycle_ns"]) < 1e-12
        assert rel(min(c.sensing_cycle.min() for c in cycles) * 1e9, ref["min_sensing_cycle_ns"]) < 1e-12
        comp = cycles[0].components
        for k, v in ref["components_ns"].items():
            assert rel(comp[k] * 1e9, v) < 1e-12, k
        assert rel(cycles[0].column_delay * 1e9, ref["column_delay_ns"]) < 1e-12
    assert rel(max(c.max for c in cycles), clock["clk_period_s"]) < 1e-12


TOTALS = ["read_dynamic_energy", "read_dynamic_energy_adc", "read_dynamic_energy_accum",
          "read_dynamic_energy_other"]
LATENCIES = ["read_latency", "read_latency_adc", "read_latency_accum", "read_latency_other"]


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_layer_totals(case, components, subarrays, traces):
    """Per-layer sums over every sub-array evaluation: energies (all/ADC/accumulation/
    other and each component), cycles, leakage and row activity."""
    p, sa = subarrays[case]
    comp = components[case]
    clk = comp["clock"]["clk_freq_Hz"]
    for l, info, blocks in _case_layers(case, traces, p):
        ref = info["subarray"]
        res = [sa.performance_pass(g, x, clk) for g, x in blocks]
        cat = lambda k: np.concatenate([getattr(r, k) for r in res])  # noqa: E731
        assert cat("activity").size == ref["evaluations"]
        for k in TOTALS:
            v = cat(k)
            t = ref["totals"][k]
            assert rel(v.sum() * 1e12, t["sum_pJ"]) < 1e-9, (l, k)
            if "per_evaluation_min_pJ" in t:
                assert rel(v.min() * 1e12, t["per_evaluation_min_pJ"]) < 1e-9, (l, k)
                assert rel(v.max() * 1e12, t["per_evaluation_max_pJ"]) < 1e-9, (l, k)
        for k in LATENCIES:
            v = cat(k)
            assert res[0].latency_unit == "cycles"
            assert v.sum() == pytest.approx(ref["totals"][k]["sum_cycles"], rel=1e-12, abs=1e-9), (l, k)
        assert rel(res[0].leakage * 1e6, ref["totals"]["leakage"]["value_uW"]) < 1e-12
        assert res[0].leakage_sram_in_use * 1e6 == pytest.approx(
            ref["totals"]["leakage_sram_in_use"]["value_uW"], rel=1e-12, abs=0)
        a = cat("activity")
        act = ref["totals"]["activity_row_read"]
        assert rel(a.mean(), act["mean"]) < 1e-12
        assert (a.min(), a.max()) == (act["min"], act["max"])
        summed = set(ref["check_energy_sum"]["members_summed"])
        for name, r in ref["components"].items():
            if "read_dynamic_energy" not in r:
                continue
            got = sum(float(np.sum(x.components.get(name, x.not_summed.get(name, 0.0)))) for x in res)
            assert rel(got * 1e12, r["read_dynamic_energy"]["sum_pJ"]) < 1e-9, (l, name)
            assert (name in res[0].components) == (name in summed), name
        assert set(res[0].components) <= summed


def test_all_reference_clock_periods():
    """Every synchronous reference case: the sub-array's sensing cycle is the chip clock
    period NeuroSim printed (covers SRAM sequential, FeFET, SAR ADC, voltage sensing,
    numRowParallel 32, HP, 65/7 nm, 64x64, not validated)."""
    checked = 0
    for d in sorted(p for p in CASES.iterdir() if (p / "results.json").exists()):
        res = json.loads((d / "results.json").read_text())
        ref = res.get("clk_period_s")
        p = case_param(d.name)
        sa = make_subarray(p)
        x = np.ones((p.numRowSubArray, 1), dtype=np.uint8)
        g = np.full((p.numRowSubArray, p.numColSubArray), float(p.maxConductance))
        cycle = sa.clock_pass(g, x).max
        if ref is None:                       # asynchronous: no clock
            continue
        if ref == "inf":
            # RRAM sequential with cellBit 1: the reference reads past its one-element
            # reference list and prints inf; here the single reference is used
            assert np.isfinite(cycle) and cycle > 0
            continue
        assert rel(cycle, ref) < 1e-12, d.name
        checked += 1
    assert checked >= 20


# ------------------------------------------------------------------------------------
# Vectorisation and edge cases
# ------------------------------------------------------------------------------------
@pytest.mark.parametrize("settings", [[], ["memcelltype=2"], ["memcelltype=2", "operationmode=1", "cellBit=2"],
                                      ["operationmode=1"], ["memcelltype=2", "numRowParallel=32"],
                                      ["SARADC=true"], ["memcelltype=3", "synchronous=false"]],
                         ids=["sram", "rram", "rram_seq", "sram_seq", "rram_pr32", "sar", "fefet_async"])
def test_vectorised_equals_single_vectors(settings):
    p = ic.load_config("neurosim-1.4", None, settings).to_param()
    sa = make_subarray(p)
    rng = np.random.default_rng(7)
    g = Array.layer_conductance(rng.integers(-127, 128, (90, 20)), p)[:, :100]
    x = (rng.random((90, 12)) < 0.25).astype(np.uint8)
    x[:, 3] = 0
    clk = 5e8
    allv = sa.performance_pass(g, x, clk)
    allc = sa.clock_pass(g, x)
    for v in range(x.shape[1]):
        one = sa.performance_pass(g, x[:, v:v + 1], clk)
        for k in TOTALS + LATENCIES + ["activity"]:
            np.testing.assert_allclose(getattr(allv, k)[v], getattr(one, k)[0], rtol=1e-13, atol=0, err_msg=k)
        for k, e in one.components.items():
            np.testing.assert_allclose(allv.components[k][v], e[0], rtol=1e-13, atol=0, err_msg=k)
        assert one.leakage == allv.leakage
        np.testing.assert_allclose(sa.clock_pass(g, x[:, v:v + 1]).sensing_cycle[0], allc.sensing_cycle[v],
                                   rtol=1e-15)
    assert np.all(np.isfinite(allv.read_dynamic_energy))


def test_sequential_vector_without_active_rows():
    """No active row in sequential read: the reference's 0/0 column resistance is treated
    as an open column; nothing is sensed (ADC energy 0) and the latency follows the
    reference's cycle formula."""
    p = case_param("small_rram_sequential_cb2")
    sa = make_subarray(p)
    g = np.full((128, 128), float(p.maxConductance))
    x = np.zeros((128, 2), dtype=np.uint8)
    x[:4, 1] = 1
    r = sa.performance_pass(g, x, 1 / 8.354387185979299e-9, keep_column_resistance=True)
    assert np.all(np.isinf(r.column_resistance[0])) and np.all(np.isfinite(r.column_resistance[1]))
    assert r.components["adc_multilevel_sense_amp"][0] == 0.0
    assert r.components["array"][0] == 0.0
    assert r.read_latency_adc[0] == 0.0 and r.read_latency_adc[1] == 4 * 8
    # only the weight shift-add is left: (cells - 1) * (8 // cells) cycles
    assert r.read_latency[0] == (p.numColPerSynapse - 1) * (8 // p.numColPerSynapse)
    assert np.all(np.isfinite(r.read_dynamic_energy))


def test_interface_errors():
    p = case_param("small_rram")
    sa = make_subarray(p, area=False)
    with pytest.raises(ValueError):
        sa.performance_pass(np.ones((200, 10)), np.ones((200, 1)))
    with pytest.raises(ValueError):
        sa.performance_pass(np.ones((10, 10)), np.ones((11, 1)))
    with pytest.raises(NotImplementedError):     # BNN parallel
        Array.SubArray(Context.from_param(Array.fb.Param(operationmode=4)))


# ------------------------------------------------------------------------------------
# Other read modes: the layer ADC energy NeuroSim prints is the sum of the sub-arrays'
# ADC energies (no PE/tile/chip unit adds to it)
# ------------------------------------------------------------------------------------
OTHER_MODES = ["small_sequential", "small_fefet", "small_rram_pr32", "small_sar_adc", "small_sub64",
               "small_tech7", "small_tech65", "small_hp", "small_rram_cellbit2", "small_not_validated",
               "small_conventional_mapping"]


@pytest.mark.parametrize("case", OTHER_MODES + ["small_voltage_sense"])
def test_layer_adc_energy_other_modes(case, traces):
    import floorplan
    cfg = json.loads((CASES / case / "config.json").read_text())
    res = json.loads((CASES / case / "results.json").read_text())
    p = case_param(case)
    fp = floorplan.plan_floor(cfg["network_rows"], p)
    # the partition below relies on the floor plan; check it is NeuroSim's first
    assert fp.tiles_per_layer == res["floorplan"]["tiles_per_layer"]
    assert fp.speedup_per_layer == res["floorplan"]["speedup_per_layer"]
    plan = {"cm_tile_storage": [int(fp.tile_size_cm)], "cm_pe_storage": [int(fp.pe_size_cm)],
            "nm_tile_storage": [int(fp.num_pe_nm), int(fp.pe_size_nm), int(fp.pe_size_nm)]}
    sa = make_subarray(p)
    clk = min(float(p.clkFreq), 1.0 / float(res["clk_period_s"]))
    tr = traces(case)
    for l, row in enumerate(cfg["network_rows"], start=1):
        x = np.unpackbits(tr[f"x{l}"], axis=1, count=int(tr[f"x{l}_shape"][1]))
        G = Array.layer_conductance(tr[f"w{l}"], p)
        speed = (int(fp.speedup_each_layer[0][l - 1]), int(fp.speedup_each_layer[1][l - 1]))
        blocks = _layer_blocks(row, fp.mark_nm[l - 1], G, x, p, plan, speed)
        e = sum(float(sa.performance_pass(g, xb, clk).read_dynamic_energy_adc.sum()) for g, xb in blocks)
        assert rel(e * 1e12, res["layers"][l - 1]["adc_read_dynamic_energy_pJ"]) < 1e-9, l
