"""Switch matrix: a row (or column) of transmission-gate pairs with a DFF per line that
latches whether the line is selected.

In the sub-array it drives the word lines of SRAM / crossbar arrays in parallel read
(ROW_MODE: every active row at once) and the source lines of RRAM arrays (COL_MODE).
"""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates, Cost, Layout, modify_layout
from peripherals.mux import snap_tg_widths, tg_resistance, tg_widths_for_resistance
from peripherals.row_decoder import (COL_MODE, ROW_MODE, as_result,
                                     is_given, min_cell_height, min_cell_width)

__all__ = ["SwitchMatrix", "ROW_MODE", "COL_MODE"]

INV = fb.GateType.INV
R = fb.rules


class SwitchMatrix(Circuit):
    """Transmission-gate switch matrix with its selection DFFs.

    The gates are sized so that N and P in parallel give `res_tg * switchmatrixsizeratio`
    (linear-region on-resistance), then rounded to fins (<= 14 nm) or clamped to >= 1 F.

    Figures: area m^2, height/width m; read_latency s: an RC (0.69 RC + distributed wire)
    delay times num_read; read_dynamic_energy J (activity-dependent in ROW_MODE, arrays
    broadcast; includes the DFF clocking energy); leakage W (the DFFs only);
    write_latency s, write_dynamic_energy J.

    Sizing attributes a parent reads:
      res_tg          ohm, on-resistance of one gate pair member (N || P)
      cap_tg_gate_n, cap_tg_gate_p, cap_tg_drain   F (after calculate_area)
      dff             the DFF column (peripherals.dff.DFF)
    """

    def initialize(self, mode: int, num_output: int, res_tg: float, neuro: bool, parallel_write: bool,
                   activity_row_read: float, activity_col_write: float,
                   num_write_cell_per_operation_memory: int, num_write_cell_per_operation_neuro: int,
                   num_write_pulse: float, clk_freq: float) -> None:
        from peripherals.dff import DFF  # owned by another module; imported when needed
        tech = self.tech
        self.mode = int(mode)
        self.num_output = int(num_output)
        self.neuro = bool(neuro)
        self.parallel_write = bool(parallel_write)
        self.activity_row_read = activity_row_read
        self.activity_col_write = activity_col_write
        self.num_write_cell_per_operation_memory = num_write_cell_per_operation_memory
        self.num_write_cell_per_operation_neuro = num_write_cell_per_operation_neuro
        self.num_write_pulse = num_write_pulse
        self.clk_freq = clk_freq
        self.dff = DFF(self.ctx)
        self.dff.initialize(self.num_output, clk_freq)
        target = res_tg * self.param.switchmatrixsizeratio
        wn, wp = tg_widths_for_resistance(target, tech, R.LINEAR_REGION_RATIO)
        self.width_tg_n, self.width_tg_p = snap_tg_widths(wn, wp, tech)
        self.res_tg = tg_resistance(self.width_tg_n, self.width_tg_p, tech)
        self.cap_tg_gate_n = self.cap_tg_gate_p = self.cap_tg_drain = 0.0
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        n = self.num_output
        if self.mode == ROW_MODE:
            min_h = min_cell_height(tech)
            if is_given(new_height) and mode == AreaModify.NONE:
                self.num_col_tg_pair, self.tg_height = fold_gates(n, new_height, min_h, "SwitchMatrix",
                                                                  "gate")
                _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, self.tg_height)
                dff = self.dff.calculate_area(new_height, None, AreaModify.NONE)
                height = new_height
                width = (w_tg * 2) * self.num_col_tg_pair + dff.width
            else:
                _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, min_h)
                height = h_tg * n
                dff = self.dff.calculate_area(height, None, AreaModify.NONE)
                width = (w_tg * 2) + dff.width
        else:
            if is_given(new_width) and mode == AreaModify.NONE:
                min_w = min_cell_width(tech)
                self.num_row_tg_pair, pair_width = fold_gates(n, new_width, min_w * 2, "SwitchMatrix",
                                                              "gate pair")
                self.tg_width = pair_width / 2
                num_fold = int(self.tg_width / (0.5 * min_w)) - 1
                # a gate narrower than one fold cannot fold less than once
                _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, max(num_fold, 1), tech)
                dff = self.dff.calculate_area(None, new_width, AreaModify.NONE)
                width = new_width
                height = h_tg * self.num_row_tg_pair + dff.height
            else:
                _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, 1, tech)
                width = w_tg * 2 * n
                dff = self.dff.calculate_area(None, width, AreaModify.NONE)
                height = h_tg + dff.height
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, res_load, num_read, num_write, *,
                          unit_cap: float, unit_res: float, drive_cap_in: float = 0.0) -> Cost:
        """Line charge time (s).

        The model drives a distributed line of `numColSubArray / (buffernumber + 1)` cells:
        `unit_cap` (F) and `unit_res` (ohm) per cell, plus, with repeaters, the repeater
        input capacitance `drive_cap_in` (F). These are the values the reference keeps in
        its global parameters (unitcap, unitres, drivecapin); the sub-array must pass
        them. `cap_load` / `res_load` are kept for reference but do not enter the delay.
        num_read / num_write: operations (arrays broadcast); the DFFs are assumed ideal."""
        self._require_initialized()
        p = self.param
        dff = self.dff.calculate_latency(1e20, num_read)
        cap_output = self.cap_tg_drain * 2 + self.cap_tg_gate_n * 0.5 + self.cap_tg_gate_p * 0.5
        section = p.numColSubArray / (p.buffernumber + 1)
        tr = (self.res_tg * cap_output * 0.69
              + unit_cap * section * (0.69 * self.res_tg + 0.38 * unit_res * section))
        if p.buffernumber != 0:
            tr += (unit_cap * section * 0.69 + 0.69 * self.res_tg) * drive_cap_in
        read_latency = as_result(tr * np.asarray(num_read, dtype=float))
        d, ramp_output = horowitz(tr, ramp_input)
        write_latency = as_result(d * np.asarray(num_write, dtype=float) + dff.latency)
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read, num_write, activity_row_read, activity_col_write,
                        num_write_pulse=None) -> Cost:
        """Leakage (W) and read/write dynamic energy (J). In ROW_MODE with neuro=True the
        read energy scales with `activity_row_read` (fraction of rows driven); num_read,
        num_write and the activities may be arrays (they broadcast). `num_write_pulse`:
        the write pulses per selected cell of this call (default: the one it was sized
        with; an array broadcasts, e.g. per sub-array when programming the weights)."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        vr2 = cell.read_voltage * cell.read_voltage
        vw = cell.write_voltage
        vw2 = vw * vw
        n = self.num_output
        cg = self.cap_tg_gate_n + self.cap_tg_gate_p
        cd3 = self.cap_tg_drain * 3
        num_read = np.asarray(num_read, dtype=float)
        num_write = np.asarray(num_write, dtype=float)
        act_r = np.asarray(activity_row_read, dtype=float)
        act_w = np.asarray(activity_col_write, dtype=float)

        dff = self.dff.calculate_power(num_read, n, False)
        leakage = dff.leakage

        if not self.neuro:
            e = cd3 * vr2 + cg * vdd2
        elif self.mode == ROW_MODE:
            e = (cd3 * vr2 + cg * vdd2) * n * act_r
        else:
            e = 0.0   # columns are not switched during a read
        read_dynamic_energy = as_result(e * num_read + dff.dynamic_energy)

        mem_sel = min(self.num_write_cell_per_operation_memory, n)
        neuro_sel = np.minimum(self.num_write_cell_per_operation_neuro, n * act_w)
        pulses = self.num_write_pulse if num_write_pulse is None else np.asarray(num_write_pulse, dtype=float)
        if cell.access == "CMOS":
            if self.mode == ROW_MODE:
                w = cg * vdd2 * 2
            elif not self.neuro:
                w = cd3 * vw2 * (n - mem_sel / 2) + cd3 * vw2 * mem_sel / 2 + cg * vdd2 * n
            else:
                w = (cd3 * vw2 * pulses * neuro_sel / 2 + cd3 * vw2 * (n - neuro_sel / 2)
                     + cd3 * vw2 * pulses * neuro_sel / 2 + cg * vdd2 * n)
        else:
            half2 = (vw / 2) * (vw / 2)
            if self.mode == ROW_MODE:
                if not self.neuro or not self.parallel_write:
                    w = cd3 * vw2 + cd3 * half2 * (n - 1) + cg * vdd2 * n
                else:
                    w = cd3 * vw2 * n + cg * vdd2 * n
            elif not self.neuro:
                w = cd3 * vw2 * mem_sel / 2 + cd3 * half2 * n + cg * vdd2 * n
            elif self.parallel_write:
                w = cd3 * vw2 * pulses * n * act_w + cg * vdd2 * n
            else:
                w = (cd3 * vw2 * pulses * neuro_sel / 2 * 2 + cd3 * half2 * n + cg * vdd2 * n)
        write_dynamic_energy = as_result(w * num_write + dff.dynamic_energy)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
