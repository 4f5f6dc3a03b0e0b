"""Magnitude comparator: `num_comparator` comparators of `num_bit` bits, each bit slice
made of 4 inverters, 4 NAND2 and 3 NAND3 (the max-pooling unit builds its N-bit
comparators from 1-bit slices of this).

The delay follows the greater-than signal from the first to the last bit slice (one
NAND2 + NAND3 pair per slice). Reference quirk kept: the middle slices are counted
num_bit - 2 times, which is negative for a 1-bit comparator (one slice pair is then
subtracted).
"""
from __future__ import annotations

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, horowitz, Cost, Layout, modify_layout
from .dff import INV, MIN_W, NAND, NMOS, PMOS, as_result

__all__ = ["Comparator"]


class Comparator(Circuit):
    """Figures: area_unit m^2 (one comparator, set by calculate_unit_area), area m^2,
    height/width m; read_latency s; read_dynamic_energy J (times `epsilon` when
    validated); leakage W.

    Sizing attributes parents read: area_unit, num_bit, num_comparator, cap_inv_input/output,
    cap_nand2_input/output, cap_nand3_input/output (F)."""

    def initialize(self, num_bit: int, num_comparator: int) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_bit = int(num_bit)
        self.num_comparator = int(num_comparator)
        pn = tech.pnSizeRatio
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(MIN_W * F, pn * MIN_W * F, tech)
        self.width_nand2_n, self.width_nand2_p = fb.enlarge_size(2 * MIN_W * F, pn * MIN_W * F, tech)
        self.width_nand3_n, self.width_nand3_p = fb.enlarge_size(3 * MIN_W * F, pn * MIN_W * F, tech)
        self.area_unit = 0.0
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
        _, h_n2, w_n2 = fb.gate_area(NAND, 2, self.width_nand2_n, self.width_nand2_p, tech)
        _, h_n3, w_n3 = fb.gate_area(NAND, 3, self.width_nand3_n, self.width_nand3_p, tech)
        self._gate_areas = (h_inv * w_inv, h_n2 * w_n2, h_n3 * w_n3)
        # gate capacitances (layout-independent; the reference sets them in its area step)
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_nand2_input, self.cap_nand2_output = fb.gate_capacitance(
            NAND, 2, self.width_nand2_n, self.width_nand2_p, tech, h_n2)
        self.cap_nand3_input, self.cap_nand3_output = fb.gate_capacitance(
            NAND, 3, self.width_nand3_n, self.width_nand3_p, tech, h_n3)
        self.initialized = True

    def calculate_unit_area(self, mode: AreaModify = AreaModify.NONE) -> None:
        self._require_initialized()
        a_inv, a_n2, a_n3 = self._gate_areas
        self.area_unit = (a_inv * 4 + a_n2 * 4 + a_n3 * 3) * self.num_bit
        modify_layout(self, 0.0, 0.0, 0.0, None, None, mode)   # checks the mode only

    def calculate_area(self, width_array: float) -> Layout:
        self._require_initialized()
        width = width_array
        area = self.area_unit * self.num_comparator
        height = area / width
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        r2 = fb.on_resistance(self.width_nand2_n, NMOS, tech) * 2
        r3 = fb.on_resistance(self.width_nand3_p, PMOS, tech)
        load2 = self.cap_nand2_output + self.cap_nand3_input
        load3 = self.cap_nand3_output + self.cap_nand2_input
        d1, ramp2 = horowitz(r2 * load2, ramp_input)           # first slice
        d2, ramp3 = horowitz(r3 * load3, ramp2)
        d3, ramp2 = horowitz(r2 * load2, ramp3)                # a middle slice
        d4, ramp3 = horowitz(r3 * load3, ramp2)
        delay = d1 + d2 + (d3 + d4) * (self.num_bit - 2)
        d5, ramp2 = horowitz(r2 * load2, ramp3)                # last slice
        d6, ramp3 = horowitz(r3 * (self.cap_nand3_output + cap_load), ramp2)
        delay = delay + d5 + d6
        ramp_output = ramp3
        read_latency = as_result(delay * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_comparator_per_operation) -> Cost:
        self._require_initialized()
        tech = self.tech
        vdd = tech.vdd
        vdd2 = vdd * vdd
        nb, nc = self.num_bit, self.num_comparator
        leak = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * vdd * 4 * nb * nc
        leak += fb.gate_leakage(NAND, 2, self.width_nand2_n, self.width_nand2_p, tech) * vdd * 4 * nb * nc
        leak += fb.gate_leakage(NAND, 3, self.width_nand3_n, self.width_nand3_p, tech) * vdd * 3 * nb * nc
        leakage = leak
        e = ((self.cap_inv_input + self.cap_inv_output) * 4) * vdd2
        e += ((self.cap_nand2_input + self.cap_nand2_output) * 4) * vdd2
        e += ((self.cap_nand3_input + self.cap_nand3_output) * 3) * vdd2
        per_op = np.trunc(np.asarray(num_comparator_per_operation, dtype=float))
        e = e * nb * np.minimum(per_op, nc) * np.asarray(num_read, dtype=float)
        if self.param.validated:
            e = e * self.param.epsilon
        read_dynamic_energy = as_result(e)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
