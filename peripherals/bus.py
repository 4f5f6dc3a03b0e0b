"""Repeated on-chip wires: the PE-level bus and the helpers the H-tree and X-Y bus share.

A long wire is cut into segments of length `min_dist`, each driven by an inverter
("repeater"). The repeater size and spacing start from the delay-optimal design for the
wire's resistance and capacitance per length; a non-zero delay tolerance then shrinks the
repeaters (and the spacing) until the per-length delay exceeds the optimum by that
fraction, which saves energy. All quantities follow the reference estimator (DNN+NeuroSim
V1.4): the per-length delay is a 0.7-factor Elmore estimate of one repeated segment, the
energy per length charges the repeater and segment capacitances at vdd, and the leakage
per length is one repeater's leakage per segment.

`Bus` is one horizontal or vertical bus across a grid of sub-arrays inside a PE. In
synchronous mode its latency is in clock cycles: each transfer takes
ceil(wire delay x clock frequency) cycles, times the number of transfers.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass

import numpy as np

import FormulaBindings as fb

from .base import Circuit, Cost, Layout

__all__ = ["Bus", "BusMode", "UNIT_WIRE_CAP", "RepeaterDesign", "size_repeaters",
           "unit_length_delay", "unit_length_energy"]

# Wire capacitance per metre used by every bus model: 0.2 fF per micrometre.
UNIT_WIRE_CAP = 0.2e-15 / 1e-6

_INV = fb.GateType.INV
_NMOS = fb.TransistorKind.NMOS
_PMOS = fb.TransistorKind.PMOS


class BusMode(enum.Enum):
    """Direction of a PE bus: along a row of sub-arrays or along a column."""
    HORIZONTAL = 0
    VERTICAL = 1


@dataclass(frozen=True)
class _Inverter:
    width_n: float
    width_p: float
    height: float
    width: float
    cap_input: float
    cap_output: float
    res_on: float      # mean of the NMOS and PMOS on-resistances (ohm)


def _inverter(tech: fb.Technology, size: float) -> _Inverter:
    """An inverter `size` times the minimum one, laid out in a standard-height cell."""
    F = tech.featureSize
    wn = size * fb.rules.MIN_NMOS_WIDTH * F
    wp = tech.pnSizeRatio * fb.rules.MIN_NMOS_WIDTH * F * size
    _, h, w = fb.gate_area(_INV, 1, wn, wp, tech)
    cin, cout = fb.gate_capacitance(_INV, 1, wn, wp, tech, cell_height=h)
    r = (fb.on_resistance(wn, _NMOS, tech) + fb.on_resistance(wp, _PMOS, tech)) / 2
    return _Inverter(wn, wp, h, w, cin, cout, r)


def unit_length_delay(res_on, cap_in, cap_out, unit_res, dist, unit_cap=UNIT_WIRE_CAP):
    """Delay per metre (s/m) of a wire repeated every `dist` metres by a driver of
    on-resistance `res_on` and input/output capacitances `cap_in`/`cap_out`."""
    seg_c = unit_cap * dist
    seg_r = unit_res * dist
    return 0.7 * (res_on * (cap_in + cap_out + seg_c) + 0.54 * seg_r * seg_c
                  + seg_r * cap_in) / dist


def unit_length_energy(cap_in, cap_out, dist, vdd, unit_cap=UNIT_WIRE_CAP):
    """Switching energy per metre (J/m) of a repeated wire, full swing, one transition."""
    return (cap_in + cap_out + unit_cap * dist) * vdd * vdd / dist


@dataclass(frozen=True)
class RepeaterDesign:
    """Outcome of the repeater sizing: the size multiple kept for the layout (at least
    1), the spacing, and the inverter that results."""
    size: int              # repeater size as a multiple of the minimum inverter (>= 1)
    raw_size: int          # size reached by the relaxation loop (may be 0)
    min_dist: float        # m between repeaters
    inverter: _Inverter


def size_repeaters(tech: fb.Technology, unit_res: float, delay_tolerance: float,
                   relax: str) -> RepeaterDesign:
    """Choose repeater size and spacing for a wire of `unit_res` ohm/m.

    The fastest design uses size floor(sqrt(R0 c / (C0 r))) of the minimum inverter
    (R0, C0: its mean on-resistance and input capacitance) and spacing
    sqrt(2 R0 (C0 + Cout0) / (r c)). With a non-zero tolerance the design is relaxed
    step by step, the spacing shrinking by 10 % each step, until the delay per length
    reaches (1 + tolerance) times the optimum. `relax` selects how the size shrinks:
    "step" (one unit per step, stopping at 0; the PE bus) or "halve" (integer halving;
    the H-tree and the X-Y bus). A size of 0 gives an infinite delay, which ends the
    loop; the layout then uses size 1 (the spacing keeps its last value), as the
    reference does.
    """
    r, c = unit_res, UNIT_WIRE_CAP
    ref = _inverter(tech, 1.0)
    size = int(math.floor(math.sqrt(ref.res_on * c / ref.cap_input / r)))
    dist = math.sqrt(2 * ref.res_on * (ref.cap_output + ref.cap_input) / (r * c))
    rep = _inverter(tech, size)
    best = unit_length_delay(rep.res_on, rep.cap_input, rep.cap_output, r, dist)
    if delay_tolerance:
        delay = 0.0
        target = best * (1 + delay_tolerance)
        while delay < target:
            if relax == "step":
                if size < 1:
                    break
                size -= 1
            else:
                size //= 2
            dist *= 0.9
            rep = _inverter(tech, size)
            with np.errstate(all="ignore"):
                delay = unit_length_delay(rep.res_on, rep.cap_input, rep.cap_output, r, dist)
            if not math.isfinite(delay):
                break
    kept = max(1, size)
    return RepeaterDesign(size=kept, raw_size=size, min_dist=dist, inverter=_inverter(tech, kept))


class _RepeatedWireMixin:
    """Per-length figures of a repeated wire once the repeaters are chosen."""

    def _set_repeaters(self, design: RepeaterDesign) -> None:
        inv = design.inverter
        self.repeater_size = design.size
        self.min_dist = design.min_dist
        self.width_inv_n = inv.width_n
        self.width_inv_p = inv.width_p
        self.h_inv = inv.height
        self.w_inv = inv.width
        self.cap_inv_input = inv.cap_input
        self.cap_inv_output = inv.cap_output
        self.res_on_rep = inv.res_on
        tech = self.tech
        vdd = tech.vdd
        # leakage of one repeater per segment, per metre of wire and per bit (W/m)
        self.unit_length_leakage = (fb.gate_leakage(_INV, 1, inv.width_n, inv.width_p, tech)
                                    * vdd / design.min_dist)
        # full-swing energy per metre and per bit, with and without repeaters (J/m)
        self._energy_rep_full = unit_length_energy(inv.cap_input, inv.cap_output,
                                                   design.min_dist, vdd)
        self._energy_wire_full = UNIT_WIRE_CAP * design.min_dist * vdd * vdd / design.min_dist

    def _unit_latency(self, unit_res: float) -> tuple[float, float]:
        """(s/m with repeaters, s/m of a bare wire) for wire resistance `unit_res`."""
        d = self.min_dist
        rep = unit_length_delay(self.res_on_rep, self.cap_inv_input, self.cap_inv_output,
                                unit_res, d)
        wire = 0.7 * unit_res * d * UNIT_WIRE_CAP * d / d
        return rep, wire

    def _segment_latency(self, length: float, unit_res: float) -> float:
        rep, wire = self._unit_latency(unit_res)
        # a segment longer than zero always holds at least one repeater
        return length * (rep if math.ceil(length / self.min_dist) > 0 else wire)

    def _segment_energy(self, length: float, energy_rep: float, energy_wire: float) -> float:
        return length * (energy_rep if math.ceil(length / self.min_dist) > 0 else energy_wire)

    def _to_cycles(self, latency, clk_freq: float):
        """Synchronous designs count whole clock cycles per transfer (at `clk_freq`, Hz)."""
        if self.param.synchronous:
            return np.ceil(np.asarray(latency) * clk_freq)
        return latency


def _scalar_or_array(x):
    x = np.asarray(x, dtype=float)
    return float(x) if x.ndim == 0 else x


class Bus(_RepeatedWireMixin, Circuit):
    """Horizontal or vertical bus over the sub-array grid of a PE.

    Sizing attributes parents read: `bus_width` (bits), `num_row`, `num_col`,
    `wire_length` (m), `min_dist` (m), `repeater_size`, `num_repeater`, `clk_freq` (Hz;
    the clock it was sized with; calculate_latency takes the working clock). The latency
    Cost is in clock cycles when `param.synchronous`, else in s. The layout's area is 0
    when the bus is laid over the sub-arrays (`over_lap=True`, as every PE does), else
    num_row x wire length x wire width.
    """

    def initialize(self, mode, num_row: int, num_col: int, delay_tolerance: float,
                   bus_width: float, unit_height: float, unit_width: float,
                   clk_freq: float) -> None:
        if isinstance(mode, str):
            mode = BusMode[mode.upper()]
        self.mode = BusMode(mode)
        self.num_row = int(num_row)
        self.num_col = int(num_col)
        self.delay_tolerance = float(delay_tolerance)
        self.bus_width = float(bus_width)
        self.unit_height = float(unit_height)
        self.unit_width = float(unit_width)
        self.clk_freq = float(clk_freq)
        # the PE bus uses the array wire of the node for its repeater design
        self.unit_length_wire_resistance = float(self.param.unitLengthWireResistance)
        self._set_repeaters(size_repeaters(self.tech, self.unit_length_wire_resistance,
                                           self.delay_tolerance, relax="step"))
        if self.mode is BusMode.HORIZONTAL:
            self.wire_length = self.unit_width * (self.num_col - 1)
        else:
            self.wire_length = self.unit_height * (self.num_row - 1)
        self.num_repeater = math.ceil(self.wire_length / self.min_dist)
        self.initialized = True

    def calculate_area(self, folded_ratio: float = 1.0, over_lap: bool = True) -> Layout:
        self._require_initialized()
        # The reference adds to a width member that is never set beforehand; the PE
        # always overlaps the bus with the arrays, so only the fresh value matters here.
        if self.num_repeater > 0:
            self.wire_width = self.bus_width * self.w_inv / folded_ratio
        else:
            self.wire_width = self.bus_width * float(self.param.wireWidth) / folded_ratio
        area = 0.0 if over_lap else self.num_row * self.wire_length * self.wire_width
        height = width = 0.0
        return Layout(height=height, width=width, area=area)

    def calculate_latency(self, num_read, clk_freq: float | None = None) -> Cost:
        """`num_read`: transfers over the bus (scalar or array)."""
        self._require_initialized()
        clk = self.clk_freq if clk_freq is None else float(clk_freq)   # the working clock (Hz)
        one = self._segment_latency(self.wire_length, self.unit_length_wire_resistance)
        read_latency = _scalar_or_array(self._to_cycles(one, clk) * np.asarray(num_read, float))
        return Cost(latency=read_latency)

    def calculate_power(self, num_bit_access, num_read, input: bool) -> Cost:
        """`num_bit_access`: bits driven per transfer; `num_read`: transfers;
        `input`: True for the input bus (input toggle rate), False for outputs."""
        self._require_initialized()
        nb = np.asarray(num_bit_access, float)
        leakage = _scalar_or_array(self.unit_length_leakage * self.wire_length * nb)
        toggle = float(self.param.inputtoggle if input else self.param.outputtoggle)
        unit_length_energy_rep = self._energy_rep_full * 0.5 * toggle
        unit_length_energy_wire = self._energy_wire_full * 0.5 * toggle
        one = self._segment_energy(self.wire_length, unit_length_energy_rep,
                                   unit_length_energy_wire)
        read_dynamic_energy = _scalar_or_array(one * nb * np.asarray(num_read, float))
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage,
                    parts={"unit_length_energy_rep": unit_length_energy_rep,
                           "unit_length_energy_wire": unit_length_energy_wire})
