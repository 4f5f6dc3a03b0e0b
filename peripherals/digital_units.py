"""Digital units for the operations of attention models that are not weight layers.

* `DigitalMACUnit`: products of two run-time operands (attention's Q·Kᵀ, softmax·V) on
  `lanes` parallel multipliers feeding a binary adder tree and an accumulator;
* `SpecialFunctionUnit`: softmax, LayerNorm, GELU and residual additions, element by element
  on `lanes` lanes of one multiplier and one adder each, every function counted in
  multiplies and additions of a documented fixed-point algorithm (below);
* `CrossbarDynamicUnit`: the `crossbar` choice for dynamic products, write-then-read on
  memory cells: programming.py's write cost of every written operand plus the read cost
  per multiply-accumulate of the chip's own weight layers.

The units are registry circuits (`DIGITAL_UNITS`, like `cells.CELLS` and
`Array.READOUTS`): `get_digital_unit(name)` gives the `DigitalUnitKind` of that name (an
unknown name lists the valid ones), `unit_for(operation kind, dynamic_matmul setting)` the
one that executes an operation kind, and `kind.build(...)` sizes it.

Each unit follows the shape of docs (design.md, "one interface for every circuit"): it is
sized once in its constructor from a frozen view of the settings it reads, exposes `area`
(m^2) and `leakage_w` (W), and its action methods return an immutable `OpCost`; nothing is
returned through attributes. All gate figures come from the same formulas as the rest of the
chip (FormulaBindings through `peripherals.adder.Adder` and `peripherals.dff.DFF`).

Multiplier (a x b bits): an array multiplier, a·b partial-product AND gates (NAND2 +
inverter) and (b - 1) rows of a-bit ripple-carry adders; its delay is that of an (a + b)-bit
ripple-carry adder (the array's critical path runs along a row and down the last column).
Adder tree: log2(lanes) stages of ripple adders, one bit wider per stage, with a register
after the multipliers and after every stage (pipelined: one dot-product chunk of `lanes`
products per cycle). Accumulator: an adder and a register of `acc_bits`.

Special functions, operations per element (per vector where said), fixed point:
* softmax: max (1 compare = add), subtract (1 add), exp by range reduction to 2^i · 2^f with
  a degree-2 polynomial for 2^f (2 mul + 2 add), running sum (1 add), scaling by the
  reciprocal of the sum (1 mul); per vector, the reciprocal by 3 Newton-Raphson steps
  (6 mul + 3 add);
* LayerNorm: sum for the mean (1 add), subtract the mean (1 add), square (1 mul), sum of
  squares (1 add), normalise (1 mul), gain (1 mul), bias (1 add); per vector, 2 mul (divide
  the sums by n) and the inverse square root by 3 Newton-Raphson steps (9 mul + 3 add);
* GELU (tanh form): x^3 (2 mul), 0.044715 x^3 (1 mul), add x (1 add), times sqrt(2/pi)
  (1 mul), tanh by a degree-3 odd rational-free polynomial (3 mul + 3 add), 1 + tanh (1 add),
  0.5 x (1 + tanh) (2 mul): 9 mul + 5 add;
* residual add: 1 add.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import numpy as np

import FormulaBindings as fb

from .adder import Adder
from .dff import DFF, INV, MIN_W, NAND

__all__ = ["OpCost", "DigitalSettings", "DigitalMACUnit", "SpecialFunctionUnit",
           "CrossbarDynamicUnit", "SFU_OPS", "DigitalUnitKind", "DIGITAL_UNITS",
           "register_digital_unit", "get_digital_unit", "unit_for"]

# (multiplies, additions) per element and per vector, from the algorithms in the docstring
SFU_OPS = {
    "softmax": {"element": (1 + 2, 1 + 1 + 2 + 1), "vector": (6, 3)},
    "layernorm": {"element": (3, 4), "vector": (2 + 9, 3)},
    "gelu": {"element": (9, 5), "vector": (0, 0)},
    "add": {"element": (0, 1), "vector": (0, 0)},
}


@dataclass(frozen=True)
class OpCost:
    """Cost of one action: latency (s), dynamic energy (J), and what it was spent on."""
    latency_s: float
    energy_j: float
    category: str
    count: float = 0.0            # MACs or elements
    write_energy_j: float = 0.0   # part of energy_j spent writing cells (crossbar choice)


@dataclass(frozen=True)
class DigitalSettings:
    """The settings the digital units read (a frozen view of Config)."""
    a_bits: int = 8               # left (streamed) operand of a dynamic product
    b_bits: int = 8               # right (stationary) operand
    mac_lanes: int = 256
    sfu_bits: int = 16
    sfu_lanes: int = 32
    clock_hz: float = 1e9

    @classmethod
    def from_config(cls, cfg, clock_hz: float) -> "DigitalSettings":
        p, a = cfg.precision, cfg.architecture
        return cls(a_bits=p.input_bits, b_bits=p.weight_bits, mac_lanes=a.mac_lanes,
                   sfu_bits=p.sfu_bits or 16, sfu_lanes=a.sfu_lanes, clock_hz=float(clock_hz))


def _adder(ctx, bits: int, count: int, clock_hz: float):
    """(area m^2, delay s, energy J of one addition in each of `count` adders, leakage W)."""
    add = Adder(ctx)
    add.initialize(bits, count, clock_hz)
    layout = add.calculate_area()
    timing = add.calculate_latency(1e20, add.cap_nand_input, 1)
    power = add.calculate_power(1, count)
    return float(layout.area), float(timing.latency), float(power.dynamic_energy), float(power.leakage)


def _register(ctx, bits: int, clock_hz: float):
    """(area m^2, energy J of one clocked write of all `bits`, leakage W)."""
    dff = DFF(ctx)
    dff.initialize(bits, clock_hz)
    layout = dff.calculate_area()
    power = dff.calculate_power(1, bits, False)
    return float(layout.area), float(power.dynamic_energy), float(power.leakage)


class _Multiplier:
    """One a x b array multiplier (figures for `count` copies working together)."""

    def __init__(self, ctx, a: int, b: int, count: int, clock_hz: float):
        tech = ctx.tech
        F = tech.featureSize
        wn, wp = fb.enlarge_size(2 * MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech)
        _, h_nand, w_nand = fb.gate_area(NAND, 2, wn, wp, tech)
        _, h_inv, w_inv = fb.gate_area(INV, 1, MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech)
        c_nand = fb.gate_capacitance(NAND, 2, wn, wp, tech, h_nand)
        c_inv = fb.gate_capacitance(INV, 1, MIN_W * F, tech.pnSizeRatio * MIN_W * F, tech, h_inv)
        vdd2 = tech.vdd * tech.vdd
        pp = a * b * count
        rows = max(b - 1, 1)
        add_area, _, add_e, add_leak = _adder(ctx, a, rows * count, clock_hz)
        _, delay, _, _ = _adder(ctx, a + b, 1, clock_hz)
        self.area = add_area + pp * (h_nand * w_nand + h_inv * w_inv)
        # partial products switch with probability 1/2 (random operands)
        pp_e = pp * 0.5 * (c_nand[1] + c_inv[0] + c_inv[1] + c_nand[0]) * vdd2
        self.energy = add_e + pp_e                 # all `count` multipliers, one product each
        self.delay = delay
        self.leakage = add_leak + pp * (fb.gate_leakage(NAND, 2, wn, wp, tech)
                                        + fb.gate_leakage(INV, 1, MIN_W * F,
                                                          tech.pnSizeRatio * MIN_W * F, tech)) * tech.vdd


class _SizedUnit:
    """A digital unit sized once at construction: its area (m^2) and leakage (W), read-only."""
    _area: float
    _leak: float

    @property
    def area(self) -> float:
        return self._area

    @property
    def leakage_w(self) -> float:
        return self._leak


class DigitalMACUnit(_SizedUnit):
    """`lanes` multipliers + pipelined adder tree + accumulator, for dynamic products."""

    def __init__(self, ctx, s: DigitalSettings):
        self.settings = s
        lanes, a, b = s.mac_lanes, s.a_bits, s.b_bits
        mult = _Multiplier(ctx, a, b, lanes, s.clock_hz)
        area, leak = mult.area, mult.leakage
        stage_delays = [mult.delay]
        reg_area, reg_e, reg_leak = _register(ctx, lanes * (a + b), s.clock_hz)
        area, leak = area + reg_area, leak + reg_leak
        e_cycle = mult.energy + reg_e               # energy of one cycle with every lane busy
        width, n = a + b, lanes
        stages = 0
        while n > 1:
            n = (n + 1) // 2
            width += 1
            stages += 1
            ar, d, e, lk = _adder(ctx, width, n, s.clock_hz)
            rar, re, rlk = _register(ctx, n * width, s.clock_hz)
            area, leak, e_cycle = area + ar + rar, leak + lk + rlk, e_cycle + e + re
            stage_delays.append(d)
        self.acc_bits = width + 16                  # 16 guard bits: sums of up to 2^16 chunks
        ar, d, e, lk = _adder(ctx, self.acc_bits, 1, s.clock_hz)
        rar, re, rlk = _register(ctx, self.acc_bits, s.clock_hz)
        self._acc_energy = e + re
        stage_delays.append(d)
        self._area = area + ar + rar
        self._leak = leak + lk + rlk
        self._lane_energy = e_cycle / lanes          # per product entering the tree
        self.cycle_s = max(1.0 / s.clock_hz, max(stage_delays))
        self.pipeline_depth = stages + 2

    @property
    def energy_per_mac_j(self) -> float:
        """Energy of one multiply-accumulate with long dot products (lanes all busy)."""
        return self._lane_energy + self._acc_energy / self.settings.mac_lanes

    def matmul(self, groups: int, m: int, k: int, n: int) -> OpCost:
        """`groups` products [m x k] . [k x n]: every output is a dot product of length k,
        cut into ceil(k / lanes) chunks of one cycle each."""
        lanes = self.settings.mac_lanes
        dots = groups * m * n
        chunks = dots * math.ceil(k / lanes)
        macs = dots * k
        energy = macs * self._lane_energy + chunks * self._acc_energy
        latency = (chunks + self.pipeline_depth) * self.cycle_s
        return OpCost(latency, energy, "dynamic_matmul", float(macs))


class SpecialFunctionUnit(_SizedUnit):
    """`lanes` lanes of one `sfu_bits` multiplier and one adder; functions as op counts."""

    def __init__(self, ctx, s: DigitalSettings):
        self.settings = s
        w, lanes = s.sfu_bits, s.sfu_lanes
        mult = _Multiplier(ctx, w, w, lanes, s.clock_hz)
        ar, d, e, lk = _adder(ctx, w, lanes, s.clock_hz)
        rar, re, rlk = _register(ctx, 3 * w * lanes, s.clock_hz)
        self._area = mult.area + ar + rar
        self._leak = mult.leakage + lk + rlk
        self.mul_energy = (mult.energy + re / 2) / lanes     # one multiply in one lane (J)
        self.add_energy = (e + re / 2) / lanes
        self.mul_cycles = max(1, math.ceil(mult.delay * s.clock_hz))
        self.add_cycles = max(1, math.ceil(d * s.clock_hz))

    def apply(self, kind: str, elements: int, vectors: int) -> OpCost:
        """Cost of `kind` (softmax, layernorm, gelu, add) over `elements` values in
        `vectors` vectors."""
        if kind not in SFU_OPS:
            raise ValueError(f"special function {kind!r}; valid: {', '.join(SFU_OPS)}")
        (me, ae), (mv, av) = SFU_OPS[kind]["element"], SFU_OPS[kind]["vector"]
        muls = me * elements + mv * vectors
        adds = ae * elements + av * vectors
        energy = muls * self.mul_energy + adds * self.add_energy
        cycles = math.ceil((muls * self.mul_cycles + adds * self.add_cycles) / self.settings.sfu_lanes)
        return OpCost(cycles / self.settings.clock_hz, energy, kind, float(elements))


class CrossbarDynamicUnit:
    """The `crossbar` choice: the right operand of every dynamic product is written into
    cells for each input (programming.py, from the erased state: every cell starts at its
    lowest conductance), then read like a weight layer with the left operand bit-serial.
    The read is priced per multiply-accumulate and per input vector at the figures of the
    chip's own weight layers (`read_energy_per_mac`, `read_latency_per_vector`)."""

    def __init__(self, ctx, param, read_energy_per_mac: float, read_latency_per_vector: float):
        from programming import CellSplitter, WeightPairs, WritePeriphery
        self.param = param
        self.circuits = WritePeriphery(ctx)
        self.splitter = CellSplitter(param)
        self.pairs = WeightPairs(self.splitter, self.circuits.device) \
            if WeightPairs.feasible(self.splitter) else None
        self.read_energy_per_mac = float(read_energy_per_mac)
        self.read_latency_per_vector = float(read_latency_per_vector)
        self.rows = int(param.numRowSubArray)

    def write(self, b_codes: np.ndarray):
        """programming.WriteCost of writing every matrix of `b_codes` [G, K, N] (signed
        codes) into its own sub-arrays, from the erased state."""
        from programming import erased_weights, layer_write_cost, subarray_rows
        g, k, n = b_codes.shape
        half = 2 ** (int(self.param.synapseBit) - 1)
        new = (b_codes.astype(np.int64) + half).astype(np.int16).reshape(g * k, n)
        per = subarray_rows(k, self.rows)
        blocks = (np.arange(g)[:, None] * (int(np.max(per)) + 1) + np.asarray(per)[None, :]).reshape(-1)
        return layer_write_cost(erased_weights(new.shape), new, self.splitter,
                                self.circuits.device, self.circuits.lines, blocks,
                                self.circuits, 1, self.pairs)

    def matmul(self, groups: int, m: int, k: int, n: int, b_codes: np.ndarray) -> OpCost:
        w = self.write(b_codes)
        macs = groups * m * k * n
        read_e = macs * self.read_energy_per_mac
        read_t = m * self.read_latency_per_vector        # the groups' arrays read in parallel
        return OpCost(w.latency + read_t, w.energy + read_e, "dynamic_matmul", float(macs),
                      write_energy_j=w.energy)


# ------------------------------------------------------------------------------------------
# Registry
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DigitalUnitKind:
    """A unit that executes operations other than weight layers.

    `serves`: the operation kinds (operations.KINDS) it executes; `dynamic_matmul`: the value
    of `architecture.dynamic_matmul` that selects it for dynamic products (None: not a choice
    of that setting); `in_chip_area`: its area is logic added next to the tiles (the written
    cells of the crossbar choice are counted separately, as memory); `build(ctx, settings,
    **extra)` sizes one (extra: what the unit needs beyond the settings)."""
    name: str
    description: str
    serves: tuple[str, ...]
    build: Callable[..., object]
    dynamic_matmul: str | None = None
    in_chip_area: bool = True


DIGITAL_UNITS: dict[str, DigitalUnitKind] = {}


def register_digital_unit(kind: DigitalUnitKind) -> DigitalUnitKind:
    """Add a unit to the registry (names, and the dynamic_matmul values they answer to,
    must be unique)."""
    if kind.name in DIGITAL_UNITS:
        raise ValueError(f"digital unit {kind.name!r} is registered twice")
    if kind.dynamic_matmul is not None and any(
            k.dynamic_matmul == kind.dynamic_matmul for k in DIGITAL_UNITS.values()):
        raise ValueError(f"digital unit {kind.name!r}: dynamic_matmul={kind.dynamic_matmul!r} "
                         "is taken")
    DIGITAL_UNITS[kind.name] = kind
    return kind


def get_digital_unit(name: str) -> DigitalUnitKind:
    """The unit of that name; an unknown name raises ValueError listing the valid ones."""
    try:
        return DIGITAL_UNITS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown digital unit {name!r}; valid: "
                         f"{', '.join(DIGITAL_UNITS)}") from None


def unit_for(op_kind: str, dynamic_matmul: str = "digital") -> DigitalUnitKind:
    """The unit executing operations of `op_kind`; for dynamic products the one chosen by
    `architecture.dynamic_matmul`. ValueError (listing the valid values) otherwise."""
    if op_kind == "dynamic_matmul":
        for k in DIGITAL_UNITS.values():
            if k.dynamic_matmul == dynamic_matmul:
                return k
        valid = [k.dynamic_matmul for k in DIGITAL_UNITS.values() if k.dynamic_matmul]
        raise ValueError(f"dynamic_matmul {dynamic_matmul!r} has no unit; valid: "
                         f"{', '.join(valid)}")
    for k in DIGITAL_UNITS.values():
        if op_kind in k.serves:
            return k
    served = [s for k in DIGITAL_UNITS.values() for s in k.serves]
    raise ValueError(f"no digital unit executes {op_kind!r}; units serve: {', '.join(served)}")


register_digital_unit(DigitalUnitKind(
    "digital_mac", "lanes of array multipliers, pipelined adder tree and accumulator "
    "(architecture.mac_lanes; dynamic products, both operands at run time)",
    ("dynamic_matmul",), DigitalMACUnit, dynamic_matmul="digital"))
register_digital_unit(DigitalUnitKind(
    "crossbar_write_read", "the right operand written into cells for every input, then "
    "read like a weight layer (programming.py write cost + the chip's read cost per MAC)",
    ("dynamic_matmul",),
    lambda ctx, s, param, read_energy_per_mac, read_latency_per_vector:
        CrossbarDynamicUnit(ctx, param, read_energy_per_mac, read_latency_per_vector),
    dynamic_matmul="crossbar", in_chip_area=False))
register_digital_unit(DigitalUnitKind(
    "special_function", "lanes of one multiplier and one adder of precision.sfu_bits "
    "(architecture.sfu_lanes): softmax, LayerNorm, GELU, residual additions as op counts",
    tuple(SFU_OPS), SpecialFunctionUnit))
