#!/usr/bin/env python3
"""How stage 2's run time grows with the network: time `python Chip.py` on seeded synthetic
traces (tools/make_traces.py, npz) of the tables in tools/networks/ (VGG8 at 32, 64 and 128 px,
ResNet-18 at ImageNet size) and print wall time and peak memory per design point.

    python tools/bench_scaling.py [--networks vgg8_32px,resnet18_imagenet] [--repeat 1]
                                  [--preset neurosim-1.4] [--set NAME=VALUE ...]

Trace generation is not timed. The machine's load is printed with the table: timings on a
shared machine are noisy.
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))
from bench_chip import run_once  # noqa: E402  (same timing of a child process)
NETWORKS = ROOT / "tools" / "networks"
DEFAULT = ["vgg8_32px", "vgg8_64px", "vgg8_128px", "resnet18_imagenet"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--networks", default=",".join(DEFAULT))
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--preset", default="neurosim-1.4")
    ap.add_argument("--set", action="append", default=[], dest="settings")
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_scaling_") as tmp:
        for name in args.networks.split(","):
            net = NETWORKS / f"{name}.csv"
            if not net.is_file():
                raise SystemExit(f"error: {net} not found; choose from "
                                 f"{', '.join(p.stem for p in sorted(NETWORKS.glob('*.csv')))}")
            out = Path(tmp) / name
            t0 = time.perf_counter()
            subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
                            str(net), "--out", str(out), "--seed", "1", "--padding", "same",
                            "--format", "npz"], check=True, stdout=subprocess.DEVNULL)
            gen = time.perf_counter() - t0
            cmd = [sys.executable, str(ROOT / "Chip.py"), "--preset", args.preset, "--traces",
                   str(out / "traces.npz"), "--network", str(net), "--quiet",
                   "--json", str(out / "out.json")]
            for s in args.settings:
                cmd += ["--set", s]
            runs = [run_once(cmd) for _ in range(max(1, args.repeat))]
            rows.append((name, sum(1 for line in net.read_text().splitlines() if line.strip()),
                         min(r[0] for r in runs), max(r[1] for r in runs), gen,
                         min(r[2] for r in runs)))
            print(f"{name}: {rows[-1][2]:.2f} s, {rows[-1][3]:.0f} MiB", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    print(f"{'network':22}{'layers':>8}{'Chip.py s':>12}{'cpu s':>8}{'peak MiB':>10}{'traces s':>10}")
    for name, layers, wall, rss, gen, cpu in rows:
        print(f"{name:22}{layers:>8}{wall:>12.2f}{cpu:>8.2f}{rss:>10.0f}{gen:>10.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
