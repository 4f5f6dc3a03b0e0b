"""The compute-in-memory sub-array: cell array plus its read periphery.

`SubArray` re-implements the sub-array model of DNN+NeuroSim V1.4 (same numbers, own code):
which peripheral circuits exist for each memory cell and read mode, how large the bounding
box is, how long one sensing cycle takes, and the latency and energy of reading one input
vector (one bit-plane of one output position) through the sub-array.

Supported: conventional sequential read (operationmode 1: one row per step) and
conventional parallel read (operationmode 2: `numRowParallel` rows per step), for SRAM,
RRAM and FeFET (1T1R) and RRAM crossbar cells, and NeuroSim V1.5's nvCap cell (parallel
read), with the multilevel sense amp (current or voltage mode) or the SAR ADC (the
read-outs of `READOUTS`); the RRAM/FeFET word-line periphery of V1.4 or V1.5. The BNN/XNOR
modes are not modelled.

Each read mode has one periphery recipe (`RECIPES`): the circuits it holds, where each sits
and which category its area and read energy count in. Height, width, used area, the ADC /
accumulation / other areas and energies and the leakage are sums over it; the sizing of
each circuit (the widths and heights NeuroSim gives it) is in `calculate_area`. Values that
NeuroSim passes to circuits through its global parameters are sub-array properties handed
over as named arguments (`scratch` shows them).

Vectorised evaluation
---------------------
The reference evaluates every input vector of every sub-array in a loop. Here one call
evaluates all input vectors of one sub-array at once:

    sa = SubArray(ctx); sa.initialize(param.numRowSubArray, param.numColSubArray,
                                      param.unitLengthWireResistance)
    layout = sa.calculate_area()                     # SubArrayLayout (m, m^2)
    clock = sa.clock_pass(g_block, x_block)          # sensing cycle of each vector (s)
    res = sa.performance_pass(g_block, x_block, clk_freq)   # per-vector latency/energy

`g_block` is the sub-array's slice of the layer's cell-conductance matrix (rows x cell
columns, S; see `layer_conductance`), `x_block` the matching rows of the input bit matrix
(rows x vectors, 0/1). The data path helpers below compute, per vector, the row activity
and the column resistances exactly as the reference does, with matrix products instead
of loops.

Units: SI. Latencies the reference counts in clock cycles in synchronous mode
(`read_latency*` of the performance pass) are in cycles there (`latency_unit`), seconds
otherwise; the clock-pass sensing cycle is in seconds.

The lower-level interface is also public and returns records too (nothing is set on the
sub-array): `sensing_cycle(activity, column_resistance)` (clock pass, s per vector),
`read_cost(activity, column_resistance, clk_freq)` (performance pass, a ReadCost) and
`calculate_power(column_resistance, activity)`, with per-vector arrays. The column
resistances' last axis is the read columns and the leading axes broadcast against the
activity: an activity of shape (vectors, 1) with resistances (vectors, n, columns)
evaluates n sub-arrays over the same input vectors in one call (figures of shape
(vectors, n), or (vectors, 1) where the columns do not enter). The two passes are the same
functions of their inputs: neither leaves anything for the other.

Reference behaviour kept (it only shifts numbers)
- Row activity is counted over the sub-array's full row count, also for a partly
  filled sub-array (the behaviour of the reference run).
- C integer divisions: numCol/numColMuxed, numColMuxed/numColPerSynapse (weights per mux
  step) and numRowParallel/2 (rows assumed on) truncate.
- SRAM: the switch matrix's per-cell row capacitance is sampled before the access-gate load
  is added; in parallel read the precharger's energy is computed but not counted (it is
  reported under `not_summed`) while its area counts as ADC area.
- RRAM/FeFET parallel read: the shift-adds are sized without the partial-sum bits.
- Synchronous sequential read: the accumulation term (rows - 1) x (adder cycles - 1)
  goes negative when no row is active and the adder needs more than one cycle.
- Crossbar cells are laid out with the wire width as F; the ADC's dummy-column height uses
  the wire width as F for every cell type.
- The row-repeater leakage (2 and 1 nm only) is a current added without the vdd factor;
  level shifters and the SAR ADC add no leakage to the sub-array.

Where the reference breaks, this model does the physically sensible thing
- Sequential read of a vector with no active row: the reference divides 0 by 0 for the
  column resistance and later multiplies the NaN by zero reads; here the column is open
  (infinite resistance) and nothing is sensed (ADC energy 0), the same result.
- numRowParallel = 1: the half-on row count (0 in the reference) is taken as 1.
- Crossbar parallel read: the per-cell word-line R/C the reference leaves unset is taken
  from the word line (capRow1, resRow).
- A 1T1R access transistor wider than the cell raises ValueError (the reference exits).
- RRAM sequential read with cellBit = 1 (one ADC reference; the reference reads past it and
  prints an infinite clock) runs finite: see peripherals/multilevel_sense_amp.py.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any

import numpy as np

import FormulaBindings as fb

import cells
import figures

from peripherals.base import AreaModify, Circuit, Context, Layout, horowitz

__all__ = [
    "SubArray", "SubArrayLayout", "ClockPassResult", "SubArrayResult", "ReadCost",
    "weight_values", "weight_codes_to_values", "split_into_cells", "levels_to_conductance",
    "layer_conductance", "row_activity", "column_conductance", "column_resistance",
]

NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS
INV = fb.GateType.INV
R = fb.rules

# Mode codes used by the periphery modules (decoders, switch matrices); same values there.
_REGULAR_ROW = 0
_ROW_MODE, _COL_MODE = 0, 1

# Wire capacitance per length used for the array lines, F/m.
_WIRE_CAP_PER_M = 0.2e-15 / 1e-6
# nvCap read-out (NeuroSim V1.5): op-amp area per half read column (m^2), sense power per
# ADC level step (W, for 1 ns per conversion), array read power per 128 columns (W, for the
# charge delay plus 1 ns)
_NVCAP_OPAMP_AREA = 656e-15
_NVCAP_SENSE_POWER_PER_LEVEL = 1.7e-6 / 2
_NVCAP_ARRAY_POWER = 0.29e-3


# =========================================================================================
# Data path helpers: weights -> cell conductances, inputs -> activity / column resistance
# =========================================================================================

def weight_values(weights, synapse_bit: int, w_min: float = -1.0, w_max: float = 1.0) -> np.ndarray:
    """Real weights in [w_min, w_max] to the stored integers (cells.weight_levels)."""
    return cells.weight_levels(weights, synapse_bit, w_min, w_max)


def weight_codes_to_values(codes, synapse_bit: int) -> np.ndarray:
    """Integer weight codes q to the stored integers q + 2^(b-1) (cells.code_levels)."""
    return cells.code_levels(codes, synapse_bit)


def split_into_cells(values, num_cells: int, cell_bit: int) -> np.ndarray:
    """Stored integers to `num_cells` cells of `cell_bit` bits, most significant first
    (cells.split_levels), as int64."""
    return cells.split_levels(values, num_cells, cell_bit, dtype=np.int64)


def levels_to_conductance(levels, cell_bit: int, g_max: float, g_min: float) -> np.ndarray:
    """Cell level (0 .. 2^cell_bit - 1) to conductance (cells.level_conductance)."""
    return cells.level_conductance(levels, cell_bit, g_max, g_min)


def layer_conductance(weights, param: fb.Param, *, codes: bool = True) -> np.ndarray:
    """A layer's weight matrix (rows x C_out, integer codes q or real values) to the cell
    conductance matrix (rows x C_out * numColPerSynapse, S) that the sub-arrays hold."""
    b = int(param.synapseBit)
    if codes:
        values = weight_codes_to_values(weights, b)
    else:
        values = weight_values(weights, b, float(param.algoWeightMin), float(param.algoWeightMax))
    levels = split_into_cells(values, int(param.numColPerSynapse), int(param.cellBit))
    return levels_to_conductance(levels, int(param.cellBit), float(param.maxConductance),
                                 float(param.minConductance))


def row_activity(input_bits, num_row_subarray: int) -> np.ndarray:
    """Fraction of the sub-array's rows driven by each input vector: non-zero bits of the
    vector over the sub-array's full row count (also for partly filled sub-arrays, as in
    the reference run). input_bits: (rows, n_vectors) -> (n_vectors,)."""
    x = np.asarray(input_bits)
    return np.count_nonzero(x, axis=0) / float(num_row_subarray)


def column_conductance(conductance, input_bits, *, mem_type: str, access: str,
                       wire_res_row: float, wire_res_col: float, res_access: float,
                       sram_res_cell_access: float = 0.0, num_cols: int | None = None) -> np.ndarray:
    """Summed conductance of the active cells of every column, per input vector.

    RRAM/FeFET: each active cell (i, j) contributes 1 / (1/g + (j+1)*wire_res_row +
    (rows - i)*wire_res_col [+ res_access for 1T1R RRAM]), i.e. the cell in series with
    the wire to its row driver and column end and its access transistor. SRAM: every
    active row adds 1 / (sram_res_cell_access + wire_res_col), whatever the weights.

    conductance: (rows, cols) S (may be None for SRAM with `num_cols` given);
    input_bits: (rows, n) 0/1. Returns (n, cols) S."""
    x = np.asarray(input_bits)
    active = (x == 1).astype(float)                       # (rows, n)
    if mem_type == "SRAM":
        cols = num_cols if num_cols is not None else np.asarray(conductance).shape[1]
        per_cell = 1.0 / (sram_res_cell_access + wire_res_col)
        count = active.sum(axis=0)
        return np.repeat((count * per_cell)[:, None], cols, axis=1)
    g = np.asarray(conductance, dtype=float)
    rows, cols = g.shape
    with np.errstate(divide="ignore"):
        series = 1.0 / g
    series = (series + (np.arange(cols)[None, :] + 1) * wire_res_row
              + (rows - np.arange(rows)[:, None]) * wire_res_col)
    if mem_type == "RRAM" and access == "CMOS":
        series = series + res_access
    g_eff = 1.0 / series                                  # (rows, cols)
    return active.T @ g_eff                               # (n, cols)


def column_resistance(col_g, active_rows, *, parallel: bool, num_add: int) -> np.ndarray:
    """Column resistance seen by the sense amp from the summed conductances.

    Parallel read: the total conductance divided by the number of row groups (`numAdd`).
    Sequential read (RRAM/FeFET): the mean conductance of one active cell (total / number
    of active rows). The reference divides 0 by 0 when no row is active (NaN, later hidden
    because the ADC energy is then multiplied by zero reads); here such a column has no
    conducting cell, so its conductance is 0 and its resistance infinite.
    A column without any conducting cell has infinite resistance (1/0), as in the
    reference. col_g: (n, cols); active_rows: (n,). Returns (n, cols) ohm."""
    g = np.asarray(col_g, dtype=float)
    if parallel:
        g = g / float(num_add)
    else:
        k = np.asarray(active_rows, dtype=float)[:, None]
        g = np.divide(g, k, out=np.zeros_like(g), where=k > 0)
    with np.errstate(divide="ignore"):
        return 1.0 / g


# =========================================================================================
# Results
# =========================================================================================

@dataclass
class ClockPassResult:
    """The sensing cycle of each input vector (s), after the validated latency factor.

    `components` holds the delays (s) of the circuits that make up the cycle (one value;
    they do not depend on the data in the conventional modes); `column_delay` is the
    bit-line delay the sub-array computes (it enters the cycle in sequential modes only)."""
    sensing_cycle: np.ndarray
    components: dict[str, float]
    column_delay: float

    @property
    def max(self) -> float:
        return float(np.max(self.sensing_cycle)) if self.sensing_cycle.size else 0.0


@dataclass(frozen=True)
class SubArrayLayout(Layout):
    """What `SubArray.calculate_area` returns: the bounding box (height, width m, area
    m^2), the cells alone (area_array, height_array, width_array), the used and empty
    area, the area of each category (area_adc, area_accum, area_other; m^2) and the layout
    of each periphery circuit by its recipe name (`children`)."""
    used_area: float = 0.0
    empty_area: float = 0.0
    area_adc: float = 0.0
    area_accum: float = 0.0
    area_other: float = 0.0
    area_array: float = 0.0
    height_array: float = 0.0
    width_array: float = 0.0
    children: Any = None

    def figures(self) -> dict[str, float]:
        """Area results in m^2 / m (names as the reference's members, snake_case)."""
        return {k: float(getattr(self, k)) for k in self.FIGURES}


# its figures: every field but the children, the area first
SubArrayLayout.FIGURES = ("area",) + tuple(f.name for f in fields(SubArrayLayout)
                                           if f.name not in ("area", "children"))


@figures.carried_by(figures.subarray_names(), extra=("leakage", "leakage_sram_in_use"))
@dataclass(frozen=True)
class ReadCost:
    """What reading input vectors through a sub-array costs, as `SubArray.read_cost`
    returns it: arrays broadcast over the vectors (and sub-arrays side by side) given;
    latencies in clock cycles (synchronous) or s, energies J, leakage W (per sub-array)."""
    read_latency: np.ndarray
    read_latency_adc: np.ndarray
    read_latency_accum: np.ndarray
    read_latency_other: np.ndarray
    read_dynamic_energy: np.ndarray
    read_dynamic_energy_adc: np.ndarray
    read_dynamic_energy_accum: np.ndarray
    read_dynamic_energy_other: np.ndarray
    leakage: float
    leakage_sram_in_use: float

    # the per-vector figures (figures.FIGURES' `subarray` fields)
    FIGURES = figures.subarray_names()


@dataclass(frozen=True)
class _Sensing:
    """The sensing-cycle delays of a sub-array (s): each circuit's, the column delay and
    the row repeaters' (see SubArray._sensing_components)."""
    components: dict
    column_delay: float
    buffer_latency: float


@dataclass(frozen=True)
class _Power:
    """What SubArray.calculate_power returns (J per input vector; W)."""
    read_dynamic_energy: Any
    read_dynamic_energy_adc: Any
    read_dynamic_energy_accum: Any
    read_dynamic_energy_other: Any
    leakage: float
    leakage_sram_in_use: float
    energy_components: dict
    not_summed: dict


@dataclass(frozen=True)
class _Read(ReadCost):
    """A performance pass with its parts (what `performance_pass` reports)."""
    energy_components: dict = field(default_factory=dict)
    not_summed: dict = field(default_factory=dict)
    latency_components: dict = field(default_factory=dict)


@dataclass(frozen=True)
class SubArrayResult(ReadCost):
    """Per-input-vector latency and energy of one sub-array (performance pass): the
    ReadCost figures, one entry per input vector, plus the row activity and the parts.

    Latencies are in `latency_unit` ("cycles" in synchronous mode, "s" otherwise); energies
    in J; leakage in W (per sub-array, the same for every vector).

    `components` holds the energy (J, per vector) of exactly the members the reference adds
    into `read_dynamic_energy` in this mode (keys as in components.json: "array",
    "wl_switch_matrix", "adc_multilevel_sense_amp", ...). `not_summed` holds energies the
    reference computes but does not add (the precharger in SRAM parallel read).
    `component_latency` holds the performance-pass latencies of the accumulation circuits
    (adder/DFF/shift-adds: cycles in synchronous mode, except the adders' own delays in s
    under keys ending in "_adder_s")."""
    activity: np.ndarray = None
    latency_unit: str = "cycles"
    components: dict[str, np.ndarray] = field(default_factory=dict)
    not_summed: dict[str, np.ndarray] = field(default_factory=dict)
    component_latency: dict[str, Any] = field(default_factory=dict)
    column_resistance: np.ndarray | None = None

    @property
    def n_vectors(self) -> int:
        return int(self.activity.shape[0])

    def totals(self) -> dict[str, float]:
        """Sums over the input vectors (what the reference accumulates per sub-array)."""
        out = {}
        for name in ReadCost.FIGURES:
            out[name] = float(np.sum(getattr(self, name)))
        for k, v in self.components.items():
            out["energy_" + k] = float(np.sum(v))
        return out


# =========================================================================================
# The sub-array
# =========================================================================================

def _vec(x, n: int) -> np.ndarray:
    """A circuit figure as a length-n float array (scalars broadcast)."""
    a = np.asarray(x, dtype=float)
    if a.ndim == 0:
        return np.full(n, float(a))
    return np.broadcast_to(a, (n,)).astype(float, copy=True)


def _div_int(a: int, b: int) -> int:
    """C integer division of non-negative ints (what `ceil(int/int)` reduces to)."""
    return int(a) // int(b)


@dataclass(frozen=True)
class Part:
    """One entry of a sub-array periphery recipe.

    name: a child circuit (absent children are skipped), or "array" / "row_repeaters";
    category: where its area goes ("adc", "accum", "other"); energy: the key of its read
    energy among the sub-array's components and the category it is counted in (None: its
    read energy is not counted); placement: "column" (stacked with the array: adds
    height), "row" (beside the array: adds width), "" (area only); leaks: whether its
    leakage counts; count: instances (area and height)."""
    name: str
    category: str
    placement: str = "column"
    energy: tuple[str, str] | None = None
    leaks: bool = True
    count: int = 1


def _p(name, category, placement="column", energy="same", leaks=True, count=1) -> Part:
    if energy == "same":
        energy = (name, category)
    return Part(name, category, placement, energy, leaks, count)


_MUX = (_p("mux", "other", energy=("column_mux", "other")),
        _p("mux_decoder", "other", "", energy=("mux_decoder", "other")))
_ADC = (_p("multilevel_sense_amp", "adc", energy=("adc_multilevel_sense_amp", "adc")),
        _p("multilevel_sa_encoder", "adc", energy=("adc_encoder", "adc")),
        _p("sar_adc", "adc", energy=("adc_sar", "adc")))
_ACCUM = (_p("shift_add_weight", "accum"), _p("shift_add_input", "accum"),
          _p("adder", "accum"), _p("dff", "accum"))
_LEVEL_SHIFTERS = (_p("sl_level_shifter", "other", energy=None, leaks=False),
                   _p("wl_level_shifter", "other", "row", energy=None, leaks=False),
                   _p("bl_level_shifter", "other", "row", energy=None, leaks=False))

# One periphery recipe per read mode: what the sub-array holds, where each part sits, and
# the category its area and read energy count in. NeuroSim's special cases are kept and
# named: the SRAM parallel precharger (ADC area, energy computed but not counted), the two
# DFF banks of SRAM sequential (one energy), the source-line switch matrix (leakage but no
# counted read energy), nvCap's never-sized source-line level shifter (left out).
RECIPES: dict[str, tuple[Part, ...]] = {
    "sram_sequential": (
        _p("array", "adc", energy=("array", "adc"), leaks=False),
        _p("precharger", "adc"), _p("sram_write_driver", "other", energy=None),
        _p("sense_amp", "adc"), _p("adder", "accum"), _p("dff", "accum", count=2),
        _p("shift_add_input", "accum"), _p("shift_add_weight", "accum"),
        _p("wl_decoder", "other", "row")),
    "sram_parallel": (
        _p("array", "adc", energy=("array", "adc"), leaks=False),
        _p("precharger", "adc", energy=None), _p("sram_write_driver", "other", energy=None),
        *_ADC, *_ACCUM, *_MUX,
        _p("wl_switch_matrix", "other", "row"),
        _p("row_repeaters", "other", "", energy=None, leaks=False)),
    "resistive_sequential": (
        _p("array", "adc", energy=("array", "adc"), leaks=False),
        *_LEVEL_SHIFTERS, _p("sl_switch_matrix", "other", energy=None),
        *_MUX, *_ADC, *_ACCUM,
        _p("wl_decoder", "other", "row"), _p("wl_new_decoder_driver", "other", "row"),
        _p("wl_decoder_driver", "other", "row")),
    "resistive_parallel": (
        _p("array", "adc", energy=("array", "adc"), leaks=False),
        *_LEVEL_SHIFTERS, _p("sl_switch_matrix", "other", energy=None),
        *_MUX, *_ADC, *_ACCUM,
        _p("wl_new_switch_matrix", "other", "row"), _p("wl_switch_matrix", "other", "row"),
        _p("row_repeaters", "other", "", energy=None, leaks=False)),
    "charge_parallel": (          # nvCap (NeuroSim V1.5)
        _p("array", "adc", energy=("array", "adc"), leaks=False),
        *_LEVEL_SHIFTERS[1:], _p("sl_switch_matrix", "other", energy=None),
        *_MUX, *_ADC, *_ACCUM,
        _p("wl_switch_matrix", "other", "row")),
}


# ------------------------------------------------------------------------------------------
# Read-out circuits by name
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReadOut:
    """A column read-out: `build(subarray, levels, parallel, encoder)` creates its circuits
    as sub-array children, under the names the recipes list (multilevel_sense_amp +
    multilevel_sa_encoder, or sar_adc)."""
    name: str
    description: str
    build: Any
    # whether its figures depend on the column resistances (and so on the weights); a
    # voltage-mode sense amp's do not (NeuroSim V1.5's finding), so its estimates skip them
    senses_column_resistance: bool = True


def _build_multilevel_sense_amp(sa: "SubArray", levels: int, parallel: bool, encoder: bool) -> None:
    n_adc = _div_int(sa.num_col, sa.num_col_muxed)
    mlsa = sa._new("multilevel_sense_amp", "multilevel_sense_amp", "MultilevelSenseAmp")
    mlsa.initialize(n_adc, levels, sa.clk_freq, sa.num_read_cell_per_operation_neuro,
                    parallel, sa.current_mode, column_cap=sa.cap_col,
                    array_height=sa.ref_array_height, array_width_unit=sa.ref_array_width_unit,
                    res_cell_access=sa.sense_res_cell_access)
    if encoder:
        sa._new("multilevel_sa_encoder", "multilevel_sa_encoder",
                "MultilevelSAEncoder").initialize(levels, n_adc)


def _build_sar_adc(sa: "SubArray", levels: int, parallel: bool, encoder: bool) -> None:
    n_adc = _div_int(sa.num_col, sa.num_col_muxed)
    sa._new("sar_adc", "sar_adc", "SarADC").initialize(
        n_adc, levels, sa.clk_freq, sa.num_read_cell_per_operation_neuro)


READOUTS: dict[str, ReadOut] = {}


def register_readout(readout: ReadOut) -> ReadOut:
    if readout.name in READOUTS:
        raise ValueError(f"read-out {readout.name!r} is registered twice")
    READOUTS[readout.name] = readout
    return readout


def readout_of(param) -> ReadOut:
    """The read-out the design parameters choose (NeuroSim's SARADC and currentMode)."""
    if bool(param.SARADC):
        return READOUTS["sar_adc"]
    return READOUTS["current_sense_amp" if bool(param.currentMode) else "voltage_sense_amp"]


def get_readout(name: str) -> ReadOut:
    """The read-out of that name; an unknown name raises ValueError listing the valid ones."""
    try:
        return READOUTS[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown read-out {name!r}; valid: {', '.join(READOUTS)}") from None


register_readout(ReadOut("current_sense_amp", "multilevel current-mode sense amp + encoder "
                         "(NeuroSim currentMode=true)", _build_multilevel_sense_amp))
register_readout(ReadOut("voltage_sense_amp", "multilevel voltage-mode sense amp + encoder "
                         "(NeuroSim currentMode=false)", _build_multilevel_sense_amp,
                         senses_column_resistance=False))
register_readout(ReadOut("sar_adc", "successive-approximation ADC (NeuroSim SARADC=true)",
                         _build_sar_adc))


class SubArray(Circuit):
    """One sub-array: `numRow x numCol` cells and the read periphery of its mode.

    Construction reads the design parameters the reference copies into the sub-array
    before initialising it (memory cell, read mode, numColMuxed, levelOutput, cellBit,
    numColPerSynapse, numBitInput, numRowParallel, numAdd, ADC type, validated).

    `calculate_area()` sizes the periphery and returns a SubArrayLayout: area/height/width
    (bounding box, m^2/m), area_array/height_array/width_array (cells only), used_area,
    empty_area, area_adc, area_accum, area_other (m^2) and each circuit's Layout
    (`children`). Array properties after `initialize()`: length_row,
    length_col (m), cap_row1, cap_row2, cap_col (F), res_row, res_col (ohm),
    res_cell_access (ohm; SRAM access transistor, 0 otherwise), cap_cell_access (F),
    res_mem_cell_on/off/avg (ohm, RRAM/FeFET), width_access_cmos (access width in F).
    """

    # ------------------------------------------------------------------ construction
    def __init__(self, ctx: Context):
        super().__init__(ctx)
        p = self.param
        mode = int(p.operationmode)
        if mode not in (1, 2):
            raise NotImplementedError(
                f"SubArray: operationmode={mode} (BNN/XNOR modes) is not modelled; use 1 or 2")
        self.conventional_sequential = mode == 1
        self.conventional_parallel = mode == 2
        self.mem_type = self.cell.mem_type
        self.access = self.cell.access
        self.num_row_parallel = int(p.numRowParallel)
        self.num_add = int(p.numAdd)
        self.level_output = int(p.levelOutput)
        self.num_col_muxed = int(p.numColMuxed)
        self.clk_freq = float(p.clkFreq)
        self.relax_array_cell_height = bool(p.relaxArrayCellHeight)
        self.relax_array_cell_width = bool(p.relaxArrayCellWidth)
        self.num_read_pulse = int(p.numBitInput)
        self.avg_weight_bit = int(p.cellBit)
        self.num_cell_per_synapse = int(p.numColPerSynapse)
        self.sar_adc_mode = bool(p.SARADC)
        self.current_mode = bool(p.currentMode)
        self.validated = bool(p.validated)
        self.synchronous = bool(p.synchronous)
        # charge-domain cells (nvCap): no column current; the nvCap recipe below
        self.charge_sensing = self.cell.kind.column_current == "none"
        # NeuroSim V1.5's word-line periphery (its "20241031" change; nvCap has only that)
        self.wl_v15 = int(p.subArrayRevision) == 15 or self.charge_sensing
        # write activities are never set in the inference flow; the reference's write
        # terms therefore see zero writes
        self.activity_row_write = 0.0
        self.activity_col_write = 0.0
        self._children: dict[str, Circuit] = {}
        self._layouts: dict[str, Layout] = {}      # each child's layout, once sized

    # ------------------------------------------------------------------ helpers
    @property
    def _fin(self) -> int:
        """Minimum devices are two F wide (one fin pair) on multi-gate nodes."""
        return 2 if int(self.param.technode) <= 14 else 1

    @property
    def _beta(self) -> float:
        return float(self.param.beta) if self.validated else 1.0

    def _new(self, name: str, module: str, cls: str) -> Circuit:
        mod = __import__(f"peripherals.{module}", fromlist=[cls])
        obj = getattr(mod, cls)(self.ctx)
        self._children[name] = obj
        setattr(self, name, obj)
        return obj

    def child(self, name: str) -> Circuit | None:
        """A peripheral circuit by attribute name, or None if this mode has none."""
        return self._children.get(name)

    @property
    def uses_row_repeaters(self) -> bool:
        """Parallel read with row repeaters (nodes with buffernumber > 0) on a driven word
        line (SRAM or 1T1R)."""
        return (self.conventional_parallel and float(self.param.buffernumber) > 0
                and not self.charge_sensing and (self.mem_type == "SRAM" or self.access == "CMOS"))

    def row_line_rc(self) -> dict[str, float]:
        """What the word-line switch matrix's delay model reads of the row it drives (NeuroSim
        keeps it in its global parameters): per-cell capacitance `unit_cap` (F) and
        resistance `unit_res` (ohm) and the repeater input capacitance `drive_cap_in` (F), as
        set when the array was sized (the bare line for SRAM, none for nvCap). A row with
        repeaters passes its own values (`_repeater_chain`)."""
        return {"unit_cap": self.unit_cap, "unit_res": self.unit_res,
                "drive_cap_in": self.drive_cap_in}

    @property
    def scratch(self) -> dict[str, float]:
        """The values NeuroSim hands to the peripheral circuits through its global parameter
        object, as one read-only view (column capacitance, the dummy-column geometry, the
        access resistance the sense amps reference, the word line's per-cell R/C and repeater
        input capacitance, the reference-column energy)."""
        return {"column_cap": self.cap_col, "array_height": self.ref_array_height,
                "array_width_unit": self.ref_array_width_unit,
                "res_cell_access": self.sense_res_cell_access,
                "reference_energy_peri": self.reference_energy_peri, **self.row_line_rc()}

    # ------------------------------------------------------------------ initialize
    def initialize(self, num_row: int, num_col: int, unit_wire_res: float) -> None:
        """Size the array and create its periphery (NeuroSim's SubArray::Initialize)."""
        for name in self._children:
            delattr(self, name)
        self._children = {}
        self.initialize_array(num_row, num_col, unit_wire_res)
        self._initialize_periphery()
        self.initialized = True

    def initialize_array(self, num_row: int, num_col: int, unit_wire_res: float) -> None:
        """The cell array alone: wire lengths, row/column R and C, access device, the
        mode-dependent word-line load and the row repeaters. `initialize` calls it first;
        it needs no peripheral circuit."""
        p, tech, cell = self.param, self.tech, self.cell
        node = int(p.technode)
        F = tech.featureSize
        fin = self._fin
        self.num_row = int(num_row)
        self.num_col = int(num_col)
        self.unit_wire_res = float(unit_wire_res)
        if self.num_col_muxed > self.num_col:
            self.num_col_muxed = self.num_col
        self.num_read_cell_per_operation_neuro = int(p.numColSubArray)
        self.num_write_cell_per_operation_neuro = int(p.numColSubArray)
        self.num_write_cell_per_operation_memory = int(p.numColSubArray) // 8
        num_row, num_col = self.num_row, self.num_col

        # minimum logic-cell pitch, used when the cell is relaxed to the periphery pitch
        min_cell_height = R.CELL_HEIGHT
        min_cell_width = (R.GATE_POLY_GAP + R.POLY_WIDTH) * 2
        if node <= 14:
            min_cell_height = R.cell_height_in_F(node)
            if node == 14:   # 14 nm uses the generic FinFET poly rules, not its own CPP
                min_cell_width *= ((R.POLY_WIDTH_MULTIGATE + R.GATE_POLY_GAP_MULTIGATE)
                                   / (R.GATE_POLY_GAP + R.POLY_WIDTH))
            else:
                min_cell_width *= R.contacted_poly_pitch_in_F(node) / (R.GATE_POLY_GAP + R.POLY_WIDTH)
        wire_F = float(p.featuresize)         # the cell's feature size (the wire width)
        h_cell, w_cell = cell.height_in_feature_size, cell.width_in_feature_size
        if self.mem_type == "SRAM":
            # SRAM cell rows run along the logic-cell height direction
            w = max(w_cell, min_cell_height) if self.relax_array_cell_width else w_cell
            h = max(h_cell, min_cell_width) if self.relax_array_cell_height else h_cell
            self.length_row = num_col * w * F
            self.length_col = num_row * h * F
            array_width_unit = w_cell * F
        elif self.access == "CMOS":
            w = max(w_cell, min_cell_width * 2) if self.relax_array_cell_width else w_cell
            h = max(h_cell, min_cell_height) if self.relax_array_cell_height else h_cell
            self.length_row = num_col * w * F
            self.length_col = num_row * h * F
            array_width_unit = w_cell * wire_F
        else:
            # quirk kept: the crossbar array is laid out with the wire width as F
            if self.relax_array_cell_width:
                self.length_row = num_col * max(w_cell * wire_F, min_cell_width * 2 * F)
            else:
                self.length_row = num_col * w_cell * wire_F
            if self.relax_array_cell_height:
                self.length_col = num_row * max(h_cell * wire_F, min_cell_height * F)
            else:
                self.length_col = num_row * h_cell * wire_F
            array_width_unit = w_cell * wire_F
        # quirk kept: the dummy reference column's height uses the wire width as F
        array_height = num_row * h_cell * wire_F

        self.cap_row1 = self.length_row * _WIRE_CAP_PER_M   # SRAM/crossbar word line, 1T1R bit line
        self.cap_row2 = self.length_row * _WIRE_CAP_PER_M   # 1T1R word line
        self.cap_col = self.length_col * _WIRE_CAP_PER_M
        self.res_row = self.length_row * float(p.Metal1_unitwireresis)
        self.res_col = self.length_col * float(p.Metal0_unitwireresis)
        self.res_cell_access = 0.0
        self.cap_cell_access = 0.0
        self.res_mem_cell_on = self.res_mem_cell_off = self.res_mem_cell_avg = 0.0
        self.width_access_cmos = cell.width_access_cmos
        self.width_inv_n = self.width_inv_p = 0.0
        self.target_drive_res = 0.0
        self.section_res = 0.0
        self.drive_cap_in = self.drive_cap_out = 0.0
        self.h_inv = self.w_inv = 0.0
        # values NeuroSim passes to circuits through its global parameters (see `scratch`)
        self.ref_array_height = array_height
        self.ref_array_width_unit = array_width_unit
        self.sense_res_cell_access = 0.0
        self.unit_cap = self.unit_res = 0.0
        nbuf = float(p.buffernumber)

        if self.mem_type == "SRAM":
            wacc = cell.width_access_cmos * fin * F
            self.res_cell_access = fb.on_resistance(wacc, NMOS, tech)
            self.cap_cell_access = fb.drain_cap(wacc, NMOS, tech)
            # per-cell row R/C for the switch-matrix delay model: the bare wire, sampled
            # before the access-gate load is added below (as the reference does)
            self.unit_cap = self.cap_row1 / float(p.numColSubArray)
            self.unit_res = self.res_row / float(p.numColSubArray)
            if node <= 14:
                self.cap_col += tech.cap_draintotal * cell.width_access_cmos * tech.effective_width * num_row
            else:
                self.cap_col += fb.drain_cap(wacc, NMOS, tech) * num_row
            if self.conventional_sequential:
                # one row per step: both access gates of every cell on the word line
                self.cap_row1 += 2 * fb.gate_cap(wacc, tech) * num_col
            else:
                self.cap_row1 += fb.gate_cap(wacc, tech) * num_col
                if self.num_col_muxed > 1:
                    # the sense amps take their reference range from the access resistance
                    self.sense_res_cell_access = self.res_cell_access
        else:
            ron, roff = cell.resistance_on, cell.resistance_off
            P = self.num_row_parallel
            if self.charge_sensing:
                # nvCap: no access-device sizing and no per-cell row R/C (the reference never
                # sets them for this cell, so its switch matrix sees none: unit_cap = 0)
                self.res_mem_cell_on = ron
                self.res_mem_cell_off = roff
                self.res_mem_cell_avg = 1.0 / (1.0 / ron * P / 2.0 + 1.0 / roff * P / 2.0) * P
            elif self.access == "CMOS":
                res_cell_access = ron * R.IR_DROP_TOLERANCE
                self.width_access_cmos = (fb.on_resistance(fin * F, NMOS, tech) * R.LINEAR_REGION_RATIO
                                          / res_cell_access)
                width_in_F = self.width_access_cmos
                if node <= 14:   # fins to an equivalent drawn width
                    width_in_F = ((self.width_access_cmos - 1) * tech.PitchFin + tech.widthFin) / F
                if width_in_F > w_cell:
                    raise ValueError(
                        f"SubArray: the 1T1R access transistor ({self.width_access_cmos:.2f} F) does not "
                        f"fit the cell width ({w_cell:.2f} F); widen the cell (widthInFeatureSize1T1R)")
                self.res_mem_cell_on = res_cell_access + ron
                self.res_mem_cell_off = res_cell_access + roff
                self.res_mem_cell_avg = 1.0 / (1.0 / (ron + res_cell_access) * P / 2.0
                                               + 1.0 / (roff + res_cell_access) * P / 2.0) * P
                wacc = self.width_access_cmos * fin * F
                self.cap_row2 += fb.gate_cap(wacc, tech) * num_col
                self.unit_cap = self.cap_row2 / float(p.numColSubArray)
                self.unit_res = self.res_row / float(p.numColSubArray)
                self.cap_col += fb.drain_cap(wacc, NMOS, tech) * num_row
            else:
                self.res_mem_cell_on = ron
                self.res_mem_cell_off = roff
                # no access device (access resistance 0)
                self.res_mem_cell_avg = 1.0 / (1.0 / ron * P / 2.0 + 1.0 / roff * P / 2.0) * P
                # the reference leaves the per-cell row R/C unset for the crossbar; the
                # word line (capRow1) is the line its switch matrix drives
                self.unit_cap = self.cap_row1 / float(p.numColSubArray)
                self.unit_res = self.res_row / float(p.numColSubArray)
        # energy of one reference-column activation, read by the SRAM parallel sense amps
        self.reference_energy_peri = 0.0
        if self.mem_type == "SRAM" and self.conventional_parallel:
            self.reference_energy_peri = (self.cap_row1 / float(p.numColSubArray)
                                          * (tech.vdd * tech.vdd) * self.num_row)

        if self.uses_row_repeaters:
            # row repeaters (nodes with buffernumber > 0): section resistance and the
            # inverter widths that give the target drive resistance
            self.section_res = self.res_row / (nbuf + 1)
            self.target_drive_res = fb.on_resistance(fin * F * float(p.buffersizeratio), NMOS, tech)
            wn = fb.on_resistance(fin * F, NMOS, tech) / self.target_drive_res * F
            wp = fb.on_resistance(fin * F, PMOS, tech) / self.target_drive_res * F
            if node <= 14:
                wn = 2 * math.ceil(wn / F) * F
                wp = 2 * math.ceil(wp / F) * F
            self.width_inv_n, self.width_inv_p = wn, wp

    def _initialize_periphery(self) -> None:
        p, cell = self.param, self.cell
        num_row, num_col = self.num_row, self.num_col
        ncm = self.num_col_muxed
        clk = self.clk_freq
        cps = self.num_cell_per_synapse
        act0 = 0.0   # the activity a circuit sees at initialisation (none yet)
        log2_rows = int(math.ceil(math.log2(num_row)))

        def shift_adds(num_adder: int, weight_bits: int, weight_steps: int, input_bits: int) -> None:
            from peripherals.shift_add import SpikingMode   # binary (non-spiking) inputs
            if cps > 1:
                self._new("shift_add_weight", "shift_add", "ShiftAdd").initialize(
                    num_adder, weight_bits, clk, SpikingMode.NONSPIKING, weight_steps)
            if self.num_read_pulse > 1:
                self._new("shift_add_input", "shift_add", "ShiftAdd").initialize(
                    num_adder, input_bits, clk, SpikingMode.NONSPIKING, self.num_read_pulse)

        def mux(res_tg: float, num_input: int) -> None:
            if ncm > 1:
                self._new("mux", "mux", "Mux").initialize(num_input, ncm, res_tg, False)
                self._new("mux_decoder", "row_decoder", "RowDecoder").initialize(
                    _REGULAR_ROW, int(math.ceil(math.log2(ncm))), True, False)

        def switch_matrix(name: str, mode: int, num_output: int, res_tg: float) -> None:
            self._new(name, "switch_matrix", "SwitchMatrix").initialize(
                mode, num_output, res_tg, True, False, act0, self.activity_col_write,
                self.num_write_cell_per_operation_memory, self.num_write_cell_per_operation_neuro, 1, clk)

        def partial_sum_adder(num_adder: int, adder_bit: int) -> None:
            if self.num_add > 1:
                self._new("dff", "dff", "DFF").initialize(adder_bit * num_adder, clk)
                self._new("adder", "adder", "Adder").initialize(adder_bit - 1, num_adder, clk)

        if self.mem_type == "SRAM":
            if self.conventional_sequential:
                self._new("wl_decoder", "row_decoder", "RowDecoder").initialize(
                    _REGULAR_ROW, log2_rows, False, False)
                self._new("sense_amp", "sense_amp", "SenseAmp").initialize(
                    num_col, False, cell.min_sense_voltage, self.length_row / num_col, clk,
                    self.num_read_cell_per_operation_neuro)
                adder_bit = log2_rows + 1
                # no column mux: one adder and DFF group per column
                self._new("dff", "dff", "DFF").initialize(adder_bit * num_col, clk)
                self._new("adder", "adder", "Adder").initialize(adder_bit - 1, num_col, clk)
                num_adder = _div_int(num_col, cps)
                shift_adds(num_adder, adder_bit, cps, adder_bit + cps)
            else:
                res_tg = self.section_res if float(p.buffernumber) > 0 else self.res_row
                switch_matrix("wl_switch_matrix", _ROW_MODE, num_row, res_tg)
                # half of the parallel rows assumed conducting
                mux(self.res_cell_access / self._half_parallel_rows(), _div_int(num_col, ncm))
                self._init_adc(self.level_output, parallel=True, encoder=True)
                adder_bit = int(math.log2(self.level_output) + math.ceil(math.log2(self.num_add)))
                num_adder = _div_int(num_col, ncm)
                partial_sum_adder(num_adder, adder_bit)
                shift_adds(num_adder, adder_bit, cps, adder_bit + cps)
            self._new("precharger", "precharger", "Precharger").initialize(
                num_col, self.res_col, self.activity_col_write, self.num_read_cell_per_operation_neuro,
                self.num_write_cell_per_operation_neuro)
            self._new("sram_write_driver", "sram_write_driver", "SRAMWriteDriver").initialize(
                num_col, self.activity_col_write, self.num_write_cell_per_operation_neuro)
            return

        if cell.write_voltage > 1.5:
            self._new("wl_level_shifter", "level_shifter", "LevelShifter").initialize(num_row, act0, clk)
            self._new("bl_level_shifter", "level_shifter", "LevelShifter").initialize(num_row, act0, clk)
            self._new("sl_level_shifter", "level_shifter", "LevelShifter").initialize(
                num_col, self.activity_col_write, clk)
        if self.conventional_sequential:
            num_adder = _div_int(num_col, ncm)
            res_tg = self.res_mem_cell_on
            adder_bit = log2_rows + self.avg_weight_bit
            self._new("wl_decoder", "row_decoder", "RowDecoder").initialize(_REGULAR_ROW, log2_rows, False, False)
            if self.access == "CMOS":
                self._new("wl_new_decoder_driver", "wl_new_decoder_driver", "WLNewDecoderDriver").initialize(num_row)
            else:
                drv = self._new("wl_decoder_driver", "decoder_driver", "DecoderDriver")
                drv.initialize(_ROW_MODE, num_row, num_col, res_mem_cell_on=self.res_mem_cell_on)
            switch_matrix("sl_switch_matrix", _COL_MODE, num_col, res_tg)
            mux(res_tg, num_adder)
            # one row at a time: the ADC resolves the levels of a single cell
            self._init_adc(2 ** self.avg_weight_bit, parallel=False, encoder=self.avg_weight_bit > 1)
            self._new("dff", "dff", "DFF").initialize(adder_bit * num_adder, clk)
            self._new("adder", "adder", "Adder").initialize(adder_bit - 1, num_adder, clk)
            # cellBit-bit shift per cell: (cells - 1) * cellBit + 1 shift steps
            steps = (cps - 1) * self.avg_weight_bit + 1
            shift_adds(num_adder, adder_bit, steps, adder_bit + steps)
        else:
            P = self.num_row_parallel
            res_tg = self.res_mem_cell_avg / P
            if self.access == "CMOS" and not self.charge_sensing:
                self._new("wl_new_switch_matrix", "new_switch_matrix", "NewSwitchMatrix").initialize(
                    num_row, act0, clk)
            else:
                # crossbar; nvCap takes this word-line switch matrix even with an access device
                switch_matrix("wl_switch_matrix", _ROW_MODE, num_row, res_tg * num_row / num_col)
            switch_matrix("sl_switch_matrix", _COL_MODE, num_col, res_tg * num_row)
            mux(res_tg, _div_int(num_col, ncm))
            self._init_adc(self.level_output, parallel=True, encoder=True)
            adder_bit = int(math.log2(self.level_output) + math.ceil(math.log2(self.num_add)))
            num_adder = _div_int(num_col, ncm)
            partial_sum_adder(num_adder, adder_bit)
            if self.charge_sensing:
                # nvCap: shift-adds sized with the numAdd bits and cellBit-bit weight steps
                steps = (cps - 1) * self.avg_weight_bit + 1
                shift_adds(num_adder, adder_bit, steps, adder_bit + steps)
            else:
                # quirk kept: unlike SRAM, the shift-adds are sized without the numAdd bits
                lvl_bits = int(math.log2(self.level_output))
                shift_adds(num_adder, lvl_bits, cps, lvl_bits + cps)

    def _half_parallel_rows(self) -> int:
        """Rows assumed conducting in parallel read: half of numRowParallel (integer
        division as in the reference; at least one row, where the reference would divide
        by zero for numRowParallel = 1)."""
        return max(self.num_row_parallel // 2, 1)

    @property
    def readout_name(self) -> str:
        """The column read-out of this sub-array, a READOUTS name (NeuroSim's SARADC and
        currentMode switches)."""
        if self.sar_adc_mode:
            return "sar_adc"
        return "current_sense_amp" if self.current_mode else "voltage_sense_amp"

    def _init_adc(self, levels: int, *, parallel: bool, encoder: bool) -> None:
        self.adc_levels = int(levels)
        get_readout(self.readout_name).build(self, int(levels), parallel, encoder)

    # ------------------------------------------------------------------ area
    def recipe(self) -> tuple[Part, ...]:
        """This sub-array's periphery recipe (see RECIPES)."""
        return RECIPES[self.read_mode]

    @property
    def read_mode(self) -> str:
        """The recipe key: cell layout x read mode, or the cell's own read-out (nvCap)."""
        if self.charge_sensing:
            return "charge_parallel"
        cell = "sram" if self.mem_type == "SRAM" else "resistive"
        return f"{cell}_{'sequential' if self.conventional_sequential else 'parallel'}"

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> SubArrayLayout:
        """Bounding box of the array and its periphery (NeuroSim's SubArray::CalculateArea;
        the sub-array takes no layout constraint from its parent). Each circuit is sized
        first (below, per mode: the widths and heights the reference gives them); height,
        width, used area and the ADC / accumulation / other areas are then sums over the
        mode's recipe (`_sum_layout`). Returns a SubArrayLayout."""
        self._require_initialized()
        p, tech = self.param, self.tech
        c = self._children
        lay = self._layouts = {}
        h = lambda n: lay[n].height if n in lay else 0.0   # noqa: E731
        ha, wa = self.length_col, self.length_row
        ncm = self.num_col_muxed
        NONE = AreaModify.NONE
        self._repeater_area = 0.0

        def size(*names: str, height=None, width=None, mode=NONE) -> None:
            for n in names:
                if n in c:
                    lay[n] = c[n].calculate_area(height, width, mode)

        def size_mux_and_column_periphery() -> None:
            if ncm > 1:
                mux = c["mux"].calculate_area(None, wa, NONE)
                lay["mux_decoder"] = c["mux_decoder"].calculate_area(None, None, NONE)
                min_mux_height = max(lay["mux_decoder"].height, mux.height)
                lay["mux"] = c["mux"].calculate_area(min_mux_height, wa, AreaModify.OVERRIDE)
            if self.sar_adc_mode:
                c["sar_adc"].calculate_unit_area()
            size("sar_adc", "multilevel_sense_amp", "multilevel_sa_encoder", "shift_add_input",
                 "shift_add_weight", "adder", "dff", width=wa)

        def size_row_repeaters() -> None:
            nbuf = float(p.buffernumber)
            if nbuf > 0:
                _, self.h_inv, self.w_inv = fb.gate_area(INV, 1, self.width_inv_n, self.width_inv_p, tech)
                self.drive_cap_in, self.drive_cap_out = fb.gate_capacitance(
                    INV, 1, self.width_inv_n, self.width_inv_p, tech)
            else:
                self.h_inv = self.w_inv = 0.0
            self._repeater_area = self.h_inv * self.w_inv * nbuf * 2 * float(p.numRowSubArray)

        def column_height() -> float:
            return sum((part.count * (ha if part.name == "array" else h(part.name))
                        for part in self.recipe() if part.placement == "column"), 0.0)

        if self.mem_type == "SRAM":
            size("precharger", "sram_write_driver", width=wa)
            if self.conventional_sequential:
                size("wl_decoder", height=ha)
                size("sense_amp", width=wa, mode=AreaModify.MAGIC)
                size("adder", "dff", "shift_add_input", "shift_add_weight", width=wa)
            else:
                size("wl_switch_matrix", height=ha)
                size_mux_and_column_periphery()
                size_row_repeaters()
        else:
            size("sl_level_shifter", "sl_switch_matrix", width=wa)
            size_mux_and_column_periphery()
            if self.conventional_parallel and not self.charge_sensing:
                size_row_repeaters()
            if self.charge_sensing and "multilevel_sense_amp" in c:
                # nvCap recipe (NeuroSim V1.5): the voltage sense amp without its divider
                # (a tenth of the multilevel sense amp) plus one op-amp per read column
                sa = lay["multilevel_sense_amp"]
                area = sa.area / 10 + 0.5 * self.num_col / ncm * 5 * _NVCAP_OPAMP_AREA
                lay["multilevel_sense_amp"] = Layout(height=area / sa.width, width=sa.width, area=area)
            # the word-line side along the array height (V1.4), or along the sub-array height
            # less the mux decoder's once the column periphery is stacked (V1.5)
            height_wl = column_height() - h("mux_decoder") if self.wl_v15 else ha
            size("wl_level_shifter", "bl_level_shifter", "wl_decoder", "wl_new_decoder_driver",
                 "wl_decoder_driver", "wl_new_switch_matrix", "wl_switch_matrix", height=height_wl)
        return self._sum_layout()

    def _sum_layout(self) -> SubArrayLayout:
        """Height, width, used area and the area of each category, summed over the recipe:
        "column" parts stack with the array, "row" parts sit beside it (the mux decoder
        beside the mux: the wider of the two sets the width), the row repeaters add their
        area as width along the column."""
        lay = self._layouts
        height_array, width_array = self.length_col, self.length_row
        area_array = height_array * width_array
        rows = col = used = 0.0
        cats = {"adc": 0.0, "accum": 0.0, "other": 0.0}
        for part in self.recipe():
            if part.name == "array":
                col += height_array
                used += area_array
                continue
            if part.name == "row_repeaters":
                area = self._repeater_area
            elif part.name in lay:
                x = lay[part.name]
                area = part.count * x.area
                if part.placement == "column":
                    col += part.count * x.height
                elif part.placement == "row":
                    rows += x.width
            else:
                continue
            used += area
            cats[part.category] += area
        mux_dec = lay["mux_decoder"].width if "mux_decoder" in lay else 0.0
        height = col
        width = max(rows, mux_dec) + width_array + self._repeater_area / self.length_col
        area = height * width
        return SubArrayLayout(
            height=height, width=width, area=area, used_area=used, empty_area=area - used,
            area_adc=cats["adc"], area_accum=cats["accum"], area_other=cats["other"],
            area_array=area_array, height_array=height_array, width_array=width_array,
            children=dict(lay))

    # ------------------------------------------------------------------ data path
    def column_resistance(self, conductance, input_bits, num_cols: int | None = None) -> np.ndarray:
        """The column resistances the sense amps see, (n, cols) ohm (GetColumnResistance).

        SRAM: the weights do not matter; `conductance` may be None when `num_cols` is
        given. RRAM/FeFET parallel: total conductance / numAdd; sequential: conductance
        of the average active cell (infinite resistance when no row is active)."""
        p = self.param
        x = np.asarray(input_bits)
        if self.mem_type == "SRAM" and conductance is None and num_cols is None:
            raise ValueError("SubArray.column_resistance: SRAM needs conductance or num_cols")
        g = column_conductance(
            conductance, x, mem_type=self.mem_type, access=self.access,
            wire_res_row=float(p.wireResistanceRow), wire_res_col=float(p.wireResistanceCol),
            res_access=float(p.resistanceAccess), sram_res_cell_access=self.res_cell_access,
            num_cols=num_cols)
        if self.mem_type == "SRAM":
            with np.errstate(divide="ignore"):
                return 1.0 / g
        active = np.count_nonzero(x == 1, axis=0)
        return column_resistance(g, active, parallel=self.conventional_parallel, num_add=self.num_add)

    def _prepare(self, conductance, input_bits, num_cols):
        x = np.asarray(input_bits)
        if x.ndim == 1:
            x = x[:, None]
        if x.shape[0] > self.num_row:
            raise ValueError(f"SubArray: {x.shape[0]} input rows for a {self.num_row}-row sub-array")
        if conductance is not None:
            g = np.asarray(conductance, dtype=float)
            if g.shape[0] != x.shape[0]:
                raise ValueError("SubArray: weight block and input block have different row counts")
            if g.shape[1] > self.num_col:
                raise ValueError(f"SubArray: {g.shape[1]} columns for a {self.num_col}-column sub-array")
        else:
            g = None
        act = row_activity(x, int(self.param.numRowSubArray))
        col_res = self.column_resistance(g, x, num_cols=num_cols)
        return x, act, col_res

    # ------------------------------------------------------------------ passes
    def clock_pass(self, conductance, input_bits, *, num_cols: int | None = None) -> ClockPassResult:
        """The sensing cycle of every input vector (the reference's clock pass)."""
        self._require_initialized()
        x, act, col_res = self._prepare(conductance, input_bits, num_cols)
        n = act.shape[0]
        s = self._sensing_components(col_res)
        return ClockPassResult(sensing_cycle=_vec(self._cycle_from_components(s), n),
                               components=dict(s.components),
                               column_delay=float(s.column_delay))

    def performance_pass(self, conductance, input_bits, clk_freq: float | None = None, *,
                         num_cols: int | None = None, keep_column_resistance: bool = False
                         ) -> SubArrayResult:
        """Latency and energy of every input vector (the reference's performance pass).

        conductance: (rows, cols) S, the sub-array's block of cell conductances (None for
        SRAM with num_cols given); input_bits: (rows, n) 0/1; clk_freq: the working clock
        (Hz) after the clock pass (default: the parameter's clkFreq)."""
        self._require_initialized()
        x, act, col_res = self._prepare(conductance, input_bits, num_cols)
        cost = self._read(act, col_res, float(self.param.clkFreq if clk_freq is None else clk_freq))
        n = act.shape[0]
        return SubArrayResult(
            **{k: _vec(getattr(cost, k), n) for k in ReadCost.FIGURES},
            leakage=cost.leakage, leakage_sram_in_use=cost.leakage_sram_in_use,
            activity=act,
            latency_unit="cycles" if self.synchronous else "s",
            components={k: _vec(v, n) for k, v in cost.energy_components.items()},
            not_summed={k: _vec(v, n) for k, v in cost.not_summed.items()},
            component_latency={k: (_vec(v, n) if np.ndim(v) else float(v))
                               for k, v in cost.latency_components.items()},
            column_resistance=col_res if keep_column_resistance else None,
        )

    def evaluate(self, conductance, input_bits, clk_freq: float | None = None, *,
                 num_cols: int | None = None) -> tuple[ClockPassResult, SubArrayResult]:
        """Both passes for one sub-array block (clock pass, then the performance pass at
        `clk_freq`)."""
        return (self.clock_pass(conductance, input_bits, num_cols=num_cols),
                self.performance_pass(conductance, input_bits, clk_freq, num_cols=num_cols))

    # ------------------------------------------------------------------ the two passes
    def sensing_cycle(self, activity, column_resistance) -> np.ndarray:
        """Clock pass: the sensing cycle (s) of each input vector of row `activity`
        (fraction of rows driven) and `column_resistance` (ohm, last axis the columns)."""
        self._require_initialized()
        return np.asarray(self._cycle_from_components(self._sensing_components(column_resistance)),
                          dtype=float)

    def read_cost(self, activity, column_resistance, clk_freq: float) -> ReadCost:
        """Performance pass at the working clock `clk_freq` (Hz): the latency, energy and
        leakage of reading each input vector, as a record (nothing to read back)."""
        cost = self._read(activity, column_resistance, clk_freq)
        return ReadCost(**{k: getattr(cost, k) for k in ReadCost.FIGURES},
                        leakage=cost.leakage, leakage_sram_in_use=cost.leakage_sram_in_use)

    def _read(self, activity, column_resistance, clk_freq: float) -> "_Read":
        self._require_initialized()
        s = self._sensing_components(column_resistance)
        lat = self._performance_latency(s, activity, float(clk_freq))
        pw = self.calculate_power(column_resistance, activity)
        return _Read(read_latency=np.asarray(lat["read_latency"], dtype=float),
                     read_latency_adc=np.asarray(lat["adc"], dtype=float),
                     read_latency_accum=np.asarray(lat["accum"], dtype=float),
                     read_latency_other=np.asarray(lat["other"], dtype=float),
                     read_dynamic_energy=np.asarray(pw.read_dynamic_energy, dtype=float),
                     read_dynamic_energy_adc=np.asarray(pw.read_dynamic_energy_adc, dtype=float),
                     read_dynamic_energy_accum=np.asarray(pw.read_dynamic_energy_accum, dtype=float),
                     read_dynamic_energy_other=np.asarray(pw.read_dynamic_energy_other, dtype=float),
                     leakage=float(pw.leakage), leakage_sram_in_use=float(pw.leakage_sram_in_use),
                     energy_components=pw.energy_components, not_summed=pw.not_summed,
                     latency_components=lat["components"])

    # ------------------------------------------------------------------ latency
    def column_delay(self) -> tuple[float, float]:
        """The bit-line delay (s) and the ramp (1/s) the column hands the mux: SRAM, the
        Elmore delay of the bit line to the sense amp's swing; nvCap, the charge delay per
        128 parallel rows (no column ramp); RRAM/FeFET, a fifth of the column's RC."""
        tech, cell = self.tech, self.cell
        if self.mem_type == "SRAM":
            res_pull_down = fb.on_resistance(cell.width_sram_cell_nmos * self._fin * tech.featureSize, NMOS, tech)
            bl_cap_cell = self.cap_col / self.num_row + self.cap_cell_access
            bl_res_cell = self.res_col / self.num_row
            elmore = ((self.res_cell_access + res_pull_down) * bl_cap_cell * self.num_row
                      + bl_cap_cell * bl_res_cell * self.num_row * (self.num_row + 1) / 2)
            return elmore * math.log(tech.vdd / (tech.vdd - cell.min_sense_voltage / 2)), 0.0
        if self.charge_sensing:
            # nvCap: the charge moves to the reference capacitor in chargeDelay per 128
            # parallel rows (replaces the RC column delay; no column ramp)
            return cell.charge_delay / 128 * self.num_row_parallel, 0.0
        if self.conventional_sequential:
            tau = self.cap_col * self.res_mem_cell_avg
        else:
            tau = self.cap_col * self.res_mem_cell_avg / self._half_parallel_rows()
        _, col_ramp = horowitz(tau, 1e20)
        # a 15-20 % swing is enough to sense
        return tau * 0.2, col_ramp

    def _sensing_components(self, column_resistance) -> "_Sensing":
        """Delays of the sensing-cycle circuits (s), the column delay and the row
        repeaters' delay; shared by the clock pass and the asynchronous performance pass
        (data-independent except the sense amp's, which takes the largest over the
        columns)."""
        p = self.param
        c = self._children
        ncm = self.num_col_muxed
        nw = 0.0                       # no writes during inference
        comp: dict[str, float] = {}
        lt: dict[str, Any] = {}
        chain = [0.0]                  # the row repeaters' delay (s)
        column_delay, col_ramp = self.column_delay()

        def tm(name: str, *args, **kw):
            lt[name] = c[name].calculate_latency(*args, **kw)
            return lt[name]

        def mux_and_decoder(col_ramp: float) -> None:
            if ncm > 1:
                tm("mux", col_ramp, 0, 1)
                n_sel = _div_int(self.num_col, ncm)
                tm("mux_decoder", 1e20, c["mux"].cap_tg_gate_n * n_sel,
                                                   c["mux"].cap_tg_gate_p * n_sel, 0, 0, 1, 0)
                comp["column_mux"] = float(lt["mux"].latency)
                comp["mux_decoder"] = float(lt["mux_decoder"].latency)

        def adc(enc: bool) -> None:
            if self.sar_adc_mode:
                tm("sar_adc", 1)
                comp["adc_sar"] = float(lt["sar_adc"].latency)
            else:
                mlsa = tm("multilevel_sense_amp", column_resistance, 1, 1)
                comp["adc_multilevel_sense_amp"] = float(np.max(mlsa.latency))
                if enc and "multilevel_sa_encoder" in c:
                    tm("multilevel_sa_encoder", 1e20, 1)
                    comp["adc_encoder"] = float(lt["multilevel_sa_encoder"].latency)

        def buffered_row(sm_name: str, cap_row: float) -> None:
            # delay of the row driver plus the chain of row repeaters
            nbuf = float(p.buffernumber)
            if nbuf > 0:
                unit_cap, unit_res, section, chain[0] = self._repeater_chain(cap_row)
                sm = tm(sm_name, 1e20, cap_row / (nbuf + 1) + self.drive_cap_in, unit_res * section, 1, nw,
                        unit_cap=unit_cap, unit_res=unit_res, drive_cap_in=self.drive_cap_in)
            else:
                sm = tm(sm_name, 1e20, cap_row, self.res_row, 1, nw, **self.row_line_rc())
            comp[sm_name] = float(sm.latency)

        if self.mem_type == "SRAM":
            if self.conventional_sequential:
                tm("wl_decoder", 1e20, self.cap_row1, 0, self.res_row, self.num_col, 1, nw)
                tm("precharger", 1e20, self.cap_col, 1, nw)
                tm("sense_amp", 1)
                comp["wl_decoder"] = float(lt["wl_decoder"].latency)
                comp["precharger"] = float(lt["precharger"].latency)
                comp["sense_amp"] = float(lt["sense_amp"].latency)
            else:
                buffered_row("wl_switch_matrix", self.cap_row1)
                tm("precharger", 1e20, self.cap_col, 1, nw)
                comp["precharger"] = float(lt["precharger"].latency)
                adc(True)
                mux_and_decoder(0.0)
        elif self.charge_sensing:
            sm = tm("wl_switch_matrix", 1e20, self.cap_row1, self.res_row, 1, nw, **self.row_line_rc())
            comp["wl_switch_matrix"] = float(sm.latency)
            mux_and_decoder(0.0)
            adc(True)
        else:
            if self.conventional_sequential:
                dec = tm("wl_decoder", 1e20, self.cap_row2, 0, self.res_row, self.num_col, 1, nw)
                comp["wl_decoder"] = float(dec.latency)
                if self.access == "CMOS":
                    tm("wl_new_decoder_driver", dec.ramp_output, self.cap_row2, self.res_row, 1, nw)
                    comp["wl_new_decoder_driver"] = float(lt["wl_new_decoder_driver"].latency)
                else:
                    tm("wl_decoder_driver", dec.ramp_output, self.cap_row1, self.cap_row1, self.res_row, 1, nw)
                    comp["wl_decoder_driver"] = float(lt["wl_decoder_driver"].latency)
                mux_and_decoder(col_ramp)
                adc(self.avg_weight_bit > 1)
            else:
                if self.access == "CMOS":
                    buffered_row_new = float(p.buffernumber) > 0
                    if buffered_row_new:
                        nbuf = float(p.buffernumber)
                        _, unit_res, section, chain[0] = self._repeater_chain(self.cap_row2)
                        sm = tm("wl_new_switch_matrix", 1e20, self.cap_row2 / (nbuf + 1) + self.drive_cap_in,
                                unit_res * section, 1, nw)
                    else:
                        sm = tm("wl_new_switch_matrix", 1e20, self.cap_row2, self.res_row, 1, nw)
                    comp["wl_new_switch_matrix"] = float(sm.latency)
                else:
                    sm = tm("wl_switch_matrix", 1e20, self.cap_row1, self.res_row, 1, nw, **self.row_line_rc())
                    comp["wl_switch_matrix"] = float(sm.latency)
                mux_and_decoder(col_ramp)
                adc(True)
        if chain[0]:
            comp["row_repeaters"] = float(chain[0])
        return _Sensing(components=comp, column_delay=column_delay, buffer_latency=chain[0])

    def _repeater_chain(self, cap_row: float) -> tuple[float, float, float, float]:
        """Row with `buffernumber` repeaters: returns the per-cell row capacitance /
        resistance, the cells per section and the chain's extra delay (s, Elmore terms of
        each repeater driving its section)."""
        p = self.param
        nbuf = float(p.buffernumber)
        section = float(p.numColSubArray) / (nbuf + 1)
        unit_cap = cap_row / float(p.numColSubArray)
        unit_res = self.res_row / float(p.numColSubArray)
        rd, co, ci = self.target_drive_res, self.drive_cap_out, self.drive_cap_in
        wire = unit_cap * section * (0.69 * rd + 0.38 * unit_res * section)
        inner = rd * co * 0.69 + wire + (unit_cap * section * 0.69 + 0.69 * rd) * ci   # drives a repeater
        last = rd * co * 0.69 + wire                                                   # drives the line end
        self_load = (co + ci) * rd * 0.69
        k = int(nbuf)
        latency = (k - 1) * (inner + self_load) + (last + self_load) if k > 0 else 0.0
        return unit_cap, unit_res, section, latency

    def _cycle_from_components(self, s: "_Sensing") -> float:
        """The sensing cycle (s): the beta-scaled sum of the row driver (or the column mux
        path, whichever is slower), precharger (SRAM), column delay (sequential), ADC and
        encoder delays."""
        g = s.components.get
        column_delay, buffer_latency = s.column_delay, s.buffer_latency
        mux = (g("column_mux", 0.0) + g("mux_decoder", 0.0)) if self.num_col_muxed > 1 else 0.0
        adc = g("adc_multilevel_sense_amp", 0.0) + g("adc_encoder", 0.0) + g("adc_sar", 0.0)
        if self.mem_type == "SRAM":
            if self.conventional_sequential:
                t = g("wl_decoder", 0.0) + g("precharger", 0.0) + column_delay + g("sense_amp", 0.0)
            else:
                t = max(g("wl_switch_matrix", 0.0) + buffer_latency, mux) + g("precharger", 0.0) + adc
        else:
            if self.conventional_sequential:
                row = g("wl_decoder", 0.0) + g("wl_new_decoder_driver", 0.0) + g("wl_decoder_driver", 0.0)
                t = max(row, mux) + column_delay + adc
            elif self.charge_sensing:
                t = max(g("wl_switch_matrix", 0.0), mux) + column_delay + adc
            else:
                row = g("wl_new_switch_matrix", 0.0) + g("wl_switch_matrix", 0.0) + buffer_latency
                t = max(row, mux) + adc
        return t * self._beta

    def _performance_latency(self, s: "_Sensing", activity, clk: float) -> dict[str, Any]:
        """Performance pass (NeuroSim's SubArray::CalculateLatency with its clock-frequency
        switch off): the latency of each input vector of row `activity` and its ADC /
        accumulation / other parts, in clock cycles in synchronous mode (s otherwise),
        at the working clock `clk` (Hz), and the accumulation circuits' latencies."""
        c = self._children
        act = np.asarray(activity, dtype=float)
        ncm = self.num_col_muxed
        cps = self.num_cell_per_synapse
        lat: dict[str, Any] = {}
        lt: dict[str, Any] = {}
        comp = s.components
        column_delay = s.column_delay
        beta = self._beta

        def tm(name: str, *args, **kw):
            lt[name] = c[name].calculate_latency(*args, **kw)
            return lt[name]

        def run_accum(adder_dff: bool) -> None:
            if adder_dff:
                tm("adder", 1e20, c["dff"].cap_tg_drain, 1)
                tm("dff", 1e20, 1)
                lat["adder_s"] = float(lt["adder"].latency)
                lat["dff"] = float(lt["dff"].latency)
            if cps > 1 and "shift_add_weight" in c:
                tm("shift_add_weight", 1)
                lat["shift_add_weight"] = float(lt["shift_add_weight"].latency)
                lat["shift_add_weight_adder_s"] = float(lt["shift_add_weight"].part("adder_latency"))
            if self.num_read_pulse > 1 and "shift_add_input" in c:
                tm("shift_add_input", 1)
                lat["shift_add_input"] = float(lt["shift_add_input"].latency)
                lat["shift_add_input_adder_s"] = float(lt["shift_add_input"].part("adder_latency"))

        def inner(name: str) -> float:
            return float(lt[name].part("adder_latency")) if name in lt else 0.0

        def ceil_cycles(t) -> np.ndarray:
            return np.ceil(np.asarray(t, dtype=float) * clk)

        def add_shift_add_cycles(adc, accum):
            """Cycles the weight and input shift-adds add beyond what the reads hide."""
            if cps > 1:
                accum = accum + (cps - 1) * n_groups * np.maximum(
                    ceil_cycles(inner("shift_add_weight")) - (adc + accum) / ncm, 0)
            if self.num_read_pulse > 1 and n_groups > 0:
                accum = accum + n_groups * np.maximum(
                    ceil_cycles(inner("shift_add_input")) - (adc + accum) / n_groups, 0)
            return accum

        g = comp.get
        adc_t = g("adc_multilevel_sense_amp", 0.0) + g("adc_encoder", 0.0) + g("adc_sar", 0.0)
        mux_t = (g("column_mux", 0.0) + g("mux_decoder", 0.0)) if ncm > 1 else 0.0
        n_groups = _div_int(ncm, cps)       # weights per mux step (integer division)

        if self.mem_type == "SRAM" and self.conventional_sequential:
            # every column has its own sense amp: one read per active row
            run_accum(True)
            ops = int(math.ceil(self.num_col / self.num_read_cell_per_operation_neuro))
            rows = self.num_row * act
            if self.synchronous:
                adc = ops * rows
                accum = ops * (rows - 1) * (ceil_cycles(lat["adder_s"]) - 1)
                sa = (inner("shift_add_weight") * (cps - 1) + inner("shift_add_input"))
                accum = accum + np.maximum(ceil_cycles(sa) - (adc + accum), 0)
                other = 0.0
            else:
                adc = (g("precharger", 0.0) + column_delay + g("sense_amp", 0.0)) * ops * rows * beta
                other = g("wl_decoder", 0.0) * rows * beta
                accum = np.maximum(lat["adder_s"] * (ops * rows - 1)
                                   + inner("shift_add_weight") * (cps - 1) + inner("shift_add_input")
                                   - adc - other, 0)
        elif self.conventional_parallel:
            run_accum(self.num_add > 1)
            na = self.num_add
            if self.synchronous:
                adc = np.full(act.shape, float(ncm * na))
                accum = np.zeros(act.shape)
                if na > 1:
                    accum = accum + ncm * (na - 1) * (ceil_cycles(lat["adder_s"]) - 1)
                accum = add_shift_add_cycles(adc, accum)
                other = 0.0
            else:
                pre = g("precharger", 0.0) if self.mem_type == "SRAM" else 0.0
                col = column_delay
                adc = (pre + col + adc_t) * ncm * beta * na
                row = (g("wl_switch_matrix", 0.0) + g("wl_new_switch_matrix", 0.0)) * na
                other = max(row, mux_t) * ncm * beta
                adder_s = lat.get("adder_s", 0.0)
                accum = np.maximum(adder_s * ncm * (na - 1)
                                   + inner("shift_add_weight") * (cps - 1) * n_groups
                                   + inner("shift_add_input") * n_groups - adc - other, 0)
                adc = np.full(act.shape, float(adc))
                other = np.full(act.shape, float(other))
        else:
            # RRAM / FeFET sequential: numColMuxed mux steps of one active row each
            run_accum(True)
            rows = self.num_row * act
            if self.synchronous:
                adc = rows * ncm
                # quirk kept: negative when no row is active and the adder needs > 1 cycle
                accum = ncm * (rows - 1) * (ceil_cycles(lat["adder_s"]) - 1)
                accum = add_shift_add_cycles(adc, accum)
                other = 0.0
            else:
                adc = (adc_t + column_delay) * (rows * ncm) * beta
                row = g("wl_decoder", 0.0) + g("wl_new_decoder_driver", 0.0) + g("wl_decoder_driver", 0.0)
                other = np.maximum(row * rows, mux_t) * ncm * beta
                accum = np.maximum(lat["adder_s"] * ncm * (rows - 1)
                                   + inner("shift_add_weight") * (cps - 1) * n_groups
                                   + inner("shift_add_input") * n_groups - adc - other, 0)
        return {"adc": adc, "accum": accum, "other": other, "components": lat,
                "read_latency": np.asarray(adc) + np.asarray(accum) + np.asarray(other)}

    # ------------------------------------------------------------------ power
    def array_read_energy(self, activity) -> np.ndarray | float:
        """Energy (J) of charging the array lines for one input vector of the given row
        activity (arrays broadcast); the "array" member of the read energy.

        SRAM sequential: the selected word line per active row. SRAM / 1T1R parallel: the
        driven word lines (plus row repeaters) once per mux step. RRAM/FeFET sequential:
        per active row and mux step, the selected word line at vdd and the bit lines of
        the read cells at the read voltage. (The parallel-mode bit-line energy is part of
        the sense-amp model.)"""
        p, tech, cell = self.param, self.tech, self.cell
        act = np.asarray(activity, dtype=float)
        vdd2 = tech.vdd * tech.vdd
        ncm = self.num_col_muxed
        rows = self.num_row * act
        if self.charge_sensing:
            # nvCap: the selected word lines at the read voltage, and the array's charge
            # transfer power for the charge delay plus 1 ns per row group
            return (self.cap_row2 * cell.read_voltage ** 2 * rows * ncm
                    + _NVCAP_ARRAY_POWER * (self.column_delay()[0] + 1e-9) * self.num_col / 128 * self.num_add)
        if self.mem_type != "SRAM" and self.wl_v15:
            # V1.5: the selected word lines (and their repeaters) swing to the access voltage
            vdd2 = cell.access_voltage * cell.access_voltage
        repeaters = (self.drive_cap_in + self.drive_cap_out) * vdd2 * float(p.buffernumber) * 2 * rows
        if self.mem_type == "SRAM":
            if self.conventional_sequential:
                return self.cap_row1 * vdd2 * rows
            return (self.cap_row1 * vdd2 * rows + repeaters) * ncm
        if self.conventional_sequential:
            num_read_cells = int(math.ceil(self.num_col / ncm))
            cap_bl = self.length_col * _WIRE_CAP_PER_M
            per_row = cap_bl * cell.read_voltage ** 2 * num_read_cells + self.cap_row2 * vdd2
            return per_row * rows * ncm
        return (self.cap_row2 * vdd2 * rows + repeaters) * ncm

    def calculate_power(self, column_resistance, activity) -> "_Power":
        """NeuroSim's SubArray::CalculatePower for the row `activity` (an array: one entry
        per input vector): the read energy and its ADC/accumulation/other parts (J), the
        leakage and leakage_sram_in_use (W), the energy of each member and the energies
        computed but not counted, as a record."""
        self._require_initialized()
        p, tech, cell = self.param, self.tech, self.cell
        c = self._children
        act = np.asarray(activity, dtype=float)
        pw: dict[str, Any] = {}

        def run(name: str, *args, **kw):
            pw[name] = c[name].calculate_power(*args, **kw)
            return pw[name]

        vdd2 = tech.vdd * tech.vdd
        ncm = self.num_col_muxed
        cps = self.num_cell_per_synapse
        na = self.num_add
        nw = 0.0
        e: dict[str, Any] = {}
        not_summed: dict[str, Any] = {}
        n_groups = _div_int(ncm, cps)
        n_adc = _div_int(self.num_col, ncm)
        # average reads per row for SRAM sequential (one sense amp per column)
        ops_per_row = (self.num_col / self.num_read_cell_per_operation_neuro
                       if self.num_col > self.num_read_cell_per_operation_neuro else 1.0)

        def mux_power() -> None:
            if ncm > 1:
                run("mux", ncm)
                run("mux_decoder", ncm, 1)
                e["column_mux"] = pw["mux"].dynamic_energy
                e["mux_decoder"] = pw["mux_decoder"].dynamic_energy

        def adc_power(num_read, *, enc_reads, sequential: bool) -> None:
            if self.sar_adc_mode:
                en = run("sar_adc", column_resistance, num_read).dynamic_energy
                if sequential:
                    en = np.where(np.asarray(num_read) > 0, en, 0.0)
                e["adc_sar"] = en
            else:
                en = run("multilevel_sense_amp", column_resistance, num_read,
                         reference_energy_peri=self.reference_energy_peri).dynamic_energy
                if sequential:
                    # no active row: the reference multiplies by zero reads (and turns the
                    # NaN of its 0/0 column resistance into 0)
                    en = np.where(np.asarray(num_read) > 0, en, 0.0)
                e["adc_multilevel_sense_amp"] = en
                if "multilevel_sa_encoder" in c and enc_reads is not None:
                    run("multilevel_sa_encoder", enc_reads)
                    e["adc_encoder"] = pw["multilevel_sa_encoder"].dynamic_energy

        def shift_adds(weight_reads, input_reads) -> None:
            if cps > 1 and "shift_add_weight" in c:
                run("shift_add_weight", weight_reads)
                e["shift_add_weight"] = pw["shift_add_weight"].dynamic_energy
            if self.num_read_pulse > 1 and "shift_add_input" in c:
                run("shift_add_input", input_reads)
                e["shift_add_input"] = pw["shift_add_input"].dynamic_energy

        def parallel_accumulation_power() -> None:
            """Adders and registers summing the numAdd row groups of a parallel read."""
            if na > 1:
                run("adder", ncm * (na - 1), n_adc)
                run("dff", ncm * (na - 1), n_adc * (math.log2(self.level_output)
                                                                 + math.ceil(math.log2(na)) / 2),
                                         self.validated)
                e["adder"] = pw["adder"].dynamic_energy
                e["dff"] = pw["dff"].dynamic_energy

        def leak(*names: str) -> float:
            return float(sum(float(pw[n].leakage) for n in names if n in pw))

        if self.mem_type == "SRAM":
            wn = cell.width_sram_cell_nmos * self._fin * tech.featureSize
            wp = cell.width_sram_cell_pmos * self._fin * tech.featureSize
            per_cell = fb.gate_leakage(INV, 1, wn, wp, tech) * tech.vdd * 2   # two inverters
            cells_leak = per_cell * self.num_row * self.num_col
            if self.conventional_sequential:
                rows = self.num_row * act
                run("wl_decoder", rows, nw)
                run("precharger", ops_per_row * rows, nw, self.cap_col)
                run("sram_write_driver", nw)
                per_op = _div_int(self.num_read_cell_per_operation_neuro, cps)
                run("adder", ops_per_row * rows, per_op)
                run("dff", ops_per_row * rows,
                                         per_op * (math.ceil(math.log2(self.num_row)) / 2 + 1), self.validated)
                run("sense_amp", ops_per_row * rows)
                shift_adds(cps - 1, 1)
                energy_array = self.array_read_energy(act)
                e = {"wl_decoder": pw["wl_decoder"].dynamic_energy,
                     "precharger": pw["precharger"].dynamic_energy,
                     "array": energy_array,
                     "adder": pw["adder"].dynamic_energy,
                     "dff": pw["dff"].dynamic_energy,
                     "sense_amp": pw["sense_amp"].dynamic_energy, **e}
                extra_leak = cells_leak
                leakage_sram_in_use = per_cell * (self.num_row - 1) * self.num_col
            else:
                run("wl_switch_matrix", ncm, nw, act, self.activity_col_write)
                run("precharger", ncm * na, nw, self.cap_col)
                run("sram_write_driver", nw)
                mux_power()
                adc_power(na, enc_reads=ncm * na, sequential=False)
                parallel_accumulation_power()
                shift_adds((cps - 1) * n_groups, n_groups)
                energy_array = self.array_read_energy(act)
                e["wl_switch_matrix"] = pw["wl_switch_matrix"].dynamic_energy
                e["array"] = energy_array
                # quirk kept: the precharger energy is computed but not counted
                not_summed["precharger"] = pw["precharger"].dynamic_energy
                extra_leak = cells_leak
                leakage_sram_in_use = per_cell * (self.num_row * self.num_col
                                                       - self.num_row_parallel * n_adc)
        else:
            leakage_sram_in_use = 0.0
            num_read_cells = int(math.ceil(self.num_col / ncm))
            if self.charge_sensing:
                # nvCap recipe: sense power fixed per column and conversion (not the column
                # resistance, which is infinite), op-amp and charge transfer in the array term
                run("wl_switch_matrix", ncm, nw, act, self.activity_col_write)
                e["wl_switch_matrix"] = pw["wl_switch_matrix"].dynamic_energy
                run("sl_switch_matrix", 0, nw, act, self.activity_col_write)
                mux_power()
                if self.sar_adc_mode:
                    adc_power(na, enc_reads=None, sequential=False)
                else:
                    n_cols = np.shape(column_resistance)[-1]
                    per_col = _NVCAP_SENSE_POWER_PER_LEVEL * (self.level_output - 1) * 1e-9
                    e["adc_multilevel_sense_amp"] = np.full(act.shape, per_col * n_cols * na)
                    run("multilevel_sa_encoder", ncm * na)
                    e["adc_encoder"] = pw["multilevel_sa_encoder"].dynamic_energy
                parallel_accumulation_power()
                shift_adds((cps - 1) * n_groups, n_groups)
                energy_array = self.array_read_energy(act)
                e["array"] = energy_array
                extra_leak = 0.0
            elif self.conventional_sequential:
                rows = self.num_row * act
                run("wl_decoder", rows * ncm, nw)
                e["wl_decoder"] = pw["wl_decoder"].dynamic_energy
                if self.access == "CMOS":
                    run("wl_new_decoder_driver", rows * ncm, nw)
                    e["wl_new_decoder_driver"] = pw["wl_new_decoder_driver"].dynamic_energy
                else:
                    run("wl_decoder_driver", num_read_cells, self.num_col, rows * ncm, nw)
                    e["wl_decoder_driver"] = pw["wl_decoder_driver"].dynamic_energy
                run("sl_switch_matrix", 0, nw, act, self.activity_col_write)
                mux_power()
                adc_power(rows, enc_reads=(rows * ncm) if self.avg_weight_bit > 1 else None, sequential=True)
                run("adder", ncm * rows, num_read_cells)
                run("dff", ncm * rows, num_read_cells * (math.ceil(math.log2(self.num_row)) / 2
                                                                       + self.avg_weight_bit), self.validated)
                e["adder"] = pw["adder"].dynamic_energy
                e["dff"] = pw["dff"].dynamic_energy
                shift_adds((cps - 1) * n_groups, n_groups)
                energy_array = self.array_read_energy(act)
                e["array"] = energy_array
                extra_leak = 0.0
            else:
                if self.access == "CMOS":
                    run("wl_new_switch_matrix", ncm, nw, act)
                    e["wl_new_switch_matrix"] = pw["wl_new_switch_matrix"].dynamic_energy
                else:
                    run("wl_switch_matrix", ncm, nw, act, self.activity_col_write)
                    e["wl_switch_matrix"] = pw["wl_switch_matrix"].dynamic_energy
                run("sl_switch_matrix", 0, nw, act, self.activity_col_write)
                mux_power()
                adc_power(na, enc_reads=ncm * na, sequential=False)
                parallel_accumulation_power()
                shift_adds((cps - 1) * n_groups, n_groups)
                energy_array = self.array_read_energy(act)
                e["array"] = energy_array
                repeater_leak = 0.0
                if float(p.buffernumber) > 0:
                    # quirk kept: the repeater leakage current is added without the vdd factor
                    repeater_leak = (fb.gate_leakage(INV, 1, self.width_inv_n, self.width_inv_p, tech)
                                     * float(p.buffernumber) * 2 * float(p.numRowSubArray))
                extra_leak = repeater_leak

        def total(keys) -> Any:
            return sum((np.asarray(e[k], dtype=float) for k in keys if k in e), np.zeros(act.shape))

        # categories and leakage summed over the recipe
        recipe = self.recipe()
        by_cat = {cat: tuple(p.energy[0] for p in recipe if p.energy and p.energy[1] == cat)
                  for cat in figures.BREAKDOWN}
        return _Power(leakage=extra_leak + leak(*(p.name for p in recipe if p.leaks)),
                      leakage_sram_in_use=leakage_sram_in_use,
                      read_dynamic_energy=total(e.keys()),
                      read_dynamic_energy_adc=total(by_cat["adc"]),
                      read_dynamic_energy_accum=total(by_cat["accum"]),
                      read_dynamic_energy_other=total(by_cat["other"]),
                      energy_components=e, not_summed=not_summed)

    # ------------------------------------------------------------------ reporting
    def properties(self) -> dict[str, Any]:
        """The array properties components.json lists (SI units, reference names)."""
        out = {
            "numRow": self.num_row, "numCol": self.num_col, "numColMuxed": self.num_col_muxed,
            "numAdd": self.num_add, "numRowParallel": self.num_row_parallel,
            "levelOutput": self.level_output, "numReadPulse": self.num_read_pulse,
            "numCellPerSynapse": self.num_cell_per_synapse, "avgWeightBit": self.avg_weight_bit,
            "lengthRow": self.length_row, "lengthCol": self.length_col,
            "capRow1": self.cap_row1, "capRow2": self.cap_row2, "capCol": self.cap_col,
            "resRow": self.res_row, "resCol": self.res_col,
            "resCellAccess": self.res_cell_access, "capCellAccess": self.cap_cell_access,
            "widthAccessCMOS": self.width_access_cmos, "resMemCellAvg": self.res_mem_cell_avg,
        }
        mlsa = self._children.get("multilevel_sense_amp")
        if mlsa is not None:
            for name in ("rref", "Rref", "r_ref"):
                if hasattr(mlsa, name):
                    out["Rref"] = list(np.asarray(getattr(mlsa, name), dtype=float))
                    break
        return out
