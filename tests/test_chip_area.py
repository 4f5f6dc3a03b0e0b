"""PE, tile and chip areas (Tile.py, Chip.py) against the component-level reference data
(components.json: area.pe / area.tile / area.chip) and the chip area of every reference case.

Areas are pure functions of the configuration; we require 1e-9 relative (achieved: about
1e-15, i.e. rounding)."""
import json

import pytest

import inferenceConfig as ic
from Chip import Chip
from conftest import DATA

CASES = sorted(p for p in (DATA / "neurosim14").iterdir() if p.is_dir())
COMPONENT_CASES = [c for c in CASES if (c / "components.json").is_file()]
REL = 1e-9
UM2, UM = 1e12, 1e6


def case_chip(case_dir):
    meta = json.loads((case_dir / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    param = ic.load_config("neurosim-1.4", None, settings).to_param()
    chip = Chip(param, meta["network_rows"])
    chip.initialize()
    return chip, chip.calculate_area()


@pytest.fixture(scope="module", params=COMPONENT_CASES, ids=lambda p: p.name)
def built(request):
    comp = json.loads((request.param / "components.json").read_text())["area"]
    chip, area = case_chip(request.param)
    return comp, chip, area


def approx(x):
    return pytest.approx(x, rel=REL, abs=1e-12)


@pytest.mark.parametrize("kind, nm", [("novel_mapped", True), ("conventional", False)])
def test_pe_area(built, kind, nm):
    comp, chip, area = built
    if kind not in comp["pe"]:
        pytest.skip("no such PE type in this case")
    ref = comp["pe"][kind]
    grid = ref["subarrays"][0]
    pe = chip.tile.pe.calculate_area(grid, ref["subarrays"][1], nm)
    assert pe["area"] * UM2 == approx(ref["area_um2"])
    assert pe["height"] * UM == approx(ref["height_um"])
    assert pe["width"] * UM == approx(ref["width_um"])
    assert pe["adc"] * UM2 == approx(ref["adc_area_um2"])
    assert pe["accum"] * UM2 == approx(ref["accum_area_um2"])
    assert pe["other"] * UM2 == approx(ref["other_area_um2"])
    assert pe["array"] * UM2 == approx(ref["array_area_um2"])
    key = "nm" if nm else "cm"
    for name in ("adder_tree", "input_buffer", "output_buffer"):
        obj = pe["layouts"][name]
        r = ref["components"][name]
        assert obj.area * UM2 == approx(r["area_um2"]), name
        assert obj.height * UM == approx(r["height_um"]), name
        assert obj.width * UM == approx(r["width_um"]), name


@pytest.mark.parametrize("kind, nm", [("novel_mapped", True), ("conventional", False)])
def test_tile_area(built, kind, nm):
    comp, chip, area = built
    if kind not in comp["tile"]:
        pytest.skip("no such tile type in this case")
    ref = comp["tile"][kind]
    tile = area["nm_tile"] if nm else area["cm_tile"]
    assert tile["area"] * UM2 == approx(ref["area_um2"])
    assert tile["height"] * UM == approx(ref["height_um"])
    assert tile["width"] * UM == approx(ref["width_um"])
    for mine, theirs in (("ic", "ic_area_um2"), ("adc", "adc_area_um2"), ("accum", "accum_area_um2"),
                         ("other", "other_area_um2"), ("array", "array_area_um2")):
        assert tile[mine] * UM2 == approx(ref[theirs]), mine
    key = "nm" if nm else "cm"
    t = chip.tile
    assert t.num_in_buffer_core[key] == ref["input_buffer_cores"]
    assert t.num_out_buffer_core[key] == ref["output_buffer_cores"]
    assert t.htree[key].bus_width == ref["htree_bus_width"]
    comps = ref["components"]
    acc = tile["layouts"]["accumulation"]
    assert acc.area * UM2 == approx(comps["accumulation_adder_tree"]["area_um2"])
    assert acc.width * UM == approx(comps["accumulation_adder_tree"]["width_um"])
    assert tile["input_buffer"] * UM2 == approx(comps["input_buffer"]["area_um2"])
    assert tile["output_buffer"] * UM2 == approx(comps["output_buffer"]["area_um2"])
    assert tile["layouts"]["input_buffer"].height * UM == approx(comps["input_buffer"]["height_um"])
    assert tile["layouts"]["output_buffer"].width * UM == approx(comps["output_buffer"]["width_um"])
    assert tile["htree"] * UM2 == approx(comps["htree"]["area_um2"])


def test_chip_area_and_global_units(built):
    comp, chip, area = built
    ref = comp["chip"]
    assert area["area"] * UM2 == approx(ref["area_um2"])
    for mine, theirs in (("ic", "ic_area_um2"), ("adc", "adc_area_um2"), ("accum", "accum_area_um2"),
                         ("other", "other_area_um2"), ("array", "array_area_um2")):
        assert area[mine] * UM2 == approx(ref[theirs]), mine
    fp = chip.fp
    assert (fp.num_tile_nm, fp.num_tile_cm, fp.num_tile_row) == (
        ref["tiles_novel_mapped"], ref["tiles_conventional"], ref["numTileRow"])
    assert chip.global_bus_width == ref["global_bus_width"]
    assert chip.num_buffer_core == ref["global_buffer_cores"]
    assert chip.global_buffer.interface_width == ref["global_buffer_interface_width"]
    assert area["global_buffer"] * UM2 == approx(ref["global_buffer_area_all_cores_um2"])
    c = ref["components"]
    gb = c["global_buffer_one_core"]
    lay = area["layouts"]
    assert lay["global_buffer"].area * UM2 == approx(gb["area_um2"])
    assert lay["global_buffer"].height * UM == approx(gb["height_um"])
    bus = c.get("global_xy_bus") or c.get("global_htree")
    assert area["global_bus"] * UM2 == approx(bus["area_um2"])
    assert lay["accumulation"].area * UM2 == approx(c["global_accumulation"]["area_um2"])
    assert lay["accumulation"].width * UM == approx(c["global_accumulation"]["width_um"])
    assert lay["activation"].area * UM2 == approx(c["relu"]["area_um2"])
    assert lay["activation"].height * UM == approx(c["relu"]["height_um"])
    assert lay["max_pool"].area * UM2 == approx(c["max_pooling"]["area_um2"])
    assert lay["max_pool"].height * UM == approx(c["max_pooling"]["height_um"])
    nm_h, nm_w = area["tile_hw"]["nm"]
    cm_h, cm_w = area["tile_hw"]["cm"]
    assert cm_h * UM == approx(ref["cm_tile_height_um"])
    if fp.novel_mapping:
        assert nm_h * UM == approx(ref["nm_tile_height_um"])


@pytest.mark.parametrize("case_dir", CASES, ids=lambda p: p.name)
def test_chip_area_every_case(case_dir):
    res = json.loads((case_dir / "results.json").read_text())["chip"]
    _, area = case_chip(case_dir)
    assert area["area"] * UM2 == approx(res["area_um2"])
    assert area["array"] * UM2 == approx(res["cim_array_area_um2"])
    assert area["ic"] * UM2 == approx(res["ic_area_um2"])
    assert area["adc"] * UM2 == approx(res["adc_area_um2"])
    assert area["accum"] * UM2 == approx(res["accum_area_um2"])
    assert area["other"] * UM2 == approx(res["other_area_um2"])
