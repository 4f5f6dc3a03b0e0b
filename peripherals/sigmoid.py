"""Sigmoid activation as a look-up table: a small memory of `num_entry` words of `num_ybit`
bits (the y values), addressed by a row decoder driven by the x value, read by sense amps.
`num_function` tables work in parallel. The table is SRAM (`Activationtype` true) or RRAM.

SRAM table: each word is one row of SRAM cells plus an inverter-high strip; a row decoder
and one voltage sense amp per bit (the sub-array's SenseAmp). RRAM table: rows of RRAM
cells, a row decoder and latch-type voltage sense amps (VoltageSenseAmp).

Reference behaviour kept:
- the table cells use the chip's memory-cell dimensions and SRAM transistor widths, whatever
  the table type;
- the bit-line delay is computed but not added (the read time is decoder + sense amp);
- the leakage counts one table, not num_function tables;
- the RRAM table's decoder sees no extra cell load (the reference reads an unset access
  capacitance there, which is zero in practice).
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import INV, MIN_W, NMOS, PMOS, as_result, given
from .voltage_sense_amp import VoltageSenseAmp

__all__ = ["Sigmoid"]

UNIT_WIRE_CAP = 0.2e-15 / 1e-6     # F/m


class Sigmoid(Circuit):
    """Figures: area_unit m^2 (one table), area m^2, height/width m; read_latency: clock
    cycles in synchronous mode (ceil(read time x clk_freq) per read), seconds otherwise;
    read_dynamic_energy J; leakage W.

    Sizing attributes parents read: num_ybit, num_entry, num_function, num_cell, clk_freq,
    col_delay (s, computed bit-line delay of the SRAM table, not part of the latency)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        from .row_decoder import RowDecoder          # owned by the periphery models
        self.wl_decoder = RowDecoder(ctx)
        self.voltage_sense_amp = VoltageSenseAmp(ctx)
        self.sense_amp = None

    def initialize(self, sram: bool, num_ybit: int, num_entry: int, num_function: int,
                   clk_freq: float) -> None:
        tech, p, cell = self.tech, self.param, self.cell
        F = tech.featureSize
        fin = 2 if tech.node_nm <= 14 else 1
        self.sram = bool(sram)
        self.num_ybit = int(num_ybit)
        self.num_entry = int(num_entry)
        self.num_function = int(num_function)
        self.clk_freq = float(clk_freq)
        self.num_cell = self.num_ybit * self.num_entry
        self.width_inv_n = MIN_W * F
        self.width_inv_p = tech.pnSizeRatio * MIN_W * F
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
        if self.sram:
            self.h_unit = h_inv + cell.height_in_feature_size * F
            self.w_unit = max(w_inv * 3, cell.width_in_feature_size * F) * self.num_ybit
        else:
            self.h_unit = cell.height_in_feature_size * F
            self.w_unit = cell.width_in_feature_size * F * self.num_ybit
        self.num_col = self.num_ybit
        self.num_row = self.num_entry
        self.res_row = self.w_unit * float(p.Metal0_unitwireresis)
        addr_bits = int(math.ceil(math.log2(float(self.num_entry))))
        from .row_decoder import REGULAR_ROW
        self.wl_decoder.initialize(REGULAR_ROW, addr_bits, False, False)
        self.cap_cell_access = 0.0
        if self.sram:
            w_acc = cell.width_access_cmos * fin * F
            self.cap_row1 = self.w_unit * UNIT_WIRE_CAP
            self.cap_col = self.h_unit * self.num_entry * UNIT_WIRE_CAP
            self.res_cell_access = fb.on_resistance(w_acc, NMOS, tech)
            self.cap_cell_access = fb.drain_cap(w_acc, NMOS, tech)
            wn = cell.width_sram_cell_nmos * fin * F
            wp = cell.width_sram_cell_pmos * fin * F
            self.cap_sram_cell = (self.cap_cell_access + fb.drain_cap(wn, NMOS, tech)
                                  + fb.drain_cap(wp, PMOS, tech) + fb.gate_cap(wn, tech)
                                  + fb.gate_cap(wp, tech))
            self.cap_row1 += 2 * fb.gate_cap(w_acc, tech) * self.num_col
            if tech.node_nm <= 14:
                # (the reference adds the FinFET drain term twice)
                extra = tech.cap_draintotal * cell.width_access_cmos * tech.effective_width * self.num_row
                self.cap_col += 2 * extra
            else:
                self.cap_col += fb.drain_cap(w_acc, NMOS, tech) * self.num_row
            self.res_col = self.h_unit * self.num_entry * float(p.Metal1_unitwireresis)
            from .sense_amp import SenseAmp        # owned by the periphery models
            self.sense_amp = SenseAmp(self.ctx)
            self.sense_amp.initialize(self.num_ybit, False, cell.min_sense_voltage,
                                      self.w_unit / self.num_ybit, clk_freq, 1)
        else:
            self.voltage_sense_amp.initialize(self.num_ybit, clk_freq)
        self.area_unit = 0.0
        self.initialized = True

    def calculate_unit_area(self, mode: AreaModify = AreaModify.NONE) -> None:
        self._require_initialized()
        if mode == AreaModify.OVERRIDE:
            raise ValueError("Sigmoid: OVERRIDE needs both a height and a width")
        unit = (self.h_unit * self.w_unit) * self.num_entry
        unit += self.wl_decoder.calculate_area(None, None, AreaModify.NONE).area
        if self.sram:
            unit += self.sense_amp.calculate_area(None, None, AreaModify.NONE).area
        else:
            self.voltage_sense_amp.calculate_unit_area()
            unit += self.voltage_sense_amp.calculate_area(None).area
        self.area_unit = unit

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        height = 0.0
        width = 0.0
        self._require_initialized()
        area = self.area_unit * self.num_function
        if given(new_width) and mode == AreaModify.NONE:
            width = new_width
            height = area / width
        elif given(new_height):
            height = new_height
            width = area / height
        else:
            # the reference divides by a zero height here; use a square
            height = width = math.sqrt(area)
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, num_read, clk_freq: float | None = None) -> Cost:
        col_delay = 0.0
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        tech, cell = self.tech, self.cell
        if self.sram:
            wl_decoder = self.wl_decoder.calculate_latency(1e20, 0.0, self.cap_sram_cell, self.res_row,
                                                           self.num_ybit, 1, 1)
            sense_amp = self.sense_amp.calculate_latency(1)
            fin = 2 if tech.node_nm <= 14 else 1
            r_pd = fb.on_resistance(cell.width_sram_cell_nmos * fin * tech.featureSize, NMOS, tech)
            c_cell = self.cap_col / self.num_row
            r_cell = self.res_col / self.num_row
            elmore = (self.res_cell_access + r_pd) * c_cell * self.num_row \
                + c_cell * r_cell * self.num_row * (self.num_row + 1) / 2
            col_delay = elmore * math.log(tech.vdd / (tech.vdd - cell.min_sense_voltage / 2))
            t = float(wl_decoder.latency) + float(sense_amp.latency)
        else:
            wl_decoder = self.wl_decoder.calculate_latency(1e20, 0.0, self.cap_cell_access, self.res_row,
                                                           self.num_ybit, 1, 1)
            vsa = self.voltage_sense_amp.calculate_latency(0.0, 1)
            t = float(wl_decoder.latency) + float(vsa.latency)
        if self.param.synchronous:
            t = math.ceil(t * clk)
        read_latency = as_result(t * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency, parts={"col_delay": col_delay})

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech, cell = self.tech, self.cell
        wl_decoder = self.wl_decoder.calculate_power(1, 1)
        if self.sram:
            sense_amp = self.sense_amp.calculate_power(1)
            e = float(wl_decoder.dynamic_energy) + float(sense_amp.dynamic_energy)
            fin = 2 if tech.node_nm <= 14 else 1
            leak = fb.gate_leakage(INV, 1, cell.width_sram_cell_nmos * fin * tech.featureSize,
                                   cell.width_sram_cell_pmos * fin * tech.featureSize, tech) * tech.vdd * 2
            leak = leak * self.num_cell + wl_decoder.leakage + sense_amp.leakage
        else:
            vsa = self.voltage_sense_amp.calculate_power(1)
            e = float(vsa.dynamic_energy) + float(wl_decoder.dynamic_energy)
            leak = vsa.leakage + wl_decoder.leakage
        leakage = leak
        read_dynamic_energy = as_result(e * np.asarray(num_read, dtype=float) * self.num_function)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
