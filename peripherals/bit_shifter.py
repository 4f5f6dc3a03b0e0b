"""Bit shifter: a bank of `num_unit` registers of `num_bit` flip-flops. The chip (or a tile)
uses it as the ReLU activation unit: the sign bit gates the register load, the values are
read out in parallel."""
from __future__ import annotations

import numpy as np

from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import DFF, as_result, given

__all__ = ["BitShifter"]


class BitShifter(Circuit):
    """Figures: area m^2, height/width m; read_latency: clock cycles in synchronous mode
    (one per read), seconds otherwise; read_dynamic_energy J; leakage W.

    Sizing attributes parents read: num_unit, num_bit, num_dff, clk_freq, dff.
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.dff = DFF(ctx)

    def initialize(self, num_unit: int, num_bit: int, clk_freq: float) -> None:
        self.num_unit = int(num_unit)
        self.num_bit = int(num_bit)
        self.clk_freq = float(clk_freq)
        self.num_dff = self.num_bit * self.num_unit
        self.dff.initialize(self.num_dff, clk_freq)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        dff = self.dff.calculate_area(None, None, AreaModify.NONE)
        area = dff.area
        if given(new_width) and mode == AreaModify.NONE:
            width = new_width
            height = area / width
        elif given(new_height):
            height = new_height
            width = area / height
        else:
            # The reference divides by a zero height here; keep the registers' own row.
            height = dff.height
            width = dff.width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, num_read, clk_freq: float | None = None) -> Cost:
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        dff = self.dff.calculate_latency(1e20, 1, clk_freq=clk)
        read_latency = as_result(dff.latency * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        """Every flip-flop of the bank takes data on each read. The reference does not
        apply the flip-flop activity factor `gamma` here (kept)."""
        self._require_initialized()
        dff = self.dff.calculate_power(num_read, self.num_dff, False)
        read_dynamic_energy = dff.dynamic_energy
        leakage = dff.leakage
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
