"""Address decoder (predecode INV + NAND2 stage, NOR stage, output drivers).

Used by the sub-array as the word-line decoder of the sequential read modes (one row per
step) and as the column-mux decoder (`mux=True`: a NAND + two inverters drive the N and
P gates of the mux transmission gates).

This module also holds the small layout helpers shared by the driving/selection circuits
of `peripherals/` (node-dependent standard-cell height and pitch, layout adaptation to a
parent's height or width, scalar/array result conversion).
"""
from __future__ import annotations

import enum
import math

import numpy as np

import FormulaBindings as fb

from peripherals.base import (AreaModify, Circuit, as_result, horowitz, is_given, Cost, Layout,
                              modify_layout)

__all__ = [
    "DecoderMode", "REGULAR_ROW", "REGULAR_COL", "ROW_MODE", "COL_MODE", "RowDecoder",
    "min_cell_height", "min_cell_width", "metal_pitches", "fin_factor",
    "as_result", "is_given",
]

INV, NOR, NAND = fb.GateType.INV, fb.GateType.NOR, fb.GateType.NAND
NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
R = fb.rules


class DecoderMode(enum.IntEnum):
    """Which side of the array a decoder's outputs run along."""
    REGULAR_ROW = 0   # outputs stacked along the array height (one per row)
    REGULAR_COL = 1   # outputs placed along the array width


REGULAR_ROW = DecoderMode.REGULAR_ROW
REGULAR_COL = DecoderMode.REGULAR_COL

# Orientation of switch matrices and decoder drivers: connected to the rows (placed on the
# left of the array, laid out along its height) or to the columns (below it, along its width).
ROW_MODE = 0
COL_MODE = 1


# --------------------------------------------------------------------------- helpers

def fin_factor(tech) -> int:
    """Multi-gate nodes (<= 14 nm) draw a "minimum" device as two F (one fin pair)."""
    return 2 if tech.node_nm <= 14 else 1


def min_cell_height(tech) -> float:
    """Standard-cell (transistor region) height in m: 28 F on planar nodes, the node's own
    cell height on FinFET/GAA nodes (computed as 28 F scaled, like the reference)."""
    h = R.CELL_HEIGHT * tech.featureSize
    if tech.node_nm <= 14:
        h *= R.cell_height_in_F(tech.node_nm) / R.CELL_HEIGHT
    return h


def min_cell_width(tech) -> float:
    """Width of the narrowest standard cell holding one gate, in m: two contacted poly
    pitches (the node's CPP on FinFET/GAA nodes)."""
    planar_cpp = R.POLY_WIDTH + R.GATE_POLY_GAP
    w = 2 * planar_cpp * tech.featureSize
    if tech.node_nm <= 14:
        w *= R.contacted_poly_pitch_in_F(tech.node_nm) / planar_cpp
    return w


def metal_pitches(tech) -> tuple[float, float]:
    """(M2 pitch, M3 pitch) in units of F for the node."""
    m2, m3 = R.METAL2_PITCH, R.METAL3_PITCH
    if tech.node_nm <= 14:
        m2 *= R.metal2_pitch_in_F(tech.node_nm) / R.METAL2_PITCH
        m3 *= R.metal3_pitch_in_F(tech.node_nm) / R.METAL3_PITCH
    return m2, m3


def _ron(width, kind, tech):
    return fb.on_resistance(width, kind, tech)


# --------------------------------------------------------------------------- RowDecoder

class RowDecoder(Circuit):
    """Row (or mux) decoder with 2-bit predecoding.

    Structure for `num_addr_row` = n address bits: n inverters, 4*floor(n/2) NAND2
    predecoders, 2^n NOR gates of ceil(n/2) inputs (only when n > 2), then per output either
    two inverters (regular word-line driver) or a NAND + two inverters (mux enable: the
    second inverter drives the N gates, the third the P gates of the mux transmission
    gates). The final driver is scaled by `sizingfactor_MUX` / `sizingfactor_WLdecoder`.

    Figures: area m^2, height/width m; read_latency / write_latency s (seconds, also in
    synchronous mode: the sub-array turns them into a sensing cycle); read/write dynamic
    energy J (read energy times `epsilon` when `validated`); leakage W.

    The latency Cost's ramp_output (1/s) is the input ramp of a following word-line driver
    (the reference hands on the slope of the first driver inverter, not of the last stage;
    reproduced).

    Sizing attributes a parent reads:
      num_nor          NOR gates (= outputs when n > 2)
      cap_*_input / cap_*_output  F, gate input/output capacitances set by calculate_area
    """

    def initialize(self, mode: DecoderMode, num_addr_row: int, mux: bool, parallel: bool) -> None:
        tech = self.tech
        F = tech.featureSize
        wmin = R.MIN_NMOS_WIDTH
        pn = tech.pnSizeRatio
        self.mode = DecoderMode(mode)
        self.num_addr_row = n = int(num_addr_row)
        self.mux = bool(mux)
        self.parallel = bool(parallel)
        cell_h = R.CELL_HEIGHT * F

        self.num_inv = n
        self.num_nand = 4 * (n // 2)
        self.num_nor = 2 ** n if n > 2 else 0
        self.num_metal_connection = (self.num_nand + (n % 2) * 2) if n > 2 else 0
        self.nor_inputs = max(1, math.ceil(n / 2))

        if self.parallel:
            # 8x up-sized decoder, no layout enlargement
            k = 8
            self.width_inv_n, self.width_inv_p = k * wmin * F, k * pn * wmin * F
            self.width_nand_n, self.width_nand_p = k * 2 * wmin * F, k * pn * wmin * F
            self.width_nor_n = k * wmin * F
            self.width_nor_p = k * math.ceil(n / 2) * pn * wmin * F
            self.width_driver_inv_n = k * 3 * wmin * F
            self.width_driver_inv_p = k * 3 * pn * wmin * F
        else:
            self.width_inv_n, self.width_inv_p = fb.enlarge_size(wmin * F, pn * wmin * F, tech, cell_h)
            self.width_nand_n, self.width_nand_p = fb.enlarge_size(2 * wmin * F, pn * wmin * F, tech, cell_h)
            self.width_nor_n, self.width_nor_p = fb.enlarge_size(
                wmin * F, math.ceil(n / 2) * pn * wmin * F, tech, cell_h)
            sizing = self.param.sizingfactor_MUX if self.mux else self.param.sizingfactor_WLdecoder
            self.width_driver_inv_n = 2 * wmin * F * sizing
            self.width_driver_inv_p = 2 * pn * wmin * F * sizing
        self.initialized = True

    # ------------------------------------------------------------------ area
    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        F = tech.featureSize
        cell_h = R.CELL_HEIGHT * F
        m2, m3 = metal_pitches(tech)
        a_inv, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech, cell_h)
        a_nand, h_nand, w_nand = fb.gate_area(NAND, 2, self.width_nand_n, self.width_nand_p, tech, cell_h)
        a_nor, h_nor, w_nor = fb.gate_area(NOR, self.nor_inputs, self.width_nor_n, self.width_nor_p, tech, cell_h)
        a_drv, h_drv, w_drv = fb.gate_area(INV, 1, self.width_driver_inv_n, self.width_driver_inv_p, tech, cell_h)
        num_inv, num_nand, num_nor = self.num_inv, self.num_nand, self.num_nor

        if self.mode == REGULAR_ROW:
            if is_given(new_height) and mode == AreaModify.NONE:
                nor_per_col = min(int(new_height / h_nor), num_nor)
                cols_nor = math.ceil(num_nor / nor_per_col) if nor_per_col > 0 else 0
                nand_per_col = min(int(new_height / h_nand), num_nand)
                cols_nand = math.ceil(num_nand / nand_per_col) if nand_per_col > 0 else 0
                # Quirk kept: the reference tests the (still zero) inverter column count
                # before computing it, so the predecode inverters never add width here.
                cols_inv = 0
                height = new_height
                width = (w_inv * cols_inv + w_nand * cols_nand
                         + m3 * self.num_metal_connection * F + w_nor * cols_nor)
                if self.mux:
                    width += (w_nand + w_drv * 2) * cols_nor
                else:
                    width += (w_drv * 2) * cols_nor
            else:
                height = max(h_nor * num_nor, h_nand * num_nand)
                width = w_inv + w_nand + m3 * self.num_metal_connection * F + w_nor
                width += (w_nand + w_drv * 2) if self.mux else (w_drv * 2)
        else:
            if is_given(new_width) and mode == AreaModify.NONE:
                nor_per_row = min(int(new_width / w_nor), num_nor)
                rows_nor = math.ceil(num_nor / nor_per_row) if nor_per_row > 0 else 0
                nand_per_row = min(int(new_width / w_nand), num_nand)
                rows_nand = math.ceil(num_nand / nand_per_row) if nand_per_row > 0 else 0
                inv_per_row = min(int(new_width / w_inv), num_inv)
                if inv_per_row <= 0:
                    raise ValueError("RowDecoder: the given width is narrower than one inverter")
                rows_inv = math.ceil(num_inv / inv_per_row)
                width = new_width
                height = (h_inv * rows_inv + h_nand * rows_nand
                          + m2 * self.num_metal_connection * F + h_nor * rows_nor)
                if self.mux:
                    height += (h_nand + h_drv * 2) * rows_nor
                else:
                    height += (h_drv * 2) * rows_nor
            else:
                height = h_inv + h_nand + m2 * self.num_metal_connection * F + h_nor
                width = max(w_nor * num_nor, w_nand * num_nand)
                height += (h_nand + h_drv * 2) if self.mux else (h_drv * 2)
        area = height * width
        layout = modify_layout(self, height, width, area, new_height, new_width, mode)
        height, width, area = layout.height, layout.width, layout.area

        self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
            INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
        if num_nand:
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
                NAND, 2, self.width_nand_n, self.width_nand_p, tech, h_nand)
        else:
            self.cap_nand_input = self.cap_nand_output = 0.0
        if num_nor:
            self.cap_nor_input, self.cap_nor_output = fb.gate_capacitance(
                NOR, self.nor_inputs, self.width_nor_n, self.width_nor_p, tech, h_nor)
        else:
            self.cap_nor_input = self.cap_nor_output = 0.0
        self.cap_driver_inv_input, self.cap_driver_inv_output = fb.gate_capacitance(
            INV, 1, self.width_driver_inv_n, self.width_driver_inv_p, tech, h_drv)
        return Layout(height=height, width=width, area=area)

    # ------------------------------------------------------------------ latency
    def calculate_latency(self, ramp_input, cap_load1, cap_load2, res_load, colnum,
                          num_read, num_write) -> Cost:
        """Decoding delay (s).

        ramp_input 1/s; cap_load1 F (regular: the word line; mux: the N gates of the mux);
        cap_load2 F (mux: the P gates); res_load ohm (regular: word-line resistance);
        colnum: cells on the word line (its capacitance is treated as distributed over
        them); num_read / num_write: operations (arrays broadcast).

        Where the reference gets colnum = 0 (a buffer's asynchronous branch) it divides by
        zero and reports an infinite latency; here the per-cell term is then left out."""
        ramp_output = 1e20
        self._require_initialized()
        tech = self.tech
        delay = 0.0
        ramp_inv = ramp_nand = ramp_nor = 1e20

        r = _ron(self.width_inv_n, NMOS, tech)
        if self.num_nand:
            tr = r * (self.cap_inv_output + self.cap_nand_input * 2)
        else:
            tr = r * (self.cap_inv_output + cap_load1)
        d, ramp_inv = horowitz(tr, ramp_input)
        delay = delay + d
        if not self.num_nand:
            ramp_output = ramp_inv

        if self.num_nand:
            r = _ron(self.width_nand_n, NMOS, tech) * 2
            if self.num_nor:
                tr = r * (self.cap_nand_output + self.cap_nor_input * self.num_nor / 4)
            else:
                tr = r * (self.cap_nand_output + cap_load1)
            d, ramp_nand = horowitz(tr, ramp_inv)
            delay = delay + d
            if not self.num_nor:
                ramp_output = ramp_nand

        if self.num_nor:
            r = _ron(self.width_nor_p, PMOS, tech) * 2
            load = self.cap_nand_input if self.mux else self.cap_inv_input
            tr = r * (self.cap_nor_output + load)
            d, ramp_nor = horowitz(tr, ramp_nand)
            delay = delay + d
            ramp_output = ramp_nor

        if self.mux:
            # enable NAND, then the N-gate driver and the P-gate driver
            r = _ron(self.width_nand_n, NMOS, tech)
            tr = r * (self.cap_nand_output + self.cap_inv_input)
            d, ramp_nand = horowitz(tr, ramp_nor)
            delay = delay + d
            r = _ron(self.width_driver_inv_p, PMOS, tech)
            tr = r * (self.cap_driver_inv_output + self.cap_driver_inv_input + cap_load1)
            d, ramp_inv = horowitz(tr, ramp_nand)
            delay = delay + d
            r = _ron(self.width_driver_inv_n, NMOS, tech)
            tr = r * (self.cap_driver_inv_output + cap_load2)
            d, _ = horowitz(tr, ramp_inv)
            delay = delay + d
            ramp_output = ramp_inv   # quirk kept: slope of the middle inverter
        else:
            r = _ron(self.width_driver_inv_n, NMOS, tech)
            tr = r * (self.cap_driver_inv_output + self.cap_driver_inv_input)
            d, ramp_inv = horowitz(tr, ramp_nor)
            delay = delay + d
            r = _ron(self.width_driver_inv_p, PMOS, tech)
            per_cell = cap_load1 / colnum if is_given(colnum) else 0.0
            tr = r * (self.cap_driver_inv_output + cap_load1) + res_load * (cap_load1 + per_cell) / 2
            d, _ = horowitz(tr, ramp_inv)
            delay = delay + d
            ramp_output = ramp_inv   # quirk kept: slope of the first driver inverter

        read_latency = as_result(delay * np.asarray(num_read, dtype=float))
        write_latency = as_result(delay * np.asarray(num_write, dtype=float))
        return Cost(latency=read_latency, write_latency=write_latency, ramp_output=ramp_output)

    # ------------------------------------------------------------------ power
    def calculate_power(self, num_read, num_write) -> Cost:
        """Leakage (W) and dynamic energy (J) for num_read / num_write decodes (arrays
        broadcast). Every address bit is assumed to switch once per decode."""
        self._require_initialized()
        tech = self.tech
        vdd2 = tech.vdd * tech.vdd
        n = self.num_addr_row
        num_nor = self.num_nor
        leak = fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * self.num_inv
        leak += fb.gate_leakage(NAND, 2, self.width_nand_n, self.width_nand_p, tech) * tech.vdd * self.num_nand
        leak += fb.gate_leakage(NOR, self.nor_inputs, self.width_nor_n, self.width_nor_p, tech) * tech.vdd * num_nor
        if self.mux:
            leak += fb.gate_leakage(NAND, 2, self.width_nand_n, self.width_nand_p, tech) * tech.vdd * num_nor
            # the enable inverters are counted at predecoder size (as in the reference)
            leak += fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * tech.vdd * 2 * num_nor
        else:
            leak += fb.gate_leakage(INV, 1, self.width_driver_inv_n, self.width_driver_inv_p, tech) * tech.vdd * 2 * num_nor
        leakage = leak

        pairs = (n // 2) * 2
        e = (self.cap_inv_input + self.cap_nand_input * 2) * vdd2 * pairs
        e += (self.cap_inv_input + self.cap_nor_input * num_nor / 2) * vdd2 * (n - pairs)
        e += (self.cap_nand_output + self.cap_nor_input * num_nor / 4) * vdd2 * self.num_nand / 4
        if self.mux:
            e += (self.cap_nor_output + self.cap_nand_input) * vdd2
            e += (self.cap_nand_output + self.cap_driver_inv_input) * vdd2
            e += (self.cap_driver_inv_output + self.cap_driver_inv_input) * vdd2
            e += self.cap_driver_inv_output * vdd2
        else:
            e += (self.cap_nor_output + self.cap_inv_input) * vdd2
            e += (self.cap_driver_inv_input + self.cap_driver_inv_output) * vdd2 * 2
        read = e * np.asarray(num_read, dtype=float)
        write = e * np.asarray(num_write, dtype=float)
        if self.param.validated:
            read = read * self.param.epsilon   # control-circuit activity calibration
        read_dynamic_energy = as_result(read)
        write_dynamic_energy = as_result(write)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    write_dynamic_energy=write_dynamic_energy)
