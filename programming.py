"""Weight programming cost: the energy and latency of writing a network's weights into the
chip, from the weights the cells hold before (the erased state, or an older trace folder of
the same network) to the weights of the traces.

DNN+NeuroSim V1.4 reports no write cost for inference; the V2.x training branch prices
weight updates. This module follows that approach (device pulses per cell, row-by-row
programming, line and periphery energies) in its own formulation:

* **Levels and pulses** (`WriteDevice`). A weight is split into cells of `cellBit` bits,
  most significant first (`Array.split_into_cells`); cell level l in 0..L (L = 2^cellBit-1)
  has the conductance Gmin + l (Gmax-Gmin)/L. The device moves across its whole range in
  `maxNumLevelLTP` SET (potentiation) pulses and `maxNumLevelLTD` RESET (depression)
  pulses, so a change of d levels takes ceil(d N_LTP / L) SET pulses (d > 0) or
  ceil(|d| N_LTD / L) RESET pulses (d < 0); an unchanged cell takes none.
* **Cell energy.** RRAM: every pulse drives the write voltage across the cell for one pulse
  width; the conductance moves linearly from G_old to G_new over the pulses, so a cell
  takes Vw^2 t_w n (G_old + G_new)/2. FeFET: the gate stack is charged each pulse,
  C_gate Vw^2 per pulse (no conduction current). SRAM: a flipped bit charges one storage
  node, C_node Vdd^2.
* **Row-by-row programming.** Each sub-array row is written in a SET phase and a RESET
  phase; a phase lasts as many pulses as its slowest cell needs, so a sub-array's pulse
  time is t_w x sum over its rows of (max SET pulses + max RESET pulses). Cells that are
  done are inhibited while the others keep receiving pulses.
* **Line energy** (`ArrayLines`). 1T1R: per SET pulse the word line (Vdd), the row's bit
  line and every column not being set (inhibit) are charged to Vw; per RESET pulse the
  word line and the columns being reset. Crossbar (V/2 scheme): the selected row (SET) or
  columns (RESET) at Vw, every other line at Vw/2, and the half-selected cells conduct at
  Vw/2 for the pulse. SRAM: the word line once per row written.
* **Periphery** (`WritePeriphery`): the write energy and latency of the sub-array's own
  circuits (row decoder and word-line driver or switch matrix, source-line switch matrix,
  level shifters above 1.5 V; SRAM: decoder or switch matrix, precharger and write
  driver), charged once per row phase (one row selection), the column drivers per pulse
  of every selected column (RRAM/FeFET) or per flipped bit (SRAM, masked write: only
  columns whose bit changes are driven). Sub-array latency = row phases x the slower of
  the row and column paths + the pulse time (SRAM: decoder, precharge, driver and cell
  flip per row written).
* **Chip.** As in V2.x (a worst case bounded by the buffers that feed the weights), the
  sub-arrays of a layer and the layers are programmed one after another: latencies add.
  Copies of a layer made by the floor plan for speed-up receive the same data at the same
  time: their energy and pulses count once per copy, their latency once.

Where this differs from V2.x on purpose: SET and RESET have their own step (V2.x uses the
finer of the two for both); every changed cell gets at least one pulse (V2.x skips changes
below one step, which a cell with fewer pulse steps than levels would need); the cell
energy uses the mean conductance along the pulse ramp (V2.x: the inverse of the mean of the
two end resistances); the line energy counts, pulse by pulse, the cells still being
programmed (V2.x: an average number of selected columns for all pulses of a sub-array).

Defaults where the configuration gives nothing (a bare `FormulaBindings.Param` holds 0):
N_LTP = N_LTD = 32 and the FeFET gate capacitance 2.1717e-18 F are DNN+NeuroSim V2.1's
Param.cpp values; the pulse width falls back to the configuration default 10 ns.

Everything is vectorised over the cells, rows and sub-arrays of a layer; only the layers
(and, on large layers, chunks of a few million cells, to bound memory) are looped over.
Per (old, new) pair of stored weight values a table holds its cells' statistics
(`WeightPairs`), so a layer is priced on its weight matrix rather than on the cell matrix
whenever a sub-array row holds whole weights; the result is the same.

API: `program_network(param, floorplan, traces, old_traces)` for a network (Chip.py's
`estimate(..., write_cost=True, old_traces=...)` calls it); `array_write_cost` for a cell
matrix; `layer_write_cost` for a layer's stored weight values.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import FormulaBindings as fb

__all__ = ["DEFAULT_LEVELS", "DEFAULT_PULSE_WIDTH", "FEFET_GATE_CAP", "WriteDevice",
           "ArrayLines", "WritePeriphery", "WriteCost", "WriteTally", "WeightPairs",
           "ProgrammingCost", "CellSplitter", "cell_levels", "erased_weights", "subarray_rows",
           "array_write_cost", "layer_write_cost", "check_same_network", "program_network"]

DEFAULT_LEVELS = 32            # pulses per full swing, DNN+NeuroSim V2.1 Param.cpp
DEFAULT_PULSE_WIDTH = 10e-9    # s, the configuration's default (inferenceConfig.py)
FEFET_GATE_CAP = 2.1717e-18    # F, gate capacitance of one FeFET, DNN+NeuroSim V2.1 Param.cpp

NMOS, PMOS = fb.TransistorKind.NMOS, fb.TransistorKind.PMOS


# ==========================================================================================
# Device: levels, pulses, cell energy
# ==========================================================================================

@dataclass(frozen=True)
class WriteDevice:
    """The memory cell as programming sees it (SI units)."""
    memory: str                     # write model: "RRAM" | "FeFET" | "SRAM" (cells.CellKind.write)
    access: str                     # "CMOS" (1T1R) | "none" (crossbar)
    cell_bit: int
    levels_ltp: int                 # SET pulses across the whole conductance range
    levels_ltd: int                 # RESET pulses across the whole conductance range
    g_min: float                    # S
    g_max: float                    # S
    write_voltage: float            # V
    pulse_width: float              # s
    vdd: float                      # V
    fefet_gate_cap: float = FEFET_GATE_CAP   # F
    sram_node_cap: float = 0.0      # F, one SRAM storage node

    @property
    def num_levels(self) -> int:
        return 2 ** self.cell_bit

    @property
    def top_level(self) -> int:
        return 2 ** self.cell_bit - 1

    @classmethod
    def from_context(cls, ctx) -> "WriteDevice":
        p, cell, tech = ctx.param, ctx.cell, ctx.tech
        # the cell kind's write model (cells.py): resistive (RRAM-like), capacitive gate
        # (FeFET-like; also nvCap, for which NeuroSim V1.5 has no write model) or SRAM
        mem = {"resistive": "RRAM", "fefet": "FeFET", "sram": "SRAM"}[cell.kind.write]
        ltp = int(p.maxNumLevelLTP) if float(p.maxNumLevelLTP) >= 1 else DEFAULT_LEVELS
        ltd = int(p.maxNumLevelLTD) if float(p.maxNumLevelLTD) >= 1 else DEFAULT_LEVELS
        width = float(p.writePulseWidth) if float(p.writePulseWidth) > 0 else DEFAULT_PULSE_WIDTH
        node_cap = 0.0
        if mem == "SRAM":
            ltp = ltd = 1                      # a bit flips in one write
            node_cap = sram_node_cap(ctx)
        return cls(memory=mem, access=cell.access, cell_bit=int(p.cellBit), levels_ltp=ltp,
                   levels_ltd=ltd, g_min=float(p.minConductance), g_max=float(p.maxConductance),
                   write_voltage=float(cell.write_voltage), pulse_width=width,
                   vdd=float(tech.vdd), sram_node_cap=node_cap)

    def conductance(self, levels) -> np.ndarray:
        """Conductance (S) of cell levels (the mapping the read model uses)."""
        import cells
        return cells.level_conductance(levels, self.cell_bit, self.g_max, self.g_min)

    def pulses(self, old, new) -> tuple[np.ndarray, np.ndarray]:
        """SET and RESET pulses (int32 arrays) taking each cell from level `old` to `new`:
        ceil(|d| N / L) for a change of d levels, exact in integers."""
        d = np.asarray(new, dtype=np.int32) - np.asarray(old, dtype=np.int32)
        top = self.top_level
        up = (np.maximum(d, 0) * self.levels_ltp + (top - 1)) // top
        down = (np.maximum(-d, 0) * self.levels_ltd + (top - 1)) // top
        return up.astype(np.int32), down.astype(np.int32)

    def transition_energy(self, old, new) -> np.ndarray:
        """Energy (J) in one cell of all the pulses taking it from level `old` to `new`
        (arrays broadcast). RRAM: Vw^2 t_w n (G_old + G_new)/2, the conductance moving
        linearly over the n pulses; FeFET: n C_gate Vw^2; SRAM: C_node Vdd^2 per flip."""
        up, down = self.pulses(old, new)
        n = (up + down).astype(float)
        if self.memory == "SRAM":
            return n * self.sram_node_cap * self.vdd * self.vdd
        vw2 = self.write_voltage * self.write_voltage
        if self.memory == "FeFET":
            return n * self.fefet_gate_cap * vw2
        g_mean = (self.conductance(old) + self.conductance(new)) / 2.0
        return vw2 * self.pulse_width * n * g_mean

    def transition_tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """SET pulses, RESET pulses and energy (J) of every level transition, indexed by
        old * num_levels + new."""
        lv = np.arange(self.num_levels)
        old = np.repeat(lv, self.num_levels)
        new = np.tile(lv, self.num_levels)
        up, down = self.pulses(old, new)
        return up, down, self.transition_energy(old, new)


def sram_node_cap(ctx) -> float:
    """Capacitance (F) of one SRAM storage node: the access device's drain, the pull-down
    and pull-up drains of its inverter and the gates of the other inverter."""
    p, cell, tech = ctx.param, ctx.cell, ctx.tech
    F = tech.featureSize
    fin = 2 if int(p.technode) <= 14 else 1          # minimum devices are a fin pair there
    wa = cell.width_access_cmos * fin * F
    wn = cell.width_sram_cell_nmos * fin * F
    wp = cell.width_sram_cell_pmos * fin * F
    return (fb.drain_cap(wa, NMOS, tech) + fb.drain_cap(wn, NMOS, tech)
            + fb.drain_cap(wp, PMOS, tech) + fb.gate_cap(wn, tech) + fb.gate_cap(wp, tech))


# ==========================================================================================
# Weights -> cell levels
# ==========================================================================================

def cell_levels(weight_levels, param) -> np.ndarray:
    """Cell levels (int16, rows x C_out*numColPerSynapse) of a layer's stored weight values
    (the traces' `weight_levels`, 0 .. 2^synapseBit), through the read model's split."""
    import cells
    return cells.split_levels(weight_levels, int(param.numColPerSynapse), int(param.cellBit),
                              dtype=np.int16)


class CellSplitter:
    """Stored weight values -> cell levels, as `cell_levels` but by table: the split is
    done once for every possible value (0 .. 2^synapseBit) and looked up (fast, uint8)."""

    def __init__(self, param):
        self.cps = int(param.numColPerSynapse)
        self.num_values = 2 ** int(param.synapseBit) + 1
        table = cell_levels(np.arange(self.num_values)[None, :], param)
        self.table = table.reshape(self.num_values, self.cps).astype(np.uint8)

    def __call__(self, weights) -> np.ndarray:
        w = np.asarray(weights)
        if w.size and (w.min() < 0 or w.max() >= self.num_values):
            raise ValueError(f"stored weight values must lie in 0..{self.num_values - 1}")
        return self.table[w].reshape(w.shape[0], w.shape[1] * self.cps)


def erased_weights(shape) -> np.ndarray:
    """Stored weight values of an erased layer: every cell at its lowest conductance."""
    return np.zeros(shape, dtype=np.int16)


# ==========================================================================================
# Array lines
# ==========================================================================================

@dataclass(frozen=True)
class ArrayLines:
    """Line capacitances (F) and size of one sub-array: cap_row1 is the row line driven to
    the write voltage (1T1R bit line; crossbar and SRAM word line), cap_row2 the 1T1R word
    line, cap_col a column (source) line."""
    rows: int
    cols: int
    cap_row1: float
    cap_row2: float
    cap_col: float

    @classmethod
    def from_subarray(cls, sa) -> "ArrayLines":
        return cls(rows=int(sa.num_row), cols=int(sa.num_col), cap_row1=float(sa.cap_row1),
                   cap_row2=float(sa.cap_row2), cap_col=float(sa.cap_col))

    def nvm_energy(self, dev: WriteDevice, rows_set, pulses_set, rows_reset,
                   pulses_reset) -> float:
        """Line energy (J) of RRAM/FeFET programming from four sums over the row phases:
        rows_set = sum of each row's SET pulse count (its slowest cell), pulses_set = sum
        of all cells' SET pulses, and the same for RESET. Every quantity per pulse is
        linear in the cells selected at that pulse, hence these sums suffice."""
        vw2 = dev.write_voltage ** 2
        vdd2 = dev.vdd ** 2
        R, C = self.rows, self.cols
        if dev.access == "CMOS":
            # SET pulse: word line, the row's bit line, inhibited columns (not selected)
            per_row_set = self.cap_row2 * vdd2 + self.cap_row1 * vw2 + C * self.cap_col * vw2
            per_cell_set = -self.cap_col * vw2
            # RESET pulse: word line, selected columns
            per_row_reset = self.cap_row2 * vdd2
            per_cell_reset = self.cap_col * vw2
        else:
            # V/2 scheme: unselected rows and columns at Vw/2; half-selected cells conduct
            q2 = vw2 / 4.0
            g_half = (dev.g_max + dev.g_min) / 2.0
            leak = q2 * g_half * dev.pulse_width          # one half-selected cell, one pulse
            common = (R - 1) * self.cap_row1 * q2 + C * self.cap_col * q2 + C * leak
            per_row_set = self.cap_row1 * vw2 + common
            per_cell_set = -self.cap_col * q2 + (R - 2) * leak
            per_row_reset = common
            per_cell_reset = self.cap_col * vw2 - self.cap_col * q2 + (R - 2) * leak
        return float(per_row_set * rows_set + per_cell_set * pulses_set
                     + per_row_reset * rows_reset + per_cell_reset * pulses_reset)

    def sram_energy(self, dev: WriteDevice, rows_written) -> float:
        """Word-line energy (J) of SRAM writes, one per row written."""
        return float(self.cap_row1 * dev.vdd ** 2 * rows_written)


# ==========================================================================================
# Periphery
# ==========================================================================================

class WritePeriphery:
    """The write figures of one sub-array's periphery (the read model's circuits, given
    write counts instead of read counts). Methods take per-sub-array arrays and return
    per-sub-array energies (J) and latencies (s)."""

    def __init__(self, ctx):
        from Array import SubArray
        p = ctx.param
        self.ctx = ctx
        sa = SubArray(ctx)
        sa.initialize(int(p.numRowSubArray), int(p.numColSubArray),
                      float(p.unitLengthWireResistance))
        sa.calculate_area()
        self.sa = sa
        self.lines = ArrayLines.from_subarray(sa)
        self.sequential = int(p.operationmode) == 1
        self.device = WriteDevice.from_context(ctx)

    def _child(self, name: str):
        return self.sa.child(name)

    def _line_kwargs(self) -> dict[str, float]:
        return self.sa.row_line_rc()

    def _row_select(self, ops: np.ndarray) -> tuple[np.ndarray, np.ndarray, Any]:
        """Decoder + word-line driver (sequential) or word-line switch matrix (parallel):
        energy and latency of `ops` row selections, and the circuit driving the row."""
        sa = self.sa
        zero = np.zeros_like(ops)
        if self.sequential:
            dec = self._child("wl_decoder")
            cap = sa.cap_row1 if self.device.memory == "SRAM" else sa.cap_row2
            dec_t = dec.calculate_latency(1e20, cap, 0, sa.res_row, sa.num_col, zero, ops)
            dec_p = dec.calculate_power(zero, ops)
            e, t = dec_p.write_dynamic_energy, dec_t.write_latency
            drv = self._child("wl_new_decoder_driver")
            if drv is None:
                drv = self._child("wl_decoder_driver")
            if drv is None:                                # SRAM: the decoder drives the row
                return e, t, dec
            if self.device.access == "CMOS":
                c = (drv.calculate_latency(dec_t.ramp_output, sa.cap_row2, sa.res_row, zero, ops)
                     + drv.calculate_power(zero, ops))
            else:
                c = (drv.calculate_latency(dec_t.ramp_output, sa.cap_row1, sa.cap_row1, sa.res_row,
                                           zero, ops)
                     + drv.calculate_power(0.0, 1.0, zero, ops))   # one row line per selection
            return e + c.write_dynamic_energy, t + c.write_latency, drv
        new_sm = self._child("wl_new_switch_matrix")
        if new_sm is not None:                             # 1T1R parallel
            c = (new_sm.calculate_latency(1e20, sa.cap_row2, sa.res_row, zero, ops)
                 + new_sm.calculate_power(zero, ops, 0.0))
            return c.write_dynamic_energy, c.write_latency, new_sm
        sm = self._child("wl_switch_matrix")               # crossbar / SRAM parallel
        c = (sm.calculate_latency(1e20, sa.cap_row1, sa.res_row, zero, ops, **self._line_kwargs())
             + sm.calculate_power(zero, ops, 0.0, 0.0))
        return c.write_dynamic_energy, c.write_latency, sm

    def nvm(self, ops, selected, cell_pulses) -> tuple[np.ndarray, np.ndarray]:
        """RRAM/FeFET. Per sub-array: `ops` row phases (a SET or RESET phase of a row),
        `selected` cells selected summed over the phases, `cell_pulses` pulses of all
        cells. Returns (energy J, latency s) of the periphery, per sub-array."""
        sa = self.sa
        ops = np.asarray(ops, dtype=float)
        selected = np.asarray(selected, dtype=float)
        cell_pulses = np.asarray(cell_pulses, dtype=float)
        zero = np.zeros_like(ops)
        e_row, t_row, row_drv = self._row_select(ops)

        # source-line switch matrix: the selected fraction of its columns per phase and
        # the pulses per selected cell, so that its per-pulse term sums to cell_pulses
        sm = self._child("sl_switch_matrix")
        n = float(sm.num_output)
        act = np.divide(selected, ops * n, out=np.zeros_like(ops), where=ops > 0)
        per_sel = np.divide(cell_pulses, selected, out=np.zeros_like(ops), where=selected > 0)
        c = (sm.calculate_latency(1e20, sa.cap_col, sa.res_col, zero, ops, **self._line_kwargs())
             + sm.calculate_power(zero, ops, 0.0, act, num_write_pulse=per_sel))
        e_col, t_col = c.write_dynamic_energy, c.write_latency

        # level shifters (write voltage above 1.5 V): one switch per row phase each
        e_ls = np.zeros_like(ops)
        t_ls_row = np.zeros_like(ops)
        t_ls_col = np.zeros_like(ops)
        for name, load, is_row in (("wl_level_shifter", 2 * row_drv.cap_tg_drain, True),
                                   ("bl_level_shifter", 2 * row_drv.cap_tg_drain, True),
                                   ("sl_level_shifter", 2 * sm.cap_tg_drain, False)):
            ls = self._child(name)
            if ls is None:
                continue
            c = ls.calculate_latency(1e20, load, 0.0, zero, ops) + ls.calculate_power(zero, ops, 0.0, load)
            e_ls = e_ls + c.write_dynamic_energy
            if is_row:
                t_ls_row = np.maximum(t_ls_row, c.write_latency)
            else:
                t_ls_col = t_ls_col + c.write_latency
        energy = e_row + e_col + e_ls
        latency = np.maximum(t_row + t_ls_row, t_col + t_ls_col)
        return np.asarray(energy, dtype=float), np.asarray(latency, dtype=float)

    def sram(self, ops, flips) -> tuple[np.ndarray, np.ndarray]:
        """SRAM. Per sub-array: `ops` rows written, `flips` bits flipped (only their
        columns are driven). Returns (energy J, latency s) per sub-array, the latency
        including the cell's flip time per row."""
        from peripherals.base import horowitz
        sa, tech, cell = self.sa, self.ctx.tech, self.ctx.cell
        ops = np.asarray(ops, dtype=float)
        flips = np.asarray(flips, dtype=float)
        zero = np.zeros_like(ops)
        e_row, t_row, _ = self._row_select(ops)
        act = np.divide(flips, ops * sa.num_col, out=np.zeros_like(ops), where=ops > 0)
        pre = self._child("precharger")
        drv = self._child("sram_write_driver")
        pre_c = (pre.calculate_latency(1e20, sa.cap_col, zero, ops)
                 + pre.calculate_power(zero, ops, sa.cap_col, activity_col_write=act))
        drv_c = (drv.calculate_latency(1e20, sa.cap_col, sa.res_col, ops)
                 + drv.calculate_power(ops, activity_col_write=act))
        # the cell flips through the mean of its pull-up and pull-down resistances
        F = tech.featureSize
        fin = 2 if int(self.ctx.param.technode) <= 14 else 1
        r_pull = (fb.on_resistance(cell.width_sram_cell_nmos * fin * F, NMOS, tech)
                  + fb.on_resistance(cell.width_sram_cell_pmos * fin * F, PMOS, tech)) / 2
        t_flip, _ = horowitz(r_pull * self.device.sram_node_cap, 1e20)
        energy = e_row + pre_c.write_dynamic_energy + drv_c.write_dynamic_energy
        latency = t_row + pre_c.write_latency + drv_c.write_latency + float(t_flip) * ops
        return np.asarray(energy, dtype=float), np.asarray(latency, dtype=float)


# ==========================================================================================
# One array / one layer
# ==========================================================================================

@dataclass
class WriteCost:
    """Programming cost of one layer (or one cell matrix). Energies in J, latencies in s.
    Energies and pulse counts include every copy of the weights; latencies count the
    copies once (they are written at the same time)."""
    energy: float = 0.0
    latency: float = 0.0
    set_pulses: int = 0             # SRAM: bits flipped 0 -> 1
    reset_pulses: int = 0           # SRAM: bits flipped 1 -> 0
    cell_energy: float = 0.0
    line_energy: float = 0.0
    periphery_energy: float = 0.0
    pulse_latency: float = 0.0      # t_w x sum over rows of the slowest cell's pulses
    periphery_latency: float = 0.0
    rows_written: int = 0           # row phases (SRAM: rows) with at least one change
    cells_changed: int = 0
    subarrays: int = 0
    copies: int = 1

    def as_dict(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def subarray_rows(num_rows: int, rows_per_subarray: int,
                  kernel_rows: int | None = None) -> np.ndarray:
    """Sub-array row block of every matrix row. Conventional mapping: consecutive blocks of
    `rows_per_subarray`. Novel mapping (`kernel_rows` = rows of one kernel position): each
    kernel position's rows start new blocks."""
    r = np.arange(int(num_rows))
    R = int(rows_per_subarray)
    if not kernel_rows:
        return r // R
    k = int(kernel_rows)
    return (r // k) * math.ceil(k / R) + (r % k) // R


def _block_view(a: np.ndarray, cols: int) -> np.ndarray:
    """(rows, n) -> (rows, blocks, cols), zero-padded to whole column blocks."""
    rows, n = a.shape
    nb = max(1, math.ceil(n / cols))
    if nb * cols != n:
        a = np.pad(a, ((0, 0), (0, nb * cols - n)))
    return a.reshape(rows, nb, cols)


class WriteTally:
    """Accumulates the programming statistics of one cell matrix, fed in row chunks (to
    bound memory on large layers), then prices them (`cost`).

    Per (row, column block), i.e. per sub-array row: the slowest cell's SET and RESET
    pulses, all pulses and the cells selected; per sub-array: the sums of these. Totals
    (pulses, changed cells, cell energy) come from the device's transition tables."""

    def __init__(self, device: WriteDevice, lines: ArrayLines, num_cols: int):
        self.device = device
        self.lines = lines
        self.num_cols = int(num_cols)
        self.nb = max(1, math.ceil(self.num_cols / lines.cols))
        self.up_tab, self.down_tab, self.energy_tab = device.transition_tables()
        # the smallest integer type that holds the pulse counts (faster look-ups)
        top = int(max(self.up_tab.max(), self.down_tab.max()))
        small = np.uint8 if top <= 0xFF else np.uint16 if top <= 0xFFFF else np.int32
        self._up_small, self._down_small = self.up_tab.astype(small), self.down_tab.astype(small)
        self.set_pulses = self.reset_pulses = self.cells_changed = 0
        self.cell_energy = 0.0
        self.rows_set = self.rows_reset = self.row_phases = 0
        # per sub-array: row phases, cells selected (summed over phases), pulses, rows held
        self.per_sub = np.zeros((0, 4))

    # ---- feeding -------------------------------------------------------------------
    def add(self, old_cells, new_cells, row_blocks) -> None:
        """Feed rows of cell levels (rows x num_cols) and their sub-array row blocks."""
        old = np.asarray(old_cells)
        new = np.asarray(new_cells)
        if old.shape != new.shape or old.ndim != 2 or old.shape[1] != self.num_cols:
            raise ValueError(f"cell matrices of shape {old.shape} and {new.shape}; expected "
                             f"two equal (rows, {self.num_cols}) matrices")
        nl = self.device.num_levels
        # transition index old * levels + new (levels <= 256: fits 16 bits)
        idx = old.astype(np.uint16 if nl <= 256 else np.int64) * nl + new
        counts = np.bincount(idx.ravel(), minlength=nl * nl)
        self.set_pulses += int(counts @ self.up_tab)
        self.reset_pulses += int(counts @ self.down_tab)
        self.cells_changed += int(counts @ ((self.up_tab + self.down_tab) > 0))
        self.cell_energy += float(counts @ self.energy_tab)
        ub = _block_view(self._up_small[idx], self.lines.cols)
        db = _block_view(self._down_small[idx], self.lines.cols)
        pulses = ub.sum(axis=2, dtype=np.int64) + db.sum(axis=2, dtype=np.int64)
        sel = np.count_nonzero(ub, axis=2) + np.count_nonzero(db, axis=2)
        self._add_rows(ub.max(axis=2), db.max(axis=2), pulses, sel, row_blocks)

    def add_weights(self, old_weights, new_weights, row_blocks, pairs: "WeightPairs") -> None:
        """Feed rows of stored weight values through per-weight tables (`pairs`): the same
        statistics as `add` on the split cells, on a matrix `numColPerSynapse` times
        smaller. Needs whole weights per sub-array (`pairs.fits(lines.cols)`)."""
        ow = np.asarray(old_weights)
        nw = np.asarray(new_weights)
        key = ow.astype(np.int32) * pairs.num_values + nw
        counts = np.bincount(key.ravel(), minlength=pairs.num_values ** 2)
        self.set_pulses += int(counts @ pairs.set_sum)
        self.reset_pulses += int(counts @ pairs.reset_sum)
        self.cells_changed += int(counts @ pairs.changed)
        self.cell_energy += float(counts @ pairs.energy)
        per_block = self.lines.cols // pairs.cps
        kb = _block_view(key, per_block)        # pads with key 0: an unchanged weight
        self._add_rows(pairs.set_max[kb].max(axis=2), pairs.reset_max[kb].max(axis=2),
                       pairs.pulses[kb].sum(axis=2, dtype=np.int64),
                       pairs.changed[kb].sum(axis=2, dtype=np.int64), row_blocks)

    def _add_rows(self, r_set, r_reset, pulses, sel, row_blocks) -> None:
        """Per (row, column block): slowest SET and RESET cell, pulses, cells selected."""
        if self.device.memory == "SRAM":
            ops = ((r_set.astype(np.int64) + r_reset) > 0).astype(np.int64)   # one write
        else:
            ops = (r_set > 0).astype(np.int64) + (r_reset > 0)   # a SET and a RESET phase
        self.rows_set += int(r_set.sum(dtype=np.int64))
        self.rows_reset += int(r_reset.sum(dtype=np.int64))
        self.row_phases += int(ops.sum())
        sub = (np.asarray(row_blocks, dtype=np.int64)[:, None] * self.nb
               + np.arange(self.nb)[None, :]).ravel()
        if not sub.size:
            return
        n_sub = max(int(sub.max()) + 1, self.per_sub.shape[0])
        grown = np.zeros((n_sub, 4))
        grown[:self.per_sub.shape[0]] = self.per_sub
        for j, x in enumerate((ops, sel, pulses, np.ones_like(ops))):   # four statistics
            grown[:, j] += np.bincount(sub, weights=x.ravel().astype(float), minlength=n_sub)
        self.per_sub = grown

    # ---- pricing -------------------------------------------------------------------
    def cost(self, periphery: WritePeriphery | None = None, copies: int = 1) -> WriteCost:
        dev = self.device
        c = WriteCost(copies=int(copies), set_pulses=self.set_pulses,
                      reset_pulses=self.reset_pulses, cells_changed=self.cells_changed,
                      cell_energy=self.cell_energy, rows_written=self.row_phases)
        if dev.memory == "SRAM":
            c.line_energy = self.lines.sram_energy(dev, self.row_phases)
        else:
            c.line_energy = self.lines.nvm_energy(dev, self.rows_set, self.set_pulses,
                                                  self.rows_reset, self.reset_pulses)
            c.pulse_latency = dev.pulse_width * (self.rows_set + self.rows_reset)
        c.subarrays = int(np.count_nonzero(self.per_sub[:, 3]))
        if periphery is not None and self.per_sub.shape[0]:
            ops, sel, pulses, _ = self.per_sub.T
            if dev.memory == "SRAM":
                e, t = periphery.sram(ops, pulses)
            else:
                e, t = periphery.nvm(ops, sel, pulses)
            c.periphery_energy = float(np.sum(e))
            c.periphery_latency = float(np.sum(t))
        k = int(copies)
        c.set_pulses *= k
        c.reset_pulses *= k
        c.cells_changed *= k
        c.cell_energy *= k
        c.line_energy *= k
        c.periphery_energy *= k
        c.energy = c.cell_energy + c.line_energy + c.periphery_energy
        c.latency = c.pulse_latency + c.periphery_latency
        return c


class WeightPairs:
    """Per (old value, new value) pair of stored weights: the statistics of its cells
    (slowest SET and RESET cell, all pulses, cells changed, cell energy), from the split
    table and the device's transition tables. Index: old * num_values + new."""

    MAX_ENTRIES = 1 << 22          # beyond this (synapseBit > 10) the cell path is used

    def __init__(self, splitter: CellSplitter, device: WriteDevice):
        V = splitter.num_values
        self.num_values = V
        self.cps = splitter.cps
        up_t, down_t, e_t = device.transition_tables()
        cells = splitter.table.astype(np.int64)                     # (V, cps)
        idx = (cells[:, None, :] * device.num_levels + cells[None, :, :]).reshape(V * V, -1)
        up, down = up_t[idx], down_t[idx]                           # (V*V, cps)
        self.set_max = up.max(axis=1)
        self.reset_max = down.max(axis=1)
        self.set_sum = up.sum(axis=1, dtype=np.int64)
        self.reset_sum = down.sum(axis=1, dtype=np.int64)
        self.pulses = self.set_sum + self.reset_sum
        self.changed = np.count_nonzero(up + down, axis=1).astype(np.int64)
        self.energy = e_t[idx].sum(axis=1)

    @classmethod
    def feasible(cls, splitter: CellSplitter) -> bool:
        return splitter.num_values ** 2 * max(1, splitter.cps) <= cls.MAX_ENTRIES

    def fits(self, cols: int) -> bool:
        """Whole weights per sub-array row (the column blocks hold whole weights)."""
        return int(cols) % self.cps == 0


def array_write_cost(old_cells, new_cells, device: WriteDevice, lines: ArrayLines,
                     row_blocks=None, periphery: WritePeriphery | None = None,
                     copies: int = 1) -> WriteCost:
    """Cost of programming a cell matrix (rows x cells, levels) from `old_cells` to
    `new_cells`. Columns are cut into sub-arrays of `lines.cols`; `row_blocks` gives each
    row's sub-array row block (default: consecutive blocks of `lines.rows`). Without
    `periphery` only the cells and lines are priced."""
    old = np.asarray(old_cells)
    if old.ndim != 2:
        raise ValueError(f"expected a (rows, cells) matrix, got shape {old.shape}")
    if row_blocks is None:
        row_blocks = subarray_rows(old.shape[0], lines.rows)
    tally = WriteTally(device, lines, old.shape[1])
    tally.add(old, new_cells, row_blocks)
    return tally.cost(periphery, copies)


def layer_write_cost(old_weights, new_weights, splitter: CellSplitter, device: WriteDevice,
                     lines: ArrayLines, row_blocks, periphery: WritePeriphery | None = None,
                     copies: int = 1, pairs: WeightPairs | None = None,
                     chunk_cells: int = 1 << 22) -> WriteCost:
    """Cost of programming one layer's stored weight values (rows x C_out), in chunks of
    whole rows of about `chunk_cells` cells (memory stays bounded on large layers). With
    `pairs` (and whole weights per sub-array row) the per-weight tables are used; the
    result is the same as splitting into cells."""
    old_w = np.asarray(old_weights)
    new_w = np.asarray(new_weights)
    if old_w.shape != new_w.shape or new_w.ndim != 2:
        raise ValueError(f"old and new weights differ in shape: {old_w.shape} vs {new_w.shape}")
    for w in (old_w, new_w):
        if w.size and (w.min() < 0 or w.max() >= splitter.num_values):
            raise ValueError(f"stored weight values must lie in 0..{splitter.num_values - 1}")
    rows, cols = new_w.shape
    tally = WriteTally(device, lines, cols * splitter.cps)
    use_pairs = pairs is not None and pairs.fits(lines.cols)
    step = max(1, chunk_cells // max(1, cols * splitter.cps))
    row_blocks = np.asarray(row_blocks)
    for r0 in range(0, rows, step):          # chunks of rows, for memory only
        sl = slice(r0, r0 + step)
        if use_pairs:
            tally.add_weights(old_w[sl], new_w[sl], row_blocks[sl], pairs)
        else:
            tally.add(splitter(old_w[sl]), splitter(new_w[sl]), row_blocks[sl])
    return tally.cost(periphery, copies)


# ==========================================================================================
# The network
# ==========================================================================================

@dataclass
class ProgrammingCost:
    """Programming cost of the whole network (J, s)."""
    layers: list[WriteCost]
    old_source: str                          # "erased" or the old trace folder
    device: WriteDevice | None = None
    energy: float = 0.0
    latency: float = 0.0
    set_pulses: int = 0
    reset_pulses: int = 0
    breakdown: dict[str, float] = field(default_factory=dict)


def check_same_network(new, old) -> None:
    """Raise chip_traces.TraceError (one line) unless the old traces have the same layers
    with the same weight-matrix shapes as the new ones."""
    from chip_traces import TraceError
    if len(old.layers) != len(new.layers):
        raise TraceError(f"{old.folder}: --old-traces holds {len(old.layers)} layers, the traces "
                         f"{new.folder} hold {len(new.layers)}; both must be the same network")
    for a, b in zip(new.layers, old.layers):
        if a.weight_levels.shape != b.weight_levels.shape:
            raise TraceError(
                f"{b.source or old.folder}: weight matrix of layer {a.index} is "
                f"{b.weight_levels.shape[0]}x{b.weight_levels.shape[1]} in --old-traces, "
                f"{a.weight_levels.shape[0]}x{a.weight_levels.shape[1]} in {new.folder}; "
                f"both must be the same network")


def program_network(param, floorplan, traces, old_traces=None, ctx=None,
                    periphery: bool = True) -> ProgrammingCost:
    """Programming cost of the traces' weights, starting from `old_traces` (same network)
    or, by default, from the erased state. `floorplan` (floorplan.FloorPlan) gives the
    mapping (novel or conventional) and the number of copies of each layer."""
    from peripherals.base import Context
    if old_traces is not None:
        check_same_network(traces, old_traces)
    ctx = ctx or Context.from_param(param)
    circuits = WritePeriphery(ctx)
    device = circuits.device
    lines = circuits.lines
    splitter = CellSplitter(param)
    pairs = WeightPairs(splitter, device) if WeightPairs.feasible(splitter) else None
    R = int(param.numRowSubArray)
    rps = int(param.numRowPerSynapse)
    out = ProgrammingCost(layers=[], old_source="erased" if old_traces is None
                          else str(old_traces.folder), device=device)
    for i, layer in enumerate(traces.layers):
        new_w = layer.weight_levels
        old_w = (old_traces.layers[i].weight_levels if old_traces is not None
                 else erased_weights(new_w.shape))
        kernel_rows = int(layer.row[2]) * rps if floorplan.mark_nm[i] else None
        blocks = subarray_rows(new_w.shape[0], R, kernel_rows)
        copies = int(round(floorplan.speedup_per_layer[i]))
        cost = layer_write_cost(old_w, new_w, splitter, device, lines, blocks,
                                circuits if periphery else None, copies, pairs)
        out.layers.append(cost)
    out.energy = float(sum(c.energy for c in out.layers))
    out.latency = float(sum(c.latency for c in out.layers))
    out.set_pulses = int(sum(c.set_pulses for c in out.layers))
    out.reset_pulses = int(sum(c.reset_pulses for c in out.layers))
    out.breakdown = {k: float(sum(getattr(c, k) for c in out.layers))
                     for k in ("cell_energy", "line_energy", "periphery_energy",
                               "pulse_latency", "periphery_latency")}
    return out
