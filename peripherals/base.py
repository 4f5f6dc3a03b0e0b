"""What every circuit model shares: the hardware context, the result records and one small
interface.

A circuit is built from a `Context` (technology, design parameters, memory cell) and sized
by its own `initialize(...)` arguments and its `calculate_area(...)` (the layout its parent
gives it). Both set only sizing values (transistor widths, gate capacitances, gate counts)
that the circuit keeps from then on. Its results come back as immutable records, never as
attributes, in SI units:

    calculate_area(new_height, new_width, mode)  -> Layout(height m, width m, area m^2)
    calculate_latency(...)                       -> Cost(latency s, ramp_output 1/s, ...)
    calculate_power(...)                         -> Cost(dynamic_energy J, leakage W, ...)

`calculate_latency` and `calculate_power` change nothing in the circuit, so the clock pass
and the performance pass are two calls of the same functions and no call depends on an
earlier one. A parent uses the returned records (`Cost` adds up; `Cost.part(name)` holds a
named extra output such as a buffer's per-bit latency). The methods mirror the
decomposition DNN+NeuroSim users know, but data-dependent arguments (row activity, column
resistances, number of reads) may be numpy arrays: results then come back as arrays of the
same shape, one value per operating point, so callers evaluate every input vector of a
sub-array in one call.

The class docstrings list each circuit's figures by their NeuroSim names; they are fields of
the returned records: area / height / width of the Layout; read_latency = Cost.latency,
read_dynamic_energy = Cost.dynamic_energy, leakage, write_latency, write_dynamic_energy and
ramp_output of the Cost; anything else under Cost.parts. Sizing attributes (set by
initialize and calculate_area) are what parents may read. tests/test_circuit_interface.py
checks the rule.
"""
from __future__ import annotations

import enum
import math
import types
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np

import FormulaBindings as fb

__all__ = ["AreaModify", "MemoryCell", "Context", "Circuit", "Layout", "Cost", "NO_COST",
           "total", "AreaPart", "AREA_CATEGORIES", "sum_areas", "horowitz", "BOLTZMANN", "is_given", "as_result", "modify_layout",
           "logic_cell_height", "fold_gates", "dense_row_gate_height"]

BOLTZMANN = 1.380649e-23  # J/K


class AreaModify(enum.Enum):
    """How a circuit's layout adapts to the height or width its parent gives it."""
    NONE = 0       # keep its own layout
    MAGIC = 1      # keep the area, take the given height or width
    OVERRIDE = 2   # take the given height and width as they are


@dataclass(frozen=True)
class MemoryCell:
    """The memory cell as the circuits see it: its kind (cells.CellKind, from the registry by
    NeuroSim's memcelltype) and the device numbers of the design parameters."""
    mem_type: str                  # the kind's name: "SRAM" | "RRAM" | "FeFET" | "nvCap" | ...
    access: str                    # "CMOS" (1T1R / SRAM access devices) | "none" (crossbar)
    resistance_on: float           # ohm, at the read voltage
    resistance_off: float          # ohm
    resistance_avg: float          # ohm, (on + off) / 2, for average-case energy
    resistance_access: float       # ohm, access transistor on-resistance (1T1R)
    read_voltage: float            # V
    read_pulse_width: float        # s
    access_voltage: float          # V, access-transistor gate voltage
    write_voltage: float           # V
    feature_size: float            # m, the design parameter `featuresize` (wire width)
    height_in_feature_size: float  # cell height / F
    width_in_feature_size: float   # cell width / F
    width_access_cmos: float       # access transistor width / F
    width_sram_cell_nmos: float    # SRAM pull-down width / F
    width_sram_cell_pmos: float    # SRAM pull-up width / F
    min_sense_voltage: float       # V, smallest swing a voltage sense amp resolves
    charge_delay: float = 0.0      # s, charge-domain cells (nvCap): charge transfer time

    @property
    def kind(self):
        """The registry entry (cells.CellKind) of this cell."""
        import cells
        return cells.get_cell(self.mem_type)

    @classmethod
    def from_param(cls, param: fb.Param) -> "MemoryCell":
        import cells
        mem_type = cells.cell_for_code(int(param.memcelltype)).name
        access = "CMOS" if param.accesstype == 1 else "none"
        r_on, r_off = float(param.resistanceOn), float(param.resistanceOff)
        return cls(
            mem_type=mem_type,
            access=access,
            resistance_on=r_on,
            resistance_off=r_off,
            resistance_avg=(r_on + r_off) / 2,
            resistance_access=float(param.resistanceAccess),
            read_voltage=float(param.readVoltage),
            read_pulse_width=float(param.readPulseWidth),
            access_voltage=float(param.accessVoltage),
            write_voltage=float(param.writeVoltage),
            feature_size=float(param.featuresize),
            height_in_feature_size=float(param.heightInFeatureSize),
            width_in_feature_size=float(param.widthInFeatureSize),
            width_access_cmos=float(param.widthAccessCMOS),
            width_sram_cell_nmos=float(param.widthSRAMCellNMOS),
            width_sram_cell_pmos=float(param.widthSRAMCellPMOS),
            min_sense_voltage=float(param.minSenseVoltage),
            charge_delay=float(param.chargeDelay),
        )


@dataclass(frozen=True)
class Context:
    """Technology, design parameters and memory cell: everything a circuit reads.
    Nothing here changes during an estimation; the working clock frequency is passed
    to the circuits that need it."""
    tech: fb.Technology
    param: fb.Param
    cell: MemoryCell

    @classmethod
    def from_param(cls, param: fb.Param) -> "Context":
        roadmap = {1: "HP", 2: "LSTP"}[param.deviceroadmap]
        tech = fb.Technology(int(param.technode), roadmap, "conventional", int(param.temp))
        return cls(tech=tech, param=param, cell=MemoryCell.from_param(param))

    @classmethod
    def from_config(cls, cfg: Any) -> "Context":
        param = cfg.to_param()
        param.validate()
        return cls.from_param(param)


_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


@dataclass(frozen=True)
class Layout:
    """A circuit's bounding box: height and width (m), area (m^2)."""
    height: float = 0.0
    width: float = 0.0
    area: float = 0.0


@dataclass(frozen=True)
class Cost:
    """What an action of a circuit costs (SI units; arrays broadcast over operating points).

    latency s (or clock cycles where a synchronous circuit documents it), dynamic_energy J,
    leakage W, write_latency s and write_dynamic_energy J (circuits on the write path),
    ramp_output 1/s (the output slope a next stage takes as its input ramp; None where the
    circuit gives none), category (the area/energy category a parent counts it in: "adc",
    "accum", "other", "buffer", "ic"), parts: named extra outputs (read-only mapping)."""
    latency: Any = 0.0
    dynamic_energy: Any = 0.0
    leakage: float = 0.0
    write_latency: Any = 0.0
    write_dynamic_energy: Any = 0.0
    ramp_output: Any = None
    category: str = "other"
    parts: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)

    def __post_init__(self):
        if not isinstance(self.parts, types.MappingProxyType):
            object.__setattr__(self, "parts", types.MappingProxyType(dict(self.parts)))

    def part(self, name: str):
        """A named extra output (KeyError names the ones this record has)."""
        try:
            return self.parts[name]
        except KeyError:
            raise KeyError(f"{name!r} is not a part of this cost; it has: "
                           f"{', '.join(self.parts) or 'none'}") from None

    def __add__(self, other: "Cost") -> "Cost":
        """The cost of both actions (latencies, energies and leakages add; the category and
        the extra outputs are not combined)."""
        return Cost(latency=self.latency + other.latency,
                    dynamic_energy=self.dynamic_energy + other.dynamic_energy,
                    leakage=self.leakage + other.leakage,
                    write_latency=self.write_latency + other.write_latency,
                    write_dynamic_energy=self.write_dynamic_energy + other.write_dynamic_energy,
                    category=self.category if self.category == other.category else "other")


NO_COST = Cost()


def total(costs) -> Cost:
    """The sum of an iterable of costs (NO_COST when empty)."""
    out = NO_COST
    for c in costs:
        out = out + c
    return out


AREA_CATEGORIES = ("ic", "adc", "accum", "other", "array")


@dataclass(frozen=True)
class AreaPart:
    """One entry of a parent's declared list of children (PE, tile, chip): its name, the
    area it adds to the parent's bounding-box sum (m^2) and how much of it each area
    category gets (`AREA_CATEGORIES`; "array" is the cells' share, inside "adc")."""
    name: str
    area: float
    categories: Mapping[str, float] = field(default_factory=lambda: _EMPTY)


def sum_areas(parts) -> dict[str, float]:
    """The parent's area and its area by category, summed over its declared children
    (`AreaPart`s, in order), plus each child's area under its name."""
    out = {"area": 0.0, **{c: 0.0 for c in AREA_CATEGORIES}}
    for part in parts:
        out["area"] += part.area
        for cat, a in part.categories.items():
            if cat not in AREA_CATEGORIES:
                raise ValueError(f"{part.name}: unknown area category {cat!r}; "
                                 f"valid: {', '.join(AREA_CATEGORIES)}")
            out[cat] += a
        out[part.name] = part.area
    return out


class Circuit:
    """Base of every circuit model: the context it was built from. Its `calculate_*` methods
    return records (`Layout`, `Cost`); it keeps only its sizing."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.tech = ctx.tech
        self.param = ctx.param
        self.cell = ctx.cell
        self.initialized = False

    def _require_initialized(self) -> None:
        if not self.initialized:
            raise RuntimeError(f"{type(self).__name__}: call initialize() first")

    def __repr__(self) -> str:
        return f"{type(self).__name__}(initialized={self.initialized})"


_SCALARS = (float, int, np.float64)
_LOG_VS_SQ = math.log(0.5) ** 2


def horowitz(tr, ramp_input=1e20):
    """Gate delay of an RC stage driven by a ramp (CACTI's Horowitz model, with the
    switching threshold at vdd/2 and the slope factor fixed at 0.5 as in the reference).

    `tr` (s) is the stage's RC time constant, `ramp_input` (1/s) the input slope (1e20:
    an ideal step). Vectorized: arrays broadcast. Returns (delay s, ramp_output 1/s)."""
    if type(tr) in _SCALARS and type(ramp_input) in _SCALARS:
        # scalar fast path (most calls): the same IEEE operations in the same order as
        # below, so the same bits; zero or non-finite cases take the array path
        prod = ramp_input * tr
        if prod != 0.0 and math.isfinite(prod):
            arg = _LOG_VS_SQ + 2.0 * (1.0 / prod) * 0.5 * (1.0 - 0.5)
            if arg >= 0.0:
                delay = tr * math.sqrt(arg)
                if delay != 0.0 and math.isfinite(delay):
                    return float(delay), float((1.0 - 0.5) / delay)
    tr = np.asarray(tr, dtype=float)
    ramp_input = np.asarray(ramp_input, dtype=float)
    vs = 0.5
    beta = 0.5
    alpha = 1.0 / (ramp_input * tr)
    delay = tr * np.sqrt(math.log(vs) ** 2 + 2.0 * alpha * beta * (1.0 - vs))
    ramp_output = (1.0 - vs) / delay
    if delay.ndim == 0:
        return float(delay), float(ramp_output)
    return delay, ramp_output


# --------------------------------------------------------------------------------------
# Layout helpers shared by the circuit models
# --------------------------------------------------------------------------------------

def is_given(x) -> bool:
    """A parent says "no constraint" with None or 0."""
    return x is not None and x != 0


def as_result(x):
    """0-d results as float, anything else as a float ndarray."""
    if type(x) in _SCALARS:          # the common case: already a number
        return float(x)
    a = np.asarray(x, dtype=float)
    return float(a) if a.ndim == 0 else a


def modify_layout(who, height, width, area, new_height, new_width, mode: AreaModify) -> Layout:
    """A computed layout adapted to the parent's request: MAGIC keeps the area and takes the
    given height (else the given width); OVERRIDE takes both as they are and needs both.
    `who` (the circuit) names it in the error."""
    if mode == AreaModify.MAGIC:
        if is_given(new_height):
            width = area / new_height
            height = new_height
        elif is_given(new_width):
            height = area / new_width
            width = new_width
    elif mode == AreaModify.OVERRIDE:
        if not (is_given(new_height) and is_given(new_width)):
            raise ValueError(f"{type(who).__name__}: OVERRIDE needs both a height and a width")
        height = new_height
        width = new_width
        area = new_height * new_width
    return Layout(height=height, width=width, area=area)


def logic_cell_height(tech) -> float:
    """Height (m) of one row of standard cells: 28 F on planar nodes, the node's own cell
    height on FinFET/GAA nodes."""
    if tech.node_nm <= 14:
        return fb.rules.cell_height_in_F(tech.node_nm) * tech.featureSize
    return fb.rules.CELL_HEIGHT * tech.featureSize


def fold_gates(n: int, extent: float, unit: float, who: str, what: str) -> tuple[int, float]:
    """Spread `n` gates of size `unit` along lines of the given `extent` (a height or a
    width, m): returns how many lines are needed and the pitch each gate then gets along
    its line (the gates are spread evenly over the lines). `who`/`what` name the circuit
    and the gate for the error raised when not even one gate fits."""
    per_line = int(extent / unit)
    if per_line <= 0:
        raise ValueError(f"{who}: the given size is smaller than one {what}")
    lines = math.ceil(n / per_line)
    per_line = math.ceil(n / lines)
    return lines, extent / per_line


def dense_row_gate_height(n: int, height: float, min_height: float) -> float:
    """Height each of `n` row gates gets in a column of `height`; when the rows are too
    dense for one gate each, the gates spread over several columns and get more height."""
    h = height / n
    if h < min_height:
        num_col = math.ceil(min_height / h)
        h = height / math.ceil(n / num_col)
    return h
