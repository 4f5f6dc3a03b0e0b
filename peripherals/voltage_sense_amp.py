"""Latch-type voltage sense amplifier (used by the RRAM look-up table of the sigmoid unit).

Per sense amp 6 NMOS and 5 PMOS-sized devices (both laid out as NMOS of the PMOS width, as
the reference does). The delay is the precharge of the internal node plus the time the
cell current difference needs to develop the sense margin on the input capacitance; the
dynamic energy is a fixed 65 nm figure scaled with vdd^2.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import Circuit, Cost, Layout
from .dff import INV, MIN_W, NAND, PMOS, as_result

__all__ = ["VoltageSenseAmp"]


class VoltageSenseAmp(Circuit):
    """`num_read_col` voltage sense amps.

    Initialize arguments (num_read_col, clk_freq) as in the reference plus the on/off
    resistances of a read cell as the sub-array sets them (default: the device's
    resistanceOn / resistanceOff).

    Figures: area_unit m^2, area m^2, height/width m; read_latency s; read_dynamic_energy J;
    leakage W."""

    def initialize(self, num_read_col: int, clk_freq: float, *, res_mem_cell_on: float | None = None,
                   res_mem_cell_off: float | None = None) -> None:
        F = self.tech.featureSize
        self.voltage_sense_diff = 0.1
        self.num_read_col = int(num_read_col)
        self.clk_freq = float(clk_freq)
        self.width_nmos = MIN_W * F
        self.width_pmos = self.tech.pnSizeRatio * MIN_W * F
        self.res_mem_cell_on = float(res_mem_cell_on if res_mem_cell_on is not None else self.cell.resistance_on)
        self.res_mem_cell_off = float(res_mem_cell_off if res_mem_cell_off is not None else self.cell.resistance_off)
        self.area_unit = 0.0
        tech = self.tech
        _, h_n, w_n = fb.gate_area(INV, 1, self.width_nmos, 0.0, tech)
        _, h_p, w_p = fb.gate_area(INV, 1, self.width_pmos, 0.0, tech)
        self._unit = (h_n * w_n) * 6 + (h_p * w_p) * 5
        self.res_precharge = fb.on_resistance(self.width_pmos, PMOS, tech)
        self.cap_nmos_gate, self.cap_nmos_drain = fb.gate_capacitance(INV, 1, self.width_nmos, 0.0, tech, h_n)
        self.cap_pmos_gate, self.cap_pmos_drain = fb.gate_capacitance(INV, 1, self.width_pmos, 0.0, tech, h_p)
        self.cap_s1 = self.cap_nmos_gate + self.cap_nmos_drain + self.cap_pmos_drain
        self.initialized = True

    def calculate_unit_area(self) -> None:
        self._require_initialized()
        self.area_unit = self._unit

    def calculate_area(self, width_voltage_sense_amp=None) -> Layout:
        """Sense amps side by side, each at most `width_voltage_sense_amp` wide and no wider
        than the aspect-ratio limit allows. Without a width the limit width is used (the
        reference would divide by a zero width)."""
        self._require_initialized()
        if not self.area_unit:
            self.calculate_unit_area()
        x = math.sqrt(self.area_unit / fb.rules.HEIGHT_WIDTH_RATIO_LIMIT)
        w = width_voltage_sense_amp if width_voltage_sense_amp else x
        w = min(w, x)
        self.width_voltage_sense_amp = w
        area = self.area_unit * self.num_read_col
        width = w * self.num_read_col
        height = self.area_unit / w
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, cap_input_load, num_read) -> Cost:
        self._require_initialized()
        v = self.cell.read_voltage
        di = v / self.res_mem_cell_on - v / self.res_mem_cell_off
        t = 2.3 * self.res_precharge * self.cap_s1 \
            + self.voltage_sense_diff * (self.cap_s1 + self.cap_nmos_drain + cap_input_load) / di
        read_latency = as_result(t * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        # the sense amp leaks roughly like two NAND2 (the cell side floats)
        leakage = fb.gate_leakage(NAND, 2, self.width_nmos, self.width_pmos, tech) * tech.vdd * 2
        e = 9.845e-15 * (tech.vdd / 1.1) * (tech.vdd / 1.1)
        read_dynamic_energy = as_result(e * self.num_read_col * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
