"""Shift-and-add unit: combines partial sums that differ by a power of two (the bit-serial
input cycles, or the cells of one multi-cell weight).

Non-spiking (binary) form: per unit one adder of `num_adder_bit` bits plus a shift register
of `num_adder_bit + num_read_pulse` flip-flops. Spiking form: a counter register of
2^num_adder_bit flip-flops per unit and no adder. The small inverters and NAND2 gates of
the shift register take one extra standard-cell row.
"""
from __future__ import annotations

import enum

import numpy as np

import FormulaBindings as fb

from .adder import Adder
from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import (DFF, INV, MIN_W, NAND, as_result, given,
                  logic_cell_height)

__all__ = ["ShiftAdd", "SpikingMode"]


class SpikingMode(enum.IntEnum):
    NONSPIKING = 0   # binary partial sums
    SPIKING = 1      # spike counts


class ShiftAdd(Circuit):
    """`num_unit` shift-adders.

    Records returned: Layout (m^2, m); latency Cost: clock cycles in synchronous mode
    (non-spiking: one cycle per read; spiking: 2^num_adder_bit per read), seconds otherwise,
    with part "adder_latency" (s, the inner adder's delay); power Cost: dynamic_energy J,
    leakage W.

    Sizing attributes parents read: dff (DFF), num_unit, num_adder_bit, num_dff,
    num_read_pulse, clk_freq.
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.adder = Adder(ctx)
        self.dff = DFF(ctx)

    def initialize(self, num_unit: int, num_adder_bit: int, clk_freq: float,
                   spiking_mode: SpikingMode = SpikingMode.NONSPIKING, num_read_pulse: int = 1) -> None:
        F = self.tech.featureSize
        self.num_unit = int(num_unit)
        self.num_adder_bit = int(num_adder_bit)
        self.num_adder = self.num_unit
        self.clk_freq = float(clk_freq)
        self.spiking_mode = SpikingMode(spiking_mode)
        self.num_read_pulse = int(num_read_pulse)
        if self.spiking_mode == SpikingMode.NONSPIKING:
            # adder output is one bit wider; the register extends by num_read_pulse - 1 bits
            self.num_dff = (self.num_adder_bit + 1 + self.num_read_pulse - 1) * self.num_unit
            self.dff.initialize(self.num_dff, clk_freq)
            self.adder.initialize(self.num_adder_bit, self.num_adder, clk_freq)
        else:
            self.num_bit_per_dff = 2 ** self.num_adder_bit
            self.num_dff = self.num_bit_per_dff * self.num_unit
            self.dff.initialize(self.num_dff, clk_freq)
        self.width_inv_n = MIN_W * F
        self.width_inv_p = self.tech.pnSizeRatio * MIN_W * F
        self.num_inv = self.num_unit
        self.width_nand_n = 2 * MIN_W * F
        self.width_nand_p = self.tech.pnSizeRatio * MIN_W * F
        self.num_nand = 3 * (self.num_dff // self.num_unit - 1) * self.num_unit if self.num_unit else 0
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        nand_n = self.width_nand_n
        if tech.node_nm <= 2 and self.param.speciallayout:
            nand_n = nand_n / 2.0
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
        _, h_nand, w_nand = fb.gate_area(NAND, 2, nand_n, self.width_nand_p, tech)
        binary = self.spiking_mode == SpikingMode.NONSPIKING
        if given(new_width) and mode == AreaModify.NONE:
            if binary:
                adder = self.adder.calculate_area(None, new_width, AreaModify.NONE)
            dff = self.dff.calculate_area(None, new_width, AreaModify.NONE)
            height = logic_cell_height(tech) + dff.height   # + one row of INV/NAND2
            if binary:
                height += adder.height
            width = new_width
        else:
            # (the reference takes this branch for any non-NONE option too, with whatever
            # height it was given)
            h = new_height if given(new_height) else None
            if binary:
                adder = self.adder.calculate_area(h, None, AreaModify.NONE)
            dff = self.dff.calculate_area(h, None, AreaModify.NONE)
            height = new_height if given(new_height) else 0.0
            width = w_inv + w_nand + dff.width
            if binary:
                width += adder.width
        area = height * width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, num_read) -> Cost:
        """Only the last shift-and-add is exposed; earlier ones hide under the next read
        pulse unless they are longer than it."""
        self._require_initialized()
        n = np.asarray(num_read, dtype=float)
        pulse = self.cell.read_pulse_width
        if self.spiking_mode == SpikingMode.NONSPIKING:
            adder = self.adder.calculate_latency(1e20, self.dff.cap_tg_drain, 1)
            step = adder.latency + self.dff.calculate_latency(1e20, 1).latency
            if self.param.synchronous:
                lat = n
            else:
                lat = step + (max(step - pulse, 0.0)) * (n - 1)
        else:
            adder = None
            step = self.dff.calculate_latency(1e20, self.num_bit_per_dff).latency
            if self.param.synchronous:
                lat = self.num_bit_per_dff * n
            else:
                lat = step + (max(step - pulse, 0.0)) * (n - 1)
        read_latency = as_result(lat)
        # the adder's own delay (s), which the sub-array's accumulation timing needs
        return Cost(latency=read_latency,
                    parts={"adder_latency": adder.latency if adder is not None else 0.0})

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        dff = self.dff.calculate_power(num_read, self.num_dff, bool(self.param.validated))
        e = dff.dynamic_energy
        leak = dff.leakage
        if self.spiking_mode == SpikingMode.NONSPIKING:
            adder = self.adder.calculate_power(num_read, self.num_adder)
            e = adder.dynamic_energy + e
            leak = adder.leakage + leak
        read_dynamic_energy = as_result(e)
        leakage = leak
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
