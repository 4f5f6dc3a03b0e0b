"""Benchmark stage 1: time the whole test set in float, quantized and hardware mode.

    python tools/bench_inference.py                       # default model + default hardware, 2 threads
    python tools/bench_inference.py --preset neurosim-1.4 # NeuroSim V1.4 setup and its accuracy model (batch 200)
    python tools/bench_inference.py --threads 2 --repeat 3 --json /tmp/bench.json

Runs `inference_sim.run` (the same code as `python inference_sim.py`, traces included,
written to a temporary folder) `--repeat` times and reports, for the best run: seconds of the
float, quantized and hardware passes, the cell programming, the end-to-end wall time, images
per second and the ratio hardware / float. Target for the default model on 2 CPU cores: the
10k-image hardware pass within 60 s.
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
    args = p.parse_args(argv)
    cfg = config_from_args(args)

    import torch
    import inference_sim
    torch.set_num_threads(args.threads)
    runs = []
    for i in range(max(1, args.repeat)):
        with tempfile.TemporaryDirectory() as tmp:
            cfg.run.output_dir = str(Path(tmp) / "layer_record")
            sim_args = inference_sim.build_parser().parse_args(
                [] if args.progress else ["--no-progress"])
            t0 = time.perf_counter()
            try:
                res = inference_sim.run(cfg, sim_args)
            except inference_sim.Stage1Error as exc:
                print(f"error: {exc}", file=sys.stderr)
                return 2
            wall = time.perf_counter() - t0
        runs.append({"wall_s": round(wall, 2), **res["seconds"],
                     "float_acc": res["float"], "quantized_acc": res["quantized"],
                     "hardware_acc": res["hardware"], "num_images": res["num_images"]})
        print(f"run {i + 1}: wall {wall:.1f} s, hardware pass {res['seconds']['hardware']:.1f} s",
              flush=True)
    best = min(runs, key=lambda r: r["hardware"])
    n = best["num_images"]
    ratio = best["hardware"] / best["float"] if best["float"] > 0 else float("inf")
    report = {
        "model": cfg.run.model, "num_images": n, "threads": torch.get_num_threads(),
        "operation_mode": cfg.array.operation_mode, "memory_type": cfg.device.memory_type,
        "rows_parallel": cfg.array.effective_rows_parallel, "adc_levels": cfg.precision.adc_levels,
        "float_s": best["float"], "quantized_s": best["quantized"], "hardware_s": best["hardware"],
        "program_cells_s": best.get("program_cells"), "end_to_end_wall_s": best["wall_s"],
        "hardware_images_per_s": round(n / best["hardware"], 1),
        "hardware_over_float": round(ratio, 2),
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
    print(f"  float pass      {best['float']:8.2f} s")
    print(f"  quantized pass  {best['quantized']:8.2f} s")
    print(f"  hardware pass   {best['hardware']:8.2f} s   ({report['hardware_images_per_s']} images/s, "
          f"{ratio:.1f}x float; target <= 60 s: {'met' if report['within_target'] else 'MISSED'})")
    print(f"  end to end      {best['wall_s']:8.2f} s   (three passes, statistics, traces)")
    print(f"  accuracy        float {best['float_acc']:.4f}, quantized {best['quantized_acc']:.4f}, "
          f"hardware {best['hardware_acc']:.4f}")
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
