"""Train a registered model in float and save a checkpoint for stage 1.

    python train.py                          # the default model (fmnist_cnn) on Fashion-MNIST
    python train.py --model lenet5 --epochs 5 --out checkpoints/lenet5.pt

The training set is read from `--data-dir`, else from the places listed in models/datasets.py
(for Fashion-MNIST: data/fashion-mnist, then /usr/share/datasets/fashion-mnist, which Debian's
package `dataset-fashion-mnist` installs), else downloaded. Offline and absent: a clear
message and exit status 2.

After training, the script measures every crossbar layer's activation range (largest |input|)
on `--calib-images` training images and stores it in the checkpoint, so inference needs no
calibration data. The checkpoint also records the command, the seed, the epochs and the
float test accuracy.

Hardware-aware fine-tuning (noise-aware training):

    python train.py --hardware-aware --set array.operation_mode=parallel \
        --set nonideal.d2d_sigma=0.1 --train-images 4000 --out checkpoints/fmnist_cnn_hw.pt

starts from `--init` (default: the model's shipped checkpoint), keeps its activation ranges,
and trains with the crossbar model of the given hardware settings (`--preset/--config/--set`,
as for inference_sim.py) in the forward pass: straight-through gradients, new devices and
noise drawn for every batch (cim/hat.py). Defaults: 1 epoch, lr 1e-4; the output defaults to
checkpoints/<model>_hw.pt (never the shipped checkpoint). With `--set precision.adc_range=
max|percentile|histogram` (parallel read) the ADC ranges are calibrated (cim/calibration.py)
before fine-tuning and again after it, and the final ones are stored in the checkpoint
(`adc_ranges`); inference_sim.py uses them for the same method and hardware, and says so.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default="fmnist_cnn", help="registered model name (default fmnist_cnn)")
    p.add_argument("--epochs", type=int, default=None, help="epochs (default: the model's)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (cosine decay)")
    p.add_argument("--batch-size", type=int, default=None)
    p.add_argument("--weight-decay", type=float, default=1e-4)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--data-dir", default=None, help="folder with the dataset files")
    p.add_argument("--out", default=None, help="checkpoint path (default: the model's shipped path "
                   "or checkpoints/<model>.pt)")
    p.add_argument("--calib-images", type=int, default=2048,
                   help="training images used to measure activation ranges")
    p.add_argument("--threads", type=int, default=None, help="torch threads (default: torch's)")
    p.add_argument("--augment", action="store_true",
                   help="random crops (pad 2) and, for colour data, horizontal flips")
    p.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda"])
    hw = p.add_argument_group("hardware-aware fine-tuning")
    hw.add_argument("--hardware-aware", action="store_true",
                    help="fine-tune a checkpoint with the crossbar model in the forward pass "
                         "(a calibrated precision.adc_range is calibrated and stored too)")
    hw.add_argument("--init", default=None, help="checkpoint to fine-tune: with --hardware-aware "
                    "(default: the model's shipped checkpoint), or in float without it (its meta "
                    "is kept under meta['init'])")
    hw.add_argument("--train-images", type=int, default=None,
                    help="use only the first N images of a seeded shuffle of the training split")
    from inferenceConfig import add_config_arguments
    add_config_arguments(p)
    return p.parse_args(argv)


def _augment(x: torch.Tensor, colour: bool, gen: torch.Generator) -> torch.Tensor:
    b, _, h, w = x.shape
    pad = F.pad(x, (2, 2, 2, 2), value=float(x.min()))
    dy = torch.randint(0, 5, (b,), generator=gen)
    dx = torch.randint(0, 5, (b,), generator=gen)
    rows = (dy.view(b, 1) + torch.arange(h).view(1, h))
    cols = (dx.view(b, 1) + torch.arange(w).view(1, w))
    out = pad[torch.arange(b).view(b, 1, 1, 1), torch.arange(x.shape[1]).view(1, -1, 1, 1),
              rows.view(b, 1, h, 1), cols.view(b, 1, 1, w)]
    if colour:
        flip = torch.rand(b, generator=gen) < 0.5
        out[flip] = out[flip].flip(-1)
    return out


@torch.no_grad()
def evaluate(model: nn.Module, x: torch.Tensor, y: torch.Tensor, batch: int = 1000) -> float:
    model.eval()
    dev = next(model.parameters()).device
    correct = 0
    for i in range(0, len(y), batch):
        correct += int((model(x[i:i + batch].to(dev)).argmax(1).cpu() == y[i:i + batch]).sum())
    return correct / len(y)


def main(argv=None) -> int:
    args = parse_args(argv)
    from models import ModelError, build_model, get_model_spec, save_checkpoint
    from models.datasets import DatasetUnavailable, load_split

    try:
        spec = get_model_spec(args.model)
    except ModelError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.hardware_aware:
        return hardware_aware_main(args, spec, argv)
    hp = {"epochs": 10, "lr": 1e-3, "batch_size": 128, **spec.train_defaults}
    epochs = args.epochs or hp["epochs"]
    lr = args.lr or hp["lr"]
    bs = args.batch_size or hp["batch_size"]
    for name, v in (("--epochs", epochs), ("--batch-size", bs), ("--calib-images", args.calib_images)):
        if v < 1:
            print(f"error: {name} must be >= 1", file=sys.stderr)
            return 2
    out = args.out or spec.checkpoint or f"checkpoints/{spec.name}.pt"
    try:
        train = load_split(spec.dataset, "train", args.data_dir)
        test = load_split(spec.dataset, "test", args.data_dir)
    except DatasetUnavailable as exc:
        print(f"error: the training data is missing.\n{exc}", file=sys.stderr)
        return 2
    dev = torch.device("cuda" if args.device == "auto" and torch.cuda.is_available()
                       else ("cpu" if args.device == "auto" else args.device))
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = train.tensors()
    xte, yte = test.tensors()
    model = build_model(spec.name)
    init_meta = None
    if args.init:
        from models import load_checkpoint
        try:
            init_meta = load_checkpoint(model, args.init).get("meta")
        except ModelError as exc:
            print(f"error: --init: {exc}", file=sys.stderr)
            return 2
    model = model.to(dev)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    steps = epochs * ((len(ytr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.15)
    colour = spec.dataset.startswith("cifar")
    print(f"training {spec.name} on {spec.dataset} ({len(ytr)} images from {train.source}), "
          f"{epochs} epochs, batch {bs}, lr {lr}, device {dev}, {torch.get_num_threads()} threads")
    t0 = time.time()
    history = []
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total, seen = 0.0, 0
        for i in range(0, len(ytr), bs):
            idx = perm[i:i + bs]
            xb = xtr[idx]
            if args.augment:
                xb = _augment(xb, colour, gen)
            xb, yb = xb.to(dev), ytr[idx].to(dev)
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item() * len(idx)
            seen += len(idx)
        acc = evaluate(model, xte, yte)
        history.append({"epoch": ep + 1, "loss": round(total / seen, 4), "test_acc": round(acc, 4)})
        print(f"epoch {ep + 1}/{epochs}: loss {total / seen:.4f}, float test accuracy {acc:.4f} "
              f"({time.time() - t0:.0f} s)", flush=True)
    train_s = time.time() - t0
    acc = evaluate(model, xte, yte)

    # activation ranges for the quantizers, from training images only
    from cim import HardwareParams, calibrate, convert_model
    import copy
    probe = copy.deepcopy(model).eval()
    ctx = convert_model(probe, HardwareParams())
    calib = xtr[torch.randperm(len(ytr), generator=gen)[:args.calib_images]].to(dev)
    ranges = calibrate(probe, ctx, [calib[i:i + 512] for i in range(0, len(calib), 512)])

    meta = {
        "command": ("python train.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip(),
        "dataset": spec.dataset, "train_images": len(ytr), "test_images": len(yte),
        "epochs": epochs, "lr": lr, "batch_size": bs, "weight_decay": args.weight_decay,
        "augment": args.augment, "seed": args.seed, "float_test_accuracy": acc,
        "train_seconds": round(train_s, 1), "threads": torch.get_num_threads(),
        "device": str(dev), "torch": str(torch.__version__), "python": platform.python_version(),
        "machine": platform.machine(), "date": datetime.date.today().isoformat(),
        "history": history, "calib_images": int(len(calib)),
    }
    if args.init:
        meta["init"] = {"checkpoint": str(args.init), "meta": init_meta}
    save_checkpoint(out, model.cpu(), spec.name, ranges, meta)
    print(f"float test accuracy {acc:.4f}; trained in {train_s:.0f} s; saved {out}")
    print(json.dumps({k: meta[k] for k in ("command", "epochs", "float_test_accuracy", "train_seconds")}))
    return 0


def hardware_aware_main(args, spec, argv) -> int:
    """Fine-tune `--init` with the hardware model in the forward pass (cim/hat.py)."""
    from cim import HardwareParams, MappingError, convert_model
    from cim.hat import resample
    from inferenceConfig import config_from_args
    from models import ModelError, build_model, load_checkpoint, save_checkpoint
    from models.datasets import DatasetUnavailable, load_split

    cfg = config_from_args(args)                        # exits 2 on a bad setting
    epochs = args.epochs or 1
    lr = args.lr or 1e-4
    bs = args.batch_size or 128
    init = args.init or spec.checkpoint
    out = args.out or f"checkpoints/{spec.name}_hw.pt"
    for name, v in (("--epochs", epochs), ("--batch-size", bs),
                    ("--train-images", 1 if args.train_images is None else args.train_images)):
        if v < 1:
            print(f"error: {name} must be >= 1", file=sys.stderr)
            return 2
    if not init:
        print(f"error: model {spec.name} has no shipped checkpoint; pass --init", file=sys.stderr)
        return 2
    if spec.checkpoint and os.path.abspath(out) == os.path.abspath(spec.checkpoint):
        print(f"error: --out {out} is the shipped checkpoint; choose another file", file=sys.stderr)
        return 2
    model = build_model(spec.name)
    try:
        extra = load_checkpoint(model, init)
    except ModelError as exc:
        print(f"error: --init: {exc}", file=sys.stderr)
        return 2
    ranges = extra.get("act_ranges") or {}
    try:
        train = load_split(spec.dataset, "train", args.data_dir)
    except DatasetUnavailable as exc:
        print(f"error: the training data is missing.\n{exc}", file=sys.stderr)
        return 2
    torch.manual_seed(args.seed)
    gen = torch.Generator().manual_seed(args.seed)
    xtr, ytr = train.tensors()
    sel = torch.randperm(len(ytr), generator=gen)[:args.train_images or len(ytr)]
    xtr, ytr = xtr[sel], ytr[sel]
    params = HardwareParams.from_config(cfg)
    try:
        params.check_mappable()
        ctx = convert_model(model, params)
    except (MappingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    missing = ctx.set_act_ranges(ranges)
    if missing:
        print(f"error: --init {init} has no activation range for {', '.join(missing)}",
              file=sys.stderr)
        return 2
    adc_cal = None
    if cfg.precision.adc_range != "fixed":
        adc_cal = _hat_adc_ranges(cfg, params, model, ctx, spec, args, "before fine-tuning")
        if adc_cal is None:
            return 2
    ctx.train_hardware = True
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=args.weight_decay)
    steps = epochs * ((len(ytr) + bs - 1) // bs)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    print(f"hardware-aware fine-tuning of {init} on {len(ytr)} {spec.dataset} training images, "
          f"{epochs} epoch(s), batch {bs}, lr {lr}; hardware: {cfg.array.operation_mode}, "
          f"{params.effective_rows_parallel} rows/conversion, ADC {params.adc_max_code + 1} levels, "
          f"d2d {params.d2d_sigma}, c2c {params.c2c_sigma}", flush=True)
    t0 = time.time()
    history, step = [], 0
    for ep in range(epochs):
        model.train()
        perm = torch.randperm(len(ytr), generator=gen)
        total, correct, seen = 0.0, 0, 0
        for i in range(0, len(ytr), bs):
            idx = perm[i:i + bs]
            resample(ctx, params.seed, step)            # new devices and noise every batch
            ctx.image_offset = i
            with ctx.use("hardware"):
                logits = model(xtr[idx])
            loss = F.cross_entropy(logits, ytr[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            step += 1
            total += loss.item() * len(idx)
            correct += int((logits.argmax(1) == ytr[idx]).sum())
            seen += len(idx)
        history.append({"epoch": ep + 1, "loss": round(total / seen, 4),
                        "train_hardware_acc": round(correct / seen, 4)})
        print(f"epoch {ep + 1}/{epochs}: loss {total / seen:.4f}, hardware accuracy on the "
              f"training batches {correct / seen:.4f} ({time.time() - t0:.0f} s)", flush=True)
    if adc_cal is not None:
        # the ranges the fine-tuned weights need, on the run's own devices (seed restored)
        ctx.train_hardware = False
        ctx.params = params
        adc_cal = _hat_adc_ranges(cfg, params, model, ctx, spec, args, "after fine-tuning")
        if adc_cal is None:
            return 2
    state = {k.replace(".inner.", "."): v for k, v in model.state_dict().items()}
    plain = build_model(spec.name)
    from cim.attention import merge_multihead_state
    state = merge_multihead_state(state, plain)      # nn.MultiheadAttention split at conversion
    plain.load_state_dict(state)
    meta = {
        "command": ("python train.py " + " ".join(sys.argv[1:] if argv is None else argv)).strip(),
        "hardware_aware": True, "init": init, "dataset": spec.dataset,
        "train_images": len(ytr), "epochs": epochs, "lr": lr, "batch_size": bs,
        "seed": args.seed, "hardware": params.to_dict(), "history": history,
        "train_seconds": round(time.time() - t0, 1), "torch": str(torch.__version__),
        "date": datetime.date.today().isoformat(),
    }
    save_checkpoint(out, plain, spec.name, ranges, meta, adc_ranges=adc_cal)
    print(f"saved {out} (activation ranges of {init}"
          + (f"; ADC ranges calibrated with adc_range = {adc_cal['method']}, used by "
             f"inference_sim.py for the same hardware and method" if adc_cal else "")
          + f"); evaluate with: python inference_sim.py --set run.checkpoint={out} ... "
          f"(same hardware settings)")
    return 0


def _hat_adc_ranges(cfg, params, model, ctx, spec, args, when: str):
    """precision.adc_range other than fixed in hardware-aware training: calibrate every
    layer's ADC full scale (cim/calibration.py) on the calibration images; the record is
    stored in the checkpoint. None (after one error line) when it cannot be done."""
    from cim.calibration import (CalibrationError, calibrate_adc_ranges, calibration_images,
                                 ranges_record)
    method = cfg.precision.adc_range
    if params.sequential or params.accuracy_model != "cim":
        print(f"error: precision.adc_range = {method} calibrates the parallel-read ADC of the "
              f"cim accuracy model; set array.operation_mode = parallel and run.accuracy_model = "
              f"cim, or precision.adc_range = fixed", file=sys.stderr)
        return None
    was_training = model.training
    model.eval()
    try:
        xc, source = calibration_images(spec.dataset, cfg.precision.adc_calib_images, args.data_dir)
        layers = calibrate_adc_ranges(model, ctx, xc, method, cfg.precision.adc_range_percentile,
                                      args.batch_size or 128, "cpu")
    except CalibrationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return None
    finally:
        model.train(was_training)
    print(f"ADC ranges ({method}, {when}; {source}): " + ", ".join(
        f"{k} S={v['full_scale']:.3g}" for k, v in layers.items()), flush=True)
    return ranges_record(method, cfg.precision.adc_range_percentile, source, layers, params)


if __name__ == "__main__":
    sys.exit(main())
