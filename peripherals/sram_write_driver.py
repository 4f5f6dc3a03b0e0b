"""SRAM write driver: three inverters per column (two drive BL, one BL-bar)."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, is_given

__all__ = ["SRAMWriteDriver"]

INV = fb.GateType.INV
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class SRAMWriteDriver(Circuit):
    """Write driver of `num_col` SRAM columns (minimum inverters enlarged to the cell).

    Figures: area m^2, height/width m; write_latency s (two inverter stages, the second
    driving the bit line); write_dynamic_energy J; leakage W; no read figures (0).

    Sizing attributes a parent reads: cap_inv_input, cap_inv_output F (the latency
    Cost carries ramp_output 1/s).
    """

    def initialize(self, num_col: int, activity_col_write: float, num_write_cell_per_operation_neuro: int) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_col = int(num_col)
        self.activity_col_write = activity_col_write
        self.num_write_cell_per_operation_neuro = num_write_cell_per_operation_neuro
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(
            R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, R.CELL_HEIGHT * tech.featureSize)
        h_unit, w_unit = h_inv * 3, w_inv
        if is_given(new_width) and mode == AreaModify.NONE:
            rows, _ = fold_gates(self.num_col, new_width, w_unit, "SRAMWriteDriver", "unit")
            width = new_width
            height = rows * h_unit
        else:
            width = self.num_col * w_unit
            height = h_unit
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_write) -> Cost:
        """ramp_input 1/s; cap_load F / res_load ohm of the bit line; num_write writes."""
        self._require_initialized()
        tech = self.tech
        r_up = fb.on_resistance(self.width_inv_p, PMOS, tech)
        d1, ramp = horowitz(r_up * (self.cap_inv_output + self.cap_inv_input), ramp_input)
        r_down = fb.on_resistance(self.width_inv_n, NMOS, tech)
        d2, ramp_output = horowitz(r_down * (cap_load + self.cap_inv_output) + res_load * cap_load / 2, ramp)
        write_latency = as_result((d1 + d2) * np.asarray(num_write, dtype=float))
        return Cost(write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_write, activity_col_write=None) -> Cost:
        """Leakage (W) of the 3 inverters per column; write energy (J) of the driver
        internals (the bit-line swing is the precharger's), num_write times;
        `activity_col_write`: the fraction of columns written in this call (default: the one
        it was sized with; arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        leakage = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * 3 * self.num_col
        sel = np.minimum(self.num_write_cell_per_operation_neuro,
                         self.num_col * np.asarray(self.activity_col_write if activity_col_write is None
                                                   else activity_col_write, dtype=float))
        e = (self.cap_inv_output + self.cap_inv_input) * tech.vdd * tech.vdd * sel
        write_dynamic_energy = as_result(e * np.asarray(num_write, dtype=float))
        return Cost(leakage=leakage, write_dynamic_energy=write_dynamic_energy)
