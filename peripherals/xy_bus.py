"""Chip-level X-Y bus (V1.4's default global interconnect, `globalBusType = false`).

One horizontal bus (X) runs along the tile grid's columns and carries the inputs to the
tiles; one vertical bus (Y) runs along its rows and carries the outputs back. Both are
repeated wires (see `bus.size_repeaters`, halving relaxation). The wire resistance of each
bus is the one of a wire sized for the bus's full length (`calculate_area` sets it; the
latency reuses it even though a transfer covers only part of the length, as the reference
does).

Units: area m^2, latency s (clock cycles in synchronous mode), energy J, leakage W.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import Circuit, Cost, Layout
from .bus import _RepeatedWireMixin, _scalar_or_array, size_repeaters

__all__ = ["XYBus"]


class XYBus(_RepeatedWireMixin, Circuit):
    """Sizing attributes parents read: `bus_width` (bits), `num_row`, `num_col` (tile
    grid), `clk_freq` (Hz, the clock it was sized with; calculate_latency takes the working clock), `min_dist`,
    `repeater_size`, `unit_length_wire_resistance_h/_v` (ohm/m, set by calculate_area).
    The latency Cost has the parts `read_latency_input` / `read_latency_output` (per
    transfer, cycles in synchronous mode); the power Cost the part `total_wire_length` (m).

    `calculate_area` must be called before `calculate_latency`."""

    def initialize(self, num_row: int, num_col: int, delay_tolerance: float,
                   bus_width: float, clk_freq: float) -> None:
        self.num_row = int(num_row)
        self.num_col = int(num_col)
        self.delay_tolerance = float(delay_tolerance)
        self.bus_width = float(bus_width)
        self.clk_freq = float(clk_freq)
        self.unit_length_wire_resistance = float(self.param.unitLengthWireResistance)
        self._set_repeaters(size_repeaters(self.tech, self.unit_length_wire_resistance,
                                           self.delay_tolerance, relax="halve"))
        self.unit_length_wire_resistance_h = None
        self.unit_length_wire_resistance_v = None
        self.initialized = True

    def _wire(self, length: float) -> tuple[float, float]:
        width_nm, res = fb.interconnect_wire(length, float(self.param.wireWidth), self.tech)
        return width_nm * 1e-9, res

    def calculate_area(self, unit_height: float, unit_width: float, folded_ratio: float) -> Layout:
        self._require_initialized()
        length_v = unit_height * self.num_row     # Y bus
        length_h = unit_width * self.num_col      # X bus
        # The reference writes `wireWidth, R = GetUnitLengthRes(length)`: the comma
        # operator keeps only R. The dropped width would matter only for a zero-length
        # bus (no repeater), whose area is zero anyway.
        wire_w_v, self.unit_length_wire_resistance_v = self._wire(length_v)
        wire_w_h, self.unit_length_wire_resistance_h = self._wire(length_h)
        if math.ceil(length_v / self.min_dist) > 0:
            bundle_v = self.bus_width * self.w_inv / folded_ratio
        else:
            bundle_v = self.bus_width * wire_w_v / folded_ratio
        if math.ceil(length_h / self.min_dist) > 0:
            bundle_h = self.bus_width * self.h_inv / folded_ratio
        else:
            bundle_h = self.bus_width * wire_w_h / folded_ratio
        area = bundle_v * length_v + bundle_h * length_h
        height = width = 0.0
        return Layout(height=height, width=width, area=area)

    def _lengths(self, x_end: int, y_init: int, unit_height: float, unit_width: float):
        # From the chip's input corner to tile column x_end (X bus) and from tile row
        # y_init to the last row (Y bus). For a one-row grid the reference gets a
        # negative Y length (negative energy and leakage); it is clamped at zero here.
        length_v = max(0.0, unit_height * (self.num_row - y_init - 1))
        length_h = max(0.0, unit_width * x_end)
        return length_v, length_h

    def calculate_latency(self, x_end: int, y_init: int, unit_height: float, unit_width: float,
                          num_read_input, num_read_output, clk_freq: float | None = None) -> Cost:
        """`num_read_input`/`num_read_output`: transfers over the X and Y buses. In
        synchronous mode each transfer takes ceil(delay x clk_freq) cycles, and
        `read_latency` is in cycles."""
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        if self.unit_length_wire_resistance_h is None:
            raise RuntimeError("XYBus: call calculate_area() before calculate_latency()")
        length_v, length_h = self._lengths(x_end, y_init, unit_height, unit_width)
        lat_in = self._segment_latency(length_h, self.unit_length_wire_resistance_h)
        lat_out = self._segment_latency(length_v, self.unit_length_wire_resistance_v)
        if self.param.synchronous:
            lat_in = math.ceil(lat_in * clk)
            lat_out = math.ceil(lat_out * clk)
        read_latency_input, read_latency_output = lat_in, lat_out
        read_latency = _scalar_or_array(lat_in * np.asarray(num_read_input, float)
                                        + lat_out * np.asarray(num_read_output, float))
        return Cost(latency=read_latency,
                    parts={"read_latency_input": read_latency_input,
                           "read_latency_output": read_latency_output})

    def calculate_power(self, x_end: int, y_init: int, unit_height: float, unit_width: float,
                        num_bit_input, num_bit_output) -> Cost:
        """`num_bit_input`/`num_bit_output`: bit transfers over the X and Y buses (the
        callers fold the toggle rates in); each is charged at half swing. Leakage: the
        repeaters of both bus segments, `bus_width` bits wide."""
        self._require_initialized()
        length_v, length_h = self._lengths(x_end, y_init, unit_height, unit_width)
        total_wire_length = length_h + length_v
        leakage = self.unit_length_leakage * total_wire_length * self.bus_width
        unit_length_energy_rep = self._energy_rep_full * 0.5
        unit_length_energy_wire = self._energy_wire_full * 0.5
        e_in = self._segment_energy(length_h, unit_length_energy_rep, unit_length_energy_wire)
        e_out = self._segment_energy(length_v, unit_length_energy_rep, unit_length_energy_wire)
        read_dynamic_energy = _scalar_or_array(e_in * np.asarray(num_bit_input, float)
                                               + e_out * np.asarray(num_bit_output, float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    parts={"unit_length_energy_rep": unit_length_energy_rep,
                           "unit_length_energy_wire": unit_length_energy_wire,
                           "total_wire_length": total_wire_length})
