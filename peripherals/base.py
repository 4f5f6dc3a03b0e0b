"""What every circuit model shares: the hardware context and one small interface.

Every circuit class in `peripherals/` (and the sub-array in `Array.py`) derives from
`Circuit` and exposes the same figures, in SI units:

    area            m^2      height, width   m
    read_latency    s        (synchronous blocks may also report cycles, documented per class)
    read_dynamic_energy  J   leakage          W

A circuit is built from a `Context` (technology, design parameters, memory cell), then
sized with its own `initialize(...)` arguments, then asked for `calculate_area(...)`,
`calculate_latency(...)` and `calculate_power(...)`, which set the attributes above. The
methods mirror the decomposition DNN+NeuroSim users know, but data-dependent arguments
(row activity, column resistances, number of reads) may be numpy arrays: results then
come back as arrays of the same shape, one value per operating point, so callers evaluate
every input vector of a sub-array in one call.
"""
from __future__ import annotations

import enum
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

import FormulaBindings as fb

__all__ = ["AreaModify", "MemoryCell", "Context", "Circuit", "horowitz", "BOLTZMANN",
           "is_given", "as_result", "apply_area_modify", "logic_cell_height", "fold_gates",
           "dense_row_gate_height"]

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


class Circuit:
    """Base of every circuit model. Figures are SI: m^2, m, s, J, W."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.tech = ctx.tech
        self.param = ctx.param
        self.cell = ctx.cell
        self.initialized = False
        self.area = 0.0
        self.height = 0.0
        self.width = 0.0
        self.read_latency: float | np.ndarray = 0.0
        self.read_dynamic_energy: float | np.ndarray = 0.0
        self.leakage = 0.0

    def figures(self) -> dict[str, Any]:
        """The interface figures with their units in the key."""
        return {
            "area_m2": self.area, "height_m": self.height, "width_m": self.width,
            "read_latency_s": self.read_latency,
            "read_dynamic_energy_J": self.read_dynamic_energy,
            "leakage_W": self.leakage,
        }

    def _require_initialized(self) -> None:
        if not self.initialized:
            raise RuntimeError(f"{type(self).__name__}: call initialize() first")

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(area={self.area:.4g} m2, "
                f"leakage={self.leakage:.4g} W)")


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


def apply_area_modify(c: Circuit, new_height, new_width, mode: AreaModify) -> None:
    """Adapt a computed layout (c.area/height/width) to the parent's request: MAGIC keeps
    the area and takes the given height (else the given width); OVERRIDE takes both as
    they are and needs both."""
    if mode == AreaModify.MAGIC:
        if is_given(new_height):
            c.width = c.area / new_height
            c.height = new_height
        elif is_given(new_width):
            c.height = c.area / new_width
            c.width = new_width
    elif mode == AreaModify.OVERRIDE:
        if not (is_given(new_height) and is_given(new_width)):
            raise ValueError(f"{type(c).__name__}: OVERRIDE needs both a height and a width")
        c.height = new_height
        c.width = new_width
        c.area = new_height * new_width


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
