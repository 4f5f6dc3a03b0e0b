"""Stage 2 for every operation of a network, not only its weight layers.

Stage 1 (`inference_sim.py`) lists every operation it ran in `manifest.json`
("operations": conv, linear, dynamic_matmul, softmax, layernorm, gelu, add, in execution
order). Weight layers are priced by the chip model as always (Chip.estimate); this module
prices the rest and puts everything side by side:

* dynamic matrix products (attention's Q·Kᵀ and softmax·V), as
  `architecture.dynamic_matmul` says: `digital` on `peripherals.digital_units.DigitalMACUnit`,
  or `crossbar`, written into cells for every input and read like a weight layer
  (`CrossbarDynamicUnit`: programming.py's write cost of the traced operand, from the
  erased state, plus the chip's read energy per MAC and read latency per input vector);
* softmax, LayerNorm, GELU and residual additions on the special-function unit.

Shares. Energy: each operation's dynamic energy (weight layers: their read dynamic
energy, as in the report) over the sum. Latency: each operation's latency over the sum, the
operations taken one after another (layer-by-layer view; the pipelined chip latency of the
report is for the weight layers alone). Area: weight layers share the chip area in
proportion to their tiles; the MAC unit (digital) or the cells that hold the written
operands (crossbar: the largest dynamic product's cells, at the chip's average area per
stored cell, periphery included) go to dynamic_matmul; the special-function unit's area is
split among the functions by the cycles each uses.

The units come from the registry of `peripherals.digital_units` (`unit_for`): the one that
`architecture.dynamic_matmul` names for dynamic products, `special_function` for the rest.
The units the network uses join the chip totals (`add_units_to_chip`): their area (the
written cells' area for `crossbar`) and leakage.

Manifests without "operations" (older stage-1 folders, NeuroSim CSV traces) give no
operations section: the report is unchanged.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["OperationRow", "OperationsCost", "read_operations", "price_operations",
           "operations_dict", "add_units_to_chip", "KINDS"]

KINDS = ("conv", "linear", "dynamic_matmul", "softmax", "layernorm", "gelu", "add")
SFU_KINDS = ("softmax", "layernorm", "gelu", "add")


@dataclass(frozen=True)
class OperationRow:
    index: int
    kind: str
    name: str
    count: float                  # MACs (weight layers, dynamic products) or elements
    energy_j: float
    latency_s: float
    write_energy_j: float = 0.0


@dataclass(frozen=True)
class OperationsCost:
    dynamic_matmul: str
    rows: tuple[OperationRow, ...]
    by_kind: dict[str, dict[str, float]]     # kind -> area_m2, energy_j, latency_s, count, shares
    units: dict[str, float]                  # unit areas, energy per MAC, ...
    totals: dict[str, float]
    messages: tuple[str, ...] = field(default_factory=tuple)
    # units the chip holds for these operations, by registry name (digital_units.DIGITAL_UNITS):
    # area_m2, leakage_w, what ("logic" or "cells")
    chip_units: dict[str, dict[str, Any]] = field(default_factory=dict)


def read_operations(folder) -> list[dict[str, Any]] | None:
    """The validated "operations" list of a stage-1 manifest, or None when it has none."""
    from traces import TraceError, read_manifest
    folder = Path(folder)
    if not (folder / "manifest.json").is_file():
        return None
    manifest = read_manifest(folder)
    ops = manifest.get("operations")
    if ops is None:
        return None
    where = f"{folder / 'manifest.json'}"
    if not isinstance(ops, list):
        raise TraceError(f"{where}: 'operations' must be a list")
    n_layers = len(manifest["layers"])
    for i, op in enumerate(ops, start=1):
        if not isinstance(op, dict) or op.get("kind") not in KINDS:
            raise TraceError(f"{where}: operation {i} has kind {op.get('kind') if isinstance(op, dict) else op!r}; "
                             f"valid: {', '.join(KINDS)}")
        kind = op["kind"]
        need = {"conv": ("layer", "macs"), "linear": ("layer", "macs"),
                "dynamic_matmul": ("groups", "m", "k", "n")}.get(kind, ("elements", "vectors"))
        for key in need:
            v = op.get(key)
            if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 1 << 50:
                raise TraceError(f"{where}: operation {i} ({kind}): '{key}' must be an integer "
                                 f">= 0, got {v!r}")
        if kind in ("conv", "linear") and not 1 <= op["layer"] <= n_layers:
            raise TraceError(f"{where}: operation {i} names layer {op['layer']}, the manifest "
                             f"has {n_layers}")
        if "file" in op and (not isinstance(op["file"], str) or "/" in op["file"]
                             or "\\" in op["file"] or op["file"].startswith(".")):
            raise TraceError(f"{where}: operation {i}: 'file' must be a plain file name")
    return ops


def _operand_codes(folder: Path, op: dict[str, Any], image: int) -> np.ndarray | None:
    """[G, K, N] codes of a dynamic product's written operand for one traced image."""
    from traces import TraceError
    from validation import InputError, check_readable_file
    if "file" not in op:
        return None
    path = folder / op["file"]
    try:
        check_readable_file(path, "dynamic-product trace")
        with np.load(path, allow_pickle=False) as z:
            b = z["b_codes"]
    except (InputError, OSError, KeyError, ValueError) as exc:
        raise TraceError(f"{path}: cannot read the operand codes ({str(exc)[:120]})") from None
    g, k, n = op["groups"], op["k"], op["n"]
    if b.ndim < 3 or b.shape[0] <= image or math.prod(b.shape[1:]) != g * k * n:
        raise TraceError(f"{path}: b_codes of shape {b.shape} do not hold image {image} of "
                         f"{g} matrices of {k}x{n}")
    return b[image].reshape(g, k, n)


def price_operations(param, cfg, result, folder, ops: list[dict[str, Any]],
                     image: int = 0) -> OperationsCost:
    """Price every operation of `ops` next to the weight layers of `result` (ChipEstimate)."""
    from peripherals.base import Context
    from peripherals.digital_units import DigitalSettings, unit_for
    folder = Path(folder)
    ctx = Context.from_param(param)
    clock = 1.0 / result.clk_period if result.clk_period else float(param.clkFreq)
    clock = min(clock, float(param.clkFreq))
    s = DigitalSettings.from_config(cfg, clock)
    mode = cfg.architecture.dynamic_matmul
    sfu_kind = unit_for("softmax")
    sfu = sfu_kind.build(ctx, s)
    dyn_kind = unit_for("dynamic_matmul", mode)
    fp = result.floorplan
    messages: list[str] = []

    # weight layers: figures of the chip model
    layer_ops = [op for op in ops if op["kind"] in ("conv", "linear")]
    macs_w = sum(op["macs"] for op in layer_ops)
    e_w = sum(result.layers[op["layer"] - 1].read_dynamic_energy for op in layer_ops)
    vectors_w = sum(op.get("positions", 1) for op in layer_ops)
    t_w = sum(result.layers[op["layer"] - 1].read_latency for op in layer_ops)
    tiles = [float(t) for t in fp.tiles_per_layer]
    tile_total = sum(tiles) or 1.0

    mac = xbar = None
    if dyn_kind.in_chip_area:              # a logic unit (the digital MAC unit)
        mac = dyn_kind.build(ctx, s)
    else:                                  # cells written for every input
        xbar = dyn_kind.build(ctx, s, param=param,
                              read_energy_per_mac=e_w / macs_w if macs_w else 0.0,
                              read_latency_per_vector=t_w / vectors_w if vectors_w else 0.0)
    rows: list[OperationRow] = []
    sfu_cycles: dict[str, float] = {}
    written_cells = 0
    for op in ops:
        kind, idx = op["kind"], int(op.get("index", len(rows) + 1))
        name = str(op.get("name", kind))
        if kind in ("conv", "linear"):
            lf = result.layers[op["layer"] - 1]
            rows.append(OperationRow(idx, kind, name, float(op["macs"]), lf.read_dynamic_energy,
                                     lf.read_latency))
        elif kind == "dynamic_matmul":
            g, m, k, n = op["groups"], op["m"], op["k"], op["n"]
            if mac is not None:
                c = mac.matmul(g, m, k, n)
            else:
                codes = _operand_codes(folder, op, image)
                if codes is None:
                    raise ValueError(f"operation {idx}: no traced operand (dynamic{idx}.npz); "
                                     "rerun stage 1 with traces to price dynamic_matmul=crossbar")
                c = xbar.matmul(g, m, k, n, codes)
                written_cells = max(written_cells, g * k * n * int(param.numColPerSynapse))
            rows.append(OperationRow(idx, kind, name, c.count, c.energy_j, c.latency_s,
                                     c.write_energy_j))
        else:
            c = sfu.apply(kind, op["elements"], op["vectors"])
            sfu_cycles[kind] = sfu_cycles.get(kind, 0.0) + c.latency_s
            rows.append(OperationRow(idx, kind, name, c.count, c.energy_j, c.latency_s))

    # areas
    area: dict[str, float] = {k: 0.0 for k in KINDS}
    for op in layer_ops:
        area[op["kind"]] += result.area["area"] * tiles[op["layer"] - 1] / tile_total
    units: dict[str, float] = {"sfu_area_m2": sfu.area, "sfu_leakage_w": sfu.leakage_w,
                               "sfu_bits": s.sfu_bits, "sfu_lanes": s.sfu_lanes,
                               "clock_hz": clock}
    has_dyn = any(r.kind == "dynamic_matmul" for r in rows)
    # what the chip holds besides its weight tiles: {name: area_m2, leakage_w, what}
    chip_units: dict[str, dict[str, Any]] = {}
    if mac is not None and has_dyn:
        area["dynamic_matmul"] = mac.area
        units.update({"mac_area_m2": mac.area, "mac_energy_per_mac_j": mac.energy_per_mac_j,
                      "mac_cycle_s": mac.cycle_s, "mac_lanes": s.mac_lanes,
                      "mac_leakage_w": mac.leakage_w})
        chip_units[dyn_kind.name] = {"area_m2": mac.area, "leakage_w": mac.leakage_w,
                                     "what": "logic"}
    elif xbar is not None and has_dyn:
        cells_w = sum(op.get("macs", 0) // max(op.get("positions", 1), 1) for op in layer_ops)
        cells_w *= int(param.numColPerSynapse)
        per_cell = result.area["area"] / cells_w if cells_w else 0.0
        leak_per_cell = result.chip["leakage_power"] / cells_w if cells_w else 0.0
        area["dynamic_matmul"] = written_cells * per_cell
        units.update({"crossbar_written_cells": written_cells,
                      "crossbar_read_energy_per_mac_j": xbar.read_energy_per_mac,
                      "crossbar_read_latency_per_vector_s": xbar.read_latency_per_vector})
        chip_units[dyn_kind.name] = {"area_m2": area["dynamic_matmul"],
                                     "leakage_w": written_cells * leak_per_cell,
                                     "what": "cells"}
    used = {k: v for k, v in sfu_cycles.items() if v > 0}
    for k, v in used.items():
        area[k] = sfu.area * v / sum(used.values())
    if used:
        chip_units[sfu_kind.name] = {"area_m2": sfu.area, "leakage_w": sfu.leakage_w,
                                     "what": "logic"}

    by_kind: dict[str, dict[str, float]] = {}
    for kind in KINDS:
        rs = [r for r in rows if r.kind == kind]
        if not rs:
            continue
        by_kind[kind] = {"operations": len(rs), "count": sum(r.count for r in rs),
                         "area_m2": area[kind], "energy_j": sum(r.energy_j for r in rs),
                         "latency_s": sum(r.latency_s for r in rs),
                         "write_energy_j": sum(r.write_energy_j for r in rs)}
    tot = {k: sum(v[k] for v in by_kind.values()) for k in ("area_m2", "energy_j", "latency_s",
                                                           "write_energy_j")}
    for v in by_kind.values():
        for k, share in (("area_m2", "area_share"), ("energy_j", "energy_share"),
                         ("latency_s", "latency_share")):
            v[share] = v[k] / tot[k] if tot[k] > 0 else 0.0
    return OperationsCost(mode, tuple(rows), by_kind, units, tot, tuple(messages), chip_units)


def add_units_to_chip(result, oc: OperationsCost) -> None:
    """Put the units the network uses (`oc.chip_units`: the digital MAC unit or the cells
    written by the crossbar choice, and the special-function unit) into the chip totals of
    `result` (Chip.ChipEstimate): their area into `area["area"]` and its breakdown
    (`digital_units` for logic, `dynamic_cells` for written cells), their leakage power into
    the chip's, and its energy over one image, the operations one after another
    (`oc.totals["latency_s"]`). The performance figures are left as the weight layers'."""
    logic = sum(u["area_m2"] for u in oc.chip_units.values() if u["what"] == "logic")
    cells = sum(u["area_m2"] for u in oc.chip_units.values() if u["what"] == "cells")
    leak = sum(u["leakage_w"] for u in oc.chip_units.values())
    if not oc.chip_units:
        return
    result.area["digital_units"] = logic
    if cells:
        result.area["dynamic_cells"] = cells
    result.area["area"] += logic + cells
    result.chip["leakage_power"] += leak
    result.chip["leakage_energy"] += leak * oc.totals["latency_s"]


def operations_dict(oc: OperationsCost) -> dict[str, Any]:
    """JSON form (units in the key suffixes: um2, pJ, ns)."""
    def kind_row(v):
        return {"operations": v["operations"], "count": v["count"],
                "area_um2": v["area_m2"] * 1e12, "energy_pJ": v["energy_j"] * 1e12,
                "latency_ns": v["latency_s"] * 1e9, "write_energy_pJ": v["write_energy_j"] * 1e12,
                "area_share": v["area_share"], "energy_share": v["energy_share"],
                "latency_share": v["latency_share"]}
    return {"dynamic_matmul": oc.dynamic_matmul,
            "by_kind": {k: kind_row(v) for k, v in oc.by_kind.items()},
            "total": {"area_um2": oc.totals["area_m2"] * 1e12,
                      "energy_pJ": oc.totals["energy_j"] * 1e12,
                      "latency_ns": oc.totals["latency_s"] * 1e9,
                      "write_energy_pJ": oc.totals["write_energy_j"] * 1e12},
            "units": dict(oc.units),
            "chip_units": {k: {"area_um2": v["area_m2"] * 1e12,
                               "leakage_uW": v["leakage_w"] * 1e6, "what": v["what"]}
                           for k, v in oc.chip_units.items()},
            "operations": [{"index": r.index, "kind": r.kind, "name": r.name, "count": r.count,
                            "energy_pJ": r.energy_j * 1e12, "latency_ns": r.latency_s * 1e9,
                            "write_energy_pJ": r.write_energy_j * 1e12} for r in oc.rows]}
