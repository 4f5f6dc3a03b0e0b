#!/usr/bin/env python3
"""Design points per minute of `sweep.py` (stage 2 only) on the VGG8 reference traces,
serially and with a local process pool, next to a fresh `python Chip.py` process per point.

The traces are regenerated, seeded, from the reference case's config.json (sha256 checked,
as tools/bench_chip.py does); their generation is not timed. Each sweep runs into a fresh
results folder (no resumed points) and its wall time counts everything a user waits for:
reading and hashing the traces, starting the workers (each reads the traces once), every
point, the table and the Pareto front (plots off). The CPU seconds per point (this
process and its workers) are printed too: on a machine shared with other jobs the wall
rates fall with the load, the CPU cost per point much less.

    python tools/bench_sweep.py [--grid sram|table7|all] [--workers 2] [--traces DIR]

Grids: `sram` (NeuroSim's SRAM default, 5 x 4 x 2 = 40 points over rows in parallel, ADC
levels and columns per ADC) and `table7` (SRAM and RRAM, 32/64/128 rows in parallel, ADC
3..7 bits: 30 points, the shape of NeuroSim's Table VII study).
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tools"))

GRIDS = {
    "sram": ["numRowParallel=8,16,32,64,128", "levelOutput=8,16,32,64", "numColMuxed=4,8"],
    "table7": ["memcelltype=1,2", "numRowParallel=32,64,128", "levelOutput=8,16,32,64,128"],
}


def _cpu() -> float:
    """CPU seconds of this process and its finished children (the pool's workers)."""
    import resource
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def sweep_once(traces: Path, grid: list[str], workers: int) -> tuple[float, float, int]:
    """(wall s, CPU s, points priced) of one fresh sweep."""
    import dse
    spec = dse.SweepSpec(axes=[dse.parse_grid(g) for g in grid], preset="neurosim-1.4",
                         traces=str(traces))
    with tempfile.TemporaryDirectory() as tmp:
        c0, t0 = _cpu(), time.perf_counter()
        res = dse.run_sweep(spec, Path(tmp) / "out", workers=workers, progress=False,
                            plots=False, log=lambda m: None)
        wall, cpu = time.perf_counter() - t0, _cpu() - c0
    ok = int((res.table["status"] == "ok").sum())
    return wall, cpu, ok


def fresh_process_seconds(case_dir: Path, traces: Path) -> float:
    from bench_chip import chip_command
    with tempfile.TemporaryDirectory() as tmp:
        cmd = chip_command(case_dir, traces, Path(tmp) / "r.json")
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL,
                       env=dict(os.environ, OMP_WAIT_POLICY="PASSIVE"))
        return time.perf_counter() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", choices=[*GRIDS, "all"], default="all")
    ap.add_argument("--workers", type=int, default=2, help="pool size of the parallel run")
    ap.add_argument("--case", default="vgg8_default", help="reference case giving the traces")
    ap.add_argument("--traces", default=None, help="use this trace folder instead of regenerating")
    args = ap.parse_args()
    from bench_chip import case_folder, make_traces
    case_dir = case_folder(args.case)
    with tempfile.TemporaryDirectory() as tmp:
        traces = Path(args.traces) if args.traces else Path(tmp) / "traces"
        if not args.traces:
            make_traces(case_dir, traces)
            (traces / "network.csv").write_bytes((case_dir / "network.csv").read_bytes())
        print(f"traces: {args.case} ({traces}); machine: {os.cpu_count()} cores")
        fresh = fresh_process_seconds(case_dir, traces)
        print(f"fresh `python Chip.py` process, one point: {fresh:.2f} s "
              f"({60 / fresh:.0f} points/min)")
        for name in (GRIDS if args.grid == "all" else [args.grid]):
            grid = GRIDS[name]
            load0 = os.getloadavg()[0]
            s_wall, s_cpu, n = sweep_once(traces, grid, 1)
            p_wall, p_cpu, n2 = sweep_once(traces, grid, args.workers)
            assert n == n2
            s_rate, p_rate = 60 * n / s_wall, 60 * n / p_wall
            print(f"grid {name} ({n} points: {' x '.join(grid)}); load average before: "
                  f"{load0:.1f}, after: {os.getloadavg()[0]:.1f}")
            print(f"  serial     {s_wall:7.2f} s  {s_rate:7.0f} points/min  "
                  f"({s_wall / n:.3f} s/point, {fresh / (s_wall / n):.1f}x a fresh process; "
                  f"CPU {s_cpu / n:.3f} s/point)")
            print(f"  {args.workers} workers  {p_wall:7.2f} s  {p_rate:7.0f} points/min  "
                  f"({p_rate / s_rate:.2f}x serial; CPU {p_cpu / n:.3f} s/point incl. "
                  f"worker start-up)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
