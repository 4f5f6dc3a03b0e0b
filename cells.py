"""Memory cells: one registry of cell kinds, shared by stage 1 (`cim/`) and stage 2
(`peripherals/`, `Array.py`, `Tile.py`, `programming.py`), and the one data path from weights
to cell conductances.

A cell kind (`CellKind`) says what the rest of the code needs to know about a memory
technology, by name:

* `code`: DNN+NeuroSim's `memcelltype` number (the C++ `Param` and the `--set` alias use it);
* `layout`: "sram" (6T cell, one bit) or "resistive" (1T1R or crossbar, `cellBit` bits);
* `read_modes` / `nodes_nm`: where the kind is modelled (a config outside gets one error line);
* `device`: device numbers the kind fixes, in NeuroSim Param names (nvCap: its 2F x 2F cell,
  Ron, Roff, read and access voltages, as NeuroSim V1.5's Param.cpp sets them);
* `column_current`: how the sense amps see a column: "weights" (the active cells'
  conductances, so estimates depend on the weights), "rows" (SRAM: only the number of active
  rows counts) or "none" (nvCap: charge sensing, the column resistance is infinite);
* `write`: the write model `programming.WriteDevice` uses ("resistive", "fefet", "sram").

A cell's device numbers can also come from a file (`--set device.cell_file=mycell.yaml`,
see `load_cell_file`): a new device of a known kind needs no code. A new kind is one
`register_cell(...)` call here plus, where its read-out differs, a recipe in `Array.py`
(see `peripherals/README.md`, with nvCap as the worked example).

Data path (one implementation, used by the trace loader, the estimator, programming.py
and stage 1's CSV export): real weight -> stored integer (`weight_levels`), signed code ->
stored integer (`code_levels`), stored integer -> `cells_per_weight` cells of `cell_bit`
bits (`split_levels`), cell level -> conductance (`level_conductance`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import numpy as np

__all__ = ["CellKind", "CellDevice", "CELLS", "register_cell", "get_cell", "cell_for_code",
           "load_cell_file", "CELL_FILE_FIELDS", "weight_levels", "code_levels",
           "split_levels", "level_conductance", "level_conductances"]


@dataclass(frozen=True)
class CellKind:
    """One memory technology, as every part of the simulator sees it."""
    name: str
    code: int                              # NeuroSim memcelltype
    description: str
    layout: str                            # "sram" | "resistive"
    column_current: str                    # "weights" | "rows" | "none"
    write: str                             # "resistive" | "fefet" | "sram"
    read_modes: tuple[str, ...] = ("sequential", "parallel")
    nodes_nm: tuple[int, ...] | None = None          # None: every node the technology has
    min_node_nm: int | None = None                   # smallest node (RRAM: 22 nm)
    device: Mapping[str, Any] = field(default_factory=dict)   # fixed NeuroSim Param values
    neurosim: str = "V1.4"                           # the NeuroSim version that models it

    @property
    def weights_matter(self) -> bool:
        """Whether the estimate depends on the stored weights (not only the inputs)."""
        return self.column_current == "weights"

    @property
    def stores_one_bit(self) -> bool:
        return self.layout == "sram"

    def check(self, *, node_nm: int, operation_mode: str) -> str | None:
        """None when the kind is modelled at this node and read mode, else the reason."""
        if operation_mode not in self.read_modes:
            return (f"{self.name} is modelled for {' and '.join(self.read_modes)} read only; "
                    f"set array.operation_mode to {self.read_modes[0]}")
        if self.nodes_nm is not None and node_nm not in self.nodes_nm:
            return (f"{self.name} is modelled at {', '.join(map(str, self.nodes_nm))} nm only "
                    f"(NeuroSim V1.5); set technology.node_nm accordingly")
        if self.min_node_nm is not None and node_nm < self.min_node_nm:
            return (f"{self.name} needs technology.node_nm >= {self.min_node_nm} "
                    f"(130, 90, 65, 45, 32, 22); use SRAM or FeFET below")
        return None


CELLS: dict[str, CellKind] = {}


def register_cell(kind: CellKind) -> CellKind:
    """Add a cell kind to the registry (names and NeuroSim codes must be unique)."""
    if kind.name in CELLS:
        raise ValueError(f"cell kind {kind.name!r} is registered twice")
    if any(k.code == kind.code for k in CELLS.values()):
        raise ValueError(f"cell kind {kind.name!r}: memcelltype {kind.code} is taken")
    CELLS[kind.name] = kind
    return kind


def get_cell(name: str) -> CellKind:
    """The cell kind of that name; an unknown name raises ValueError listing the valid ones."""
    try:
        return CELLS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown memory cell {name!r}; valid: {', '.join(CELLS)}") from None


def cell_for_code(code: int) -> CellKind:
    """The cell kind of a NeuroSim memcelltype number."""
    for kind in CELLS.values():
        if kind.code == int(code):
            return kind
    valid = ", ".join(f"{k.code} ({k.name})" for k in CELLS.values())
    raise ValueError(f"unknown memcelltype {code}; valid: {valid}")


register_cell(CellKind(
    name="SRAM", code=1, description="6T SRAM, one bit per cell",
    layout="sram", column_current="rows", write="sram"))
register_cell(CellKind(
    name="RRAM", code=2, description="resistive RAM, 1T1R or crossbar, cellBit bits per cell",
    layout="resistive", column_current="weights", write="resistive", min_node_nm=22))
register_cell(CellKind(
    name="FeFET", code=3, description="ferroelectric FET, cellBit bits per cell",
    layout="resistive", column_current="weights", write="fefet"))
# NeuroSim V1.5's non-volatile capacitive cell (memcelltype 4): charge-domain read, so the
# column current (and the weights) do not enter any figure; 22 nm, conventional parallel
# read only. The device numbers are those V1.5's Param.cpp forces for memcelltype 4 (the
# 1T1R cell is then 2F x 2F; the crossbar cell is 2F x 2F already). Its read-out (the
# charge delay, the op-amp and the fixed sense power) is the nvCap recipe in Array.py.
register_cell(CellKind(
    name="nvCap", code=4, description="non-volatile capacitive cell (NeuroSim V1.5), charge read",
    layout="resistive", column_current="none", write="fefet", read_modes=("parallel",),
    nodes_nm=(22,), neurosim="V1.5",
    device={"heightInFeatureSize1T1R": 2.0, "widthInFeatureSize1T1R": 2.0,
            "resistanceOn": 1e20, "resistanceOff": 25e20,
            "readVoltage": 0.06, "accessVoltage": 0.06}))


@dataclass(frozen=True)
class CellDevice:
    """A configured cell: its kind and the device numbers in force (the typed settings,
    then what the kind fixes, then a cell file). Stage 1 reads its conductance range from
    here; stage 2 gets the same numbers through the design parameters."""
    kind: CellKind
    r_on: float          # ohm
    r_off: float         # ohm

    @property
    def on_off_ratio(self) -> float:
        """Roff / Ron; infinite for a cell that stores a bit digitally (SRAM)."""
        return math.inf if self.kind.layout == "sram" else self.r_off / self.r_on

    @property
    def g_max(self) -> float:
        return 1.0 / self.r_on

    @property
    def g_min(self) -> float:
        return 0.0 if math.isinf(self.on_off_ratio) else 1.0 / self.r_off

    @classmethod
    def from_config(cls, cfg) -> "CellDevice":
        kind = get_cell(cfg.device.memory_type)
        values = cfg.cell_device_values()
        return cls(kind=kind, r_on=float(values.get("resistanceOn", cfg.device.r_on)),
                   r_off=float(values.get("resistanceOff", cfg.device.r_off)))


# ------------------------------------------------------------------------------------------
# Device numbers from a file
# ------------------------------------------------------------------------------------------

# Keys a cell file may hold: ours, mapped to NeuroSim Param names, with their unit and range.
CELL_FILE_FIELDS: dict[str, tuple[str, str, float, float]] = {
    "r_on": ("resistanceOn", "ohm", 1.0, 1e21),
    "r_off": ("resistanceOff", "ohm", 1.0, 1e22),
    "read_voltage": ("readVoltage", "V", 1e-6, 100.0),
    "read_pulse_width": ("readPulseWidth", "s", 1e-15, 1.0),
    "access_voltage": ("accessVoltage", "V", 1e-6, 100.0),
    "write_voltage": ("writeVoltage", "V", 1e-6, 100.0),
    "write_pulse_width": ("writePulseWidth", "s", 1e-15, 1.0),
    "access_resistance": ("resistanceAccess", "ohm", 0.0, 1e12),
    "height_1t1r_F": ("heightInFeatureSize1T1R", "F", 0.1, 1e4),
    "width_1t1r_F": ("widthInFeatureSize1T1R", "F", 0.1, 1e4),
    "height_crossbar_F": ("heightInFeatureSizeCrossbar", "F", 0.1, 1e4),
    "width_crossbar_F": ("widthInFeatureSizeCrossbar", "F", 0.1, 1e4),
    "charge_delay": ("chargeDelay", "s", 1e-15, 1.0),
    "max_levels_ltp": ("maxNumLevelLTP", "pulses", 1, 65536),
    "max_levels_ltd": ("maxNumLevelLTD", "pulses", 1, 65536),
}


def load_cell_file(path: str | Path) -> tuple[str | None, dict[str, float]]:
    """Read a cell file (YAML or JSON mapping): optional `kind` (a registered name) and
    device numbers (keys of CELL_FILE_FIELDS). Returns (kind or None, {NeuroSim name: value}).
    Bad content raises validation.InputError naming the file and the key."""
    from validation import InputError, load_json_text, load_yaml, read_text

    p = Path(path)
    text = read_text(p, "device.cell_file", 1 << 20)
    if p.suffix.lower() in (".yaml", ".yml"):
        data = load_yaml(text, f"device.cell_file: cannot parse {p}")
    else:
        data = load_json_text(text, f"device.cell_file: cannot parse {p}")
    if not isinstance(data, dict):
        raise InputError(f"{p}: a cell file must hold a mapping of names to values "
                         f"(kind, {', '.join(CELL_FILE_FIELDS)})")
    kind = data.get("kind")
    if kind is not None and kind not in CELLS:
        raise InputError(f"{p}: kind {str(kind)[:40]!r} is not a memory cell; valid: "
                         f"{', '.join(CELLS)}")
    out: dict[str, float] = {}
    for key, value in data.items():
        if key in ("kind", "name", "description"):
            continue
        if key not in CELL_FILE_FIELDS:
            raise InputError(f"{p}: unknown key {str(key)[:40]!r}; valid: kind, "
                             f"{', '.join(CELL_FILE_FIELDS)}")
        name, unit, lo, hi = CELL_FILE_FIELDS[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and lo <= value <= hi):
            raise InputError(f"{p}: {key} = {str(value)[:40]!r} is not a number from {lo:g} "
                             f"to {hi:g} {unit}")
        out[name] = float(value) if not name.startswith("maxNumLevel") else int(value)
    if "resistanceOn" in out and "resistanceOff" in out and not out["resistanceOn"] < out["resistanceOff"]:
        raise InputError(f"{p}: r_off must be greater than r_on")
    return kind, out


# ------------------------------------------------------------------------------------------
# Weights -> levels -> cells -> conductances
# ------------------------------------------------------------------------------------------

def weight_levels(weights, synapse_bit: int, w_min: float = -1.0, w_max: float = 1.0,
                  dtype=np.int64) -> np.ndarray:
    """Real weights in [w_min, w_max] to the stored integers 0 .. 2^b: the range is
    stretched onto [0, 2^b] and rounded half away from zero (NeuroSim adds +-0.5, then
    truncates toward zero). With the default range w becomes round(2^(b-1) (w + 1))."""
    w = np.asarray(weights, dtype=float)
    top = float(2 ** synapse_bit)
    scaled = top / (w_max - w_min) * (w - w_max) + top
    scaled = np.where(scaled >= 0, scaled + 0.5, scaled - 0.5)
    return np.trunc(scaled).astype(dtype)


def code_levels(codes, synapse_bit: int) -> np.ndarray:
    """Signed weight codes q (weight q / 2^(b-1), as in the trace files) to the stored
    integers q + 2^(b-1); equal to `weight_levels(q / 2**(b-1), b)`."""
    return np.asarray(codes, dtype=np.int64) + 2 ** (synapse_bit - 1)


def split_levels(levels, cells_per_weight: int, cell_bit: int, dtype=np.uint8) -> np.ndarray:
    """Stored integers (..., C) to cell levels (..., C * cells_per_weight), most significant
    cell first; bits above cells_per_weight * cell_bit are dropped (NeuroSim keeps taking
    remainders). Negative inputs (impossible for in-range weights) follow C's truncating
    remainder, as NeuroSim's split does."""
    v = np.asarray(levels)
    shifts = cell_bit * np.arange(cells_per_weight - 1, -1, -1)
    mask = (1 << cell_bit) - 1
    if v.size == 0 or v.min() >= 0:
        lv = v.astype(np.uint32, copy=False)
        out = np.empty(v.shape + (cells_per_weight,), dtype=dtype)
        for k in range(cells_per_weight):          # the few cells of one weight
            out[..., k] = (lv >> np.uint32(shifts[k])) & np.uint32(mask)
        return out.reshape(v.shape[:-1] + (v.shape[-1] * cells_per_weight,))
    else:
        v = v.astype(np.int64)
        mag = (np.abs(v)[..., None] >> shifts) & mask          # (..., C, cells)
        cells = np.where(v[..., None] < 0, -mag, mag)
    return cells.reshape(v.shape[:-1] + (v.shape[-1] * cells_per_weight,)).astype(dtype)


def level_conductances(cell_bit: int, g_max: float, g_min: float) -> np.ndarray:
    """Conductance (S) of every cell level 0 .. 2^cell_bit - 1, linear from g_min to g_max."""
    n = 2 ** cell_bit
    return np.arange(n, dtype=float) / float(n - 1) * (g_max - g_min) + g_min


def level_conductance(levels, cell_bit: int, g_max: float, g_min: float) -> np.ndarray:
    """Cell levels (any shape) to conductances (S)."""
    lv = np.asarray(levels, dtype=float)
    return lv / (2 ** cell_bit - 1) * (g_max - g_min) + g_min
