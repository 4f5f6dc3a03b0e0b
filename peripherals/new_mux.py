"""Column switch of 1T1R arrays (three transmission gates per column: sense amp / read
voltage / write path). Not used by V1.4's sub-array; ported for completeness."""
from __future__ import annotations


import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, fold_gates, Cost, Layout, modify_layout
from peripherals.mux import tg_resistance
from peripherals.row_decoder import as_result, is_given, min_cell_width

__all__ = ["NewMux"]

INV = fb.GateType.INV
R = fb.rules


class NewMux(Circuit):
    """Three minimum-size (enlarged) transmission gates per column, `num_input` columns.

    Figures: area m^2, height/width m; read_latency s (0-to-90 % charge, 2.3 RC, times
    num_read); write_latency s (the cell's write pulse width times num_write);
    read/write dynamic energy J (arrays broadcast); leakage W (none).

    Sizing attributes a parent reads: res_tg ohm, cap_tg_gate_n/p, cap_tg_drain F.
    The reference never sets its gate resistance before using it in the delay; here it is
    the on-resistance of the gate's N and P devices in parallel.
    """

    def initialize(self, num_input: int) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_input = int(num_input)
        self.width_tg_n, self.width_tg_p = fb.enlarge_size(
            R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        self.res_tg = tg_resistance(self.width_tg_n, self.width_tg_p, tech)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        num_tg = self.num_input * 3
        if is_given(new_width) and mode == AreaModify.NONE:
            min_w = min_cell_width(tech)
            self.num_row_tg_pair, pair_width = fold_gates(num_tg, new_width, min_w * 2, "NewMux",
                                                          "gate pair")
            self.tg_width = pair_width / 2
            num_fold = int(self.tg_width / (0.5 * min_w)) - 1
            # (a gate narrower than one fold is laid out unfolded; the reference would pass 0)
            _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, max(num_fold, 1), tech)
            width = new_width
            height = h_tg * self.num_row_tg_pair
        else:
            _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, 1, tech)
            width = w_tg * 2 * num_tg
            height = h_tg
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, num_read, num_write) -> Cost:
        self._require_initialized()
        tr = self.res_tg * (self.cap_tg_drain + 0.5 * self.cap_tg_gate_n + 0.5 * self.cap_tg_gate_p + cap_load)
        read_latency = as_result(2.3 * tr * np.asarray(num_read, dtype=float))
        # a write lasts one write pulse of the cell (s), from the design parameters
        write_latency = as_result(float(self.param.writePulseWidth) * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency)

    def calculate_power(self, num_read, num_write, num_write_pulse, mode_1t1r: int,
                        activity_row_read, activity_col_write) -> Cost:
        """Read energy (J): three drains at the read voltage and two gates opened per
        column, times num_read and the row activity; write energy for num_write writes.
        Data arguments broadcast."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        vr2 = cell.read_voltage * cell.read_voltage
        vw2 = cell.write_voltage * cell.write_voltage
        n = self.num_input
        cg = self.cap_tg_gate_n + self.cap_tg_gate_p
        cd2 = self.cap_tg_drain * 2
        act_w = np.asarray(activity_col_write, dtype=float)
        leakage = 0.0
        read = (self.cap_tg_drain * 3 * vr2 * n + cg * 2 * vdd2 * n)
        read_dynamic_energy = as_result(
            read * np.asarray(num_read, dtype=float) * np.asarray(activity_row_read, dtype=float))
        if mode_1t1r:
            write = (cd2 * vw2 * num_write_pulse * n * act_w / 2 + cd2 * vw2 * (n - n * act_w / 2)
                     + cd2 * vw2 * num_write_pulse * n * act_w / 2 + cg * vdd2 * n)
        else:
            write = (cd2 * vw2 * num_write_pulse * n * act_w / 2 * 2
                     + cd2 * (cell.write_voltage / 2) ** 2 * n * (1 - act_w) + cg * vdd2 * n)
        # as in the reference, the write energy is per write operation (num_write unused)
        write_dynamic_energy = as_result(write)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
