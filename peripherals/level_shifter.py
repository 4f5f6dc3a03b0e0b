"""Level shifter: lifts logic-level row/column selects to the write voltage of eNVM cells.

The sub-array builds three of them (word lines, bit lines, source lines) for RRAM/FeFET
when the write voltage exceeds 1.5 V. Inference reads only their area.
"""
from __future__ import annotations

import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, Cost, Layout, modify_layout
from peripherals.row_decoder import as_result, is_given

__all__ = ["LevelShifter"]

INV = fb.GateType.INV
PMOS = fb.TransistorKind.PMOS
R = fb.rules


class LevelShifter(Circuit):
    """One shifter per line (`num_output` lines): a low-voltage input stage, a latch pair
    and a high-voltage pull-up.

    With `validated`, the layout follows the calibrated version: devices drawn twice as
    wide in a 2.5x taller cell, the latch and pull-up drawn as long-channel IO devices
    (2.5x width), and the total multiplied by `alpha` for wiring.

    Figures: area m^2, height/width m (the parent gives one of them, the other follows
    from the area); read_latency / write_latency s (low-voltage pull-up, then high-voltage
    pull-up into cap_load); read_dynamic_energy J (low-voltage stage only, scaled by the
    row activity given to initialize); write_dynamic_energy J; leakage W (not modelled).

    The latency Cost carries ramp_output 1/s.
    """

    def initialize(self, num_output: int, activity_row_read: float, clk_freq: float) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_output = int(num_output)
        self.activity_row_read = activity_row_read
        self.clk_freq = clk_freq
        self.width_n = R.MIN_NMOS_WIDTH * F
        self.width_p = tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        area = 0.0
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        wn, wp = self.width_n, self.width_p
        cell_h = R.CELL_HEIGHT * tech.featureSize
        if self.param.validated:
            h = cell_h * 2.5
            _, h_low, w_low = fb.gate_area(INV, 1, wn * 15 * 2, wp * 20 * 2, tech, h)
            _, h_latch, w_latch = fb.gate_area(INV, 1, wn * 32 * 2, wp * 10 * 2, tech, h)
            _, h_high, w_high = fb.gate_area(INV, 1, wn * 64 * 2, wp * 82 * 2, tech, h)
            h_ls = max(h_low, h_latch, h_high)
            w_ls = w_low + (2 * w_latch + w_high) * 2.5
            area = h_ls * w_ls * self.num_output * self.param.alpha
        else:
            _, h_low, w_low = fb.gate_area(INV, 1, wn * 15, wp * 20, tech, cell_h)
            _, h_latch, w_latch = fb.gate_area(INV, 1, wn * 32, wp * 10, tech, cell_h)
            _, h_high, w_high = fb.gate_area(INV, 1, wn * 64, wp * 82, tech, cell_h)
            h_ls = max(h_low, h_latch, h_high)
            w_ls = w_low + 2 * w_latch + w_high
            area = h_ls * w_ls * self.num_output
        if is_given(new_width) and mode == AreaModify.NONE:
            width = new_width
            height = area / width
        elif is_given(new_height) and mode == AreaModify.NONE:
            height = new_height
            width = area / height
        else:
            raise ValueError("LevelShifter: give a height or a width (with AreaModify.NONE)")
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_mid_gate_n = fb.gate_cap(wn * 32, tech)
        self.cap_low_drain = fb.gate_capacitance(INV, 1, wn * 15, wp * 20, tech, h_low)[1]
        self.cap_high_drain = fb.gate_capacitance(INV, 1, wn * 64, wp * 82, tech, h_high)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_read, num_write) -> Cost:
        """cap_load F on the shifted line (res_load unused); num_read / num_write
        operations (arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        r1 = fb.on_resistance(self.width_p * 20, PMOS, tech)
        d1, _ = horowitz(r1 * (self.cap_low_drain + self.cap_mid_gate_n * 2), 1e20)
        r2 = fb.on_resistance(self.width_p * 82, PMOS, tech)
        d2, ramp_output = horowitz(r2 * (cap_load + self.cap_high_drain), 1e20)
        d = d1 + d2
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        write_latency = as_result(d * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write, active_row_read, cap_load: float = 0.0) -> Cost:
        """Dynamic energy (J). Quirk kept: the read energy uses the row activity given to
        initialize, not `active_row_read`. `cap_load` F: the load it drives (the write
        energy counts it; NeuroSim takes the load of its last latency step, 0 before one).
        Arrays broadcast."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        leakage = 0.0
        low = (self.cap_low_drain + self.cap_mid_gate_n * 2) * vdd2
        read = low * self.num_output * np.asarray(self.activity_row_read, dtype=float)
        read_dynamic_energy = as_result(read * np.asarray(num_read, dtype=float))
        write = low + (cap_load + self.cap_high_drain) * 2 * cell.write_voltage * cell.write_voltage
        write_dynamic_energy = as_result(write * np.asarray(num_write, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
