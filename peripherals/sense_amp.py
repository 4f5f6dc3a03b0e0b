"""Voltage sense amplifier of SRAM columns (sequential read): a latch-type amplifier per
column, pitch-matched to the column."""
from __future__ import annotations

import math
import warnings

import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, fin_factor, is_given

__all__ = ["SenseAmp"]

INV = fb.GateType.INV
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class SenseAmp(Circuit):
    """Latch voltage sense amp per column (cross-coupled pair W_P/W_N, isolation, enable),
    laid out in the column pitch `pitch_sense_amp`.

    Figures: area m^2 (sum of device areas; the parent gives a width or a height, the
    other follows); read_latency s: regeneration time capLoad/gm * ln(vdd / sense_voltage)
    times num_read; read_dynamic_energy J (arrays broadcast); leakage W (enable device).

    Sizing attribute a parent reads: cap_load F (sense node capacitance, after calculate_area).
    Only voltage sensing exists; `current_sense=True` raises on calculate_area (the
    reference stops there too).
    """

    def initialize(self, num_col: int, current_sense: bool, sense_voltage: float, pitch_sense_amp: float,
                   clk_freq: float, num_read_cell_per_operation_neuro: int) -> None:
        tech = self.tech
        self.num_col = int(num_col)
        self.current_sense = bool(current_sense)
        self.sense_voltage = sense_voltage
        self.pitch_sense_amp = pitch_sense_amp
        self.clk_freq = clk_freq
        self.num_read_cell_per_operation_neuro = num_read_cell_per_operation_neuro
        if pitch_sense_amp <= tech.featureSize * 6:
            # the reference only reports this and goes on with the same formulas
            warnings.warn("SenseAmp: the column pitch is too small for the layout")
        self.cap_load = 0.0
        self.initialized = True

    def _w(self, w_in_f):
        return fin_factor(self.tech) * w_in_f * self.tech.featureSize

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        self._require_initialized()
        if self.current_sense:
            raise NotImplementedError("SenseAmp: current sensing is not modelled")
        tech = self.tech
        pitch = self.pitch_sense_amp
        a_p = fb.gate_area(INV, 1, 0.0, self._w(R.SENSE_AMP_WIDTH_P), tech, pitch)[0]
        a_iso = fb.gate_area(INV, 1, 0.0, self._w(R.SENSE_AMP_WIDTH_ISO), tech, pitch)[0]
        a_n = fb.gate_area(INV, 1, self._w(R.SENSE_AMP_WIDTH_N), 0.0, tech, pitch)[0]
        a_en = fb.gate_area(INV, 1, self._w(R.SENSE_AMP_WIDTH_ENABLE), 0.0, tech, pitch)[0]
        area = (a_p * 2 + a_n * 2 + a_iso + a_en) * self.num_col
        height = width = 0.0
        if is_given(new_width) and mode == AreaModify.NONE:
            width = new_width
            height = area / new_width
        elif is_given(new_height) and mode == AreaModify.NONE:
            height = new_height
            width = area / new_height
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_load = (fb.gate_cap(self._w(R.SENSE_AMP_WIDTH_P + R.SENSE_AMP_WIDTH_N), tech)
                         + fb.drain_cap(self._w(R.SENSE_AMP_WIDTH_N), NMOS, tech, pitch)
                         + fb.drain_cap(self._w(R.SENSE_AMP_WIDTH_P), PMOS, tech, pitch)
                         + fb.drain_cap(self._w(R.SENSE_AMP_WIDTH_ISO), PMOS, tech, pitch)
                         + fb.drain_cap(self._w(R.SENSE_AMP_WIDTH_MUX), NMOS, tech, pitch))
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        gm = (fb.transconductance(self._w(R.SENSE_AMP_WIDTH_N), NMOS, tech)
              + fb.transconductance(self._w(R.SENSE_AMP_WIDTH_P), PMOS, tech))
        d = self.cap_load / gm * math.log(tech.vdd / self.sense_voltage)
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        idle = fb.gate_leakage(INV, 1, self._w(R.SENSE_AMP_WIDTH_ENABLE), 0.0, tech)
        leakage = idle * tech.vdd * self.num_col
        e = self.cap_load * tech.vdd * tech.vdd * min(self.num_read_cell_per_operation_neuro, self.num_col)
        read_dynamic_energy = as_result(e * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
