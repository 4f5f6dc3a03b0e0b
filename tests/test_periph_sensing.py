"""Sensing, conversion and digital units (peripherals/: multilevel sense amp, encoder, SAR
ADC, voltage sense amp, DFF, adder, shift-add, adder tree, ReLU bit shifter, max pooling,
comparator, sigmoid) against DNN+NeuroSim V1.4's component-level numbers
(tests/data/neurosim14/<case>/components.json) for SRAM parallel (small_default), RRAM
parallel (small_rram) and RRAM sequential cellBit 2 (small_rram_sequential_cb2), plus
results.json of the SAR-ADC and voltage-sense cases.

Every value compared here is a pure function of the configuration (areas, per-evaluation
constants, the clock-pass sensing delays) or, for the SRAM sense-amp energy, of the number
of active rows only; they agree to ~1e-15 and are checked at rel 1e-9."""
import functools
import json
import math

import numpy as np
import pytest

import inferenceConfig as ic
from conftest import DATA, probe

from peripherals.adder import Adder
from peripherals.adder_tree import AdderTree
from peripherals.base import AreaModify, Context
from peripherals.bit_shifter import BitShifter
from peripherals.comparator import Comparator
from peripherals.dff import DFF
from peripherals.max_pooling import MaxPooling
from peripherals.multilevel_sa_encoder import MultilevelSAEncoder
from peripherals.multilevel_sense_amp import MultilevelSenseAmp, column_power
from peripherals.sar_adc import SarADC
from peripherals.shift_add import ShiftAdd, SpikingMode
from peripherals.voltage_sense_amp import VoltageSenseAmp

# the circuits return records; Probe keeps the last ones for the checks below
Adder = probe(Adder)
AdderTree = probe(AdderTree)
BitShifter = probe(BitShifter)
Comparator = probe(Comparator)
DFF = probe(DFF)
MaxPooling = probe(MaxPooling)
MultilevelSAEncoder = probe(MultilevelSAEncoder)
MultilevelSenseAmp = probe(MultilevelSenseAmp)
SarADC = probe(SarADC)
ShiftAdd = probe(ShiftAdd)
VoltageSenseAmp = probe(VoltageSenseAmp)


REL = 1e-9
CASES = ["small_default", "small_rram", "small_rram_sequential_cb2"]
NUM_LAYERS = 4


def close(a, b, rel=REL):
    return a == pytest.approx(b, rel=rel, abs=0)


@functools.lru_cache(maxsize=None)
def load(name):
    d = DATA / "neurosim14" / name
    meta = json.loads((d / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    ctx = Context.from_param(ic.load_config("neurosim-1.4", None, settings).to_param())
    comp_path = d / "components.json"
    comp = json.loads(comp_path.read_text()) if comp_path.exists() else None
    res = json.loads((d / "results.json").read_text())
    return ctx, comp, res


class Case:
    """The quantities NeuroSim's sub-array / PE / tile / chip pass to these units."""

    def __init__(self, name):
        self.ctx, self.comp, self.res = load(name)
        p = self.p = self.ctx.param
        self.seq = p.operationmode == 1
        self.levels = 2 ** p.cellBit if self.seq else p.levelOutput
        self.cps = p.numColPerSynapse
        sa = self.comp["area"]["subarray"]
        self.props = sa["properties"]
        self.array_width = sa["components"]["array"]["width_um"] * 1e-6
        self.sa_height = sa["total"]["height_um"] * 1e-6
        self.sa_width = sa["total"]["width_um"] * 1e-6
        self.clk = self.comp["clock"]["clk_freq_Hz"]
        fp = self.res["floorplan"]
        self.tile_cm, self.pe_cm = fp["cm_tile_storage"][0], fp["cm_pe_storage"][0]
        self.num_pe_nm, self.pe_nm = fp["nm_tile_storage"][0], fp["nm_tile_storage"][1]
        self.num_add = p.numRowSubArray // p.numRowParallel
        if self.seq:
            self.nbso = (math.ceil(math.log2(p.numRowSubArray)) + p.cellBit + p.numBitInput
                         + (self.cps - 1) * p.cellBit + 1)
        else:
            self.nbso = (int(math.log2(p.levelOutput)) + math.ceil(math.log2(self.num_add))
                         + p.numBitInput + (self.cps - 1) * p.cellBit + 1)

    def cell_dims(self):
        """(array_height, array_width_unit) of a dummy reference column, as the sub-array
        sets them."""
        c = self.ctx.cell
        unit_f = self.ctx.tech.featureSize if c.mem_type == "SRAM" else c.feature_size
        return (self.p.numRowSubArray * c.height_in_feature_size * c.feature_size,
                c.width_in_feature_size * unit_f)

    def sense_amp(self):
        h, w = self.cell_dims()
        m = MultilevelSenseAmp(self.ctx)
        m.initialize(128 // 8, self.levels, self.p.clkFreq, 128, not self.seq, bool(self.p.currentMode),
                     column_cap=self.props["capCol_F"], array_height=h, array_width_unit=w,
                     res_cell_access=self.props["resCellAccess_ohm"] or None)
        return m


@functools.lru_cache(maxsize=None)
def case(name):
    return Case(name)


# --------------------------------------------------------------------- ADC (sub-array)

@pytest.mark.parametrize("name", CASES)
def test_reference_resistances(name):
    c = case(name)
    m = c.sense_amp()
    expected = c.props["multilevelSenseAmp_Rref_ohm"]
    assert len(m.rref) == c.props["multilevelSenseAmp_Rref_count"] == len(expected)
    for got, want in zip(m.rref, expected):
        assert close(got, want, 1e-12)


@pytest.mark.parametrize("name", CASES)
def test_sense_amp_and_encoder_area(name):
    c = case(name)
    m = c.sense_amp()
    m.calculate_area(None, c.array_width)
    ref = c.comp["area"]["subarray"]["components"]
    r = ref["adc_multilevel_sense_amp"]
    assert close(m.area * 1e12, r["area_um2"]) and close(m.height * 1e6, r["height_um"])
    assert close(m.width * 1e6, r["width_um"])
    e = MultilevelSAEncoder(c.ctx)
    e.initialize(c.levels, 16)
    e.calculate_area(None, c.array_width)
    r = ref["adc_encoder"]
    assert close(e.area * 1e12, r["area_um2"]) and close(e.height * 1e6, r["height_um"])
    assert close(e.width * 1e6, r["width_um"])


@pytest.mark.parametrize("name", CASES)
def test_sensing_delays_of_the_clock_pass(name):
    """ADC sensing time and encoder delay, as they enter the sensing cycle (clkPeriod)."""
    c = case(name)
    m = c.sense_amp()
    e = MultilevelSAEncoder(c.ctx)
    e.initialize(c.levels, 16)
    e.calculate_area(None, c.array_width)
    m.calculate_latency(np.ones((3, 128)) * 1e4, 1, 1)     # the data does not matter
    e.calculate_latency(1e20, 1)
    assert m.read_latency.shape == (3,)
    for layer in c.comp["clock"]["per_layer"]:
        ns = layer["components_ns"]
        assert close(float(m.read_latency[0]) * 1e9, ns["adc_multilevel_sense_amp"])
        assert close(e.read_latency * 1e9, ns["adc_encoder"])


@pytest.mark.parametrize("name", CASES)
def test_encoder_leakage(name):
    c = case(name)
    e = MultilevelSAEncoder(c.ctx)
    e.initialize(c.levels, 16)
    e.calculate_area(None, c.array_width)
    e.calculate_power(8)
    for layer in c.comp["layers"]:
        r = layer["subarray"]["components"]["adc_encoder"]
        assert close(e.leakage * 1e6, r["leakage"]["value_uW"])
        assert e.read_dynamic_energy == 0


def test_sram_sense_amp_energy_per_evaluation():
    """SRAM: a column's resistance is set by the number of active rows only (access
    transistor + column wire in parallel), so the per-evaluation minimum and maximum of
    the ADC energy are those at the least and most active input vectors."""
    c = case("small_default")
    m = c.sense_amp()
    vdd = c.ctx.tech.vdd
    ref_energy = c.props["capRow1_F"] / c.p.numColSubArray * vdd * vdd * c.p.numRowSubArray
    r_row = c.props["resCellAccess_ohm"] + c.p.wireResistanceCol
    for layer in c.comp["layers"]:
        act = layer["subarray"]["totals"]["activity_row_read"]
        ncol = int(min(128, layer["info"]["weightMatrixCol"]))
        n_rows = np.array([round(act["min"] * 128), round(act["max"] * 128)])
        with np.errstate(divide="ignore"):
            r_col = np.where(n_rows > 0, r_row / np.maximum(n_rows, 1), np.inf)
        columns = np.repeat(r_col[:, None], ncol, axis=1)           # (2 evaluations, ncol)
        m.calculate_power(columns, c.num_add, reference_energy_peri=ref_energy)
        r = layer["subarray"]["components"]["adc_multilevel_sense_amp"]["read_dynamic_energy"]
        assert m.read_dynamic_energy.shape == (2,)
        assert close(m.read_dynamic_energy[0] * 1e12, r["per_evaluation_min_pJ"])
        assert close(m.read_dynamic_energy[1] * 1e12, r["per_evaluation_max_pJ"])
        assert m.leakage == 0


def _rram_columns(c, n_active, frac_on):
    """Column resistances of a 1T1R column with `n_active` rows read, a fraction `frac_on`
    of them in the on state (wire resistance neglected), as the sub-array would build them:
    parallel read divides the conductance by numAdd, sequential read by the active rows."""
    p = c.p
    g_on = 1 / (p.resistanceOn + p.resistanceAccess)
    g_off = 1 / (p.resistanceOff + p.resistanceAccess)
    g = n_active * (frac_on * g_on + (1 - frac_on) * g_off)
    g = g / (n_active if c.seq else c.num_add)
    return 1 / g


@pytest.mark.parametrize("name", ["small_rram", "small_rram_sequential_cb2"])
def test_rram_sense_amp_energy_is_finite_and_monotonic(name):
    c = case(name)
    m = c.sense_amp()
    n_active = np.arange(1, 129)
    on = _rram_columns(c, n_active, 1.0)
    off = _rram_columns(c, n_active, 0.0)
    cols = np.stack([np.repeat(on[:, None], 16, 1), np.repeat(off[:, None], 16, 1)])  # (2, 128, 16)
    m.calculate_power(cols, 1)
    e_on, e_off = m.read_dynamic_energy
    assert m.read_dynamic_energy.shape == (2, 128)
    assert np.all(np.isfinite(m.read_dynamic_energy)) and np.all(m.read_dynamic_energy > 0)
    # lower column resistance -> more mirror current -> more energy: the all-on column
    # never costs less than the all-off one, and more active rows never cost less ...
    assert np.all(e_on >= e_off)
    assert e_on[-1] > e_off[0]
    # ... within each piece of the fitted power curve (the reference's fit pieces do not
    # join continuously, so the energy can step up at a piece boundary)
    scale = 0.5 / c.p.readVoltage
    bounds = np.array([4832.0, 379269.0]) / scale
    for r_cols, e in ((on, e_on), (off, e_off)):
        piece = np.searchsorted(bounds, r_cols, side="right")
        order = np.argsort(r_cols)
        for k in np.unique(piece):
            sel = order[piece[order] == k]
            assert np.all(np.diff(e[sel]) <= 1e-18)
    r = np.geomspace(1e2, 1e7, 400)
    pw = column_power(r, c.ctx, c.levels, True)
    piece = np.searchsorted(bounds, r, side="right")
    for k in np.unique(piece):
        assert np.all(np.diff(pw[piece == k]) <= 0)
    # a NaN column (sequential mode, no active row) adds only the switching energy
    m.calculate_power(np.full((1, 16), np.nan), 1)
    assert close(float(m.read_dynamic_energy[0]), 16 * m.switching_energy())


def test_sequential_cell_bit_one_uses_the_single_reference():
    """Sequential RRAM with cellBit 1 (2 levels, one reference): NeuroSim reads a reference
    that does not exist and reports an infinite clock; the model uses the only reference
    (mid-point of the on/off conductances) and stays finite."""
    ctx, _, res = load("small_rram_sequential")
    assert res["clk_period_s"] in ("inf", float("inf"))
    cb2 = case("small_rram_sequential_cb2")
    p = ctx.param
    h, w = cb2.cell_dims()
    m = MultilevelSenseAmp(ctx)
    m.initialize(16, 2, 1e9, 128, False, True, column_cap=cb2.props["capCol_F"],
                 array_height=h, array_width_unit=w)
    assert len(m.rref) == 1
    assert close(m.rref[0], 1 / ((1 / p.resistanceOn + 1 / p.resistanceOff) / 2), 1e-12)
    m.calculate_latency(None, 1, 1)
    assert math.isfinite(m.read_latency) and 0 < m.read_latency < 1e-7
    cols = np.array([[p.resistanceOn] * 16, [p.resistanceOff] * 16, [np.nan] * 16])
    m.calculate_power(cols, 64.0)
    assert np.all(np.isfinite(m.read_dynamic_energy)) and np.all(m.read_dynamic_energy > 0)
    assert m.read_dynamic_energy[0] >= m.read_dynamic_energy[1] >= m.read_dynamic_energy[2]
    m.calculate_area(None, cb2.array_width)
    assert m.area > 0


def test_sense_amp_vectorization_matches_loops():
    c = case("small_rram")
    m = c.sense_amp()
    rng = np.random.default_rng(3)
    cols = rng.uniform(300, 3e5, size=(4, 5, 16))
    reads = rng.integers(1, 4, size=(4, 5)).astype(float)
    m.calculate_power(cols, reads)
    batch = m.read_dynamic_energy
    for i in range(4):
        for j in range(5):
            m.calculate_power(cols[i, j], reads[i, j])
            assert close(batch[i, j], m.read_dynamic_energy, 1e-12)
    m.calculate_latency(cols, 8, reads)
    assert m.read_latency.shape == (4, 5)
    assert np.allclose(m.read_latency, m.latency_col * 8 * reads, rtol=1e-14)


def test_sar_adc_against_the_sar_case():
    """SAR ADC (small_sar_adc): its area enters the chip ADC area with the precharger of
    every sub-array; its (log2 L + 1) ns conversion sets the clock with the unchanged row
    and mux delays of small_default."""
    ctx, _, res = load("small_sar_adc")
    c0 = case("small_default")
    sar = SarADC(ctx)
    sar.initialize(16, ctx.param.levelOutput, 1e9, 128)
    sar.calculate_unit_area()
    sar.calculate_area(None, c0.array_width)
    n_sub = c0.comp["area"]["chip"]["adc_area_um2"] / c0.comp["area"]["subarray"]["total"]["adc_area_um2"]
    assert close(n_sub, round(n_sub), 1e-12)
    pre = c0.comp["area"]["subarray"]["components"]["precharger"]["area_um2"]
    assert close(round(n_sub) * (sar.area * 1e12 + pre), res["chip"]["adc_area_um2"])
    sar.calculate_latency(1)
    ns = c0.comp["clock"]["per_layer"][0]["components_ns"]
    cycle = ctx.param.beta * (max(ns["wl_switch_matrix"], ns["column_mux"] + ns["mux_decoder"])
                              + ns["precharger"] + sar.read_latency * 1e9)
    assert close(cycle, res["clk_period_s"] * 1e9)
    # energy: vectorized over evaluations, falls with the column resistance
    cols = np.array([[1e3] * 16, [1e4] * 16, [np.inf] * 16])
    sar.calculate_power(cols, 2)
    e = sar.read_dynamic_energy
    assert e.shape == (3,) and np.all(np.isfinite(e)) and e[0] > e[1] > 0


def test_voltage_mode_sense_amp_against_the_voltage_case():
    ctx, _, res = load("small_voltage_sense")
    c0 = case("small_default")
    h, w = c0.cell_dims()
    m = MultilevelSenseAmp(ctx)
    m.initialize(16, 32, 1e9, 128, True, False, column_cap=c0.props["capCol_F"], array_height=h,
                 array_width_unit=w, res_cell_access=c0.props["resCellAccess_ohm"])
    m.calculate_latency(None, 1, 1)
    ns = c0.comp["clock"]["per_layer"][0]["components_ns"]
    cycle = ctx.param.beta * (max(ns["wl_switch_matrix"], ns["column_mux"] + ns["mux_decoder"])
                              + ns["precharger"] + m.read_latency * 1e9 + ns["adc_encoder"])
    assert close(cycle, res["clk_period_s"] * 1e9)
    m.calculate_area(None, c0.array_width)
    assert close(m.area * 1e12, c0.comp["area"]["subarray"]["components"]["adc_multilevel_sense_amp"]["area_um2"])
    # voltage mode: no mirror power for finite columns, only the switching energy
    m.calculate_power(np.array([[1e3] * 16, [1e5] * 16]), 1)
    assert np.allclose(m.read_dynamic_energy, 16 * m.switching_energy(), rtol=1e-14)


def test_voltage_sense_amp_basics():
    ctx, _, _ = load("small_rram")
    v = VoltageSenseAmp(ctx)
    v.initialize(8, 1e9)
    v.calculate_unit_area()
    v.calculate_area(None)
    assert v.area == pytest.approx(8 * v.area_unit) and v.height > 0 and v.width > 0
    v.calculate_latency(0.0, np.array([1.0, 2.0]))
    assert v.read_latency[1] == pytest.approx(2 * v.read_latency[0]) and v.read_latency[0] > 0
    v.calculate_power(3)
    assert v.read_dynamic_energy == pytest.approx(3 * 8 * 9.845e-15 * (ctx.tech.vdd / 1.1) ** 2)
    assert v.leakage > 0


# --------------------------------------------------------------------- sub-array digital

def _subarray_digital(c):
    """Shift-adds (and for sequential read the adder + DFF) as the sub-array builds them."""
    p, clk = c.p, c.p.clkFreq
    units = {}
    if c.seq:
        adder_bit = math.ceil(math.log2(p.numRowSubArray)) + p.cellBit
        units["shift_add_weight"] = (ShiftAdd(c.ctx), (16, adder_bit, clk, SpikingMode.NONSPIKING,
                                                        (c.cps - 1) * p.cellBit + 1))
        units["shift_add_input"] = (ShiftAdd(c.ctx), (16, adder_bit + (c.cps - 1) * p.cellBit + 1, clk,
                                                       SpikingMode.NONSPIKING, p.numBitInput))
        units["dff"] = (DFF(c.ctx), (adder_bit * 16, clk))
        units["adder"] = (Adder(c.ctx), (adder_bit - 1, 16, clk))
    else:
        lo = int(math.log2(p.levelOutput))
        units["shift_add_weight"] = (ShiftAdd(c.ctx), (16, lo, clk, SpikingMode.NONSPIKING, c.cps))
        units["shift_add_input"] = (ShiftAdd(c.ctx), (16, lo + c.cps, clk, SpikingMode.NONSPIKING,
                                                       p.numBitInput))
    for u, args in units.values():
        u.initialize(*args)
        u.calculate_area(None, c.array_width)
    return {k: u for k, (u, _) in units.items()}


@pytest.mark.parametrize("name", CASES)
def test_subarray_digital_units(name):
    c = case(name)
    units = _subarray_digital(c)
    ref_area = c.comp["area"]["subarray"]["components"]
    for key, u in units.items():
        r = ref_area[key]
        assert close(u.area * 1e12, r["area_um2"]), key
        assert close(u.height * 1e6, r["height_um"]) and close(u.width * 1e6, r["width_um"]), key
    sw, si = units["shift_add_weight"], units["shift_add_input"]
    sw.calculate_latency(1)
    si.calculate_latency(1)
    sw.calculate_power((c.cps - 1) * math.ceil(8 / c.cps))
    si.calculate_power(math.ceil(8 / c.cps))
    for layer in c.comp["layers"]:
        comp = layer["subarray"]["components"]
        for key, u in (("shift_add_weight", sw), ("shift_add_input", si)):
            r = comp[key]
            assert close(u.read_dynamic_energy * 1e12, r["read_dynamic_energy"]["per_evaluation_pJ"]), key
            assert close(u.leakage * 1e6, r["leakage"]["value_uW"]), key
            assert u.read_latency == r["read_latency_performance_pass"]["per_evaluation_cycles"]
            assert close(u.adder_latency * 1e9, r["inner_adder_read_latency"]["per_evaluation_ns"]), key
        if c.seq:
            # accumulation across the rows read one by one: energy follows the active rows
            dff, adder = units["dff"], units["adder"]
            act = layer["subarray"]["totals"]["activity_row_read"]
            rows = np.array([act["min"], act["max"]]) * c.p.numRowSubArray
            reads = 8 * rows
            per_op = 16 * (math.ceil(math.log2(128)) / 2 + c.p.cellBit)
            dff.calculate_power(reads, per_op, True)
            adder.calculate_power(reads, 16)
            adder.calculate_latency(1e20, dff.cap_tg_drain, 1)
            dff.calculate_latency(1e20, 1)
            for key, u in (("dff", dff), ("adder", adder)):
                r = comp[key]
                assert close(u.read_dynamic_energy[0] * 1e12, r["read_dynamic_energy"]["per_evaluation_min_pJ"]), key
                assert close(u.read_dynamic_energy[1] * 1e12, r["read_dynamic_energy"]["per_evaluation_max_pJ"]), key
                assert close(u.leakage * 1e6, r["leakage"]["value_uW"]), key
            assert close(adder.read_latency * 1e9, comp["adder"]["read_latency_performance_pass"]["per_evaluation_ns"])
            assert dff.read_latency == comp["dff"]["read_latency_performance_pass"]["per_evaluation_cycles"]


# --------------------------------------------------------------------- PE / tile / chip

def _pe_units(c):
    nsr = math.ceil(c.pe_cm / c.p.numRowSubArray)
    tree = AdderTree(c.ctx)
    tree.initialize(nsr, c.nbso, math.ceil(nsr * c.p.numColSubArray / c.p.numColMuxed), c.p.clkFreq)
    tree.calculate_area(None, c.sa_width)
    buf_in = DFF(c.ctx)
    buf_in.initialize(c.p.numBitInput * c.p.numRowSubArray, c.p.clkFreq)
    buf_in.calculate_area(nsr * c.sa_height, None)
    buf_out = DFF(c.ctx)
    buf_out.initialize((c.p.numColSubArray // c.p.numColMuxed) * (c.nbso + tree.num_stage), c.p.clkFreq)
    buf_out.calculate_area(None, nsr * c.sa_width)
    return tree, buf_in, buf_out


@pytest.mark.parametrize("name", CASES)
def test_pe_units(name):
    """PE adder tree and its input/output DFF buffers (NM and CM PEs are built alike)."""
    c = case(name)
    tree, buf_in, buf_out = _pe_units(c)
    for mapping in ("novel_mapped", "conventional"):
        ref = c.comp["area"]["pe"][mapping]["components"]
        for key, u in (("adder_tree", tree), ("input_buffer", buf_in), ("output_buffer", buf_out)):
            assert close(u.area * 1e12, ref[key]["area_um2"]), key
            assert close(u.height * 1e6, ref[key]["height_um"]) and close(u.width * 1e6, ref[key]["width_um"]), key
    tree.clk_freq = c.clk
    n_tile_cm = math.ceil(c.tile_cm / c.pe_cm)
    for layer in c.comp["layers"]:
        info = layer["info"]
        wr = int(info["weightMatrixRow"])
        reads = int(info["numInVector"]) * (c.p.numColMuxed // c.cps)
        for mapping, pe in layer["pe"].items():
            comp = pe["components"]
            if mapping == "novel_mapped":
                pe_rows = wr // c.num_pe_nm
            else:
                tile_rows = min(c.tile_cm, wr)
                dup = info["speedUp"][0] * info["speedUp"][1]
                if dup > 1 and min(info["speedUp"]) >= n_tile_cm:
                    pe_rows = tile_rows          # the PE takes the whole duplicated matrix
                elif dup > 1:
                    pe_rows = min(c.pe_cm, tile_rows)
                else:
                    pe_rows = tile_rows // n_tile_cm
            if "adder_tree" in comp:
                r = comp["adder_tree"]
                units = math.ceil(pe_rows / c.p.numRowSubArray)
                tree.calculate_latency(reads, units, 0)
                tree.calculate_power(reads, units)
                assert tree.read_latency == r["read_latency"]["per_evaluation_cycles"]
                if "read_dynamic_energy" in r:
                    assert close(tree.read_dynamic_energy * 1e12, r["read_dynamic_energy"]["per_evaluation_pJ"])
                    assert close(tree.leakage * 1e6, r["leakage"]["value_uW"])
                else:                       # a single operand: no addition, no energy
                    assert tree.read_dynamic_energy == 0 and units == 1
            for key, buf in (("input_buffer", buf_in), ("output_buffer", buf_out)):
                r = comp[key]
                buf.calculate_power(1, buf.num_dff, False)
                assert close(buf.leakage * 1e6, r["leakage"]["value_uW"]), key
                if "read_latency" in r:          # synchronous: one cycle per read
                    n = r["read_latency"]["per_evaluation_cycles"]
                    buf.calculate_latency(0, n)
                    buf.calculate_power(n, buf.num_dff, False)
                    assert buf.read_latency == n
                    assert close(buf.read_dynamic_energy * 1e12, r["read_dynamic_energy"]["per_evaluation_pJ"]), key
                    assert buf.write_dynamic_energy == buf.read_dynamic_energy


@pytest.mark.parametrize("name", CASES)
def test_tile_accumulation(name):
    c = case(name)
    nsr_cm = math.ceil(c.pe_cm / c.p.numRowSubArray)
    nsr_nm = math.ceil(c.pe_nm / c.p.numRowSubArray)
    n_pe_cm = math.ceil(c.tile_cm / c.pe_cm)
    trees = {}
    cm = AdderTree(c.ctx)
    cm.initialize(n_pe_cm, c.nbso + nsr_cm, math.ceil(n_pe_cm * c.pe_cm / c.p.numColMuxed), c.p.clkFreq)
    cm.calculate_area(None, n_pe_cm * c.comp["area"]["pe"]["conventional"]["width_um"] * 1e-6)
    trees["conventional"] = cm
    nm = AdderTree(c.ctx)
    nm.initialize(c.num_pe_nm, c.nbso + nsr_nm, math.ceil(c.pe_nm / c.p.numColMuxed), c.p.clkFreq)
    nm.calculate_area(None, math.ceil(math.sqrt(c.num_pe_nm)) * c.comp["area"]["pe"]["novel_mapped"]["width_um"] * 1e-6)
    trees["novel_mapped"] = nm
    for mapping, tree in trees.items():
        r = c.comp["area"]["tile"][mapping]["components"]["accumulation_adder_tree"]
        assert close(tree.area * 1e12, r["area_um2"]) and close(tree.height * 1e6, r["height_um"])
        assert close(tree.width * 1e6, r["width_um"])
        tree.clk_freq = c.clk
    checked = 0
    for layer in c.comp["layers"]:
        info = layer["info"]
        reads = int(info["numInVector"]) * math.ceil(c.p.numColMuxed / c.cps)
        for mapping, tile in layer["tile"].items():
            if mapping.startswith("totals") or "accumulation_adder_tree" not in tile["components"]:
                continue
            r = tile["components"]["accumulation_adder_tree"]
            if mapping == "novel_mapped":
                units = c.num_pe_nm
            elif info["speedUp"][0] * info["speedUp"][1] > 1:
                units = math.ceil(min(c.tile_cm, info["weightMatrixRow"]) / c.pe_cm)
            else:
                units = n_pe_cm
            tree = trees[mapping]
            tree.calculate_latency(reads, units, 0)
            tree.calculate_power(reads, units)
            assert tree.read_latency == r["read_latency"]["per_evaluation_cycles"]
            assert close(tree.read_dynamic_energy * 1e12, r["read_dynamic_energy"]["per_evaluation_pJ"])
            assert close(tree.leakage * 1e6, r["leakage"]["value_uW"])
            checked += 1
    assert checked >= 2


def _chip_units(c):
    p = c.p
    max_thr = max(c.tile_cm, c.pe_nm) * (NUM_LAYERS + 1)
    max_add = (max(math.ceil(c.pe_cm / p.numRowSubArray), math.ceil(c.pe_nm / p.numRowSubArray))
               * max(math.ceil(c.tile_cm / c.pe_cm), math.ceil(math.sqrt(c.num_pe_nm))) * (NUM_LAYERS + 1))
    max_tile_added = int(max(layer["info"]["tiles"][0] for layer in c.comp["layers"]))
    comps = c.comp["area"]["chip"]["components"]
    acc = AdderTree(c.ctx)
    acc.initialize(max_tile_added, c.nbso + math.ceil(math.log2(max_add)),
                   math.ceil(max_thr / p.numColMuxed), p.clkFreq)
    acc.calculate_area(None, comps["global_accumulation"]["width_um"] * 1e-6)
    relu = BitShifter(c.ctx)
    relu.initialize(math.ceil(max_thr / p.numColMuxed), p.numBitInput, p.clkFreq)
    relu.calculate_area(None, comps["relu"]["width_um"] * 1e-6)
    pool = MaxPooling(c.ctx)
    pool.initialize(p.numBitInput, 2 * 2, int(max(c.tile_cm / p.numColMuxed, c.pe_nm / p.numColMuxed)), p.clkFreq)
    pool.calculate_unit_area(AreaModify.NONE)
    pool.calculate_area(comps["max_pooling"]["width_um"] * 1e-6)
    return {"global_accumulation": acc, "relu": relu, "max_pooling": pool}


@pytest.mark.parametrize("name", CASES)
def test_chip_units(name):
    """Global accumulation, ReLU and max pooling: areas and per-layer energy / cycles /
    leakage."""
    c = case(name)
    units = _chip_units(c)
    comps = c.comp["area"]["chip"]["components"]
    for key, u in units.items():
        r = comps[key]
        assert close(u.area * 1e12, r["area_um2"], REL) if r["area_um2"] else u.area == 0, key
        assert close(u.height * 1e6, r["height_um"]) if r["height_um"] else u.height == 0, key
        assert close(u.width * 1e6, r["width_um"]), key
    for u in units.values():
        u.clk_freq = c.clk
    acc, relu, pool = units["global_accumulation"], units["relu"], units["max_pooling"]
    for layer in c.comp["layers"]:
        info, ch = layer["info"], layer["chip_level"]
        n_iv, wc = int(info["numInVector"]), int(info["weightMatrixCol"])
        outputs = wc // c.cps
        done = {}
        if "relu" in ch:
            n = math.ceil(n_iv * outputs / relu.num_unit)
            relu.calculate_latency(n)
            relu.calculate_power(n)
            done["relu"] = relu
        if "max_pooling" in ch:
            n = math.ceil((n_iv * wc // c.cps / 4.0) / pool.num_max_pooling)
            pool.calculate_latency(1e20, 0, n)
            pool.calculate_power(n)
            done["max_pooling"] = pool
        if "global_accumulation" in ch:
            n = math.ceil(outputs * (n_iv / acc.num_adder_tree))
            tiles = int(info["tiles"][0])
            acc.calculate_latency(n, tiles, 0)
            acc.calculate_power(n, tiles)
            done["global_accumulation"] = acc
        for key, u in done.items():
            r = ch[key]
            assert u.read_latency == r["read_latency"]["per_evaluation_cycles"], key
            assert close(u.read_dynamic_energy * 1e12, r["read_dynamic_energy"]["per_evaluation_pJ"]), key
            assert close(u.leakage * 1e6, r["leakage"]["value_uW"]), key


# --------------------------------------------------------------------- small units

def test_comparator_and_adder_arrays():
    ctx, _, _ = load("small_default")
    comp = Comparator(ctx)
    comp.initialize(4, 3)
    comp.calculate_unit_area()
    comp.calculate_area(10e-6)
    assert comp.area == pytest.approx(3 * comp.area_unit) and comp.height > 0
    comp.calculate_latency(1e20, 1e-15, np.array([1.0, 3.0]))
    assert comp.read_latency[1] == pytest.approx(3 * comp.read_latency[0]) and comp.read_latency[0] > 0
    comp.calculate_power(np.array([1.0, 2.0]), 5)
    assert comp.read_dynamic_energy[1] == pytest.approx(2 * comp.read_dynamic_energy[0])
    a = Adder(ctx)
    a.initialize(8, 4, 1e9)
    a.calculate_area(None, None)
    assert a.area > 0 and a.height > 0
    a.calculate_latency(1e20, 1e-15, np.array([1.0, 2.0]))
    assert a.read_latency[1] == pytest.approx(2 * a.read_latency[0])
    a.calculate_power(np.arange(3.0), 2)
    assert a.read_dynamic_energy.shape == (3,) and a.read_dynamic_energy[0] == 0


def test_layout_options():
    ctx, _, _ = load("small_default")
    d = DFF(ctx)
    d.initialize(100, 1e9)
    d.calculate_area(None, None)
    area = d.area
    d.calculate_area(5e-6, None, AreaModify.MAGIC)
    assert d.height == 5e-6 and d.area == pytest.approx(area)
    d.calculate_area(5e-6, 7e-6, AreaModify.OVERRIDE)
    assert d.area == pytest.approx(35e-12)
    with pytest.raises(ValueError):
        d.calculate_area(5e-6, None, AreaModify.OVERRIDE)
    t = AdderTree(ctx)
    t.initialize(4, 8, 2, 1e9)
    with pytest.raises(ValueError):
        t.calculate_area(None, None)


def test_asynchronous_units_report_seconds():
    settings = ["synchronous=false"]
    ctx = Context.from_param(ic.load_config("neurosim-1.4", None, settings).to_param())
    d = DFF(ctx)
    d.initialize(8, 1e9)
    d.calculate_latency(1e20, 4)
    assert d.read_latency == pytest.approx(4 * 0.5e-9)
    t = AdderTree(ctx)
    t.initialize(4, 8, 2, 1e9)
    t.calculate_area(None, 50e-6)
    t.calculate_latency(2, 0, 0)
    assert 0 < t.read_latency < 1e-8
    s = ShiftAdd(ctx)
    s.initialize(4, 6, 1e9, SpikingMode.NONSPIKING, 8)
    s.calculate_area(None, 50e-6)
    s.calculate_latency(8)
    assert 0 < s.read_latency < 1e-7


def test_sigmoid_lookup_table():
    """RRAM look-up table always; the SRAM table also against small_sigmoid, when the
    sub-array sense amp model is available: the chip area and every layer's energy
    differ from small_default by exactly (sigmoid - ReLU)."""
    from peripherals.sigmoid import Sigmoid as _Sigmoid
    Sigmoid = probe(_Sigmoid)
    c0 = case("small_default")
    ctx_r = Context.from_param(ic.load_config("neurosim-1.4", None, ["reLu=false", "Activationtype=false"]).to_param())
    s = Sigmoid(ctx_r)
    s.initialize(False, 8, 30, 640, 1e9)
    s.calculate_unit_area()
    s.calculate_area(None, 3e-6)
    s.calculate_latency(3)
    s.calculate_power(3)
    assert s.area > 0 and s.read_latency >= 3 and s.read_dynamic_energy > 0 and s.leakage > 0

    pytest.importorskip("peripherals.sense_amp")
    ctx, _, res = load("small_sigmoid")
    _, _, res0 = load("small_default")
    p = ctx.param
    max_thr = max(c0.tile_cm, c0.pe_nm) * (NUM_LAYERS + 1)
    max_add = max(math.ceil(c0.pe_cm / 128), math.ceil(c0.pe_nm / 128)) * \
        max(math.ceil(c0.tile_cm / c0.pe_cm), math.ceil(math.sqrt(c0.num_pe_nm))) * (NUM_LAYERS + 1)
    s = Sigmoid(ctx)
    s.initialize(bool(p.Activationtype), p.numBitInput, c0.nbso + math.ceil(math.log2(max_add)) + 0,
                 math.ceil(max_thr / p.numColMuxed), p.clkFreq)
    relu = _chip_units(c0)["relu"]
    gb_width = c0.comp["area"]["chip"]["components"]["max_pooling"]["width_um"] * 1e-6
    s.calculate_unit_area()
    s.calculate_area(None, gb_width / 3)
    assert close((s.area - relu.area) * 1e12, res["chip"]["area_um2"] - res0["chip"]["area_um2"], 1e-9)
    # per layer: energy and latency differ by (sigmoid - ReLU), same clock
    assert res["clk_period_s"] == res0["clk_period_s"]
    s.clk_freq = relu.clk_freq = 1 / res0["clk_period_s"]
    for lay, lay0, info in zip(res["layers"], res0["layers"], (x["info"] for x in c0.comp["layers"])):
        outputs = int(info["weightMatrixCol"]) // c0.cps
        n = math.ceil(int(info["numInVector"]) * outputs / s.num_entry)
        s.calculate_latency(n)
        s.calculate_power(n)
        n = math.ceil(int(info["numInVector"]) * outputs / relu.num_unit)
        relu.calculate_latency(n)
        relu.calculate_power(n)
        d_energy = lay["read_dynamic_energy_pJ"] - lay0["read_dynamic_energy_pJ"]
        assert close((s.read_dynamic_energy - relu.read_dynamic_energy) * 1e12, d_energy, 1e-8)
        d_cycles = (lay["read_latency_ns"] - lay0["read_latency_ns"]) / (res0["clk_period_s"] * 1e9)
        assert s.read_latency - relu.read_latency == pytest.approx(d_cycles, abs=1e-6)


# Sub-arrays on the chip of each case (tiles x PEs x sub-arrays per PE of its floor plan).
SUBARRAYS_ON_CHIP = {"small_default": 592, "small_tech7": 592, "small_tech65": 592, "small_hp": 592,
                     "small_voltage_sense": 592, "small_rram": 592, "small_fefet": 592,
                     "small_rram_cellbit2": 164}


@pytest.mark.parametrize("name", sorted(SUBARRAYS_ON_CHIP))
def test_adc_area_on_every_node(name):
    """The chip's ADC area is the sub-array ADC area (sense amps + encoders, plus the
    precharger for SRAM) times the number of sub-arrays: checks the sense amp and encoder
    layout at 65 / 22 / 7 nm, LSTP and HP, SRAM / RRAM / FeFET, current and voltage mode."""
    pytest.importorskip("peripherals.precharger")
    from peripherals.precharger import Precharger as _Precharger
    Precharger = probe(_Precharger)
    ctx, _, res = load(name)
    p, tech, cell = ctx.param, ctx.tech, ctx.cell
    F = tech.featureSize
    width = p.numColSubArray * cell.width_in_feature_size * F
    unit_f = F if cell.mem_type == "SRAM" else cell.feature_size
    m = MultilevelSenseAmp(ctx)
    m.initialize(16, p.levelOutput, p.clkFreq, 128, True, bool(p.currentMode), column_cap=5e-15,
                 array_height=p.numRowSubArray * cell.height_in_feature_size * cell.feature_size,
                 array_width_unit=cell.width_in_feature_size * unit_f)
    m.calculate_area(None, width)
    e = MultilevelSAEncoder(ctx)
    e.initialize(p.levelOutput, 16)
    e.calculate_area(None, width)
    area = m.area + e.area
    if cell.mem_type == "SRAM":
        pre = Precharger(ctx)
        pre.initialize(p.numColSubArray, 100.0, 1.0, p.numColSubArray, p.numColSubArray)
        pre.calculate_area(None, width)
        area += pre.area
    assert close(SUBARRAYS_ON_CHIP[name] * area * 1e12, res["chip"]["adc_area_um2"])


@pytest.mark.parametrize("node", [130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1])
def test_every_node_gives_finite_positive_figures(node):
    rams = ["memcelltype=1", "memcelltype=2"] if node > 14 else ["memcelltype=1"]
    roadmaps = [[], ["deviceroadmap=1"]] if node >= 22 else [[]]
    for mem in rams:
        for extra in roadmaps:
            ctx = Context.from_param(ic.load_config("neurosim-1.4", None, [f"technode={node}", mem] + extra).to_param())
            m = MultilevelSenseAmp(ctx)
            m.initialize(16, 32, 1e9, 128, True, True, column_cap=5e-15, array_height=1e-5,
                         array_width_unit=1e-7, res_cell_access=5e4)
            m.calculate_area(None, 50e-6)
            m.calculate_latency(None, 1, 1)
            m.calculate_power(np.geomspace(1e2, 1e7, 16)[None, :].repeat(3, 0), 2.0)
            enc = MultilevelSAEncoder(ctx)
            enc.initialize(32, 16)
            enc.calculate_area(None, 50e-6)
            enc.calculate_latency(1e20, 1)
            enc.calculate_power(1)
            sar = SarADC(ctx)
            sar.initialize(16, 32, 1e9)
            sar.calculate_area(None, 50e-6)
            sar.calculate_power(np.full((2, 16), 1e4), 1)
            sa = ShiftAdd(ctx)
            sa.initialize(16, 13, 1e9, SpikingMode.NONSPIKING, 8)
            sa.calculate_area(None, 50e-6)
            sa.calculate_power(1)
            tree = AdderTree(ctx)
            tree.initialize(25, 21, 64, 1e9)
            tree.calculate_area(None, 50e-6)
            tree.calculate_latency(64, 25, 0)
            tree.calculate_power(64, 25)
            relu = BitShifter(ctx)
            relu.initialize(640, 8, 1e9)
            relu.calculate_area(None, 5e-6)
            relu.calculate_power(3)
            pool = MaxPooling(ctx)
            pool.initialize(8, 4, 128, 1e9)
            pool.calculate_unit_area()
            pool.calculate_area(10e-6)
            pool.calculate_latency(1e20, 0, 3)
            pool.calculate_power(3)
            values = [m.area, m.read_latency, *m.read_dynamic_energy, enc.area, enc.read_latency,
                      enc.leakage, sar.area, *sar.read_dynamic_energy, sa.area, sa.read_dynamic_energy,
                      sa.leakage, tree.area, tree.read_dynamic_energy, tree.read_latency, relu.area,
                      relu.read_dynamic_energy, pool.area, pool.read_dynamic_energy, pool.read_latency]
            assert all(np.isfinite(v) and v > 0 for v in values), (node, mem, extra)
