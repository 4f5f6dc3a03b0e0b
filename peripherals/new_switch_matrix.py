"""Word-line switch matrix of 1T1R arrays in parallel read.

Each row has a DFF and transmission gates that pass the access voltage to the
access-transistor gates (WL) and the read voltage to the row's bit line.
"""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, is_given, min_cell_height

__all__ = ["NewSwitchMatrix"]

INV = fb.GateType.INV
NMOS = fb.TransistorKind.NMOS
R = fb.rules


class NewSwitchMatrix(Circuit):
    """1T1R word-line switch matrix: per row a DFF and four transmission-gate widths
    (sizes 2F x `newswitchmatrixsizeratio`, P scaled by the P/N ratio).

    Figures: area m^2, height/width m; read_latency s (Horowitz delay of the gate driving
    the loaded line, times num_read); read_dynamic_energy J (scales with the fraction of
    active rows; includes the DFF clocking energy; arrays broadcast); leakage W (DFFs);
    write_latency s, write_dynamic_energy J.

    Sizing attributes a parent reads:
      res_tg          ohm, on-resistance of one gate. The reference computes it from the
                      N device twice (the P device counted as if it were N); reproduced.
      cap_tg_gate_n, cap_tg_gate_p, cap_tg_drain   F (after calculate_area)
      dff             the DFF column (peripherals.dff.DFF)
    """

    def initialize(self, num_output: int, activity_row_read: float, clk_freq: float) -> None:
        from peripherals.dff import DFF  # owned by another module; imported when needed
        tech = self.tech
        F = tech.featureSize
        ratio = self.param.newswitchmatrixsizeratio
        self.num_output = int(num_output)
        self.activity_row_read = activity_row_read
        self.clk_freq = clk_freq
        self.dff = DFF(self.ctx)
        self.dff.initialize(self.num_output, clk_freq)
        self.width_tg_n = R.MIN_NMOS_WIDTH * F * ratio
        self.width_tg_p = tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F * ratio
        # quirk kept: both devices evaluated as NMOS
        self.res_tg = 1.0 / (1.0 / fb.on_resistance(self.width_tg_n, NMOS, tech, include_multiplier=False)
                             + 1.0 / fb.on_resistance(self.width_tg_p, NMOS, tech, include_multiplier=False))
        self.cap_tg_gate_n = self.cap_tg_gate_p = self.cap_tg_drain = 0.0
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        n = self.num_output
        min_h = min_cell_height(tech)
        if is_given(new_height) and mode == AreaModify.NONE:
            self.num_col_tg, self.tg_height = fold_gates(n, new_height, min_h, "NewSwitchMatrix", "gate")
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, self.tg_height)
            dff = self.dff.calculate_area(new_height, None, AreaModify.NONE)
            height = new_height
            width = (w_tg * 4) * self.num_col_tg + dff.width
        else:
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, min_h)
            height = h_tg * n
            dff = self.dff.calculate_area(height, None, AreaModify.NONE)
            width = (w_tg * 4) + dff.width
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_read, num_write) -> Cost:
        """ramp_input 1/s; cap_load F and res_load ohm of the driven line (Elmore:
        gate R times all caps plus half the line RC); num_read / num_write operations
        (arrays broadcast). The DFF latency enters the write latency only."""
        self._require_initialized()
        dff = self.dff.calculate_latency(1e20, num_read)
        cap_output = self.cap_tg_drain * 2 + self.cap_tg_gate_n * 0.5 + self.cap_tg_gate_p * 0.5
        tr = self.res_tg * (cap_output + cap_load) + res_load * cap_load / 2
        d, ramp_output = horowitz(tr, ramp_input)
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        num_write = np.asarray(num_write, dtype=float)
        write_latency = as_result(d * num_write + np.where(num_write != 0, dff.latency, 0.0))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write, activity_row_read) -> Cost:
        """Leakage (W) and dynamic energy (J): a selected row charges one gate output to
        the access voltage, three to the read voltage and opens three gates; energy per
        read scales with `activity_row_read`. All data arguments broadcast."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        va2 = cell.access_voltage * cell.access_voltage
        vr2 = cell.read_voltage * cell.read_voltage
        n = self.num_output
        cg = self.cap_tg_gate_n + self.cap_tg_gate_p
        num_read = np.asarray(num_read, dtype=float)
        num_write = np.asarray(num_write, dtype=float)
        act = np.asarray(activity_row_read, dtype=float)

        dff = self.dff.calculate_power(num_read, n, False)
        leakage = dff.leakage
        e = ((self.cap_tg_drain * 2) * va2 * n * act
             + (self.cap_tg_drain * 3) * vr2 * n * act
             + cg * 3 * vdd2 * n * act)
        read_dynamic_energy = as_result(e * num_read + dff.dynamic_energy)
        w = (self.cap_tg_drain * 2) * va2 + cg * 2 * vdd2 * 2 + cg * vdd2
        write_dynamic_energy = as_result(
            w * num_write + np.where(num_write != 0, dff.dynamic_energy, 0.0))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
