"""Stage 2: chip area, latency and energy of a network on a compute-in-memory chip, from the
per-layer traces of stage 1 (or a DNN+NeuroSim V1.4 trace folder), with the numbers of
DNN+NeuroSim V1.4's estimator.

    python Chip.py                                   # the stage-1 traces written last here
    python Chip.py --traces DIR [--network FILE] [--preset NAME] [--config FILE]
                   [--set NAME=VALUE ...] [--json OUT] [--csv OUT] [--plots DIR]
                   [--old-traces DIR]

The command line also prices programming the weights (programming.py): from the erased
state, or from the weights of `--old-traces` (same network) to those of `--traces`.
On stage-1 traces it starts from the configuration recorded with them (resolve.py), and
its notes list the hardware settings `--preset`/`--config`/`--set` change from it.

Which traces: `--traces DIR`; else, when the settings name a model or an output folder
(`--set model=NAME`, `run.output_dir`), that model's `layer_record_<model>/`; else the
stage-1 trace folder in the working directory whose manifest.json was written last, i.e.
what the last `python inference_sim.py` run here wrote (named in one note line).

Flow (as the reference's main()): floor plan (floorplan.py) -> initialise the chip's
circuits -> area -> clock pass (synchronous mode: the slowest sensing cycle sets the
clock, capped at clkFreq) -> performance pass over the layers -> pipeline (latency = the
slowest layer) or layer-by-layer (latencies add) totals -> TOPS, TOPS/W, FPS, TOPS/mm^2.

The clock pass walks the chip structure as the reference does (its adder-tree calls leave
state the performance pass reads), but evaluates the sensing cycle on a probe only: the
first sub-array of each layer (the cycle depends on the circuit, not on the data, in the
modelled read modes). The traces are therefore swept once, by the performance pass. With
`estimate(..., verify_clock=True)` that pass also checks the cycle of every input vector
and, should one be longer, is repeated with that clock.

Where the reference prints inf/nan (RRAM sequential with cellBit 1, asynchronous mode),
the circuits used here give finite numbers (see the peripheral modules); this module adds
no division that can blow up (zero latencies give zero leakage shares, not NaN).
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    # The matrix products here are many and small: BLAS threads cost more than they save
    # (must be set before numpy is imported).
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import math
import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

import figures
from inferenceConfig import ConfigError, add_config_arguments, load_config

__all__ = ["Chip", "ChipEstimate", "estimate", "main"]


# ------------------------------------------------------------------------------------------
# The chip
# ------------------------------------------------------------------------------------------

@figures.carried_by((f.name for f in figures.FIGURES),
                    extra=("tile_leakage", "tile_leakage_sram_in_use"))
@dataclass
class LayerFigures:
    """Per-layer results in SI units (s, J, W) after the clock is applied: the figures of
    figures.FIGURES, and one tile's leakage (W) they are derived from."""
    read_latency: float
    read_dynamic_energy: float
    leakage_power: float
    leakage_energy: float
    buffer_latency: float
    buffer_dynamic_energy: float
    ic_latency: float
    ic_dynamic_energy: float
    latency_adc: float
    latency_accum: float
    latency_other: float
    energy_adc: float
    energy_accum: float
    energy_other: float
    tile_leakage: float = 0.0
    tile_leakage_sram_in_use: float = 0.0


@dataclass
class ChipEstimate:
    floorplan: Any
    area: dict[str, float]               # m^2 / m
    clk_period: float | None             # s (None: asynchronous)
    layers: list[LayerFigures]
    chip: dict[str, float]               # SI totals
    performance: dict[str, float]
    num_ops: float
    messages: list[str] = field(default_factory=list)
    runtime_s: float = 0.0
    stats: dict[str, Any] = field(default_factory=dict)
    programming: Any = None              # programming.ProgrammingCost (write cost), if priced
    operations: Any = None               # operations.OperationsCost (every operation), if listed
    config: dict[str, Any] | None = None     # the resolved configuration (results JSON)
    provenance: dict[str, Any] | None = None  # version, commit, traces and their hash


class Chip:
    """All circuits of the chip and the reference's chip-level procedures."""

    def __init__(self, param, network: list[list[int]]):
        from Array import SubArray
        from floorplan import plan_floor
        from peripherals.adder_tree import AdderTree
        from peripherals.base import Context
        from peripherals.bit_shifter import BitShifter
        from peripherals.buffer import Buffer
        from peripherals.htree import HTree
        from peripherals.max_pooling import MaxPooling
        from peripherals.xy_bus import XYBus
        from Tile import Tile

        if int(param.operationmode) not in (1, 2):
            raise ConfigError(f"invalid value for 'operationmode': {param.operationmode}. "
                              f"Valid: 1 (conventional sequential) or 2 (conventional parallel).")
        if bool(param.sync_data_transfer):
            raise ConfigError("invalid value for 'sync_data_transfer': True. Valid: false "
                              "(the synchronous data-transfer mode is not modelled).")
        self.param = param
        self.ctx = Context.from_param(param)
        self.network = [list(map(int, r)) for r in network]
        self.fp = plan_floor(self.network, param)
        self.tile = Tile(self.ctx, SubArray(self.ctx))
        self.global_buffer = Buffer(self.ctx)
        self.htree = HTree(self.ctx)
        self.xybus = XYBus(self.ctx)
        self.accumulation = AdderTree(self.ctx)
        self.relu = BitShifter(self.ctx)
        self._sigmoid = None
        self.max_pool = MaxPooling(self.ctx)
        self.global_bus_width = 0.0
        self.num_buffer_core = 0

    @property
    def sigmoid(self):
        if self._sigmoid is None:
            from peripherals.sigmoid import Sigmoid
            self._sigmoid = Sigmoid(self.ctx)
        return self._sigmoid

    # ---- ChipInitialize ---------------------------------------------------------------
    def initialize(self) -> None:
        p, fp = self.param, self.fp
        net = self.network
        L = len(net)
        ncm = int(p.numColMuxed)
        nbi = int(p.numBitInput)
        clk = float(p.clkFreq)
        R = int(p.numRowSubArray)
        tile_cm, pe_cm, pe_nm, num_pe_nm = fp.tile_size_cm, fp.pe_size_cm, fp.pe_size_nm, fp.num_pe_nm
        self.tile.initialize(num_pe_nm, pe_nm, math.ceil(tile_cm / pe_cm), pe_cm, fp.novel_mapping)

        max_layer_input = 0.0
        max_tile_added = 0.0
        bus = 0.0
        nm_side = math.ceil(math.sqrt(num_pe_nm)) if fp.novel_mapping else 0
        for i, row in enumerate(net):
            inputs = float(row[0]) * row[1] * row[2]
            per_tile = (pe_nm * nm_side + pe_nm * nm_side / ncm) if fp.mark_nm[i] \
                else (tile_cm + tile_cm / ncm)
            if not fp.pipeline:
                max_layer_input = max(max_layer_input, inputs)
                bus += per_tile
            else:
                max_layer_input += inputs / 2
                bus += per_tile * fp.num_tile_each_layer[0][i] * fp.num_tile_each_layer[1][i]
            max_tile_added = max(max_tile_added, fp.num_tile_each_layer[0][i])
        while bus > int(p.maxGlobalBusWidth):
            bus /= 2
        self.global_bus_width = bus
        self.max_tile_added = max_tile_added
        core = int(p.globalBufferCoreSizeRow) * int(p.globalBufferCoreSizeCol)
        buffer_size = int(nbi * max_layer_input)
        self.num_buffer_core = math.ceil(buffer_size / core)
        self.global_buffer.initialize(core, int(p.globalBufferCoreSizeCol), 1,
                                      float(p.unitLengthWireResistance), clk,
                                      bool(p.globalBufferType))
        self.max_pool.initialize(nbi, 4, int(max(tile_cm / ncm, pe_nm / ncm)), clk)
        if p.globalBusType:
            self.htree.initialize(fp.num_tile_row, fp.num_tile_col, float(p.globalBusDelayTolerance),
                                  bus, clk)
        else:
            self.xybus.initialize(fp.num_tile_row, fp.num_tile_col, float(p.globalBusDelayTolerance),
                                  bus, clk)

        from Tile import subarray_output_bits
        sub_bits = subarray_output_bits(p)
        if p.chipActivation:
            if fp.novel_mapping:
                throughput = int(max(tile_cm, math.ceil(pe_nm)))
                max_add = int(max(math.ceil(pe_cm / R), math.ceil(pe_nm / R)))
                max_add *= int(max(math.ceil(tile_cm / pe_cm), nm_side))
                if fp.pipeline:
                    throughput *= L + 1
                    max_add *= L + 1
            else:
                throughput = int(tile_cm)
                max_add = int(math.ceil(pe_cm / R)) * int(math.ceil(tile_cm / pe_cm))
                if fp.pipeline:
                    max_add *= L + 1
            width = int(sub_bits + math.ceil(math.log2(max_add)))
            self.accumulation.initialize(int(max_tile_added), width, math.ceil(throughput / ncm), clk)
            if p.reLu:
                self.relu.initialize(math.ceil(throughput / ncm), nbi, clk)
            else:
                self.sigmoid.initialize(bool(p.Activationtype), nbi,
                                        int(width + math.ceil(math.log2(max_tile_added))),
                                        math.ceil(throughput / ncm), clk)
        else:
            throughput = int(max(tile_cm, math.ceil(pe_nm))) if fp.novel_mapping else int(tile_cm)
            if fp.novel_mapping and fp.pipeline:
                throughput *= L + 1
            self.accumulation.initialize(int(max_tile_added), nbi, math.ceil(throughput / ncm), clk)

    # ---- ChipCalculateArea -----------------------------------------------------------
    def calculate_area(self) -> dict[str, Any]:
        from peripherals.base import AreaModify
        NONE = AreaModify.NONE
        from peripherals.base import AREA_CATEGORIES, AreaPart, sum_areas
        p, fp = self.param, self.fp
        nm_h = nm_w = cm_h = cm_w = 0.0
        nm_tile = None
        parts = []

        def tiles(name: str, tile: dict, n: int) -> AreaPart:
            return AreaPart(name, tile["area"] * n, {c: tile[c] * n for c in AREA_CATEGORIES})

        if fp.novel_mapping:
            nm_tile = self.tile.calculate_area(fp.num_pe_nm, fp.pe_size_nm, True)
            parts.append(tiles("nm_tiles", nm_tile, fp.num_tile_nm))
            nm_h, nm_w = nm_tile["height"], nm_tile["width"]
        cm_tile = self.tile.calculate_area(math.ceil(fp.tile_size_cm / fp.pe_size_cm) ** 2,
                                           fp.pe_size_cm, False)
        parts.append(tiles("cm_tiles", cm_tile, fp.num_tile_cm))
        cm_h, cm_w = cm_tile["height"], cm_tile["width"]

        gb_height = fp.num_tile_row * max(nm_h, cm_h)
        gb = self.global_buffer.calculate_area(gb_height, None, NONE)
        gb_area = gb.area * self.num_buffer_core
        gb_width = gb_area / gb_height
        bus_obj = self.htree if p.globalBusType else self.xybus
        bus = bus_obj.calculate_area(max(nm_h, cm_h), max(nm_w, cm_w), float(p.treeFoldedRatio))
        self.max_pool.calculate_unit_area(NONE)
        max_pool = self.max_pool.calculate_area(gb_width)
        accumulation = self.accumulation.calculate_area(None, gb_height / 3, NONE)
        act = 0.0
        layouts = {"global_buffer": gb, "global_bus": bus, "max_pool": max_pool,
                   "accumulation": accumulation}
        if p.chipActivation:
            if p.reLu:
                layouts["activation"] = self.relu.calculate_area(None, gb_width / 3, NONE)
            else:
                self.sigmoid.calculate_unit_area(NONE)
                layouts["activation"] = self.sigmoid.calculate_area(None, gb_width / 3, NONE)
            act = layouts["activation"].area
        # the chip's declared children
        out = sum_areas(parts + [
            AreaPart("global_bus", bus.area, {"ic": bus.area}),
            AreaPart("activation", act, {"other": act}),
            AreaPart("global_buffer", gb_area, {"other": gb_area}),
            AreaPart("max_pool", max_pool.area, {"other": max_pool.area}),
            AreaPart("global_accumulation", accumulation.area, {"accum": accumulation.area})])
        area = out["area"]
        return {
            **out, "height": math.sqrt(area), "width": area / math.sqrt(area),
            "nm_tile": nm_tile, "cm_tile": cm_tile,
            # (height, width) m of each tile kind, for the performance pass (layer_performance)
            "tile_hw": {"nm": (nm_h, nm_w), "cm": (cm_h, cm_w)},
            "global_buffer_height": gb_height, "global_buffer_width": gb_width, "layouts": layouts,
            "global_bus_width": self.global_bus_width, "global_buffer_cores": self.num_buffer_core,
        }

    # ---- ChipCalculatePerformance ----------------------------------------------------
    def layer_performance(self, layer: int, data, clock: bool, last_use: dict | None = None,
                          clk_freq: float | None = None, tile_hw: dict | None = None):
        """One layer (clock pass or performance pass). Latencies in cycles in synchronous
        mode. Returns a Tile.Perf whose leakage fields are one tile's leakage. `tile_hw`:
        the tiles' (height, width) by kind ("nm", "cm"), as `calculate_area()["tile_hw"]`
        returns them (the performance pass needs them for the global bus)."""
        if not clock and tile_hw is None:
            raise TypeError("Chip.layer_performance: the performance pass needs "
                            "tile_hw=calculate_area()['tile_hw']")
        clk = float(self.param.clkFreq) if clk_freq is None else float(clk_freq)   # working clock, Hz
        from Tile import Perf
        p, fp = self.param, self.fp
        net = self.network
        row = net[layer]
        rps, cps = int(p.numRowPerSynapse), int(p.numColPerSynapse)
        nbi = int(p.numBitInput)
        wmr = row[2] * row[3] * row[4] * rps
        wmc = row[5] * cps
        num_in_vector = int((row[0] - row[3] + 1) / row[7] * (row[1] - row[4] + 1) / row[7])
        n_vec = num_in_vector * nbi
        sp_r, sp_c = int(fp.speedup_each_layer[0][layer]), int(fp.speedup_each_layer[1][layer])
        total_tiles = int(sum(fp.num_tile_each_layer[0][i] * fp.num_tile_each_layer[1][i]
                              for i in range(len(net))))
        grid_row = math.ceil(math.sqrt(total_tiles))
        grid_col = math.ceil(total_tiles / grid_row)
        out = Perf()
        tile_perf = None
        self.tile.pe.new_layer()
        if not fp.mark_nm[layer]:
            tile = fp.tile_size_cm
            num_pe = math.ceil(tile / fp.pe_size_cm)
            for i in range(math.ceil(wmr / tile)):
                for j in range(math.ceil(wmc / tile)):
                    nr = int(min(tile, wmr - i * tile))
                    nc = int(min(tile, wmc - j * tile))
                    rows = np.arange(int(i * tile), int(i * tile) + nr)
                    tile_perf = self.tile.calculate_performance(
                        data, rows, int(j * tile), False, num_pe, fp.pe_size_cm, sp_r, sp_c,
                        nr, nc, n_vec, clock, last_use, clk)
                    out.add_parallel(tile_perf)
            unit_h, unit_w = tile_hw["cm"] if tile_hw else (0.0, 0.0)
        else:
            pe, num_pe = fp.pe_size_nm, fp.num_pe_nm
            c_in = row[2] * rps
            for i in range(math.ceil(c_in / pe)):
                for j in range(math.ceil(wmc / pe)):
                    nr = int(min(pe * num_pe, wmr - i * pe * num_pe))
                    nc = int(min(pe, wmc - j * pe))
                    per_pe = int(nr / num_pe)
                    rows = (np.arange(int(num_pe))[:, None] * c_in + int(i * pe)
                            + np.arange(per_pe)[None, :]).ravel()
                    tile_perf = self.tile.calculate_performance(
                        data, rows, int(j * pe), True, num_pe, pe, sp_r, sp_c, nr, nc, n_vec, clock, last_use,
                        clk)
                    out.add_parallel(tile_perf)
            unit_h, unit_w = tile_hw["nm"] if tile_hw else (0.0, 0.0)
        if clock:
            return out

        if p.chipActivation:
            if p.reLu:
                reads = math.ceil(num_in_vector * float(row[5]) / self.relu.num_unit)
                unit = self.relu.calculate_latency(reads, clk_freq=clk) + self.relu.calculate_power(reads)
            else:
                reads = math.ceil(num_in_vector * float(row[5]) / self.sigmoid.num_entry)
                unit = self.sigmoid.calculate_latency(reads, clk_freq=clk) + self.sigmoid.calculate_power(reads)
            out.charge("other", float(unit.latency), float(unit.dynamic_energy))
        tiles_r = fp.num_tile_each_layer[0][layer]
        tiles_c = fp.num_tile_each_layer[1][layer]
        if tiles_r > 1:
            acc = self.accumulation
            reads = math.ceil(wmc // cps * (num_in_vector / acc.num_adder_tree))
            acc_c = (acc.calculate_latency(reads, int(tiles_r), 0, clk_freq=clk)
                     + acc.calculate_power(reads, int(tiles_r)))
            out.charge("accum", float(acc_c.latency), float(acc_c.dynamic_energy))
        if row[6]:
            mp = self.max_pool
            reads = math.ceil((num_in_vector * wmc // cps / float(mp.window)) / mp.num_max_pooling)
            mp_c = mp.calculate_latency(1e20, 0, reads, clk_freq=clk) + mp.calculate_power(reads)
            out.charge("other", float(mp_c.latency), float(mp_c.dynamic_energy))
        bits_out = float(wmr * nbi * num_in_vector)
        if fp.mark_nm[layer]:
            bits_out /= row[3]
        bits_in = float((wmc // cps) * nbi * num_in_vector) / (4 if row[6] else 1)
        if p.globalBusType:
            ht = self.htree
            share = tiles_r * tiles_c / total_tiles
            lanes = math.ceil(ht.bus_width * share)
            bus_c = ht.calculate_latency(0, 0, int(fp.tile_loca_each_layer[0][layer]),
                                         int(fp.tile_loca_each_layer[1][layer]), unit_h, unit_w,
                                         math.ceil((bits_out + bits_in) / lanes), clk_freq=clk)
            bus_c += ht.calculate_power(0, 0, int(fp.tile_loca_each_layer[0][layer]),
                               int(fp.tile_loca_each_layer[1][layer]), unit_h, unit_w, lanes,
                               math.ceil(bits_out * float(p.inputtoggle) / lanes)
                               + math.ceil(bits_in * float(p.outputtoggle) / lanes))
        else:
            xb = self.xybus
            bus_c = xb.calculate_latency(math.ceil(grid_col / 2), math.ceil(grid_row / 2), unit_h, unit_w,
                                         math.ceil(bits_out / xb.bus_width * grid_row / tiles_r),
                                         math.ceil(bits_in / xb.bus_width * grid_col / tiles_c), clk_freq=clk)
            bus_c += xb.calculate_power(math.ceil(grid_col / 2), math.ceil(grid_row / 2), unit_h, unit_w,
                               bits_out * float(p.inputtoggle), bits_in * float(p.outputtoggle))
        gb = self.global_buffer
        iw = gb.interface_width
        gb_c = (gb.calculate_latency(iw, bits_out / iw, iw, bits_in / iw, clk_freq=clk)
                + gb.calculate_power(iw, bits_out / iw, iw, bits_in / iw))
        # multi-core buffer: cores work in parallel up to the global bus width
        div = min(self.num_buffer_core, math.ceil(self.global_bus_width / iw))
        gb_r = float(gb_c.latency) / div
        gb_w = float(gb_c.write_latency) / div
        bus_lat = float(bus_c.latency)
        bus_e = float(bus_c.dynamic_energy)
        gb_e = float(gb_c.dynamic_energy) + float(gb_c.write_dynamic_energy)
        out.buffer_latency += gb_r + gb_w
        out.ic_latency += bus_lat
        out.read_latency += gb_r + gb_w + bus_lat
        out.latency_other += gb_r + gb_w + bus_lat
        out.buffer_dynamic_energy += gb_e
        out.ic_dynamic_energy += bus_e
        out.read_dynamic_energy += gb_e + bus_e
        out.energy_other += gb_e + bus_e
        out.leakage = tile_perf.leakage
        out.leakage_sram_in_use = tile_perf.leakage_sram_in_use
        return out


# ------------------------------------------------------------------------------------------
# The whole estimate (main())
# ------------------------------------------------------------------------------------------

def _layer_data(trace, param, shared: dict | None = None):
    import cells
    from Array import readout_of
    from Tile import LayerData
    # the weights enter only through the column resistances, and only a read-out that
    # senses them (current-mode sense amp, SAR ADC) makes them count
    needs_weights = (cells.cell_for_code(int(param.memcelltype)).weights_matter
                     and readout_of(param).senses_column_resistance)
    data = LayerData(trace.input_bits, trace.weight_levels, param, needs_weights)
    data.shared = shared
    return data


def _safe_ratio(a: float, b: float) -> float:
    """a / b with 0/0 = 0 (an idle unit has no share of anything)."""
    if b == 0:
        return 0.0 if a == 0 else math.copysign(math.inf, a)
    return a / b


def estimate(param, traces, progress: Callable[[str, int, int], None] | None = None,
             verify_clock: bool = False, *, write_cost: bool = False,
             old_traces=None, reuse: dict | None = None) -> ChipEstimate:
    """Run the whole estimator on loaded traces (chip_traces.NetworkTraces).
    `verify_clock`: also evaluate the sensing cycle of every input vector of every
    sub-array in the performance pass (slower; the clock is re-derived if one is longer).
    `write_cost` (implied by `old_traces`): also price programming the weights
    (programming.py), from the erased state or from `old_traces` (same network).
    `reuse`: a dict kept by the caller across estimates on the same `traces` (api.Traces
    does): what depends on the traces only (the distinct input vectors of each block of
    rows) is computed once and found there by later estimates."""
    from floorplan import num_computation, performance_figures

    t0 = time.perf_counter()
    chip = Chip(param, traces.network)
    fp = chip.fp
    chip.initialize()
    area = chip.calculate_area()
    n_layers = len(traces.network)
    programming_job = None
    if write_cost or old_traces is not None:
        # priced on another core while the chip is estimated (it reads the traces and the
        # settings only, with circuits of its own)
        from parallel import Background
        from programming import program_network
        programming_job = Background(
            lambda: program_network(param, fp, traces, old_traces, ctx=chip.ctx))
    messages = list(fp.messages) + list(traces.notes)

    def data(i):
        shared = None if reuse is None else reuse.setdefault(i, {})
        return _layer_data(traces.layers[i], param, shared)

    # the leakage of the last exercise of the PE adder trees and tile accumulators, carried
    # through the calls of both passes in their order (Tile.LAST_USE: NeuroSim's reported
    # leakage of a layer that does not exercise them)
    last_use: dict = {}
    clk_period = None
    clk_freq = float(param.clkFreq)
    pe = chip.tile.pe
    pe.check_clock = bool(verify_clock and param.synchronous)
    if param.synchronous:
        clk_period = 0.0
        for i in range(n_layers):
            clk_period = max(clk_period, chip.layer_performance(i, data(i), True, last_use).sensing_cycle)
            if progress:
                progress("clock", i + 1, n_layers)
        if clk_freq > 1.0 / clk_period:
            clk_freq = 1.0 / clk_period

    def performance_pass(clk_freq):
        res = []
        for i in range(n_layers):
            res.append(chip.layer_performance(i, data(i), False, last_use, clk_freq,
                                              tile_hw=area["tile_hw"]))
            if progress:
                progress("layers", i + 1, n_layers)
        return res

    raw = performance_pass(clk_freq)
    seen = max((r.sensing_cycle for r in raw), default=0.0)   # with verify_clock, else 0
    if param.synchronous and seen > clk_period * (1 + 1e-12):
        messages.append("an input vector needs a longer sensing cycle than the clock probe "
                        "found; the performance pass was repeated with that clock")
        clk_period = seen
        clk_freq = min(float(param.clkFreq), 1.0 / clk_period)
        raw = performance_pass(clk_freq)

    scale = clk_period if param.synchronous else 1.0
    tiles = [fp.num_tile_each_layer[0][i] * fp.num_tile_each_layer[1][i] for i in range(n_layers)]
    layers: list[LayerFigures] = []
    for i, r in enumerate(raw):
        # latencies from clock cycles to s; the leakage figures follow below
        layers.append(LayerFigures(
            **{f.name: getattr(r, f.name) * scale if f.quantity == "latency" else getattr(r, f.name)
               for f in figures.CIRCUIT_FIGURES},
            leakage_power=0.0, leakage_energy=0.0,
            tile_leakage=r.leakage, tile_leakage_sram_in_use=r.leakage_sram_in_use))

    if not fp.pipeline:
        all_tiles = sum(tiles)
        for i, lf in enumerate(layers):
            others = all_tiles - tiles[i]
            lf.leakage_power = tiles[i] * lf.tile_leakage
            lf.leakage_energy = (others * lf.tile_leakage
                                 + tiles[i] * lf.tile_leakage_sram_in_use) * lf.read_latency
    else:
        system = 0.0
        for i, lf in enumerate(layers):
            # the reference averages each layer's leakage over the system cycle known when
            # the layer is processed (the running maximum), then charges it for the final one
            system = max(system, lf.read_latency)
            lf.leakage_power = tiles[i] * _safe_ratio(
                lf.tile_leakage * (system - lf.read_latency)
                + lf.tile_leakage_sram_in_use * lf.read_latency, system)
        for lf in layers:
            lf.leakage_energy = lf.leakage_power * system
    # chip totals: the layers of a pipeline work side by side, otherwise one after another
    tot = {f.name: 0.0 for f in figures.CHIP_FIGURES}
    for lf in layers:
        for f in figures.CHIP_FIGURES:
            tot[f.name] = figures.combine(f.quantity, tot[f.name], getattr(lf, f.name),
                                          side_by_side=fp.pipeline)

    n_ops = num_computation(traces.network)
    perf = performance_figures(n_ops, tot["read_latency"], tot["read_dynamic_energy"],
                               tot["leakage_energy"], area["area"], bool(param.validated),
                               float(param.zeta))
    perf["mode"] = "pipelined" if fp.pipeline else "layer-by-layer"
    stats = {"subarray_calls": pe.evaluations, "vector_evaluations": pe.vector_evaluations,
             "cache_hits": pe.cache_hits}
    programming = programming_job.result() if programming_job is not None else None
    return ChipEstimate(floorplan=fp, area=area, clk_period=clk_period, layers=layers,
                        chip=tot, performance=perf, num_ops=n_ops, messages=messages,
                        runtime_s=time.perf_counter() - t0, stats=stats,
                        programming=programming)


# ------------------------------------------------------------------------------------------
# Command line
# ------------------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        description="Stage 2: chip area, latency, energy, TOPS and TOPS/W of a network on a "
                    "compute-in-memory chip (DNN+NeuroSim V1.4's estimator; V1.5 with "
                    "--preset neurosim-1.5).",
        epilog="CIMSIM_MEMORY_BUDGET (e.g. 16G; default 4G) bounds the memory one input may "
               "claim; bad input gets one error line and exit status 2.")
    parser.add_argument("--traces", metavar="DIR", default=None,
                        help="trace folder: stage 1's layer_record_<model>/ (default: the "
                             "model set with --set model=NAME / --config, else the stage-1 "
                             "folder here written last), a DNN+NeuroSim folder (weight<k>.csv, "
                             "input<k>.csv), a DNN+NeuroSim V1.4 wrapper folder "
                             "(trace_command.sh + weightConv0_.csv ...) or a traces.npz")
    parser.add_argument("--network", metavar="FILE", default=None,
                        help="network CSV (8 columns per layer); default: from the traces")
    parser.add_argument("--trace-format", default="auto",
                        choices=["auto", "neurosim-1.4", "neurosim-1.5"],
                        help="input CSVs: NeuroSim V1.4 bit columns or V1.5 integer codes; "
                             "auto (default) tells them apart by the column count and "
                             "refuses what it cannot tell")
    parser.add_argument("--old-traces", metavar="DIR", default=None,
                        help="the weights the chip holds before programming (a trace folder of "
                             "the same network, e.g. before a fine-tune); default: the erased "
                             "state (every cell at its lowest conductance)")
    parser.add_argument("--image", type=int, default=0,
                        help="which traced image to use (stage-1 traces with several images)")
    parser.add_argument("--json", metavar="OUT", default=None,
                        help="write the results as strict JSON (non-finite numbers as null, "
                             "named in 'messages')")
    parser.add_argument("--csv", metavar="OUT", default=None, help="write the per-layer table as CSV")
    parser.add_argument("--plots", metavar="DIR", default=None,
                        help="write PNG plots of the area/latency/energy breakdowns")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_arguments(parser)
    return parser


def _progress_bar(quiet: bool):
    """A tqdm bar per stage (traces, clock, layers) on an interactive terminal."""
    if quiet or not sys.stderr.isatty():
        return None, lambda: None
    try:
        from tqdm import tqdm
    except ImportError:
        return None, lambda: None
    bars: dict[str, Any] = {}

    def update(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = tqdm(total=total or None, desc=stage, unit="layer", leave=False,
                                     file=sys.stderr)
        bar.n = done
        bar.refresh()

    def close() -> None:
        for bar in bars.values():
            bar.close()

    return update, close


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from chip_traces import TraceError, load_traces
    from outputs import RunOutputs, failure_exit
    from validation import InputError
    import report

    from resolve import choose_trace_folder, provenance, resolve_config

    try:
        cfg = load_config(args.preset, args.config, args.settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.list_settings:
        from inferenceConfig import config_from_args
        config_from_args(args)     # prints and exits
    try:
        # no --traces and no model/output folder set: the stage-1 folder written last here
        folder, picked = choose_trace_folder(args.traces, cfg, args.preset, args.config,
                                             args.settings)
        # stage 1's traces record their hardware: start from it (see resolve.py)
        cfg, notes = resolve_config(args.preset, args.config, args.settings, traces=folder)
        param = cfg.to_param()
        param.validate()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if picked:
        notes.insert(0, picked)                 # in the report's notes
        if not args.quiet and sys.stderr.isatty():
            print(f"note: {picked}", file=sys.stderr)   # at once, before a long estimate
    inputs = [folder, args.network, args.old_traces, args.config]
    update, close = _progress_bar(args.quiet)
    # the provenance (git commit, hash of the trace files) is formed on another core
    # while the traces are read and the chip estimated
    from parallel import Background
    from resolve import git_commit, trace_content_hash
    traces_hash = Background(lambda: (git_commit(), trace_content_hash(folder, args.network))[1])
    try:
        with RunOutputs(inputs) as out:
            # every output is reserved (checked writable, not an input) before the run
            staged_json = out.file(args.json, "--json") if args.json else None
            staged_csv = out.file(args.csv, "--csv") if args.csv else None
            staged_plots = out.files_in(args.plots, "--plots") if args.plots else None
            traces = load_traces(folder, args.network, int(param.synapseBit),
                                 int(param.numBitInput), float(param.algoWeightMin),
                                 float(param.algoWeightMax), args.image,
                                 progress=(lambda k: update("traces", k, 0)) if update else None,
                                 trace_format=args.trace_format)
            old = None
            if args.old_traces:
                from programming import check_same_network
                old = load_traces(args.old_traces, args.network, int(param.synapseBit),
                                  int(param.numBitInput), float(param.algoWeightMin),
                                  float(param.algoWeightMax), args.image,
                                  trace_format=args.trace_format)
                check_same_network(traces, old)
            result = _estimate_checked(param, traces, update, old)
            result.operations = _price_operations(param, cfg, result, folder, args.image)
            close()
            result.messages.extend(notes)
            result.config = cfg.to_dict()
            result.provenance = provenance(folder, traces_sha256=traces_hash.result(),
                                           network_file=args.network, old_traces=args.old_traces)
            text = report.text_report(result, param, cfg, traces)
            if staged_json:
                report.write_json(result, staged_json)
            if staged_csv:
                report.write_csv(result, staged_csv)
            if staged_plots:
                report.write_plots(result, staged_plots)
            out.commit()
    except (TraceError, ConfigError, InputError, OSError, MemoryError,
            KeyboardInterrupt) as exc:
        close()
        return failure_exit(exc)
    print(text)
    return 0


def _price_operations(param, cfg, result, folder, image):
    """Every operation of a stage-1 folder (operations.py), or None for traces without an
    operation list. The units those operations use join the chip's area and leakage."""
    from operations import add_units_to_chip, price_operations, read_operations
    from chip_traces import TraceError
    ops = read_operations(folder) if os.path.isdir(folder) else None
    if not ops:
        return None
    try:
        oc = price_operations(param, cfg, result, folder, ops, image)
    except ValueError as exc:
        raise TraceError(f"{folder}: {exc}") from None
    add_units_to_chip(result, oc)       # their area and leakage in the chip totals
    return oc


def _estimate_checked(param, traces, update, old):
    """estimate() with numerical warnings kept out of stderr (they go into the report's
    messages) and arithmetic failures turned into one error line."""
    import warnings
    with warnings.catch_warnings(record=True) as caught, np.errstate(all="warn"):
        warnings.simplefilter("always")
        try:
            result = estimate(param, traces, update, write_cost=True, old_traces=old)
        except (ZeroDivisionError, OverflowError, FloatingPointError) as exc:
            raise ConfigError(f"the settings make the chip model fail ({type(exc).__name__}: "
                              f"{str(exc)[:60]}); check the --set / --config values against "
                              f"`--list-settings`") from None
    seen = []
    for w in caught:
        text = f"numerical warning in the chip model: {str(w.message)[:80]}"
        if text not in seen:
            seen.append(text)
    result.messages.extend(seen[:5])
    return result


if __name__ == "__main__":
    sys.exit(main())
