"""Stage 1: hardware-aware inference on the simulated compute-in-memory chip.

    python inference_sim.py                                   # default model, default hardware
    python inference_sim.py --set operationmode=2 --set levelOutput=16
    python inference_sim.py --preset neurosim-1.4 --neurosim-csv
    python inference_sim.py --set model=lenet5 --set checkpoint=checkpoints/lenet5.pt

Runs the model's test set three times: in float, quantized-ideal (weights and activations
quantized, exact integer products) and hardware mode (the crossbar model of cim/: weight
slicing into cells, conductances with a finite on/off ratio and a reference column, bit-serial
inputs, partial sums per row group, ADC, shift-and-add, device non-idealities). Prints the
three accuracies and per-layer statistics, and writes `layer_record_<model>/`:
manifest.json, layer<k>.npz (input bits and weight codes of the sampled images),
accuracy.json, predictions.npz and, with --neurosim-csv, DNN+NeuroSim V1.4 input files in
neurosim/. The folder appears only when the run succeeds (staged and renamed by
outputs.RunOutputs); an existing folder is replaced only if stage 1 wrote it (its
manifest.json), and an unwritable one is refused before the run. The dataset is never
downloaded (or its folder created) unless --download is given. Bad input (unknown model, checkpoint that does not fit, NaN weights, a model or
config that cannot be mapped, wrong input shape, missing data) gives one error line and exit
status 2. See docs/stage1.md and traces.py for the formats.
"""
from __future__ import annotations

import argparse
import datetime
import sys
import time
from dataclasses import dataclass, fields, replace
from pathlib import Path

import numpy as np
import torch


class Stage1Error(Exception):
    """Bad input: reported as one line on stderr, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    from inferenceConfig import add_config_arguments
    p = argparse.ArgumentParser(
        description="Stage 1: accuracy of a network on the simulated CIM chip, and per-layer "
                    "traces for stage 2 (Chip.py).",
        epilog="Hardware, model and run settings come from inferenceConfig.py (--set NAME=VALUE; "
               "e.g. --set model=vgg8, --set num_images=1000, --set d2d_sigma=0.1). "
               "CIMSIM_MEMORY_BUDGET (e.g. 16G; default 4G) bounds the memory one input may "
               "claim.")
    add_config_arguments(p)
    g = p.add_argument_group("stage 1")
    g.add_argument("--neurosim-csv", nargs="?", const="neurosim-1.4", default=None,
                   choices=["neurosim-1.4", "neurosim-1.5"], metavar="FORMAT",
                   help="also write DNN+NeuroSim files (network.csv, weight<k>.csv, "
                        "input<k>.csv) into <output>/neurosim/ (first traced image); inputs as "
                        "V1.4 bit columns (default) or, with FORMAT neurosim-1.5, as NeuroSim "
                        "V1.5's integer codes")
    g.add_argument("--list-models", action="store_true", help="list the registered models and exit")
    g.add_argument("--random-init", action="store_true",
                   help="use freshly initialised weights instead of a checkpoint (smoke tests, timing)")
    g.add_argument("--calib-images", type=int, default=512,
                   help="test images used to measure activation ranges when the checkpoint has "
                        "none (default 512)")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--modes", default="float,quantized,hardware",
                   help="comma-separated passes to run (default all three); traces need 'hardware'")
    g.add_argument("--no-traces", action="store_true",
                   help="write only accuracy.json/predictions.npz and a manifest.json without "
                        "layers, no layer files")
    g.add_argument("--download", action="store_true",
                   help="download the dataset into data_dir (or data/<name>/) if it is not on "
                        "disk; without it a missing dataset is an error saying where it belongs")
    return p


def pick_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise Stage1Error("run.device = cuda, but CUDA is not available")
    return torch.device(name)


def batches(x: torch.Tensor, bs: int):
    for i in range(0, x.shape[0], bs):
        yield i, x[i:i + bs]


@torch.no_grad()
def run_pass(model, ctx, mode: str, x: torch.Tensor, y: torch.Tensor, bs: int, device,
             progress: bool) -> tuple[np.ndarray, float]:
    """One pass over the data; returns (predictions, seconds)."""
    from tqdm import tqdm
    ctx.begin_pass()
    preds = np.empty(len(y), dtype=np.int64)
    t0 = time.perf_counter()
    n_batches = (len(y) + bs - 1) // bs
    with ctx.use(mode):
        for start, xb in tqdm(batches(x, bs), total=n_batches, desc=f"{mode:>9}", unit="batch",
                              disable=not progress, leave=True, file=sys.stderr):
            ctx.image_offset = start
            out = model(xb.to(device, non_blocking=True))
            if not torch.isfinite(out).all():
                raise Stage1Error(f"{mode} pass produced NaN/inf outputs (batch at image {start})")
            preds[start:start + len(xb)] = out.argmax(1).cpu().numpy()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return preds, time.perf_counter() - t0


def load_model_and_data(cfg, args):
    from models import ModelError, build_model, checkpoint_path, get_model_spec, load_checkpoint
    from models.datasets import DATASETS, DatasetUnavailable, load_split
    try:
        spec = get_model_spec(cfg.run.model)
        model = build_model(spec.name)
    except ModelError as exc:
        raise Stage1Error(str(exc)) from exc
    extra, ckpt = {}, None
    if args.random_init:
        torch.manual_seed(cfg.run.seed)
        model = build_model(spec.name)
    else:
        ckpt = checkpoint_path(spec, cfg.run.checkpoint)
        if ckpt is None:
            raise Stage1Error(f"model '{spec.name}' has no shipped checkpoint: train one with "
                              f"`python train.py --model {spec.name}` and pass "
                              f"--set checkpoint=PATH (or use --random-init)")
        try:
            extra = load_checkpoint(model, ckpt)
        except ModelError as exc:
            raise Stage1Error(str(exc)) from exc
        if extra.get("model") not in (None, spec.name):
            raise Stage1Error(f"checkpoint {ckpt} was trained for model '{extra.get('model')}', "
                              f"not '{spec.name}'")
    if spec.dataset == "random_tokens":
        from models.language import random_token_split
        n = 4 if cfg.run.num_images is None else cfg.run.num_images
        x, y, idx, source = random_token_split(model, n, cfg.run.seq_len, cfg.run.seed)
        return spec, model, extra, ckpt, source, x, y, idx
    try:
        split = load_split(spec.dataset, "test", cfg.run.data_dir,
                           download=bool(args.download))
    except DatasetUnavailable as exc:
        raise Stage1Error(str(exc)) from exc
    info = DATASETS[spec.dataset]
    n_total = len(split)
    n = n_total if cfg.run.num_images is None else cfg.run.num_images
    if n > n_total:
        raise Stage1Error(f"run.num_images = {n} exceeds the {n_total} images of the "
                          f"{spec.dataset} test set")
    if n < n_total:
        rng = np.random.default_rng(cfg.run.seed)
        idx = np.sort(rng.choice(n_total, size=n, replace=False))
    else:
        idx = np.arange(n_total)
    x, y = split.tensors(idx)
    if tuple(x.shape[1:]) != tuple(info.input_shape):
        raise Stage1Error(f"dataset files in {split.source} hold images of shape "
                          f"{tuple(x.shape[1:])}, expected {info.input_shape} for {spec.dataset}")
    return spec, model, extra, ckpt, split, x, y, idx


def check_model_io(model, x: torch.Tensor, num_classes: int, name: str) -> None:
    """One float forward on one image: a clear error if the model cannot take this input."""
    model.eval()
    try:
        with torch.no_grad():
            out = model(x[:1])
    except (RuntimeError, ValueError) as exc:
        raise Stage1Error(f"model '{name}' cannot process inputs of shape {tuple(x.shape[1:])}: "
                          f"{str(exc).splitlines()[0]}") from exc
    if out.dim() != 2 or out.shape[1] != num_classes:  # noqa: E501
        raise Stage1Error(f"model '{name}' returns shape {tuple(out.shape)}; expected "
                          f"[batch, {num_classes}] class scores")


def traced_bytes_per_image(model, x1: torch.Tensor) -> int:
    """Memory the traces keep per traced image: the int16 input codes of every Conv2d /
    Linear layer (measured on one float forward pass)."""
    sizes: list[int] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: sizes.append(inp[0][:1].numel()))
             for m in model.modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))]
    try:
        with torch.no_grad():
            model(x1)
    finally:
        for h in hooks:
            h.remove()
    return 2 * sum(sizes)


def _file_sha256(path) -> str | None:
    if path is None or not Path(path).is_file():
        return None
    import hashlib
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def calibrate_adc(cfg, params, model, ctx, spec, device, stored=None, ckpt=None) -> dict | None:
    """precision.adc_range other than 'fixed': measure each layer's ADC full scale on
    training images (cim/calibration.py), or take the ranges stored in the checkpoint
    (`stored`, made by train.py --hardware-aware) when they were calibrated the same way for
    the same hardware. Returns the record for the run files."""
    method = cfg.precision.adc_range
    if method == "fixed":
        if stored is not None:
            print(f"note: checkpoint {ckpt} holds ADC ranges calibrated with adc_range = "
                  f"{stored.get('method') if isinstance(stored, dict) else '?'}; not used "
                  f"(precision.adc_range = fixed)")
        return None
    if params.sequential:
        raise Stage1Error(f"precision.adc_range = {method} calibrates the parallel-read ADC; set "
                          "array.operation_mode = parallel or precision.adc_range = fixed")
    if params.accuracy_model != "cim":
        raise Stage1Error(f"precision.adc_range = {method} needs run.accuracy_model = cim (the "
                          f"{params.accuracy_model} model takes its ADC ranges from each batch)")
    from cim.calibration import (CalibrationError, apply_stored, calibrate_adc_ranges,
                                 calibration_images, check_stored, ranges_record, stored_mismatch)
    pct = cfg.precision.adc_range_percentile
    try:
        if stored is not None:
            stored = check_stored(stored, f"checkpoint {ckpt}")
            why = stored_mismatch(stored, method, pct, params)
            if why is None and not apply_stored(ctx, stored, device):
                print(f"ADC ranges ({method}): stored in checkpoint {ckpt} ({stored.get('source')}); "
                      f"used as stored, not re-measured", flush=True)
                return {**stored, "source": f"checkpoint {ckpt}: {stored.get('source')}"}
            why = why or "they lack some layers"
            print(f"note: the ADC ranges stored in checkpoint {ckpt} are not used: {why}; "
                  f"calibrating anew", flush=True)
        xc, source = calibration_images(spec.dataset, cfg.precision.adc_calib_images, cfg.run.data_dir)
        layers = calibrate_adc_ranges(model, ctx, xc, method, pct, cfg.run.batch_size, device)
    except CalibrationError as exc:
        raise Stage1Error(str(exc)) from exc
    return ranges_record(method, pct, source, layers, params)


def layer_manifest_entry(k: int, layer, params) -> dict:
    from traces import neurosim_row
    geo = dict(layer.geometry)
    _, s_w = layer.weight_codes()
    nb = params.input_bits
    entry = {"index": k, "name": layer.name, **geo, "pool": layer.pool,
             "weight_bits": params.weight_bits, "input_bits": nb,
             "weight_scale": s_w, "input_range": layer.act_range,
             "input_scale": (layer.act_range / (2 ** (nb - 1) - 1)) if layer.act_range else 1.0}
    entry["neurosim"] = neurosim_row(entry)
    entry["stats"] = layer.statistics()
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_models:
        from models import get_model_spec, list_models
        for name in list_models():
            s = get_model_spec(name)
            print(f"{name:<12} dataset={s.dataset:<14} checkpoint={s.checkpoint or '-':<28} {s.description}")
        return 0
    from inferenceConfig import config_from_args
    from validation import InputError
    cfg = config_from_args(args)        # exits 2 on a bad setting
    try:
        run(cfg, args)
        return 0
    except (Stage1Error, InputError, OSError, MemoryError, KeyboardInterrupt) as exc:
        from outputs import failure_exit
        return failure_exit(exc)


def output_folder(cfg) -> Path:
    """Stage 1's output folder for a Config."""
    if cfg.run.output_dir:
        return Path(cfg.run.output_dir)
    from models import ModelError, get_model_spec
    try:
        return Path(f"layer_record_{get_model_spec(cfg.run.model).name}")
    except ModelError as exc:
        raise Stage1Error(str(exc)) from exc


@dataclass
class Stage1Options:
    """How stage 1 runs, besides the Config (the command line's stage-1 flags)."""
    modes: str = "float,quantized,hardware"
    calib_images: int = 512
    no_traces: bool = False
    neurosim_csv: bool | str = False     # True / "neurosim-1.4": V1.4 bits; "neurosim-1.5": codes
    random_init: bool = False
    no_progress: bool = False
    download: bool = False

    @classmethod
    def from_args(cls, args) -> "Stage1Options":
        """From parsed arguments (argparse.Namespace) or any object with these names."""
        return cls(**{f.name: getattr(args, f.name) for f in fields(cls) if hasattr(args, f.name)})


def run(cfg, args=None, **options) -> dict:
    """The whole of stage 1 for a validated Config; returns the accuracy record plus
    `ctx` (the CIM context of the converted model), `model` and `out_dir`. The output
    folder is reserved (checked) before any work and committed only at the end.

    `args`: a Stage1Options, parsed command-line arguments, or None (the defaults);
    keyword `options` (Stage1Options names, e.g. `modes="hardware"`, `no_progress=True`)
    override it. No argparse is needed: `run(load_config(...), no_progress=True)`."""
    config_file = getattr(args, "config", None)       # an input: never overwritten
    if not isinstance(args, Stage1Options):
        args = Stage1Options() if args is None else Stage1Options.from_args(args)
    if options:
        args = replace(args, **options)
    from outputs import RunOutputs
    from validation import InputError
    out_dir = output_folder(cfg)
    inputs = [cfg.run.checkpoint, cfg.run.data_dir, config_file]
    with RunOutputs(inputs) as out:
        try:
            staged = out.folder(out_dir, "run.output_dir")
        except InputError as exc:
            raise Stage1Error(str(exc)) from None
        result = _run(cfg, args, staged, out_dir)
        out.commit()
    print(f"\nwrote {out_dir}/ (accuracy.json, manifest.json"
          + (", layer1..%d.npz" % result["num_layers"] if result["traces"] else "")
          + (", neurosim/" if result["traces"] and args.neurosim_csv else "") + ")")
    return result


def _run(cfg, args, tmp: Path, out_dir: Path) -> dict:
    from cim import HardwareParams, MappingError, calibrate, convert_model
    from cim.dynamic import DynamicOps
    from traces import (BIT_ORDER, WEIGHT_ENCODING, TraceError, write_dynamic_npz,
                        write_layer_npz, write_manifest, write_neurosim_csv)
    from models.datasets import DATASETS

    raw_modes = args.modes.split(",") if isinstance(args.modes, str) else list(args.modes)
    modes = [m.strip() for m in raw_modes if m.strip()]
    bad = [m for m in modes if m not in ("float", "quantized", "hardware")]
    if bad or not modes:
        raise Stage1Error(f"--modes: unknown {bad or modes}; valid: float, quantized, hardware")
    if args.calib_images < 1:
        raise Stage1Error("--calib-images must be >= 1")
    traces_wanted = not args.no_traces
    if traces_wanted and "hardware" not in modes:
        raise Stage1Error("traces come from the hardware pass: add 'hardware' to --modes or "
                          "pass --no-traces")
    params = HardwareParams.from_config(cfg)
    try:
        params.check_mappable()
    except ValueError as exc:
        raise Stage1Error(f"configuration cannot be mapped: {exc}") from exc

    spec, model, extra, ckpt, split, x, y, idx = load_model_and_data(cfg, args)
    info = DATASETS[spec.dataset]
    device = pick_device(cfg.run.device)
    if cfg.run.num_trace_images > len(y):
        raise Stage1Error(f"run.num_trace_images = {cfg.run.num_trace_images} exceeds the "
                          f"{len(y)} evaluated images")
    check_model_io(model, x, info.num_classes, spec.name)
    if traces_wanted:
        from validation import Budget
        Budget.from_env().check(
            cfg.run.num_trace_images * traced_bytes_per_image(model, x[:1]),
            f"run.num_trace_images = {cfg.run.num_trace_images} (the layer inputs kept for "
            f"the traces)", "lower run.num_trace_images")
    model = model.to(device).eval()
    try:
        ctx = convert_model(model, params)
        dyn = DynamicOps(model, ctx, cfg.architecture.dynamic_matmul, cfg.precision.sfu_bits)
    except MappingError as exc:
        raise Stage1Error(str(exc)) from exc

    ranges = extra.get("act_ranges") or {}
    missing = ctx.set_act_ranges(ranges)
    calib_source = f"checkpoint ({ckpt})"
    if missing:
        nc = min(args.calib_images, len(y))
        try:
            with dyn:
                calibrate(model, ctx, [xb.to(device) for _, xb in batches(x[:nc], cfg.run.batch_size)])
        except MappingError as exc:
            raise Stage1Error(str(exc)) from exc
        calib_source = f"first {nc} evaluated test images (checkpoint has no activation ranges)"

    bs = cfg.run.batch_size
    adc_cal = calibrate_adc(cfg, params, model, ctx, spec, device, extra.get("adc_ranges"), ckpt)
    progress = not args.no_progress
    yn = y.numpy()
    results, preds, seconds = {}, {}, {}
    print(f"model {spec.name} on {spec.dataset} ({len(y)} test images from {split.source}), "
          f"device {device}; hardware: {cfg.device.memory_type} {cfg.device.access_type}, "
          f"{cfg.array.operation_mode}, {cfg.array.rows}x{cfg.array.cols} sub-arrays, "
          f"{params.effective_rows_parallel} rows/conversion, cellBit {params.cell_bit}, "
          f"{params.weight_bits}-bit weights, {params.input_bits}-bit inputs, "
          f"ADC {params.adc_max_code + 1} levels", flush=True)
    for mode in modes:
        if mode == "hardware":
            t0 = time.perf_counter()
            try:
                ctx.prepare_hardware()
            except (MappingError, ValueError) as exc:
                raise Stage1Error(str(exc)) from exc
            seconds["program_cells"] = round(time.perf_counter() - t0, 3)
            ctx.trace_images = cfg.run.num_trace_images if traces_wanted else 0
        try:
            with dyn:
                p, s = run_pass(model, ctx, mode, x, y, bs, device, progress)
        except MappingError as exc:
            raise Stage1Error(str(exc)) from exc
        preds[mode], seconds[mode] = p, round(s, 3)
        results[mode] = float((p == yn).mean())
    if spec.dataset == "random_tokens" and "float" in modes:
        # random weights and tokens: no labels; accuracy = top-1 agreement with float
        yn = preds["float"]
        results = {m: float((preds[m] == yn).mean()) for m in modes}

    # ---- report ---------------------------------------------------------------------------
    order = list(ctx.order) if "hardware" in modes else []
    print("\naccuracy (top-1)")
    for mode in modes:
        print(f"  {mode:<10} {results[mode]:.4f}   ({seconds[mode]:.1f} s)")
    if order:
        print("\nper layer (hardware pass): input bit activity per plane (MSB first), ADC clipping")
        for k, layer in enumerate(order, start=1):
            st = layer.statistics()
            act = " ".join(f"{a:.3f}" for a in st.get("input_bit_activity", []))
            fs = "" if layer.adc_full_scale is None else f"  ADC full scale {layer.adc_full_scale:.3g} cell steps"
            seen = ((adc_cal or {}).get("layers") or {}).get(layer.name, {}).get("readings_max")
            if fs and isinstance(seen, (int, float)):
                fs += f" (calibration readings up to {seen:.3g})"
            print(f"  {k:>2} {layer.name:<22} {layer.kind:<6} bits [{act}]  "
                  f"clipped {st.get('adc_clipped_fraction', 0.0):.4%}{fs}")

    from outputs import dumps_strict
    accuracy = {
        "model": spec.name, "dataset": spec.dataset, "num_images": int(len(y)),
        **{m: results[m] for m in modes},
        "seconds": seconds, "calibration": calib_source,
        "checkpoint": None if ckpt is None else str(ckpt),
        "adc_range": adc_cal,
        "device": str(device), "torch_threads": torch.get_num_threads(),
        "hardware_params": params.to_dict(),
        "layers": [{"index": k, "name": l.name, **l.statistics()} for k, l in enumerate(order, 1)],
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "config": cfg.to_dict(),
    }
    manifest = {"model": spec.name, "dataset": spec.dataset, "traces": traces_wanted,
                "weight_bits": params.weight_bits, "input_bits": params.input_bits,
                "config": cfg.to_dict(), "accuracy_file": "accuracy.json", "adc_range": adc_cal,
                "layers": []}
    from resolve import provenance
    accuracy["provenance"] = provenance(checkpoint_sha256=_file_sha256(ckpt),
                                        output_dir=str(out_dir.resolve()))
    try:
        if traces_wanted:
            n_tr = cfg.run.num_trace_images
            manifest.update({
                "num_trace_images": n_tr,
                "trace_image_indices": [int(i) for i in idx[:n_tr]],
                "cell_bit": params.cell_bit, "cells_per_weight": params.cells_per_weight,
                "input_bit_order": BIT_ORDER, "weight_encoding": WEIGHT_ENCODING,
                "hardware_params": params.to_dict(),
                "layers": [layer_manifest_entry(k, l, params) for k, l in enumerate(order, 1)],
            })
            manifest["operations"] = dyn.manifest_operations(
                {id(l): k for k, l in enumerate(order, 1)})
            manifest["dynamic_matmul"] = cfg.architecture.dynamic_matmul
            manifest["sfu_bits"] = cfg.precision.sfu_bits
            firsts = []
            for k, (entry, layer) in enumerate(zip(manifest["layers"], order), start=1):
                # traced images are unfolded and packed a chunk at a time (bounded memory)
                codes = torch.cat(layer.trace_codes, 0).numpy()
                wm = layer.weight_matrix()                       # [Gr, K_g, N_g]
                wmat = wm.permute(1, 0, 2).reshape(wm.shape[1], -1).cpu().numpy()
                entry["file"] = f"layer{k}.npz"
                info = write_layer_npz(tmp / entry["file"], wmat, codes, layer.geometry,
                                       params.weight_bits, params.input_bits)
                entry["weight_shape"] = info["weight_shape"]
                entry["input_bits_shape"] = info["input_bits_shape"]
                firsts.append(info["first"])
            write_dynamic_npz(tmp, manifest["operations"], dyn.trace)
            if args.neurosim_csv:
                fmt = args.neurosim_csv if isinstance(args.neurosim_csv, str) else "neurosim-1.4"
                write_neurosim_csv(tmp / "neurosim", manifest, firsts, input_format=fmt)
                if any(op["kind"] == "dynamic_matmul" for op in manifest["operations"]):
                    print("note: neurosim/ holds the weight layers only (token layers as T x 1 "
                          "feature maps); NeuroSim cannot express the dynamic matrix products")
        write_manifest(tmp, manifest)
        text, found = dumps_strict(accuracy)
        if found:
            accuracy["messages"] = ["not finite, written as null: " + ", ".join(found[:10])]
            text = dumps_strict(accuracy)[0]
        (tmp / "accuracy.json").write_text(text)
        np.savez_compressed(tmp / "predictions.npz", labels=yn.astype(np.int16),
                            indices=idx.astype(np.int64),
                            **{m: preds[m].astype(np.int16) for m in modes})
    except TraceError as exc:
        raise Stage1Error(str(exc)) from exc
    return {**accuracy, "ctx": ctx, "model": model, "out_dir": out_dir,
            "traces": traces_wanted, "num_layers": len(order)}


if __name__ == "__main__":
    sys.exit(main())
