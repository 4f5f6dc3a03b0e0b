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
"""
from __future__ import annotations

import argparse
import datetime
import json
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
    p.add_argument("--init", default=None, metavar="CHECKPOINT",
                   help="start from this checkpoint's weights (fine-tuning); its meta is kept "
                        "under meta['init']")
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


if __name__ == "__main__":
    sys.exit(main())
