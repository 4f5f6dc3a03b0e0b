"""Buffers, PE buses, H-trees and the X-Y bus against DNN+NeuroSim V1.4's own numbers.

Reference: tests/data/neurosim14/<case>/components.json (per-component figures of an
instrumented NeuroSim run) and results.json (printed totals).

The circuits are initialised with the arguments NeuroSim's Tile.cpp / Chip.cpp /
ProcessingUnit.cpp give them (re-derived below from the case's Param and the floor plan
figures in components.json). The per-call bit counts that the parents pass are derived as
follows (each helper says which):

* PE buses: transfers per call = reference latency / our cycles per transfer (the model
  gives 1 cycle per transfer in all three cases); the novel-mapped layer is also checked
  against NeuroSim's formula (rows x input vectors / bus width, and
  cols x (adder stages + adder bits) x vectors / (rows x bus width)).
* Tile buffers / H-tree: bits loaded out of the tile buffer (to the PEs) from NeuroSim's
  formula (weight rows of the tile call x input vectors, / sqrt(#PE) for novel mapping,
  rows of a call = min(tile rows, layer rows)); bits loaded in
  (PE outputs) from the reference output-buffer latency x parallel cores x 2 x interface
  width (synchronous: one line per cycle, half the bits read, half written).
* Chip: global-buffer and X-Y bus bit counts from Chip.cpp's formulas (rows x 8 bits x
  vectors [/ K_H for novel mapping], ceil(cols / cps) x 8 x vectors [/ 4 if pooled]).

All comparisons are relative, at 1e-9 (the achieved agreement is ~1e-14).
"""
from __future__ import annotations

import functools
import json
import math

import numpy as np
import pytest

import inferenceConfig as ic
from conftest import DATA, probe

from peripherals.base import AreaModify, Context
from peripherals.buffer import Buffer
from peripherals.bus import Bus, BusMode, size_repeaters
from peripherals.htree import HTree
from peripherals.xy_bus import XYBus

# the circuits return records; Probe keeps the last ones for the checks below
Buffer = probe(Buffer)
Bus = probe(Bus)
HTree = probe(HTree)
XYBus = probe(XYBus)


CASES = DATA / "neurosim14"
COMPONENT_CASES = ["small_default", "small_rram", "small_rram_sequential_cb2"]
U = 1e-6     # um -> m
PJ = 1e-12
UW = 1e-6
REL = 1e-9


@functools.lru_cache(maxsize=None)
def load(case: str):
    meta = json.loads((CASES / case / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    ctx = Context.from_param(ic.load_config("neurosim-1.4", None, settings).to_param())
    comp_file = CASES / case / "components.json"
    comp = json.loads(comp_file.read_text()) if comp_file.exists() else None
    results = json.loads((CASES / case / "results.json").read_text())
    return ctx, comp, results, meta["network_rows"]


def rel(a, b):
    return abs(a / b - 1) if b else abs(a)


# ------------------------------------------------------------------ NeuroSim's set-up formulas

def subarray_output_bits(p) -> int:
    """Bits of one sub-array output (ProcessingUnit/Tile `numBitSubarrayOutput`)."""
    if p.parallelRead:
        v = (math.log2(p.levelOutput) + math.ceil(math.log2(math.ceil(p.numRowSubArray / p.numRowParallel)))
             + p.numBitInput + (p.numColPerSynapse - 1) * p.cellBit + 1)
    else:
        v = (math.ceil(math.log2(p.numRowSubArray)) + p.cellBit + p.numBitInput
             + (p.numColPerSynapse - 1) * p.cellBit + 1)
    return int(v)


def tile_pe_count(kind: str, tile_area: dict) -> float:
    """The `numPE` Tile.cpp uses: PEs of a novel-mapped tile, PEs per side of a CM tile."""
    return tile_area["numPE"] if kind == "novel_mapped" else math.sqrt(tile_area["numPE"])


def tile_buffer_setup(p, kind: str, tile_area: dict):
    """Initialize arguments (num_bit, interface_width) and core counts of the tile input
    and output buffers (Tile.cpp, chip-level activation, no synchronous data transfer)."""
    npe = tile_pe_count(kind, tile_area)
    n_sub = math.ceil(tile_area["peSize"] / p.numRowSubArray) * math.ceil(tile_area["peSize"] / p.numColSubArray)
    pe_out_bits = subarray_output_bits(p) + math.ceil(math.sqrt(n_sub))
    acc_bits = pe_out_bits + math.ceil(math.log2(npe))
    core = p.tileBufferCoreSizeRow * p.tileBufferCoreSizeCol
    out_bits = acc_bits * npe * p.numColSubArray / p.numColMuxed
    out_args = (out_bits, acc_bits * npe) if out_bits < core else (core, p.tileBufferCoreSizeCol)
    in_bits = npe * p.numBitInput * p.numRowSubArray
    in_args = (in_bits, npe * p.numRowSubArray) if in_bits < core else (core, p.tileBufferCoreSizeCol)
    return in_args, out_args, math.ceil(in_bits / core), math.ceil(out_bits / core)


@functools.lru_cache(maxsize=None)
def tile_parts(case: str, kind: str):
    ctx, comp, _, _ = load(case)
    p = ctx.param
    ta, pe = comp["area"]["tile"][kind], comp["area"]["pe"][kind]
    in_args, out_args, n_in, n_out = tile_buffer_setup(p, kind, ta)
    side = math.ceil(math.sqrt(ta["numPE"]))
    bin_, bout = Buffer(ctx), Buffer(ctx)
    bin_.initialize(*in_args, 1, p.unitLengthWireResistance, p.clkFreq, p.peBufferType)
    bout.initialize(*out_args, 1, p.unitLengthWireResistance, p.clkFreq, p.peBufferType)
    bin_.calculate_area(side * pe["height_um"] * U, None, AreaModify.NONE)
    bout.calculate_area(None, side * pe["width_um"] * U, AreaModify.NONE)
    # H-tree over the PEs: ceil(sqrt(#PE)) per side (novel mapping) or #PE per side (CM);
    # bus width = #PE (per side for CM) x PE size
    npe = tile_pe_count(kind, ta)
    n = math.ceil(math.sqrt(npe)) if kind == "novel_mapped" else int(npe)
    tree = HTree(ctx)
    tree.initialize(n, n, p.localBusDelayTolerance, npe * ta["peSize"], p.clkFreq)
    tree.calculate_area(pe["height_um"] * U, pe["width_um"] * U, 16)
    tree.clk_freq = comp["clock"]["clk_freq_Hz"]
    return bin_, bout, n_in, n_out, tree


def chip_grid(comp):
    ch = comp["area"]["chip"]
    n = ch["tiles_novel_mapped"] + ch["tiles_conventional"]
    rows = math.ceil(math.sqrt(n))
    return rows, math.ceil(n / rows)


def chip_bits(p, layer: dict, net_row) -> tuple[float, float]:
    """(bits from the global buffer to the tiles, bits back) of one layer (Chip.cpp)."""
    info = layer["info"]
    wr, wc, niv = info["weightMatrixRow"], info["weightMatrixCol"], int(info["numInVector"])
    novel = layer["mapping"].startswith("novel")
    out = wr * p.numBitInput * niv / (net_row[3] if novel else 1)
    back = math.ceil(wc / p.numColPerSynapse) * p.numBitInput * niv / (4 if net_row[6] else 1)
    return out, back


def tile_dims(comp, novel: bool):
    ch = comp["area"]["chip"]
    key = "nm" if novel else "cm"
    return ch[f"{key}_tile_height_um"] * U, ch[f"{key}_tile_width_um"] * U


# ------------------------------------------------------------------ PE buses

@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_pe_buses_match_components(case):
    ctx, comp, _, _ = load(case)
    p = ctx.param
    sub = comp["area"]["subarray"]["total"]
    h, w = sub["height_um"] * U, sub["width_um"] * U
    clk = comp["clock"]["clk_freq_Hz"]
    checked = 0
    for layer in comp["layers"]:
        for kind, pe in layer["pe"].items():
            n_sub = comp["area"]["pe"][kind]["subarrays"][0]
            for key, mode, width in (("input_bus", BusMode.HORIZONTAL, p.numRowSubArray),
                                     ("output_bus", BusMode.VERTICAL, p.numColSubArray)):
                bus = Bus(ctx)
                bus.initialize(mode, n_sub, n_sub, 0, width, h, w, p.clkFreq)
                bus.calculate_area(1, True)
                assert bus.area == 0.0          # laid over the sub-arrays
                bus.clk_freq = clk
                bus.calculate_latency(1.0)
                per_transfer = bus.read_latency
                assert per_transfer == 1.0
                ref = pe["components"][key]
                transfers = ref["read_latency"]["per_evaluation_cycles"] / per_transfer
                bits = width if key == "input_bus" else n_sub * width
                bus.calculate_latency(transfers)
                bus.calculate_power(bits, transfers, key == "input_bus")
                assert rel(bus.read_latency, ref["read_latency"]["per_evaluation_cycles"]) < REL
                assert rel(bus.read_dynamic_energy, ref["read_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
                assert rel(bus.leakage, ref["leakage"]["value_uW"] * UW) < REL
                checked += 1
    assert checked == 8


def test_pe_bus_transfers_follow_neurosim_formula():
    """Novel-mapped layer of small_default: 32 rows x 512 vectors / 128 = 128 input
    transfers; 64 weights x (2 adder stages + 21 bits) x 64 / (4 x 128) = 184 outputs."""
    _, comp, _, _ = load("small_default")
    pe = comp["layers"][1]["pe"]["novel_mapped"]["components"]
    assert pe["input_bus"]["read_latency"]["per_evaluation_cycles"] == 32 * 512 / 128
    assert pe["output_bus"]["read_latency"]["per_evaluation_cycles"] == 64 * (2 + 21) * 64 / (4 * 128)


def test_bus_geometry_and_array_arguments():
    ctx, comp, _, _ = load("small_default")
    p = ctx.param
    bus = Bus(ctx)
    bus.initialize("vertical", 4, 3, 0, 128, 70e-6, 90e-6, 1e9)
    assert bus.mode is BusMode.VERTICAL and bus.wire_length == pytest.approx(3 * 70e-6)
    bus.calculate_area(2, False)
    assert bus.area == pytest.approx(4 * bus.wire_length * 128 * bus.w_inv / 2)
    n = np.array([1.0, 2.0, 10.0])
    bus.calculate_latency(n)
    bus.calculate_power(128, n, False)
    assert bus.read_latency.shape == (3,) and np.allclose(bus.read_latency, bus.read_latency[0] * n)
    assert np.allclose(bus.read_dynamic_energy, bus.read_dynamic_energy[0] * n, rtol=1e-12)
    # a one-column horizontal bus has no wire at all
    flat = Bus(ctx)
    flat.initialize(BusMode.HORIZONTAL, 4, 1, 0, 128, 70e-6, 90e-6, 1e9)
    flat.calculate_latency(5)
    flat.calculate_power(128, 5, True)
    assert flat.read_latency == 0 and flat.read_dynamic_energy == 0 and flat.leakage == 0


def test_repeater_relaxation_trades_delay_for_energy():
    ctx, _, _, _ = load("small_default")
    r = float(ctx.param.unitLengthWireResistance)
    fast = size_repeaters(ctx.tech, r, 0.0, "halve")
    for relax in ("halve", "step"):
        slow = size_repeaters(ctx.tech, r, 0.1, relax)
        assert 1 <= slow.size < fast.size and slow.min_dist < fast.min_dist
    assert fast.size == 77 and size_repeaters(ctx.tech, r, 0.1, "halve").size == 38


# ------------------------------------------------------------------ tile: buffers and H-tree

@pytest.mark.parametrize("case", COMPONENT_CASES)
@pytest.mark.parametrize("kind", ["novel_mapped", "conventional"])
def test_tile_areas_match_components(case, kind):
    _, comp, _, _ = load(case)
    ta = comp["area"]["tile"][kind]
    bin_, bout, n_in, n_out, tree = tile_parts(case, kind)
    ref = ta["components"]
    assert (n_in, n_out) == (ta["input_buffer_cores"], ta["output_buffer_cores"])
    assert tree.bus_width == ta["htree_bus_width"]
    assert rel(bin_.area * n_in, ref["input_buffer"]["area_um2"] * U * U) < REL
    assert rel(bin_.height, ref["input_buffer"]["height_um"] * U) < REL
    assert rel(bin_.width, ref["input_buffer"]["width_um"] * U) < REL
    assert rel(bout.area * n_out, ref["output_buffer"]["area_um2"] * U * U) < REL
    assert rel(bout.height, ref["output_buffer"]["height_um"] * U) < REL
    assert rel(bout.width, ref["output_buffer"]["width_um"] * U) < REL
    assert rel(tree.area, ref["htree"]["area_um2"] * U * U) < REL


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_tile_buffers_and_htree_per_call(case):
    ctx, comp, _, _ = load(case)
    p = ctx.param
    checked = 0
    for layer in comp["layers"]:
        info = layer["info"]
        for kind, tv in layer["tile"].items():
            if kind.startswith("totals"):
                continue
            ta, pe = comp["area"]["tile"][kind], comp["area"]["pe"][kind]
            bin_, bout, n_in, n_out, tree = tile_parts(case, kind)
            ref = tv["components"]
            npe = ta["numPE"]
            # weight rows one tile call holds (the layer's rows split evenly over its tile
            # rows in these cases, so every call of the layer is alike)
            capacity = ta["peSize"] * (npe if kind == "novel_mapped" else math.sqrt(npe))
            tile_rows = min(capacity, info["weightMatrixRow"])
            assert info["weightMatrixRow"] % tile_rows == 0
            bits_out = tile_rows * info["numInVector"] * p.numBitInput
            if kind == "novel_mapped":
                bits_out /= math.sqrt(npe)
            par_in = min(n_in, math.ceil(tree.bus_width / bin_.interface_width))
            par_out = min(n_out, math.ceil(tree.bus_width / bout.interface_width))
            lines_back = ref["output_buffer"]["read_latency"]["per_evaluation_cycles"] * par_out
            bits_back = lines_back * 2 * bout.interface_width
            for buf, bits, par, key in ((bin_, bits_out, par_in, "input_buffer"),
                                        (bout, bits_back, par_out, "output_buffer")):
                lines = bits / buf.interface_width / 2.0
                iw = buf.interface_width
                buf.calculate_latency(iw, lines, iw, lines)
                buf.calculate_power(iw, lines, iw, lines)
                r = ref[key]
                assert rel(buf.read_latency / par, r["read_latency"]["per_evaluation_cycles"]) < REL
                assert rel(buf.write_latency / par, r["write_latency"]["per_evaluation_cycles"]) < REL
                assert rel(buf.read_dynamic_energy, r["read_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
                assert rel(buf.write_dynamic_energy, r["write_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
                assert rel(buf.leakage, r["leakage"]["value_uW"] * UW) < REL
            at = (0, 0, 1, 1) if kind == "novel_mapped" else (0, 0, 0, 0)
            ph, pw = pe["height_um"] * U, pe["width_um"] * U
            tree.calculate_latency(*at, ph, pw, (bits_out + bits_back) / tree.bus_width)
            tree.calculate_power(*at, ph, pw, tree.bus_width,
                                 (bits_out * p.inputtoggle + bits_back * p.outputtoggle) / tree.bus_width)
            r = ref["htree"]
            assert rel(tree.read_latency, r["read_latency"]["per_evaluation_cycles"]) < REL
            assert rel(tree.read_dynamic_energy, r["read_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
            assert rel(tree.leakage, r["leakage"]["value_uW"] * UW) < REL
            checked += 1
    assert checked == 4


# ------------------------------------------------------------------ chip: global buffer, X-Y bus

@functools.lru_cache(maxsize=None)
def chip_parts(case: str):
    ctx, comp, _, _ = load(case)
    p = ctx.param
    ch = comp["area"]["chip"]
    rows, cols = chip_grid(comp)
    unit_h = max(ch["nm_tile_height_um"], ch["cm_tile_height_um"]) * U
    unit_w = max(ch["nm_tile_width_um"], ch["cm_tile_width_um"]) * U
    gbuf = Buffer(ctx)
    gbuf.initialize(p.globalBufferCoreSizeRow * p.globalBufferCoreSizeCol, p.globalBufferCoreSizeCol, 1,
                    p.unitLengthWireResistance, p.clkFreq, p.globalBufferType)
    gbuf.calculate_area(rows * unit_h, None, AreaModify.NONE)
    xy = XYBus(ctx)
    xy.initialize(rows, cols, p.globalBusDelayTolerance, ch["global_bus_width"], p.clkFreq)
    xy.calculate_area(unit_h, unit_w, p.treeFoldedRatio)
    xy.clk_freq = comp["clock"]["clk_freq_Hz"]
    return gbuf, xy, rows, cols


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_chip_areas_match_components(case):
    _, comp, _, _ = load(case)
    ch = comp["area"]["chip"]
    gbuf, xy, rows, _ = chip_parts(case)
    assert rows == ch["numTileRow"] and gbuf.interface_width == ch["global_buffer_interface_width"]
    one = ch["components"]["global_buffer_one_core"]
    assert rel(gbuf.area, one["area_um2"] * U * U) < REL
    assert rel(gbuf.height, one["height_um"] * U) < REL and rel(gbuf.width, one["width_um"] * U) < REL
    assert rel(gbuf.area * ch["global_buffer_cores"], ch["global_buffer_area_all_cores_um2"] * U * U) < REL
    assert rel(xy.area, ch["components"]["global_xy_bus"]["area_um2"] * U * U) < REL


@pytest.mark.parametrize("case", COMPONENT_CASES)
def test_chip_buffer_and_xy_bus_per_layer(case):
    ctx, comp, _, net = load(case)
    p = ctx.param
    ch = comp["area"]["chip"]
    gbuf, xy, _, _ = chip_parts(case)
    total = sum(L["info"]["tiles"][0] * L["info"]["tiles"][1] for L in comp["layers"])
    t_rows = math.ceil(math.sqrt(total))
    t_cols = math.ceil(total / t_rows)
    parallel = min(ch["global_buffer_cores"], math.ceil(ch["global_bus_width"] / gbuf.interface_width))
    for i, layer in enumerate(comp["layers"]):
        out, back = chip_bits(p, layer, net[i])
        tiles = layer["info"]["tiles"]
        th, tw = tile_dims(comp, layer["mapping"].startswith("novel"))
        iw = gbuf.interface_width
        gbuf.calculate_latency(iw, out / iw, iw, back / iw)
        gbuf.calculate_power(iw, out / iw, iw, back / iw)
        r = layer["chip_level"]["global_buffer"]
        assert rel(gbuf.read_latency / parallel, r["read_latency"]["per_evaluation_cycles"]) < REL
        assert rel(gbuf.write_latency / parallel, r["write_latency"]["per_evaluation_cycles"]) < REL
        assert rel(gbuf.read_dynamic_energy, r["read_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
        assert rel(gbuf.write_dynamic_energy, r["write_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
        assert rel(gbuf.leakage, r["leakage"]["value_uW"] * UW) < REL
        x_end, y_init = math.ceil(t_cols / 2), math.ceil(t_rows / 2)
        xy.calculate_latency(x_end, y_init, th, tw,
                             math.ceil(out / xy.bus_width * t_rows / tiles[0]),
                             math.ceil(back / xy.bus_width * t_cols / tiles[1]))
        xy.calculate_power(x_end, y_init, th, tw, out * p.inputtoggle, back * p.outputtoggle)
        r = layer["chip_level"]["global_xy_bus"]
        assert rel(xy.read_latency, r["read_latency"]["per_evaluation_cycles"]) < REL
        assert rel(xy.read_dynamic_energy, r["read_dynamic_energy"]["per_evaluation_pJ"] * PJ) < REL
        assert rel(xy.leakage, r["leakage"]["value_uW"] * UW) < REL


def test_xy_bus_needs_area_first_and_clamps_one_row_grids():
    ctx, _, _, _ = load("small_default")
    xy = XYBus(ctx)
    xy.initialize(1, 1, 0.1, 1024, 1e9)
    with pytest.raises(RuntimeError):
        xy.calculate_latency(1, 1, 1e-3, 1e-3, 1, 1)
    xy.calculate_area(1e-3, 1e-3, 4)
    # one tile row: the Y run from row 1 to the last row would be negative in NeuroSim
    xy.calculate_latency(1, 1, 1e-3, 1e-3, 3, 3)
    xy.calculate_power(1, 1, 1e-3, 1e-3, 100.0, 100.0)
    assert xy.read_dynamic_energy > 0 and xy.leakage > 0
    assert xy.read_latency_output == 0 and xy.total_wire_length == pytest.approx(1e-3)


# ------------------------------------------------------------------ global H-tree (small_htree)

def test_global_htree_matches_small_htree_results():
    """small_htree differs from small_default only by the chip-level H-tree, so its
    interconnect area / per-layer ic latency and energy minus small_default's (with the
    X-Y bus put back from components.json) isolate the global H-tree."""
    ctx, _, res_h, net = load("small_htree")
    _, comp, res_d, _ = load("small_default")
    p = ctx.param
    assert p.globalBusType
    ch = comp["area"]["chip"]
    rows, cols = chip_grid(comp)
    tree = HTree(ctx)
    tree.initialize(rows, cols, p.globalBusDelayTolerance, ch["global_bus_width"], p.clkFreq)
    tree.calculate_area(max(ch["nm_tile_height_um"], ch["cm_tile_height_um"]) * U,
                        max(ch["nm_tile_width_um"], ch["cm_tile_width_um"]) * U, p.treeFoldedRatio)
    ref_area = res_h["chip"]["ic_area_um2"] - res_d["chip"]["ic_area_um2"] + ch["components"]["global_xy_bus"]["area_um2"]
    assert rel(tree.area, ref_area * U * U) < REL
    clk_period = res_h["clk_period_s"]
    tree.clk_freq = min(p.clkFreq, 1 / clk_period)
    total = sum(L["info"]["tiles"][0] * L["info"]["tiles"][1] for L in comp["layers"])
    placed = 0
    for i, layer in enumerate(comp["layers"]):
        out, back = chip_bits(p, layer, net[i])
        tiles = layer["info"]["tiles"][0] * layer["info"]["tiles"][1]
        if i:
            placed += tiles
        x, y = placed // rows, placed % rows
        th, tw = tile_dims(comp, layer["mapping"].startswith("novel"))
        width = math.ceil(tree.bus_width * (tiles / total))
        tree.calculate_latency(0, 0, x, y, th, tw, math.ceil((out + back) / width))
        tree.calculate_power(0, 0, x, y, th, tw, width,
                             math.ceil(out * p.inputtoggle / width) + math.ceil(back * p.outputtoggle / width))
        xy_ref = layer["chip_level"]["global_xy_bus"]
        ref_lat = ((res_h["layers"][i]["ic_latency_ns"] - res_d["layers"][i]["ic_latency_ns"]) * 1e-9 / clk_period
                   + xy_ref["read_latency"]["per_evaluation_cycles"])
        ref_e = (res_h["layers"][i]["ic_read_dynamic_energy_pJ"] - res_d["layers"][i]["ic_read_dynamic_energy_pJ"]
                 + xy_ref["read_dynamic_energy"]["per_evaluation_pJ"])
        assert tree.read_latency == pytest.approx(ref_lat, abs=1e-6)
        assert rel(tree.read_dynamic_energy, ref_e * PJ) < 1e-9
        assert np.isfinite(tree.leakage) and tree.leakage > 0
        assert 0 < tree.critical_latency <= tree.read_latency


def test_htree_geometry_edge_cases():
    ctx, _, _, _ = load("small_default")
    one = HTree(ctx)
    one.initialize(1, 1, 0.1, 256, 1e9)
    assert one.num_stage == 1 and one.num_row == 1
    one.calculate_area(1e-4, 1e-4, 4)
    one.calculate_latency(0, 0, 0, 0, 1e-4, 1e-4, 7)
    one.calculate_power(0, 0, 0, 0, 1e-4, 1e-4, 256, 7)
    assert one.area == 0 and one.read_latency == 0 and one.read_dynamic_energy == 0
    tree = HTree(ctx)
    tree.initialize(3, 5, 0.1, 256, 1e9)     # grid padded to 8 x 8
    assert tree.num_row == tree.num_col == 8 and tree.num_stage == 7
    tree.calculate_area(1e-4, 1e-4, 4)
    tree.calculate_latency(0, 0, 3, 3, 1e-4, 1e-4, np.array([1.0, 4.0]))
    root = tree.read_latency
    assert root.shape == (2,) and root[1] == 4 * root[0]
    # leaf-to-leaf transfers (not used by the V1.4 flow) stay below the root path
    tree.calculate_latency(1, 1, 6, 6, 1e-4, 1e-4, 1)
    tree.calculate_power(1, 1, 6, 6, 1e-4, 1e-4, 256, 1)
    assert 0 < tree.read_latency <= root[0] and tree.read_dynamic_energy > 0


# ------------------------------------------------------------------ SRAM buffers (small_sram_buffers)

def test_sram_buffers_match_small_sram_buffers_results():
    """small_sram_buffers has SRAM tile and global buffers and otherwise small_default's
    set-up and data movement. Per layer, its printed buffer energy minus small_default's,
    plus small_default's register-file tile/global buffer energies (components.json), is
    the SRAM buffers' energy. The SRAM tile-buffer core area is checked through the X-Y
    bus area, which scales with the novel-mapped tile's side."""
    ctx, _, res_s, _ = load("small_sram_buffers")
    _, comp, res_d, _ = load("small_default")
    p = ctx.param
    assert p.peBufferType and p.globalBufferType
    gbuf = Buffer(ctx)
    gbuf.initialize(p.globalBufferCoreSizeRow * p.globalBufferCoreSizeCol, p.globalBufferCoreSizeCol, 1,
                    p.unitLengthWireResistance, p.clkFreq, True)
    gbuf.calculate_area(1e-3, None, AreaModify.NONE)
    gbuf_rf, _, _, _ = chip_parts("small_default")
    tiles = {}
    for kind in ("novel_mapped", "conventional"):
        ta, pe = comp["area"]["tile"][kind], comp["area"]["pe"][kind]
        in_args, out_args, n_in, n_out = tile_buffer_setup(p, kind, ta)
        side = math.ceil(math.sqrt(ta["numPE"]))
        bi, bo = Buffer(ctx), Buffer(ctx)
        bi.initialize(*in_args, 1, p.unitLengthWireResistance, p.clkFreq, True)
        bo.initialize(*out_args, 1, p.unitLengthWireResistance, p.clkFreq, True)
        bi.calculate_area(side * pe["height_um"] * U, None, AreaModify.NONE)
        bo.calculate_area(None, side * pe["width_um"] * U, AreaModify.NONE)
        tiles[kind] = (bi, bo, n_in, n_out)
        for b in (bi, bo):
            assert b.sram and 0 < b.area < 1e-8 and np.isfinite(b.height * b.width)
    for i, layer in enumerate(comp["layers"]):
        ref = res_s["layers"][i]["buffer_read_dynamic_energy_pJ"] - res_d["layers"][i]["buffer_read_dynamic_energy_pJ"]
        mine = 0.0
        for kind, tv in layer["tile"].items():
            if kind.startswith("totals"):
                continue
            bi, bo, n_in, n_out = tiles[kind]
            _, bo_rf, _, _, tree = tile_parts("small_default", kind)
            bi_rf = tile_parts("small_default", kind)[0]
            for b, b_rf, n, key in ((bi, bi_rf, n_in, "input_buffer"), (bo, bo_rf, n_out, "output_buffer")):
                r = tv["components"][key]
                ref += r["read_dynamic_energy"]["per_evaluation_pJ"] + r["write_dynamic_energy"]["per_evaluation_pJ"]
                lines = r["read_latency"]["per_evaluation_cycles"] * min(n, math.ceil(tree.bus_width / b_rf.interface_width))
                assert b.interface_width == b_rf.interface_width
                b.calculate_power(b.interface_width, lines, b.interface_width, lines)
                mine += b.read_dynamic_energy + b.write_dynamic_energy
        r = layer["chip_level"]["global_buffer"]
        ref += r["read_dynamic_energy"]["per_evaluation_pJ"] + r["write_dynamic_energy"]["per_evaluation_pJ"]
        par = min(comp["area"]["chip"]["global_buffer_cores"],
                  math.ceil(comp["area"]["chip"]["global_bus_width"] / gbuf.interface_width))
        gbuf.calculate_power(gbuf.interface_width, r["read_latency"]["per_evaluation_cycles"] * par,
                             gbuf.interface_width, r["write_latency"]["per_evaluation_cycles"] * par)
        mine += gbuf.read_dynamic_energy + gbuf.write_dynamic_energy
        assert rel(mine, ref * PJ) < 1e-9
    # SRAM core area: the X-Y bus area is linear in the (square) novel-mapped tile's side
    ch = comp["area"]["chip"]
    xy_area = res_s["chip"]["ic_area_um2"] - res_d["chip"]["ic_area_um2"] + ch["components"]["global_xy_bus"]["area_um2"]
    rows, cols = chip_grid(comp)
    xy = XYBus(ctx)
    xy.initialize(rows, cols, p.globalBusDelayTolerance, ch["global_bus_width"], p.clkFreq)
    xy.calculate_area(1.0, 1.0, p.treeFoldedRatio)
    nm_side = xy_area * U * U / xy.area
    nm = comp["area"]["tile"]["novel_mapped"]
    bi, bo, n_in, n_out = tiles["novel_mapped"]
    rf_in, rf_out = tile_parts("small_default", "novel_mapped")[:2]
    predicted = (nm["area_um2"] * U * U - n_in * (rf_in.area - bi.area) - n_out * (rf_out.area - bo.area))
    assert rel(nm_side ** 2, predicted) < 1e-9
    assert gbuf.area < gbuf_rf.area   # an SRAM core is denser than registers


# ------------------------------------------------------------------ asynchronous mode (small_async)

def test_asynchronous_interconnect_latency_matches_small_async():
    """With `synchronous = false` latencies are in seconds. NeuroSim's ic latency of the
    novel-mapped layer = (PE input + output bus) / speed-up 4 + tile H-tree + X-Y bus."""
    ctx, _, res_a, _ = load("small_async")
    _, comp, _, _ = load("small_default")
    p = ctx.param
    assert not p.synchronous
    sub = comp["area"]["subarray"]["total"]
    h, w = sub["height_um"] * U, sub["width_um"] * U
    lat = 0.0
    for mode, width, transfers in ((BusMode.HORIZONTAL, 128, 128), (BusMode.VERTICAL, 128, 184)):
        bus = Bus(ctx)
        bus.initialize(mode, 4, 4, 0, width, h, w, p.clkFreq)
        bus.calculate_area(1, True)
        bus.calculate_latency(transfers)
        lat += bus.read_latency / 4
    ta, pe = comp["area"]["tile"]["novel_mapped"], comp["area"]["pe"]["novel_mapped"]
    tree = HTree(ctx)
    tree.initialize(5, 5, p.localBusDelayTolerance, ta["htree_bus_width"], p.clkFreq)
    tree.calculate_area(pe["height_um"] * U, pe["width_um"] * U, 16)
    tree.calculate_latency(0, 0, 1, 1, pe["height_um"] * U, pe["width_um"] * U, (81920 + 122880) / tree.bus_width)
    lat += tree.read_latency
    ch = comp["area"]["chip"]
    xy = XYBus(ctx)
    xy.initialize(2, 2, p.globalBusDelayTolerance, ch["global_bus_width"], p.clkFreq)
    th, tw = tile_dims(comp, True)
    xy.calculate_area(th, tw, p.treeFoldedRatio)
    out, back = 800 * 8 * 64 / 5, 64 * 8 * 64 / 4
    xy.calculate_latency(1, 1, th, tw, math.ceil(out / xy.bus_width * 2), math.ceil(back / xy.bus_width * 2))
    lat += xy.read_latency
    assert rel(lat, res_a["layers"][1]["ic_latency_ns"] * 1e-9) < 1e-9


@pytest.mark.parametrize("sram", [False, True])
def test_asynchronous_buffers_are_finite(sram):
    """NeuroSim's asynchronous register-file branch divides by zero (inf latency); here
    both buffer kinds give finite, positive latencies in seconds, proportional to the
    lines accessed."""
    ctx, _, _, _ = load("small_async")
    buf = Buffer(ctx)
    buf.initialize(1024, 32, 1, ctx.param.unitLengthWireResistance, ctx.param.clkFreq, sram)
    buf.calculate_area(1e-4, None, AreaModify.NONE)
    n = np.array([1.0, 32.0])
    buf.calculate_latency(32, n, 32, n)
    buf.calculate_power(32, n, 32, n)
    for x in (buf.read_latency, buf.write_latency, buf.read_dynamic_energy, buf.write_dynamic_energy):
        assert np.all(np.isfinite(x)) and np.all(x > 0) and x[1] == pytest.approx(32 * x[0])
    assert buf.read_latency[0] < 1e-8 and buf.leakage > 0
    if not sram:
        # at least half a clock period per line
        assert buf.read_latency[0] >= 0.5 / ctx.param.clkFreq


def test_buffer_area_needs_a_side_and_layout_modes():
    ctx, _, _, _ = load("small_default")
    buf = Buffer(ctx)
    buf.initialize(1024.7, 32.9, 1, ctx.param.unitLengthWireResistance, 1e9, False)
    assert (buf.num_bit, buf.interface_width, buf.num_row) == (1024, 32, 32)   # int arguments
    with pytest.raises(ValueError):
        buf.calculate_area(None, None, AreaModify.NONE)
    buf.calculate_area(None, 50e-6, AreaModify.NONE)
    area = buf.area
    assert buf.width == 50e-6 and buf.height == pytest.approx(area / 50e-6)
    buf.calculate_area(20e-6, None, AreaModify.MAGIC)
    assert buf.area == area and buf.height == 20e-6
    buf.calculate_area(20e-6, 30e-6, AreaModify.OVERRIDE)
    assert buf.area == pytest.approx(600e-12)


# ------------------------------------------------------------------ every reference configuration

@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir() if (p / "config.json").exists()))
def test_every_reference_configuration_gives_finite_figures(case):
    """All four circuits build and give finite, non-negative figures for every reference
    case's parameters (nodes 65/22/7 nm, LSTP/HP, synchronous or not)."""
    ctx = load(case)[0]
    p = ctx.param
    bus = Bus(ctx)
    bus.initialize(BusMode.VERTICAL, 4, 4, 0, 128, 70e-6, 90e-6, p.clkFreq)
    bus.calculate_area(1, True)
    bus.calculate_latency(10)
    bus.calculate_power(512, 10, False)
    tree = HTree(ctx)
    tree.initialize(5, 5, p.localBusDelayTolerance, 12800, p.clkFreq)
    tree.calculate_area(3e-4, 3e-4, 16)
    tree.calculate_latency(0, 0, 1, 1, 3e-4, 3e-4, 10)
    tree.calculate_power(0, 0, 1, 1, 3e-4, 3e-4, 12800, 10)
    xy = XYBus(ctx)
    xy.initialize(2, 2, p.globalBusDelayTolerance, 1584, p.clkFreq)
    xy.calculate_area(2e-3, 2e-3, p.treeFoldedRatio)
    xy.calculate_latency(1, 1, 2e-3, 2e-3, 10, 10)
    xy.calculate_power(1, 1, 2e-3, 2e-3, 1e4, 1e4)
    figures = [bus.read_latency, bus.read_dynamic_energy, bus.leakage,
               tree.area, tree.read_latency, tree.read_dynamic_energy, tree.leakage,
               xy.area, xy.read_latency, xy.read_dynamic_energy, xy.leakage]
    for sram in (False, True):
        buf = Buffer(ctx)
        buf.initialize(16384, 128, 1, p.unitLengthWireResistance, p.clkFreq, sram)
        buf.calculate_area(4e-3, None, AreaModify.NONE)
        buf.calculate_latency(128, 100, 128, 30)
        buf.calculate_power(128, 100, 128, 30)
        figures += [buf.area, buf.read_latency, buf.write_latency, buf.read_dynamic_energy,
                    buf.write_dynamic_energy, buf.leakage]
        assert buf.read_dynamic_energy > 0 and buf.leakage > 0
    assert all(np.isfinite(f) and f >= 0 for f in figures)
    assert tree.area > 0 and xy.area > 0 and bus.read_dynamic_energy > 0
