"""Measured device data: per-level conductance distributions and column-current noise.

`device.conductance_table` names a file that gives, for every programmable level of a cell
(0 .. 2^cellBit - 1), the mean and the standard deviation of the conductance measured after
programming (siemens). Two layouts are read:

* CSV (the layout of NeuroSim V1.5's `mem_states.csv` convention: one row per state):
  a header naming the columns `level`, `mean`, `std` (any order, case-insensitive; `state`
  is accepted for `level`), or no header with three numeric columns `level, mean, std` or two
  columns `mean, std` in level order. `#` starts a comment line.
* YAML (`.yaml` / `.yml`): `mean: [...]` and `std: [...]` (level order), or
  `levels: [{level: 0, mean: ..., std: ...}, ...]`; optionally `output_noise`, the standard
  deviation of the column current divided by the read voltage (siemens), either one number
  for every column or a list of `array.cols` numbers (column `c % array.cols` of a sub-array
  tile; a tile's reference column uses the mean of the list).

Model (stage 1). Conductances are normalised by the table's own cell step
`unit = (mean[L-1] - mean[0]) / (L-1)`, so `g_min = mean[0]/unit` and the on/off ratio is
`mean[L-1]/mean[0]`. A cell programmed to level `l` gets `mean[l] + std[l] * N(0,1)` (clipped
at 0), drawn once per cell from its own stream (`STREAM_TABLE`); reference cells are level 0.
Device-to-device variation, drift, stuck-at faults and read noise then apply as without a
table. Output noise adds `N(0, output_noise/unit)` to every conversion's reading (data and
reference columns), drawn per (seed, layer, image) from `STREAM_OUTPUT` (parallel read only).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

STREAM_TABLE, STREAM_OUTPUT = 5, 6
MAX_TABLE_BYTES = 1 << 20


class TableError(ValueError):
    """A conductance table that cannot be used (the message names the file and the fix)."""


@dataclass(frozen=True)
class ConductanceTable:
    mean: tuple[float, ...]            # S, per level
    std: tuple[float, ...]             # S, per level
    output_noise: tuple[float, ...] | None = None   # S: one value, or one per column of a tile

    @property
    def unit(self) -> float:
        return (self.mean[-1] - self.mean[0]) / (len(self.mean) - 1)


def _err(path: str, msg: str) -> TableError:
    return TableError(f"device.conductance_table '{path}': {msg}")


def _read_csv(path: str, text: str) -> tuple[list[int] | None, list[float], list[float]]:
    rows = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        rows.append([t.strip() for t in line.split(",")])
    if not rows:
        raise _err(path, "no data rows; expected columns level,mean,std (one row per level)")

    def num(tok, r):
        try:
            return float(tok)
        except ValueError:
            raise _err(path, f"row {r + 1}: {tok!r} is not a number") from None

    header = rows[0]
    try:
        [float(t) for t in header]
        named = None
    except ValueError:
        named = [h.lower() for h in header]
        rows = rows[1:]
    if named is not None:
        alias = {"state": "level"}
        named = [alias.get(h, h) for h in named]
        missing = [c for c in ("mean", "std") if c not in named]
        if missing:
            raise _err(path, f"missing column(s) {', '.join(missing)}; the header must name "
                             "level, mean, std")
        cols = {c: named.index(c) for c in ("level", "mean", "std") if c in named}
    else:
        width = len(rows[0])
        if width == 3:
            cols = {"level": 0, "mean": 1, "std": 2}
        elif width == 2:
            cols = {"mean": 0, "std": 1}
        else:
            raise _err(path, f"{width} columns without a header; expected level,mean,std or mean,std")
    need = max(cols.values()) + 1
    levels, mean, std = [], [], []
    for r, row in enumerate(rows):
        if len(row) < need:
            raise _err(path, f"data row {r + 1} has {len(row)} values, expected {need}")
        mean.append(num(row[cols["mean"]], r))
        std.append(num(row[cols["std"]], r))
        if "level" in cols:
            lv = num(row[cols["level"]], r)
            if not lv.is_integer():
                raise _err(path, f"data row {r + 1}: level {lv} is not an integer")
            levels.append(int(lv))
    return (levels if "level" in cols else None), mean, std


def _read_yaml(path: str, text: str):
    import yaml
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise _err(path, f"not valid YAML ({str(exc).splitlines()[0]})") from None
    if not isinstance(data, dict):
        raise _err(path, "expected a mapping with 'mean' and 'std' lists (or 'levels')")
    levels = None
    if "levels" in data:
        items = data["levels"]
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise _err(path, "'levels' must be a list of {level, mean, std} mappings")
        try:
            levels = [i["level"] for i in items]
            mean = [i["mean"] for i in items]
            std = [i["std"] for i in items]
        except KeyError as exc:
            raise _err(path, f"an entry of 'levels' lacks {exc.args[0]!r}") from None
    else:
        for key in ("mean", "std"):
            if not isinstance(data.get(key), list):
                raise _err(path, f"missing list '{key}' (one value per level, in S)")
        mean, std = data["mean"], data["std"]
    noise = data.get("output_noise")
    try:
        mean = [float(v) for v in mean]
        std = [float(v) for v in std]
        if levels is not None:
            if not all(isinstance(v, int) and not isinstance(v, bool) for v in levels):
                raise ValueError
        if noise is not None:
            noise = [float(noise)] if not isinstance(noise, list) else [float(v) for v in noise]
    except (TypeError, ValueError):
        raise _err(path, "mean, std, level and output_noise must be numbers") from None
    if len(mean) != len(std):
        raise _err(path, f"{len(mean)} means but {len(std)} stds")
    return levels, mean, std, noise


def load_conductance_table(path: str, cell_bit: int, cols: int) -> ConductanceTable:
    """Read and check a conductance table for cells of `cell_bit` bits in sub-arrays of
    `cols` columns. Raises TableError (one line) on any problem."""
    try:
        size = os.path.getsize(path)
        if size > MAX_TABLE_BYTES:
            raise _err(path, f"{size} bytes; a table is at most {MAX_TABLE_BYTES} bytes")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(path, f"cannot be read ({exc.__class__.__name__}: {exc})") from None
    if path.lower().endswith((".yaml", ".yml")):
        levels, mean, std, noise = _read_yaml(path, text)
    else:
        levels, mean, std = _read_csv(path, text)
        noise = None
    n = 2 ** cell_bit
    if len(mean) != n:
        raise _err(path, f"{len(mean)} levels, but device.cell_bit = {cell_bit} needs {n} "
                         f"(levels 0..{n - 1})")
    if levels is not None:
        if sorted(levels) != list(range(n)):
            raise _err(path, f"levels must be 0..{n - 1}, each once; got {sorted(levels)}")
        order = np.argsort(levels)
        mean = [mean[i] for i in order]
        std = [std[i] for i in order]
    for name, vals in (("mean", mean), ("std", std)) + ((("output_noise", noise),) if noise else ()):
        bad = [v for v in vals if not math.isfinite(v)]
        if bad:
            raise _err(path, f"{name} contains {bad[0]}; every value must be finite")
        if min(vals) < 0:
            raise _err(path, f"negative {name} {min(vals):g}; conductances and stds are >= 0 S")
    if any(b <= a for a, b in zip(mean, mean[1:])):
        raise _err(path, "mean must increase strictly with the level (level 0 = lowest conductance)")
    if noise is not None and len(noise) not in (1, cols):
        raise _err(path, f"output_noise has {len(noise)} values; give one number or "
                         f"array.cols = {cols}")
    return ConductanceTable(tuple(mean), tuple(std), tuple(noise) if noise else None)


# ------------------------------------------------------------------------------------------
# Use in the crossbar model (torch)
# ------------------------------------------------------------------------------------------

def programmed_levels(levels, ref_shape, p, layer_key: int):
    """Normalised conductances of data cells at integer `levels` (any shape) and of reference
    cells (level 0, `ref_shape`), drawn from the table's per-level distributions."""
    import torch
    from .hardware import _gen, derive_seed
    f32 = torch.float32
    mean = torch.tensor(p.level_means, dtype=f32)
    std = torch.tensor(p.level_stds, dtype=f32)
    li = levels.long()
    gen = _gen(derive_seed(p.seed, layer_key, STREAM_TABLE))
    za = torch.randn(li.shape, generator=gen, dtype=f32)
    zb = torch.randn(tuple(ref_shape), generator=gen, dtype=f32)
    g_data = (mean[li] + std[li] * za).clamp_(min=0.0)
    g_ref = (mean[0] + std[0] * zb).clamp_(min=0.0)
    return g_data, g_ref


def output_noise_sigma(p, ncol: int, tiles: int, dtype, device):
    """Per-column std of the output noise (normalised): [ncol + tiles] (data columns, then
    one reference column per tile)."""
    import torch
    s = torch.tensor(p.output_noise, dtype=torch.float64)
    if s.numel() == 1:
        return s.expand(ncol + tiles).to(dtype=dtype, device=device)
    data = s[torch.arange(ncol) % s.numel()]
    ref = s.mean().expand(tiles)
    return torch.cat([data, ref]).to(dtype=dtype, device=device)


def output_noise(p, layer_key: int, image_index: int, shape, dtype, device):
    """Standard normal output noise of one image at one layer (own stream)."""
    import torch
    from .hardware import derive_seed
    g = torch.Generator(device=device)
    g.manual_seed(derive_seed(p.seed, layer_key, STREAM_OUTPUT, image_index))
    return torch.randn(shape, generator=g, dtype=dtype, device=device)
