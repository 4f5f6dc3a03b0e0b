"""Thermometer-to-binary encoder behind each multilevel sense amp.

Per encoder: for each of the `num_level - 1` comparator outputs an inverter and a NAND2
(edge detection), and log2(num_level) wide NAND gates of num_level/2 inputs that form the
binary output bits. The latch inverters are counted in the sense amp; their leakage (5
inverters per level) is counted here. The encoder's dynamic energy is neglected (its
switching is small next to the sense amps).
"""
from __future__ import annotations

import math

import numpy as np

import FormulaBindings as fb

from .base import AreaModify, Circuit, horowitz, Cost, Layout, modify_layout
from .dff import (GAA_INV, GAA_NAND2, INV, MIN_W, NAND, NMOS, as_result,
                  gaa_layout, given)

__all__ = ["MultilevelSAEncoder"]


class MultilevelSAEncoder(Circuit):
    """`num_encoder` encoders for `num_level` levels.

    Figures: area m^2, height/width m; read_latency s (two gate delays per conversion,
    times num_read); read_dynamic_energy 0 J; leakage W.

    Sizing attributes parents read: num_level, num_encoder, num_input (inputs of a wide NAND),
    num_gate (output bits), ramp_output (1/s)."""

    def initialize(self, num_level: int, num_encoder: int) -> None:
        tech = self.tech
        F = tech.featureSize
        pn = tech.pnSizeRatio
        self.num_encoder = int(num_encoder)
        self.num_level = int(num_level)
        self.num_input = self.num_level // 2          # integer half, as in the reference
        self.num_gate = int(math.ceil(math.log2(self.num_level)))
        self.width_inv_n = MIN_W * F
        self.width_inv_p = pn * MIN_W * F
        self.width_nand_n = 4 * MIN_W * F
        self.width_nand_p = 2 * pn * MIN_W * F
        if tech.node_nm <= 2 and self.param.speciallayout:
            _, h_nand, w_nand = fb.gate_area(NAND, 2, MIN_W * F, MIN_W * F, tech)
        else:
            _, h_nand, w_nand = fb.gate_area(NAND, 2, self.width_nand_n, self.width_nand_p, tech)
        _, h_inv, w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
        _, h_lg, w_lg = fb.gate_area(NAND, self.num_input, self.width_nand_n, self.width_nand_p, tech)
        self._gates = ((h_inv, w_inv), (h_nand, w_nand), (h_lg, w_lg))
        # gate capacitances (layout-independent; the reference sets them in its area step)
        gaa = gaa_layout(self.ctx)
        if gaa is not None:
            g, fn, fp = GAA_INV[gaa]
            self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance_gaa(
                INV, 1, MIN_W * F, MIN_W * F, tech, h_inv, g, fn, fp)
            g, fn, fp = GAA_NAND2[gaa]
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance_gaa(
                NAND, 2, MIN_W * F, MIN_W * F, tech, h_nand, g, fn, fp)
        else:
            self.cap_inv_input, self.cap_inv_output = fb.gate_capacitance(
                INV, 1, self.width_inv_n, self.width_inv_p, tech, h_inv)
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
                NAND, 2, self.width_nand_n, self.width_nand_p, tech, h_nand)
        self.cap_nand_lg_input, self.cap_nand_lg_output = fb.gate_capacitance(
            NAND, self.num_input, self.width_nand_n, self.width_nand_p, tech, h_lg)
        self.initialized = True

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        width = 0.0
        self._require_initialized()
        (h_inv, w_inv), (h_nand, w_nand), (h_lg, w_lg) = self._gates
        w_enc = w_inv + w_nand + w_lg
        h_enc = ((w_inv * h_inv + w_nand * h_nand) * (self.num_level - 1)
                 + w_lg * self.num_gate * h_lg) / w_enc
        self.w_encoder, self.h_encoder = w_enc, h_enc
        height = 0.0
        if given(new_width) and mode == AreaModify.NONE:
            per_row = min(int(math.ceil(new_width / w_enc)), self.num_encoder)
            rows = int(math.ceil(self.num_encoder / per_row))
            width = max(new_width, w_enc)
            height = h_enc * rows
        elif given(new_height) and mode == AreaModify.NONE:
            per_col = min(int(math.ceil(new_height / h_enc)), self.num_encoder)
            cols = int(math.ceil(self.num_encoder / per_col))
            height = max(new_height, h_enc)
            width = w_enc * cols
        area = height * width
        return modify_layout(self, height, width, area, new_height, new_width, mode)

    def calculate_latency(self, ramp_input, num_read) -> Cost:
        """Inverter into the edge NAND2, NAND2 into the wide NAND (s) x num_read."""
        self._require_initialized()
        tech = self.tech
        r = fb.on_resistance(self.width_inv_n, NMOS, tech)
        d1, ramp = horowitz(r * (self.cap_inv_output + 2 * self.cap_nand_input), ramp_input)
        r = fb.on_resistance(self.width_nand_n, NMOS, tech) * 2
        if tech.node_nm <= 2 and self.param.speciallayout:
            r = r * 3.0 / 2.0
        d2, ramp = horowitz(r * (self.cap_nand_output + self.cap_nand_lg_input * self.num_input), ramp)
        ramp_output = ramp
        read_latency = as_result((d1 + d2) * np.asarray(num_read, dtype=float))
        return Cost(latency=read_latency, ramp_output=ramp_output)

    def calculate_power(self, num_read) -> Cost:
        self._require_initialized()
        tech = self.tech
        vdd = tech.vdd
        n_lv, n_enc = self.num_level - 1, self.num_encoder
        leak = fb.gate_leakage(NAND, 2, self.width_nand_n, self.width_nand_p, tech) * vdd * n_lv * n_enc
        leak += fb.gate_leakage(NAND, self.num_input, self.width_nand_n, self.width_nand_p, tech) \
            * vdd * self.num_gate * n_enc
        gaa = gaa_layout(self.ctx)
        factor = GAA_INV[gaa][0] if gaa is not None else 1.0
        leak += fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech) * vdd * 5 * n_lv * n_enc * factor
        leakage = leak
        read_dynamic_energy = as_result(0.0 * np.asarray(num_read, dtype=float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
