"""Ripple-carry adder bank built from NAND2 gates (nine NAND2 per full-adder bit).

The delay follows the carry chain of one adder as a sequence of NAND2 pull-down /
pull-up stages (Horowitz delay per stage): two stages for the first bit, two per middle
bit, and three for the last bit driving the load. The switching energy follows the
critical-path pattern A = 11..1, B = 10..0, carry-in 1, counting 0->1 transitions only.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import FormulaBindings as fb

from .base import _SCALARS, AreaModify, Circuit, horowitz, Cost, Layout, modify_layout
from .dff import (GAA_NAND2, MIN_W, NAND, NMOS, PMOS, as_result, gaa_layout,
                  given)

__all__ = ["Adder"]


class Adder(Circuit):
    """`num_adder` adders of `num_bit` bits each.

    Figures: area m^2, height/width m; read_latency s (always seconds: synchronous parents
    turn it into ceil(latency x clock) cycles); read_dynamic_energy J (times `delta` when
    validated); leakage W.

    calculate_area returns a Layout; calculate_latency a Cost (latency, ramp_output 1/s);
    calculate_power a Cost (dynamic_energy, leakage). Sizing parents read: num_bit,
    num_adder, clk_freq, cap_nand_input/cap_nand_output (F; the reference sets them in its
    area step, here at initialize: they depend on the gate layout only).
    """

    def initialize(self, num_bit: int, num_adder: int, clk_freq: float) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_bit = int(num_bit)
        self.num_adder = int(num_adder)
        self.clk_freq = float(clk_freq)
        self.initialized = True
        # the NAND2 sizes and capacitances depend on the technology only: computed at the
        # first initialize (parents re-initialize the same bank with new sizes many times)
        gate = self.__dict__.get("_gate")
        if gate is None:
            self.width_nand_n, self.width_nand_p = fb.enlarge_size(
                2 * MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech)
            self._capacitances()
            self._gate = (self.width_nand_n, self.width_nand_p, self.cap_nand_input,
                          self.cap_nand_output)
            slow = 1.5 if (tech.node_nm <= 2 and self.param.speciallayout) else 1.0
            self._ron = (fb.on_resistance(self.width_nand_n, NMOS, tech) * 2 * slow,
                         fb.on_resistance(self.width_nand_p, PMOS, tech) * slow)
            self._gate_leak = (
                fb.gate_leakage(NAND, 2, MIN_W * F, MIN_W * F, tech) if gaa_layout(self.ctx) is not None
                else fb.gate_leakage(NAND, 2, self.width_nand_n, self.width_nand_p, tech))
        else:
            (self.width_nand_n, self.width_nand_p, self.cap_nand_input,
             self.cap_nand_output) = gate

    def _capacitances(self) -> None:
        """NAND2 input/output capacitances (they depend on the gate layout only)."""
        tech = self.tech
        F = tech.featureSize
        _, h_nand, _ = self._nand2_area()
        gaa = gaa_layout(self.ctx)
        if gaa is not None:
            g, fn, fp = GAA_NAND2[gaa]
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance_gaa(
                NAND, 2, MIN_W * F, MIN_W * F, tech, h_nand, g, fn, fp)
        else:
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
                NAND, 2, self.width_nand_n, self.width_nand_p, tech, h_nand)

    def _nand2_area(self):
        tech = self.tech
        F = tech.featureSize
        if tech.node_nm <= 2 and self.param.speciallayout:
            return fb.gate_area(NAND, 2, MIN_W * F, MIN_W * F, tech)
        return fb.gate_area(NAND, 2, self.width_nand_n, self.width_nand_p, tech)

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        self._require_initialized()
        _, h_nand, w_nand = self._nand2_area()
        area = height = width = 0.0
        if given(new_height) and mode == AreaModify.NONE:
            self.h_adder = h_nand
            self.w_adder = w_nand * 9 * self.num_bit
            if self.h_adder > new_height:
                # The reference reports the misfit and leaves the area at zero (kept).
                warnings.warn("Adder: one adder is taller than the assigned height")
            else:
                height = new_height
                width = self.w_adder * self.h_adder * self.num_adder / new_height
        elif given(new_width) and mode == AreaModify.NONE:
            self.h_adder = h_nand * self.num_bit
            self.w_adder = w_nand * 9
            if self.w_adder > new_width:
                warnings.warn("Adder: one adder is wider than the assigned width")
            else:
                width = new_width
                height = self.w_adder * self.h_adder * self.num_adder / new_width
        else:
            self.h_adder = h_nand
            self.w_adder = w_nand * 9 * self.num_bit
            width = self.w_adder * self.num_adder
            height = self.h_adder
        area = height * width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, ramp_input, cap_load, num_read) -> Cost:
        """Carry-chain delay (s) of one addition times `num_read`."""
        self._require_initialized()
        tech = self.tech
        r_down, r_up = self._ron
        cin, cout = self.cap_nand_input, self.cap_nand_output

        d1, ramp = horowitz(r_down * (cout + cin * 3), ramp_input)        # first bit
        d2, ramp = horowitz(r_up * (cout + cin * 2), ramp)
        d3, ramp = horowitz(r_down * (cout + cin * 3), ramp)              # one middle bit
        d4, ramp = horowitz(r_up * (cout + cin * 2), ramp)
        delay = d1 + d2
        if self.num_bit > 2:
            delay = delay + (d3 + d4) * (self.num_bit - 2)
        d5, ramp = horowitz(r_down * (cout + cin * 3), ramp)              # last bit
        d6, ramp = horowitz(r_up * (cout + cin), ramp)
        d7, ramp = horowitz(r_down * (cout + cap_load), ramp)
        delay = delay + d5 + d6 + d7
        read_latency = as_result(delay * np.asarray(num_read, dtype=float))
        ramp_output = ramp
        return Cost(latency=read_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_adder_per_operation) -> Cost:
        """Leakage (W) of the whole bank and the energy (J) of `num_read` additions in
        `num_adder_per_operation` adders (truncated to an integer as in the reference)."""
        self._require_initialized()
        tech = self.tech
        F = tech.featureSize
        vdd2 = tech.vdd * tech.vdd
        nb = self.num_bit
        gaa = gaa_layout(self.ctx) is not None
        gate_leak = self._gate_leak
        if gaa:
            # GAA special layout (2 nm, 1 nm): minimum-width NAND gates, with no further
            # factor (NeuroSim V1.4 multiplies by 1 here; an earlier 2/3 made every adder,
            # adder tree and accumulation unit leak 1/3 too little, the 3-4 % chip leakage
            # difference at 1-2 nm)
            leak = gate_leak * tech.vdd * 9 * nb * self.num_adder
        else:
            leak = gate_leak * tech.vdd * 9 * nb * self.num_adder
        leakage = leak

        cin, cout = self.cap_nand_input, self.cap_nand_output
        e = (cin * 6) * vdd2 + (cout * 2) * vdd2                      # first bit outputs
        e += (cin * 7) * vdd2 * (nb - 1) + (cout * 3) * vdd2 * (nb - 1)
        e += (cout + cin) * vdd2 * 2                                  # hidden transitions
        e += (cout + cin * 2) * vdd2
        e += (cout + cin * 3) * vdd2
        e += (cout + cin) * vdd2
        e += (cout + cin * 3) * vdd2 * (nb - 1)
        e += (cout + cin) * vdd2 * (nb - 1)
        e += (cout + cin) * vdd2 * 2 * (nb - 1)
        if (type(num_adder_per_operation) in _SCALARS and type(num_read) in _SCALARS
                and math.isfinite(num_adder_per_operation)):
            # scalars (most calls): the same operations without numpy's per-call cost
            per_op = float(math.trunc(num_adder_per_operation))
            e = e * min(per_op, float(self.num_adder)) * float(num_read)
        else:
            per_op = np.trunc(np.asarray(num_adder_per_operation, dtype=float))
            e = e * np.minimum(per_op, self.num_adder) * np.asarray(num_read, dtype=float)
        if self.param.validated:
            e = e * self.param.delta
        read_dynamic_energy = as_result(e)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
