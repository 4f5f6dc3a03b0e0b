"""Word-line driver of 1T1R arrays read row by row (sequential modes).

Per row: NAND2 -> INV -> NAND2 gating two transmission gates that connect the row's word
line (access-transistor gates) and its bit line. It follows the row decoder.
"""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import (AreaModify, Circuit, horowitz, fold_gates, dense_row_gate_height,
                              Cost, Layout, modify_layout)
from peripherals.row_decoder import as_result, is_given, min_cell_height

__all__ = ["WLNewDecoderDriver"]

INV, NAND = fb.GateType.INV, fb.GateType.NAND
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class WLNewDecoderDriver(Circuit):
    """1T1R row-by-row word-line driver for `num_wl_row` rows (minimum-size gates,
    enlarged to the standard-cell height).

    Figures: area m^2, height/width m; read_latency / write_latency s (three logic stages,
    each a Horowitz delay with the driver's input slope, plus the gate charging the word
    line; times num_read / num_write); read/write dynamic energy J (one row switches per
    operation; arrays broadcast); leakage W (two NAND2 + two INV per row).

    Sizing attributes a parent reads:
      res_tg          ohm, gate on-resistance (linear region)
      cap_tg_gate_n, cap_tg_gate_p, cap_tg_drain   F
    """

    def initialize(self, num_wl_row: int) -> None:
        tech = self.tech
        F = tech.featureSize
        cell_h = R.CELL_HEIGHT * F
        wmin, pn = R.MIN_NMOS_WIDTH, tech.pnSizeRatio
        self.num_wl_row = int(num_wl_row)
        self.width_nand_n, self.width_nand_p = fb.enlarge_size(2 * wmin * F, pn * wmin * F, tech, cell_h)
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(wmin * F, pn * wmin * F, tech, cell_h)
        self.width_tg_n, self.width_tg_p = fb.enlarge_size(wmin * F, pn * wmin * F, tech, cell_h)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        n = self.num_wl_row
        min_h = min_cell_height(tech)
        _, h_nand, w_nand = fb.gate_area(NAND, 2, self.width_nand_n, self.width_nand_p, tech, min_h)
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, min_h)
        _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, min_h)
        if is_given(new_height) and mode == AreaModify.NONE:
            tg_height = dense_row_gate_height(n, new_height, min_h)
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, tg_height)
            h_unit = max(h_inv, h_nand, h_tg)
            num_col_unit, _ = fold_gates(n, new_height, h_unit, "WLNewDecoderDriver", "driver")
            height = new_height
            width = (3 * w_nand + w_inv + 2 * w_tg) * num_col_unit
        else:
            height = max(h_inv, h_nand, h_tg) * n
            width = 3 * w_nand + w_inv + 2 * w_tg
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area

        r_n = fb.on_resistance(self.width_tg_n, NMOS, tech, include_multiplier=False) * R.LINEAR_REGION_RATIO
        r_p = fb.on_resistance(self.width_tg_p, PMOS, tech, include_multiplier=False) * R.LINEAR_REGION_RATIO
        self.res_tg = 1.0 / (1.0 / r_n + 1.0 / r_p)
        self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
            NAND, 2, self.width_nand_n, self.width_nand_p, tech, h_nand)
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_read, num_write) -> Cost:
        """ramp_input 1/s (the decoder's output slope; every logic stage sees it, as in the
        reference); cap_load F and res_load ohm of the word line; num_read / num_write
        operations (arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        r_nand = fb.on_resistance(self.width_nand_n, NMOS, tech) * 2
        r_inv = fb.on_resistance(self.width_inv_p, PMOS, tech)
        d1, _ = horowitz(r_nand * (self.cap_nand_output + self.cap_inv_input), ramp_input)
        d2, _ = horowitz(r_inv * (self.cap_inv_output + 2 * self.cap_nand_input), ramp_input)
        d3, _ = horowitz(r_nand * (self.cap_nand_output + self.cap_tg_gate_p + self.cap_tg_gate_n), ramp_input)
        tr_tg = self.res_tg * (2 * self.cap_tg_drain + cap_load) + res_load * cap_load / 2
        d4, ramp_output = horowitz(tr_tg, 1e20)
        d = d1 + d2 + d3 + d4
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        write_latency = as_result(d * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write) -> Cost:
        """Leakage (W) and dynamic energy (J) of num_read / num_write row selections
        (arrays broadcast)."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        n = self.num_wl_row
        leakage = (fb.gate_leakage(NAND, 2, self.width_nand_n, self.width_nand_p, tech) * tech.vdd * n * 2
                   + fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * n * 2)
        logic = (self.cap_nand_input * vdd2
                 + (self.cap_inv_output + self.cap_tg_gate_n) * vdd2
                 + (self.cap_nand_output + self.cap_tg_gate_n + self.cap_tg_gate_p) * vdd2)
        read = logic + self.cap_tg_drain * cell.read_voltage * cell.read_voltage
        write = logic + self.cap_tg_drain * cell.write_voltage * cell.write_voltage
        read_dynamic_energy = as_result(read * np.asarray(num_read, dtype=float))
        write_dynamic_energy = as_result(write * np.asarray(num_write, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
