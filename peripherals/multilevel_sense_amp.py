"""Multilevel sense amplifier: the flash-style column ADC of the compute-in-memory
sub-array.

Each of the `num_col` ADCs compares its column against `level_output - 1` reference
columns, one comparator (sense amp + latch, 9 minimum NMOS-equivalents) per reference.
The reference columns are dummy array columns shared by `dumcolshared` ADCs.

Reference resistances (`rref`, ohm), i = 0 .. level_output - 2:
- parallel read, SRAM:  the column of `numRowParallel` access transistors in parallel
  (R0 = res_cell_access / numRowParallel) scaled down in conductance steps of G0/L:
  R_i = 1 / (G0 - i*G0/L);
- parallel read, RRAM/FeFET (conventional parallel mode): the same ladder from
  R0 = resistanceOn / numRowParallel; (other parallel modes: Gon + i*(Goff-Gon)/L);
- sequential read (one row at a time, L = 2^cellBit levels of one cell): the mid-points
  between the L cell levels, R_i = 1 / (Gon + (Goff-Gon)/(2(L-1)) + i*(Goff-Gon)/(L-1)).

Latency (current mode): a per-node fitted table of the sensing time versus the compared
resistance, taken at the two extreme references (the largest, Rref[-1], and the second,
Rref[1]); above a node-dependent resistance threshold a term grows with the column
capacitance (array column + the mirror gates of the references). Voltage mode: 1 ns per
conversion. The latency does not depend on the data.

Energy per conversion and column: capacitive switching of the column / sense-amp
interface, the latch and the encoder interface (x (L - 1) comparators), plus the
static power of the column current mirrors (fitted power-versus-resistance curves per node,
at the column's own resistance plus the shared reference columns) times the sensing time.

Model for the single-reference case (sequential read with cellBit = 1, L = 2): the
reference reads Rref[1], which does not exist when there is only one reference, and prints
an infinite clock period. Here the only reference, Rref[0] = 1 / ((Gon + Goff)/2) -- the
mid-point between the on and off cell -- is used for both the "largest" and the "second"
reference, so the sensing time is the table value at that resistance; the number of mirror
gates loading the column is then zero (the reference would count -1 as an unsigned size).
Latency and energy are finite and positive.

Reference quirks kept (they only shift numbers):
- the column-capacitance switching term contains 1/(L-1) in integer arithmetic, i.e. it
  is 1 for L = 2 and 0 otherwise;
- a column whose resistance is not a number (sequential mode, no active row: 0/0) adds no
  mirror-power energy (the reference's max(P*t, 0) drops the NaN);
- the Vread of the switching energy is a fixed per-node value, independent of readVoltage;
- the reference sums the reference-column power one by one per reference (divided by
  `dumcolshared` each time); the sum is the same.

Not ported because it never reaches an output: the per-column latency estimate the
reference computes and then overwrites in its energy step, and the voltage-mode latency
table (voltage mode uses the fixed 1 ns).
"""
from __future__ import annotations

import functools
import math
import threading

import numpy as np

import FormulaBindings as fb
import parallel

from .base import AreaModify, Circuit, Cost, Layout, modify_layout
from .dff import (GAA_INV, GAA_NAND2, INV, MIN_W, NAND, as_result, gaa_layout,
                  given)

__all__ = ["MultilevelSenseAmp", "column_power", "column_static_energy", "column_latency_table",
           "SENSE_VREAD"]

# Read voltage assumed by the fitted switching-energy model, per node (V).
SENSE_VREAD = {130: 0.58, 90: 0.58, 65: 0.55, 45: 0.51, 32: 0.51, 22: 0.55, 14: 0.277,
               10: 0.28, 7: 0.264, 5: 0.253, 3: 0.248, 2: 0.28, 1: 0.272}

# Current-mode sensing time fit, per node: list of (upper bound of R in ohm, kind, a, b)
# with kind "log": a*ln(R) + b, "lin": a*R + b (s); then (refcap F, dC s, R2 ohm,
# resistance threshold ohm) of the column-capacitance correction.
_LAT_CURRENT = {
    130: ([(1832, "log", -1.18573e-10, 2.54175e-09), (np.inf, "lin", 3.78659e-14, 2.60629e-09)],
          (26.62e-15, 2.0e-9, 0.1e6, 1.95e3)),
    90: ([(4832, "log", -1.08914e-10, 2.43204e-09), (np.inf, "lin", 2.8688e-14, 2.31147e-09)],
         (18.4e-15, 1.5e-9, 0.1e6, 4.83e3)),
    65: ([(4832, "log", -8.11436e-11, 2.2554e-09), (np.inf, "lin", 2.12366e-14, 2.14339e-09)],
         (13.3e-15, 1.2e-9, 0.1e6, 4.83e3)),
    45: ([(4832, "log", -1.12976e-10, 2.16762e-09), (np.inf, "lin", 1.54619e-14, 1.60263e-09)],
         (9.21e-15, 0.81e-9, 0.1e6, 4.83e3)),
    32: ([(4832, "log", -1.31777e-10, 2.03151e-09), (np.inf, "lin", 1.15509e-14, 1.19475e-09)],
         (6.55e-15, 0.55e-9, 0.1e6, 4.83e3)),
    22: ([(4832, "log", -1.32118e-10, 1.7552e-09), (np.inf, "lin", 8.02517e-15, 8.51803e-10)],
         (4.5e-15, 0.31e-9, 0.1e6, 12.7e3)),
    14: ([(812, "log", -7.01209e-11, 1.21771e-09), (2962, "log", -2.11644e-11, 8.96216e-10),
          (np.inf, "lin", 6.18337e-15, 8.17633e-10)],
         (2.86e-15, 0.29e-9, 0.1e6, 12.7e3)),
    10: ([(1128, "log", -7.20238e-11, 1.18578e-09), (4832, "log", -1.81368e-11, 8.16065e-10),
          (np.inf, "lin", 4.72185e-15, 7.28474e-10)],
         (2.04e-15, 0.27e-9, 0.1e6, 12.7e3)),
    7: ([(4832, "log", -4.67061e-11, 1.03708e-09), (np.inf, "lin", 3.72084e-15, 7.02172e-10)],
        (1.43e-15, 0.13e-9, 0.1e6, 12.7e3)),
    5: ([(4832, "log", -4.33009e-11, 9.79525e-10), (7847, "log", -3.15954e-12, 6.53005e-10),
         (np.inf, "lin", 2.77641e-15, 6.46706e-10)],
        (1.02e-15, 0.09e-9, 0.1e6, 12.7e3)),
    3: ([(4832, "log", -3.62939e-11, 9.04595e-10), (7847, "log", -8.05167e-12, 6.69134e-10),
         (np.inf, "lin", 2.02367e-15, 6.04792e-10)],
        (0.61e-15, 0.05e-9, 0.1e6, 12.7e3)),
    2: ([(4832, "log", -3.70119e-11, 8.91946e-10), (12742, "log", -7.45304e-12, 6.42667e-10),
         (np.inf, "lin", 1.74295e-15, 5.82625e-10)],
        (0.4e-15, 0.034e-9, 0.1e6, 20.06e3)),
    1: ([(4832, "log", -3.81168e-11, 8.78701e-10), (12742, "log", -2.01799e-11, 7.25185e-10),
         (np.inf, "lin", 1.19486e-15, 5.35253e-10)],
        (0.2e-15, 0.013e-9, 0.1e6, 20.06e3)),
}

# Low-standby-power column (current-mirror) power fit per node: pieces (upper bound of R,
# kind, a, b) as above (W per comparator), multiplied by (L - 1).
_POW_LP = {
    130: [(4832, "lin", -4.12599e-11, 1.48536e-06), (379269, "log", -2.6617e-07, 3.56576e-06),
          (np.inf, "log", -1.25872e-07, 1.81453e-06)],
    90: [(4832, "lin", -1.67004e-11, 8.54958e-07), (379269, "log", -1.50719e-07, 2.0858e-06),
         (np.inf, "log", -8.89685e-08, 1.3007e-06)],
    65: [(4832, "lin", -6.08647e-12, 4.82814e-07), (379269, "log", -8.03449e-08, 1.16437e-06),
         (np.inf, "log", -6.01171e-08, 8.9355e-07)],
    45: [(4832, "lin", -3.96471e-12, 3.44344e-07), (379269, "log", -5.66235e-08, 8.27849e-07),
         (np.inf, "log", -4.32673e-08, 6.46111e-07)],
    32: [(4832, "lin", -6.72783e-12, 4.19847e-07), (379269, "log", -7.28881e-08, 1.02677e-06),
         (np.inf, "log", -4.35333e-08, 6.4697e-07)],
    22: [(4832, "lin", -2.85373e-11, 9.16744e-07), (379269, "log", -1.63133e-07, 2.1687e-06),
         (np.inf, "log", -5.8712e-08, 8.64648e-07)],
    14: [(7847, "lin", -3.11213e-13, 5.34821e-08), (np.inf, "log", -9.64978e-09, 1.44527e-07)],
    10: [(20691, "lin", -3.27225e-13, 5.54082e-08), (np.inf, "log", -9.99199e-09, 1.49539e-07)],
    7: [(20691, "lin", -2.62089e-13, 4.7357e-08), (np.inf, "log", -8.49198e-09, 1.27848e-07)],
    5: [(20691, "lin", -1.4179e-13, 3.31434e-08), (np.inf, "log", -5.76552e-09, 8.89536e-08)],
    3: [(20691, "lin", -1.17664e-13, 2.96368e-08), (np.inf, "log", -5.09202e-09, 7.91852e-08)],
    2: [(20691, "lin", -2.01487e-13, 4.21066e-08), (np.inf, "log", -7.43005e-09, 1.13414e-07)],
    1: [(20691, "lin", -1.68865e-13, 3.80513e-08), (np.inf, "log", -6.64737e-09, 1.02221e-07)],
}

# High-performance roadmap: (static uW per comparator, a, c): P = s*(L-1)*1e-6 + a*exp(-c*log10(R)).
_POW_HP = {130: (19.898, 0.17452, 2.367), 90: (13.09, 0.14900, 2.345), 65: (9.9579, 0.1083, 2.321),
           45: (7.7017, 0.0754, 2.296), 32: (3.9648, 0.079, 2.313), 22: (1.8939, 0.073, 2.311),
           14: (1.2, 0.0584, 2.311), 10: (0.8, 0.0318, 2.311)}
_POW_HP_SMALL = (0.5, 0.0210, 2.311)   # nodes below 10 nm (placeholder values of the reference)


def _piece_of(x: float, pieces) -> int:
    """Index of the piece that takes the scalar x (first "x < upper bound"; else the last)."""
    for i, (upper, _, _, _) in enumerate(pieces[:-1]):
        if x < upper:
            return i
    return len(pieces) - 1


def _piecewise(r, pieces):
    """Evaluate a piecewise log/linear fit at resistances r (array), as an if / else-if
    chain on "r < upper bound": the first matching piece wins and the last piece takes
    everything else (NaN included, like the reference's final else-branch)."""
    r = np.asarray(r, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if r.size:
            lo, hi = float(r.min()), float(r.max())     # NaN if any element is NaN
            if lo == lo and hi == hi and _piece_of(lo, pieces) == _piece_of(hi, pieces):
                # the pieces cover ordered ranges: every r lies in one piece
                _, kind, a, b = pieces[_piece_of(lo, pieces)]
                return a * np.log(r) + b if kind == "log" else a * r + b
        log_r = np.log(r) if any(kind == "log" for _, kind, _, _ in pieces) else None

        def value(kind, a, b):
            return a * log_r + b if kind == "log" else a * r + b
        _, kind, a, b = pieces[-1]
        out = value(kind, a, b)
        for upper, kind, a, b in reversed(pieces[:-1]):
            out = np.where(r < upper, value(kind, a, b), out)
    return out


def column_latency_table(res, node: int, column_cap: float, extra_cap: float):
    """Current-mode sensing time (s) at compared resistance `res` (ohm); `column_cap` F is
    the column capacitance, `extra_cap` F the reference mirror gates on it."""
    r = np.asarray(res, dtype=float)
    pieces, (refcap, dc, r2, thr) = _LAT_CURRENT[node]
    lat = _piecewise(r, pieces)
    cap = column_cap + extra_cap
    lat = np.where(r > thr, lat + dc / (r2 - thr) * (r - thr) * ((cap - refcap) / refcap), lat)
    return lat if lat.ndim else float(lat)


def _temperature_factor(p) -> float:
    return 1 + 1.3e-3 * (float(p.temp) - 300)


def column_power(res, ctx, level_output: int, current_mode: bool):
    """Static power (W) of one column's comparators at column resistance `res` (ohm,
    array): the fitted current-mirror power. Infinite resistance: 1 uW; zero: 0."""
    p = ctx.param
    r = np.asarray(res, dtype=float) * (0.5 / float(p.readVoltage))   # fits are at Vread = 0.5 V
    node = int(p.technode)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if not current_mode:
            val = np.zeros_like(r)
        elif int(p.deviceroadmap) == 1:
            s, a, c = _POW_HP.get(node, _POW_HP_SMALL)
            val = s * (level_output - 1) * 1e-6 + a * np.exp(-c * np.log10(r))
        else:
            val = _piecewise(r, _POW_LP[node]) * (level_output - 1)
        # open (infinite) and shorted (zero) columns; skipped when no element is either
        if not (r.size and 0.0 < float(r.min()) and float(r.max()) < np.inf):
            val = np.where(np.isinf(r), 1e-6, np.where(r == 0, 0.0, val))
    return val * _temperature_factor(p)


# elements per block of the column-energy sums (a few arrays of this size stay in cache)
_BLOCK = 1 << 16


def column_static_energy(res, ctx, level_output: int, current_mode: bool, ref_power: float,
                         sensing_time: float):
    """Sum over the last axis (the read columns) of the mirror energy of one conversion,
    max((column_power(res) + ref_power) * sensing_time, 0) (J); NaN columns add 0.

    Same values as summing the element-wise expression (up to rounding), formed in
    cache-sized blocks. In a block whose resistances are finite and positive and whose
    energy is positive on every piece of the fit its columns fall on (each piece is
    monotonic in ln R or R, so the block's extreme resistances decide), the sum is formed
    per piece from the sums of ln R (or R) and the column counts: one logarithm per element
    and no per-piece temporaries. Other blocks are evaluated element-wise."""
    r = np.asarray(res, dtype=float)
    if not (r.ndim and r.size):
        return _static_energy_direct(r, ctx, level_output, current_mode, ref_power, sensing_time)
    n = r.shape[-1]
    rows = r.reshape(-1, n)
    out = np.empty(rows.shape[0])
    step = max(1, _BLOCK // n)
    args = (ctx, int(level_output), bool(current_mode), float(ref_power), float(sensing_time))
    blocks = range(0, rows.shape[0], step)
    # the blocks are independent: shared out over the threads (numpy releases the GIL),
    # each with its own scratch buffers
    buffers: dict = {}

    def block(k: int) -> None:
        i = blocks[k]
        key = threading.get_ident()
        work = buffers.get(key)
        if work is None:
            m = min(step, rows.shape[0])
            work = buffers[key] = (np.empty((m, n)), np.empty((m, n), bool))
        blk = rows[i:i + step]
        lo, hi = float(blk.min()), float(blk.max())
        val = None
        if 0.0 < lo and hi < np.inf:              # also False when there is a NaN
            val = _static_energy_fast(blk, lo, hi, *args, work)
        else:
            # rows with an open, shorted or NaN column element-wise, the others as above
            clean = (blk.min(axis=-1) > 0.0) & (blk.max(axis=-1) < np.inf)
            if clean.any():
                good = blk[clean]
                fast = _static_energy_fast(good, float(good.min()), float(good.max()), *args, work)
                if fast is not None:
                    val = np.empty(blk.shape[0])
                    val[clean] = fast
                    val[~clean] = _static_energy_direct(blk[~clean], *args)
        out[i:i + step] = _static_energy_direct(blk, *args) if val is None else val

    parallel.run_blocks(block, len(blocks), min_blocks=4)
    return out.reshape(r.shape[:-1])


def _static_energy_direct(r, ctx, level_output, current_mode, ref_power, sensing_time):
    with np.errstate(invalid="ignore"):
        pt = (column_power(r, ctx, level_output, current_mode) + ref_power) * sensing_time
        return np.where(pt > 0, pt, 0.0).sum(axis=-1)     # max(P*t, 0); NaN gives 0


@functools.lru_cache(maxsize=None)
def _unscaled_bound(bound: float, scale: float) -> float:
    """The least resistance r with r*scale >= bound (in floating point), so that
    "r < it" is exactly the fit's test "r*scale < bound"."""
    x = bound / scale
    while x * scale >= bound:
        x = np.nextafter(x, -np.inf)
    while x * scale < bound:
        x = np.nextafter(x, np.inf)
    return float(x)


def _static_energy_fast(rows, lo, hi, ctx, L, current_mode, ref_power, t, work):
    """column_static_energy of `rows` (evaluations x columns) of finite positive
    resistances in [lo, hi], or None when a column's energy could be clipped at zero.
    `work`: a float and a bool buffer of at least rows' shape."""
    p = ctx.param
    k_rows, n = rows.shape
    if not current_mode:
        return np.full(k_rows, n * max(ref_power * t, 0.0))
    if not t > 0:
        return None
    scale = 0.5 / float(p.readVoltage)
    tf = _temperature_factor(p)
    node = int(p.technode)
    y = work[0][:k_rows]
    if int(p.deviceroadmap) == 1:
        s, a, c = _POW_HP.get(node, _POW_HP_SMALL)
        base = s * (L - 1) * 1e-6                # P = base + a R^-c > 0 at every finite R
        np.multiply(rows, scale, out=y)
        np.log10(y, out=y)
        y *= -c
        np.exp(y, out=y)
        sx = y.sum(axis=-1)
        return ((n * base + a * sx) * tf + n * ref_power) * t
    pieces = _POW_LP[node]
    rs_lo, rs_hi = lo * scale, hi * scale
    k0, k1 = _piece_of(rs_lo, pieces), _piece_of(rs_hi, pieces)
    used = range(k0, k1 + 1)
    for k in used:
        _, kind, a, b = pieces[k]
        x0 = rs_lo if k == k0 else pieces[k - 1][0]
        x1 = rs_hi if k == k1 else pieces[k][0]
        ends = (math.log(x0), math.log(x1)) if kind == "log" else (x0, x1)
        if not min(((a * x + b) * (L - 1) * tf + ref_power) * t for x in ends) > 0:
            return None
    need_log = any(pieces[k][1] == "log" for k in used)
    if need_log:
        np.log(rows, out=y)                      # ln(R*scale) = ln R + ln scale
    log_scale = math.log(scale)
    total = np.zeros(k_rows)
    below_cnt = below_y = below_r = 0.0      # sums over the columns below the previous bound
    for k in used:
        _, kind, a, b = pieces[k]
        lin_next = k < k1 and pieces[k + 1][1] == "lin"
        if k < k1:
            m = np.less(rows, _unscaled_bound(pieces[k][0], scale), out=work[1][:k_rows])
            cnt = m.sum(axis=-1).astype(float)
            sy = np.einsum("ij,ij->i", y, m) if need_log else None
            sr = np.einsum("ij,ij->i", rows, m) * scale if kind == "lin" or lin_next else None
        else:
            cnt = float(n)
            sy = y.sum(axis=-1) if need_log else None
            sr = rows.sum(axis=-1) * scale if kind == "lin" else None
        nk = cnt - below_cnt
        if kind == "log":
            total += a * (sy - below_y + nk * log_scale) + b * nk
        else:
            total += a * (sr - below_r) + b * nk
        below_cnt, below_y, below_r = cnt, sy, sr
    return (total * (L - 1) * tf + n * ref_power) * t


class MultilevelSenseAmp(Circuit):
    """`num_col` multilevel sense amps of `level_output` levels.

    Initialize arguments as in the reference (num_col, level_output, clk_freq,
    num_read_cell_per_operation_neuro, parallel, current_mode) plus what the reference
    reads from its global parameter block, set by the sub-array:
      column_cap        F, the sub-array column capacitance (wire + access drains)
      array_height      m, height of a dummy reference column (numRow cells)
      array_width_unit  m, width of one cell column
      res_cell_access   ohm, SRAM access-transistor on-resistance (SRAM parallel read;
                        computed from the cell when not given)

    Figures: area m^2, height/width m; read_latency s per calculate_latency call (the
    sensing time times num_col_muxed times num_read; synchronous parents use it for the
    clock only); read_dynamic_energy J; leakage 0 W.

    Sizing attributes parents read: rref (list of reference resistances, ohm), level_output,
    num_col, latency_col (s, sensing time of one conversion), ref_power (W, shared
    reference columns), cap_nand_input/output.

    Vectorization: calculate_latency / calculate_power take the read columns' resistances
    as an array whose last axis is the columns (leading axes = independent evaluations);
    results have the leading shape. `num_read` broadcasts against that shape.
    """

    def initialize(self, num_col: int, level_output: int, clk_freq: float,
                   num_read_cell_per_operation_neuro: int, parallel: bool, current_mode: bool, *,
                   column_cap: float, array_height: float, array_width_unit: float,
                   res_cell_access: float | None = None) -> None:
        tech, p = self.tech, self.param
        F = tech.featureSize
        self.num_col = int(num_col)
        self.level_output = int(level_output)
        self.clk_freq = float(clk_freq)
        self.num_read_cell_per_operation_neuro = num_read_cell_per_operation_neuro
        self.parallel = bool(parallel)
        self.current_mode = bool(current_mode)
        self.column_cap = float(column_cap)
        self.array_height = float(array_height)
        self.array_width_unit = float(array_width_unit)
        self.dumcolshared = float(p.dumcolshared)
        L = self.level_output
        if L < 2:
            raise ValueError("MultilevelSenseAmp: level_output must be at least 2")

        g_on, g_off = 1.0 / float(p.resistanceOn), 1.0 / float(p.resistanceOff)
        rref = []
        if self.parallel:
            if self.cell.mem_type == "SRAM" or int(p.operationmode) == 2:
                if self.cell.mem_type == "SRAM":
                    if not res_cell_access:
                        # The reference stores the access resistance only when columns are
                        # muxed (numColMuxed > 1) and otherwise divides by an unset zero;
                        # use the SRAM access transistor's on-resistance in every case.
                        fin = 2 if tech.node_nm <= 14 else 1
                        res_cell_access = fb.on_resistance(
                            self.cell.width_access_cmos * fin * F, fb.TransistorKind.NMOS, tech)
                    r_start = float(res_cell_access) / int(p.numRowParallel)
                else:
                    r_start = float(p.resistanceOn) / int(p.numRowParallel)
                g_start = 1.0 / r_start
                g_step = 0.0 - g_start
                rref = [1.0 / (g_start + float(i) * g_step / L) for i in range(L - 1)]
            else:
                g_step = g_off - g_on
                rref = [1.0 / (g_on + float(i) * g_step / L) for i in range(L - 1)]
        else:
            g_step = g_off - g_on
            g_offset = g_step / (2 * (L - 1))
            rref = [1.0 / (g_on + g_offset + float(i) * g_step / (L - 1)) for i in range(L - 1)]
        self.rref = rref

        self.width_nmos = MIN_W * F
        self.width_pmos = tech.pnSizeRatio * MIN_W * F
        gaa = gaa_layout(self.ctx)
        if gaa is not None:
            g, fn, fp = GAA_INV[gaa]
            self.gatecap_p, self.junctioncap_p = fb.gate_capacitance_gaa(
                INV, 1, 0.0, self.width_pmos, tech, None, g, fn, fp)
            self.gatecap_n, self.junctioncap_n = fb.gate_capacitance_gaa(
                INV, 1, self.width_nmos, 0.0, tech, None, g, fn, fp)
            g, fn, fp = GAA_NAND2[gaa]
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance_gaa(
                NAND, 2, MIN_W * F, MIN_W * F, tech, None, g, fn, fp)
        else:
            self.gatecap_p, self.junctioncap_p = fb.gate_capacitance(INV, 1, 0.0, self.width_pmos, tech)
            self.gatecap_n, self.junctioncap_n = fb.gate_capacitance(INV, 1, self.width_nmos, 0.0, tech)
            self.cap_nand_input, self.cap_nand_output = fb.gate_capacitance(
                NAND, 2, 4 * MIN_W * F, 2 * tech.pnSizeRatio * MIN_W * F, tech)
        # conversion time: fitted table (current mode) or a fixed 1 ns (voltage mode)
        self.latency_col = self._sensing_time() if self.current_mode else 1e-9
        # static power of the shared reference columns (all but the two extreme ones)
        self.ref_power = sum(float(column_power(rr, self.ctx, L, self.current_mode))
                             for rr in rref[1:-1]) / self.dumcolshared
        self.initialized = True

    # ------------------------------------------------------------------ helpers
    def _sensing_time(self) -> float:
        """Conversion time (s): the slower of the two extreme references (current mode)."""
        rref = self.rref
        second = rref[1] if len(rref) > 1 else rref[0]     # single reference: see module doc
        mirrors = max(len(rref) - 2, 0)
        node = int(self.param.technode)
        extra = self.gatecap_n * mirrors
        return max(column_latency_table(rref[-1], node, self.column_cap, extra),
                   column_latency_table(second, node, self.column_cap, extra))

    def calculate_area(self, new_height=None, new_width=None, mode: AreaModify = AreaModify.NONE) -> Layout:
        out_area = 0.0
        height = 0.0
        width = 0.0
        self._require_initialized()
        tech = self.tech
        _, h_n, w_n = fb.gate_area(INV, 1, self.width_nmos, 0.0, tech)
        n_cmp = (self.level_output - 1) * self.num_col
        area = (h_n * w_n) * 9 * n_cmp
        area += self.array_height * self.array_width_unit * n_cmp / self.dumcolshared
        if given(new_width) and mode == AreaModify.NONE:
            out_area = area
            width = new_width
            height = area / new_width
        elif given(new_height) and mode == AreaModify.NONE:
            out_area = area
            height = new_height
            width = area / new_height
        else:
            raise ValueError("MultilevelSenseAmp: needs a width or a height")
        return modify_layout(self, height, width, out_area, new_height, new_width, mode)

    def calculate_latency(self, column_resistance=None, num_col_muxed=1, num_read=1) -> Cost:
        """Conversion time (s) x num_col_muxed x num_read; the column resistances do not
        enter (accepted for the interface; the result takes their leading shape)."""
        self._require_initialized()
        lat = self.latency_col * np.asarray(num_col_muxed, dtype=float) * np.asarray(num_read, dtype=float)
        if column_resistance is not None:
            lead = np.shape(column_resistance)[:-1]
            lat = np.broadcast_to(lat, np.broadcast_shapes(np.shape(lat), lead))
        read_latency = as_result(lat)
        return Cost(latency=read_latency)

    def switching_energy(self, reference_energy_peri: float = 0.0) -> float:
        """Capacitive energy (J) of one conversion of one column (all L-1 comparators)."""
        L = self.level_output
        vread = SENSE_VREAD[int(self.param.technode)]
        vdd2 = self.tech.vdd ** 2
        dum = self.dumcolshared
        gn, jn, gp, jp = self.gatecap_n, self.junctioncap_n, self.gatecap_p, self.junctioncap_p
        int_inv = 1.0 if L == 2 else 0.0           # 1/(L-1) in integer arithmetic (kept)
        if self.current_mode:
            e = (self.column_cap * 2) * (int_inv + 1 / dum) / 2 * vread ** 2 \
                + reference_energy_peri / dum \
                + (gn * 2 + (jn + gn) / (L - 1) + (jn + gn) / dum) * vread ** 2
        else:
            e = (self.column_cap * 2) * (int_inv + 1 / dum) / 2 * vread ** 2 \
                + reference_energy_peri / dum \
                + (gn * 2 + jn / (L - 1) + jn / dum) * vread ** 2
        e += (gp * 2 + gn) * vdd2
        e += (gp * 3 + gn * 3 + (jp + jn) * 3 + jp * 1) * vdd2
        e += (gp + gn) * vdd2
        return e * (L - 1)

    def calculate_power(self, column_resistance, num_read=1, reference_energy_peri: float = 0.0) -> Cost:
        """Energy (J) of converting every given column `num_read` times.

        column_resistance: ohm, last axis = the read columns; `reference_energy_peri` J is
        the reference-column activation energy the sub-array sets (SRAM parallel read:
        one row of cells charged; 0 otherwise)."""
        self._require_initialized()
        r = np.asarray(column_resistance, dtype=float)
        static = column_static_energy(r, self.ctx, self.level_output, self.current_mode,
                                      self.ref_power, self.latency_col)
        n_col = r.shape[-1] if r.ndim else 1
        e = (self.switching_energy(reference_energy_peri) * n_col + static) \
            * np.asarray(num_read, dtype=float)
        leakage = 0.0
        read_dynamic_energy = as_result(e)
        return Cost(dynamic_energy=read_dynamic_energy, leakage=leakage)
