#!/usr/bin/env python3
"""Replay every DNN+NeuroSim V1.4 and NeuroSim V1.5 reference case with `python Chip.py` and
print, per case and figure, our value, NeuroSim's and the relative error.

Cases come from ../shared/reference/neurosim14/ and neurosim15/ (next to this checkout) when
present, else from tests/data/neurosim14/ and neurosim15/. For each case the traces are
regenerated with tools/make_traces.py into a temporary folder (seed and padding from
config.json; V1.5 cases with V1.5's integer input format; sha256 checked) and the case is
replayed with exactly

    python Chip.py --preset neurosim-1.4 --traces DIR --network FILE --set NAME=VALUE ... --json OUT

(`--preset neurosim-1.5` for the V1.5 cases), where the --set pairs are config.json's
Param.cpp changes ("used" values) and argv.

    python tools/validate_neurosim.py [--cases small_default,vgg8_default] [--small]
                                      [--all-figures] [--tol 0.01]

Exit status 1 if any finite reference figure differs by more than --tol (default 1 %).
Figures NeuroSim printed as inf/nan are shown and not counted.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


# reference folder -> (preset, input CSV format) of its NeuroSim version
VERSIONS = {"neurosim14": ("neurosim-1.4", "neurosim-1.4"),
            "neurosim15": ("neurosim-1.5", "neurosim-1.5")}


def reference_root(version: str = "neurosim14") -> Path:
    shared = ROOT.parent / "shared" / "reference" / version
    return shared if shared.is_dir() else ROOT / "tests" / "data" / version


def version_of(case_dir: Path) -> tuple[str, str]:
    """(preset, input format) of a case, from the folder it lives in."""
    return VERSIONS[case_dir.parent.name]


def make_traces(case_dir: Path, out: Path) -> None:
    meta = json.loads((case_dir / "config.json").read_text())
    gen = meta["trace_generation"]
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
                    str(case_dir / "network.csv"), "--out", str(out), "--seed", str(gen["seed"]),
                    "--padding", gen["padding"], "--input-format", version_of(case_dir)[1]],
                   check=True, stdout=subprocess.DEVNULL)
    for name, digest in gen.get("sha256_of_csv", {}).items():
        got = hashlib.sha256((out / name).read_bytes()).hexdigest()
        if got != digest:
            raise RuntimeError(f"{case_dir.name}: {name} sha256 {got[:12]}... differs from the "
                               f"reference ({digest[:12]}...)")


def replay(case_dir: Path, traces: Path, out_json: Path) -> float:
    meta = json.loads((case_dir / "config.json").read_text())
    cmd = [sys.executable, str(ROOT / "Chip.py"), "--preset", version_of(case_dir)[0], "--traces",
           str(traces), "--network", str(case_dir / "network.csv"), "--json", str(out_json),
           "--quiet"]
    for k, v in meta["param_changes_vs_shipped_Param.cpp"].items():
        cmd += ["--set", f"{k}={v['used']}"]
    for k, v in meta["argv"].items():
        cmd += ["--set", f"{k}={v}"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True,
                          env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
    if proc.returncode != 0:
        raise RuntimeError(f"{case_dir.name}: Chip.py exit {proc.returncode}: "
                           f"{proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ''}")
    return time.perf_counter() - t0


def _f(x) -> float:
    return float(x) if not isinstance(x, str) else float(x.replace("-nan", "nan"))


def figures(res: dict) -> dict[str, float]:
    """Flatten a results.json-shaped dict to figure name -> value."""
    out = {}
    for k, v in res["chip"].items():
        out[f"chip.{k}"] = _f(v)
    for k, v in res["performance"].items():
        if k != "mode":
            out[f"performance.{k}"] = _f(v)
    for layer in res["layers"]:
        for k, v in layer.items():
            if k != "layer":
                out[f"layers[{layer['layer']}].{k}"] = _f(v)
    if "clk_period_s" in res:
        out["clk_period_s"] = _f(res["clk_period_s"])
    fp = res["floorplan"]
    out["floorplan.chip_memory_utilization_pct"] = _f(fp["chip_memory_utilization_pct"])
    if not math.isfinite(out.get("chip.read_latency_ns", 0.0)):
        # NeuroSim divides by an infinite latency here and prints 0: not a usable figure
        for k in ("performance.tops", "performance.fps", "performance.tops_per_mm2"):
            out[k] = math.nan
    return out


def rel_err(ours: float, ref: float) -> float:
    if ref == 0:
        return 0.0 if ours == 0 else math.inf
    return abs(ours - ref) / abs(ref)


HEADLINE = ["chip.area_um2", "clk_period_s", "chip.read_latency_ns", "chip.read_dynamic_energy_pJ",
            "chip.leakage_energy_pJ", "chip.leakage_power_uW", "performance.tops_per_w",
            "performance.tops", "performance.fps", "performance.tops_per_mm2"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--cases", default=None, help="comma-separated case names (default: all)")
    ap.add_argument("--small", action="store_true", help="only the small_* cases")
    ap.add_argument("--all-figures", action="store_true", help="print every figure, not the headline")
    ap.add_argument("--tol", type=float, default=0.01, help="relative tolerance (default 0.01)")
    args = ap.parse_args()
    roots = [reference_root(v) for v in VERSIONS]
    cases = [p for root in roots if root.is_dir() for p in sorted(root.iterdir())
             if (p / "config.json").is_file() and (p / "results.json").is_file()]
    if args.cases:
        want = set(args.cases.split(","))
        cases = [c for c in cases if c.name in want]
    if args.small:
        cases = [c for c in cases if c.name.startswith("small_")]
    print(f"reference cases from {', '.join(str(r) for r in roots)}")
    failures = 0
    summary = []
    with tempfile.TemporaryDirectory(prefix="validate_neurosim_") as tmp:
        tmp = Path(tmp)
        for case in cases:
            traces = tmp / case.name
            try:
                make_traces(case, traces)
                wall = replay(case, traces, tmp / f"{case.name}.json")
            except (RuntimeError, subprocess.CalledProcessError) as exc:
                print(f"\n{case.name}: FAILED: {exc}")
                failures += 1
                summary.append((case.name, math.nan, "error", 0.0))
                continue
            ours = figures(json.loads((tmp / f"{case.name}.json").read_text()))
            ref = figures(json.loads((case / "results.json").read_text()))
            names = sorted(ref) if args.all_figures else [n for n in HEADLINE if n in ref]
            worst, worst_name, bad = 0.0, "", 0
            for n in ref:
                if n not in ours or not math.isfinite(ref[n]):
                    continue
                e = rel_err(ours[n], ref[n])
                if e > worst:
                    worst, worst_name = e, n
                if e > args.tol:
                    bad += 1
            print(f"\n{case.name}  ({wall:.1f} s)")
            print(f"  {'figure':44} {'ours':>16} {'NeuroSim':>16} {'rel. error':>11}")
            for n in names:
                r = ref[n]
                o = ours.get(n, math.nan)
                e = rel_err(o, r) if math.isfinite(r) else math.nan
                flag = "" if not math.isfinite(r) else ("  <-- off" if e > args.tol else "")
                es = f"{e:11.2e}" if math.isfinite(r) else "   (ref n/a)"
                print(f"  {n:44} {o:16.8g} {r:16.8g} {es}{flag}")
            print(f"  worst finite figure: {worst_name} {worst:.2e}; {bad} figure(s) beyond "
                  f"{args.tol:g}")
            failures += bad > 0
            summary.append((case.name, worst, worst_name, wall))
    print("\nsummary (worst relative error over every finite figure)")
    for name, worst, wname, wall in summary:
        print(f"  {name:28} {worst:10.2e}  {wname:48} {wall:6.1f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
