"""H-tree interconnect: between the PEs of a tile, and optionally between the tiles of
the chip (`globalBusType = true`).

The tree over an N x N grid of units (N a power of two, at least the larger of the
grid's row and column counts) has log2(N) vertical and log2(N) horizontal levels; the
wire of each level is half as long as the one above it, and a "main bus" runs from the
grid edge to the centre. The wires are repeated (see `bus.size_repeaters`, halving
relaxation) with the node's array wire for the sizing; each level's latency then uses
the resistance of a wire sized for that level's length (wider wires for long levels,
`FormulaBindings.interconnect_wire`).

Units: area m^2, latency s (clock cycles in synchronous mode, see `calculate_latency`),
energy J, leakage W.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import Circuit, Cost, Layout
from .bus import _RepeatedWireMixin, _scalar_or_array, size_repeaters

__all__ = ["HTree"]


class HTree(_RepeatedWireMixin, Circuit):
    """Sizing attributes parents read: `bus_width` (bits), `num_stage`,
    `num_row`/`num_col` (the power-of-two grid side after initialize), `total_wire_length`
    (m, set by calculate_area, which lays the tree out), `clk_freq` (Hz, the clock it
    was sized with; calculate_latency takes the working clock), `min_dist`,
    `repeater_size`. The latency Cost has the part `critical_latency` (the latency in clock periods before rounding up, synchronous mode
    only); the power Cost the parts `unit_length_energy_rep` / `unit_length_energy_wire`.

    `calculate_area` must be called before `calculate_power` (the leakage uses the
    wire length it computes)."""

    def initialize(self, num_row: int, num_col: int, delay_tolerance: float,
                   bus_width: float, clk_freq: float) -> None:
        num_row, num_col = int(num_row), int(num_col)
        self.delay_tolerance = float(delay_tolerance)
        self.bus_width = float(bus_width)
        self.clk_freq = float(clk_freq)
        # one vertical and one horizontal level per halving of the grid, plus the main bus
        self.num_stage = 2 * math.ceil(math.log2(max(num_row, num_col))) + 1
        self.unit_length_wire_resistance = float(self.param.unitLengthWireResistance)
        self._set_repeaters(size_repeaters(self.tech, self.unit_length_wire_resistance,
                                           self.delay_tolerance, relax="halve"))
        self.num_levels = (self.num_stage - 1) // 2
        side = 2 ** self.num_levels
        self.num_row = self.num_col = side
        # centre of the grid in whole units, moved one unit back if it would sit on the
        # far edge (keeps the main bus inside the grid)
        x_center = int(side / 2.0)
        y_center = int(side / 2.0)
        if side - x_center < 1:
            x_center -= 1
        if side - y_center < 1:
            y_center -= 1
        self.x_center, self.y_center = x_center, y_center
        # main bus length in units: from the nearer grid edge to the centre
        self.main_bus_units = min(side - x_center, x_center)
        self.total_wire_length = 0.0
        self._area_done = False
        self.initialized = True

    def _level_resistance(self, length: float) -> float:
        # The reference writes `wireWidth, R = GetUnitLengthRes(length)`: the comma
        # operator keeps only the resistance. The width it drops matters only for a
        # zero-length level (no repeater), whose area is zero anyway.
        return fb.interconnect_wire(length, float(self.param.wireWidth), self.tech)[1]

    def calculate_area(self, unit_height: float, unit_width: float, folded_ratio: float) -> Layout:
        self._require_initialized()
        k = self.num_levels
        length_v = unit_height * 2 ** k / 2
        length_h = unit_width * 2 ** k / 2
        bus_v = bus_h = 0.0     # accumulated bundle width of the vertical/horizontal wires
        area = 0.0
        total = 0.0
        # Levels below the top one; the leaf level is taken to overlap the units.
        for _ in range(1, k):
            length_v /= 2
            if math.ceil(length_v / self.min_dist) > 0:
                bus_v += self.bus_width * self.w_inv / folded_ratio
            else:
                bus_v += self.bus_width * self._dropped_width(length_v) / folded_ratio
            area += bus_v * length_v / 2
            length_h /= 2
            if math.ceil(length_h / self.min_dist) > 0:
                bus_h += self.bus_width * self.h_inv / folded_ratio
            else:
                bus_h += self.bus_width * self._dropped_width(length_h) / folded_ratio
            area += bus_h * length_h / 2
            total += length_v + length_h
        main = self.main_bus_units * unit_width
        total += main
        area += (self.bus_width * self.h_inv / folded_ratio) * main
        out_area = area
        height = width = 0.0
        self.total_wire_length = total
        self._area_done = True
        return Layout(height=height, width=width, area=out_area)

    def _dropped_width(self, length: float) -> float:
        # width of a bare (unrepeated) level, in m; only reached for zero-length levels
        return fb.interconnect_wire(length, float(self.param.wireWidth), self.tech)[0] * 1e-9

    def calculate_latency(self, x_init: int, y_init: int, x_end: int, y_end: int,
                          unit_height: float, unit_width: float, num_read,
                          clk_freq: float | None = None) -> Cost:
        """Latency of `num_read` transfers between two grid positions. A transfer from
        or to the root (x, y) = (0, 0) crosses every level and the main bus (the only
        use in V1.4's tile and chip). In synchronous mode each transfer takes
        ceil(delay x clk_freq) cycles and `read_latency` is in cycles."""
        critical_latency = 0.0
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        k = self.num_levels
        length_v = unit_height * 2 ** k
        length_h = unit_width * 2 ** k
        latency = 0.0
        root = (not x_init and not y_init) or (not x_end and not y_end)
        if root:
            for _ in range(k):
                length_v /= 2
                latency += self._segment_latency(length_v, self._level_resistance(length_v))
                length_h /= 2
                latency += self._segment_latency(length_h, self._level_resistance(length_h))
            # the main bus uses the per-length delay of the last (leaf) level
            if self.main_bus_units:
                leaf_rep = self._unit_latency(self._level_resistance(length_h))[0] if k else 0.0
                latency += self.main_bus_units * unit_width * leaf_rep
        else:
            latency = self._leaf_to_leaf_latency(x_init, y_init, x_end, y_end, length_v, length_h)
        if self.param.synchronous:
            critical_latency = latency * clk
            latency = math.ceil(latency * clk)
        read_latency = _scalar_or_array(latency * np.asarray(num_read, float))
        return Cost(latency=read_latency, parts={"critical_latency": critical_latency})

    def _common_level(self, x_init, y_init, x_end, y_end):
        """Highest level at which the two units lie in different quadrants, and whether
        the vertical wire of that level can be skipped (same row of quadrants)."""
        k = self.num_levels
        level, skip_v = 0, False
        while level < k:
            span = 2 ** (k - level - 1) - 1
            dx, dy = abs(x_init - x_end), abs(y_init - y_end)
            if dx > span or dy > span:
                skip_v = dx < span and dy > span
                break
            level += 1
        return level, skip_v

    def _leaf_to_leaf_latency(self, x_init, y_init, x_end, y_end, length_v, length_h):
        # Not used by the V1.4 flow. The reference keeps the search state between calls
        # and reuses the per-length delay of an earlier call for the top level; here the
        # search restarts on every call and every level uses its own wire.
        k = self.num_levels
        level, skip_v = self._common_level(x_init, y_init, x_end, y_end)
        length_v /= 2 ** level
        length_h /= 2 ** level
        latency = self._segment_latency(length_h, self._level_resistance(length_h))
        if not skip_v:
            latency += self._segment_latency(length_v, self._level_resistance(length_v))
        for _ in range(level + 1, k):
            length_v /= 2
            latency += self._segment_latency(length_v, self._level_resistance(length_v))
            length_h /= 2
            latency += self._segment_latency(length_h, self._level_resistance(length_h))
        return latency

    def calculate_power(self, x_init: int, y_init: int, x_end: int, y_end: int,
                        unit_height: float, unit_width: float, num_bit_access, num_read) -> Cost:
        """Energy of `num_read` transfers of `num_bit_access` bits each (half-swing
        activity: each bit is assumed to toggle with probability 0.5; the callers fold the
        toggle rates into `num_read`). Leakage: the repeaters of the whole tree,
        `num_bit_access` bits wide."""
        self._require_initialized()
        if not self._area_done:
            raise RuntimeError("HTree: call calculate_area() before calculate_power()")
        nb = np.asarray(num_bit_access, float)
        leakage = _scalar_or_array(self.unit_length_leakage * self.total_wire_length * nb)
        unit_length_energy_rep = self._energy_rep_full * 0.5
        unit_length_energy_wire = self._energy_wire_full * 0.5
        e_rep, e_wire = unit_length_energy_rep, unit_length_energy_wire
        k = self.num_levels
        # Unlike the latency, the energy walk starts from half the top-level length, so
        # it counts each level at half the length the latency uses (as the reference).
        length_v = unit_height * 2 ** k / 2
        length_h = unit_width * 2 ** k / 2
        energy = 0.0
        root = (not x_init and not y_init) or (not x_end and not y_end)
        if root:
            for _ in range(k):
                length_v /= 2
                energy += self._segment_energy(length_v, e_rep, e_wire)
                length_h /= 2
                energy += self._segment_energy(length_h, e_rep, e_wire)
            energy += self.main_bus_units * unit_width * e_rep
        else:
            level, skip_v = self._common_level(x_init, y_init, x_end, y_end)
            length_v /= 2 ** level
            length_h /= 2 ** level
            energy += self._segment_energy(length_h, e_rep, e_wire)
            if not skip_v:
                energy += self._segment_energy(length_v, e_rep, e_wire)
            for _ in range(level + 1, k):
                length_v /= 2
                energy += self._segment_energy(length_v, e_rep, e_wire)
                length_h /= 2
                energy += self._segment_energy(length_h, e_rep, e_wire)
        read_dynamic_energy = _scalar_or_array(energy * nb * np.asarray(num_read, float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    parts={"unit_length_energy_rep": unit_length_energy_rep,
                           "unit_length_energy_wire": unit_length_energy_wire})
