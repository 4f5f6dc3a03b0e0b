"""Column multiplexer: `num_selection` columns share one sense circuit.

Analog mux (the sub-array's case): one transmission gate per column, sized from the
resistance it may add (`res_tg` times the IR-drop tolerance). Digital mux (`fpga=True`):
minimum-size gates, enlarged to fill the standard-cell height.
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from peripherals.base import AreaModify, Circuit, fold_gates, Cost, Layout, modify_layout
from peripherals.row_decoder import (as_result, fin_factor, is_given,
                                     min_cell_width)

__all__ = ["Mux"]

INV = fb.GateType.INV
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


def tg_widths_for_resistance(res_tg, tech, extra_factor=1.0):
    """Transmission-gate N/P widths (m) whose on-resistances, each 2*res_tg, put in parallel
    give res_tg. `extra_factor` scales the reference device resistance (e.g. the linear
    region ratio). Not clamped or rounded."""
    F = tech.featureSize
    w_ref = fin_factor(tech) * F
    r_n = fb.on_resistance(w_ref, NMOS, tech, include_multiplier=False)
    r_p = fb.on_resistance(w_ref, PMOS, tech, include_multiplier=False)
    return (r_n * F * extra_factor / (res_tg * 2), r_p * F * extra_factor / (res_tg * 2))


def snap_tg_widths(width_n, width_p, tech):
    """Multi-gate nodes: round each width up to whole fin pairs; planar: at least 1 F."""
    F = tech.featureSize
    if tech.node_nm <= 14:
        return 2 * math.ceil(width_n / F) * F, 2 * math.ceil(width_p / F) * F
    return max(width_n, F), max(width_p, F)


def tg_resistance(width_n, width_p, tech, kind_p=PMOS):
    """On-resistance (ohm) of an N and a P device in parallel, without the
    effective-resistance multiplier."""
    return 1.0 / (1.0 / fb.on_resistance(width_n, NMOS, tech, include_multiplier=False)
                  + 1.0 / fb.on_resistance(width_p, kind_p, tech, include_multiplier=False))


class Mux(Circuit):
    """Column mux of `num_input` groups, each selecting 1 of `num_selection` columns.

    Figures: area m^2, height/width m; read_latency s (0-to-90 % charge through the gate,
    times num_read); read_dynamic_energy J; leakage W (none modelled).

    Attributes a parent reads (after calculate_area):
      cap_tg_gate_n, cap_tg_gate_p  F, gate capacitance of one gate's N / P device (the mux
                                    decoder drives num_input of each)
      cap_tg_drain                  F, drain capacitance of one gate
      res_tg                        ohm, on-resistance of one gate
      width_tg_shared               m, width per group (width / num_input)
    """

    def initialize(self, num_input: int, num_selection: int, res_tg: float, fpga: bool) -> None:
        tech = self.tech
        F = tech.featureSize
        self.num_input = int(num_input)
        self.num_selection = int(num_selection)
        self.fpga = bool(fpga)
        if self.fpga:
            self.width_tg_n, self.width_tg_p = fb.enlarge_size(
                R.MIN_NMOS_WIDTH * F, tech.pnSizeRatio * R.MIN_NMOS_WIDTH * F, tech, R.CELL_HEIGHT * F)
        else:
            target = res_tg * R.IR_DROP_TOLERANCE
            wn, wp = tg_widths_for_resistance(target, tech)
            self.width_tg_n, self.width_tg_p = snap_tg_widths(wn, wp, tech)
        self.res_tg = tg_resistance(self.width_tg_n, self.width_tg_p, tech)
        self.cap_tg_gate_n = self.cap_tg_gate_p = self.cap_tg_drain = 0.0
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        F = tech.featureSize
        num_tg = self.num_input * self.num_selection
        if self.fpga:
            _, h_tg, w_tg = fb.gate_area(INV, 1, self.width_tg_n, self.width_tg_p, tech, R.CELL_HEIGHT * F)
            if is_given(new_width) and mode == AreaModify.NONE:
                if new_width < w_tg:
                    raise ValueError("Mux: the given width is narrower than one gate")
                per_row = min(int(new_width / w_tg), num_tg)
                self.num_row_tg = math.ceil(num_tg / per_row)
                width = new_width
                height = h_tg * self.num_row_tg
            else:
                width = w_tg * num_tg
                height = h_tg
        else:
            if is_given(new_width) and mode == AreaModify.NONE:
                min_w = min_cell_width(tech)
                self.num_row_tg, self.tg_width = fold_gates(num_tg, new_width, min_w, "Mux", "gate")
                num_fold = int(self.tg_width / (0.5 * min_w)) - 1
            # (a gate narrower than one fold is laid out unfolded; the reference would pass 0)
                _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, max(num_fold, 1), tech)
                width = new_width
                height = h_tg * self.num_row_tg
            else:
                _, h_tg, w_tg = fb.pass_gate_area(self.width_tg_n, self.width_tg_p, 1, tech)
                height = h_tg
                width = w_tg * num_tg
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area
        self.width_tg_shared = width / self.num_input
        self.cap_tg_gate_n = fb.gate_cap(self.width_tg_n, tech)
        self.cap_tg_gate_p = fb.gate_cap(self.width_tg_p, tech)
        self.cap_tg_drain = fb.gate_capacitance(INV, 1, self.width_tg_n, self.width_tg_p, tech, h_tg)[1]
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, ramp_input, cap_load, num_read) -> Cost:
        """ramp_input 1/s (slope of the bit line, unused by the model); cap_load F at the
        mux output; num_read operations (arrays broadcast)."""
        self._require_initialized()
        tr = self.res_tg * (self.cap_tg_drain + 0.5 * self.cap_tg_gate_n + 0.5 * self.cap_tg_gate_p + cap_load)
        read_latency = as_result(2.3 * tr * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_read) -> Cost:
        """Energy of switching the selected gates on: N gates at vdd, the two drain
        capacitances at the read voltage; num_read selections (arrays broadcast)."""
        self._require_initialized()
        tech = self.tech
        vr = self.cell.read_voltage
        leakage = 0.0
        e = self.cap_tg_gate_n * self.num_input * tech.vdd * tech.vdd
        e += (self.cap_tg_drain * 2) * self.num_input * vr * vr
        read_dynamic_energy = as_result(e * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
