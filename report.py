"""Stage-2 outputs: the printed report, the JSON file (the keys and units of the DNN+NeuroSim
reference results.json, plus the weight programming cost when it was priced), the per-layer
CSV and PNG plots of the breakdowns.

Files go through `outputs.RunOutputs`: written under a staging name next to the destination
and renamed into place when complete (normal permissions), so an interrupted run never leaves
a partial file. JSON is strict: a non-finite number is written as null and named in
`messages`.
"""
from __future__ import annotations

import csv
import io
import math
import os
from pathlib import Path
from typing import Any

import cells
import figures

__all__ = ["results_dict", "text_report", "write_json", "write_csv", "write_plots",
           "LAYER_COLUMNS"]

# (results.json key, LayerFigures attribute, scale to the key's unit), from figures.FIGURES
LAYER_COLUMNS = [(f.layer_key, f.name, f.scale) for f in figures.FIGURES]

# (results.json chip key, ChipEstimate.chip key, scale)
CHIP_COLUMNS = [(f.chip_key, f.name, f.scale) for f in figures.CHIP_FIGURES]

# Programming (weight write) cost, present when the estimate priced it:
# (key, programming.WriteCost attribute, scale)
WRITE_LAYER_COLUMNS = [
    ("write_energy_pJ", "energy", 1e12),
    ("write_latency_ns", "latency", 1e9),
    ("set_pulses", "set_pulses", None),
    ("reset_pulses", "reset_pulses", None),
]

AREA_COLUMNS = [(f.chip_key, f.name) for f in figures.AREA_FIGURES]
# Parts of the chip area present when the network has operations other than weight layers
# (operations.add_units_to_chip): the digital units and the cells written by dynamic products
EXTRA_AREA_COLUMNS = [("digital_units_area_um2", "digital_units"),
                      ("dynamic_cells_area_um2", "dynamic_cells")]


def _num(x: float) -> Any:
    """A float; non-finite values are written as null by the strict JSON writer, which
    names them in `messages` (json_text)."""
    return float(x)


def _programming(result):
    return getattr(result, "programming", None)


def _write_value(cost, attr: str, scale):
    v = getattr(cost, attr)
    return int(v) if scale is None else _num(v * scale)


def results_dict(result) -> dict[str, Any]:
    """The estimate as a results.json-shaped dict (units in the key suffixes). When the
    programming cost was priced, the layers and the chip also carry write_energy_pJ and
    write_latency_ns (layers: set_pulses, reset_pulses), and a `programming` section
    holds its breakdown."""
    prog = _programming(result)
    layers = []
    for i, lf in enumerate(result.layers, start=1):
        row = {"layer": i}
        for key, attr, scale in LAYER_COLUMNS:
            row[key] = _num(getattr(lf, attr) * scale)
        if prog is not None:
            for key, attr, scale in WRITE_LAYER_COLUMNS:
                row[key] = _write_value(prog.layers[i - 1], attr, scale)
        layers.append(row)
    chip: dict[str, Any] = {}
    for key, attr in AREA_COLUMNS:
        chip[key] = _num(result.area[attr] * figures.QUANTITIES["area"][2])
    for key, attr in EXTRA_AREA_COLUMNS:           # only with the units of operations.py
        if attr in result.area:
            chip[key] = _num(result.area[attr] * figures.QUANTITIES["area"][2])
    if result.clk_period is not None:
        chip["clock_period_ns"] = _num(result.clk_period * 1e9)
    for key, attr, scale in CHIP_COLUMNS:
        chip[key] = _num(result.chip[attr] * scale)
    if prog is not None:
        chip["write_energy_pJ"] = _num(prog.energy * 1e12)
        chip["write_latency_ns"] = _num(prog.latency * 1e9)
    perf = {"tops_per_w": _num(result.performance["tops_per_w"]),
            "mode": result.performance["mode"],
            "tops": _num(result.performance["tops"]),
            "fps": _num(result.performance["fps"]),
            "tops_per_mm2": _num(result.performance["tops_per_mm2"])}
    out: dict[str, Any] = {"floorplan": result.floorplan.to_json(), "layers": layers,
                           "chip": chip, "performance": perf, "messages": list(result.messages)}
    if result.clk_period is not None:
        out["clk_period_s"] = _num(result.clk_period)
    if prog is not None:
        out["programming"] = programming_dict(prog)
    if getattr(result, "operations", None) is not None:
        from operations import operations_dict
        out["operations"] = operations_dict(result.operations)
    out["runtime_reported_s"] = round(float(result.runtime_s), 3)
    if getattr(result, "config", None) is not None:
        out["config"] = result.config
    if getattr(result, "provenance", None) is not None:
        out["provenance"] = result.provenance
    return out


def programming_dict(prog) -> dict[str, Any]:
    """The programming cost's totals, breakdown and device parameters."""
    b = prog.breakdown
    out: dict[str, Any] = {
        "old_weights": prog.old_source,
        "write_energy_pJ": _num(prog.energy * 1e12),
        "write_latency_ns": _num(prog.latency * 1e9),
        "set_pulses": int(prog.set_pulses), "reset_pulses": int(prog.reset_pulses),
        "cell_energy_pJ": _num(b["cell_energy"] * 1e12),
        "line_energy_pJ": _num(b["line_energy"] * 1e12),
        "periphery_energy_pJ": _num(b["periphery_energy"] * 1e12),
        "pulse_latency_ns": _num(b["pulse_latency"] * 1e9),
        "periphery_latency_ns": _num(b["periphery_latency"] * 1e9),
    }
    d = prog.device
    if d is not None:
        out["device"] = {"memory": d.memory, "write_voltage_V": d.write_voltage,
                         "pulse_width_ns": d.pulse_width * 1e9,
                         "max_levels_ltp": d.levels_ltp, "max_levels_ltd": d.levels_ltd}
    return out


# ------------------------------------------------------------------------------------------
# Text report
# ------------------------------------------------------------------------------------------

def _fmt(x: float, unit: str = "") -> str:
    if not math.isfinite(x):
        return f"{x}"
    return f"{x:.6g}{(' ' + unit) if unit else ''}"


def text_report(result, param=None, cfg=None, traces=None) -> str:
    fp = result.floorplan
    a = result.area
    out = io.StringIO()
    w = out.write
    w("=" * 78 + "\n")
    v15 = (int(param.subArrayRevision) == 15
           or cells.cell_for_code(int(param.memcelltype)).neurosim == "V1.5")
    w(f"Chip estimation (DNN+NeuroSim {'V1.5' if v15 else 'V1.4'} model)\n")
    if param is not None:
        mem = {k.code: k.name for k in cells.CELLS.values()}.get(int(param.memcelltype), "?")
        mode = "parallel" if param.parallelRead else "sequential"
        w(f"  {mem} {mode} read, cellBit {int(param.cellBit)}, {int(param.technode)} nm "
          f"{'HP' if int(param.deviceroadmap) == 1 else 'LSTP'}, sub-array "
          f"{int(param.numRowSubArray)}x{int(param.numColSubArray)}, "
          f"{'pipeline' if fp.pipeline else 'layer-by-layer'}, "
          f"{'H-tree' if param.globalBusType else 'X-Y bus'}\n")
    if traces is not None:
        w(f"  traces: {traces.folder} ({traces.kind}), {len(traces.layers)} layers\n")
    w("\n--- Floor plan " + "-" * 63 + "\n")
    w(f"  conventional tile {int(fp.tile_size_cm)}x{int(fp.tile_size_cm)}, "
      f"PE {int(fp.pe_size_cm)}x{int(fp.pe_size_cm)}")
    if fp.novel_mapping:
        w(f"; novel-mapped tile {int(fp.num_pe_nm)} PEs of {int(fp.pe_size_nm)}x{int(fp.pe_size_nm)}")
    w(f"; sub-array {fp.rows}x{fp.cols}\n")
    w(f"  tiles: {int(fp.total_tiles)} ({fp.num_tile_row}x{fp.num_tile_col} grid), "
      f"memory utilisation {fp.chip_memory_utilization_pct:.2f} %\n")
    w(f"  {'layer':>5} {'mapping':>8} {'tiles':>6} {'speed-up':>9} {'utilisation':>12}\n")
    for i in range(fp.num_layers):
        w(f"  {i + 1:>5} {'novel' if fp.mark_nm[i] else 'conv':>8} "
          f"{int(fp.tiles_per_layer[i]):>6} {int(fp.speedup_per_layer[i]):>9} "
          f"{fp.utilization_each_layer[i]:>12.4f}\n")
    for m in result.messages:
        w(f"  note: {m}\n")

    w("\n--- Per layer " + "-" * 64 + "\n")
    w(f"  {'layer':>5} {'latency ns':>12} {'dyn. pJ':>12} {'leak uW':>10} {'leak pJ':>10} "
      f"{'buf ns':>10} {'buf pJ':>10} {'ic ns':>10} {'ic pJ':>10}\n")
    for i, lf in enumerate(result.layers, start=1):
        w(f"  {i:>5} {lf.read_latency * 1e9:>12.5g} {lf.read_dynamic_energy * 1e12:>12.5g} "
          f"{lf.leakage_power * 1e6:>10.4g} {lf.leakage_energy * 1e12:>10.4g} "
          f"{lf.buffer_latency * 1e9:>10.4g} {lf.buffer_dynamic_energy * 1e12:>10.4g} "
          f"{lf.ic_latency * 1e9:>10.4g} {lf.ic_dynamic_energy * 1e12:>10.4g}\n")
    w(f"  breakdown{'':>2} {'ADC ns':>10} {'accum ns':>10} {'other ns':>10} "
      f"{'ADC pJ':>11} {'accum pJ':>11} {'other pJ':>11}\n")
    for i, lf in enumerate(result.layers, start=1):
        w(f"  {i:>9}   {lf.latency_adc * 1e9:>10.4g} {lf.latency_accum * 1e9:>10.4g} "
          f"{lf.latency_other * 1e9:>10.4g} {lf.energy_adc * 1e12:>11.5g} "
          f"{lf.energy_accum * 1e12:>11.5g} {lf.energy_other * 1e12:>11.5g}\n")
    prog = _programming(result)
    if prog is not None:
        sram = prog.device is not None and prog.device.memory == "SRAM"
        what = "SET/RESET: bit flips 0->1 / 1->0" if sram else "SET/RESET pulses"
        w(f"  programming the weights from {prog.old_source} ({what}, all copies)\n")
        w(f"  {'layer':>5} {'read pJ':>12} {'write pJ':>12} {'read ns':>12} {'write ns':>12} "
          f"{'SET':>12} {'RESET':>12} {'copies':>6}\n")
        for i, (lf, wc) in enumerate(zip(result.layers, prog.layers), start=1):
            w(f"  {i:>5} {lf.read_dynamic_energy * 1e12:>12.5g} {wc.energy * 1e12:>12.5g} "
              f"{lf.read_latency * 1e9:>12.5g} {wc.latency * 1e9:>12.5g} "
              f"{wc.set_pulses:>12d} {wc.reset_pulses:>12d} {wc.copies:>6d}\n")

    c = result.chip
    w("\n--- Chip " + "-" * 69 + "\n")
    w(f"  area                 {_fmt(a['area'] * 1e12, 'um^2')} ({a['area'] * 1e6:.4g} mm^2)\n")
    w(f"    CIM arrays         {_fmt(a['array'] * 1e12, 'um^2')}\n")
    w(f"    interconnect       {_fmt(a['ic'] * 1e12, 'um^2')}\n")
    w(f"    ADC                {_fmt(a['adc'] * 1e12, 'um^2')}\n")
    w(f"    accumulation       {_fmt(a['accum'] * 1e12, 'um^2')}\n")
    w(f"    other periphery    {_fmt(a['other'] * 1e12, 'um^2')}\n")
    if "digital_units" in a:
        w(f"    digital units      {_fmt(a['digital_units'] * 1e12, 'um^2')} (MAC unit / "
          f"special-function unit; see Operations)\n")
    if "dynamic_cells" in a:
        w(f"    dynamic operands   {_fmt(a['dynamic_cells'] * 1e12, 'um^2')} (cells written "
          f"by dynamic products)\n")
    if result.clk_period is not None:
        w(f"  clock period         {_fmt(result.clk_period * 1e9, 'ns')}\n")
    what = "pipeline cycle" if fp.pipeline else "layer-by-layer latency"
    w(f"  latency per image    {_fmt(c['read_latency'] * 1e9, 'ns')} ({what})\n")
    w(f"  dynamic energy       {_fmt(c['read_dynamic_energy'] * 1e12, 'pJ')}\n")
    if prog is not None:
        b = prog.breakdown
        w(f"  write energy         {_fmt(prog.energy * 1e12, 'pJ')} (programming the weights "
          f"from {prog.old_source})\n")
        w(f"    cells / lines / periphery: {_fmt(b['cell_energy'] * 1e12)} / "
          f"{_fmt(b['line_energy'] * 1e12)} / {_fmt(b['periphery_energy'] * 1e12)} pJ\n")
        w(f"  write latency        {_fmt(prog.latency * 1e9, 'ns')} (pulses "
          f"{_fmt(b['pulse_latency'] * 1e9)} ns, periphery "
          f"{_fmt(b['periphery_latency'] * 1e9)} ns)\n")
        w(f"    SET / RESET pulses: {prog.set_pulses} / {prog.reset_pulses}\n")
    w(f"  leakage energy       {_fmt(c['leakage_energy'] * 1e12, 'pJ')}\n")
    w(f"  leakage power        {_fmt(c['leakage_power'] * 1e6, 'uW')}\n")
    w(f"  buffer               {_fmt(c['buffer_latency'] * 1e9, 'ns')}, "
      f"{_fmt(c['buffer_dynamic_energy'] * 1e12, 'pJ')}\n")
    w(f"  interconnect         {_fmt(c['ic_latency'] * 1e9, 'ns')}, "
      f"{_fmt(c['ic_dynamic_energy'] * 1e12, 'pJ')}\n")
    w(f"  latency  ADC / accumulation / other: {_fmt(c['latency_adc'] * 1e9)} / "
      f"{_fmt(c['latency_accum'] * 1e9)} / {_fmt(c['latency_other'] * 1e9)} ns\n")
    w(f"  energy   ADC / accumulation / other: {_fmt(c['energy_adc'] * 1e12)} / "
      f"{_fmt(c['energy_accum'] * 1e12)} / {_fmt(c['energy_other'] * 1e12)} pJ\n")
    perf = result.performance
    w("\n--- Performance (" + perf["mode"] + ") " + "-" * 50 + "\n")
    if "digital_units" in a:
        w("  (weight layers only: their operations, latency, energy and area without the "
          "digital units)\n")
    w(f"  TOPS/W     {_fmt(perf['tops_per_w'])}\n")
    w(f"  TOPS       {_fmt(perf['tops'])}\n")
    w(f"  FPS        {_fmt(perf['fps'])}\n")
    w(f"  TOPS/mm^2  {_fmt(perf['tops_per_mm2'])}\n")
    w(f"  ({result.num_ops:.6g} operations per image; estimated in {result.runtime_s:.2f} s)\n")
    if getattr(result, "operations", None) is not None:
        w(operations_text(result.operations))
    w("=" * 78)
    return out.getvalue()


def operations_text(oc) -> str:
    """The report's operations section: every operation kind with its share of area,
    energy and latency (see operations.py for how each is counted)."""
    out = io.StringIO()
    w = out.write
    w("\n--- Operations (dynamic products: " + oc.dynamic_matmul + ") " + "-" * 30 + "\n")
    w(f"  {'kind':<15}{'ops':>5}{'MACs/elements':>15}{'area um^2':>13}{'energy pJ':>13}"
      f"{'latency ns':>13}   area / energy / latency share\n")
    for kind, v in oc.by_kind.items():
        w(f"  {kind:<15}{v['operations']:>5}{v['count']:>15.6g}{v['area_m2'] * 1e12:>13.6g}"
          f"{v['energy_j'] * 1e12:>13.6g}{v['latency_s'] * 1e9:>13.6g}   "
          f"{v['area_share']:6.1%} / {v['energy_share']:6.1%} / {v['latency_share']:6.1%}\n")
    t = oc.totals
    w(f"  {'total':<15}{'':>20}{t['area_m2'] * 1e12:>13.6g}{t['energy_j'] * 1e12:>13.6g}"
      f"{t['latency_s'] * 1e9:>13.6g}   (operations one after another)\n")
    u = oc.units
    if "mac_energy_per_mac_j" in u:
        w(f"  digital MAC unit: {int(u['mac_lanes'])} lanes, {u['mac_area_m2'] * 1e12:.6g} um^2, "
          f"{u['mac_energy_per_mac_j'] * 1e12:.4g} pJ/MAC, cycle {u['mac_cycle_s'] * 1e9:.4g} ns\n")
    if "crossbar_written_cells" in u:
        w(f"  crossbar: write energy {t['write_energy_j'] * 1e12:.6g} pJ of the dynamic products' "
          f"energy; read {u['crossbar_read_energy_per_mac_j'] * 1e12:.4g} pJ/MAC, "
          f"{int(u['crossbar_written_cells'])} cells for the largest written operand\n")
    w(f"  special-function unit: {int(u['sfu_lanes'])} lanes of {int(u['sfu_bits'])} bits, "
      f"{u['sfu_area_m2'] * 1e12:.6g} um^2\n")
    cu = getattr(oc, "chip_units", None) or {}
    if cu:
        w("  in the chip area and leakage: " + ", ".join(
            f"{name} {v['area_m2'] * 1e12:.6g} um^2, {v['leakage_w'] * 1e6:.4g} uW"
            for name, v in cu.items()) + "\n")
    return out.getvalue()


def operations_csv(oc) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    wr.writerow(["operation", "kind", "name", "count", "energy_pJ", "latency_ns", "write_energy_pJ"])
    for r in oc.rows:
        wr.writerow([r.index, r.kind, r.name, repr(float(r.count)), repr(r.energy_j * 1e12),
                     repr(r.latency_s * 1e9), repr(r.write_energy_j * 1e12)])
    return buf.getvalue()


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------

def _atomic_write(path: str | os.PathLike, data: bytes) -> None:
    from outputs import RunOutputs
    with RunOutputs() as out:
        out.file(path, "output").write_bytes(data)
        out.commit()


def json_text(result) -> str:
    """results.json text, strict JSON: non-finite numbers become null and are listed in
    `messages`."""
    from outputs import dumps_strict
    data = results_dict(result)
    text, found = dumps_strict(data)
    if found:
        data.setdefault("messages", [])
        data["messages"] = list(data["messages"]) + [
            "not finite, written as null: " + ", ".join(found[:10])
            + (f" and {len(found) - 10} more" if len(found) > 10 else "")]
        text, _ = dumps_strict(data)
    return text


def write_json(result, path: str | os.PathLike) -> None:
    _atomic_write(path, json_text(result).encode())


def csv_text(result) -> str:
    buf = io.StringIO()
    wr = csv.writer(buf, lineterminator="\n")
    fp = result.floorplan
    prog = _programming(result)
    extra = [k for k, _, _ in WRITE_LAYER_COLUMNS] if prog is not None else []
    wr.writerow(["layer", "mapping", "tiles", "speedup", "utilization"]
                + [k for k, _, _ in LAYER_COLUMNS] + extra)
    for i, lf in enumerate(result.layers):
        write = []
        if prog is not None:
            write = [str(int(getattr(prog.layers[i], attr))) if scale is None
                     else repr(float(getattr(prog.layers[i], attr) * scale))
                     for _, attr, scale in WRITE_LAYER_COLUMNS]
        wr.writerow([i + 1, "novel" if fp.mark_nm[i] else "conventional",
                     int(fp.tiles_per_layer[i]), int(fp.speedup_per_layer[i]),
                     repr(float(fp.utilization_each_layer[i]))]
                    + [repr(float(getattr(lf, attr) * scale)) for _, attr, scale in LAYER_COLUMNS]
                    + write)
    if getattr(result, "operations", None) is not None:     # second table: every operation
        return buf.getvalue() + "\n" + operations_csv(result.operations)
    return buf.getvalue()


def write_csv(result, path: str | os.PathLike) -> None:
    _atomic_write(path, csv_text(result).encode())


def _plots(result, folder: Path) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = []
    n = len(result.layers)
    idx = list(range(1, n + 1))
    a = result.area

    fig, ax = plt.subplots(figsize=(6, 4))
    parts = [(figures.CATEGORIES[f.category], a[f.name]) for f in figures.AREA_FIGURES
             if f.category != "all"]
    parts += [(label, a[key]) for key, label in (("digital_units", "digital units"),
                                                 ("dynamic_cells", "dynamic cells")) if key in a]
    ax.bar([p[0] for p in parts], [p[1] * 1e6 for p in parts], color="tab:blue")
    if len(parts) > 5:
        ax.tick_params(axis="x", labelrotation=20)
    ax.axhline(a["area"] * 1e6, color="k", ls="--", lw=1, label="chip area")
    ax.set_ylabel("area (mm$^2$)")
    ax.set_title("Chip area breakdown")
    ax.legend()
    fig.tight_layout()
    fig.savefig(folder / "area_breakdown.png", dpi=120)
    plt.close(fig)
    names.append("area_breakdown.png")

    prog = _programming(result)
    for kind, title in (("energy", "Dynamic energy per layer"), ("latency", "Latency per layer")):
        _, unit, scale = figures.QUANTITIES[kind]
        split = [figures.figure_for(kind, c) for c in figures.BREAKDOWN]
        if prog is None:
            fig, ax = plt.subplots(figsize=(7, 4))
        else:
            # the read breakdown, and beside it the one-time cost of writing the weights
            fig, (ax, ax_w) = plt.subplots(1, 2, figsize=(12, 4))
            vals = [(c.energy if kind == "energy" else c.latency) * scale for c in prog.layers]
            src = Path(prog.old_source).name if prog.old_source != "erased" else "erased"
            ax_w.bar(idx, [v if math.isfinite(v) else 0.0 for v in vals], color="tab:red",
                     label=f"write (from {src})")
            ax_w.set_xlabel("layer")
            ax_w.set_ylabel(f"write {kind} ({unit})")
            ax_w.set_xticks(idx)
            ax_w.set_title(f"Programming the weights: {kind} per layer")
            ax_w.legend()
        bottom = [0.0] * n
        for f in split:
            label = figures.CATEGORIES[f.category]
            vals = [getattr(lf, f.name) * scale for lf in result.layers]
            vals = [v if math.isfinite(v) else 0.0 for v in vals]
            ax.bar(idx, vals, bottom=bottom, label=label)
            bottom = [b + v for b, v in zip(bottom, vals)]
        ax.set_xlabel("layer")
        ax.set_ylabel(f"{kind} ({unit})")
        ax.set_xticks(idx)
        ax.set_title(title)
        ax.legend()
        fig.tight_layout()
        name = f"{kind}_breakdown.png"
        fig.savefig(folder / name, dpi=120)
        plt.close(fig)
        names.append(name)
    oc = getattr(result, "operations", None)
    if oc is not None:
        kinds = list(oc.by_kind)
        fig, ax = plt.subplots(figsize=(7, 4))
        left = [0.0, 0.0, 0.0]
        for kind in kinds:
            v = oc.by_kind[kind]
            shares = [v["area_share"] * 100, v["energy_share"] * 100, v["latency_share"] * 100]
            ax.barh(["area", "energy", "latency"], shares, left=left, label=kind)
            left = [a + b for a, b in zip(left, shares)]
        ax.set_xlabel("share of all operations (%)")
        ax.set_title(f"operations (dynamic products: {oc.dynamic_matmul})")
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
        fig.tight_layout()
        fig.savefig(folder / "operations_breakdown.png", dpi=120)
        plt.close(fig)
        names.append("operations_breakdown.png")
    return names


def write_plots(result, folder: str | os.PathLike) -> list[str]:
    """PNG plots and the per-layer CSV into `folder` (created if missing; other files in it
    are left alone). Built in a staging folder first; moved into place only when all are
    complete."""
    from outputs import RunOutputs
    with RunOutputs() as out:
        tmp = out.files_in(folder, "--plots")
        names = _plots(result, tmp)
        (tmp / "layers.csv").write_text(csv_text(result))
        names.append("layers.csv")
        out.commit()
    return names
