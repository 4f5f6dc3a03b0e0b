"""SRAM write driver: three inverters per column (two drive BL, one BL-bar)."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates
from peripherals.row_decoder import apply_area_modify, as_result, is_given

__all__ = ["SRAMWriteDriver"]

INV = fb.GateType.INV
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class SRAMWriteDriver(Circuit):
    """Write driver of `num_col` SRAM columns (minimum inverters enlarged to the cell).

    Figures: area m^2, height/width m; write_latency s (two inverter stages, the second
    driving the bit line); write_dynamic_energy J; leakage W; no read figures (0).

    Attributes a parent reads: cap_inv_input, cap_inv_output F; ramp_output 1/s.
    """

    def initialize(self, num_col: int, activity_col_write: float, num_write_cell_per_operation_neuro: int) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_col = int(num_col)
        self.activity_col_write = activity_col_write
        self.num_write_cell_per_operation_neuro = num_write_cell_per_operation_neuro
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(
            R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        self.write_latency = 0.0
        self.write_dynamic_energy = 0.0
        self.ramp_output = 1e20
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> None:
        self._require_initialized()
        tech = self.tech
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, R.CELL_HEIGHT * tech.featureSize)
        h_unit, w_unit = h_inv * 3, w_inv
        if is_given(new_width) and mode == AreaModify.NONE:
            rows, _ = fold_gates(self.num_col, new_width, w_unit, "SRAMWriteDriver", "unit")
            self.width = new_width
            self.height = rows * h_unit
        else:
            self.width = self.num_col * w_unit
            self.height = h_unit
        self.area = self.height * self.width
        apply_area_modify(self, new_height, new_width, mode)
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_write) -> None:
        """ramp_input 1/s; cap_load F / res_load ohm of the bit line; num_write writes."""
        self._require_initialized()
        tech = self.tech
        self.ramp_input, self.cap_load, self.res_load = ramp_input, cap_load, res_load
        r_up = fb.on_resistance(self.width_inv_p, PMOS, tech)
        d1, ramp = horowitz(r_up * (self.cap_inv_output + self.cap_inv_input), ramp_input)
        r_down = fb.on_resistance(self.width_inv_n, NMOS, tech)
        d2, self.ramp_output = horowitz(r_down * (cap_load + self.cap_inv_output) + res_load * cap_load / 2, ramp)
        self.write_latency = as_result((d1 + d2) * np.asarray(num_write, dtype=float))

    def calculate_power(self, num_write) -> None:
        """Leakage (W) of the 3 inverters per column; write energy (J) of the driver
        internals (the bit-line swing is the precharger's), num_write times."""
        self._require_initialized()
        tech = self.tech
        self.leakage = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * 3 * self.num_col
        sel = np.minimum(self.num_write_cell_per_operation_neuro,
                         self.num_col * np.asarray(self.activity_col_write, dtype=float))
        e = (self.cap_inv_output + self.cap_inv_input) * tech.vdd * tech.vdd * sel
        self.write_dynamic_energy = as_result(e * np.asarray(num_write, dtype=float))
