#!/usr/bin/env python3
"""Time stage 2 (`python Chip.py`) on the VGG8 reference traces and compare with the
reference simulator's run time and memory (timing.json of the case). NeuroSim V1.4 cases
compare with its wall time (measured alone), V1.5 cases with its user + sys time (its runs
shared the machine; see neurosim15/README.md).

The traces are regenerated with tools/make_traces.py (seed and padding from the case's
config.json, sha256 checked) into a temporary folder; their generation is not timed. The
estimator then runs as a separate process exactly as a user would start it, and its wall
time (including reading the CSV traces) and peak resident memory are measured.

    python tools/bench_chip.py [--case vgg8_default] [--repeat 3] [--traces DIR]
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


VERSIONS = {"neurosim14": ("neurosim-1.4", "neurosim-1.4"),
            "neurosim15": ("neurosim-1.5", "neurosim-1.5")}


def case_folder(case: str) -> Path:
    for version in VERSIONS:
        for base in (ROOT.parent / "shared" / "reference" / version, ROOT / "tests" / "data" / version):
            if (base / case / "config.json").is_file():
                return base / case
    raise SystemExit(f"error: reference case '{case}' not found")


def make_traces(case_dir: Path, out: Path) -> None:
    meta = json.loads((case_dir / "config.json").read_text())
    gen = meta["trace_generation"]
    cmd = [sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
           str(case_dir / "network.csv"), "--out", str(out), "--seed", str(gen["seed"]),
           "--padding", gen["padding"], "--input-format", VERSIONS[case_dir.parent.name][1]]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
    for name, digest in gen.get("sha256_of_csv", {}).items():
        got = hashlib.sha256((out / name).read_bytes()).hexdigest()
        if got != digest:
            raise SystemExit(f"error: {name}: sha256 {got} differs from the reference "
                             f"traces ({digest}); numpy's generator changed?")


def chip_command(case_dir: Path, traces: Path, json_out: Path) -> list[str]:
    meta = json.loads((case_dir / "config.json").read_text())
    sets = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    sets += [f"{k}={v}" for k, v in meta["argv"].items()]
    cmd = [sys.executable, str(ROOT / "Chip.py"), "--preset", VERSIONS[case_dir.parent.name][0], "--traces",
           str(traces), "--network", str(case_dir / "network.csv"), "--json", str(json_out),
           "--quiet"]
    for s in sets:
        cmd += ["--set", s]
    return cmd


def run_once(cmd: list[str]) -> tuple[float, float, float]:
    """Wall seconds, peak RSS (MiB) and CPU seconds (user + sys) of one child process."""
    # as a user runs it: Python caches compiled modules (a PYTHONDONTWRITEBYTECODE=1 in the
    # calling shell would add their compilation to every run)
    env = dict(os.environ, OMP_WAIT_POLICY="PASSIVE")
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status != 0:
        raise SystemExit(f"error: Chip.py failed (status {status}): {shlex.join(cmd)}")
    return wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--case", default="vgg8_default")
    ap.add_argument("--repeat", type=int, default=3, help="runs; the best wall time is reported")
    ap.add_argument("--traces", default=None, help="use this trace folder instead of regenerating")
    args = ap.parse_args()
    case_dir = case_folder(args.case)
    timing = json.loads((case_dir / "timing.json").read_text()) if (case_dir / "timing.json").is_file() else {}
    with tempfile.TemporaryDirectory(prefix="bench_chip_") as tmp:
        tmp = Path(tmp)
        traces = Path(args.traces) if args.traces else tmp / "traces"
        if not args.traces:
            t0 = time.perf_counter()
            make_traces(case_dir, traces)
            print(f"traces regenerated in {time.perf_counter() - t0:.1f} s (not timed)")
        cmd = chip_command(case_dir, traces, tmp / "out.json")
        runs = [run_once(cmd) for _ in range(max(1, args.repeat))]
        best = min(r[0] for r in runs)
        peak = max(r[1] for r in runs)
        v15 = case_dir.parent.name == "neurosim15"
        ref_wall = timing.get("cpu_s") if v15 else timing.get("wall_s")
        ref_rss = (timing.get("stock_alone") or {}).get("max_rss_kB")
        print(f"case {args.case}: {len(runs)} run(s) of `python Chip.py` on the CSV traces")
        print(f"  {'':22}{'this estimator':>16}{'reference':>12}{'ratio':>10}")
        ratio = f"{ref_wall / best:.1f}x" if ref_wall else "-"
        label = "wall (ref: user+sys) s" if v15 else "wall time (s)"
        print(f"  {label:22}{best:>16.2f}{ref_wall if ref_wall else '-':>12}{ratio:>10}")
        ref_mib = ref_rss / 1024.0 if ref_rss else None
        ratio_m = f"{peak / ref_mib:.2f}" if ref_mib else "-"
        print(f"  {'peak memory (MiB)':22}{peak:>16.0f}"
              f"{(f'{ref_mib:.0f}' if ref_mib else '-'):>12}{ratio_m:>10}")
        print(f"  all wall times: {', '.join(f'{r[0]:.2f}' for r in runs)} s")
        # on a loaded machine the CPU time is the steadier measure (NeuroSim is single-threaded)
        cpu = min(r[2] for r in runs)
        ref_cpu = timing.get("cpu_s") or ((timing.get("stock_alone") or {}).get("user_s", 0)
                                          + (timing.get("stock_alone") or {}).get("sys_s", 0))
        ratio_c = f"{ref_cpu / cpu:.1f}x" if ref_cpu and cpu > 0 else "-"
        print(f"  {'cpu user+sys (s)':22}{cpu:>16.2f}{(f'{ref_cpu:.2f}' if ref_cpu else '-'):>12}"
              f"{ratio_c:>10}   (load average {os.getloadavg()[0]:.1f})")
        if ref_wall:
            goal = ref_wall / 100
            print(f"  target: >= 100x faster (<= {goal:.2f} s) and <= {ref_mib / 1024:.2f} GB: "
                  f"{'met' if best <= goal and (not ref_mib or peak <= ref_mib) else 'NOT met'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
