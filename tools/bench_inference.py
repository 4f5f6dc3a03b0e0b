"""Benchmark stage 1: time the whole test set in float, quantized and hardware mode.

    python tools/bench_inference.py                       # default model + default hardware, 2 threads
    python tools/bench_inference.py --preset neurosim-1.4 # NeuroSim V1.4 setup and its accuracy model (batch 200)
    python tools/bench_inference.py --threads 2 --repeat 3 --json /tmp/bench.json

Runs `inference_sim.run` (the same code as `python inference_sim.py`, traces included,
written to a temporary folder) `--repeat` times and reports, for the best run: seconds of the
float, quantized and hardware passes, the cell programming, the end-to-end wall time, images
per second and the ratio hardware / float. Target for the default model on 2 CPU cores: the
10k-image hardware pass within 60 s.

Before / after (issue 12, parallel-read speed):

    python tools/bench_inference.py --before b2cfe10 --modes hardware \
        --set operationmode=2 --set d2d_sigma=0.1 --set c2c_sigma=0.05     # noisy parallel read
    python tools/bench_inference.py --before b2cfe10 --modes hardware \
        --set operationmode=2 --set adc_levels=16                          # no noise, 4-bit ADC

`--before COMMIT` checks COMMIT out into a temporary `git worktree`, runs this same benchmark
there (the old code, same settings, same thread count) and then here, and prints both
hardware passes, per 1000 images, with the speed-up and whether the accuracies agree; the
worktree is removed afterwards. `--before-images N` times the old code on the first N images
only (the old noisy path takes about 25 minutes for 10k images); the speed-up is then the
ratio of seconds per 1000 images and is printed as such.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv=None) -> int:
    from inferenceConfig import add_config_arguments, config_from_args
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    add_config_arguments(p)
    p.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    p.add_argument("--repeat", type=int, default=1, help="runs; the fastest is reported")
    p.add_argument("--json", default=None, help="also write the figures to this JSON file")
    p.add_argument("--progress", action="store_true", help="show progress bars")
    p.add_argument("--modes", default="float,quantized,hardware",
                   help="passes to run (default all three; 'hardware' alone for the read-out)")
    p.add_argument("--before", metavar="COMMIT", default=None,
                   help="also time the code of COMMIT (a temporary git worktree) with the same "
                        "settings and print before / after")
    p.add_argument("--before-images", type=int, default=None, metavar="N",
                   help="with --before: time the old code on the first N images only")
    args = p.parse_args(argv)
    cfg = config_from_args(args)
    if args.before:
        return before_after(args, argv if argv is not None else sys.argv[1:])

    import torch
    import inference_sim
    torch.set_num_threads(args.threads)
    runs = []
    for i in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory() as tmp:
            cfg.run.output_dir = str(Path(tmp) / "layer_record")
            sim_args = inference_sim.build_parser().parse_args(
                ([] if args.progress else ["--no-progress"]) + ["--modes", args.modes]
                + ([] if "hardware" in args.modes else ["--no-traces"]))
            t0 = time.perf_counter()
            try:
                res = inference_sim.run(cfg, sim_args)
            except inference_sim.Stage1Error as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            wall = time.perf_counter() - t0
        runs.append({"wall_s": round(wall, 2), **res["seconds"],
                     "float_acc": res.get("float"), "quantized_acc": res.get("quantized"),
                     "hardware_acc": res.get("hardware"), "num_images": res["num_images"]})
        print(f"run {i + 1}: wall {wall:.1f} s, hardware pass {res['seconds'].get('hardware', 0):.1f} s",
              flush=True)
    best = min(runs, key=lambda r: r.get("hardware", 0))
    n = best["num_images"]
    for m in ("float", "quantized", "hardware"):
        best.setdefault(m, 0.0)
    ratio = best["hardware"] / best["float"] if best["float"] > 0 else float("inf")
    report = {
        "model": cfg.run.model, "num_images": n, "threads": torch.get_num_threads(),
        "operation_mode": cfg.array.operation_mode, "memory_type": cfg.device.memory_type,
        "rows_parallel": cfg.array.effective_rows_parallel, "adc_levels": cfg.precision.adc_levels,
        "float_s": best["float"], "quantized_s": best["quantized"], "hardware_s": best["hardware"],
        "program_cells_s": best.get("program_cells"), "end_to_end_wall_s": best["wall_s"],
        "hardware_images_per_s": round(n / best["hardware"], 1) if best["hardware"] > 0 else None,
        "hardware_over_float": round(ratio, 2) if best["float"] > 0 else None,
        "accuracy": {"float": best["float_acc"], "quantized": best["quantized_acc"],
                     "hardware": best["hardware_acc"]},
        "target_hardware_s": 60.0, "within_target": best["hardware"] <= 60.0,
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs visible, torch {torch.__version__}",
        "runs": runs,
    }
    print(f"\n{cfg.run.model}, {n} images, {report['threads']} threads, "
          f"{cfg.device.memory_type} {cfg.array.operation_mode} "
          f"(rows per conversion {report['rows_parallel']}, ADC levels "
          f"{2 ** cfg.device.cell_bit if cfg.array.operation_mode == 'sequential' else cfg.precision.adc_levels})")
    ran = [m for m in ("float", "quantized", "hardware") if best[m + "_acc"] is not None]
    for m in ran[:-1] if ran[-1:] == ["hardware"] else ran:
        print(f"  {m + ' pass':<15} {best[m]:8.2f} s")
    if "hardware" in ran:
        vs = f", {ratio:.1f}x float" if best["float"] > 0 else ""
        print(f"  hardware pass   {best['hardware']:8.2f} s   ({report['hardware_images_per_s']} images/s"
              f"{vs}; target <= 60 s: {'met' if report['within_target'] else 'MISSED'})")
    print(f"  end to end      {best['wall_s']:8.2f} s   ({', '.join(ran)} pass(es), statistics"
          f"{', traces' if 'hardware' in ran else ''})")
    print("  accuracy        " + ", ".join(f"{m} {best[m + '_acc']:.4f}" for m in
                                            ("float", "quantized", "hardware")
                                            if best[m + "_acc"] is not None))
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


def _strip_before(argv: list[str]) -> list[str]:
    """argv without --before / --before-images / --json (and their values)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        if a in ("--before", "--before-images", "--json"):
            skip = True
            continue
        if a.startswith(("--before=", "--before-images=", "--json=")):
            continue
        out.append(a)
    return out


def _set_images(argv: list[str], n: int) -> list[str]:
    return argv + ["--set", f"num_images={n}"]


def before_after(args, argv: list[str]) -> int:
    """Time COMMIT's code (temporary git worktree) and this tree's with the same settings."""
    import shutil
    import subprocess
    base = _strip_before(argv)
    env = dict(os.environ, OMP_WAIT_POLICY=os.environ.get("OMP_WAIT_POLICY", "PASSIVE"))
    figures = {}
    with tempfile.TemporaryDirectory() as tmp:
        wt = Path(tmp) / "before"
        r = subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", str(wt), args.before],
                           capture_output=True, text=True)
        if r.returncode != 0:
            print(f"error: --before {args.before}: git worktree add failed: {r.stderr.strip()}",
                  file=sys.stderr)
            return 2
        try:
            for so in ROOT.glob("FormulaBindings*.so"):         # the built C++ core (not in git)
                shutil.copy2(so, wt / so.name)
            shutil.copy2(Path(__file__), wt / "tools" / "bench_inference_now.py")
            old_argv = _set_images(base, args.before_images) if args.before_images else base
            for label, tree, script, av in (
                    ("before", wt, wt / "tools" / "bench_inference_now.py", old_argv),
                    ("after", ROOT, Path(__file__), base)):
                out = Path(tmp) / f"{label}.json"
                print(f"--- {label}: {'commit ' + args.before if label == 'before' else 'this tree'} "
                      f"({' '.join(av)})", flush=True)
                r = subprocess.run([sys.executable, str(script), *av, "--json", str(out)],
                                   cwd=str(tree), env=env)
                if r.returncode != 0:
                    print(f"error: the {label} run failed (exit {r.returncode})", file=sys.stderr)
                    return 2
                figures[label] = json.loads(out.read_text())
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(wt)],
                           capture_output=True, text=True)
    b, a = figures["before"], figures["after"]
    per_b = b["hardware_s"] / b["num_images"] * 1000
    per_a = a["hardware_s"] / a["num_images"] * 1000
    print(f"\nbefore / after ({args.before} vs this tree; {a['threads']} threads; "
          f"{a['operation_mode']}, rows per conversion {a['rows_parallel']}, ADC levels {a['adc_levels']})")
    print(f"  before  {b['hardware_s']:9.2f} s for {b['num_images']} images = {per_b:8.2f} s per 1000 images")
    print(f"  after   {a['hardware_s']:9.2f} s for {a['num_images']} images = {per_a:8.2f} s per 1000 images")
    print(f"  speed-up {per_b / per_a:.1f}x" + ("" if b["num_images"] == a["num_images"] else
                                                 " (seconds per 1000 images; different image counts)"))
    same = b["num_images"] == a["num_images"]
    acc_b, acc_a = b["accuracy"]["hardware"], a["accuracy"]["hardware"]
    print(f"  hardware accuracy before {acc_b:.4f}, after {acc_a:.4f}"
          + ("" if not same else ("  (identical)" if acc_b == acc_a else "  (DIFFERENT)")))
    if args.json:
        Path(args.json).write_text(json.dumps({"before_commit": args.before, "before": b, "after": a,
                                               "before_s_per_1000": per_b, "after_s_per_1000": per_a,
                                               "speedup": per_b / per_a}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
