"""Processing unit (PE) and tile of the chip estimator (DNN+NeuroSim V1.4's ProcessingUnit
and Tile, re-implemented with whole-sub-array vectorised evaluation).

Hierarchy: a tile holds PEs, a PE holds a square grid of sub-arrays plus an adder tree,
DFF input/output registers and horizontal/vertical buses; the tile adds an accumulation
adder tree, input/output buffers (cores of tileBufferCoreSizeRow x Col bits), an H-tree
between its PEs and, when the activation is not done at chip level, a ReLU/sigmoid unit.
Two tile types exist: novel-mapped (NM, one PE per kernel position) and conventional (CM,
(tile/PE)^2 PEs). One circuit object of each kind is shared by all tiles of a type, and,
as in the reference, some results (leakage of the adder trees, buffers) are those of the
object's most recent call; the call order of the reference is therefore kept.

Data: the weights and inputs of a layer live in a `LayerData` (cell conductances are
formed per block on demand). A tile, a PE and a sub-array are described by the layer rows
they hold (an index array, so the novel mapping's interleaved rows need no copy) and a
column range. The input vectors over one set of rows are made unique once per layer and
shared by every PE over those rows; identical vectors are evaluated once and weighted by
their count. The column resistances of every input vector (NeuroSim's
GetColumnResistance, a PE-level step there) are formed with matrix products (0/1 vectors
times the cells' inverse series resistance, looked up per cell from a table over cell
level, row and column in the sub-array), and all sub-arrays of a PE's row block -- when
the vectors are few, also those of the next PEs over the same rows -- are evaluated in one
`SubArray.read_cost` call (`sensing_cycle` in the clock pass) with a sub-array axis, in slices of
bounded size. For SRAM the weights play no role, so vectors with the same number of
active rows are grouped and sub-arrays over the same rows share one evaluation.

Clock: the sensing cycle depends on the circuit only in the modelled read modes (it uses
the ADC's reference resistances, not the data), so the clock pass evaluates a probe (the
first sub-array of each layer, its emptiest and fullest vectors); `check_clock` makes the
performance pass check every vector of every sub-array as well. Both come back in the
returned records (`Perf.sensing_cycle`), which `Chip.estimate` reduces to the clock.

Latency units: in synchronous mode every latency here is in clock cycles (the chip
multiplies by the clock period at the end), as in the reference; seconds otherwise.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

import FormulaBindings as fb
import parallel
import figures
from Array import ReadCost
from peripherals.adder_tree import AdderTree
from peripherals.base import AreaModify, AreaPart, Context, sum_areas
from peripherals.bit_shifter import BitShifter
from peripherals.buffer import Buffer
from peripherals.bus import Bus, BusMode
from peripherals.dff import DFF
from peripherals.htree import HTree

__all__ = ["Perf", "LayerData", "ProcessingUnit", "Tile", "subarray_output_bits"]

NONE = AreaModify.NONE


def _sigmoid_class():
    from peripherals.sigmoid import Sigmoid   # written by another part; imported when used
    return Sigmoid


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------

@figures.carried_by((f.name for f in figures.CIRCUIT_FIGURES),
                    extra=("leakage", "leakage_sram_in_use", "sensing_cycle"))
@dataclass
class Perf:
    """Latency (cycles or s), dynamic energy (J) and leakage (W) of one unit: the summed
    figures of figures.FIGURES (`CIRCUIT_FIGURES`), one tile's leakage and the sensing
    cycle seen."""
    read_latency: float = 0.0
    read_dynamic_energy: float = 0.0
    buffer_latency: float = 0.0
    buffer_dynamic_energy: float = 0.0
    ic_latency: float = 0.0
    ic_dynamic_energy: float = 0.0
    latency_adc: float = 0.0
    latency_accum: float = 0.0
    latency_other: float = 0.0
    energy_adc: float = 0.0
    energy_accum: float = 0.0
    energy_other: float = 0.0
    leakage: float = 0.0
    leakage_sram_in_use: float = 0.0
    # the largest sensing cycle (s) its sub-arrays showed: the clock probe in the clock pass,
    # every vector in a performance pass with `check_clock` (0 otherwise)
    sensing_cycle: float = 0.0

    _LATENCIES = tuple(f.name for f in figures.CIRCUIT_FIGURES if f.quantity == "latency")

    def add_parallel(self, other: "Perf") -> None:
        """Units working side by side: latencies take the maximum, energies add."""
        for f in figures.CIRCUIT_FIGURES:
            setattr(self, f.name, figures.combine(f.quantity, getattr(self, f.name),
                                                  getattr(other, f.name), side_by_side=True))
        self.sensing_cycle = max(self.sensing_cycle, other.sensing_cycle)

    def add_subarray(self, s, side_by_side: bool = True) -> None:
        """A sub-array's summed figures (`s`: ReadCost field -> value) into this unit's,
        side by side (latencies: the larger, energies add) or, with side_by_side=False,
        taken as they are (the unit's first and only sub-array)."""
        for f in figures.CIRCUIT_FIGURES:
            if f.subarray is None:
                continue
            value = s[f.subarray]
            setattr(self, f.name, figures.combine(f.quantity, value, getattr(self, f.name),
                                                  side_by_side=True) if side_by_side else value)

    def charge(self, category: str, latency=0.0, energy=0.0) -> None:
        """A circuit's latency and dynamic energy, working after the unit's other parts,
        into the unit's totals and its category's figures (figures.BREAKDOWN: "adc",
        "accum", "other"; "buffer" and "ic" also go into the category they are part of)."""
        cats = ("all", category) + ((figures.PART_OF[category],) if category in figures.PART_OF else ())
        for quantity, value in (("latency", latency), ("energy", energy)):
            for cat in cats:
                name = figures.figure_for(quantity, cat).name
                setattr(self, name, getattr(self, name) + value)

    def divide_latency(self, factor: float) -> None:
        for k in self._LATENCIES:
            setattr(self, k, getattr(self, k) / factor)

    def scale_latency(self, factor: float) -> None:
        for k in self._LATENCIES:
            setattr(self, k, getattr(self, k) * factor)

    def copy(self) -> "Perf":
        return Perf(**{f.name: getattr(self, f.name) for f in fields(self)})

    def as_dict(self) -> dict[str, float]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def subarray_output_bits(param) -> int:
    """Bits of one sub-array output (the width the adder trees start from)."""
    if param.parallelRead:
        return int(math.log2(param.levelOutput)
                   + math.ceil(math.log2(param.numRowSubArray // param.numRowParallel))
                   + param.numBitInput + (param.numColPerSynapse - 1) * param.cellBit + 1)
    return int(math.ceil(math.log2(param.numRowSubArray)) + param.cellBit + param.numBitInput
               + (param.numColPerSynapse - 1) * param.cellBit + 1)


# ------------------------------------------------------------------------------------------
# Layer data
# ------------------------------------------------------------------------------------------

class LayerData:
    """Input bits [rows, vectors] and weight levels [rows, C_out] of one layer. Cell
    conductances (RRAM/FeFET; SRAM ignores the weights) are formed per block on demand,
    so no layer-sized conductance matrix is ever held."""

    def __init__(self, input_bits: np.ndarray, weight_levels: np.ndarray, param,
                 needs_weights: bool):
        self.bits = input_bits
        self.levels = weight_levels
        self.param = param
        self.needs_weights = needs_weights
        self.cell_bit = int(param.cellBit)
        self.cps = int(param.numColPerSynapse)
        self.g_max = float(param.maxConductance)
        self.g_min = float(param.minConductance)
        # row sets (distinct input vectors) kept across estimates on the same traces, when
        # the caller passes a dict (Chip.estimate(reuse=...)); they depend on the bits only
        self.shared: dict | None = None

    @property
    def num_vectors(self) -> int:
        return int(self.bits.shape[1])

    def cell_levels(self, rows: np.ndarray, c0: int, nc: int) -> np.ndarray:
        """Cell levels (uint8, 0 .. 2^cellBit-1) of layer rows `rows`, cell columns
        c0 .. c0+nc-1."""
        import cells
        w0 = c0 // self.cps
        w1 = (c0 + nc - 1) // self.cps + 1
        lv = cells.split_levels(self.levels[rows, w0:w1], self.cps, self.cell_bit)
        return lv[:, c0 - w0 * self.cps:c0 - w0 * self.cps + nc]

    def level_conductance(self) -> np.ndarray:
        """Conductance (S) of each cell level: the reference's mapping
        level/(2^cellBit - 1) * (Gmax - Gmin) + Gmin."""
        import cells
        return cells.level_conductances(self.cell_bit, self.g_max, self.g_min)

    def conductance(self, rows: np.ndarray, c0: int, nc: int) -> np.ndarray | None:
        """Cell conductances (S) of layer rows `rows`, cell columns c0 .. c0+nc-1."""
        if not self.needs_weights:
            return None
        return self.level_conductance()[self.cell_levels(rows, c0, nc)]


def _unique_columns(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First index and count of every distinct column of the 0/1 matrix x (rows x n)."""
    packed = np.packbits(np.ascontiguousarray(x.T), axis=1)           # (n, bytes)
    nbytes = packed.shape[1]
    words = -(-nbytes // 8)
    if words * 8 != nbytes:
        packed = np.concatenate([packed, np.zeros((packed.shape[0], words * 8 - nbytes), np.uint8)], axis=1)
    keys = np.ascontiguousarray(packed).view(np.uint64)                 # (n, words)
    order = np.lexsort(keys.T[::-1]) if words > 1 else np.argsort(keys[:, 0], kind="stable")
    sk = keys[order]
    new = np.ones(len(order), dtype=bool)
    if len(order) > 1:
        new[1:] = np.any(sk[1:] != sk[:-1], axis=1)
    starts = np.flatnonzero(new)
    counts = np.diff(np.append(starts, len(order)))
    return order[starts], counts


class _RowSet:
    """The input vectors seen by one set of layer rows (the rows of one sub-array row of a
    PE), made unique: every PE over the same rows shares it. `mode`: "probe" keeps the
    vectors with the fewest and the most active rows (clock pass), "vectors" the distinct
    vectors (RRAM/FeFET), "counts" one vector per distinct number of active rows (SRAM,
    where a vector acts only through that number)."""

    def __init__(self, data: LayerData, rows: np.ndarray, num_row_subarray: int, mode: str):
        x = data.bits[rows]
        counts = np.count_nonzero(x, axis=0)
        if mode == "probe":
            pick = np.unique([0, int(np.argmin(counts)), int(np.argmax(counts))])
            mult = np.ones(len(pick))
        elif mode == "vectors":
            pick, mult = _unique_columns(x)
        else:
            _, pick, mult = np.unique(counts, return_index=True, return_counts=True)
        self.weights = mult.astype(float)
        self.counts = counts[pick].astype(float)
        self.activity = self.counts / float(num_row_subarray)
        # the distinct vectors as a (vectors x rows) 0/1 matrix for the conductance sums
        self.xt = np.ascontiguousarray(x[:, pick].T) if mode != "counts" else None

    @property
    def num_vectors(self) -> int:
        return len(self.weights)


def _cell_inverse_series(pe: "ProcessingUnit", data: LayerData, rows: np.ndarray, c0: int,
                         width: int) -> np.ndarray:
    """1 / (series resistance) of every cell of layer rows `rows`, columns c0..c0+width-1
    (c0 the first column of a sub-array): the cell, its wire segments along the row (by
    its column inside the sub-array) and down the column, and the 1T1R access device.
    The value depends only on the cell level, the row and the column inside the
    sub-array: it is tabulated for those and looked up per cell."""
    p = pe.param
    n = len(rows)
    C = pe.num_col
    cw = min(C, width)
    local = np.arange(cw) + 1                        # column index inside its sub-array
    g = data.level_conductance()
    series = (1.0 / g[:, None, None] + (local * float(p.wireResistanceRow))[None, None, :]
              + ((n - np.arange(n)) * float(p.wireResistanceCol))[None, :, None])
    if pe.ctx.cell.mem_type == "RRAM" and pe.ctx.cell.access == "CMOS":
        series += float(p.resistanceAccess)
    table = (1.0 / series).transpose(1, 2, 0).ravel()   # (row, column in sub-array, level)
    idx = np.add(pe.cell_index(n, width, cw, len(g)), data.cell_levels(rows, c0, width))
    return table.take(idx)


def _column_resistance(pe: "ProcessingUnit", rs: _RowSet, inv_series: np.ndarray,
                       sl: slice) -> np.ndarray:
    """Column resistances (vectors sl x columns) from the summed conductance of each
    vector's active cells (NeuroSim's GetColumnResistance: one matrix product), formed
    in cache-sized slices. Parallel read: numAdd / G; sequential read: the inverse of the
    mean conductance of the active cells, k / G; a vector with no active row has no
    conducting cell (infinite resistance; it is read 0 times)."""
    xt = rs.xt[sl]
    v, width = xt.shape[0], inv_series.shape[1]
    out = np.empty((v, width))
    if pe.param.parallelRead:
        num = np.full(v, float(pe.param.numAdd))
    else:
        num = rs.counts[sl]
    kernel = getattr(fb, "binary_row_sums", None)
    with np.errstate(divide="ignore", invalid="ignore"):
        if kernel is not None and v:
            # the C++ kernel: sums of the active rows (subset-sum tables of 8-row groups),
            # the same terms as the product below in another order, over the threads
            x8 = xt.view(np.uint8) if xt.dtype == np.bool_ else xt.astype(np.uint8)
            kernel(np.ascontiguousarray(x8), np.ascontiguousarray(inv_series, dtype=float), out,
                   parallel.threads(), np.ascontiguousarray(num, dtype=float))
        else:
            step = max(1, _SLICE // max(width, 1))
            for i in range(0, v, step):
                o = out[i:i + step]
                np.matmul(xt[i:i + step].astype(float), inv_series, out=o)
                np.divide(num[i:i + step, None], o, out=o)
    if not pe.param.parallelRead:
        out[num == 0] = np.inf
    return out


# results of one sub-array evaluation: per-vector figures summed with the vector counts
_SUMS = ReadCost.FIGURES

# matrix elements (vectors x columns) per sub-array evaluation call: bounds the memory of
# the column resistances and lets small layers share one call across PEs
_BATCH = 1 << 20
# elements of the column-resistance slices formed at a time (stay in cache)
_SLICE = 1 << 17


# ------------------------------------------------------------------------------------------
# Processing unit
# ------------------------------------------------------------------------------------------

# NeuroSim reports, for a PE that does not exercise its adder tree and a CM tile that does not
# exercise its accumulation adder tree, the leakage those circuits had at their last exercise
# (an earlier PE or tile call, an earlier layer, or the clock pass, whose calls come in the same
# order). That value is carried explicitly: the caller passes one `last_use` dict through every
# PE/tile call of a run (keys ("pe_adder_tree", kind) and ("tile_accumulation", "cm"), values
# W); nothing is kept in the circuit objects. A call without one starts empty (0 W).
LAST_USE = ("pe_adder_tree", "tile_accumulation")


class ProcessingUnit:
    """A PE: a grid of sub-arrays, adder tree, DFF input/output registers and buses. One
    object serves both PE types (NM and CM circuits are kept apart, as in the reference)."""

    def __init__(self, ctx: Context, subarray):
        self.ctx = ctx
        self.param = ctx.param
        self.subarray = subarray
        self.adder_tree = {"nm": AdderTree(ctx), "cm": AdderTree(ctx)}
        self.bus_input = {"nm": Bus(ctx), "cm": Bus(ctx)}
        self.bus_output = {"nm": Bus(ctx), "cm": Bus(ctx)}
        self.buffer_input = {"nm": DFF(ctx), "cm": DFF(ctx)}
        self.buffer_output = {"nm": DFF(ctx), "cm": DFF(ctx)}
        self.evaluations = 0          # sub-array evaluation calls (one per sub-array)
        self.vector_evaluations = 0   # distinct input vectors evaluated
        # clock probe and checks (see the module docstring); the probe's cycle is cached per
        # layer and returned in Perf.sensing_cycle
        self.check_clock = False
        self._probe: float | None = None
        self.cache_hits = 0           # sub-array results reused (same rows and columns)
        self._rowsets: dict = {}      # per layer: rows -> _RowSet
        self._results: dict = {}      # per layer: (rows, first column, columns) -> sums
        self._cell_index: dict = {}

    # ---- set-up -----------------------------------------------------------------------
    def initialize(self, num_sub_row_nm: int, num_sub_col_nm: int, num_sub_row_cm: int,
                   num_sub_col_cm: int, novel_mapping: bool) -> None:
        p = self.param
        sa = self.subarray
        sa.initialize(int(p.numRowSubArray), int(p.numColSubArray), float(p.unitLengthWireResistance))
        self.sa_layout = sa_l = sa.calculate_area()   # sized once: its Layout is kept
        self.num_row = int(p.numRowSubArray)
        self.num_col = int(p.numColSubArray)
        bits = subarray_output_bits(p)
        ncm = int(p.numColMuxed)
        clk = float(p.clkFreq)
        grids = {"cm": (num_sub_row_cm, num_sub_col_cm)}
        if novel_mapping:
            grids["nm"] = (num_sub_row_nm, num_sub_col_nm)
        for kind, (nr, nc) in grids.items():
            tree = self.adder_tree[kind]
            tree.initialize(nr, bits, math.ceil(nc * self.num_col / ncm), clk)
            self.buffer_input[kind].initialize(int(p.numBitInput) * self.num_row, clk)
            self.buffer_output[kind].initialize((self.num_col // ncm) * (bits + tree.num_stage), clk)
            self.bus_input[kind].initialize(BusMode.HORIZONTAL, nr, nc, 0, self.num_row,
                                            sa_l.height, sa_l.width, clk)
            self.bus_output[kind].initialize(BusMode.VERTICAL, nr, nc, 0, self.num_col,
                                             sa_l.height, sa_l.width, clk)

    # ---- area -------------------------------------------------------------------------
    def calculate_area(self, num_sub_row: int, num_sub_col: int, nm: bool) -> dict[str, float]:
        kind = "nm" if nm else "cm"
        sa = self.sa_layout          # the sub-array was sized (and laid out) once, at initialize
        tree = self.adder_tree[kind].calculate_area(None, sa.width, NONE)
        bin_ = self.buffer_input[kind].calculate_area(num_sub_row * sa.height, None, NONE)
        bout = self.buffer_output[kind].calculate_area(None, num_sub_col * sa.width, NONE)
        self.bus_input[kind].calculate_area(1, True)
        self.bus_output[kind].calculate_area(1, True)
        n = num_sub_row * num_sub_col
        # the PE's declared children (the buses lie over the sub-arrays: no area)
        out = sum_areas([
            AreaPart("subarrays", sa.area * n, {"adc": sa.area_adc * n, "accum": sa.area_accum * n,
                                               "other": sa.area_other * n, "array": sa.area_array * n}),
            AreaPart("adder_tree", tree.area, {"accum": tree.area}),
            AreaPart("buffer_input", bin_.area, {"other": bin_.area}),
            AreaPart("buffer_output", bout.area, {"other": bout.area})])
        height = math.sqrt(out["area"])
        return {**out, "height": height, "width": out["area"] / height,
                "layouts": {"adder_tree": tree, "input_buffer": bin_, "output_buffer": bout}}

    # ---- sub-array evaluation -----------------------------------------------------------
    def _rowset(self, data: LayerData, rows: np.ndarray, key: bytes, clock: bool) -> _RowSet:
        if clock:
            return _RowSet(data, rows, self.num_row, "probe")
        rs = self._rowsets.get(key)
        if rs is None:
            mode = "vectors" if data.needs_weights else "counts"
            skey = (key, mode, self.num_row)
            rs = data.shared.get(skey) if data.shared is not None else None
            if rs is None:
                rs = _RowSet(data, rows, self.num_row, mode)
                if data.shared is not None:
                    data.shared[skey] = rs
            self._rowsets[key] = rs
        return rs

    def _evaluate(self, rs: _RowSet, col_res: np.ndarray, sl: slice, clock: bool,
                  clk_freq: float | None = None):
        """One SubArray call for vectors `sl` of a row set and n sub-arrays side by side:
        col_res is (vectors, n, columns). Returns the sensing cycle (clock pass) or, per
        sub-array, the count-weighted sums of _SUMS (array (len(_SUMS), n)), the
        sub-array's (leakage, leakage_sram_in_use) in W and the largest sensing cycle of
        these vectors (s; with `check_clock`, else 0)."""
        sa = self.subarray
        v, n = col_res.shape[0], col_res.shape[1]
        activity = rs.activity[sl][:, None]
        self.evaluations += n
        self.vector_evaluations += v * n
        cycle = 0.0
        if clock or self.check_clock:
            cycle = float(np.max(sa.sensing_cycle(activity, col_res)))
            if clock:
                return cycle
        clk = float(self.param.clkFreq) if clk_freq is None else clk_freq
        cost = sa.read_cost(activity, col_res, clk)
        w = rs.weights[sl]
        out = np.empty((len(_SUMS), n))
        for k, name in enumerate(_SUMS):
            out[k] = w @ np.broadcast_to(getattr(cost, name), (v, n))
        return out, (cost.leakage, cost.leakage_sram_in_use), cycle

    def cell_index(self, n: int, width: int, cw: int, levels: int) -> np.ndarray:
        """Position of each cell (rows x width) at level 0 in a (row, column in sub-array,
        level) table."""
        key = (n, width, cw, levels)
        base = self._cell_index.get(key)
        if base is None:
            base = (np.arange(n)[:, None] * cw + (np.arange(width) % self.num_col)[None, :]) * levels
            self._cell_index = {key: base}
        return base

    def _probe_cycle(self, data: LayerData, rows: np.ndarray, c0: int, nc: int) -> float:
        """Clock pass: the sensing cycle of the first sub-array over `rows` (columns
        c0..c0+nc-1) for its emptiest and fullest input vectors."""
        rs = self._rowset(data, rows, b"", True)
        if data.needs_weights:
            col_res = _column_resistance(self, rs, _cell_inverse_series(self, data, rows, c0, nc),
                                         slice(None))
        else:
            col_res = np.repeat(self._row_count_resistance(rs)[:, None], nc, axis=1)
        return self._evaluate(rs, col_res[:, None, :], slice(None), True)

    def _subarray_result(self, data: LayerData, rows: np.ndarray, c0: int, j: int, nc: int,
                         width: int, clk_freq: float | None = None) -> dict[str, float]:
        """Sums over the input vectors of sub-array j (columns c0+j*C .. +nc-1) of the PE
        whose block of layer rows `rows` spans columns c0..c0+width-1. A request not met
        by an earlier evaluation evaluates this sub-array and the block's next ones at once
        (when the vectors are few, also the next column blocks of the layer over the same
        rows, which later PEs ask for), in slices of at most _BATCH matrix elements."""
        C = self.num_col
        key = rows.tobytes()
        rkey = (key, c0 + j * C if data.needs_weights else None, nc)
        hit = self._results.get(rkey)
        if hit is not None:
            self.cache_hits += 1
            return hit
        rs = self._rowset(data, rows, key, False)
        sa = self.subarray
        if not data.needs_weights:
            # SRAM, nvCap: every column of a vector has the same resistance; the result
            # depends on the rows and the column count only
            r = self._row_count_resistance(rs)[:, None, None]
            sums, leak, cycle = self._evaluate(rs, np.broadcast_to(r, (rs.num_vectors, 1, nc)),
                                               slice(None), False, clk_freq)
            self._store(rkey, sums[:, 0], leak, cycle)
            return self._results[rkey]
        # RRAM/FeFET: the sub-arrays of this block, extended to the next column blocks of the
        # layer when the vectors are few (the PEs there hold the same rows)
        start, end = c0 + j * C, c0 + width
        layer_cols = data.levels.shape[1] * data.cps
        v = rs.num_vectors
        if width % C == 0 and v * (end - start) < _BATCH:
            end = min(layer_cols, start + max(end - start, (_BATCH // max(v, 1)) // C * C))
        span = end - start
        inv = _cell_inverse_series(self, data, rows, start, span)
        n_full, rem = divmod(span, C)
        step = max(1, _BATCH // span)
        groups = [(0, n_full, C)] if n_full else []
        if rem:
            groups.append((n_full * C, 1, rem))
        acc = [np.zeros((len(_SUMS), n)) for _, n, _ in groups]
        cycles = [0.0] * len(groups)
        for i in range(0, v, step):
            sl = slice(i, min(v, i + step))
            r = _column_resistance(self, rs, inv, sl)
            for g, ((first, n, w), a) in enumerate(zip(groups, acc)):
                sums, leak, cycle = self._evaluate(rs, r[:, first:first + n * w].reshape(-1, n, w), sl,
                                                   False, clk_freq)
                a += sums
                cycles[g] = max(cycles[g], cycle)
        for g, ((first, n, w), a) in enumerate(zip(groups, acc)):
            for q in range(n):
                # the leakage of the sub-array's last read (the same for every read)
                self._store((key, start + first + q * w, w), a[:, q], leak, cycles[g])
        return self._results[rkey]

    def _row_count_resistance(self, rs: _RowSet) -> np.ndarray:
        """Column resistance (ohm) per input vector when the weights do not count: SRAM,
        the active rows' access paths in parallel; a charge-sensing cell (nvCap), no column
        current at all (NeuroSim's column conductance stays 0: infinite); a resistive cell
        read by a voltage-mode sense amp, whose figures see only whether a column conducts
        (no active row: infinite), the same form as SRAM's."""
        if self.ctx.cell.kind.column_current == "none":
            return np.full(rs.num_vectors, np.inf)
        per_cell = 1.0 / (self.subarray.res_cell_access + float(self.param.wireResistanceCol))
        with np.errstate(divide="ignore"):
            return 1.0 / (rs.counts * per_cell)

    def _store(self, rkey, sums: np.ndarray, leak: tuple[float, float], cycle: float) -> None:
        out = {name: float(x) for name, x in zip(_SUMS, sums)}
        out["leakage"], out["leakage_sram_in_use"] = leak
        out["sensing_cycle"] = cycle
        self._results[rkey] = out

    def new_layer(self) -> None:
        """Forget per-layer state: the row sets, the sub-array results and the clock probe."""
        self._rowsets = {}
        self._results = {}
        self._probe = None

    # ---- performance -------------------------------------------------------------------
    def calculate_performance(self, data: LayerData, rows: np.ndarray, c0: int, n_rows: int,
                              n_cols: int, array_dup_row: int, array_dup_col: int,
                              num_sub_row: int, num_sub_col: int, weight_matrix_row: int,
                              weight_matrix_col: int, num_in_vector: int, nm: bool,
                              clock: bool, last_use: dict | None = None,
                              clk_freq: float | None = None) -> Perf:
        """One PE call. `rows`/`c0`/`n_rows`/`n_cols`: the layer rows and columns the PE
        holds; `weight_matrix_row/col`: the sizes the caller declares (they can differ from
        the held block, see Tile); `num_in_vector`: input vectors (bit-planes); `last_use`:
        see `LAST_USE`; `clk_freq`: the working clock (Hz; default: the parameter's)."""
        last_use = {} if last_use is None else last_use
        clk = float(self.param.clkFreq) if clk_freq is None else float(clk_freq)
        p = self.param
        kind = "nm" if nm else "cm"
        tree = self.adder_tree[kind]
        R, C = self.num_row, self.num_col
        # what one PE can hold of the declared matrix (guards the reference's overreads)
        wmr = min(weight_matrix_row, n_rows)
        wmc = min(weight_matrix_col, n_cols)
        out = Perf()
        # NeuroSim's inner read count: positions x ceil(numColMuxed/cps) with an integer
        # quotient first
        tree_reads = (num_in_vector // int(p.numBitInput)) * (int(p.numColMuxed) // int(p.numColPerSynapse))
        sub_leak = 0.0
        sub_leak_sram = 0.0
        clock_max = 0.0
        seen = [0.0]        # the largest sensing cycle of the sub-arrays asked (s)

        def sub(i: int, j: int) -> dict[str, float]:
            nr = min(R, wmr - i * R)
            ncol = min(C, wmc - j * C)
            block_rows = rows[i * R:i * R + nr]
            if clock:
                if self._probe is None:      # one probe per layer (a cache; new_layer clears it)
                    self._probe = self._probe_cycle(data, block_rows, c0 + j * C, ncol)
                s = {"sensing_cycle": self._probe}
            else:
                s = self._subarray_result(data, block_rows, c0, j, ncol, wmc, clk)
            seen[0] = max(seen[0], s["sensing_cycle"])
            return s

        if array_dup_row * array_dup_col > 1:
            if array_dup_row < num_sub_row or array_dup_col < num_sub_col:
                for i in range(math.ceil(weight_matrix_row / R)):
                    for j in range(math.ceil(weight_matrix_col / C)):
                        if i * R >= wmr or j * C >= wmc:
                            continue
                        s = sub(i, j)
                        # the adder tree is charged once per sub-array here (as the reference)
                        tree_t = tree.calculate_latency(tree_reads, math.ceil(weight_matrix_row / R), 0,
                                                        clk_freq=clk)
                        tree_p = tree.calculate_power(tree_reads, math.ceil(weight_matrix_row / R))
                        last_use[("pe_adder_tree", kind)] = tree_p.leakage
                        if clock:
                            clock_max = max(clock_max, s["sensing_cycle"])
                            continue
                        sub_leak, sub_leak_sram = s["leakage"], s["leakage_sram_in_use"]
                        out.read_latency = max(s["read_latency"] + tree_t.latency, out.read_latency)
                        out.read_dynamic_energy += s["read_dynamic_energy"] + tree_p.dynamic_energy
                        out.latency_adc = max(s["read_latency_adc"], out.latency_adc)
                        out.latency_accum = max(s["read_latency_accum"] + tree_t.latency, out.latency_accum)
                        out.latency_other = max(s["read_latency_other"], out.latency_other)
                        out.energy_adc += s["read_dynamic_energy_adc"]
                        out.energy_accum += s["read_dynamic_energy_accum"] + tree_p.dynamic_energy
                        out.energy_other += s["read_dynamic_energy_other"]
            else:
                # the whole (small) matrix sits in one sub-array, no adder tree
                if wmr > 0 and wmc > 0:
                    s = sub(0, 0)
                    if clock:
                        clock_max = s["sensing_cycle"]
                    else:
                        sub_leak, sub_leak_sram = s["leakage"], s["leakage_sram_in_use"]
                        out.add_subarray(s, side_by_side=False)
            dup = array_dup_row * array_dup_col
            out.read_latency /= dup
            out.latency_adc /= dup
            out.latency_accum /= dup
            out.latency_other /= dup
        else:
            for i in range(num_sub_row):
                for j in range(num_sub_col):
                    if i * R >= wmr or j * C >= wmc:
                        continue
                    s = sub(i, j)
                    if clock:
                        clock_max = max(clock_max, s["sensing_cycle"])
                        continue
                    sub_leak, sub_leak_sram = s["leakage"], s["leakage_sram_in_use"]
                    out.add_subarray(s)
            tree_t = tree.calculate_latency(tree_reads, math.ceil(weight_matrix_row / R), 0, clk_freq=clk)
            tree_p = tree.calculate_power(tree_reads, math.ceil(weight_matrix_row / R))
            last_use[("pe_adder_tree", kind)] = tree_p.leakage
            out.charge("accum", tree_t.latency, tree_p.dynamic_energy)
        out.sensing_cycle = seen[0]
        if clock:
            out.read_latency = clock_max     # the caller reads the sensing cycle here
            return out
        tree_leak = last_use.get(("pe_adder_tree", kind), 0.0)

        # input/output registers and buses; the reference's integer arithmetic is kept
        rps, cps = int(p.numRowPerSynapse), int(p.numColPerSynapse)
        nbi = int(p.numBitInput)
        bin_, bout = self.buffer_input[kind], self.buffer_output[kind]
        bus_in, bus_out = self.bus_input[kind], self.bus_output[kind]
        in_reads = weight_matrix_row // rps * num_in_vector // bin_.num_dff
        out_reads = weight_matrix_col // cps * tree.num_adder_bit * num_in_vector // nbi // bout.num_dff
        bin_t = bin_.calculate_latency(0, in_reads, clk_freq=clk)
        bout_t = bout.calculate_latency(0, out_reads, clk_freq=clk)
        bin_p = bin_.calculate_power(in_reads, bin_.num_dff, False)
        bout_p = bout.calculate_power(out_reads, bout.num_dff, False)
        in_bits = weight_matrix_row // rps * num_in_vector
        bus_in_t = bus_in.calculate_latency(in_bits / bus_in.bus_width, clk_freq=clk)
        bus_in_p = bus_in.calculate_power(bus_in.bus_width, in_bits / bus_in.bus_width, True)
        out_bits = weight_matrix_col // cps * (tree.num_stage + tree.num_adder_bit) * num_in_vector // nbi
        lanes = bus_out.num_row * bus_out.bus_width
        bus_out_t = bus_out.calculate_latency(out_bits / lanes, clk_freq=clk)
        bus_out_p = bus_out.calculate_power(lanes, out_bits / lanes, False)
        out.buffer_latency = float(bin_t.latency) + float(bout_t.latency)
        if not p.synchronous:
            out.ic_latency = float(bus_in_t.latency) + float(bus_out_t.latency)
        out.buffer_dynamic_energy += float(bin_p.dynamic_energy) + float(bout_p.dynamic_energy)
        out.ic_dynamic_energy += float(bus_in_p.dynamic_energy) + float(bus_out_p.dynamic_energy)
        n_sub = num_sub_row * num_sub_col
        out.leakage = (sub_leak * n_sub + tree_leak + bin_p.leakage + bout_p.leakage
                       + float(bus_in_p.leakage) + float(bus_out_p.leakage))
        out.leakage_sram_in_use = sub_leak_sram * n_sub
        out.read_latency += out.buffer_latency + out.ic_latency
        out.latency_other += out.buffer_latency + out.ic_latency
        out.read_dynamic_energy += out.buffer_dynamic_energy + out.ic_dynamic_energy
        out.energy_other += out.buffer_dynamic_energy + out.ic_dynamic_energy
        return out


# ------------------------------------------------------------------------------------------
# Tile
# ------------------------------------------------------------------------------------------

class Tile:
    """Both tile types (NM and CM) and their shared PE."""

    def __init__(self, ctx: Context, subarray):
        self.ctx = ctx
        self.param = ctx.param
        self.pe = ProcessingUnit(ctx, subarray)
        self.input_buffer = {"nm": Buffer(ctx), "cm": Buffer(ctx)}
        self.output_buffer = {"nm": Buffer(ctx), "cm": Buffer(ctx)}
        self.htree = {"nm": HTree(ctx), "cm": HTree(ctx)}
        self.accumulation = {"nm": AdderTree(ctx), "cm": AdderTree(ctx)}
        self.relu = {"nm": BitShifter(ctx), "cm": BitShifter(ctx)}
        self.sigmoid: dict[str, Any] = {}
        self.num_in_buffer_core = {"nm": 0, "cm": 0}
        self.num_out_buffer_core = {"nm": 0, "cm": 0}

    def _sigmoid(self, kind: str):
        if kind not in self.sigmoid:
            self.sigmoid[kind] = _sigmoid_class()(self.ctx)
        return self.sigmoid[kind]

    # ---- set-up -----------------------------------------------------------------------
    def initialize(self, num_pe_nm: float, pe_size_nm: float, num_pe_cm: float,
                   pe_size_cm: float, novel_mapping: bool) -> None:
        p = self.param
        R, C = int(p.numRowSubArray), int(p.numColSubArray)
        n_sub_nm = math.ceil(pe_size_nm / R) * math.ceil(pe_size_nm / C) if novel_mapping else 0
        n_sub_cm = math.ceil(pe_size_cm / R) * math.ceil(pe_size_cm / C)
        self.grid_nm = math.ceil(math.sqrt(n_sub_nm)) if novel_mapping else 0
        self.grid_cm = math.ceil(math.sqrt(n_sub_cm))
        self.pe.initialize(self.grid_nm, self.grid_nm, self.grid_cm, self.grid_cm, novel_mapping)
        sub_bits = subarray_output_bits(p)
        ncm = int(p.numColMuxed)
        nbi = int(p.numBitInput)
        clk = float(p.clkFreq)
        core = int(p.tileBufferCoreSizeRow) * int(p.tileBufferCoreSizeCol)
        core_col = int(p.tileBufferCoreSizeCol)
        sram = bool(p.peBufferType)       # V1.4 builds the tile buffers with peBufferType
        wire_r = float(p.unitLengthWireResistance)
        specs = [("cm", float(num_pe_cm), float(pe_size_cm), n_sub_cm)]
        if novel_mapping:
            specs.insert(0, ("nm", float(num_pe_nm), float(pe_size_nm), n_sub_nm))
        for kind, num_pe, pe_size, n_sub in specs:
            pe_bits = sub_bits + math.ceil(math.sqrt(n_sub))
            acc = self.accumulation[kind]
            if kind == "nm":
                acc.initialize(int(num_pe), pe_bits, math.ceil(pe_size / ncm), clk)
            else:
                acc.initialize(int(num_pe), pe_bits, math.ceil(num_pe * pe_size / ncm), clk)
            if not p.chipActivation:
                if p.reLu:
                    self.relu[kind].initialize(math.ceil(pe_size * C / ncm), nbi, clk)
                else:
                    self._sigmoid(kind).initialize(
                        bool(p.Activationtype), nbi, pe_bits + math.ceil(math.log2(num_pe)),
                        math.ceil(num_pe * C / ncm), clk)
                out_bits = nbi * num_pe * C / ncm
                self.num_out_buffer_core[kind] = math.ceil(out_bits / core)
                if out_bits < core:
                    self.output_buffer[kind].initialize(out_bits, nbi * num_pe, 1, wire_r, clk, sram)
                else:
                    self.output_buffer[kind].initialize(core, core_col, 1, wire_r, clk, sram)
            else:
                width = pe_bits + math.ceil(math.log2(num_pe))
                out_bits = width * num_pe * C / ncm
                self.num_out_buffer_core[kind] = math.ceil(out_bits / core)
                if out_bits < core:
                    self.output_buffer[kind].initialize(out_bits, width * num_pe, 1, wire_r, clk, sram)
                else:
                    self.output_buffer[kind].initialize(core, core_col, 1, wire_r, clk, sram)
            in_bits = num_pe * nbi * R
            self.num_in_buffer_core[kind] = math.ceil(in_bits / core)
            if in_bits < core:
                self.input_buffer[kind].initialize(in_bits, num_pe * R, 1, wire_r, clk, sram)
            else:
                self.input_buffer[kind].initialize(core, core_col, 1, wire_r, clk, sram)
            if kind == "nm":
                side = math.ceil(math.sqrt(num_pe))
                self.htree[kind].initialize(side, side, float(p.localBusDelayTolerance),
                                            num_pe * pe_size, clk)
            else:
                self.htree[kind].initialize(int(num_pe), int(num_pe), float(p.localBusDelayTolerance),
                                            num_pe * pe_size, clk)

    # ---- area -------------------------------------------------------------------------
    def pe_grid(self, pe_size: float) -> int:
        p = self.param
        n_sub = math.ceil(pe_size / int(p.numRowSubArray)) * math.ceil(pe_size / int(p.numColSubArray))
        return math.ceil(math.sqrt(n_sub))

    def calculate_area(self, num_pe: float, pe_size: float, nm: bool) -> dict[str, Any]:
        """Tile area; `num_pe` is the number of PEs in the tile."""
        p = self.param
        kind = "nm" if nm else "cm"
        grid = self.pe_grid(pe_size)
        pe = self.pe.calculate_area(grid, grid, nm)
        side = math.ceil(math.sqrt(num_pe))
        acc = self.accumulation[kind].calculate_area(None, side * pe["width"], NONE)
        act_area = 0.0
        layouts = {"accumulation": acc}
        if not p.chipActivation:
            if p.reLu:
                layouts["activation"] = self.relu[kind].calculate_area(None, side * pe["width"], NONE)
            else:
                sg = self._sigmoid(kind)
                sg.calculate_unit_area(NONE)
                layouts["activation"] = sg.calculate_area(None, side * pe["width"], NONE)
            act_area = layouts["activation"].area
        ib = self.input_buffer[kind].calculate_area(side * pe["height"], None, NONE)
        ob = self.output_buffer[kind].calculate_area(None, side * pe["width"], NONE)
        ib_area = ib.area * self.num_in_buffer_core[kind]
        ob_area = ob.area * self.num_out_buffer_core[kind]
        ht = self.htree[kind].calculate_area(pe["height"], pe["width"], 16)
        # the tile's declared children
        out = sum_areas([
            AreaPart("pes", pe["area"] * num_pe, {c: pe[c] * num_pe for c in ("adc", "accum", "other", "array")}),
            AreaPart("accumulation", acc.area, {"accum": acc.area}),
            AreaPart("input_buffer", ib_area, {"other": ib_area}),
            AreaPart("output_buffer", ob_area, {"other": ob_area}),
            AreaPart("htree", ht.area, {"ic": ht.area}),
            AreaPart("activation", act_area, {"other": act_area})])
        height = math.sqrt(out["area"])
        return {**out, "height": height, "width": out["area"] / height, "pe": pe,
                "layouts": {**layouts, "input_buffer": ib, "output_buffer": ob, "htree": ht}}

    # ---- performance -------------------------------------------------------------------
    def calculate_performance(self, data: LayerData, rows: np.ndarray, c0: int, nm: bool,
                              num_pe: float, pe_size: float, speedup_row: int, speedup_col: int,
                              weight_matrix_row: int, weight_matrix_col: int, num_in_vector: int,
                              clock: bool, last_use: dict | None = None,
                              clk_freq: float | None = None) -> Perf:
        """One tile call (TileCalculatePerformance). `rows`: the layer rows the tile holds
        in tile order; `c0`: its first layer column; `weight_matrix_row/col`: its size;
        `num_in_vector`: input vectors (bit-planes); `last_use`: see `LAST_USE`; `clk_freq`:
        the working clock (Hz; default: the parameter's)."""
        last_use = {} if last_use is None else last_use
        clk = float(self.param.clkFreq) if clk_freq is None else float(clk_freq)
        if nm:
            return self._perf_nm(data, rows, c0, num_pe, pe_size, speedup_row, speedup_col,
                                 weight_matrix_row, weight_matrix_col, num_in_vector, clock, last_use, clk)
        return self._perf_cm(data, rows, c0, num_pe, pe_size, speedup_row, speedup_col,
                             weight_matrix_row, weight_matrix_col, num_in_vector, clock, last_use, clk)

    def _buffers_and_htree(self, out: Perf, kind: str, nm: bool, num_pe: float, pe_size: float,
                           bits_out: float, bits_in: float, clk: float) -> float:
        """Tile input/output buffers and H-tree (performance pass only); returns their
        leakage (W)."""
        p = self.param
        ib, ob, ht = self.input_buffer[kind], self.output_buffer[kind], self.htree[kind]
        cost = {}
        for name, buf, bits in (("ib", ib, bits_out), ("ob", ob, bits_in)):
            half = bits / buf.interface_width / 2.0
            cost[name] = (buf.calculate_latency(buf.interface_width, half, buf.interface_width, half,
                                                clk_freq=clk)
                          + buf.calculate_power(buf.interface_width, half, buf.interface_width, half))
        # multi-core buffers work in parallel, up to the H-tree width
        ib_div = min(self.num_in_buffer_core[kind], math.ceil(ht.bus_width / ib.interface_width))
        ob_div = min(self.num_out_buffer_core[kind], math.ceil(ht.bus_width / ob.interface_width))
        ib_c, ob_c = cost["ib"], cost["ob"]
        ib_r, ib_w = float(ib_c.latency) / ib_div, float(ib_c.write_latency) / ib_div
        ob_r, ob_w = float(ob_c.latency) / ob_div, float(ob_c.write_latency) / ob_div
        out.read_latency += ib_r + ib_w + ob_r + ob_w
        buf_e = (float(ib_c.dynamic_energy) + float(ib_c.write_dynamic_energy)
                 + float(ob_c.dynamic_energy) + float(ob_c.write_dynamic_energy))
        out.read_dynamic_energy += buf_e
        grid = self.pe_grid(pe_size)
        pe_area = self.pe.calculate_area(grid, grid, nm)
        transfers = (bits_out + bits_in) / ht.bus_width
        toggled = (bits_out * float(p.inputtoggle) + bits_in * float(p.outputtoggle)) / ht.bus_width
        end = 1 if nm else 0
        ht_c = (ht.calculate_latency(0, 0, end, end, pe_area["height"], pe_area["width"], transfers,
                                     clk_freq=clk)
                + ht.calculate_power(0, 0, end, end, pe_area["height"], pe_area["width"], ht.bus_width, toggled))
        ht_lat = float(ht_c.latency)
        out.read_latency += ht_lat
        out.buffer_latency += ib_r + ob_r + ib_w + ob_w
        out.ic_latency += ht_lat
        out.latency_other += ib_r + ib_w + ob_r + ob_w + ht_lat
        ht_e = float(ht_c.dynamic_energy)
        out.read_dynamic_energy += ht_e
        out.buffer_dynamic_energy += buf_e
        out.ic_dynamic_energy += ht_e
        out.energy_other += buf_e + ht_e
        return ib_c.leakage + ob_c.leakage + float(ht_c.leakage)

    def _activation_in_tile(self, out: Perf, kind: str, weight_matrix_col: int,
                            num_in_vector: int, per_pe: float, clk: float) -> float:
        """ReLU/sigmoid inside the tile; returns the output bit count."""
        p = self.param
        nbi, cps, ncm = int(p.numBitInput), int(p.numColPerSynapse), int(p.numColMuxed)
        reads_base = (num_in_vector // nbi) * (ncm // cps)
        if p.reLu:
            unit = self.relu[kind]
            c = (unit.calculate_latency(reads_base / unit.num_unit, clk_freq=clk)
                 + unit.calculate_power(reads_base / unit.num_unit))
            width = 1 + unit.num_bit
        else:
            unit = self._sigmoid(kind)
            c = (unit.calculate_latency(reads_base / unit.num_entry, clk_freq=clk)
                 + unit.calculate_power(reads_base / unit.num_entry))
            width = 1 + unit.num_ybit
        out.charge("other", float(c.latency), float(c.dynamic_energy))
        return max(math.ceil(weight_matrix_col // cps) * width * num_in_vector / nbi / per_pe, 0.0)

    def _perf_cm(self, data, rows, c0, num_pe, pe_size, speedup_row, speedup_col, wmr, wmc,
                 num_in_vector, clock, last_use, clk) -> Perf:
        p = self.param
        pe = self.pe
        grid = self.pe_grid(pe_size)
        num_pe_i = int(num_pe)
        acc = self.accumulation["cm"]
        nbi, cps, ncm = int(p.numBitInput), int(p.numColPerSynapse), int(p.numColMuxed)
        acc_reads = (num_in_vector // nbi) * math.ceil(ncm / cps)
        out = Perf()
        last: Perf | None = None
        if speedup_row * speedup_col > 1:
            if speedup_row >= num_pe and speedup_col >= num_pe:
                # every PE holds the whole tile matrix: one PE call, latency shared
                last = pe.calculate_performance(
                    data, rows, c0, len(rows), wmc, math.ceil(speedup_row / num_pe),
                    math.ceil(speedup_col / num_pe), grid, grid, wmr, wmc, num_in_vector, False, clock, last_use, clk)
                out = last.copy()
                out.leakage = out.leakage_sram_in_use = 0.0
                if not clock:
                    out.divide_latency(num_pe * num_pe)
            else:
                n_i = math.ceil(wmr / pe_size)
                n_j = math.ceil(wmc / pe_size)
                for i in range(n_i):
                    for j in range(n_j):
                        if i * pe_size < wmr and j * pe_size < wmc:
                            nr = int(min(pe_size, wmr - i * pe_size))
                            nc = int(min(pe_size, wmc - j * pe_size))
                            r0 = int(i * pe_size)
                            last = pe.calculate_performance(
                                data, rows[r0:r0 + nr], c0 + int(j * pe_size), nr, nc, 1, 1, grid,
                                grid, nr, nc, num_in_vector, False, clock, last_use, clk)
                            out.add_parallel(last)
                if not clock:
                    out.divide_latency(speedup_row * speedup_col)
                if n_i > 1:
                    acc_c = (acc.calculate_latency(acc_reads, n_i, 0, clk_freq=clk)
                             + acc.calculate_power(acc_reads, n_i))
                    last_use[("tile_accumulation", "cm")] = acc_c.leakage
                    if not clock:
                        out.charge("accum", float(acc_c.latency), float(acc_c.dynamic_energy))
        else:
            # no duplication: the PEs share the tile matrix, each PE declared with its own
            # block. The reference adds the most recent PE's results again for PE slots
            # that hold no weights (kept).
            for i in range(num_pe_i):
                for j in range(num_pe_i):
                    if i * pe_size < wmr and j * pe_size < wmc:
                        nr = int(min(pe_size, wmr - i * pe_size))
                        nc = int(min(pe_size, wmc - j * pe_size))
                        r0 = int(i * pe_size)
                        last = pe.calculate_performance(
                            data, rows[r0:r0 + nr], c0 + int(j * pe_size), nr, nc, 1, 1, grid, grid,
                            nr, nc, num_in_vector, False, clock, last_use, clk)
                    if last is not None:
                        out.add_parallel(last)
            acc_c = (acc.calculate_latency(acc_reads, num_pe_i, 0, clk_freq=clk)
                     + acc.calculate_power(acc_reads, num_pe_i))
            last_use[("tile_accumulation", "cm")] = acc_c.leakage
            out.charge("accum", float(acc_c.latency), float(acc_c.dynamic_energy))
        if clock:
            out.read_latency = out.sensing_cycle
            return out
        if not p.chipActivation:
            bits_in = self._activation_in_tile(out, "cm", wmc, num_in_vector, 1.0, clk)
        else:
            bits_in = max(math.ceil(wmc // cps) * (acc.num_stage + acc.num_adder_bit)
                          * num_in_vector / nbi, 0.0)
        bits_out = max(float(wmr * num_in_vector), 0.0)
        edge_leak = self._buffers_and_htree(out, "cm", False, num_pe, pe_size, bits_out, bits_in, clk)
        pe_leak = last.leakage if last is not None else 0.0
        pe_leak_sram = last.leakage_sram_in_use if last is not None else 0.0
        acc_leak = last_use.get(("tile_accumulation", "cm"), 0.0)
        out.leakage = pe_leak * num_pe * num_pe + acc_leak + edge_leak
        out.leakage_sram_in_use = pe_leak_sram * num_pe * num_pe
        return out

    def _perf_nm(self, data, rows, c0, num_pe, pe_size, speedup_row, speedup_col, wmr, wmc,
                 num_in_vector, clock, last_use, clk) -> Perf:
        p = self.param
        pe = self.pe
        grid = self.pe_grid(pe_size)
        acc = self.accumulation["nm"]
        nbi, cps, ncm = int(p.numBitInput), int(p.numColPerSynapse), int(p.numColMuxed)
        out = Perf()
        last: Perf | None = None
        per_pe = int(wmr / num_pe)
        n_pe = int(num_pe)
        for k in range(n_pe):
            r0 = k * per_pe
            last = pe.calculate_performance(data, rows[r0:r0 + per_pe], c0, per_pe, wmc, 1, 1,
                                            grid, grid, per_pe, wmc, num_in_vector, True, clock, last_use, clk)
            out.add_parallel(last)
        if clock:
            out.read_latency = out.sensing_cycle
            return out
        out.divide_latency(speedup_row * speedup_col)
        acc_reads = (num_in_vector // nbi) * (ncm // cps)
        acc_c = acc.calculate_latency(acc_reads, n_pe, 0, clk_freq=clk) + acc.calculate_power(acc_reads, n_pe)
        out.charge("accum", float(acc_c.latency), float(acc_c.dynamic_energy))
        bits_out = max(wmr * num_in_vector / math.sqrt(num_pe), 0.0)
        if not p.chipActivation:
            bits_in = self._activation_in_tile(out, "nm", wmc, num_in_vector, num_pe, clk)
        else:
            bits_in = max(math.ceil(wmc // cps) * (acc.num_stage + acc.num_adder_bit)
                          * num_in_vector / nbi, 0.0)
        edge_leak = self._buffers_and_htree(out, "nm", True, num_pe, pe_size, bits_out, bits_in, clk)
        out.leakage = last.leakage * num_pe + acc_c.leakage + edge_leak
        out.leakage_sram_in_use = last.leakage_sram_in_use * num_pe
        return out
