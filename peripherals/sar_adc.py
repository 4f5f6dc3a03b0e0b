"""Successive-approximation column ADC (an alternative to the multilevel sense amp).

Area: per ADC a fitted transistor count growing with the resolution, N = log2(levels):
(269 + 109 (N-1)) minimum NMOS and (209 + 73 (N-1)) minimum PMOS. A conversion takes
N + 1 cycles of 1 ns. Energy per conversion: a fitted power (per node and roadmap: a part
linear in N plus a part falling with the column resistance) times the conversion time.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import INV, MIN_W, as_result, given

__all__ = ["SarADC", "sar_column_energy"]

# (slope uW per bit, offset uW, a, c): P = (slope*N + offset)*1e-6 + a*exp(-c*log10(R)).
_SAR_LP = {130: (8.4483, 65.243, 0.169380, 2.303), 90: (5.9869, 37.462, 0.144323, 2.303),
           65: (3.7506, 25.844, 0.121272, 2.303), 45: (2.1691, 16.693, 0.100225, 2.303),
           32: (1.1294, 8.8998, 0.079449, 2.297), 22: (0.538, 4.3753, 0.072341, 2.303),
           14: (0.3132, 2.5681, 0.061085, 2.303), 10: (0.1823, 1.5073, 0.051580, 2.303),
           7: (0.1061, 0.8847, 0.043555, 2.303), 5: (0.0645, 0.5511, 0.0388, 2.303),
           3: (0.0333, 0.2849, 0.0388, 2.303), 2: (0.0207, 0.1764, 0.0313, 2.303),
           1: (0.0101, 0.0843, 0.0288, 2.303)}
_SAR_HP = {130: (6.4806, 49.047, 0.207452, 2.367), 90: (4.3474, 31.782, 0.164900, 2.345),
           65: (2.9503, 22.047, 0.128483, 2.321), 45: (2.1843, 11.931, 0.097754, 2.296),
           32: (1.0157, 7.6286, 0.083709, 2.313), 22: (0.7213, 3.3041, 0.084273, 2.311),
           14: (0.4710, 1.9529, 0.060584, 2.311), 10: (0.3076, 1.1543, 0.049418, 2.311)}
_SAR_HP_SMALL = (0.2008, 0.6823, 0.040310, 2.311)


def sar_column_energy(res, ctx, level_output: int):
    """Energy (J) of one conversion at column resistance(s) `res` (ohm)."""
    p = ctx.param
    r = np.asarray(res, dtype=float) * (0.5 / float(p.readVoltage))
    node = int(p.technode)
    bits = math.log2(level_output)
    if int(p.deviceroadmap) == 1:
        slope, off, a, c = _SAR_HP.get(node, _SAR_HP_SMALL)
    else:
        slope, off, a, c = _SAR_LP.get(node, _SAR_LP[1])
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        val = (slope * bits + off) * 1e-6 + a * np.exp(-c * np.log10(r))
        val = np.where(np.isinf(r), 1e-6, np.where(r == 0, 0.0, val))
    val = val * (1 + 1.3e-3 * (float(p.temp) - 300))
    return val * (bits + 1) * 1e-9


class SarADC(Circuit):
    """`num_col` SAR ADCs of `level_output` levels.

    Figures: area_unit m^2 (one ADC, after calculate_unit_area), area m^2, height/width m;
    read_latency s ((log2 L + 1) ns per conversion x num_read); read_dynamic_energy J;
    leakage 0 W.

    Vectorization: calculate_power takes the column resistances with the columns on the
    last axis (leading axes = independent evaluations); results have the leading shape."""

    def initialize(self, num_col: int, level_output: int, clk_freq: float,
                   num_read_cell_per_operation_neuro: int = 0) -> None:
        F = self.tech.featureSize
        self.num_col = int(num_col)
        self.level_output = int(level_output)
        self.clk_freq = float(clk_freq)
        self.num_read_cell_per_operation_neuro = num_read_cell_per_operation_neuro
        self.width_nmos = MIN_W * F
        self.width_pmos = self.tech.pnSizeRatio * MIN_W * F
        self.area_unit = 0.0
        self.initialized = True

    def calculate_unit_area(self) -> None:
        self._require_initialized()
        tech = self.tech
        _, h_n, w_n = fb.gate_area(INV, 1, self.width_nmos, 0.0, tech)
        _, h_p, w_p = fb.gate_area(INV, 1, 0.0, self.width_pmos, tech)
        bits = math.log2(self.level_output)
        self.area_unit = (h_n * w_n) * (269 + (bits - 1) * 109) + (h_p * w_p) * (209 + (bits - 1) * 73)

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        out_area = 0.0
        height = 0.0
        width = 0.0
        self._require_initialized()
        if not self.area_unit:
            self.calculate_unit_area()
        area = self.area_unit * self.num_col
        if given(new_width) and mode == AreaModify.NONE:
            out_area, width, height = area, new_width, area / new_width
        elif given(new_height) and mode == AreaModify.NONE:
            out_area, height, width = area, new_height, area / new_height
        else:
            raise ValueError("SarADC: needs a width or a height")
        return modify_layout(self, height, width, out_area, new_height, new_width, mode)

    def calculate_latency(self, num_read=1, column_resistance=None) -> Cost:
        self._require_initialized()
        lat = (math.log2(self.level_output) + 1) * 1e-9 * np.asarray(num_read, dtype=float)
        if column_resistance is not None:
            lead = np.shape(column_resistance)[:-1]
            lat = np.broadcast_to(lat, np.broadcast_shapes(np.shape(lat), lead))
        read_latency = as_result(lat)
        return Cost(latency=read_latency)

    def calculate_power(self, column_resistance, num_read=1) -> Cost:
        self._require_initialized()
        e = sar_column_energy(column_resistance, self.ctx, self.level_output)
        e = np.asarray(e).sum(axis=-1) * np.asarray(num_read, dtype=float)
        leakage = 0.0
        read_dynamic_energy = as_result(e)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
