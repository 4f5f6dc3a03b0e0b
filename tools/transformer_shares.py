#!/usr/bin/env python3
"""Per-operation-kind shares of a stage-1 trace folder for both `dynamic_matmul` choices,
with one estimate of the weight layers (they do not depend on that setting).

`python Chip.py --traces DIR --set dynamic_matmul=digital` and `... =crossbar` give the same
figures; each of them runs the weight layers' read model again, which on large token
counts (GPT-2 small at T = 1024) is nearly all of stage 2's time. This script runs it once
and prices the other operations (operations.py) under both choices, then prints the
markdown tables of docs/transformers.md, the chip area with the units of each choice, and
the times (wall, user + sys CPU, peak memory).

    python tools/transformer_shares.py --traces layer_record_gpt2_small [--image 0]
"""
from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse          # noqa: E402
import copy              # noqa: E402
import resource          # noqa: E402
import sys               # noqa: E402
import time              # noqa: E402
from pathlib import Path  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def table(oc) -> str:
    lines = ["| kind | ops | MACs / elements | area share | energy share | latency share | "
             "energy (nJ) |", "|---|---|---|---|---|---|---|"]
    for kind, v in oc.by_kind.items():
        lines.append(f"| {kind} | {v['operations']} | {v['count']:.4g} | {v['area_share']:.1%} | "
                     f"{v['energy_share']:.1%} | {v['latency_share']:.1%} | "
                     f"{v['energy_j'] * 1e9:.4g} |")
    t = oc.totals
    lines.append("")
    lines.append(f"Total {t['energy_j'] * 1e6:.4g} µJ, {t['latency_s'] * 1e3:.4g} ms one "
                 f"operation after another"
                 + (f", of which writing cells {t['write_energy_j'] * 1e6:.4g} µJ"
                    if t["write_energy_j"] else "") + ".")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--traces", required=True, help="a stage-1 trace folder with operations")
    p.add_argument("--image", type=int, default=0)
    p.add_argument("--set", dest="settings", action="append", default=[],
                   help="NAME=VALUE on top of the recorded configuration (repeatable)")
    args = p.parse_args(argv)

    import Chip
    from chip_traces import TraceError, load_traces
    from inferenceConfig import ConfigError
    from operations import add_units_to_chip, price_operations, read_operations
    from resolve import resolve_config

    t0, c0 = time.perf_counter(), _cpu()
    try:
        cfg, _ = resolve_config(None, None, args.settings, traces=args.traces)
        param = cfg.to_param()
        param.validate()
        ops = read_operations(args.traces)
        if not ops:
            raise TraceError(f"{args.traces}: the manifest lists no operations")
        traces = load_traces(args.traces, None, int(param.synapseBit), int(param.numBitInput),
                             float(param.algoWeightMin), float(param.algoWeightMax), args.image)
        t_load, c_load = time.perf_counter() - t0, _cpu() - c0
        result = Chip._estimate_checked(param, traces, None, None)
    except (TraceError, ConfigError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    t_est, c_est = time.perf_counter() - t0, _cpu() - c0
    base_area = result.area["area"]
    print(f"traces {args.traces}: {len(traces.layers)} weight layers, {len(ops)} operations; "
          f"chip area of the weight layers {base_area * 1e6:.4g} mm^2")
    print(f"reading the traces: {t_load:.1f} s wall, {c_load:.1f} s CPU; weight layers' "
          f"estimate (write cost included): {t_est - t_load:.1f} s wall, "
          f"{c_est - c_load:.1f} s CPU")
    for mode in ("digital", "crossbar"):
        m_cfg = copy.deepcopy(cfg)
        m_cfg.set("dynamic_matmul", mode, source="transformer_shares")
        m_cfg.validate()
        t1, c1 = time.perf_counter(), _cpu()
        oc = price_operations(param, m_cfg, result, args.traces, ops, args.image)
        res = copy.copy(result)
        res.area, res.chip = dict(result.area), dict(result.chip)
        add_units_to_chip(res, oc)
        print(f"\n`dynamic_matmul={mode}` (operations priced in {time.perf_counter() - t1:.1f} s "
              f"wall, {_cpu() - c1:.1f} s CPU; chip area with its units "
              f"{res.area['area'] * 1e6:.4g} mm^2):\n")
        print(table(oc))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\nwhole run: {time.perf_counter() - t0:.1f} s wall, {_cpu() - c0:.1f} s CPU "
          f"(user + sys), peak memory {peak:.0f} MB; load average now "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
