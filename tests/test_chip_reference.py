"""The whole estimator (Chip.estimate) against DNN+NeuroSim V1.4's and NeuroSim V1.5's printed
results for every reference case: every per-layer, chip and performance figure.

The traces are regenerated in the test with tools/make_traces.py (the case's seed and
padding; V1.5 cases in V1.5's integer input format; sha256 checked against config.json). Required: 1e-6 relative for every figure
NeuroSim printed as a finite number (achieved: about 1e-12, rounding only); figures
NeuroSim printed as inf/nan (RRAM sequential with cellBit 1, asynchronous mode) must be
finite here. Every case runs, the VGG8 ones included (a few seconds each).
"""
import hashlib
import json
import math
import subprocess
import sys

import pytest

import inferenceConfig as ic
import report
from chip_traces import load_traces
from Chip import estimate
from conftest import DATA, ROOT

CASES = sorted(p for p in (DATA / "neurosim14").iterdir() if p.is_dir())
CASES_15 = sorted(p for p in (DATA / "neurosim15").iterdir() if p.is_dir())
# reference folder -> (preset, input CSV format of its traces)
VERSION = {"neurosim14": ("neurosim-1.4", "neurosim-1.4"),
           "neurosim15": ("neurosim-1.5", "neurosim-1.5")}
REL = 1e-6

# Figures excluded from the comparison per case (none at present).
KNOWN: dict[str, set[str]] = {}


@pytest.fixture(scope="session")
def trace_cache(tmp_path_factory):
    cache = {}

    def get(case_dir):
        meta = json.loads((case_dir / "config.json").read_text())
        gen = meta["trace_generation"]
        net = (case_dir / "network.csv").read_text()
        fmt = VERSION[case_dir.parent.name][1]
        key = (net, gen["seed"], gen["padding"], fmt)
        if key not in cache:
            out = tmp_path_factory.mktemp("traces")
            subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
                            str(case_dir / "network.csv"), "--out", str(out), "--seed",
                            str(gen["seed"]), "--padding", gen["padding"], "--input-format", fmt],
                           check=True, stdout=subprocess.DEVNULL)
            for name, digest in gen["sha256_of_csv"].items():
                assert hashlib.sha256((out / name).read_bytes()).hexdigest() == digest, name
            cache[key] = out
        return cache[key]

    return get


def run_case(case_dir, traces_dir):
    meta = json.loads((case_dir / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    preset, fmt = VERSION[case_dir.parent.name]
    param = ic.load_config(preset, None, settings).to_param()
    tr = load_traces(traces_dir, case_dir / "network.csv", int(param.synapseBit),
                     int(param.numBitInput), trace_format=fmt)
    return param, estimate(param, tr)


def _val(x):
    return float(x) if not isinstance(x, str) else float(x.replace("-nan", "nan"))


def pairs(ours, ref):
    """(where, key, our value, reference value) for every figure of results.json."""
    for k in ref["chip"]:
        yield "chip", k, ours["chip"].get(k), ref["chip"][k]
    for k in ref["performance"]:
        if k != "mode":
            yield "performance", k, ours["performance"].get(k), ref["performance"][k]
    for i, layer in enumerate(ref["layers"]):
        for k in layer:
            if k != "layer":
                yield f"layer {i + 1}", k, ours["layers"][i].get(k), layer[k]
    if "clk_period_s" in ref:
        yield "top", "clk_period_s", ours.get("clk_period_s"), ref["clk_period_s"]


@pytest.mark.parametrize("case_dir", CASES + CASES_15, ids=lambda p: p.name)
def test_case_matches_neurosim(case_dir, trace_cache):
    ref = json.loads((case_dir / "results.json").read_text())
    param, res = run_case(case_dir, trace_cache(case_dir))
    ours = report.results_dict(res)
    assert set(ours["chip"]) == set(ref["chip"])
    assert set(ours["performance"]) == set(ref["performance"])
    assert [set(l) for l in ours["layers"]] == [set(l) for l in ref["layers"]]
    assert ("clk_period_s" in ours) == ("clk_period_s" in ref)
    assert ours["performance"]["mode"] == ref["performance"]["mode"]
    latency_inf = not math.isfinite(_val(ref["chip"]["read_latency_ns"]))
    bad = []
    for where, key, mine, theirs in pairs(ours, ref):
        mine, theirs = _val(mine), _val(theirs)
        if key in KNOWN.get(case_dir.name, ()):
            continue
        if not math.isfinite(theirs) or (latency_inf and key in ("tops", "fps", "tops_per_mm2")):
            # NeuroSim's inf/nan (and the zeros derived from an infinite latency)
            if not (math.isfinite(mine) and mine >= 0):
                bad.append((where, key, mine, theirs))
            continue
        if not mine == pytest.approx(theirs, rel=REL, abs=1e-9):
            bad.append((where, key, mine, theirs))
    assert not bad, bad


def test_not_validated_buffer_energy(trace_cache):
    """With validated=false NeuroSim never sets its calibration factors (read as 0), so the
    register-file buffers lose their flip-flop energy (peripherals/buffer.py): the buffer
    energy of every layer and of the chip, and what depends on it, match the reference."""
    case_dir = DATA / "neurosim14" / "small_not_validated"
    ref = json.loads((case_dir / "results.json").read_text())
    _, res = run_case(case_dir, trace_cache(case_dir))
    ours = report.results_dict(res)
    for k in ("buffer_read_dynamic_energy_pJ", "read_dynamic_energy_pJ",
              "other_read_dynamic_energy_pJ"):
        assert ours["chip"][k] == pytest.approx(ref["chip"][k], rel=REL), k
        for mine, theirs in zip(ours["layers"], ref["layers"]):
            assert mine[k] == pytest.approx(theirs[k], rel=REL), (theirs["layer"], k)
    assert ours["performance"]["tops_per_w"] == pytest.approx(
        ref["performance"]["tops_per_w"], rel=REL)


def test_default_configuration_is_finite(trace_cache):
    """The project default (RRAM, sequential, cellBit 1) is inf/nan in NeuroSim; here every
    figure is finite and positive."""
    case_dir = DATA / "neurosim14" / "small_default"
    param = ic.load_config(None).to_param()
    tr = load_traces(trace_cache(case_dir), case_dir / "network.csv", 8, 8)
    res = estimate(param, tr)
    d = report.results_dict(res)
    values = [v for v in d["chip"].values()] + [d["performance"][k] for k in
                                                 ("tops_per_w", "tops", "fps", "tops_per_mm2")]
    values += [v for layer in d["layers"] for k, v in layer.items() if k != "layer"]
    assert all(isinstance(v, float) and math.isfinite(v) and v >= 0 for v in values)
    assert d["performance"]["tops_per_w"] > 0 and d["clk_period_s"] > 0


def test_clock_check_on_every_vector_agrees(trace_cache):
    """The clock pass probes one sub-array per layer; checking every input vector of every
    sub-array gives the same clock and the same results."""
    case_dir = DATA / "neurosim14" / "small_rram"
    param = ic.load_config("neurosim-1.4", None, ["memcelltype=2"]).to_param()
    tr = load_traces(trace_cache(case_dir), case_dir / "network.csv", 8, 8)
    fast = estimate(param, tr)
    full = estimate(param, tr, verify_clock=True)
    assert full.clk_period == fast.clk_period
    assert full.chip["read_dynamic_energy"] == pytest.approx(fast.chip["read_dynamic_energy"], rel=1e-12)
    assert full.stats["vector_evaluations"] == fast.stats["vector_evaluations"]


@pytest.mark.parametrize("case_dir", [c for c in CASES if (c / "components.json").is_file()],
                         ids=lambda p: p.name)
def test_layer_cycles_and_tile_leakage_vs_components(case_dir, trace_cache):
    """Per layer, before the clock is applied: the latency in cycles and one tile's
    leakage (all and in-use SRAM), as ChipCalculatePerformance returns them."""
    comp = json.loads((case_dir / "components.json").read_text())
    _, res = run_case(case_dir, trace_cache(case_dir))
    for lf, ref in zip(res.layers, comp["layers"]):
        t = ref["layer_totals_before_clock"]
        assert lf.read_latency / res.clk_period == pytest.approx(t["read_latency_cycles"], rel=1e-9)
        assert lf.buffer_latency / res.clk_period == pytest.approx(t["buffer_latency_cycles"], rel=1e-9)
        assert lf.ic_latency / res.clk_period == pytest.approx(t["ic_latency_cycles"], rel=1e-9)
        assert lf.tile_leakage * 1e6 == pytest.approx(t["leakage_one_tile_uW"], rel=1e-9)
        assert lf.tile_leakage_sram_in_use * 1e6 == pytest.approx(
            t["leakage_sram_in_use_one_tile_uW"], rel=1e-9, abs=1e-12)
    assert res.clk_period == pytest.approx(comp["clock"]["clk_period_s"], rel=1e-12)


def test_v15_traces_detected_and_v14_bits_refused_as_v15(trace_cache, tmp_path):
    """The V1.5 integer inputs are recognised without the flag and give the same figures;
    V1.4 bit files read with --trace-format neurosim-1.5 are refused (V1.5 itself reads them
    silently as codes 0/1)."""
    case_dir = DATA / "neurosim15" / "small_nvcap_levels32"
    ref = json.loads((case_dir / "results.json").read_text())
    settings = ["memcelltype=4", "levelOutput=32"]
    param = ic.load_config("neurosim-1.5", None, settings).to_param()
    tr = load_traces(trace_cache(case_dir), case_dir / "network.csv", 8, 8)   # auto
    ours = report.results_dict(estimate(param, tr))
    assert ours["chip"]["read_dynamic_energy_pJ"] == pytest.approx(
        ref["chip"]["read_dynamic_energy_pJ"], rel=REL)
    v14 = trace_cache(DATA / "neurosim14" / "small_default")
    with pytest.raises(Exception, match="V1.4 bit columns"):
        load_traces(v14, case_dir / "network.csv", 8, 8, trace_format="neurosim-1.5")


def test_v15_voltage_sense_amp_ignores_weights(trace_cache):
    """NeuroSim V1.5's finding: with the voltage-mode sense amp (its default) and with nvCap,
    the weights move no figure; replacing them changes nothing here either."""
    import numpy as np
    case_dir = DATA / "neurosim15" / "small_v15_default"
    for settings in ([], ["memcelltype=4"]):
        param = ic.load_config("neurosim-1.5", None, settings).to_param()
        tr = load_traces(trace_cache(case_dir), case_dir / "network.csv", 8, 8)
        a = report.results_dict(estimate(param, tr))
        rng = np.random.default_rng(2)
        for layer in tr.layers:
            layer.weight_levels = rng.integers(1, 256, layer.weight_levels.shape).astype(np.int16)
        b = report.results_dict(estimate(param, tr))
        assert a["chip"] == b["chip"] and a["layers"] == b["layers"]


def test_v15_through_the_python_api(trace_cache):
    """The Python API (api.py) runs the V1.5 preset and nvCap on V1.5 traces and gives the
    reference's figures."""
    import api
    case_dir = DATA / "neurosim15" / "small_nvcap_sar"
    ref = json.loads((case_dir / "results.json").read_text())
    traces = api.load_traces(trace_cache(case_dir), case_dir / "network.csv",
                             trace_format="neurosim-1.5")
    r = api.run_stage2(api.make_config("neurosim-1.5", {"memcelltype": 4, "SARADC": True}), traces)
    assert r.row()["tops_per_w"] == pytest.approx(ref["performance"]["tops_per_w"], rel=REL)
