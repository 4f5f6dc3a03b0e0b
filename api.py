"""Python API: both stages as functions, for notebooks, scripts and sweeps.

    import api
    cfg = api.make_config("neurosim-1.4", {"memcelltype": 2, "levelOutput": 16})
    traces = api.load_traces("layer_record_vgg8")          # read once
    for rows in (32, 64, 128):
        r = api.run_stage2(api.make_config("neurosim-1.4", {"numRowParallel": rows}), traces)
        print(r.row()["tops_per_w"], r.row()["area_mm2"])
    r.to_dict()                  # results.json content: figures, config, provenance

    s1 = api.run_stage1(api.make_config(overrides={"num_images": 500}))
    s1.row()["hardware_accuracy"], s1.traces_folder

Overrides take the names `--set` takes (`section.field`, a unique field name, or a
DNN+NeuroSim Param.cpp name) with typed or string values. Every result carries the whole
resolved configuration and its provenance (version, git commit, trace folder and the sha256
of its content), so it can be reproduced from its JSON alone. Bad values raise
`inferenceConfig.ConfigError`, bad traces `chip_traces.TraceError`.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from inferenceConfig import Config, ConfigError
from resolve import provenance, resolve_config, trace_content_hash, recorded_config

__all__ = ["make_config", "load_traces", "Traces", "run_stage1", "run_stage2",
           "Stage1Result", "Stage2Result", "ConfigError"]


def make_config(preset: str | None = None, overrides: dict[str, Any] | None = None,
                config_file: str | os.PathLike | None = None,
                traces: "str | os.PathLike | Traces | None" = None) -> Config:
    """A validated Config: `preset` (or, when `traces` are stage-1 traces and no preset is
    given, the configuration recorded with them), then `config_file`, then `overrides`
    ({name: value}, the names `--set` takes). Raises ConfigError naming a bad setting."""
    cfg, _ = make_config_with_notes(preset, overrides, config_file, traces)
    return cfg


def make_config_with_notes(preset=None, overrides=None, config_file=None, traces=None):
    """make_config, plus the notes on the traces' recorded configuration (resolve.py)."""
    if overrides is not None and not isinstance(overrides, dict):
        raise ConfigError(f"overrides: expected a dict of setting names to values, got "
                          f"{type(overrides).__name__}")
    folder = traces.folder if isinstance(traces, Traces) else traces
    return resolve_config(preset, None if config_file is None else str(config_file),
                          overrides or {}, traces=folder)


# ------------------------------------------------------------------------------------------
# Traces, read once
# ------------------------------------------------------------------------------------------

class Traces:
    """A trace folder (any format Chip.py reads), its content hash and, once asked for,
    its arrays. The arrays depend on the weight/input bits and the weight range of the
    configuration; each such combination is read once and kept. Pickles with what it
    has loaded (a sweep ships it once to each worker)."""

    def __init__(self, folder: str | os.PathLike, network: str | os.PathLike | None = None,
                 image: int = 0, sha256: str | None = None, trace_format: str = "auto"):
        self.folder = Path(folder)
        self.trace_format = trace_format     # input CSVs: "auto", "neurosim-1.4", "neurosim-1.5"
        self.network = None if network is None else Path(network)
        self.image = int(image)
        if not self.folder.exists():
            from chip_traces import TraceError
            raise TraceError(f"{self.folder}: trace folder not found (run `python "
                             f"inference_sim.py` first, or pass the folder of your traces)")
        self._sha256 = sha256
        self._loaded: dict[tuple, Any] = {}
        self._reuse: dict[int, dict] = {}

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = trace_content_hash(self.folder, self.network)
        return self._sha256

    @property
    def recorded_config(self) -> dict[str, Any] | None:
        return recorded_config(self.folder)

    @staticmethod
    def key(param) -> tuple:
        return (int(param.synapseBit), int(param.numBitInput), float(param.algoWeightMin),
                float(param.algoWeightMax))

    def for_param(self, param):
        """The loaded traces (chip_traces.NetworkTraces) for a FormulaBindings.Param."""
        k = self.key(param)
        nt = self._loaded.get(k)
        if nt is None:
            from chip_traces import load_traces as _load
            nt = _load(self.folder, self.network, *k, self.image,
                       trace_format=getattr(self, "trace_format", "auto"))
            self._loaded[k] = nt
        return nt

    def reuse_for(self, nt) -> dict:
        """The cross-estimate store for loaded traces `nt` (see Chip.estimate(reuse=))."""
        return self._reuse.setdefault(id(nt), {})

    def __getstate__(self):
        state = dict(self.__dict__)
        state["_reuse"] = {}            # rebuilt where the traces are used
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)

    def for_config(self, cfg: Config):
        return self.for_param(cfg.to_param())

    def provenance(self) -> dict[str, Any]:
        return provenance(self.folder, self.sha256, self.network, image=self.image)

    def __repr__(self) -> str:
        return f"Traces({str(self.folder)!r}, loaded={len(self._loaded)})"


def load_traces(folder: str | os.PathLike, network: str | os.PathLike | None = None,
                image: int = 0, trace_format: str = "auto") -> Traces:
    """A trace folder to evaluate many configurations on (see Traces); `trace_format` as
    Chip.py's --trace-format (NeuroSim V1.4 bit columns or V1.5 integer codes)."""
    return Traces(folder, network, image, trace_format=trace_format)


# ------------------------------------------------------------------------------------------
# Results
# ------------------------------------------------------------------------------------------

def _finite(x: Any) -> Any:
    if isinstance(x, str) and x in ("inf", "-inf", "nan"):
        return float(x)
    return x


@dataclass
class Stage2Result:
    """Area, latency, energy and efficiency of one configuration on one set of traces."""
    results: dict[str, Any]                  # the results.json figures (report.results_dict)
    config: dict[str, Any]                   # the whole resolved configuration
    provenance: dict[str, Any]
    estimate: Any = field(default=None, repr=False, compare=False)   # Chip.ChipEstimate

    def to_dict(self) -> dict[str, Any]:
        """What `python Chip.py --json` writes: figures, config and provenance."""
        return {**self.results, "config": self.config, "provenance": self.provenance}

    def row(self) -> dict[str, Any]:
        """One flat row for a table: chip totals (units in the names), performance,
        area in mm^2, total energy per image (dynamic + leakage)."""
        chip = {k: _finite(v) for k, v in self.results["chip"].items()}
        perf = {k: _finite(v) for k, v in self.results["performance"].items()}
        out = {"area_mm2": chip["area_um2"] * 1e-6,
               "latency_ns": chip["read_latency_ns"],
               "energy_pJ": chip["read_dynamic_energy_pJ"] + chip["leakage_energy_pJ"]}
        out.update(chip)
        out.update(perf)
        return out

    def write_json(self, path: str | os.PathLike) -> None:
        from report import _atomic_write
        _atomic_write(path, (json.dumps(self.to_dict(), indent=1) + "\n").encode())


@dataclass
class Stage1Result:
    """Accuracy of one configuration, and where its traces were written."""
    accuracy: dict[str, Any]                 # accuracy.json content (with config, provenance)
    traces_folder: Path | None
    model: Any = field(default=None, repr=False, compare=False)

    @property
    def config(self) -> dict[str, Any]:
        return self.accuracy["config"]

    @property
    def provenance(self) -> dict[str, Any]:
        return self.accuracy["provenance"]

    def to_dict(self) -> dict[str, Any]:
        return dict(self.accuracy)

    def row(self) -> dict[str, Any]:
        out = {f"{m}_accuracy": self.accuracy[m] for m in ("float", "quantized", "hardware")
               if m in self.accuracy}
        out["num_images"] = self.accuracy.get("num_images")
        out["model"] = self.accuracy.get("model")
        return out


# ------------------------------------------------------------------------------------------
# The two stages
# ------------------------------------------------------------------------------------------

def _as_traces(traces) -> Traces:
    return traces if isinstance(traces, Traces) else Traces(traces)


def evaluate_stage2(cfg: Config, traces: Traces, *, write_cost: bool = False,
                    old_traces: Traces | None = None):
    """(ChipEstimate, results dict) of `cfg` on `traces`; no provenance (see run_stage2)."""
    import Chip
    import report
    param = cfg.to_param()
    try:
        param.validate()
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    nt = traces.for_param(param)
    old = None
    if old_traces is not None:
        from programming import check_same_network
        old = old_traces.for_param(param)
        check_same_network(nt, old)
    est = Chip.estimate(param, nt, write_cost=write_cost, old_traces=old,
                        reuse=traces.reuse_for(nt))
    return est, report.results_dict(est)


def run_stage2(config: Config, traces: "Traces | str | os.PathLike", *,
               write_cost: bool = False, old_traces=None) -> Stage2Result:
    """Stage 2 (Chip.py's estimate) of a configuration on traces (a Traces, read once and
    reused across calls, or a folder). `write_cost`: also price programming the weights
    (from the erased state, or from `old_traces`)."""
    if not isinstance(config, Config):
        raise ConfigError(f"config: expected an inferenceConfig.Config (api.make_config), got "
                          f"{type(config).__name__}")
    traces = _as_traces(traces)
    old = None if old_traces is None else _as_traces(old_traces)
    est, results = evaluate_stage2(config, traces, write_cost=write_cost, old_traces=old)
    prov = traces.provenance()
    if old is not None:
        prov["old_traces"] = {"folder": str(old.folder.resolve()), "sha256": old.sha256}
    est.config, est.provenance = config.to_dict(), prov
    return Stage2Result(results=results, config=config.to_dict(), provenance=prov,
                        estimate=est)


def run_stage1(config: Config, *, output_dir: str | os.PathLike | None = None,
               modes: Iterable[str] = ("float", "quantized", "hardware"),
               write_traces: bool = True, neurosim_csv: bool = False,
               random_init: bool = False, calib_images: int = 512, progress: bool = False,
               quiet: bool = True) -> Stage1Result:
    """Stage 1 (inference_sim.py) for a configuration: accuracy in each mode and, with
    `write_traces`, the traces for stage 2 in `output_dir` (default: the configuration's
    run.output_dir, else layer_record_<model>). `quiet`: no printed report.
    Raises inference_sim.Stage1Error on bad input."""
    import inference_sim
    cfg = config.copy()
    if output_dir is not None:
        cfg.run.output_dir = str(output_dir)
    opts = inference_sim.Stage1Options(modes=",".join(modes), calib_images=calib_images,
                                       no_traces=not write_traces, neurosim_csv=neurosim_csv,
                                       random_init=random_init, no_progress=not progress)
    sink = io.StringIO() if quiet else None
    with (contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext()):
        out = inference_sim.run(cfg, opts)
    out_dir = Path(out["out_dir"])
    acc = json.loads((out_dir / "accuracy.json").read_text())   # the record as written
    return Stage1Result(accuracy=acc, traces_folder=out_dir if write_traces else None,
                        model=out.get("model"))
