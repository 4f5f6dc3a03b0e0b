"""Design-space exploration: the machinery behind `python sweep.py`.

A sweep is a base configuration (preset, config file, `--set` values, or the configuration
recorded with stage-1 traces) and axes of settings (the names `--set` takes):

- a grid: every combination of `NAME=V1,V2,...` axes;
- a sample: `N` points over the axes, seeded, drawn at random or by Latin-hypercube
  sampling (each axis cut into N equal strata, each stratum used once); value lists are
  sampled uniformly, ranges `NAME=LO:HI` uniformly (`:log` log-uniformly, `:int` rounded);
- a YAML file holding the same (see `load_spec_file`).

Each point's configuration is validated; an invalid combination is recorded with its error
and skipped. With `stage1`, stage 1 runs once per distinct value of the settings it reads
(cached under OUT/stage1/<key>/) and stage 2 prices that point on the traces stage 1
wrote. Every finished point is written at once, content-addressed by its configuration
and the hash of its traces (OUT/points/<id>.json): re-running a sweep skips the points
already there, so an interrupted sweep loses nothing. The table (OUT/results.csv,
OUT/results.parquet) and plots are rebuilt from those files at the end.

Points run serially, on a local process pool (each worker reads the traces once) or on a
Ray cluster (the traces go once through the object store to a set of actors; results
stream back as they finish). The estimator is deterministic, so the three give the same
numbers bit for bit.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import itertools
import json
import math
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import numpy as np

import figures
from inferenceConfig import NEUROSIM_NAMES, Config, ConfigError, _resolve_name

ROOT = Path(__file__).resolve().parent

__all__ = ["SweepSpecError", "Axis", "SweepSpec", "parse_grid", "parse_range",
           "load_spec_file", "make_points", "run_sweep", "pareto_mask", "STAGE2_COLUMNS",
           "STAGE1_COLUMNS"]


class SweepSpecError(ValueError):
    """A sweep specification that cannot be run; the message names the item and the fix."""


STAGE2_COLUMNS = (
    ("area_mm2", "latency_ns", "energy_pJ")
    + tuple(f.chip_key for f in figures.AREA_FIGURES) + ("clock_period_ns",)
    + tuple(f.chip_key for f in figures.CHIP_FIGURES)
    + ("tops_per_w", "tops", "fps", "tops_per_mm2"))
STAGE1_COLUMNS = ("float_accuracy", "quantized_accuracy", "hardware_accuracy")
DEFAULT_OBJECTIVES = (("tops_per_w", "max"), ("area_mm2", "min"))


# ------------------------------------------------------------------------------------------
# The specification
# ------------------------------------------------------------------------------------------

@dataclass
class Axis:
    """One swept setting: a list of values, or a numeric range (sampling only)."""
    name: str
    values: list[Any] | None = None
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False

    @property
    def is_range(self) -> bool:
        return self.values is None


@dataclass
class SweepSpec:
    axes: list[Axis] = field(default_factory=list)
    sample: int | None = None
    method: str = "lhs"
    seed: int = 0
    objectives: list[tuple[str, str]] = field(default_factory=list)
    preset: str | None = None
    config_file: str | None = None
    settings: list[str] = field(default_factory=list)     # "NAME=VALUE" base overrides
    traces: str | None = None
    network: str | None = None
    image: int = 0
    stage1: bool = False


def _check_name(name: str, where: str) -> None:
    if name in NEUROSIM_NAMES:
        return
    try:
        _resolve_name(name, where)
    except ConfigError as exc:
        raise SweepSpecError(str(exc)) from None


def _scalar(text: str) -> Any:
    """A value typed on the command line, as YAML reads it (64 -> int, true -> bool)."""
    import yaml
    try:
        v = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return v if isinstance(v, (int, float, bool, str)) or v is None else text


def parse_grid(item: str, where: str = "--grid") -> Axis:
    """`NAME=V1,V2,...` -> a value axis."""
    if "=" not in item:
        raise SweepSpecError(f"{where} {item!r}: expected NAME=V1,V2,... "
                             f"(e.g. --grid array.rows=64,128)")
    name, vals = item.split("=", 1)
    name = name.strip()
    values = [v.strip() for v in vals.split(",")]
    if not name or not values or any(v == "" for v in values):
        raise SweepSpecError(f"{where} {item!r}: empty name or value; expected NAME=V1,V2,...")
    _check_name(name, f"{where} {item}")
    return Axis(name, [_scalar(v) for v in values])


def _number(text: Any, what: str) -> float:
    try:
        v = float(text)
    except (TypeError, ValueError):
        raise SweepSpecError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(v):
        raise SweepSpecError(f"{what}: {text!r} is not a finite number")
    return v


def _range_axis(name: str, low: Any, high: Any, flags: Iterable[str], where: str) -> Axis:
    _check_name(name, where)
    lo, hi = _number(low, f"{where}: low end"), _number(high, f"{where}: high end")
    flags = [f.strip().lower() for f in flags if str(f).strip()]
    bad = [f for f in flags if f not in ("log", "int")]
    if bad:
        raise SweepSpecError(f"{where}: unknown range option {bad[0]!r}; valid: log, int")
    if not lo < hi:
        raise SweepSpecError(f"{where}: the low end {lo:g} must be below the high end {hi:g}")
    if "log" in flags and lo <= 0:
        raise SweepSpecError(f"{where}: a log range needs a positive low end, got {lo:g}")
    return Axis(name, low=lo, high=hi, log="log" in flags, integer="int" in flags)


def parse_range(item: str, where: str = "--range") -> Axis:
    """`NAME=LO:HI[:log][:int]` -> a range axis (sampling only)."""
    if "=" not in item:
        raise SweepSpecError(f"{where} {item!r}: expected NAME=LO:HI[:log][:int]")
    name, rest = item.split("=", 1)
    parts = rest.split(":")
    if len(parts) < 2:
        raise SweepSpecError(f"{where} {item!r}: expected NAME=LO:HI[:log][:int]")
    return _range_axis(name.strip(), parts[0], parts[1], parts[2:], f"{where} {item}")


def parse_objectives(text: str | Iterable[str], columns: Iterable[str]) -> list[tuple[str, str]]:
    """`tops_per_w:max,area_mm2:min` -> [(column, 'max'|'min')]."""
    items = text.split(",") if isinstance(text, str) else list(text)
    known = set(columns)
    out = []
    for item in items:
        item = str(item).strip()
        if not item:
            continue
        name, _, how = item.partition(":")
        how = how.strip().lower() or "max"
        if how not in ("max", "min"):
            raise SweepSpecError(f"--objectives {item!r}: direction must be max or min")
        if name not in known:
            raise SweepSpecError(f"--objectives: unknown column '{name}'; valid: "
                                 + ", ".join(sorted(known)))
        out.append((name, how))
    if not out:
        raise SweepSpecError("--objectives: give at least one COLUMN:max|min")
    if len({n for n, _ in out}) != len(out):
        raise SweepSpecError("--objectives: a column is named twice")
    return out


_SPEC_KEYS = {"preset", "config", "set", "grid", "ranges", "sample", "method", "seed",
              "objectives", "traces", "network", "image", "stage1"}


def load_spec_file(path: str | os.PathLike) -> dict[str, Any]:
    """Read a YAML sweep file:

        preset: neurosim-1.4          # optional, as --preset
        config: my_chip.yaml          # optional, as --config (relative to this file)
        set: {memcelltype: 2}         # optional base settings, as --set
        grid:                         # value axes
          numRowParallel: [32, 64, 128]
          levelOutput: [8, 16, 32]
        ranges:                       # numeric axes, with `sample`
          device.r_on: {low: 5e4, high: 2e5, log: true}     # or [5e4, 2e5]
        sample: 50                    # sample N points instead of the full grid
        method: lhs                   # or random
        seed: 0
        objectives: [tops_per_w:max, area_mm2:min]
        traces: DIR                   # relative to this file
        stage1: false

    Returns the parsed items (axes as Axis); raises SweepSpecError naming the problem."""
    import yaml
    p = Path(path)
    where = f"sweep file {path}"
    try:
        data = yaml.safe_load(p.read_text())
    except FileNotFoundError:
        raise SweepSpecError(f"{where}: file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SweepSpecError(f"{where}: cannot read it ({exc})") from None
    except yaml.YAMLError as exc:
        first = str(exc).splitlines()[0] if str(exc) else "syntax error"
        raise SweepSpecError(f"{where}: not valid YAML ({first})") from None
    if not isinstance(data, dict):
        raise SweepSpecError(f"{where}: expected a mapping (keys: {', '.join(sorted(_SPEC_KEYS))})")
    unknown = sorted(set(map(str, data)) - _SPEC_KEYS)
    if unknown:
        raise SweepSpecError(f"{where}: unknown key '{unknown[0]}'; valid: "
                             + ", ".join(sorted(_SPEC_KEYS)))
    out: dict[str, Any] = {"axes": []}
    grid = data.get("grid") or {}
    if not isinstance(grid, dict):
        raise SweepSpecError(f"{where}: 'grid' must map setting names to lists of values")
    for name, values in grid.items():
        if not isinstance(values, list) or not values:
            raise SweepSpecError(f"{where}: grid '{name}' must be a non-empty list of values")
        if any(isinstance(v, (list, dict)) or v is None for v in values):
            raise SweepSpecError(f"{where}: grid '{name}' must hold plain values")
        _check_name(str(name), f"{where}, grid")
        out["axes"].append(Axis(str(name), list(values)))
    ranges = data.get("ranges") or {}
    if not isinstance(ranges, dict):
        raise SweepSpecError(f"{where}: 'ranges' must map setting names to [low, high] or "
                             f"{{low:, high:, log:, int:}}")
    for name, r in ranges.items():
        w = f"{where}, range {name}"
        if isinstance(r, list) and len(r) == 2:
            out["axes"].append(_range_axis(str(name), r[0], r[1], [], w))
        elif isinstance(r, dict) and {"low", "high"} <= set(r) <= {"low", "high", "log", "int"}:
            flags = [k for k in ("log", "int") if r.get(k)]
            out["axes"].append(_range_axis(str(name), r["low"], r["high"], flags, w))
        else:
            raise SweepSpecError(f"{w}: expected [low, high] or {{low:, high:, log:, int:}}")
    sets = data.get("set") or {}
    if not isinstance(sets, dict):
        raise SweepSpecError(f"{where}: 'set' must map setting names to values")
    out["settings"] = [f"{k}={v}" for k, v in sets.items()]
    base = p.parent
    for key in ("config", "traces", "network"):
        if data.get(key) is not None:
            out[key] = str(base / str(data[key]))
    for key in ("preset", "method"):
        if data.get(key) is not None:
            out[key] = str(data[key])
    for key in ("sample", "seed", "image"):
        if data.get(key) is not None:
            v = data[key]
            if not isinstance(v, int) or isinstance(v, bool):
                raise SweepSpecError(f"{where}: '{key}' must be an integer, got {v!r}")
            out[key] = v
    if data.get("stage1") is not None:
        if not isinstance(data["stage1"], bool):
            raise SweepSpecError(f"{where}: 'stage1' must be true or false")
        out["stage1"] = data["stage1"]
    if data.get("objectives") is not None:
        obj = data["objectives"]
        if not isinstance(obj, (list, str)):
            raise SweepSpecError(f"{where}: 'objectives' must be a list like [tops_per_w:max]")
        out["objectives"] = obj
    return out


def check_spec(spec: SweepSpec) -> None:
    names = [a.name for a in spec.axes]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise SweepSpecError(f"setting '{dup[0]}' is swept twice; give it once")
    if spec.method not in ("lhs", "random"):
        raise SweepSpecError(f"--method: {spec.method!r}; valid: lhs, random")
    if spec.sample is not None and spec.sample < 1:
        raise SweepSpecError(f"--sample: {spec.sample}; give a number of points >= 1")
    if spec.sample is None and any(a.is_range for a in spec.axes):
        name = next(a.name for a in spec.axes if a.is_range)
        raise SweepSpecError(f"range '{name}' needs --sample N (a grid takes value lists: "
                             f"--grid {name}=V1,V2)")


# ------------------------------------------------------------------------------------------
# Points
# ------------------------------------------------------------------------------------------

def _draw(axis: Axis, u: float) -> Any:
    if not axis.is_range:
        return axis.values[min(int(u * len(axis.values)), len(axis.values) - 1)]
    if axis.log:
        v = math.exp(math.log(axis.low) + u * (math.log(axis.high) - math.log(axis.low)))
    else:
        v = axis.low + u * (axis.high - axis.low)
    return int(round(v)) if axis.integer else float(v)


def make_points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The points of a sweep as {setting: value} overrides, in a fixed order. A grid gives
    every combination; `sample` N points (seeded; Latin hypercube or random)."""
    check_spec(spec)
    axes = spec.axes
    if not axes:
        return [{}]
    if spec.sample is None:
        return [dict(zip([a.name for a in axes], combo))
                for combo in itertools.product(*[a.values for a in axes])]
    n, d = spec.sample, len(axes)
    rng = np.random.default_rng(spec.seed)
    if spec.method == "lhs":
        u = np.empty((n, d))
        for j in range(d):
            u[:, j] = (rng.permutation(n) + rng.random(n)) / n
    else:
        u = rng.random((n, d))
    return [{a.name: _draw(a, float(u[i, j])) for j, a in enumerate(axes)} for i in range(n)]


def point_config(base: Config, overrides: dict[str, Any]) -> Config:
    """The base configuration with one point's overrides; raises ConfigError if invalid."""
    cfg = base.copy()
    for name, value in overrides.items():
        cfg.set(name, value, source=f"sweep point {name}={value}")
    cfg.validate()
    return cfg


def stage1_key(cfg: Config) -> str:
    """The settings stage 1 reads, hashed: its hardware view, its run and non-ideality
    settings (not where it writes)."""
    from cim import HardwareParams
    from resolve import VERSION, config_key
    d = cfg.to_dict()
    run = dict(d["run"])
    run.pop("output_dir", None)
    return config_key(HardwareParams.from_config(cfg).to_dict(), run, d["nonideal"],
                      VERSION)[:20]


def point_id(cfg_dict: dict[str, Any], traces_sha256: str | None, image: int) -> str:
    from resolve import VERSION, config_key
    return config_key(cfg_dict, traces_sha256, image, VERSION)[:24]


# ------------------------------------------------------------------------------------------
# Evaluation (one point, anywhere)
# ------------------------------------------------------------------------------------------

@dataclass
class Task:
    point_id: str
    config: Config
    traces: str            # key into the traces map (the folder)


def evaluate_task(traces_map: dict[str, Any], task: Task) -> dict[str, Any]:
    """Price one point; an invalid combination becomes a record with its error."""
    from api import evaluate_stage2
    from chip_traces import TraceError
    traces = traces_map[task.traces]
    try:
        _, results = evaluate_stage2(task.config, traces)
    except (ConfigError, TraceError, ValueError) as exc:
        return {"status": "invalid", "error": str(exc).splitlines()[0] if str(exc) else
                type(exc).__name__}
    from api import Stage2Result
    row = Stage2Result(results=results, config={}, provenance={}).row()
    row.pop("mode", None)
    return {"status": "ok", "error": None, "figures": row,
            "messages": list(results.get("messages", []))}


# per-process state of a local pool worker: the traces it read once (set by _pool_init)
_WORKER: dict[str, Any] = {}


def _pool_init(traces_specs: list[tuple[str, str | None, int, str | None]]) -> None:
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    # the pool's processes share the cores: one thread each for stage 2's kernels
    os.environ.setdefault("CIMSIM_THREADS", "1")
    from api import Traces
    _WORKER["traces"] = {folder: Traces(folder, net, image, sha)
                         for folder, net, image, sha in traces_specs}


def _pool_eval(task: Task) -> tuple[str, dict[str, Any]]:
    return task.point_id, evaluate_task(_WORKER["traces"], task)


def _run_serial(tasks, traces_map):
    for t in tasks:
        yield t.point_id, evaluate_task(traces_map, t)


def _run_pool(tasks, traces_map, workers: int):
    import concurrent.futures as cf
    import multiprocessing as mp
    specs = [(k, None if t.network is None else str(t.network), t.image, t.sha256)
             for k, t in traces_map.items()]
    ctx = mp.get_context("spawn")
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_pool_init,
                                initargs=(specs,)) as ex:
        # a bounded window of tasks in flight: results stream back in completion order
        pending = set()
        it = iter(tasks)
        for t in itertools.islice(it, workers * 4):
            pending.add(ex.submit(_pool_eval, t))
        while pending:
            done, pending = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
            for fut in done:
                yield fut.result()
                nxt = next(it, None)
                if nxt is not None:
                    pending.add(ex.submit(_pool_eval, nxt))


def _ray_runtime_env() -> dict[str, Any]:
    path = os.pathsep.join([str(ROOT)] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])
    return {"env_vars": {"PYTHONPATH": path, "OPENBLAS_NUM_THREADS": "1", "CIMSIM_THREADS": "1"}}


def _run_ray(tasks, traces_map, address: str | None, workers: int | None,
             ray_init: dict[str, Any] | None = None):
    try:
        import ray
        from ray.util import ActorPool
    except ImportError:
        raise SweepSpecError("--ray: ray is not installed; `pip install .[ray]` "
                             "(or ray==2.60.0), or drop --ray") from None
    started = False
    if not ray.is_initialized():
        kw = dict(ray_init or {})
        kw.setdefault("runtime_env", _ray_runtime_env())
        kw.setdefault("log_to_driver", False)
        if address not in (None, "", "local"):
            kw["address"] = address
        elif workers:
            kw.setdefault("num_cpus", workers)
        try:
            ray.init(**kw)
        except Exception as exc:  # connection errors come in many types
            raise SweepSpecError(f"--ray {address or ''}: cannot start or reach a Ray cluster "
                                 f"({str(exc).splitlines()[0] if str(exc) else type(exc).__name__})"
                                 ) from None
        started = True
    try:
        n = workers or max(1, int(ray.cluster_resources().get("CPU", 1)))

        @ray.remote(num_cpus=1)
        class _Evaluator:
            def __init__(self, traces_map):     # an ObjectRef: resolved once per actor
                self.traces_map = traces_map

            def evaluate(self, task):
                return task.point_id, evaluate_task(self.traces_map, task)

        ref = ray.put(traces_map)               # the traces, once, into the object store
        actors = [_Evaluator.remote(ref) for _ in range(n)]
        pool = ActorPool(actors)
        yield from pool.map_unordered(lambda a, t: a.evaluate.remote(t), list(tasks))
    finally:
        if started:
            ray.shutdown()


# ------------------------------------------------------------------------------------------
# Pareto front, table, plots
# ------------------------------------------------------------------------------------------

def pareto_mask(values: np.ndarray, directions: list[str]) -> np.ndarray:
    """Non-dominated rows of `values` (points x objectives); 'max' or 'min' per column.
    Rows with a non-finite value are never on the front."""
    v = np.asarray(values, dtype=float).copy()
    for j, how in enumerate(directions):
        if how == "max":
            v[:, j] = -v[:, j]              # minimise everything
    ok = np.all(np.isfinite(v), axis=1)
    mask = np.zeros(len(v), dtype=bool)
    idx = np.flatnonzero(ok)
    w = v[idx]
    for k, i in enumerate(idx):
        dominated = np.all(w <= w[k], axis=1) & np.any(w < w[k], axis=1)
        mask[i] = not dominated.any()
    return mask


def _atomic_bytes(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_bytes(data)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def write_table(df, out: Path) -> None:
    """results.csv and results.parquet, each written under a temporary name and renamed."""
    import pandas as pd  # noqa: F401  (df is a DataFrame)
    _atomic_bytes(out / "results.csv", df.to_csv(index=False).encode())
    buf = io.BytesIO()
    df.to_parquet(buf, index=False)
    _atomic_bytes(out / "results.parquet", buf.getvalue())


def write_plots(df, axes: list[Axis], objectives: list[tuple[str, str]], out: Path) -> list[str]:
    """pareto.png (the first two objectives, the front highlighted, a third as colour) and
    sensitivity.png (each objective against each swept setting: mean and min..max)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    ok = df[df["status"] == "ok"]
    if ok.empty:
        return written
    names = [n for n, _ in objectives]
    label = {n: f"{n} ({how})" for n, how in objectives}
    if len(names) >= 2:
        fig, ax = plt.subplots(figsize=(6.4, 4.8))
        x, y = names[0], names[1]
        rest = ok[~ok["pareto"]]
        front = ok[ok["pareto"]].sort_values(x)
        if len(names) >= 3:
            sc = ax.scatter(ok[x], ok[y], c=ok[names[2]], cmap="viridis", s=18, alpha=0.6,
                            label="design points")
            fig.colorbar(sc, ax=ax, label=label[names[2]])
        else:
            ax.scatter(rest[x], rest[y], s=14, color="0.65", label="design points")
        ax.scatter(front[x], front[y], s=46, facecolors="none", edgecolors="crimson",
                   linewidths=1.5, label=f"Pareto front ({len(front)})")
        if len(names) == 2:
            ax.plot(front[x], front[y], color="crimson", lw=1, drawstyle="steps-post"
                    if objectives[0][1] != objectives[1][1] else "default")
        ax.set_xlabel(label[x])
        ax.set_ylabel(label[y])
        ax.set_title(f"{len(ok)} design points")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        fig.savefig(out / "pareto.png", dpi=120)
        plt.close(fig)
        written.append("pareto.png")
    if axes:
        na, no = len(axes), len(names)
        fig, grid = plt.subplots(no, na, figsize=(3.2 * na, 2.6 * no), squeeze=False)
        for j, axis in enumerate(axes):
            col = ok[axis.name]
            if axis.is_range:
                bins = np.quantile(col.astype(float), np.linspace(0, 1, 7))
                bins = np.unique(bins)
                groups = np.digitize(col.astype(float), bins[1:-1]) if len(bins) > 2 else np.zeros(len(col), int)
                centers = [float(col[groups == g].astype(float).median()) for g in np.unique(groups)]
                keys = list(np.unique(groups))
            else:
                keys = [k for k in dict.fromkeys(axis.values) if (col == k).any()]
                groups, centers = col, keys
            for i, name in enumerate(names):
                ax = grid[i][j]
                means, lo, hi = [], [], []
                for k in keys:
                    vals = ok[name][groups == k].astype(float)
                    vals = vals[np.isfinite(vals)]
                    means.append(vals.mean() if len(vals) else np.nan)
                    lo.append(vals.min() if len(vals) else np.nan)
                    hi.append(vals.max() if len(vals) else np.nan)
                xs = np.arange(len(keys)) if not axis.is_range else np.asarray(centers, float)
                means, lo, hi = map(np.asarray, (means, lo, hi))
                ax.errorbar(xs, means, yerr=[means - lo, hi - means], fmt="o-", capsize=3, ms=4)
                if not axis.is_range:
                    ax.set_xticks(xs)
                    ax.set_xticklabels([str(k) for k in keys], fontsize=7)
                elif axis.log:
                    ax.set_xscale("log")
                if i == no - 1:
                    ax.set_xlabel(axis.name, fontsize=8)
                if j == 0:
                    ax.set_ylabel(name, fontsize=8)
                ax.tick_params(labelsize=7)
                ax.grid(alpha=0.3)
        fig.suptitle("sensitivity: mean and min..max over the other settings", fontsize=9)
        fig.tight_layout()
        fig.savefig(out / "sensitivity.png", dpi=110)
        plt.close(fig)
        written.append("sensitivity.png")
    return written


# ------------------------------------------------------------------------------------------
# The sweep
# ------------------------------------------------------------------------------------------

@dataclass
class SweepOutcome:
    table: Any                       # pandas DataFrame
    evaluated: int                   # points priced in this run
    reused: int                      # points found in the results folder
    invalid: int
    notes: list[str]
    files: list[str]


def _write_point(points_dir: Path, pid: str, record: dict[str, Any]) -> None:
    _atomic_bytes(points_dir / f"{pid}.json", (json.dumps(record, indent=1) + "\n").encode())


def _read_point(points_dir: Path, pid: str) -> dict[str, Any] | None:
    p = points_dir / f"{pid}.json"
    if not p.is_file():
        return None
    try:
        rec = json.loads(p.read_text())
    except (OSError, ValueError):
        return None                      # a damaged record is priced again
    return rec if isinstance(rec, dict) and rec.get("id") == pid else None


def _run_stage1_group(cfg: Config, out: Path) -> dict[str, Any]:
    """Stage 1 for one configuration into `out` (skipped if already there). Returns
    {"status", "error", "accuracy": {...}}."""
    acc_file = out / "accuracy.json"
    if acc_file.is_file() and (out / "manifest.json").is_file():
        acc = json.loads(acc_file.read_text())
    else:
        import inference_sim
        from api import run_stage1
        try:
            acc = run_stage1(cfg, output_dir=out).accuracy
        except (inference_sim.Stage1Error, ConfigError, ValueError) as exc:
            return {"status": "invalid", "error": f"stage 1: {exc}"}
    return {"status": "ok", "error": None,
            "accuracy": {f"{m}_accuracy": acc[m] for m in ("float", "quantized", "hardware")
                         if m in acc}}


def _stage1_job(cfg: Config, out: str, threads: int | None) -> dict[str, Any]:
    """A stage-1 run in a pool worker (torch limited to `threads` threads there)."""
    if threads:
        import torch
        torch.set_num_threads(threads)
    return _run_stage1_group(cfg, Path(out))


def _run_stage1_groups(groups: dict[str, tuple[Config, Path]], workers: int,
                       log: Callable[[str], None]) -> dict[str, dict[str, Any]]:
    """Stage 1 once per key: serially, or on a local process pool (one torch thread per
    worker). Runs already in their folder are read back, not repeated."""
    done: dict[str, dict[str, Any]] = {}
    todo = {}
    for key, (cfg, folder) in groups.items():
        if (folder / "accuracy.json").is_file() and (folder / "manifest.json").is_file():
            done[key] = _run_stage1_group(cfg, folder)
        else:
            todo[key] = (cfg, folder)
    if not todo:
        return done
    log(f"stage 1: {len(todo)} run(s) ({len(done)} found in the results folder)")
    if workers > 1 and len(todo) > 1:
        import concurrent.futures as cf
        import multiprocessing as mp
        with cf.ProcessPoolExecutor(max_workers=min(workers, len(todo)),
                                    mp_context=mp.get_context("spawn")) as ex:
            futs = {ex.submit(_stage1_job, cfg, str(folder), 1): key
                    for key, (cfg, folder) in todo.items()}
            for fut in cf.as_completed(futs):
                done[futs[fut]] = fut.result()
                log(f"stage 1 done: {todo[futs[fut]][1]}")
    else:
        for key, (cfg, folder) in todo.items():
            done[key] = _run_stage1_group(cfg, folder)
            log(f"stage 1 done: {folder}")
    return done


def run_sweep(spec: SweepSpec, out_dir: str | os.PathLike, *, workers: int | None = 1,
              ray_address: str | None = None, use_ray: bool = False,
              ray_init: dict[str, Any] | None = None, progress: bool = True,
              plots: bool = True, log: Callable[[str], None] | None = None) -> SweepOutcome:
    """Run (or resume) a sweep into `out_dir`; see the module docstring."""
    import pandas as pd
    from api import Traces
    from chip_traces import TraceError, default_trace_folder
    from inferenceConfig import load_config
    from resolve import provenance, resolve_config

    log = log or (lambda m: print(m, file=sys.stderr))
    points = make_points(spec)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise SweepSpecError(f"--out {out}: exists and is not a folder; name a folder")
    for given in (spec.traces, spec.network, spec.config_file):
        if given is not None and Path(given).exists() and (
                Path(given).resolve() == out.resolve()
                or Path(given).resolve() in out.resolve().parents):
            raise SweepSpecError(f"--out {out}: overlaps the input {given}; name a folder "
                                 f"outside the inputs")
    if out.is_dir() and any(out.iterdir()) and not (
            (out / "sweep.json").is_file() or (out / "points").is_dir()):
        # never write into a folder a sweep did not make (its files would be overwritten)
        raise SweepSpecError(f"--out {out}: holds files no sweep wrote (no sweep.json or "
                             f"points/); name a new or empty folder, or an earlier sweep's")
    columns = STAGE2_COLUMNS + (STAGE1_COLUMNS if spec.stage1 else ())
    objectives = spec.objectives or list(DEFAULT_OBJECTIVES) + (
        [("hardware_accuracy", "max")] if spec.stage1 else [])
    parse_objectives([f"{n}:{h}" for n, h in objectives], columns)

    # the base configuration (recorded with stage-1 traces unless a preset is given)
    try:
        if spec.stage1 or spec.traces is not None:
            folder = spec.traces
        else:
            folder = str(default_trace_folder(load_config(spec.preset, spec.config_file,
                                                          spec.settings)))
        base, notes = resolve_config(spec.preset, spec.config_file, spec.settings,
                                     traces=None if spec.stage1 else folder)
    except ConfigError as exc:
        raise SweepSpecError(str(exc)) from None
    for n in notes:
        log(f"note: {n}")
    traces_map: dict[str, Traces] = {}
    if not spec.stage1:
        try:
            traces_map[folder] = Traces(folder, spec.network, spec.image)
            traces_map[folder].sha256       # hash once, here
            # read once here too: unreadable traces are one error, not one per point
            traces_map[folder].for_param(base.to_param())
        except (TraceError, OSError) as exc:
            raise SweepSpecError(str(exc)) from None

    out.mkdir(parents=True, exist_ok=True)
    points_dir = out / "points"
    points_dir.mkdir(exist_ok=True)

    # every point: its configuration (or its error), id, traces
    rows: list[dict[str, Any]] = []
    records: dict[str, dict[str, Any]] = {}
    tasks: list[Task] = []
    reused = 0
    todo_ids: set[str] = set()
    cfgs: list[Config | ConfigError] = []
    for ov in points:
        try:
            cfgs.append(point_config(base, ov))
        except ConfigError as exc:
            cfgs.append(exc)
    stage1_cache: dict[str, dict[str, Any]] = {}
    if spec.stage1:
        # stage 1 once per distinct value of the settings it reads (first point's config)
        groups: dict[str, tuple[Config, Path]] = {}
        for cfg in cfgs:
            if isinstance(cfg, Config):
                groups.setdefault(stage1_key(cfg), (cfg, out / "stage1" / stage1_key(cfg)))
        stage1_cache = _run_stage1_groups(groups, (workers or 1) if not use_ray else 1, log)
        for key, res in stage1_cache.items():
            if res["status"] == "ok":
                traces_map[str(groups[key][1])] = Traces(groups[key][1], None, spec.image)
    for i, (ov, cfg) in enumerate(zip(points, cfgs)):
        entry = {"index": i, "overrides": ov}
        if isinstance(cfg, ConfigError):
            entry.update(id=None, status="invalid", error=str(cfg))
            rows.append(entry)
            continue
        s1 = None
        if spec.stage1:
            key = stage1_key(cfg)
            s1 = stage1_cache[key]
            tkey = str(out / "stage1" / key)
            if s1["status"] != "ok":
                entry.update(id=None, status="invalid", error=s1["error"])
                rows.append(entry)
                continue
        else:
            tkey = folder
        tr = traces_map[tkey]
        pid = point_id(cfg.to_dict(), tr.sha256, spec.image)
        entry.update(id=pid, stage1=s1)
        rows.append(entry)
        rec = _read_point(points_dir, pid)
        if rec is not None:
            records[pid] = rec
            reused += 1
        elif pid not in todo_ids:
            todo_ids.add(pid)
            tasks.append(Task(pid, cfg, tkey))
            records[pid] = {"id": pid, "config": cfg.to_dict(),
                            "provenance": provenance(tr.folder, tr.sha256, tr.network,
                                                     image=spec.image)}

    if tasks:
        if use_ray:
            # the traces of every configuration go to the cluster already read
            for t in tasks:
                traces_map[t.traces].for_param(t.config.to_param())
            stream = _run_ray(tasks, traces_map, ray_address, workers or None, ray_init)
        elif (workers or 1) > 1 and len(tasks) > 1:
            stream = _run_pool(tasks, {k: v for k, v in traces_map.items()}, workers)
        else:
            stream = _run_serial(tasks, traces_map)
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(tasks), unit="pt", desc="design points", file=sys.stderr,
                       dynamic_ncols=True)
        try:
            for pid, result in stream:
                rec = records[pid]
                rec.update(result)
                _write_point(points_dir, pid, rec)
                if bar is not None:
                    bar.update(1)
        finally:
            if bar is not None:
                bar.close()

    # the table of this sweep's points
    axis_names = [a.name for a in spec.axes]
    table = []
    for entry in rows:
        row: dict[str, Any] = {"point": entry["index"], "id": entry["id"]}
        for name in axis_names:
            row[name] = entry["overrides"].get(name)
        rec = records.get(entry["id"]) if entry["id"] else None
        if rec is None:
            row["status"], row["error"] = entry["status"], entry["error"]
        else:
            row["status"], row["error"] = rec.get("status", "invalid"), rec.get("error")
        figures = (rec or {}).get("figures") or {}
        if spec.stage1:
            for k in STAGE1_COLUMNS:
                row[k] = ((entry.get("stage1") or {}).get("accuracy") or {}).get(k, np.nan)
        for k in STAGE2_COLUMNS:
            v = figures.get(k, np.nan)
            row[k] = float(v) if v is not None else np.nan
        table.append(row)
    df = pd.DataFrame(table)
    for name in axis_names:            # mixed-type columns (e.g. 64 and "64") as text
        if df[name].map(type).nunique() > 1:
            df[name] = df[name].astype(str)
    okm = (df["status"] == "ok").to_numpy()
    mask = np.zeros(len(df), dtype=bool)
    if okm.any():
        vals = df.loc[okm, [n for n, _ in objectives]].to_numpy(dtype=float)
        mask[okm] = pareto_mask(vals, [h for _, h in objectives])
    df["pareto"] = mask
    write_table(df, out)
    files = ["results.csv", "results.parquet"]
    if plots:
        files += write_plots(df, spec.axes, objectives, out)
    n_invalid = int((df["status"] != "ok").sum())
    _atomic_bytes(out / "sweep.json", (json.dumps({
        "axes": [dataclasses.asdict(a) for a in spec.axes], "sample": spec.sample,
        "method": spec.method, "seed": spec.seed, "objectives": objectives,
        "base_config": base.to_dict(), "stage1": spec.stage1,
        "provenance": provenance(None if spec.stage1 else folder,
                                 None if spec.stage1 else traces_map[folder].sha256,
                                 spec.network)}, indent=1, default=str) + "\n").encode())
    return SweepOutcome(table=df, evaluated=len(tasks), reused=reused, invalid=n_invalid,
                        notes=notes, files=files + ["sweep.json", "points/"])
