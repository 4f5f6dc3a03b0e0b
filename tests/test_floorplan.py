"""Floor plan (floorplan.py) against DNN+NeuroSim V1.4's printed floor plan for every
reference case, plus the operation count and the efficiency formulas of main()."""
import json
import math

import pytest

import inferenceConfig as ic
from conftest import DATA
from floorplan import num_computation, performance_figures, plan_floor

CASES = sorted(p for p in (DATA / "neurosim14").iterdir() if p.is_dir())


def case_param(case_dir):
    meta = json.loads((case_dir / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    return meta, ic.load_config("neurosim-1.4", None, settings).to_param()


def printed(x):
    """A number as NeuroSim's high-precision build prints it (15 significant digits)."""
    if isinstance(x, list):
        return [printed(v) for v in x]
    if isinstance(x, dict):
        return {k: printed(v) for k, v in x.items()}
    return float(f"{x:.15g}")


@pytest.mark.parametrize("case_dir", CASES, ids=lambda p: p.name)
def test_floorplan_matches_neurosim(case_dir):
    meta, param = case_param(case_dir)
    expected = json.loads((case_dir / "results.json").read_text())["floorplan"]
    fp = plan_floor(meta["network_rows"], param)
    got = fp.to_json()
    assert set(got) == set(expected)
    assert printed(got) == printed(expected)


@pytest.mark.parametrize("case_dir", CASES, ids=lambda p: p.name)
def test_ops_count_and_efficiency_formulas(case_dir):
    meta, param = case_param(case_dir)
    res = json.loads((case_dir / "results.json").read_text())
    chip, perf = res["chip"], res["performance"]
    n = num_computation(meta["network_rows"])
    lat = float(chip["read_latency_ns"]) * 1e-9
    dyn = float(chip["read_dynamic_energy_pJ"]) * 1e-12
    leak = float(chip["leakage_energy_pJ"]) * 1e-12
    area = float(chip["area_um2"]) * 1e-12
    got = performance_figures(n, lat, dyn, leak, area, param.validated, param.zeta)
    assert perf["mode"] == ("pipelined" if param.pipeline else "layer-by-layer")
    for key in ("tops_per_w", "tops", "fps", "tops_per_mm2"):
        want = float(perf[key])
        if math.isnan(want):
            assert math.isnan(got[key]), key
        elif not math.isfinite(lat):
            assert got[key] == 0.0 or math.isnan(got[key]), key
        else:
            assert got[key] == pytest.approx(want, rel=1e-12), key


def test_small_network_count():
    net = [[28, 28, 1, 5, 5, 32, 1, 1], [12, 12, 32, 5, 5, 64, 1, 1],
           [1, 1, 1024, 1, 1, 128, 0, 1], [1, 1, 128, 1, 1, 10, 0, 1]]
    assert num_computation(net) == 2 * (28 * 28 * 25 * 32 + 144 * 32 * 25 * 64 + 1024 * 128 + 1280)


def _param(**kw):
    p = ic.load_config("neurosim-1.4").to_param()
    for k, v in kw.items():
        p.set(k, v)
    return p


def test_too_small_network_still_planned_with_smallest_legal_sizes():
    # NM layer with C_out*8 = 64 <= 2*128 and CM layers with C_out*8 <= 512: NeuroSim prints
    # "SubArray Size is too large" and continues with zero sizes; we use the lower bounds.
    net = [[8, 8, 1, 3, 3, 8, 0, 1], [6, 6, 16, 3, 3, 8, 0, 1], [1, 1, 32, 1, 1, 4, 0, 1]]
    fp = plan_floor(net, _param())
    assert fp.novel_mapping and fp.mark_nm == [False, True, False]
    assert fp.pe_size_nm == 256 and fp.tile_size_cm == 512 and fp.pe_size_cm == 256
    assert any("too large" in m for m in fp.messages)
    assert all(t >= 1 for t in fp.tiles_per_layer)
    assert all(0 < u <= 1 for u in fp.utilization_each_layer)
    fp2 = plan_floor(net, _param(novelMapping=False))
    assert fp2.tile_size_cm == 512 and any("too large" in m for m in fp2.messages)


def test_no_layer_qualifies_for_novel_mapping_plans_all_conventional():
    # the 3x3 conv has too few rows (27 < 128) and FC kernels differ from 3x3
    net = [[8, 8, 3, 3, 3, 64, 0, 1], [1, 1, 1024, 1, 1, 64, 0, 1]]
    fp = plan_floor(net, _param())
    assert not fp.novel_mapping and fp.mark_nm == [False, False]
    assert "nm_tile_storage" not in fp.to_json()
    assert fp.num_tile_nm == 0 and fp.total_tiles >= 2


def test_layer_by_layer_has_no_pipeline_replication():
    meta, _ = case_param(DATA / "neurosim14" / "vgg8_default")
    fp = plan_floor(meta["network_rows"], _param(pipeline=False))
    # without the pipeline speed-up every layer uses its bare tile count
    bare = []
    for row, nm in zip(meta["network_rows"], fp.mark_nm):
        if nm:
            bare.append(math.ceil(row[2] / fp.pe_size_nm) * math.ceil(row[5] * 8 / fp.pe_size_nm))
        else:
            bare.append(math.ceil(row[2] * row[3] * row[4] / fp.tile_size_cm)
                        * math.ceil(row[5] * 8 / fp.tile_size_cm))
    assert fp.tiles_per_layer == bare
    assert fp.tiles_per_layer[:2] == [1, 2]


def test_fc_only_network_uses_one_pe_novel_mapping_like_neurosim():
    # with only 1x1 kernels the kernel-area vote gives 1 PE per NM tile, and FC layers with
    # enough rows are novel mapped (NeuroSim's behaviour)
    net = [[1, 1, 256, 1, 1, 64, 0, 1], [1, 1, 64, 1, 1, 10, 0, 1]]
    fp = plan_floor(net, _param())
    assert fp.num_pe_nm == 1 and fp.mark_nm == [True, False]


def test_empty_network_rejected():
    with pytest.raises(ValueError, match="no layers"):
        plan_floor([], _param())
