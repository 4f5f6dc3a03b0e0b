"""Word-line decoder output stage (NOR2 + INV + transmission gate + pull-down NMOS per
row), the row driver that follows a decoder in multifunctional memory/neuro arrays.
V1.4's sub-array constructs it but never initializes it; it is ported for completeness."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import (AreaModify, Circuit, horowitz, fold_gates, dense_row_gate_height,
                              Cost, Layout, modify_layout)
from peripherals.row_decoder import as_result, is_given, min_cell_height

__all__ = ["WLDecoderOutput"]

INV, NOR = fb.GateType.INV, fb.GateType.NOR
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class WLDecoderOutput(Circuit):
    """Row output stage for `num_wl_row` rows (minimum gates enlarged to the cell height).

    Figures: area m^2, height/width m; read_latency / write_latency s (NOR2 stage plus the
    gate charging the word line, times num_read / num_write); read/write dynamic energy J
    (memory mode of a multifunctional array: one row switches; otherwise all rows open);
    leakage W.

    Sizing attributes a parent reads: res_tg ohm, cap_tg_gate_n/p, cap_tg_drain F (the latency
    Cost carries ramp_output 1/s).
    """

    def initialize(self, num_wl_row: int, multifunctional: bool, neuro: bool) -> None:
        tech = self.tech
        F = tech.featureSize
        cell_h = R.CELL_HEIGHT * F
        wmin, pn = R.MIN_NMOS_WIDTH, tech.pnSizeRatio
        self.num_wl_row = int(num_wl_row)
        self.multifunctional = bool(multifunctional)
        self.neuro = bool(neuro)
        self.width_nor_n, self.width_nor_p = fb.enlarge_size(wmin * F, 2 * pn * wmin * F, tech, cell_h)
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(wmin * F, pn * wmin * F, tech, cell_h)
        self.width_tg_n, self.width_tg_p = fb.enlarge_size(wmin * F, pn * wmin * F, tech, cell_h)
        # The reference passes a null pointer as the PMOS width here (it would crash if it
        # ran); an NMOS-only device is meant, so the PMOS width is 0.
        self.width_nmos, _ = fb.enlarge_size(wmin * F, 0.0, tech, cell_h)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        n = self.num_wl_row
        min_h = min_cell_height(tech)
        _, h_nor, w_nor = fb.gate_area(NOR, 2, self.width_nor_n, self.width_nor_p, tech, min_h)
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, min_h)
        _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, min_h)
        _, h_nmos, w_nmos = fb.gate_area(INV, 1, self.width_nmos, 0.0, tech, min_h)
        if is_given(new_height) and mode == AreaModify.NONE:
            tg_height = dense_row_gate_height(n, new_height, min_h)
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, tg_height)
            h_unit = max(h_inv, h_nor, h_nmos, h_tg)
            num_col_unit, _ = fold_gates(n, new_height, h_unit, "WLDecoderOutput", "driver")
            height = new_height
            width = (w_nor + w_inv + w_nmos + w_tg) * num_col_unit
        else:
            height = max(h_inv, h_nor, h_tg, h_nmos) * n
            width = w_nor + w_inv + w_tg + w_nmos
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.res_tg = 1.0 / (1.0 / fb.on_resistance(self.width_tg_n, NMOS, tech)
                             + 1.0 / fb.on_resistance(self.width_tg_p, PMOS, tech))
        self.cap_nor_input, self.cap_nor_output = fb.gate_capacitance(
            NOR, 2, self.width_nor_n, self.width_nor_p, tech, h_nor)
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        self.cap_nmos_gate, self.cap_nmos_drain = fb.gate_capacitance(INV, 1, self.width_nmos, 0.0, tech, h_nmos)
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_read, num_write) -> Cost:
        """ramp_input 1/s into the NOR; cap_load F / res_load ohm of the word line;
        num_read / num_write operations (arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        r_up = fb.on_resistance(self.width_nor_p, PMOS, tech) * 2
        d1, _ = horowitz(r_up * (self.cap_nor_output + self.cap_inv_input + self.cap_tg_gate_p + self.cap_nmos_gate),
                         ramp_input)
        tr = self.res_tg * (self.cap_tg_drain + self.cap_nmos_drain + cap_load) + res_load * cap_load / 2
        d2, ramp_output = horowitz(tr, 1e20)
        d = d1 + d2
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        write_latency = as_result(d * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write) -> Cost:
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        va2 = cell.access_voltage * cell.access_voltage
        n = self.num_wl_row
        leakage = (fb.gate_leakage(NOR, 2, self.width_nor_n, self.width_nor_p, tech)
                   + fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech)
                   + fb.gate_leakage(INV, 1, self.width_nmos, 0.0, tech)) * tech.vdd * n
        one_row = (self.cap_nor_input * vdd2 + (self.cap_inv_output + self.cap_tg_gate_n) * vdd2
                   + self.cap_tg_drain * va2)
        if self.multifunctional and not self.neuro:
            read = one_row
        else:
            read = (self.cap_nor_input * vdd2 * n + (self.cap_inv_output + self.cap_tg_gate_n) * vdd2 * (n - 1)
                    + self.cap_tg_drain * va2 * (n - 1))
        read_dynamic_energy = as_result(read * np.asarray(num_read, dtype=float))
        write_dynamic_energy = as_result(one_row * np.asarray(num_write, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
