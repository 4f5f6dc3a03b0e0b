"""Resolving the configuration of a run, and recording where a result came from.

Shared by the command lines (`Chip.py`, `sweep.py`) and the Python API (`api.py`):

- `resolve_config`: the configuration stage 2 uses for a trace folder. Stage 1 records its
  whole configuration in the traces (`manifest.json`, key `config`); stage 2 starts from
  that recorded configuration, so `python Chip.py` prices the hardware the traces were made
  for. `--config` and `--set` still apply on top, and every hardware setting they change
  against the recorded one is listed in a note. An explicit `--preset` replaces the recorded
  configuration as the starting point (also noted, with the differences).
- `trace_content_hash`: a sha256 of a trace folder's content (file names and bytes).
- `provenance`: version, git commit, trace folder and its hash, for every results JSON.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import json
import os
import platform
import subprocess
import sys
from pathlib import Path
from typing import Any

from inferenceConfig import PRESETS, Config, ConfigError, _read_config_file

__all__ = ["VERSION", "HARDWARE_SECTIONS", "recorded_config", "resolve_config",
           "config_differences", "trace_content_hash", "provenance", "git_commit",
           "config_key", "names_trace_folder", "latest_trace_folder", "choose_trace_folder"]

VERSION = "0.1.0"          # keep equal to setup.py's version (tests check it)
ROOT = Path(__file__).resolve().parent

# Sections stage 2 reads (run and nonideal only steer stage 1)
HARDWARE_SECTIONS = ("device", "array", "precision", "technology", "architecture",
                     "param_overrides")


def recorded_config(folder: str | os.PathLike | None) -> dict[str, Any] | None:
    """The configuration stage 1 recorded in a trace folder (`manifest.json` -> `config`),
    or None for folders without one (NeuroSim CSV folders, .npz files, missing folders)."""
    if folder is None:
        return None
    path = Path(folder) / "manifest.json"
    if not path.is_file():
        return None
    from traces import MAX_MANIFEST_BYTES
    from validation import InputError, load_json_text, read_text
    try:
        manifest = load_json_text(read_text(path, "manifest", MAX_MANIFEST_BYTES), str(path))
    except (InputError, OSError, ValueError):
        return None            # the trace reader reports a broken manifest with its own line
    cfg = manifest.get("config") if isinstance(manifest, dict) else None
    return cfg if isinstance(cfg, dict) else None


def _flat(d: dict[str, Any]) -> dict[str, Any]:
    out = {}
    for section in HARDWARE_SECTIONS:
        for k, v in (d.get(section) or {}).items():
            out[f"{section}.{k}"] = v
    return out


def config_differences(recorded: dict[str, Any], cfg: Config) -> list[tuple[str, Any, Any]]:
    """(setting, recorded value, value used) for every hardware setting that differs."""
    a, b = _flat(recorded), _flat(cfg.to_dict())
    diffs = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) != b.get(key):
            diffs.append((key, a.get(key), b.get(key)))
    return diffs


def _apply(cfg: Config, config_file: str | None, overrides) -> Config:
    if config_file:
        cfg.update(_read_config_file(config_file), source=f"--config {config_file}")
    if isinstance(overrides, dict):
        for key, value in overrides.items():
            cfg.set(str(key), value, source=f"setting {key}")
    else:
        for item in overrides or []:
            if "=" not in item:
                raise ConfigError(f"--set: expected NAME=VALUE, got {item!r}")
            key, value = item.split("=", 1)
            cfg.set(key.strip(), value, source=f"--set {item}")
    return cfg


def resolve_config(preset: str | None = None, config_file: str | None = None,
                   overrides: dict[str, Any] | list[str] | None = None,
                   traces: str | os.PathLike | None = None) -> tuple[Config, list[str]]:
    """The validated configuration for a run on `traces`, and notes for the user.

    `overrides`: a dict {name: value} (names as `--set` takes them) or `--set` strings
    "NAME=VALUE". Order: start (the traces' recorded configuration, else `preset` or the
    default), then `config_file`, then `overrides`. Raises ConfigError on a bad value."""
    recorded = recorded_config(traces)
    notes: list[str] = []
    start = None
    if recorded is not None and preset is None:
        try:
            start = Config()
            start.update(recorded, source=f"{Path(traces) / 'manifest.json'} (recorded config)")
        except ConfigError as exc:
            notes.append(f"the configuration recorded in {Path(traces) / 'manifest.json'} "
                         f"cannot be used ({exc}); starting from the default instead")
            start, recorded = None, None
    if start is None:
        name = preset or "default"
        if name not in PRESETS:
            raise ConfigError(f"--preset: unknown preset '{name}'. Valid: {', '.join(PRESETS)}.")
        start = PRESETS[name]()
    cfg = _apply(start, config_file, overrides).validate()
    if recorded is not None:
        diffs = config_differences(recorded, cfg)
        where = Path(traces) / "manifest.json"
        if diffs:
            how = f"--preset {preset}" if preset is not None else "the settings given"
            listed = ", ".join(f"{k}: {old!r} -> {new!r}" for k, old, new in diffs)
            notes.append(f"the traces were made with the configuration in {where}; "
                         f"{how} change(s) {len(diffs)} hardware setting(s) from it: {listed}")
        elif preset is None:
            notes.append(f"using the hardware configuration recorded with the traces ({where})")
    return cfg, notes


# ------------------------------------------------------------------------------------------
# Which trace folder stage 2 reads when none is named
# ------------------------------------------------------------------------------------------

_UNSET = "\0unset"


def names_trace_folder(preset: str | None = None, config_file: str | None = None,
                       overrides: dict[str, Any] | list[str] | None = None) -> bool:
    """True when `config_file` or `overrides` set `run.model` or `run.output_dir` (under any
    name the configuration accepts), i.e. the user chose which stage-1 folder to read.
    Raises ConfigError on a bad setting, like `resolve_config`."""
    name = preset or "default"
    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset '{name}'. Valid: {', '.join(PRESETS)}.")
    cfg = PRESETS[name]()
    cfg.run.model, cfg.run.output_dir = _UNSET, _UNSET
    _apply(cfg, config_file, overrides)
    return cfg.run.model != _UNSET or cfg.run.output_dir != _UNSET


def latest_trace_folder(where: str | os.PathLike = ".") -> tuple[Path, float] | None:
    """The stage-1 trace folder directly under `where` whose manifest.json was written last
    (a folder with a manifest of stage 1's format), with that time (seconds since the
    epoch); None when there is none. Unreadable or foreign manifests are skipped."""
    from traces import FORMAT, MAX_MANIFEST_BYTES
    from validation import InputError, load_json_text, read_text
    best: tuple[float, str, Path] | None = None
    try:
        entries = sorted(Path(where).iterdir())
    except OSError:
        return None
    for folder in entries:
        mpath = folder / "manifest.json"
        try:
            if not mpath.is_file():
                continue
            written = mpath.stat().st_mtime
            manifest = load_json_text(read_text(mpath, "manifest", MAX_MANIFEST_BYTES), str(mpath))
        except (InputError, OSError, ValueError):
            continue
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            continue
        key = (written, folder.name, folder)
        if best is None or key[:2] > best[:2]:
            best = key
    return None if best is None else (best[2], best[0])


def choose_trace_folder(traces: str | None, cfg: Config, preset: str | None = None,
                        config_file: str | None = None,
                        overrides: dict[str, Any] | list[str] | None = None,
                        where: str | os.PathLike = ".") -> tuple[str, str | None]:
    """The trace folder stage 2 reads, and a one-line note when it was picked automatically.

    `traces` (--traces) wins; then a model or output folder set in the configuration
    (`layer_record_<model>/` or `run.output_dir`); otherwise the stage-1 folder in `where`
    written last (what the last `inference_sim.py` run there wrote, as NeuroSim's Chip reads
    what its last inference run wrote); with none there, the default model's folder (whose
    absence the trace reader reports)."""
    from chip_traces import default_trace_folder
    if traces:
        return str(traces), None
    if names_trace_folder(preset, config_file, overrides):
        return str(default_trace_folder(cfg)), None
    found = latest_trace_folder(where)
    if found is None:
        return str(default_trace_folder(cfg)), None
    folder, written = found
    when = datetime.datetime.fromtimestamp(written, datetime.timezone.utc)
    rel = folder.name if Path(where).resolve() == Path.cwd().resolve() else str(folder)
    note = (f"reading {rel}/, the stage-1 traces written last here "
            f"({when.strftime('%Y-%m-%d %H:%M:%S')} UTC); choose others with --traces DIR "
            f"or --set model=NAME")
    return rel, note


# ------------------------------------------------------------------------------------------
# Provenance
# ------------------------------------------------------------------------------------------

def _trace_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    if not path.is_dir():
        return []
    return sorted(p for p in path.rglob("*") if p.is_file())


def trace_content_hash(folder: str | os.PathLike, network_file: str | os.PathLike | None = None,
                       ) -> str | None:
    """sha256 over the names (relative to the folder) and bytes of every file of a trace
    folder (or of one .npz file), plus a separate network file. None if nothing exists."""
    root = Path(folder)
    files = _trace_files(root)
    if not files:
        return None
    h = hashlib.sha256()
    for p in files:
        rel = p.name if root.is_file() else p.relative_to(root).as_posix()
        h.update(rel.encode() + b"\0")
        h.update(str(p.stat().st_size).encode() + b"\0")
        with p.open("rb") as f:
            for chunk in iter(lambda: f.read(1 << 22), b""):
                h.update(chunk)
    if network_file is not None:
        h.update(b"network\0" + Path(network_file).read_bytes())
    return h.hexdigest()


@functools.lru_cache(maxsize=1)
def git_commit() -> tuple[str | None, bool | None]:
    """(commit hash, working tree has uncommitted changes) of this checkout, or Nones."""
    def git(*args: str) -> str | None:
        try:
            r = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                               timeout=10)
        except (OSError, subprocess.SubprocessError):
            return None
        return r.stdout.strip() if r.returncode == 0 else None
    commit = git("rev-parse", "HEAD")
    if commit is None:
        return None, None
    status = git("status", "--porcelain", "--untracked-files=no")
    return commit, (None if status is None else bool(status))


def provenance(traces: str | os.PathLike | None = None, traces_sha256: str | None = None,
               network_file: str | os.PathLike | None = None, **extra: Any) -> dict[str, Any]:
    """Where a result came from: project version and git commit, Python/numpy versions,
    the command line, the trace folder and a hash of its content."""
    import numpy as np
    commit, dirty = git_commit()
    out: dict[str, Any] = {
        "project": "cimsim", "version": VERSION, "git_commit": commit, "git_dirty": dirty,
        "python": platform.python_version(), "numpy": np.__version__,
        "command": [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else None,
        "created_utc": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    if traces is not None:
        if traces_sha256 is None:
            traces_sha256 = trace_content_hash(traces, network_file)
        out["traces"] = {"folder": str(Path(traces).resolve()), "sha256": traces_sha256,
                         "network_file": None if network_file is None
                         else str(Path(network_file).resolve())}
    out.update(extra)
    return out


def config_key(cfg_dict: dict[str, Any], *parts: Any) -> str:
    """A content address: sha256 of the canonical JSON of a configuration and more parts."""
    blob = json.dumps([cfg_dict, *parts], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(blob.encode()).hexdigest()
