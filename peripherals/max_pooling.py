"""Max-pooling unit: `num_max_pooling` units working in parallel, each finding the largest
of `window` values of `num_bit` bits with a tree of N-bit comparators (built from 1-bit
comparator slices plus enable logic: per slice 5 inverters of transmission-gate control;
per comparator 3 transmission gates, 3 inverters, an AND, a NOR and an N-input NOR).

Per read each comparator is assumed to ripple through half of its bit slices.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, horowitz, Cost, Layout, modify_layout
from .comparator import Comparator
from .dff import INV, MIN_W, NAND, NMOS, NOR, as_result

__all__ = ["MaxPooling"]


class MaxPooling(Circuit):
    """Figures: area_unit m^2 (one unit), area m^2, height/width m; read_latency: clock
    cycles in synchronous mode (ceil(stage delay x clk_freq) x num_stage per read), seconds
    otherwise; read_dynamic_energy J; leakage W.

    Sizing attributes parents read: window, num_bit, num_max_pooling, num_comparator, num_stage,
    clk_freq, comparator."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.comparator = Comparator(ctx)

    def initialize(self, num_bit: int, window: int, num_max_pooling: int, clk_freq: float) -> None:
        tech = self.tech
        F = tech.featureSize
        pn = tech.pnSizeRatio
        self.num_bit = int(num_bit)
        self.window = int(window)
        self.num_max_pooling = int(num_max_pooling)
        self.clk_freq = float(clk_freq)
        # comparator tree over the window: halve until one value is left
        self.num_comparator = 0
        self.num_stage = 0
        n = self.window
        odd = n % 2
        while n != 0:
            self.num_comparator += n // 2
            self.num_stage += 1
            n //= 2
        self.num_comparator += odd
        self.num_stage += odd
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(MIN_W * F, pn * MIN_W * F, tech)
        self.width_nand_n, self.width_nand_p = fb.enlarge_size(2 * MIN_W * F, pn * MIN_W * F, tech)
        self.width_nor_n, self.width_nor_p = fb.enlarge_size(4 * MIN_W * F, pn * MIN_W * F, tech)
        self.width_nor2_n, self.width_nor2_p = fb.enlarge_size(
            (self.num_bit * 2) * MIN_W * F, pn * MIN_W * F, tech)
        self.comparator.initialize(1, 1)
        self.area_unit = 0.0
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
        _, h_nand, w_nand = fb.gate_area(NAND, 2, self.width_nand_n, self.width_nand_p, tech)
        _, h_nor, w_nor = fb.gate_area(NOR, 2, self.width_nor_n, self.width_nor_p, tech)
        _, h_nor2, w_nor2 = fb.gate_area(NOR, self.num_bit, self.width_nor2_n, self.width_nor2_p, tech)
        self._gate_areas = (h_inv * w_inv, h_nand * w_nand, h_nor * w_nor, h_nor2 * w_nor2)
        # gate capacitances (layout-independent; the reference sets them in its area step)
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
            NAND, 2, self.width_nand_n, self.width_nand_p, tech, h_nand)
        self.cap_nor_input, self.cap_nor_output = fb.gate_capacitance(
            NOR, 2, self.width_nor_n, self.width_nor_p, tech, h_nor)
        self.cap_nor2_input, self.cap_nor2_output = fb.gate_capacitance(
            NOR, self.num_bit, self.width_nor2_n, self.width_nor2_p, tech, h_nor2)
        self.initialized = True

    def calculate_unit_area(self, mode: AreaModify = AreaModify.NONE) -> None:
        self._require_initialized()
        self.comparator.calculate_unit_area(mode)
        a_inv, a_nand, a_nor, a_nor2 = self._gate_areas
        unit = (self.comparator.area_unit + a_inv * 5) * self.num_bit
        unit += a_inv * 6 + (a_nand + a_inv) + a_nor + a_nor2
        self.area_unit = unit * self.num_comparator
        modify_layout(self, 0.0, 0.0, 0.0, None, None, mode)   # checks the mode only

    def calculate_area(self, width_array: float) -> Layout:
        self._require_initialized()
        width = width_array
        area = self.area_unit * self.num_max_pooling
        height = area / width
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, num_read, clk_freq: float | None = None) -> Cost:
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        tech = self.tech
        comparator = self.comparator.calculate_latency(ramp_input, self.cap_inv_output * 2, 1)
        delay = comparator.latency * self.num_bit / 2
        # the result flag passes the wide NOR, an inverter and a transmission gate
        r_nor = fb.on_resistance(self.width_nor2_n, NMOS, tech) * 2
        d, _ = horowitz(r_nor * (self.cap_inv_input * 2 + self.num_bit * self.cap_inv_output), 1e20)
        delay += d
        r_inv = fb.on_resistance(self.width_inv_n, NMOS, tech) * 2
        d, ramp_inv = horowitz(r_inv * (self.cap_inv_input + self.cap_nor2_output), 1e20)
        delay += d
        r_tg = fb.on_resistance(self.width_inv_n, NMOS, tech) * 2
        d, _ = horowitz(r_tg * (self.cap_inv_input * 2 + cap_load), ramp_inv)
        delay += d
        if self.param.synchronous:
            delay = math.ceil(delay * clk)
        read_latency = as_result(delay * self.num_stage * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        vdd2 = tech.vdd * tech.vdd
        leakage = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd \
            * self.num_comparator * self.num_max_pooling
        comparator = self.comparator.calculate_power(1, 1)
        e = (self.cap_nand_input + self.cap_inv_output) * vdd2          # AND
        e += (self.cap_nor_input + self.cap_inv_output) * vdd2          # NOR
        e += (self.cap_inv_input + self.cap_inv_output) * vdd2 * 2      # inverters
        e += (self.cap_nor2_input + self.cap_inv_output) * vdd2         # wide NOR
        if self.param.validated:
            e *= self.param.epsilon
        e += comparator.dynamic_energy * self.num_bit / 2
        e = e * self.num_comparator * self.num_max_pooling * np.asarray(num_read, dtype=float)
        read_dynamic_energy = as_result(e)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
