"""Bit-line precharger of SRAM arrays: per column two precharge PMOS and one equalizer."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, is_given

__all__ = ["Precharger"]

INV = fb.GateType.INV
PMOS = fb.TransistorKind.PMOS
R = fb.rules


class Precharger(Circuit):
    """Precharge unit per column (BL and BL-bar pull-ups of 6F, equalizer of 2F, both
    enlarged to the cell height).

    Figures: area m^2, height/width m; read_latency / write_latency s (Horowitz delay of
    the pull-up charging `cap_load` through the column resistance, times num_read /
    num_write; the latency Cost also carries ramp_output 1/s); read/write dynamic energy J
    (of recharging the bit-line load the caller passes to calculate_power); leakage W.

    Sizing attribute a parent reads: cap_output_bitline_precharger F.
    """

    def initialize(self, num_col: int, res_load: float, activity_col_write: float,
                   num_read_cell_per_operation_neuro: int, num_write_cell_per_operation_neuro: int) -> None:
        tech = self.tech
        F = tech.featureSize
        cell_h = R.CELL_HEIGHT * F
        self.num_col = int(num_col)
        self.res_load = res_load
        self.activity_col_write = activity_col_write
        self.num_read_cell_per_operation_neuro = num_read_cell_per_operation_neuro
        self.num_write_cell_per_operation_neuro = num_write_cell_per_operation_neuro
        _, self.width_pmos_bitline_equal = fb.enlarge_size(0.0, R.MIN_NMOS_WIDTH * F, tech, cell_h)
        _, self.width_pmos_bitline_precharger = fb.enlarge_size(0.0, 6 * F, tech, cell_h)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        cell_h = R.CELL_HEIGHT * tech.featureSize
        _, h_pre, w_pre = fb.gate_area(INV, 1, 0.0, self.width_pmos_bitline_precharger, tech, cell_h)
        _, h_eq, w_eq = fb.gate_area(INV, 1, 0.0, self.width_pmos_bitline_equal, tech, cell_h)
        h_unit = h_pre * 2 + h_eq
        w_unit = max(w_pre, w_eq)
        if is_given(new_width) and mode == AreaModify.NONE:
            rows, _ = fold_gates(self.num_col, new_width, w_unit, "Precharger", "unit")
            width = new_width
            height = rows * h_unit
        else:
            width = self.num_col * w_unit
            height = h_unit
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_output_bitline_precharger = (
            fb.drain_cap(self.width_pmos_bitline_precharger, PMOS, tech, h_pre)
            + fb.drain_cap(self.width_pmos_bitline_equal, PMOS, tech, h_eq))
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, num_read, num_write) -> Cost:
        """cap_load F: the bit line; num_read / num_write operations (arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        r = fb.on_resistance(self.width_pmos_bitline_precharger, PMOS, tech)
        tau = r * (cap_load + self.cap_output_bitline_precharger) + self.res_load * cap_load / 2
        d, ramp_output = horowitz(tau, 1e20)
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        write_latency = as_result(d * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write, cap_load: float, activity_col_write=None) -> Cost:
        """Leakage (W) of the precharge devices; energy (J) of recharging the read
        (write) columns of load `cap_load` (F, the bit line; NeuroSim takes the load its
        latency step was given, so a parent that never times it passes 0), num_read /
        num_write times (arrays broadcast); `activity_col_write`: the fraction of columns
        written in this call (default: the one it was sized with; arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        vdd2 = tech.vdd * tech.vdd
        leakage = 2 * fb.gate_leakage(INV, 1, 0.0, self.width_pmos_bitline_precharger, tech) * tech.vdd * self.num_col
        read = cap_load * vdd2 * min(self.num_read_cell_per_operation_neuro, self.num_col)
        read_dynamic_energy = as_result(read * np.asarray(num_read, dtype=float))
        write = cap_load * vdd2 * np.minimum(self.num_write_cell_per_operation_neuro,
                                             self.num_col * np.asarray(
                                                 self.activity_col_write if activity_col_write is None
                                                 else activity_col_write, dtype=float))
        write_dynamic_energy = as_result(write * np.asarray(num_write, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
