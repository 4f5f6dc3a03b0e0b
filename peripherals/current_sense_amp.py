"""Current-mode sense amplifier with fitted (per node) column delay and power curves.

V1.4's sub-array constructs one (`rowCurrentSenseAmp`) but, in the modes it supports,
only adds its leakage (zero) in BNN sequential mode; ported for completeness.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from peripherals.base import Circuit, Cost, Layout
from peripherals.row_decoder import as_result

__all__ = ["CurrentSenseAmp"]

INV = fb.GateType.INV
R = fb.rules

# Fitted delay curves of the planar LP nodes: T_max(R) = (a ln(R / 1 kohm) + b) ns, and
# the delay as T_max times a polynomial in Rref/R (below / above 0.9).
_DELAY_FITS = {
    130: ((0.2679, 0.0478), (3.915, -5.3996, 2.4653, 0.3856), (0.0004, -0.0087, 0.0742, -0.2725, 1.2211)),
    90: ((0.0586, 1.41), (3.726, -5.651, 2.8249, 0.3574), (0.0000008, -0.00007, 0.0017, -0.0188, 0.9835)),
    65: ((0.1239, 0.6642), (1.3899, -2.6913, 2.0483, 0.3202), (0.0036, -0.0363, 0.1043, -0.0346, 1.0512)),
    45: ((0.0714, 0.7651), (3.7949, -5.6685, 2.6492, 0.4807), (0.000001, -0.00006, 0.0001, -0.0171, 1.0057)),
}
_DELAY_FITS[32] = _DELAY_FITS[45]

# Fitted column power: P(R) = (p0 uW) + k * exp(e * log10(R)), per roadmap and node.
_POWER_HP = {130: (19.898, 0.207452, -2.367), 90: (13.09, 0.164900, -2.345), 65: (9.9579, 0.128483, -2.321),
             45: (7.7017, 0.097754, -2.296), 32: (3.9648, 0.083709, -2.313), 22: (1.8939, 0.084273, -2.311),
             14: (1.2, 0.060584, -2.311), 10: (0.8, 0.049418, -2.311)}
_POWER_HP_DEFAULT = (0.5, 0.040310, -2.311)
_POWER_LP = {130: (18.09, 0.169380, -2.303), 90: (12.612, 0.144323, -2.303), 65: (8.4147, 0.121272, -2.303),
             45: (6.3162, 0.100225, -2.303), 32: (3.0875, 0.079449, -2.297), 22: (1.7, 0.072341, -2.303),
             14: (1.0, 0.061085, -2.303), 10: (0.55, 0.051580, -2.303), 7: (0.35, 0.0235, -2.303),
             5: (0.25914, 0.018602, -2.303), 3: (0.192217, 0.01491, -2.303), 2: (0.16546, 0.013349, -2.303)}
_POWER_LP_DEFAULT = (0.142427, 0.01195, -2.303)


class CurrentSenseAmp(Circuit):
    """Current sense amp per column group, referenced at the mid resistance
    Rref = Ron + (Roff - Ron)/2.

    Figures: area m^2 (per amp: 48 minimum NMOS + 40 minimum PMOS; width limited by the
    height/width ratio); read_latency s: slowest column delay (clamped to 0.5-50 ns) times
    num_col_muxed times num_read; read_dynamic_energy J: sum over columns of delay x power,
    times num_read; leakage W (none).

    `column_resistance` arguments are arrays whose last axis runs over the columns; leading
    axes (operating points) broadcast with num_read. Column resistances are in ohm; the
    fits were made at 0.5 V read, so they are scaled by 0.5 / readVoltage first.

    Sizing attribute a parent reads: area_unit m^2 (one amp, after calculate_unit_area), r_ref ohm.
    """

    def initialize(self, num_col: int, parallel: bool, rowbyrow: bool, clk_freq: float,
                   num_read_cell_per_operation_neuro: int) -> None:
        tech, p = self.tech, self.param
        F = tech.featureSize
        self.num_col = int(num_col)
        self.parallel = bool(parallel)
        self.rowbyrow = bool(rowbyrow)
        self.clk_freq = clk_freq
        self.num_read_cell_per_operation_neuro = num_read_cell_per_operation_neuro
        self.width_nmos = R.MIN_NMOS_WIDTH * F
        self.width_pmos = tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F
        r_start = 1.0 / p.maxConductance
        self.r_ref = r_start + (1.0 / p.minConductance - r_start) / 2
        self.area_unit = 0.0
        self.initialized = True

    def calculate_unit_area(self) -> None:
        self._require_initialized()
        tech = self.tech
        cell_h = R.CELL_HEIGHT * tech.featureSize
        a_n = fb.gate_area(INV, 1, self.width_nmos, 0.0, tech, cell_h)[0]
        a_p = fb.gate_area(INV, 1, 0.0, self.width_pmos, tech, cell_h)[0]
        self.area_unit = a_n * 48 + a_p * 40

    def calculate_area(self, width_array: float) -> Layout:
        """width_array m: the width available per amp (capped so that the amp's
        height/width ratio stays within the limit)."""
        self._require_initialized()
        x = math.sqrt(self.area_unit / R.HEIGHT_WIDTH_RATIO_LIMIT)
        w = min(width_array, x)
        area = self.area_unit * self.num_col
        width = w * self.num_col
        height = self.area_unit / w
        return Layout(height=height, width=width, area=area)

    # ------------------------------------------------------------------ fits
    def _scaled(self, column_resistance):
        r = np.asarray(column_resistance, dtype=float) * (0.5 / self.param.readVoltage)
        valid = np.isfinite(r) & (r != 0)
        return r, valid

    def column_latency(self, column_resistance):
        """Delay (s) of each column (array in, array out); 0 for open (inf), shorted (0)
        or undefined (nan: no active row) columns."""
        p = self.param
        r, valid = self._scaled(column_resistance)
        rs = np.where(valid, r, 1.0)
        if p.deviceroadmap == 1 or p.technode not in _DELAY_FITS:
            t = np.full(rs.shape, 1e-9)
        else:
            (a, b), low, high = _DELAY_FITS[int(p.technode)]
            t_max = (a * np.log(rs / 1000) + b) * 1e-9
            ratio = self.r_ref / rs
            poly_low = low[0] * ratio ** 3 + low[1] * ratio ** 2 + low[2] * ratio + low[3]
            # The reference's middle-range test is written as a chained comparison that is
            # always true in C++, so every ratio above 0.9 takes the upper polynomial.
            poly_high = (high[0] * ratio ** 4 + high[1] * ratio ** 3 + high[2] * ratio ** 2
                         + high[3] * ratio + high[4])
            t = np.where(ratio <= 0.9, t_max * poly_low, t_max * poly_high)
            t = np.where((ratio >= 20) | (ratio <= 0.05), 1e-9, t)
            t = np.maximum(t, 0.0)
        return np.where(valid, t, 0.0)

    def column_power(self, column_resistance):
        """Power (W) of each column; 1 uW for an open column (inf), 0 for a shorted (0) or
        undefined (nan) one."""
        p = self.param
        r, _ = self._scaled(column_resistance)
        node = int(p.technode)
        if p.deviceroadmap == 1:
            p0, k, e = _POWER_HP.get(node, _POWER_HP_DEFAULT)
        else:
            p0, k, e = _POWER_LP.get(node, _POWER_LP_DEFAULT)
        finite = np.isfinite(r) & (r != 0)
        rs = np.where(finite, r, 1.0)
        power = p0 * 1e-6 + k * np.exp(e * np.log10(rs))
        power = np.where(finite, power, 0.0)
        return np.where(np.isinf(r), 1e-6, power)

    # ------------------------------------------------------------------ figures
    def calculate_latency(self, column_resistance, num_col_muxed, num_read) -> Cost:
        self._require_initialized()
        t = np.atleast_1d(self.column_latency(column_resistance))
        if t.shape[-1] == 0:
            slowest = np.zeros(t.shape[:-1])   # no column: nothing to wait for
        else:
            slowest = np.clip(np.max(t, axis=-1), 5e-10, 50e-9)
        read_latency = as_result(slowest * num_col_muxed * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, column_resistance, num_read) -> Cost:
        self._require_initialized()
        leakage = 0.0
        t = np.atleast_1d(self.column_latency(column_resistance))
        pw = np.atleast_1d(self.column_power(column_resistance))
        e = np.sum(t * pw, axis=-1)
        read_dynamic_energy = as_result(e * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
