"""Chip floor plan: which layers get novel mapping, tile and PE sizes, tiles per layer,
weight duplication (speed-up) and memory utilisation, as DNN+NeuroSim V1.4 decides them.

Everything here is integer/float combinatorics on the network table; no circuits.

The network is a list of rows with the 8 NetWork.csv columns
``[IFM_H, IFM_W, C_in, K_H, K_W, C_out, maxpool_flag, stride]``.

Vocabulary (NeuroSim's quantities, our names):

* A layer's unrolled weight matrix has ``C_in*K_H*K_W*rows_per_weight`` rows and
  ``C_out*cols_per_weight`` columns.
* *Novel mapping* (NM) puts one PE per kernel position into a tile; a conventionally mapped
  (CM) layer is cut into square tiles of ``tile_size_cm`` cells, each of
  ``(tile_size_cm/pe_size_cm)^2`` PEs.
* Duplication: a small matrix is copied across PEs (``pe_dup``) and across the sub-arrays of
  a PE (``subarray_dup``); in pipeline mode whole tiles are replicated further.

Rules where NeuroSim gives up ("SubArray Size is too large", which NeuroSim prints and then
continues with all sizes zero): we keep going with the smallest legal sizes instead, i.e.
a novel-mapped PE of ``2*rows`` and a conventional tile of ``4*rows`` cells (NeuroSim's own
lower bounds), so small networks are still estimated with mostly-empty tiles. If novel
mapping is on but no layer qualifies for it, the chip is planned as all-conventional (no
NM tile type exists). Both cases add a message to ``FloorPlan.messages``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Sequence

__all__ = ["FloorPlan", "plan_floor", "num_computation", "performance_figures",
           "NETWORK_COLUMNS"]

NETWORK_COLUMNS = ("IFM_H", "IFM_W", "C_in", "K_H", "K_W", "C_out", "maxpool", "stride")

_TOO_LARGE = ("SubArray size is too large for NeuroSim's chip hierarchy (NeuroSim would "
              "continue with zero sizes); using the smallest legal {what} of {size} cells")


@dataclass
class FloorPlan:
    """The floor plan of one network on one sub-array design (NeuroSim's ChipFloorPlan)."""
    rows: int                                 # sub-array rows
    cols: int                                 # sub-array columns
    rows_per_weight: int                      # numRowPerSynapse
    cols_per_weight: int                      # numColPerSynapse
    novel_mapping: bool                       # NM in effect (param and at least one NM layer)
    pipeline: bool
    speed_up_degree: int                      # after clipping to the network's bound
    mark_nm: list[bool]                       # per layer: novel mapped
    num_pe_nm: float                          # PEs per NM tile (kernel area)
    max_pe_size_nm: float
    max_tile_size_cm: float
    pipeline_speedup: list[int]               # per layer, required speed-up (pipeline only)
    num_tile_nm: float                        # desiredNumTileNM
    pe_size_nm: float                         # desiredPESizeNM
    num_tile_cm: float                        # desiredNumTileCM
    tile_size_cm: float                       # desiredTileSizeCM
    pe_size_cm: float                         # desiredPESizeCM
    num_tile_row: int
    num_tile_col: int
    pe_dup: list[list[float]]                 # [row dup per layer, col dup per layer]
    subarray_dup: list[list[float]]
    num_tile_each_layer: list[list[float]]    # [tile rows per layer, tile cols per layer]
    utilization_each_layer: list[float]
    speedup_each_layer: list[list[float]]     # [row speed-up, col speed-up]
    tile_loca_each_layer: list[list[float]]   # [row, col] of the first tile of each layer
    messages: list[str] = field(default_factory=list)

    # ---- per-layer views ---------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return len(self.mark_nm)

    @property
    def tiles_per_layer(self) -> list[float]:
        return [r * c for r, c in zip(*self.num_tile_each_layer)]

    @property
    def speedup_per_layer(self) -> list[float]:
        return [r * c for r, c in zip(*self.speedup_each_layer)]

    @property
    def total_tiles(self) -> float:
        return float(sum(self.tiles_per_layer))

    @property
    def chip_memory_utilization_pct(self) -> float:
        mapped = sum(t * u for t, u in zip(self.tiles_per_layer, self.utilization_each_layer))
        return mapped / self.total_tiles * 100.0

    @property
    def num_pe_cm(self) -> float:
        """PEs per row (and per column) of a CM tile."""
        return float(math.ceil(self.tile_size_cm / self.pe_size_cm))

    def to_json(self) -> dict[str, Any]:
        """The floor-plan block of results.json (same keys and meaning)."""
        out: dict[str, Any] = {
            "cm_tile_storage": [int(self.tile_size_cm)] * 2,
            "cm_pe_storage": [int(self.pe_size_cm)] * 2,
        }
        if self.novel_mapping:
            out["nm_tile_storage"] = [int(self.num_pe_nm), int(self.pe_size_nm), int(self.pe_size_nm)]
        out.update({
            "subarray": [self.rows, self.cols],
            "tiles_per_layer": [float(v) for v in self.tiles_per_layer],
            "speedup_per_layer": [float(v) for v in self.speedup_per_layer],
            "utilization_per_layer": [float(v) for v in self.utilization_each_layer],
            "chip_memory_utilization_pct": float(self.chip_memory_utilization_pct),
        })
        return out


# ------------------------------------------------------------------------------------------
# Helpers, one per NeuroSim design step
# ------------------------------------------------------------------------------------------

def _pow2_ceil(x: float) -> float:
    return 2.0 ** math.ceil(math.log2(x))


def _layer_dims(row: Sequence[float], rpw: int, cpw: int) -> tuple[float, float, float]:
    """(matrix rows, matrix cols, rows of one kernel position) of a layer."""
    c_in, kh, kw, c_out = float(row[2]), float(row[3]), float(row[4]), float(row[5])
    return c_in * kh * kw * rpw, c_out * cpw, c_in * rpw


def _tile_design_cm(tile: float, mark, net, rpw, cpw):
    """(#tiles, cells used, utilisation) of the CM layers on square tiles of `tile` cells."""
    n_tiles = 0.0
    used = 0.0
    for row, nm in zip(net, mark):
        if nm:
            continue
        r, c, _ = _layer_dims(row, rpw, cpw)
        n_tiles += math.ceil(r / tile) * math.ceil(c / tile)
        used += r * c
    util = used / (n_tiles * tile * tile) if n_tiles else float("nan")
    return n_tiles, used, util


def _tile_design_nm(pe: float, mark, net, rpw, cpw, num_pe):
    n_tiles = 0.0
    used = 0.0
    for row, nm in zip(net, mark):
        if not nm:
            continue
        r, c, r_k = _layer_dims(row, rpw, cpw)
        n_tiles += math.ceil(r_k / pe) * math.ceil(c / pe)
        used += r * c
    util = used / (n_tiles * pe * pe * num_pe) if n_tiles else float("nan")
    return n_tiles, used, util


def _pe_design(pe: float, tile: float, n_tiles: float, mark, net, rpw, cpw):
    """PE duplication inside CM tiles. Returns (utilisation, [dup_row], [dup_col])."""
    used = 0.0
    dup_r, dup_c = [], []
    for row, nm in zip(net, mark):
        dr = dc = 1
        if not nm:
            r, c, _ = _layer_dims(row, rpw, cpw)
            if r <= tile or c <= tile:
                per_r = math.ceil(r / pe)
                per_c = math.ceil(c / pe)
                n_pe = math.ceil(tile / pe)
                dr = max(1, n_pe // per_r)
                dc = max(1, n_pe // per_c)
            used += dr * dc * r * c
        dup_r.append(float(dr))
        dup_c.append(float(dc))
    util = used / (n_tiles * tile * tile) if n_tiles else float("nan")
    return util, dup_r, dup_c


def _subarray_dup(pe_cm: float, pe_nm: float, mark, net, rpw, cpw, rows, cols):
    dup_r, dup_c = [], []
    for row, nm in zip(net, mark):
        r, c, r_k = _layer_dims(row, rpw, cpw)
        mat_r, pe = (r_k, pe_nm) if nm else (r, pe_cm)
        dr = dc = 1
        if mat_r <= pe or c <= pe:
            per_r = math.ceil(mat_r / rows)
            per_c = math.ceil(c / cols)
            n_r = math.ceil(pe / rows)
            n_c = math.ceil(pe / cols)
            dr = max(1, n_r // per_r)
            dc = max(1, n_c // per_c)
        dup_r.append(float(dr))
        dup_c.append(float(dc))
    return dup_r, dup_c


def _overall(pe_dup, sa_dup, pipe_speed, tile_cm, pe_nm, mark, net, rpw, cpw, num_pe, pipeline):
    """Tiles, utilisation and speed-up per layer (NeuroSim's OverallEachLayer)."""
    t_row, t_col, util, s_row, s_col = [], [], [], [], []
    for i, (row, nm) in enumerate(zip(net, mark)):
        r, c, r_k = _layer_dims(row, rpw, cpw)
        dup = pe_dup[0][i] * pe_dup[1][i] * sa_dup[0][i] * sa_dup[1][i]
        extra = math.ceil(pipe_speed[i] / dup) if pipeline else 1
        copies = max(pipe_speed[i], dup) if pipeline else dup
        if nm:
            tr = math.ceil(r_k / pe_nm) * extra
            tc = math.ceil(c / pe_nm)
            u = copies * r_k * num_pe * c / (tr * tc * pe_nm * pe_nm * num_pe)
        else:
            tr = math.ceil(r / tile_cm) * extra
            tc = math.ceil(c / tile_cm)
            u = copies * r * c / (tr * tc * tile_cm * tile_cm)
        t_row.append(float(tr))
        t_col.append(float(tc))
        util.append(float(u))
        s_row.append(float(pe_dup[0][i] * sa_dup[0][i] * extra))
        s_col.append(float(pe_dup[1][i] * sa_dup[1][i]))
    return [t_row, t_col], util, [s_row, s_col]


# ------------------------------------------------------------------------------------------
# The whole plan
# ------------------------------------------------------------------------------------------

def novel_mapped_layers(kernels: Sequence[Sequence[float]], matrix_rows: Sequence[float],
                        subarray_rows: int) -> tuple[list[bool], float]:
    """Which layers novel mapping puts one PE per kernel position (shared by stage 1 and
    stage 2). kernels: (KH, KW) per layer; matrix_rows: unrolled rows per layer.

    The most frequent kernel area wins: NeuroSim's count starts at 1 and also counts the
    layer itself (1x1 kernels are never counted), and the first maximum wins. A layer is
    novel mapped when its kernel has that area and it has at least `subarray_rows` rows.
    Returns (per-layer flags, the winning kernel area = PEs per novel-mapped tile)."""
    areas = [int(kh * kw) for kh, kw in kernels]
    most, num_pe = 0, 0.0
    for area in areas:
        count = 1
        for other in areas:
            if area == other and area != 1:
                count += 1
            if most < count:
                most, num_pe = count, float(area)
    marks = [(a == num_pe) and (r >= subarray_rows) for a, r in zip(areas, matrix_rows)]
    return marks, num_pe


def _get(param: Any, name: str):
    return param[name] if isinstance(param, dict) else getattr(param, name)


def plan_floor(network: Sequence[Sequence[float]], param: Any) -> FloorPlan:
    """Floor-plan `network` for the design parameters `param` (a FormulaBindings.Param or a
    mapping with NeuroSim's names numRowSubArray, numColSubArray, numRowPerSynapse,
    numColPerSynapse, novelMapping, pipeline, speedUpDegree)."""
    net = [list(map(float, r)) for r in network]
    if not net:
        raise ValueError("the network has no layers")
    rows = int(_get(param, "numRowSubArray"))
    cols = int(_get(param, "numColSubArray"))
    rpw = int(_get(param, "numRowPerSynapse"))
    cpw = int(_get(param, "numColPerSynapse"))
    novel = bool(_get(param, "novelMapping"))
    pipeline = bool(_get(param, "pipeline"))
    speed_up_degree = int(_get(param, "speedUpDegree"))
    messages: list[str] = []

    # -- which layers are novel mapped (ChipDesignInitialize) --------------------------
    mark: list[bool] = []
    max_pe_nm = 0.0
    max_tile_cm = 0.0
    num_pe_nm = 0.0
    if novel:
        mark, num_pe_nm = novel_mapped_layers(
            [(row[3], row[4]) for row in net], [_layer_dims(row, rpw, cpw)[0] for row in net], rows)
        for row, is_nm in zip(net, mark):
            r, c, _ = _layer_dims(row, rpw, cpw)
            if is_nm:
                max_pe_nm = max(_pow2_ceil(c), max_pe_nm)
            else:
                max_tile_cm = max(_pow2_ceil(c), max_tile_cm)
        if not any(mark):
            messages.append("novel mapping is on but no layer qualifies for it; all layers "
                            "use conventional mapping")
            novel = False
    else:
        for row in net:
            mark.append(False)
            max_tile_cm = max(_pow2_ceil(row[5] * cpw), max_tile_cm)

    # -- pipeline speed-up ---------------------------------------------------------------
    pipe_speed: list[int] = []
    if pipeline:
        max_ifm = int(net[0][0])
        min_ifm = max_ifm
        for row in net:
            if row[3] != 1 and int(row[0]) < min_ifm:
                min_ifm = int(row[0])
        bound_degree = int(max_ifm / min_ifm)
        if bound_degree < speed_up_degree:
            messages.append("User assigned speed-up degree is larger than the upper bound "
                            "(where no idle period during the whole process)")
            speed_up_degree = bound_degree
            messages.append("The speed-up degree is auto-assigned as the upper bound "
                            "(where no idle period during the whole process)")
        bound_ifm = math.ceil(max_ifm / speed_up_degree)
        for row in net:
            pipe_speed.append(int(math.ceil((row[0] / bound_ifm) ** 2)))
    else:
        pipe_speed = [1] * len(net)

    # -- tile and PE sizes (ChipFloorPlan) ---------------------------------------------
    num_tile_nm = pe_size_nm = 0.0
    min_pe_nm = 2.0 * rows
    min_tile_cm = 4.0 * rows
    if novel:
        if max_pe_nm < min_pe_nm:
            messages.append(_TOO_LARGE.format(what="novel-mapped PE size", size=int(min_pe_nm)))
        pe_size_nm = max(max_pe_nm, min_pe_nm)
        num_tile_nm = _tile_design_nm(pe_size_nm, mark, net, rpw, cpw, num_pe_nm)[0]
        best = 0.0
        size = pe_size_nm
        while size > min_pe_nm:
            n, _, u = _tile_design_nm(size, mark, net, rpw, cpw, num_pe_nm)
            if u > best:
                best, pe_size_nm, num_tile_nm = u, size, n
            size /= 2
    elif max_tile_cm < min_tile_cm:
        messages.append(_TOO_LARGE.format(what="conventional tile size", size=int(min_tile_cm)))

    tile_size_cm = max(max_tile_cm, min_tile_cm)
    num_tile_cm = _tile_design_cm(tile_size_cm, mark, net, rpw, cpw)[0]
    best_cm = 0.0
    size = tile_size_cm
    while size > min_tile_cm:
        n, _, u = _tile_design_cm(size, mark, net, rpw, cpw)
        if u > best_cm:
            best_cm, tile_size_cm, num_tile_cm = u, size, n
        size /= 2
    pe_size_cm = tile_size_cm / 2
    size = tile_size_cm / 2
    while size > min_pe_nm:
        u = _pe_design(size, tile_size_cm, num_tile_cm, mark, net, rpw, cpw)[0]
        if u > best_cm:       # NeuroSim compares with the best *tile* utilisation so far
            best_cm, pe_size_cm = u, size
        size /= 2
    _, dup_r, dup_c = _pe_design(pe_size_cm, tile_size_cm, num_tile_cm, mark, net, rpw, cpw)
    pe_dup = [dup_r, dup_c]
    sa_dup = list(_subarray_dup(pe_size_cm, pe_size_nm if novel else 0.0, mark, net, rpw, cpw,
                                rows, cols))
    num_tile_each, util_each, speed_each = _overall(
        pe_dup, sa_dup, pipe_speed, tile_size_cm, pe_size_nm if novel else 0.0, mark, net,
        rpw, cpw, num_pe_nm, pipeline)

    if pipeline:
        num_tile_cm = num_tile_nm = 0.0
        for i, nm in enumerate(mark):
            t = num_tile_each[0][i] * num_tile_each[1][i]
            if nm:
                num_tile_nm += t
            else:
                num_tile_cm += t
    n_tiles = num_tile_cm + num_tile_nm
    num_tile_row = int(math.ceil(math.sqrt(n_tiles)))
    num_tile_col = int(math.ceil(n_tiles / num_tile_row))

    # First tile of each layer on the tile grid. NeuroSim's running total starts from an
    # uninitialised variable; we start it at 0 (and, like NeuroSim, the running total
    # already includes the layer's own tiles).
    loc_r, loc_c = [0.0], [0.0]
    running = 0.0
    for i in range(1, len(net)):
        running += num_tile_each[0][i] * num_tile_each[1][i]
        loc_r.append(float(int(running) // num_tile_row))
        loc_c.append(float(int(running) % num_tile_row))

    return FloorPlan(
        rows=rows, cols=cols, rows_per_weight=rpw, cols_per_weight=cpw, novel_mapping=novel,
        pipeline=pipeline, speed_up_degree=speed_up_degree, mark_nm=mark,
        num_pe_nm=num_pe_nm if novel else 0.0, max_pe_size_nm=max_pe_nm,
        max_tile_size_cm=max_tile_cm, pipeline_speedup=pipe_speed,
        num_tile_nm=num_tile_nm, pe_size_nm=pe_size_nm if novel else 0.0,
        num_tile_cm=num_tile_cm, tile_size_cm=tile_size_cm, pe_size_cm=pe_size_cm,
        num_tile_row=num_tile_row, num_tile_col=num_tile_col, pe_dup=pe_dup,
        subarray_dup=sa_dup, num_tile_each_layer=num_tile_each,
        utilization_each_layer=util_each, speedup_each_layer=speed_each,
        tile_loca_each_layer=[loc_r, loc_c], messages=messages)


# ------------------------------------------------------------------------------------------
# Figures of merit
# ------------------------------------------------------------------------------------------

def num_computation(network: Sequence[Sequence[float]]) -> float:
    """Operations per image as NeuroSim counts them: 2*H*W*C_in*K_H*K_W*C_out per layer,
    with the *input* feature-map size (stride and padding ignored)."""
    total = 0.0
    for r in network:
        total += 2 * (float(r[0]) * r[1] * r[2] * r[3] * r[4] * r[5])
    return total


def performance_figures(n_ops: float, latency_s: float, dynamic_energy_j: float,
                        leakage_energy_j: float, area_m2: float, validated: bool,
                        zeta: float) -> dict[str, float]:
    """TOPS/W, TOPS, FPS and TOPS/mm^2 as main() computes them. Non-finite or zero inputs
    give inf/nan the way IEEE arithmetic does (no exception)."""
    with_np = _safe_div
    energy_pj = dynamic_energy_j * 1e12 + leakage_energy_j * 1e12
    tops_w = with_np(n_ops, energy_pj)
    if validated:
        tops_w = with_np(tops_w, zeta)
    tops = with_np(n_ops, latency_s * 1e12)
    return {
        "tops_per_w": tops_w,
        "tops": tops,
        "fps": with_np(1.0, latency_s),
        "tops_per_mm2": with_np(tops, area_m2 * 1e6),
    }


def _safe_div(a: float, b: float) -> float:
    try:
        return a / b
    except ZeroDivisionError:
        if a == 0 or math.isnan(a):
            return float("nan")
        return math.copysign(float("inf"), a)
