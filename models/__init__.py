"""Model registry for stage 1: model name -> (builder, dataset, shipped checkpoint).

Built-in models:

| name         | network                                  | dataset        | checkpoint                   |
|--------------|------------------------------------------|----------------|------------------------------|
| fmnist_cnn   | LeNet-5-class CNN (the default)          | fashion_mnist  | checkpoints/fmnist_cnn.pt    |
| lenet5       | LeNet-5                                  | mnist          | (train with train.py)        |
| vgg8         | VGG8, NeuroSim's CIFAR-10 network        | cifar10        | (train with train.py)        |
| resnet18     | ResNet-18 for CIFAR                      | cifar10        | (train with train.py)        |
| vit_fmnist   | small Vision Transformer                 | fashion_mnist  | checkpoints/vit_fmnist.pt    |
| bert_base    | BERT-base shapes, random weights         | random_tokens  | (--random-init)              |
| gpt2_small   | GPT-2 small shapes, random weights       | random_tokens  | (--random-init)              |
| gpt2_tiny    | GPT-2 layout at toy size                 | random_tokens  | (--random-init)              |

Add your own (see models/README.md): put a module in this folder that calls
`register_model(...)`; every module in `models/` is imported when the registry is first used.
A model is any `nn.Module` made of Conv2d / Linear layers plus digital operations (ReLU,
pooling, batch norm, residual additions, ...); the hardware conversion needs no layer table.

Checkpoints are `torch.save`d dicts loaded with `torch.load(weights_only=True)`:
`{"format": "cimsim-checkpoint", "model": name, "state_dict": {...}, "act_ranges": {layer: float},
"meta": {...}}`. A bare `state_dict` is accepted too (activation ranges are then measured).
"""
from __future__ import annotations

import importlib
import math
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch
import torch.nn as nn

from .datasets import DATASETS

ROOT = Path(__file__).resolve().parent.parent

__all__ = ["ModelSpec", "MODELS", "ModelError", "register_model", "get_model_spec", "list_models",
           "build_model", "load_checkpoint", "save_checkpoint", "checkpoint_path"]


class ModelError(ValueError):
    """A model name, checkpoint or model/data combination that cannot be used."""


@dataclass(frozen=True)
class ModelSpec:
    name: str
    builder: Callable[..., nn.Module]      # builder(num_classes=..., in_channels=...)
    dataset: str                            # key of models.datasets.DATASETS
    checkpoint: str | None = None           # path relative to the repository root
    description: str = ""
    train_defaults: dict[str, Any] = field(default_factory=dict)   # train.py defaults


MODELS: dict[str, ModelSpec] = {}
_discovered = False


def register_model(name: str, builder: Callable[..., nn.Module], dataset: str,
                   checkpoint: str | None = None, description: str = "",
                   train_defaults: dict[str, Any] | None = None) -> ModelSpec:
    """Register a model. `builder(num_classes=, in_channels=)` returns the nn.Module."""
    if dataset not in DATASETS:
        raise ModelError(f"register_model({name!r}): unknown dataset {dataset!r}; "
                         f"valid: {', '.join(DATASETS)}")
    spec = ModelSpec(name, builder, dataset, checkpoint, description, dict(train_defaults or {}))
    MODELS[name] = spec
    return spec


def _discover() -> None:
    """Import every module of this package once, so user modules can register models."""
    global _discovered
    if _discovered:
        return
    _discovered = True
    for mod in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if mod.name.startswith("_"):
            continue
        importlib.import_module(f"{__name__}.{mod.name}")


def list_models() -> list[str]:
    _discover()
    return sorted(MODELS)


def get_model_spec(name: str) -> ModelSpec:
    _discover()
    if name not in MODELS:
        raise ModelError(f"unknown model '{name}'. Valid: {', '.join(sorted(MODELS))} "
                         f"(add one with models.register_model, see models/README.md)")
    return MODELS[name]


def build_model(name: str) -> nn.Module:
    spec = get_model_spec(name)
    info = DATASETS[spec.dataset]
    return spec.builder(num_classes=info.num_classes, in_channels=info.input_shape[0])


def checkpoint_path(spec: ModelSpec, override: str | None = None) -> Path | None:
    if override:
        return Path(override)
    return None if spec.checkpoint is None else ROOT / spec.checkpoint


def load_checkpoint(model: nn.Module, path: str | Path) -> dict[str, Any]:
    """Load weights into `model` (strict: every key and shape must match; no NaN/inf).

    Returns the checkpoint's extra fields (`act_ranges`, `meta`, `model`)."""
    from validation import Budget, InputError, check_readable_file, short
    path = Path(path)
    try:
        size = check_readable_file(path, "checkpoint")
        Budget.from_env().check(2 * size, f"checkpoint {path}")
    except InputError as exc:
        raise ModelError(str(exc)) from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling refused, corrupt file, ...
        lines = [l.strip() for l in str(exc).splitlines() if l.strip()]
        why = next((l for l in lines if "Unsupported global" in l or "error" in l.lower()),
                   lines[0] if lines else type(exc).__name__)
        raise ModelError(f"cannot load checkpoint {path} with weights_only=True "
                         f"(only tensors and plain containers are accepted): {why[:300]}") from exc
    if isinstance(obj, dict) and "state_dict" in obj:
        state, extra = obj["state_dict"], {k: v for k, v in obj.items() if k != "state_dict"}
    elif isinstance(obj, dict) and all(isinstance(v, torch.Tensor) for v in obj.values()):
        state, extra = obj, {}
    else:
        raise ModelError(f"{path}: not a state_dict or a cimsim checkpoint dict")
    if not isinstance(state, dict) or not all(
            isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in state.items()):
        bad = state if not isinstance(state, dict) else next(
            (f"{k!s:.40}: {type(v).__name__}" for k, v in state.items()
             if not (isinstance(k, str) and isinstance(v, torch.Tensor))), None)
        raise ModelError(f"checkpoint {path}: 'state_dict' must map parameter names to tensors, "
                         f"found {short(bad)}")
    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    wrong = [f"{k}: checkpoint {tuple(state[k].shape)} vs model {tuple(own[k].shape)}"
             for k in own if k in state and tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {len(missing)} (e.g. {', '.join(missing[:3])})")
        if unexpected:
            parts.append(f"unexpected {len(unexpected)} (e.g. {', '.join(unexpected[:3])})")
        if wrong:
            parts.append("shape mismatch: " + "; ".join(wrong[:3]))
        raise ModelError(f"checkpoint {path} does not fit model {type(model).__name__}: "
                         + "; ".join(parts))
    bad = [k for k, v in state.items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelError(f"checkpoint {path} has NaN/inf values in: {', '.join(bad[:5])}")
    model.load_state_dict(state, strict=True)
    ranges = extra.get("act_ranges")
    if ranges is not None:
        if not isinstance(ranges, dict) or not all(
                isinstance(v, (int, float)) and math.isfinite(v) and v >= 0 for v in ranges.values()):
            raise ModelError(f"checkpoint {path}: act_ranges must map layer names to finite numbers >= 0")
    return extra


def save_checkpoint(path: str | Path, model: nn.Module, name: str,
                    act_ranges: dict[str, float] | None, meta: dict[str, Any],
                    adc_ranges: dict[str, Any] | None = None) -> None:
    """`adc_ranges`: calibrated ADC ranges (cim/calibration.py `ranges_record`), stored
    when hardware-aware training calibrated them."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    import json
    meta = json.loads(json.dumps(meta, default=str))     # plain types only (weights_only load)
    obj = {"format": "cimsim-checkpoint", "version": 1, "model": name,
           "state_dict": {k: v.detach().cpu().clone() for k, v in model.state_dict().items()},
           "act_ranges": {k: float(v) for k, v in (act_ranges or {}).items()}, "meta": meta}
    if adc_ranges is not None:
        obj["adc_ranges"] = json.loads(json.dumps(adc_ranges, default=str))
    tmp = path.with_suffix(path.suffix + ".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


# ---- built-in models --------------------------------------------------------------------
from .fmnist_cnn import FashionCNN  # noqa: E402
from .lenet5 import LeNet5  # noqa: E402
from .resnet_cifar import resnet18_cifar  # noqa: E402
from .vgg8 import VGG8  # noqa: E402

register_model("fmnist_cnn", FashionCNN, "fashion_mnist", "checkpoints/fmnist_cnn.pt",
               "LeNet-5-class CNN (NeuroSim reference 'small' network shapes); the default",
               {"epochs": 8, "lr": 2e-3, "batch_size": 128})
register_model("lenet5", LeNet5, "mnist", None, "LeNet-5 (ReLU, max-pool)",
               {"epochs": 5, "lr": 2e-3, "batch_size": 128})
register_model("vgg8", VGG8, "cifar10", None, "VGG8, DNN+NeuroSim's CIFAR-10 network",
               {"epochs": 60, "lr": 1e-3, "batch_size": 128})
register_model("resnet18", resnet18_cifar, "cifar10", None, "ResNet-18 for CIFAR",
               {"epochs": 60, "lr": 1e-3, "batch_size": 128})
