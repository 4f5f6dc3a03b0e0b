"""Design-space exploration: price many chip configurations on the same traces.

    python sweep.py --traces DIR --out RESULTS --grid array.rows=64,128,256 \\
                    --grid adc_levels=8,16,32 --grid memcelltype=1,2
    python sweep.py --traces DIR --out RESULTS --sample 200 --method lhs --seed 0 \\
                    --range device.r_on=5e4:2e5:log --grid numRowParallel=16,32,64
    python sweep.py --spec examples/table7.yaml --out RESULTS
    python sweep.py --out RESULTS --stage1 --grid levelOutput=4,8,16 --set num_images=1000
    python sweep.py ... --workers 4            # local process pool (default: all cores)
    python sweep.py ... --ray [ADDRESS]        # a Ray cluster (ray is an optional extra)

Writes RESULTS/results.csv and RESULTS/results.parquet (one row per point: the swept
settings, status and error, area/latency/energy/TOPS/TOPS/W, accuracy with --stage1, and
whether the point is on the Pareto front of --objectives), pareto.png, sensitivity.png,
sweep.json (the sweep and the base configuration) and points/<id>.json (each point's full
configuration, figures and provenance). Re-running the same command skips the points
already in RESULTS (content-addressed by configuration and traces hash), so an interrupted
sweep resumes where it stopped. A bad sweep specification is one error line, exit status 2;
an invalid combination of settings is recorded for its point and skipped.
"""
from __future__ import annotations

import os

if __name__ == "__main__":
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse
import sys

from inferenceConfig import add_config_arguments


class _Parser(argparse.ArgumentParser):
    """Command-line mistakes as one error line, exit status 2 (like every bad spec)."""

    def error(self, message: str):
        print(f"error: {message} (see python sweep.py --help)", file=sys.stderr)
        sys.exit(2)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        description="Sweep chip configurations (grid, random or Latin-hypercube sample, or "
                    "a YAML file) on one set of traces; results table, Pareto front, plots.",
        epilog="Setting names are those --set takes (section.field, a unique field name, or "
               "a DNN+NeuroSim Param.cpp name); `python Chip.py --list-settings` lists them.")
    p.add_argument("--traces", metavar="DIR", default=None,
                   help="trace folder as Chip.py takes it (default: the configured model's "
                        "layer_record_<model>/; not used with --stage1)")
    p.add_argument("--network", metavar="FILE", default=None,
                   help="network CSV for a DNN+NeuroSim trace folder without network.csv")
    p.add_argument("--image", type=int, default=0, help="traced image to use (stage-1 traces)")
    p.add_argument("--out", metavar="RESULTS_DIR", default=None,
                   help="results folder (created; an existing one is resumed)")
    p.add_argument("--spec", metavar="FILE", default=None,
                   help="YAML sweep file (grid, ranges, sample, objectives, ...); command-line "
                        "axes are added to its axes, other options override it")
    p.add_argument("--grid", metavar="NAME=V1,V2,...", action="append", default=[],
                   help="a swept setting and its values (repeatable)")
    p.add_argument("--range", metavar="NAME=LO:HI[:log][:int]", action="append", default=[],
                   dest="ranges", help="a numeric setting sampled over [LO, HI] (with --sample)")
    p.add_argument("--sample", type=int, default=None, metavar="N",
                   help="sample N points over the axes instead of the full grid")
    p.add_argument("--method", choices=["lhs", "random"], default=None,
                   help="sampling method (default lhs: Latin hypercube)")
    p.add_argument("--seed", type=int, default=None, help="sampling seed (default 0)")
    p.add_argument("--objectives", default=None, metavar="COL:max|min,...",
                   help="Pareto objectives (default tops_per_w:max,area_mm2:min, plus "
                        "hardware_accuracy:max with --stage1)")
    p.add_argument("--stage1", action="store_true",
                   help="also run stage 1 (accuracy and traces) per point; it reruns only when "
                        "a setting it reads changes")
    p.add_argument("--workers", type=int, default=None,
                   help="parallel workers (default: the CPU cores; 1 = serial)")
    p.add_argument("--ray", nargs="?", const="local", default=None, metavar="ADDRESS",
                   help="run on Ray: a local Ray instance, or the cluster at ADDRESS "
                        "('auto', 'ray://host:10001', ...)")
    p.add_argument("--no-plots", action="store_true", help="write no PNG plots")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    add_config_arguments(p)
    return p


def build_spec(args):
    from dse import (STAGE1_COLUMNS, STAGE2_COLUMNS, SweepSpec, SweepSpecError,
                     load_spec_file, parse_grid, parse_objectives, parse_range)
    file = load_spec_file(args.spec) if args.spec else {}
    spec = SweepSpec(axes=list(file.get("axes", [])))
    spec.axes += [parse_grid(g) for g in args.grid]
    spec.axes += [parse_range(r) for r in args.ranges]
    spec.sample = args.sample if args.sample is not None else file.get("sample")
    spec.method = args.method or file.get("method", "lhs")
    spec.seed = args.seed if args.seed is not None else file.get("seed", 0)
    spec.preset = args.preset or file.get("preset")
    spec.config_file = args.config or file.get("config")
    spec.settings = list(file.get("settings", [])) + list(args.settings)
    spec.traces = args.traces or file.get("traces")
    spec.network = args.network or file.get("network")
    spec.image = args.image if args.image else file.get("image", 0)
    spec.stage1 = bool(args.stage1 or file.get("stage1", False))
    if spec.stage1 and spec.traces is not None:
        raise SweepSpecError("--stage1 makes its own traces per point; drop --traces (or "
                             "drop --stage1 to price the given traces)")
    objectives = args.objectives if args.objectives is not None else file.get("objectives")
    if objectives is not None:
        cols = STAGE2_COLUMNS + (STAGE1_COLUMNS if spec.stage1 else ())
        spec.objectives = parse_objectives(objectives, cols)
    if args.workers is not None and args.workers < 1:
        raise SweepSpecError(f"--workers: {args.workers}; give 1 or more")
    return spec


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.list_settings:
        from inferenceConfig import config_from_args
        config_from_args(args)                 # prints and exits
    from dse import SweepSpecError, make_points, run_sweep
    if not args.out:
        print("error: --out RESULTS_DIR is required (the folder for results.csv, "
              "results.parquet and the plots)", file=sys.stderr)
        return 2
    try:
        spec = build_spec(args)
        n = len(make_points(spec))
        # Ray: one worker per CPU of the cluster unless --workers says otherwise
        workers = args.workers if args.ray else (args.workers or os.cpu_count() or 1)
        how = (f"Ray ({args.ray}, {workers or 'all'} workers)" if args.ray else
               f"{workers} local workers" if workers > 1 else "serially")
        print(f"sweep: {n} design points, {how}, results in {args.out}", flush=True)
        res = run_sweep(spec, args.out, workers=workers, use_ray=args.ray is not None,
                        ray_address=None if args.ray in (None, "local") else args.ray,
                        progress=not args.quiet, plots=not args.no_plots)
    except SweepSpecError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"error: cannot write the results: {exc}", file=sys.stderr)
        return 2
    df = res.table
    ok = df[df["status"] == "ok"]
    print(f"{len(df)} points: {len(ok)} priced ({res.evaluated} now, {res.reused} from "
          f"{args.out}), {res.invalid} invalid")
    for _, row in df[df["status"] != "ok"].head(10).iterrows():
        print(f"  invalid point {row['point']}: {row['error']}")
    front = ok[ok["pareto"]]
    if len(front):
        cols = [c for c in df.columns if c not in ("id", "status", "error", "pareto")]
        show = [c for c in cols if c in ("point",) or c in [a.name for a in spec.axes]]
        show += [c for c in ("tops_per_w", "area_mm2", "latency_ns", "energy_pJ",
                             "hardware_accuracy") if c in df.columns]
        print(f"Pareto front ({len(front)} points):")
        print(front[show].to_string(index=False))
    print("wrote " + ", ".join(f"{args.out}/{f}" for f in res.files))
    return 0


if __name__ == "__main__":
    sys.exit(main())
