"""ADC range calibration for parallel read (`precision.adc_range`).

`fixed` (default): the full scale is `precision.adc_full_scale` (None: one code per cell
step). The calibrated methods measure, per layer and on the simulated chip (layer by layer,
upstream layers already calibrated and in hardware mode), the column readings (normalised current of
one row group of one data column for one input bit plane, in cell steps, reference offset
included: what the ADC sees) of every conversion on calibration images from the TRAINING
split, and choose the full scale S (then step = S / (adc_levels - 1)):

* `max`: the largest reading seen;
* `percentile`: the `precision.adc_range_percentile` % point of the non-zero readings;
* `histogram`: the S that minimises the expected squared error of the non-zero readings
  (step^2 / 12 for readings inside the range, (r - S)^2 for clipped ones), from a histogram
  with bins of 1/8 cell step.

The chosen S is never below `adc_levels - 1` (a step finer than one cell step).

Calibration images: for Fashion-MNIST the 512 training images shipped in
`data/calibration/fashion_mnist_train_512.npz` (so every clone calibrates identically);
other datasets use their training split (which must then be available).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

METHODS = ("fixed", "max", "percentile", "histogram")
BIN = 0.125                        # histogram bin, cell steps
ROOT = Path(__file__).resolve().parent.parent
SHIPPED = {"fashion_mnist": ROOT / "data" / "calibration" / "fashion_mnist_train_512.npz"}


class CalibrationError(ValueError):
    """Calibration images missing or unusable."""


def calibration_images(dataset: str, n: int, data_dir=None) -> tuple[torch.Tensor, str]:
    """(n normalised training images, description of their source)."""
    from models.datasets import DATASETS, DatasetUnavailable, Split, load_split
    path = SHIPPED.get(dataset)
    if path is not None and path.exists():
        from validation import InputError, NpzReader, check_array
        try:                     # through the validation layer like every other input
            with NpzReader(path, "calibration images") as z:
                imgs = z.array("images", "u", ndim=3)
                labels = check_array(z.array("labels", "iu", shape=(len(imgs),)),
                                     f"{path}: labels", 0, DATASETS[dataset].num_classes - 1)
        except InputError as exc:
            raise CalibrationError(f"{exc}; restore the file from the repository") from None
        if imgs.ndim == 3:
            imgs = imgs[:, None]
        split = Split(DATASETS[dataset], "train", imgs, labels, str(path))
    else:
        try:
            split = load_split(dataset, "train", data_dir)
        except DatasetUnavailable as exc:
            raise CalibrationError(f"precision.adc_range needs training images of {dataset}: "
                                   f"{exc}") from exc
    if n > len(split):
        raise CalibrationError(f"precision.adc_calib_images = {n} exceeds the {len(split)} "
                               f"calibration images in {split.source}")
    x, _ = split.tensors(np.arange(n))
    return x, f"{n} training images from {split.source}"


class ReadingHistogram:
    """Histogram of non-zero column readings of one layer (bins of BIN cell steps)."""

    def __init__(self):
        self.counts = torch.zeros(0, dtype=torch.float64)
        self.max = 0.0
        self.total = 0.0                       # all conversions, zeros included

    def add(self, readings: torch.Tensor) -> None:
        self.total += float(readings.numel())
        r = readings.reshape(-1)
        top = float(r.max()) if r.numel() else 0.0
        if top <= 1e-9:
            return
        self.max = max(self.max, top)
        # bins of BIN (a power of two: r / BIN is exact in any float precision), shifted by
        # one so that every reading at or below 0 lands in bin 0 (no boolean selection)
        zeros = int(torch.count_nonzero(r <= 1e-9))                   # not counted
        b = torch.floor(r * (1.0 / BIN)).clamp_(min=-1).add_(1).long()
        c = torch.bincount(b.cpu()).to(torch.float64)
        c[1] -= zeros - c[0]                                          # readings in [0, 1e-9]
        c = c[1:]
        if c.numel() > self.counts.numel():
            c[:self.counts.numel()] += self.counts
            self.counts = c
        else:
            self.counts[:c.numel()] += c

    def full_scale(self, method: str, levels: int, percentile: float) -> float:
        if self.counts.sum() == 0:
            return float(levels - 1)           # nothing read: keep one code per cell step
        centers = (torch.arange(self.counts.numel(), dtype=torch.float64) + 0.5) * BIN
        if method == "max":
            return self.max
        if method == "percentile":
            cdf = torch.cumsum(self.counts, 0) / self.counts.sum()
            i = int(torch.searchsorted(cdf, torch.tensor(percentile / 100.0, dtype=torch.float64)))
            return float(min((i + 1) * BIN, self.max))
        # histogram: minimise the expected squared error over candidate full scales
        cand = centers + BIN / 2                                   # bin upper edges
        step2 = (cand / (levels - 1)) ** 2 / 12.0
        inside = torch.cumsum(self.counts, 0)                      # readings <= candidate
        over = (centers.view(1, -1) - cand.view(-1, 1)).clamp(min=0) ** 2
        err = inside * step2 + (over * self.counts.view(1, -1)).sum(1)
        return float(cand[int(torch.argmin(err))])


class _Stop(Exception):
    """Ends a calibration forward pass once the layer being calibrated has its input."""


@torch.no_grad()
def calibrate_adc_ranges(model, ctx, x: torch.Tensor, method: str, percentile: float,
                         batch_size: int, device) -> dict[str, dict]:
    """Measure every layer's readings on `x` and set its ADC full scale, layer by layer in
    execution order ON THE SIMULATED CHIP: layer l is calibrated on the inputs it receives
    from layers 1..l-1 running in hardware mode with their calibrated ranges (so ADC errors
    upstream are part of what it sees). Returns per layer {full_scale, step, readings_max,
    conversions}."""
    params = ctx.params
    for layer in ctx.layers:
        layer.adc_full_scale = None
    ctx.prepare_hardware(device)
    ctx.begin_pass()
    with ctx.use("quantized"):
        model(x[:1].to(device))
    order = list(ctx.order) + [l for l in ctx.layers if l not in ctx.order]
    out = {}
    for target in order:
        hist = ReadingHistogram()

        def grab(mod, inp):
            t = inp[0]
            if target.kind == "linear" and t.dim() != 2:
                t = t.reshape(-1, t.shape[-1])
            codes, _ = target.quantize_input(t)
            for r in target.engine.readings(target._unfold(codes.to(ctx.dtype))):
                hist.add(r)
            raise _Stop

        hook = target.register_forward_pre_hook(grab)
        try:
            ctx.begin_pass()
            with ctx.use("hardware"):
                for s in range(0, x.shape[0], batch_size):
                    ctx.image_offset = s
                    try:
                        model(x[s:s + batch_size].to(device))
                    except _Stop:
                        pass
        finally:
            hook.remove()
        # never finer than one cell step: the readings sit on a lattice of cell steps (plus
        # a common offset the reference column removes), so a finer step only adds
        # rounding error (measured: 0.93 -> 0.78 at 32 levels with the MSE choice below it)
        s_fs = max(hist.full_scale(method, params.adc_levels, percentile), float(params.adc_levels - 1))
        target.adc_full_scale = s_fs
        target.prepare_hardware(device)
        out[target.name] = {"full_scale": round(s_fs, 6), "step": round(s_fs / (params.adc_levels - 1), 6),
                            "readings_max": round(hist.max, 6), "conversions": hist.total}
    ctx.begin_pass()
    return out


# ---- stored ranges (run files and checkpoints) --------------------------------------------

def hardware_key(params) -> dict:
    """The hardware a calibration is valid for: every HardwareParams field but the seed
    (hardware-aware training redraws the devices every batch) and the fixed full scale
    (which the calibrated one replaces)."""
    d = params.to_dict()
    for k in ("seed", "adc_full_scale"):
        d.pop(k, None)
    import json
    return json.loads(json.dumps(d, default=str))


def ranges_record(method: str, percentile: float, source: str, layers: dict, params) -> dict:
    """What is stored with a run (accuracy.json / manifest.json `adc_range`) and in a
    checkpoint (`adc_ranges`, by train.py --hardware-aware)."""
    return {"method": method, "percentile": percentile, "source": source,
            "hardware": hardware_key(params), "layers": layers}


def check_stored(stored, where: str) -> dict:
    """Validate a stored record (from a checkpoint: untrusted input); CalibrationError
    naming the field otherwise."""
    import math
    if not isinstance(stored, dict) or not isinstance(stored.get("layers"), dict) \
            or stored.get("method") not in METHODS[1:]:
        raise CalibrationError(f"{where}: adc_ranges must be a dict with 'method' (one of "
                               f"{', '.join(METHODS[1:])}) and 'layers'; re-create the checkpoint")
    for name, v in stored["layers"].items():
        fs = v.get("full_scale") if isinstance(v, dict) else None
        if not isinstance(fs, (int, float)) or not math.isfinite(fs) or fs <= 0:
            raise CalibrationError(f"{where}: adc_ranges.layers[{name!r}].full_scale must be a "
                                   f"finite number > 0, got {fs!r}; re-create the checkpoint")
    return stored


def stored_mismatch(stored: dict, method: str, percentile: float, params) -> str | None:
    """Why stored ranges do not apply to this run (None: they do)."""
    if stored.get("method") != method:
        return f"they were calibrated with adc_range = {stored.get('method')}, this run asks for {method}"
    if method == "percentile" and stored.get("percentile") != percentile:
        return (f"they were calibrated at adc_range_percentile = {stored.get('percentile')}, "
                f"this run asks for {percentile}")
    mine, theirs = hardware_key(params), stored.get("hardware") or {}
    diff = sorted(k for k in set(mine) | set(theirs) if mine.get(k) != theirs.get(k))
    if diff:
        k = diff[0]
        return (f"they were calibrated for other hardware ({k} = {theirs.get(k)!r} there, "
                f"{mine.get(k)!r} here" + (f"; {len(diff) - 1} more field(s) differ" if len(diff) > 1 else "")
                + ")")
    return None


def apply_stored(ctx, stored: dict, device) -> list[str]:
    """Set every layer's ADC full scale from a stored record; returns the layers it lacks."""
    layers = stored["layers"]
    missing = [l.name for l in ctx.layers if l.name not in layers]
    if missing:
        return missing
    for layer in ctx.layers:
        layer.adc_full_scale = float(layers[layer.name]["full_scale"])
        layer.prepare_hardware(device)
    return []
