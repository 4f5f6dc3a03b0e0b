"""Demultiplexer: one input inverter and `num_input` transmission-gate pairs that route a
signal to one of several lines. Not used by V1.4's sub-array; ported for completeness."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, fold_gates, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, is_given, min_cell_width

__all__ = ["DeMux"]

INV = fb.GateType.INV
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class DeMux(Circuit):
    """Gates sized for an IR drop of resistanceOn / num_row (on-resistance with the
    effective-resistance multiplier, planar-style sizing, no clamping; as the reference).

    Figures: area m^2, height/width m; read_latency s (2.3 RC of a gate into its own drain
    capacitance, times num_read); read_dynamic_energy J (arrays broadcast); leakage W
    (the inverter).

    Sizing attributes a parent reads: res_tg ohm, cap_tg_gate_n/p, cap_tg_drain, cap_inv_input,
    cap_inv_output F.
    """

    def initialize(self, num_input: int, num_row: int) -> None:
        tech, cell = self.tech, self.cell
        F = tech.featureSize
        self.num_input = int(num_input)
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(
            R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        self.res_tg = cell.resistance_on / num_row * R.IR_DROP_TOLERANCE
        self.width_tg_n = fb.on_resistance(F, NMOS, tech) * F / (self.res_tg * 2)
        self.width_tg_p = fb.on_resistance(F, PMOS, tech) * F / (self.res_tg * 2)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, R.CELL_HEIGHT * tech.featureSize)
        pairs = self.num_input
        if is_given(new_width) and mode == AreaModify.NONE:
            min_w = min_cell_width(tech)
            rows, pair_width = fold_gates(pairs, new_width, min_w * 2, "DeMux", "gate pair")
            # The reference stores this width (m) in an integer, i.e. 0, and folds -1 times;
            # the real width is used here.
            tg_width = pair_width / 2
            num_fold = int(tg_width / (0.5 * min_w)) - 1
            _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, max(num_fold, 1), tech)
            width = new_width
            height = max(h_tg * rows, h_inv)
        else:
            _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, 1, tech)
            height = max(h_tg, h_inv)
            width = (w_tg * 2 * pairs) + w_inv
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, num_read) -> Cost:
        self._require_initialized()
        read_latency = as_result(2.3 * self.res_tg * self.cap_tg_drain * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        vr2 = cell.read_voltage * cell.read_voltage
        n = self.num_input
        leakage = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd
        e = (self.cap_inv_input * vdd2 + (self.cap_tg_gate_n + self.cap_tg_gate_p) * vdd2 * n
             + (self.cap_tg_drain * 2) * vr2 * n + self.cap_tg_drain * vr2 * n)
        read_dynamic_energy = as_result(e * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
