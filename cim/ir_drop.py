"""Wire resistance (IR drop) of the parallel read.

Geometry (the one stage 2 prices, Array.py `column_conductance`): a sub-array row wire is
driven from its column-0 end, a column wire is read at its row-`rows` end by a virtual-ground
sense circuit. Between neighbouring cells each wire has the resistance of one cell pitch,
`wireResistanceRow` / `wireResistanceCol` from the technology (FormulaBindings, ohm), here
normalised by the cell step (`r * unit`, dimensionless; see cim/hardware.py). Cell (i, j) of a
sub-array, i = row position 0..rows-1, j = column position 0..cols-1 in its column tile; the
tile's reference column sits after the data columns (j = cols). Access transistors are not
modelled (stage 1 reads the programmed conductance).

* `fast` (stage 2's model, data independent): each cell in series with the wire between it
  and the driver and the sense amp, `g_eff = 1 / (1/g + (j+1) r_row + (rows-i) r_col)`,
  applied once when the cells are programmed. It ignores that the wires are shared: the
  current of the other cells on the same wires adds further drop.
* `exact` (nodal solution, per conversion): with `x_i` the active rows of one conversion and
  `I_ij` the cell currents (read voltage 1), Kirchhoff's laws give
  `I_ij = x_i g_ij (Vr_ij - Vc_ij)`, `Vr_ij = 1 - r_row sum_{s<=j} sum_{j'>=s} I_ij'` (row
  wire current through segment s) and `Vc_ij = r_col sum_{k=i}^{rows-1} sum_{i'<=k} I_i'j`
  (column wire current through the segment below row k). The fixed point of these equations
  is found by iteration, vectorised over conversions (each iteration is two cumulative sums
  per wire direction); the column reading is `sum_i I_ij`. It converges when the wire drop
  is a fraction of the read voltage (always the case for usable arrays) and raises an error
  otherwise. tests/test_stage1_ir_drop.py checks it against a dense Kirchhoff solve.
"""
from __future__ import annotations

import torch

MAX_ITER = 200
TOL = 1e-7


class IRDropError(ValueError):
    pass


def wire_resistances(cfg) -> tuple[float, float]:
    """(row, column) wire resistance per cell pitch, ohm, as stage 2 computes it."""
    param = cfg.to_param()
    return float(param.wireResistanceRow), float(param.wireResistanceCol)


def series_conductance(g: torch.Tensor, row_pos: torch.Tensor, col_pos: torch.Tensor,
                       rows: int, r_row: float, r_col: float) -> torch.Tensor:
    """fast mode: g [..., K, C] with row positions [K] and column positions [C] in the
    sub-array -> effective conductances (all normalised)."""
    series = ((col_pos.to(g.dtype) + 1) * r_row).view(1, -1) + ((rows - row_pos.to(g.dtype)) * r_col).view(-1, 1)
    return g / (1.0 + g * series)


def program_fast(g_data: torch.Tensor, g_ref: torch.Tensor, p) -> tuple[torch.Tensor, torch.Tensor]:
    """Apply the fast model to programmed cells: g_data [Gr, K, N, cps], g_ref [Gr, K, T]."""
    gr, k, n, cps = g_data.shape
    row_pos = torch.arange(k) % p.rows
    col_pos = torch.arange(n * cps) % p.cols
    gd = series_conductance(g_data.reshape(gr, k, n * cps), row_pos, col_pos, p.rows,
                            p.wire_r_row, p.wire_r_col).reshape(gr, k, n, cps)
    ref_pos = torch.full((g_ref.shape[-1],), p.cols)
    gf = series_conductance(g_ref, row_pos, ref_pos, p.rows, p.wire_r_row, p.wire_r_col)
    return gd.contiguous(), gf.contiguous()


def solve_tile(x: torch.Tensor, g: torch.Tensor, row_offset: torch.Tensor, rows: int,
               r_row: float, r_col: float) -> torch.Tensor:
    """Exact column currents of one read.

    x: [A, V, R] active rows (0/1) of V conversions of A row groups; g: [A, R, T, C]
    conductances of the group's rows in T column tiles of C columns (column position = index
    in C); row_offset: [A] position of the group's first row in its sub-array (the group
    occupies rows offset .. offset+R-1; rows below it carry the column current to the sense
    amp at the end). Returns [A, V, T, C]."""
    a_, v_, r_ = x.shape
    below = (rows - row_offset - r_).to(g.dtype).view(a_, 1, 1, 1, 1)   # segments under the group
    xg = x.view(a_, v_, r_, 1, 1) * g.unsqueeze(1)                      # [A, V, R, T, C]
    cur = xg.clone()
    scale = float(cur.abs().max()) if cur.numel() else 0.0
    if scale == 0.0:
        return cur.sum(2)
    for _ in range(MAX_ITER):
        # row wire: current through the segment before column j = sum_{j' >= j} I
        seg_r = cur.flip(-1).cumsum(-1).flip(-1)
        vr = 1.0 - r_row * seg_r.cumsum(-1)
        # column wire: current through the segment below row i = sum_{i' <= i} I
        seg_c = cur.cumsum(2)
        vc = r_col * (seg_c.flip(2).cumsum(2).flip(2) + below * seg_c[:, :, -1:])
        new = xg * (vr - vc)
        diff = float((new - cur).abs().max())
        cur = new
        if diff <= TOL * scale:
            return cur.sum(2)
        if not torch.isfinite(torch.tensor(diff)) or diff > 1e6 * scale:
            break
    raise IRDropError("nonideal.ir_drop=exact: the wire-drop iteration does not converge "
                      "(wire drop comparable to the read voltage); use fewer rows in parallel "
                      "or ir_drop=fast")


def exact_readings(x: torch.Tensor, wd: torch.Tensor, wr: torch.Tensor, group_offset: torch.Tensor,
                   p) -> tuple[torch.Tensor, torch.Tensor]:
    """Engine layout: x [GA, V, R] active rows, wd [GA, R, Ncol] data cells, wr [GA, R, T]
    reference cells, group_offset [GA] row position of each group in its sub-array.
    Returns the data readings [GA, V, Ncol] and reference readings [GA, V, T]."""
    ga, r, ncol = wd.shape
    t = wr.shape[-1]
    cols = p.cols
    pad = t * cols - ncol
    gd = torch.cat([wd, wd.new_zeros(ga, r, pad)], -1).view(ga, r, t, cols)
    g = torch.cat([gd, wr.unsqueeze(-1)], -1)                           # [GA, R, T, cols+1]
    out = solve_tile(x, g, group_offset, p.rows, p.wire_r_row, p.wire_r_col)
    part = out[..., :cols].reshape(ga, x.shape[1], t * cols)[..., :ncol]
    return part, out[..., cols]


def group_offsets(gr: int, rg: int, p, r: int) -> torch.Tensor:
    """Row position of each engine row group (GA = Gr*RG) in its sub-array."""
    per_sub = -(-p.rows // r)
    g = torch.arange(rg)
    return ((g % per_sub) * r).repeat(gr)
