"""Decoder driver: transmission gates (plus an inverter) that connect the selected rows or
columns of a crossbar / 1T1R array to the read or write voltages. The sub-array uses it as
the word-line driver of crossbar arrays read row by row."""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, horowitz, fold_gates, Cost, Layout, modify_layout
from peripherals.mux import tg_resistance, tg_widths_for_resistance
from peripherals.row_decoder import (COL_MODE, ROW_MODE, as_result, is_given,
                                     min_cell_height, min_cell_width)

__all__ = ["DecoderDriver", "ROW_MODE", "COL_MODE"]

INV = fb.GateType.INV
R = fb.rules


class DecoderDriver(Circuit):
    """Driver of `num_output` lines. The gates are sized so that the pair adds at most the
    IR-drop tolerance of (on-state cell resistance / num_load); unlike the switch matrix
    the widths are neither rounded to fins nor clamped (as in the reference).

    Figures: area m^2, height/width m; read_latency / write_latency s (Horowitz delay of
    the gate charging cap_load1, times num_read / num_write); read/write dynamic energy J
    (arrays broadcast); leakage W (one inverter per line).

    Sizing attributes a parent reads: res_tg ohm, cap_tg_gate_n/p, cap_tg_drain F.
    The latency Cost carries ramp_output 1/s.
    """

    def initialize(self, mode: int, num_output: int, num_load: int, *, res_mem_cell_on: float | None = None) -> None:
        """`res_mem_cell_on` (ohm): on-state resistance of one cell as the reference's
        sub-array has set it (crossbar: resistanceOn; 1T1R: resistanceOn plus an access
        transistor of IR_DROP_TOLERANCE x resistanceOn). Defaults to that value."""
        tech, cell = self.tech, self.cell
        F = tech.featureSize
        self.mode = int(mode)
        self.num_output = int(num_output)
        self.width_inv_n, self.width_inv_p = fb.enlarge_size(
            R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        if res_mem_cell_on is None:
            res_mem_cell_on = cell.resistance_on
            if cell.access == "CMOS":
                res_mem_cell_on += cell.resistance_on * R.IR_DROP_TOLERANCE
        target = res_mem_cell_on / num_load * R.IR_DROP_TOLERANCE
        self.width_tg_n, self.width_tg_p = tg_widths_for_resistance(target, tech)
        self.res_tg = tg_resistance(self.width_tg_n, self.width_tg_p, tech)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech, cell = self.tech, self.cell
        n = self.num_output
        min_h = min_cell_height(tech)
        min_w = min_cell_width(tech)
        if is_given(new_height) and mode == AreaModify.NONE:
            self.num_col_tg, self.tg_height = fold_gates(n, new_height, min_h, "DecoderDriver", "gate")
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, self.tg_height)
        elif is_given(new_width) and mode == AreaModify.NONE:
            self.num_row_tg, self.tg_width = fold_gates(n, new_width, min_w, "DecoderDriver", "gate")
            num_fold = int(self.tg_width / (0.5 * min_w)) - 1
            # (a gate narrower than one fold is laid out unfolded; the reference would pass 0)
            _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, max(num_fold, 1), tech)
        else:
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, min_h)
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, min_h)

        gates = 3 if cell.access == "CMOS" else 2
        if self.mode == ROW_MODE:
            h_unit, w_unit = max(h_inv, h_tg), w_inv + w_tg * gates
            if is_given(new_height) and mode == AreaModify.NONE:
                per_col = int(new_height / h_unit)
                cols = min(math.ceil(n / per_col), n) if per_col > 0 else n
                height = new_height
                width = w_unit * cols
            else:
                height = h_unit * n
                width = w_unit
        else:
            h_unit, w_unit = h_inv + h_tg * gates, max(w_inv, w_tg)
            if is_given(new_width) and mode == AreaModify.NONE:
                per_row = int(new_width / w_unit)
                rows = min(math.ceil(n / per_row), n) if per_row > 0 else n
                height = h_unit * rows
                width = new_width
            else:
                height = h_unit
                width = w_unit * n
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load1, cap_load2, res_load, num_read, num_write) -> Cost:
        """cap_load1 F: worst-case line load (1T1R source line, crossbar WL/BL); cap_load2 F:
        1T1R bit line (not used by the delay); res_load ohm; num_read / num_write
        operations (arrays broadcast)."""
        self._require_initialized()
        cap_output = self.cap_tg_drain * 4 + self.cap_tg_gate_n * 0.5 + self.cap_tg_gate_p * 0.5
        tr = self.res_tg * (cap_output + cap_load1) + res_load * cap_load1 / 2
        d, ramp_output = horowitz(tr, ramp_input)
        read_latency = as_result(d * np.asarray(num_read, dtype=float))
        # The reference accumulates into its write latency without clearing it first; here
        # each call starts from zero.
        write_latency = as_result(d * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read_cell_per_op, num_write_cell_per_op, num_read, num_write) -> Cost:
        """Leakage (W); dynamic energy (J) of switching num_read_cell_per_op (write:
        num_write_cell_per_op) lines per operation, num_read / num_write operations. All
        data arguments broadcast."""
        self._require_initialized()
        tech, cell = self.tech, self.cell
        vdd2 = tech.vdd * tech.vdd
        vr2 = cell.read_voltage * cell.read_voltage
        vw = cell.write_voltage
        n = self.num_output
        cn, cp, cd = self.cap_tg_gate_n, self.cap_tg_gate_p, self.cap_tg_drain
        rd = np.asarray(num_read_cell_per_op, dtype=float)
        wr = np.asarray(num_write_cell_per_op, dtype=float)
        leakage = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * n
        if cell.access == "CMOS":
            read = ((self.cap_inv_input + cn * 2 + cp) * vdd2 * rd
                    + (self.cap_inv_output + cp * 2 + cn) * vdd2 * rd)
            write = ((self.cap_inv_input + cn * 2 + cp) * vdd2 * wr
                     + (self.cap_inv_output + cp * 2 + cn) * vdd2 * wr
                     + (cd * 2) * vw * vw * wr)
        else:
            read = ((self.cap_inv_input + cn + cp) * vdd2 * rd
                    + (self.cap_inv_output + cp + cn) * vdd2 * rd
                    + (cd * 2) * vr2 * (n - rd))
            write = ((self.cap_inv_input + cn + cp) * vdd2 * wr
                     + (self.cap_inv_output + cp + cn) * vdd2 * wr)
            if self.mode == ROW_MODE:
                write = write + (cd * 2) * vw * vw * wr
            write = write + (cd * 2) * (vw / 2) * (vw / 2) * (n - wr)
        read_dynamic_energy = as_result(read * np.asarray(num_read, dtype=float))
        write_dynamic_energy = as_result(write * np.asarray(num_write, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
