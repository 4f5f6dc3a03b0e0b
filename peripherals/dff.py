"""D flip-flop bank (registers of the shift-adders, partial-sum accumulators, PE buffers and
the ReLU unit), plus the small helpers the digital units of this package share.

A flip-flop is modelled as twelve minimum inverters side by side (its area) built from two
transmission-gate latches (its capacitances): a clock inverter pair and four clocked
transmission gates switch in every flip-flop of the bank each cycle; the data path (input
latch, feedback, output inverter) switches only in the flip-flops that take a new bit.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, as_result, logic_cell_height, Cost, Layout, modify_layout
from .base import is_given as given

__all__ = ["DFF", "given", "as_result", "logic_cell_height",
           "gaa_layout", "GAA_INV", "GAA_NAND2"]

INV, NOR, NAND = fb.GateType.INV, fb.GateType.NOR, fb.GateType.NAND
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
MIN_W = fb.rules.MIN_NMOS_WIDTH        # minimum NMOS width in F

# Gate-all-around "special layout" (2 nm and 1 nm nodes with `speciallayout`): the minimum
# gates are drawn with fewer sheets; the reference scales the gate input capacitance and
# the drain widths by these per-node factors (gate, N-drain, P-drain).
GAA_INV = {2: (1.0 / 2.0, 4.5 / 15.0, 4.5 / 15.0), 1: (10.5 / 16.0, 4.5 / 10.0, 4.5 / 10.0)}
GAA_NAND2 = {2: (1.0, 22.0 / 15.0, 8.0 / 15.0), 1: (1.0, 23.0 / 15.0, 7.0 / 15.0)}


def gaa_layout(ctx) -> int | None:
    """2 or 1 when the node uses the GAA special standard cells, else None."""
    node = ctx.tech.node_nm
    if node in (1, 2) and bool(ctx.param.speciallayout):
        return int(node)
    return None


class DFF(Circuit):
    """A bank of `num_dff` D flip-flops.

    Figures: area m^2, height/width m; read_latency: clock cycles in synchronous mode
    (= number of reads), seconds otherwise (half a clock period per read); read and
    write dynamic energy J (write = read); leakage W (8 inverters per flip-flop).

    Sizing attributes parents read: num_dff, clk_freq (the clock it was sized with;
    calculate_latency takes the working clock), cap_tg_drain (F, the load a flip-flop presents to the adder driving it), h_dff/w_dff
    (one flip-flop cell), cap_inv_input/cap_inv_output/cap_tg_gate_n/cap_tg_gate_p (F).
    """

    def initialize(self, num_dff: int, clk_freq: float) -> None:
        F = self.tech.featureSize
        self.num_dff = int(num_dff)
        self.clk_freq = float(clk_freq)
        self.width_tg_n = MIN_W * F
        self.width_tg_p = self.tech.pnSizeRatio * MIN_W * F
        self.width_inv_n = MIN_W * F
        self.width_inv_p = self.tech.pnSizeRatio * MIN_W * F
        self._capacitances()
        self.initialized = True

    def _capacitances(self) -> None:
        """Gate/drain capacitances of the flip-flop's inverters and transmission gates (they
        depend on the cell layout only, not on how the bank is arranged)."""
        tech = self.tech
        F = tech.featureSize
        _, h_inv, _ = fb.gate_area(INV, 1, MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech)
        gaa = gaa_layout(self.ctx)
        if gaa is not None:
            g, fn, fp = GAA_INV[gaa]
            self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance_gaa(
                INV, 1, MIN_W * F, MIN_W * F, tech, h_inv, g, fn, fp)
            self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech) * g
            self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech) * g
            self.cap_tg_drain = self.cap_inv_output
        else:
            self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
                INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
            self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
            self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
            self.cap_tg_drain = fb.gate_capacitance(
                INV, 1, self.width_tg_n, self.width_tg_p, tech, h_inv)[1]

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        F = tech.featureSize
        _, h_inv, w_inv = fb.gate_area(INV, 1, MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech)
        self.h_dff = h_inv
        self.w_dff = w_inv * 12
        n = self.num_dff
        if given(new_height) and mode == AreaModify.NONE:
            per_col = int(new_height / self.h_dff)
            per_col = min(per_col, n)
            if per_col == 0:
                # The reference divides by zero here; one flip-flop per column is the
                # smallest layout that exists.
                warnings.warn("DFF: the given height is smaller than one flip-flop")
                per_col = 1
            height = new_height
            width = self.w_dff * math.ceil(n / per_col)
        elif given(new_width) and mode == AreaModify.NONE:
            per_row = int(new_width / self.w_dff)
            per_row = min(per_row, n)
            if per_row == 0:
                warnings.warn("DFF: the given width is smaller than one flip-flop")
                per_row = 1
            width = new_width
            height = self.h_dff * math.ceil(n / per_row)
        else:
            width = self.w_dff * n
            height = self.h_dff
        area = height * width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, ramp_input, num_read, clk_freq: float | None = None) -> Cost:
        """Synchronous: one cycle per read (result in cycles). Otherwise half a clock
        period per read (s), at `clk_freq` (Hz; default: the clock it was sized with)."""
        read_latency = 0.0
        self._require_initialized()
        n = np.asarray(num_read, dtype=float)
        if self.param.synchronous:
            read_latency = as_result(n)
        else:
            clk = self.clk_freq if clk_freq is None else float(clk_freq)
            read_latency = as_result(1.0 / clk / 2 * n)
        return Cost(latency=read_latency)

    def calculate_power(self, num_read, num_dff_per_operation, validated: bool) -> Cost:
        """Energy of `num_read` clock cycles in which `num_dff_per_operation` flip-flops take
        new data (arrays broadcast); scaled by `gamma` when `validated` (the caller decides,
        as in the reference: PE buffers pass False)."""
        self._require_initialized()
        tech = self.tech
        vdd2 = tech.vdd * tech.vdd
        n = self.num_dff
        leak_inv = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd
        gaa = gaa_layout(self.ctx)
        factor = GAA_INV[gaa][0] if gaa is not None else 1.0
        leakage = leak_inv * 8 * n * factor

        cin, cout = self.cap_inv_input, self.cap_inv_output
        active = np.minimum(np.asarray(num_dff_per_operation, dtype=float), n)
        e = (cin + cout) * vdd2 * 4 * n                      # clock inverters
        e += self.cap_tg_gate_n * vdd2 * 2 * n                # clocked transmission gates
        e += self.cap_tg_gate_p * vdd2 * 2 * n
        e = e + (self.cap_tg_drain * 3 + cin) * vdd2 * active  # data into the master latch
        e = e + (self.cap_tg_drain + cout) * vdd2 * active     # feedback
        e = e + (cin + cout) * vdd2 * active                   # output inverter
        e = e * np.asarray(num_read, dtype=float)
        if validated:
            e = e * self.param.gamma
        read_dynamic_energy = as_result(e)
        write_dynamic_energy = read_dynamic_energy
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
