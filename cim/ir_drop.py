"""Wire resistance (IR drop) of the parallel read.

Geometry (the one stage 2 prices, Array.py `column_conductance`): a sub-array row wire is
driven from its column-0 end, a column wire is read at its row-`rows` end by a virtual-ground
sense circuit. Between neighbouring cells each wire has the resistance of one cell pitch,
`wireResistanceRow` / `wireResistanceCol` from the technology (FormulaBindings, ohm), here
normalised by the cell step (`r * unit`, dimensionless; see cim/hardware.py). Cell (i, j) of a
sub-array, i = row position 0..rows-1, j = column position 0..cols-1 in its column tile; the
tile's reference column sits after the data columns (j = cols). Access transistors are not
modelled (stage 1 reads the programmed conductance).

* `fast` (activity-scaled mean field, for whole networks): the nodal equations below are
  solved once per row group with every row of the group active, giving each cell's row-wire
  drop `Vr_ij` and column-wire drop `Vc_ij`. A conversion with `n` of the group's `R` rows
  active then reads `sum_i x_i g_ij (1 - Vr_ij - (n/R) Vc_ij)`: the row drop does not depend on
  the other rows (a selected row conducts through all its columns), the column drop is scaled
  by the fraction of active rows (exact at first order for uniformly spread active rows). Two
  matrix products per conversion instead of one. Sequential read (one row at a time): the
  same equations with one active row, folded into the cell conductances when programming.
  Error against `exact`: docs/stage1.md (about 3 % of the column current at 128 rows, where
  ignoring the wires errs by 10-23 % and stage 2's per-cell series model by about as much).
* `exact` (nodal solution, per conversion): with `x_i` the active rows of one conversion and
  `I_ij` the cell currents (read voltage 1), Kirchhoff's laws give
  `I_ij = x_i g_ij (Vr_ij - Vc_ij)`, `Vr_ij = 1 - r_row sum_{s<=j} sum_{j'>=s} I_ij'` (row
  wire current through segment s) and `Vc_ij = r_col sum_{k=i}^{rows-1} sum_{i'<=k} I_i'j`
  (column wire current through the segment below row k). The fixed point of these equations
  is found by a relaxed fixed-point iteration, vectorised over conversions (each iteration
  is two cumulative sums per wire direction; the relaxation factor follows from a power
  estimate of the wire operator's largest eigenvalue, so it converges for any positive wire
  resistance); the column reading is `sum_i I_ij`. tests/test_stage1_ir_drop.py checks it against a dense Kirchhoff solve.
"""
from __future__ import annotations

import torch

MAX_ITER = 1000
TOL = 1e-7


class IRDropError(ValueError):
    pass


def wire_resistances(cfg) -> tuple[float, float]:
    """(row, column) wire resistance per cell pitch, ohm, as stage 2 computes it."""
    param = cfg.to_param()
    return float(param.wireResistanceRow), float(param.wireResistanceCol)


def series_conductance(g: torch.Tensor, row_pos: torch.Tensor, col_pos: torch.Tensor,
                       rows: int, r_row: float, r_col: float) -> torch.Tensor:
    """Stage 2's per-cell series model (for comparison in docs and tests): g [..., K, C] with
    row positions [K] and column positions [C] in the sub-array -> effective conductances."""
    series = ((col_pos.to(g.dtype) + 1) * r_row).view(1, -1) + ((rows - row_pos.to(g.dtype)) * r_col).view(-1, 1)
    return g / (1.0 + g * series)


def _tiles(wd: torch.Tensor, wr: torch.Tensor, cols: int) -> torch.Tensor:
    """[A, R, Ncol] data + [A, R, T] reference cells -> [A, R, T, cols + 1] tiles (reference
    column last, missing columns of the last tile empty)."""
    a, r, ncol = wd.shape
    t = wr.shape[-1]
    gd = torch.cat([wd, wd.new_zeros(a, r, t * cols - ncol)], -1).view(a, r, t, cols)
    return torch.cat([gd, wr.unsqueeze(-1)], -1)


def _untile(v: torch.Tensor, ncol: int, cols: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of `_tiles` on the last two dims: [..., T, cols+1] -> ([..., Ncol], [..., T])."""
    t = v.shape[-2]
    return v[..., :cols].reshape(*v.shape[:-2], t * cols)[..., :ncol], v[..., cols]


def program_sequential(g_data: torch.Tensor, g_ref: torch.Tensor, p) -> tuple[torch.Tensor, torch.Tensor]:
    """fast mode, sequential read: each row is read alone, so each cell's effective
    conductance (its current at read voltage 1) follows from the nodal solution with that
    row active. g_data [Gr, K, N, cps], g_ref [Gr, K, T]."""
    gr, k, n, cps = g_data.shape
    g = _tiles(g_data.reshape(gr * k, 1, n * cps).double(), g_ref.reshape(gr * k, 1, -1).double(), p.cols)
    x = torch.ones(gr * k, 1, 1, dtype=g.dtype)
    pos = (torch.arange(k) % p.rows).repeat(gr)
    cur = solve_tile(x, g, pos.to(g.device), p.rows, p.wire_r_row, p.wire_r_col, reduce=False)
    d, r = _untile(cur[:, 0, 0], n * cps, p.cols)
    return (d.reshape(gr, k, n, cps).to(g_data.dtype).contiguous(),
            r.reshape(gr, k, -1).to(g_ref.dtype).contiguous())


class FastIR:
    """Parallel read, fast mode: per-cell drops at full activity, scaled per conversion."""

    def __init__(self, wd: torch.Tensor, wr: torch.Tensor, group_offset: torch.Tensor,
                 group_rows: torch.Tensor, p):
        ga, r, ncol = wd.shape
        g = _tiles(wd.double(), wr.double(), p.cols)
        x = (torch.arange(r).view(1, 1, r) < group_rows.view(-1, 1, 1)).double()
        _, vr, vc = _fixed_point(x, g, group_offset, p.rows, p.wire_r_row, p.wire_r_col)
        vr, vc = vr[:, 0], vc[:, 0]                                        # [GA, R, T, C]
        a_d, a_r = _untile(g * (1.0 - vr), ncol, p.cols)
        c_d, c_r = _untile(g * vc, ncol, p.cols)
        dt = wd.dtype
        self.wd_a, self.wr_a = a_d.to(dt), a_r.to(dt)
        self.wd_c, self.wr_c = c_d.to(dt), c_r.to(dt)
        self.inv_rows = (1.0 / group_rows.clamp(min=1).to(dt)).view(-1, 1, 1)

    def to(self, device):
        for name in ("wd_a", "wr_a", "wd_c", "wr_c", "inv_rows"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def readings(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x [GA, V, R] -> data readings [GA, V, Ncol], reference readings [GA, V, T]."""
        frac = x.sum(-1, keepdim=True) * self.inv_rows                     # n / R
        part = torch.bmm(x, self.wd_a).sub_(torch.bmm(x, self.wd_c).mul_(frac))
        ref = torch.bmm(x, self.wr_a).sub_(torch.bmm(x, self.wr_c).mul_(frac))
        return part, ref


def _fixed_point(x, g, row_offset, rows, r_row, r_col):
    """Cell currents [A, V, R, T, C] and the row / column wire drops (volts, read voltage 1)
    at the fixed point of the nodal equations (see the module docstring)."""
    a_, v_, r_ = x.shape
    g = g.to(torch.float64)                                             # converge to TOL
    below = (rows - row_offset - r_).to(g.dtype).view(a_, 1, 1, 1, 1)   # segments under the group
    xg = x.to(g.dtype).view(a_, v_, r_, 1, 1) * g.unsqueeze(1)          # [A, V, R, T, C]
    def drops(i):
        # row wire: current through the segment before column j = sum_{j' >= j} I
        vr = r_row * i.flip(-1).cumsum(-1).flip(-1).cumsum(-1)
        # column wire: current through the segment below row i = sum_{i' <= i} I
        seg_c = i.cumsum(2)
        vc = r_col * (seg_c.flip(2).cumsum(2).flip(2) + below * seg_c[:, :, -1:])
        return vr, vc

    scale = float(xg.abs().max()) if xg.numel() else 0.0
    zero = torch.zeros_like(xg)
    if scale == 0.0:
        return xg.clone(), zero, zero
    # I = xg (1 - W I) with W the (symmetric, positive) wire-resistance operator: the
    # iteration I <- I + w (xg (1 - W I) - I) converges for any system when w = 2/(2 + L),
    # L >= the largest eigenvalue of xg W (estimated by power iteration, with a margin).
    u = xg / scale
    lam = 0.0
    for _ in range(12):
        vr, vc = drops(u)
        m = xg * (vr + vc)
        norm = float(m.abs().max())
        lam = norm / max(float(u.abs().max()), 1e-300)
        if norm == 0.0:
            break
        u = m / norm
    w = 2.0 / (2.0 + 1.2 * lam)
    cur = xg.clone()
    for _ in range(MAX_ITER):
        vr, vc = drops(cur)
        new = xg * (1.0 - vr - vc)
        diff = float((new - cur).abs().max())
        cur = cur + w * (new - cur) if w < 1.0 else new
        if diff <= TOL * scale:
            return cur, vr, vc
        if not diff < 1e6 * scale:          # diverging (or NaN)
            break
    raise IRDropError("nonideal.ir_drop: the wire-drop iteration does not converge "
                      "(wire drop comparable to the read voltage); use fewer rows in parallel, "
                      "smaller arrays or a coarser technology node")


def solve_tile(x: torch.Tensor, g: torch.Tensor, row_offset: torch.Tensor, rows: int,
               r_row: float, r_col: float, reduce: bool = True) -> torch.Tensor:
    """Exact column currents of one read.

    x: [A, V, R] active rows (0/1) of V conversions of A row groups; g: [A, R, T, C]
    conductances of the group's rows in T column tiles of C columns (column position = index
    in C); row_offset: [A] position of the group's first row in its sub-array (the group
    occupies rows offset .. offset+R-1; rows below it carry the column current to the sense
    amp at the end). Returns [A, V, T, C] (reduce=False: the cell currents [A, V, R, T, C])."""
    cur, _, _ = _fixed_point(x, g, row_offset, rows, r_row, r_col)
    return cur.sum(2) if reduce else cur


def exact_readings(x: torch.Tensor, wd: torch.Tensor, wr: torch.Tensor, group_offset: torch.Tensor,
                   p) -> tuple[torch.Tensor, torch.Tensor]:
    """Engine layout: x [GA, V, R] active rows, wd [GA, R, Ncol] data cells, wr [GA, R, T]
    reference cells, group_offset [GA] row position of each group in its sub-array.
    Returns the data readings [GA, V, Ncol] and reference readings [GA, V, T]."""
    g = _tiles(wd, wr, p.cols)                                          # [GA, R, T, cols+1]
    out = solve_tile(x, g, group_offset, p.rows, p.wire_r_row, p.wire_r_col).to(wd.dtype)
    return _untile(out, wd.shape[-1], p.cols)


def group_offsets(gr: int, rg: int, p, r: int) -> torch.Tensor:
    """Row position of each engine row group (GA = Gr*RG) in its sub-array."""
    per_sub = -(-p.rows // r)
    g = torch.arange(rg)
    return ((g % per_sub) * r).repeat(gr)
