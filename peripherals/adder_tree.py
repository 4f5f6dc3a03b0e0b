"""Adder tree: sums the partial results of `num_subcore_row` sources (sub-arrays of a PE,
PEs of a tile, tiles of a layer), `num_adder_tree` trees side by side (one per output
column group). Each stage halves the number of operands and adds one bit.

Reference quirks kept (they only change numbers):
- the number of adders of a stage is the integer half of its operand count (an odd
  operand is dropped, not carried), so e.g. 5 inputs use 2 + 1 adders;
- the delay counts the first stage at the input bit width and every later stage as a
  2-bit adder;
- one stage of delay is charged even when a single operand needs no addition (its energy
  is zero then).
"""
from __future__ import annotations

import math

import numpy as np

from .adder import Adder
from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import as_result, given

__all__ = ["AdderTree"]


def _stages(n: int) -> int:
    """ceil(log2(n)) for n >= 1 (0 for n <= 1)."""
    return 0 if n <= 1 else int(math.ceil(math.log2(n)))


class AdderTree(Circuit):
    """Figures: area m^2, height/width m; read_latency: clock cycles in synchronous mode
    (ceil(tree delay x clk_freq) per read), seconds otherwise; read_dynamic_energy J;
    leakage W (of the stages a calculate_power call exercises), returned as records.

    Attributes parents read (sizing): num_subcore_row, num_stage, num_adder_bit,
    num_adder_tree, clk_freq (the clock it was sized with; calculate_latency takes the working clock).
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.adder = Adder(ctx)
        self._stage_adders: dict[tuple[int, int], Adder] = {}

    def _stage(self, bits: int, count: int) -> Adder:
        """The bank of `count` `bits`-bit adders of one tree stage, sized once (a cache of
        sized circuits: nothing here depends on an earlier call)."""
        adder = self._stage_adders.get((bits, count))
        if adder is None:
            adder = self._stage_adders[(bits, count)] = Adder(self.ctx)
            adder.initialize(bits, count, self.clk_freq)
        return adder

    def initialize(self, num_subcore_row: int, num_adder_bit: int, num_adder_tree: int,
                   clk_freq: float) -> None:
        self.num_subcore_row = int(num_subcore_row)
        self.num_stage = _stages(self.num_subcore_row)
        self.num_adder_bit = int(num_adder_bit)
        self.num_adder_tree = int(num_adder_tree)
        self.clk_freq = float(clk_freq)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        bits = self.num_adder_bit
        j = self.num_subcore_row
        full_adders = 0
        for _ in range(_stages(self.num_subcore_row)):
            full_adders += bits * (j // 2)
            bits += 1
            j //= 2
        self.num_adder_each_tree = full_adders
        self.adder.initialize(full_adders, self.num_adder_tree, self.clk_freq)
        if given(new_width) and mode == AreaModify.NONE:
            adder = self.adder.calculate_area(None, new_width, AreaModify.NONE)
            width = new_width
            height = adder.area / width
        elif given(new_height) and mode == AreaModify.NONE:
            adder = self.adder.calculate_area(new_height, None, AreaModify.NONE)
            height = new_height
            width = adder.area / height
        else:
            raise ValueError("AdderTree: needs a width or a height")
        area = height * width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def _operands(self, num_unit_add) -> int:
        n = int(num_unit_add) if num_unit_add else 0
        return n if n else self.num_subcore_row

    def calculate_latency(self, num_read, num_unit_add, cap_load, clk_freq: float | None = None) -> Cost:
        """Delay of one tree summing `num_unit_add` operands (0: all num_subcore_row) times
        `num_read`. `clk_freq`: the working clock (Hz; default: the one it was initialized with)."""
        self._require_initialized()
        j = self._operands(num_unit_add)
        i = _stages(j)
        bits = self.num_adder_bit
        delay = self._stage(bits, j // 2).calculate_latency(1e20, cap_load, 1).latency
        j //= 2
        i -= 1
        while i > 0:
            delay += self._stage(2, j // 2).calculate_latency(1e20, cap_load, 1).latency
            j //= 2
            i -= 1
        if self.param.synchronous:
            delay = math.ceil(delay * (self.clk_freq if clk_freq is None else clk_freq))
        read_latency = as_result(delay * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read, num_unit_add) -> Cost:
        self._require_initialized()
        j = self._operands(num_unit_add)
        bits = self.num_adder_bit
        energy = 0.0
        leak = 0.0
        for _ in range(_stages(j)):
            n_stage = j // 2
            stage = self._stage(bits, n_stage).calculate_power(1, n_stage)
            energy += stage.dynamic_energy
            leak += stage.leakage
            bits += 1
            j //= 2
        read_dynamic_energy = as_result(energy * self.num_adder_tree * np.asarray(num_read, dtype=float))
        leakage = leak * self.num_adder_tree
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
