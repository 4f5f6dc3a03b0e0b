"""Tests of FormulaBindings.Param, the DNN+NeuroSim V1.4 design-parameter set.

Expected numbers are the values DNN+NeuroSim V1.4's Param.cpp sets (commit ac828e6),
restated here independently of the C++ tables, and a few values printed by the real
NeuroSim run of the reference cases.
"""
from __future__ import annotations

import copy
import json
import math
import pickle
from pathlib import Path

import pytest

FormulaBindings = pytest.importorskip("FormulaBindings")
Param = FormulaBindings.Param

REPO = Path(__file__).resolve().parents[1]
CASES = REPO / "tests" / "data" / "neurosim14"

# ---------------------------------------------------------------------------------
# Shipped values of Param.cpp plus the wrapper's command line (8 8 128 128).
# ---------------------------------------------------------------------------------
SHIPPED = {
    "operationmode": 2, "memcelltype": 1, "accesstype": 1, "transistortype": 1,
    "deviceroadmap": 2, "globalBusType": False, "globalBufferType": False,
    "globalBufferCoreSizeRow": 128, "globalBufferCoreSizeCol": 128, "tileBufferType": False,
    "tileBufferCoreSizeRow": 32, "tileBufferCoreSizeCol": 32, "peBufferType": False,
    "chipActivation": True, "reLu": True, "novelMapping": True, "SARADC": False,
    "currentMode": True, "pipeline": True, "speedUpDegree": 8, "validated": True,
    "synchronous": True, "algoWeightMax": 1.0, "algoWeightMin": -1.0, "clkFreq": 1e9,
    "temp": 300, "technode": 22, "Activationtype": True, "speciallayout": True,
    "globalBusDelayTolerance": 0.1, "localBusDelayTolerance": 0.1, "treeFoldedRatio": 4.0,
    "maxGlobalBusWidth": 2048, "inputtoggle": 0.18, "outputtoggle": 0.5,
    "numRowSubArray": 128, "numColSubArray": 128, "sync_data_transfer": False,
    "numRowParallel": 128, "relaxArrayCellHeight": False, "relaxArrayCellWidth": False,
    "numColMuxed": 8, "levelOutput": 32, "cellBit": 1, "synapseBit": 8, "numBitInput": 8,
    "dumcolshared": 32.0, "heightInFeatureSizeSRAM": 10.0, "widthInFeatureSizeSRAM": 28.0,
    "widthSRAMCellNMOS": 1.0, "widthSRAMCellPMOS": 1.0, "widthAccessCMOS": 1.0,
    "minSenseVoltage": 0.1, "heightInFeatureSize1T1R": 4.0, "widthInFeatureSize1T1R": 12.0,
    "heightInFeatureSizeCrossbar": 2.0, "widthInFeatureSizeCrossbar": 2.0,
    "resistanceOn": 100e3, "resistanceOff": 1.7e6, "readVoltage": 0.55,
    "readPulseWidth": 10e-9, "accessVoltage": 1.1, "resistanceAccess": 25e3,
    "writeVoltage": 2.0, "alpha": 1.44, "beta": 1.4, "gamma": 0.5, "delta": 0.15,
    "epsilon": 0.05, "zeta": 1.22, "sizingfactor_MUX": 110.0, "sizingfactor_WLdecoder": 1.0,
    "newswitchmatrixsizeratio": 14.0, "switchmatrixsizeratio": 0.2, "buffernumber": 0.0,
    "buffersizeratio": 0.0,
}

SHIPPED_DERIVED = {
    "featuresize": 40e-9, "wireWidth": 40, "Metal0": 40.0, "Metal1": 40.0,
    "barrierthickness": 2.5e-9, "AR": 1.9, "maxConductance": 1e-5, "minConductance": 1 / 1.7e6,
    "conventionalSequential": False, "conventionalParallel": True, "BNNsequentialMode": False,
    "BNNparallelMode": False, "XNORsequentialMode": False, "XNORparallelMode": False,
    "parallelRead": True, "numRowPerSynapse": 1, "numColPerSynapse": 8, "numAdd": 1,
    "heightInFeatureSize": 10.0, "widthInFeatureSize": 28.0,
    "cellHeight": 10 * 22e-9, "cellWidth": 28 * 22e-9,
}

# Per node: wireWidth, Metal0, Metal1 (nm), barrier (m), readVoltage (V), SRAM h, w (F),
# sizingfactor_MUX, newswitchmatrixsizeratio, switchmatrixsizeratio, buffernumber,
# buffersizeratio -- as Param.cpp sets them.
NODES = {
    130: (175, 175, 175, 10e-9, 0.58, 10, 28, 1, 6, 0.1, 0, 0),
    90: (110, 110, 110, 10e-9, 0.58, 10, 28, 1, 6, 0.1, 0, 0),
    65: (105, 105, 105, 7e-9, 0.55, 10, 28, 1, 6, 0.1, 0, 0),
    45: (80, 80, 80, 5e-9, 0.51, 10, 28, 1, 6, 0.1, 0, 0),
    32: (56, 56, 56, 4e-9, 0.51, 10, 28, 1, 6, 0.1, 0, 0),
    22: (40, 40, 40, 2.5e-9, 0.55, 10, 28, 110, 14, 0.2, 0, 0),
    14: (32, 32, 39, 2.5e-9, 0.277, 10.6, 30.8, 130, 6, 0.2, 0, 0),
    10: (22, 22, 32, 2e-9, 0.28, 12.8, 31.25, 80, 6, 0.2, 0, 0),
    7: (20, 20, 28.5, 2e-9, 0.264, 16, 34.43, 60, 6, 0.2, 0, 0),
    5: (15, 15, 17, 2e-9, 0.253, 19.2, 43.75, 50, 6, 0.06, 0, 0),
    3: (12, 12, 16, 1.5e-9, 0.248, 30, 68.26, 25, 6, 0.03, 0, 0),
    2: (10, 10, 11.5, 0.5e-9, 0.28, 42, 120, 25, 6, 0.1, 3, 3),
    1: (8, 8, 10, 0.2e-9, 0.272, 80, 144, 30, 6, 0.1, 3, 3),
}

# Copper line (aspect ratio, bulk resistivity in ohm*m) by width band (lower edge, nm).
WIRE_BANDS = [(175, 1.6, 2.01e-8), (110, 1.6, 2.20e-8), (105, 1.7, 2.21e-8), (80, 1.7, 2.37e-8),
              (56, 1.8, 2.63e-8), (40, 1.9, 2.97e-8), (32, 2.0, 3.25e-8), (22, 2.0, 3.95e-8),
              (20, 2.0, 4.17e-8), (15, 2.0, 4.98e-8), (12, 2.0, 5.8e-8), (10, 2.0, 6.61e-8),
              (8, 3.0, 7.87e-8)]


def bulk(width_nm):
    for lo, ar, rho in WIRE_BANDS:
        if width_nm >= lo:
            return ar, rho
    raise AssertionError(width_nm)


def expected_rho(width_nm, barrier_m, temp=300):
    """Param.cpp's resistivity: bulk value, liner correction (width in nm, barrier in m,
    as the original mixes them) and the linear temperature term."""
    ar, rho = bulk(width_nm)
    rho = rho / (1 - (2 * ar * width_nm + width_nm) * barrier_m / (ar * width_nm ** 2))
    return ar, rho * (1 + 0.00451 * abs(temp - 300))


def approx(x):
    return pytest.approx(x, rel=1e-12, abs=0)


# ---------------------------------------------------------------------------------
# Defaults
# ---------------------------------------------------------------------------------
def test_shipped_defaults_match_param_cpp():
    p = Param()
    for name, value in SHIPPED.items():
        got = getattr(p, name)
        assert got == approx(value), name
        assert type(got) is type(value) or isinstance(value, float), (name, type(got))
    for name, value in SHIPPED_DERIVED.items():
        assert p.get(name) == approx(value), name
    p.validate()
    assert p.warnings() == []
    assert repr(p) == "Param()"


def test_every_base_field_has_a_checked_default():
    assert set(Param.base_fields()) >= set(SHIPPED)
    info = Param.field_info()
    # V1.5 additions (nvCap's charge delay, the word-line periphery revision) are not in
    # V1.4's Param.cpp; they have defaults of their own.
    legacy = set(Param.base_fields()) - set(SHIPPED) - {"chargeDelay", "subArrayRevision"}
    # The remaining fields are the training-era members V1.4's Param.cpp never assigns.
    assert legacy == {"operationmodeBack", "writePulseWidth", "numWritePulse", "maxNumLevelLTP",
                      "maxNumLevelLTD", "readNoise", "nonlinearIV", "nonlinearity", "multipleCells",
                      "neuro", "multifunctional", "parallelWrite", "numlut", "numWriteColMuxed",
                      "avgWeightBit"}
    for name in legacy:
        assert not info[name]["default"], name


def _parse_shipped(text):
    return {"true": True, "false": False}.get(text, None) if text in ("true", "false") else float(text)


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.glob("*") if (p / "config.json").exists()))
def test_reference_cases_build_valid_params(case):
    """Every reference case: its 'shipped' values are our defaults, and its settings and
    command line give a valid Param."""
    cfg = json.loads((CASES / case / "config.json").read_text())
    p = Param(**cfg["argv"])
    for name, change in cfg["param_changes_vs_shipped_Param.cpp"].items():
        assert Param().get(name) == _parse_shipped(change["shipped"]), name
        used = _parse_shipped(change["used"])
        if isinstance(used, float) and Param.base_fields()[name] == "int":
            used = int(used)
        p.set(name, used)
    p.validate()
    if case.endswith("rram_sequential"):
        assert any("inf/nan" in w for w in p.warnings())
    if case == "small_rram_pr32":
        assert p.numAdd == 4
    if case == "small_tech7":
        assert p.readVoltage == 0.264
        assert (p.heightInFeatureSize, p.widthInFeatureSize) == (16, 34.43)


if not CASES.exists():  # pragma: no cover - data ships with the repository
    test_reference_cases_build_valid_params = pytest.mark.skip("no reference case data")(
        test_reference_cases_build_valid_params)


# ---------------------------------------------------------------------------------
# Per-node tables and wire resistance
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("node", sorted(NODES, reverse=True))
def test_node_tables(node):
    wire, m0, m1, barrier, vread, sh, sw, mux, nsm, sm, bufn, bufr = NODES[node]
    p = Param(technode=node)
    assert p.wireWidth == wire
    assert p.featuresize == approx(wire * 1e-9)
    assert (p.Metal0, p.Metal1) == (m0, m1)
    assert p.barrierthickness == approx(barrier)
    assert p.readVoltage == vread
    assert (p.heightInFeatureSizeSRAM, p.widthInFeatureSizeSRAM) == (sh, sw)
    assert (p.heightInFeatureSize, p.widthInFeatureSize) == (sh, sw)
    assert p.cellHeight == approx(sh * node * 1e-9)
    assert p.cellWidth == approx(sw * node * 1e-9)
    assert p.sizingfactor_MUX == mux
    assert p.sizingfactor_WLdecoder == 1
    assert p.newswitchmatrixsizeratio == nsm
    assert p.switchmatrixsizeratio == sm
    assert (p.buffernumber, p.buffersizeratio) == (bufn, bufr)

    ar, rho = expected_rho(wire, barrier)
    assert p.AR == ar
    assert p.Rho == approx(rho)
    assert p.unitLengthWireResistance == approx(rho / ((wire * 1e-9) ** 2 * ar))
    for metal, width in (("Metal0", m0), ("Metal1", m1)):
        ar_m, rho_m = expected_rho(width, barrier)
        assert p.get(f"AR_{metal}") == ar_m
        assert p.get(f"Rho_{metal}") == approx(rho_m)
        assert p.get(f"{metal}_unitwireresis") == approx(rho_m / ((width * 1e-9) ** 2 * ar_m))
    assert p.wireLengthRow == approx(wire * 1e-9 * sh)
    assert p.wireLengthCol == approx(wire * 1e-9 * sw)
    assert p.wireResistanceRow == approx(p.unitLengthWireResistance * p.wireLengthRow)
    assert p.wireResistanceCol == approx(p.unitLengthWireResistance * p.wireLengthCol)
    # the allowed combinations at this node validate
    if node <= 14:
        Param(technode=node, memcelltype=3).validate()
    else:
        Param(technode=node, memcelltype=2, deviceroadmap=1, temp=350).validate()


def test_read_voltage_examples_from_notes():
    assert Param(technode=22).readVoltage == 0.55
    assert Param(technode=32).readVoltage == 0.51
    assert Param(technode=14).readVoltage == 0.277


def test_barrier_correction_is_negligible_as_in_neurosim():
    # Param.cpp divides a barrier in metres by a width in nm, so the correction is ~1e-10.
    p = Param()
    assert p.Rho == pytest.approx(2.97e-8, rel=1e-8)
    assert p.Rho != 2.97e-8


def test_wire_resistance_matches_neurosim_run():
    """resRow/resCol that NeuroSim printed for the small_default (SRAM, 22 nm) and small_rram
    sub-arrays equal unitLengthWireResistance times the printed wire lengths."""
    p = Param()
    assert p.unitLengthWireResistance * 78.848e-6 == pytest.approx(770.3242106479461, rel=1e-13)
    assert p.unitLengthWireResistance * 28.16e-6 == pytest.approx(275.1157895171236, rel=1e-13)
    # the printed lengths are 128 cells at F = technode
    assert 128 * p.cellWidth == pytest.approx(78.848e-6, rel=1e-13)
    assert 128 * p.cellHeight == pytest.approx(28.16e-6, rel=1e-13)
    r = Param(memcelltype=2)
    assert r.unitLengthWireResistance * 33.792e-6 == pytest.approx(330.13894742054833, rel=1e-13)
    assert 128 * r.cellWidth == pytest.approx(33.792e-6, rel=1e-13)
    assert 128 * r.cellHeight == pytest.approx(11.264e-6, rel=1e-13)


def test_temperature_scales_only_the_array_wire():
    cold, hot = Param(), Param(temp=350)
    assert hot.Rho == approx(cold.Rho * (1 + 0.00451 * 50))
    assert hot.unitLengthWireResistance == approx(cold.unitLengthWireResistance * (1 + 0.00451 * 50))
    assert hot.Rho_Metal0 == cold.Rho_Metal0
    assert Param(temp=250).Rho == approx(cold.Rho * (1 + 0.00451 * 50))


# ---------------------------------------------------------------------------------
# Never stale
# ---------------------------------------------------------------------------------
def test_changing_technode_moves_every_node_value():
    p = Param()
    before = p.to_dict()
    p.technode = 32
    after = p.to_dict()
    fresh = Param(technode=32).to_dict()
    assert after == fresh
    assert after["readVoltage"] == 0.51 and before["readVoltage"] == 0.55
    assert after["wireWidth"] == 56 and after["featuresize"] == approx(56e-9)
    assert after["AR"] == 1.8 and after["barrierthickness"] == approx(4e-9)
    assert after["sizingfactor_MUX"] == 1 and after["switchmatrixsizeratio"] == 0.1
    assert after["newswitchmatrixsizeratio"] == 6
    assert after["unitLengthWireResistance"] < before["unitLengthWireResistance"]
    changed = {k for k in before if before[k] != after[k]}
    assert {"featuresize", "wireWidth", "Metal0", "Metal1", "barrierthickness", "AR", "Rho",
            "unitLengthWireResistance", "wireLengthRow", "wireLengthCol", "wireResistanceRow",
            "wireResistanceCol", "readVoltage", "sizingfactor_MUX", "cellHeight", "cellWidth",
            "Metal0_unitwireresis", "Metal1_unitwireresis", "technode"} <= changed
    p.technode = 7
    assert p.to_dict() == Param(technode=7).to_dict()
    assert (p.heightInFeatureSizeSRAM, p.widthInFeatureSizeSRAM) == (16, 34.43)
    p.technode = 22
    assert p.to_dict() == before


def test_changing_memcelltype_cellbit_operationmode():
    p = Param()
    p.cellBit = 2
    assert p.cellBit == 1 and p.raw("cellBit") == 2       # SRAM holds one bit
    assert p.numColPerSynapse == 8
    p.memcelltype = 2
    assert p.cellBit == 2 and p.numColPerSynapse == 4
    assert (p.heightInFeatureSize, p.widthInFeatureSize) == (4, 12)
    assert p.wireLengthRow == approx(40e-9 * 4)
    p.accesstype = 4
    assert (p.heightInFeatureSize, p.widthInFeatureSize) == (2, 2)
    p.accesstype = 1
    p.cellBit = 3
    assert p.numColPerSynapse == 3                          # ceil(8/3)
    p.synapseBit = 2
    assert p.cellBit == 2 and p.numColPerSynapse == 1       # clipped to synapseBit
    p.synapseBit = 8
    p.operationmode = 1
    assert p.conventionalSequential and not p.parallelRead and not p.conventionalParallel
    assert p.numColMuxed == 8                                # RRAM: as set
    p.memcelltype = 1
    p.numColMuxed = 4
    assert p.numColMuxed == 8 and p.raw("numColMuxed") == 4  # SRAM sequential: numColPerSynapse
    p.operationmode = 2
    assert p.numColMuxed == 4 and p.parallelRead
    for mode, flag in [(3, "BNNsequentialMode"), (4, "BNNparallelMode"), (5, "XNORsequentialMode"),
                       (6, "XNORparallelMode")]:
        p.operationmode = mode
        assert p.get(flag)
        assert p.numColPerSynapse == (2 if mode == 4 else 1)
        assert p.numRowPerSynapse == (2 if mode in (5, 6) else 1)
        assert p.parallelRead == (mode % 2 == 0)
    p.resistanceOn = 50e3
    assert p.maxConductance == approx(2e-5) and p.resistanceAccess == approx(12.5e3)
    p.levelOutput = 16
    assert p.dumcolshared == 16
    p.numRowParallel = 32
    assert p.numAdd == 4


def test_optional_override_and_reset():
    p = Param()
    p.readVoltage = 0.3
    p.technode = 65
    assert p.readVoltage == 0.3 and p.overrides() == {"readVoltage": 0.3}
    p.readVoltage = None
    assert p.readVoltage == 0.55 and p.raw("readVoltage") is None and p.overrides() == {}
    p.set("sizingfactor_MUX", 5)
    assert p.sizingfactor_MUX == 5.0
    p.reset("sizingfactor_MUX")
    assert p.sizingfactor_MUX == 1
    p.reset()
    assert p == Param()


try:
    import hypothesis
    from hypothesis import strategies as st
except ImportError:  # pragma: no cover - hypothesis is in requirements.txt
    hypothesis = None

if hypothesis is not None:
    _CHANGES = st.one_of(
        st.tuples(st.just("technode"), st.sampled_from(sorted(NODES))),
        st.tuples(st.just("memcelltype"), st.sampled_from([1, 2, 3])),
        st.tuples(st.just("accesstype"), st.sampled_from([1, 4])),
        st.tuples(st.just("operationmode"), st.integers(1, 6)),
        st.tuples(st.just("cellBit"), st.integers(1, 8)),
        st.tuples(st.just("synapseBit"), st.integers(1, 8)),
        st.tuples(st.just("temp"), st.sampled_from([300, 350, 400])),
        st.tuples(st.just("resistanceOn"), st.floats(1e3, 1e6)),
        st.tuples(st.just("levelOutput"), st.sampled_from([2, 8, 16, 32, 64])),
        st.tuples(st.just("numColMuxed"), st.sampled_from([1, 4, 8, 16])),
        st.tuples(st.just("numRowParallel"), st.sampled_from([1, 16, 64, 128])),
        st.tuples(st.just("readVoltage"), st.one_of(st.none(), st.floats(0.1, 1.0))),
        st.tuples(st.just("heightInFeatureSizeSRAM"), st.one_of(st.none(), st.floats(5, 50))),
    )

    @hypothesis.settings(max_examples=200, deadline=None)
    @hypothesis.given(st.lists(_CHANGES, min_size=1, max_size=12))
    def test_never_stale_after_any_sequence_of_changes(changes):
        """A Param changed step by step derives exactly what a fresh Param with the same
        base values derives."""
        p = Param()
        for name, value in changes:
            setattr(p, name, value)
        fresh = Param(**p.base_dict())
        assert fresh == p
        assert p.to_dict() == fresh.to_dict()


# ---------------------------------------------------------------------------------
# Introspection
# ---------------------------------------------------------------------------------
def test_introspection():
    base = Param.base_fields()
    derived = Param.derived_fields()
    assert isinstance(base, dict) and isinstance(derived, list)
    assert set(base.values()) == {"int", "float", "bool", "optional_float"}
    assert not set(base) & set(derived)
    assert len(derived) == len(set(derived))
    assert base["technode"] == "int" and base["readVoltage"] == "optional_float"
    assert base["clkFreq"] == "float" and base["pipeline"] == "bool"
    p = Param()
    d = p.to_dict()
    assert list(d) == list(base) + derived
    for name in base:
        assert getattr(p, name) == p.get(name) == d[name]
    for name in derived:
        assert getattr(p, name) == p.get(name) == d[name]
    info = Param.field_info()
    assert info["readVoltage"]["unit"] == "V" and info["readVoltage"]["default"] is None
    assert info["memcelltype"]["choices"] == [1, 2, 3, 4]
    assert info["resistanceOn"]["default"] == 100e3
    dinfo = Param.derived_info()
    assert "technode" in dinfo["featuresize"]["depends_on"]
    assert dinfo["unitLengthWireResistance"]["unit"] == "ohm/m"
    assert Param.supported_technodes() == [130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1]


def test_docstrings_carry_units():
    info, dinfo = Param.field_info(), Param.derived_info()
    for name in list(info) + list(dinfo):
        doc = getattr(Param, name).__doc__
        assert doc, name
        unit = (info.get(name) or dinfo[name])["unit"]
        if unit:
            assert f"Unit: {unit}." in doc, name
    assert "Default: 32." in Param.levelOutput.__doc__
    assert "Read-only" in Param.featuresize.__doc__
    assert Param.__doc__.startswith("Design parameters")


def test_copy_pickle_equality_repr():
    p = Param(technode=32, memcelltype=2, readVoltage=0.4, cellBit=2)
    q = p.copy()
    assert q == p and q is not p
    q.technode = 65
    assert p.technode == 32 and q != p
    assert copy.copy(p) == p and copy.deepcopy(p) == p
    r = pickle.loads(pickle.dumps(p))
    assert r == p and r.readVoltage == 0.4 and r.raw("cellBit") == 2
    assert Param(**p.base_dict()) == p
    assert repr(p) == "Param(memcelltype=2, technode=32, cellBit=2, readVoltage=0.4)"
    assert eval(repr(p), {"Param": Param}) == p
    with pytest.raises(TypeError):
        hash(p)
    assert (p == 3) is False
    p.update({"technode": 22}, pipeline=False)
    assert p.technode == 22 and p.pipeline is False


# ---------------------------------------------------------------------------------
# Errors
# ---------------------------------------------------------------------------------
@pytest.mark.parametrize("name, value", [
    ("technode", 22.0), ("technode", "22"), ("technode", True), ("cellBit", 1.5),
    ("clkFreq", "1e9"), ("clkFreq", True), ("clkFreq", None), ("pipeline", 1),
    ("pipeline", "true"), ("pipeline", None), ("readVoltage", "0.5"), ("readVoltage", False),
    ("resistanceOn", 1j), ("numRowSubArray", None),
])
def test_wrong_type_is_a_type_error_naming_the_field(name, value):
    p = Param()
    with pytest.raises(TypeError, match=rf"Param\.{name} expects"):
        setattr(p, name, value)
    with pytest.raises(TypeError, match=rf"Param\.{name} expects"):
        p.set(name, value)
    with pytest.raises(TypeError, match=rf"Param\.{name} expects"):
        Param(**{name: value})
    assert p == Param()


def test_accepted_numeric_types():
    np = pytest.importorskip("numpy")
    p = Param()
    p.numRowSubArray = np.int64(64)
    p.clkFreq = 5e8
    p.clkFreq = 500_000_000          # int for a float field
    p.resistanceOn = np.float32(5e4)
    p.pipeline = np.bool_(False)
    p.readVoltage = 1                # int for an optional float
    assert (p.numRowSubArray, p.clkFreq, p.resistanceOn, p.pipeline, p.readVoltage) == (
        64, 5e8, 5e4, False, 1.0)
    assert type(p.clkFreq) is float and type(p.numRowSubArray) is int
    with pytest.raises(ValueError, match="outside the int range"):
        p.technode = 2 ** 40


def test_unknown_and_read_only_names():
    p = Param()
    with pytest.raises(KeyError, match="did you mean: technode"):
        p.set("technod", 32)
    with pytest.raises(KeyError, match="did you mean: .*readVoltage"):
        p.get("readvoltage")
    with pytest.raises(KeyError):
        Param(notAField=1)
    with pytest.raises(AttributeError, match="derived from technode"):
        p.featuresize = 1e-9
    with pytest.raises(AttributeError, match="cannot be set"):
        p.set("numColPerSynapse", 2)
    with pytest.raises(AttributeError):
        p.notAField = 3


@pytest.mark.parametrize("values, pieces", [
    ({"memcelltype": 2, "technode": 14}, ["memcelltype=2", "RRAM", "technode=14", "130, 90, 65, 45, 32, 22"]),
    ({"memcelltype": 2, "technode": 7}, ["memcelltype=2", "technode=7"]),
    ({"deviceroadmap": 1, "technode": 10}, ["deviceroadmap=1", "HP", "LSTP"]),
    ({"temp": 350, "technode": 5}, ["temp=350", "300 K"]),
    ({"technode": 28}, ["technode=28", "130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1"]),
    ({"numRowSubArray": 100, "numRowParallel": 100}, ["numRowSubArray=100", "power of two"]),
    ({"numColSubArray": 96}, ["numColSubArray=96", "power of two"]),
    ({"numRowParallel": 256}, ["numRowParallel=256", "1..128"]),
    ({"numRowParallel": 0}, ["numRowParallel=0"]),
    ({"operationmode": 7}, ["operationmode=7", "1 (conventional sequential)"]),
    ({"memcelltype": 5}, ["memcelltype=5", "1 (SRAM), 2 (RRAM), 3 (FeFET), 4 (nvCap)"]),
    ({"memcelltype": 4, "technode": 32}, ["memcelltype=4", "nvCap", "technode=22"]),
    ({"memcelltype": 4, "operationmode": 1}, ["memcelltype=4", "operationmode=2"]),
    ({"accesstype": 0}, ["accesstype=0", "4 (none, crossbar)"]),
    ({"transistortype": 2}, ["transistortype=2", "conventional"]),
    ({"deviceroadmap": 3}, ["deviceroadmap=3", "1 (HP), 2 (LSTP)"]),
    ({"cellBit": 0}, ["cellBit=0"]),
    ({"sync_data_transfer": True}, ["sync_data_transfer", "globalBusType=true"]),
])
def test_validate_rejects_what_neurosim_rejects(values, pieces):
    p = Param(**values)
    with pytest.raises(ValueError) as err:
        p.validate()
    for piece in pieces:
        assert piece in str(err.value), piece
    assert p.problems()


def test_validate_accepts_allowed_combinations():
    for values in [{"memcelltype": 3, "technode": 14}, {"technode": 1}, {"deviceroadmap": 1},
                   {"memcelltype": 2, "technode": 22, "temp": 400}, {"numRowParallel": 1},
                   {"sync_data_transfer": True, "globalBusType": True}]:
        p = Param(**values)
        assert p.validate() is p


def test_unsupported_node_in_derived_values():
    p = Param(technode=28)
    assert p.maxConductance == 1e-5        # does not depend on the node
    with pytest.raises(ValueError, match="technode=28"):
        p.readVoltage
    with pytest.raises(ValueError, match="technode=28"):
        p.to_dict()
    p.readVoltage = 0.5
    assert p.readVoltage == 0.5


def test_warnings():
    assert any("SRAM" in w for w in Param(cellBit=2).warnings())
    assert any("numColMuxed=4 is used as 8" in w for w in Param(operationmode=1, numColMuxed=4).warnings())
    assert any("inf/nan" in w for w in Param(memcelltype=2, operationmode=1).warnings())
    assert not Param(memcelltype=2, operationmode=1, cellBit=2).warnings()
    assert any("synchronous=false" in w for w in Param(synchronous=False).warnings())
    assert any("tileBufferType" in w for w in Param(tileBufferType=True).warnings())
    assert any("truncates numAdd" in w for w in Param(numRowParallel=48).warnings())
    assert any("synapseBit" in w for w in Param(memcelltype=2, cellBit=4, synapseBit=2).warnings())


def test_readme_lists_every_field():
    text = (REPO / "from_neurosim" / "PARAM.md").read_text()
    for name in list(Param.base_fields()) + Param.derived_fields():
        assert f"`{name}`" in text, name
