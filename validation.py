"""The input edge of both stages: every file and value that comes from the user passes here
before anything is allocated from it.

Rules (README, "What bad input gets"):

* A bad input raises `InputError` (a `ValueError`) with ONE line naming the file / layer /
  field and what would be accepted; the command lines print it and exit with status 2.
* A value is never echoed in full: `short()` keeps a short prefix.
* Sizes a file *declares* (npz headers, shape fields, line counts) are checked against the
  real file size and against the resource budget before any array of that size is made.
* Arrays are checked for dtype, exact shape, range and finiteness (`check_array`) before use.
* Files are opened read-only; a path that is not a readable regular file is refused.

The resource budget (`Budget`) bounds the memory one input may make us allocate. Its default
is 4 GiB; the environment variable `CIMSIM_MEMORY_BUDGET` (bytes, or with a K/M/G suffix,
e.g. `CIMSIM_MEMORY_BUDGET=16G`) overrides it.
"""
from __future__ import annotations

import json
import math
import os
import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable

import numpy as np

__all__ = ["InputError", "Budget", "short", "parse_size", "check_readable_file", "read_bytes",
           "read_text", "cut", "load_yaml", "load_json_text", "NpzReader", "check_array",
           "check_packed_bits", "confined_path"]

DEFAULT_BUDGET = 4 << 30
BUDGET_ENV = "CIMSIM_MEMORY_BUDGET"
# Small text inputs (configs, manifests, network tables) are refused above this size.
MAX_TEXT_BYTES = 64 << 20


class InputError(ValueError):
    """A user input that cannot be used: one line naming it and the fix (exit status 2)."""


def short(value: Any, limit: int = 40) -> str:
    """repr of a value, cut to a short prefix (messages never echo a whole value)."""
    try:
        text = repr(value)
    except Exception:  # pragma: no cover - exotic objects
        text = f"<{type(value).__name__}>"
    text = text.replace("\n", "\\n")
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def cut(text: str, limit: int = 80) -> str:
    """A message fragment on one line, at most `limit` characters."""
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[:limit] + "..."


def parse_size(text: str) -> int:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([kKmMgGtT]?)i?[bB]?\s*", str(text))
    if not m:
        raise InputError(f"{BUDGET_ENV}={short(text)}: expected a size in bytes such as "
                         f"4G, 512M or 1000000")
    scale = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[m.group(2).lower()]
    return int(float(m.group(1)) * scale)


@dataclass(frozen=True)
class Budget:
    """Memory one run may allocate for data read from inputs (bytes)."""
    max_bytes: int = DEFAULT_BUDGET

    @classmethod
    def from_env(cls) -> "Budget":
        text = os.environ.get(BUDGET_ENV)
        return cls(parse_size(text)) if text else cls()

    def check(self, nbytes: int, what: str, fix: str = "") -> None:
        if nbytes > self.max_bytes:
            raise InputError(
                f"{what} needs {_human(nbytes)}, above the memory budget of "
                f"{_human(self.max_bytes)}" + (f"; {fix}" if fix else "")
                + f" (raise it with {BUDGET_ENV}=SIZE if the input is genuine)")


def _human(n: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if n >= scale:
            return f"{n / scale:.1f} {unit}"
    return f"{n} bytes"


# ------------------------------------------------------------------------------------------
# Files
# ------------------------------------------------------------------------------------------

def check_readable_file(path: str | os.PathLike, what: str) -> int:
    """Size of `path` if it is a readable regular file, else InputError."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        raise InputError(f"{p}: {what} not found") from None
    except OSError as exc:
        raise InputError(f"{p}: {what} cannot be read ({exc.strerror})") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(f"{p}: {what} is a folder, expected a file")
    if not stat.S_ISREG(st.st_mode):
        raise InputError(f"{p}: {what} is not a regular file")
    if not os.access(p, os.R_OK):
        raise InputError(f"{p}: {what} is not readable (permission denied); fix its "
                         f"permissions (chmod u+r)")
    return st.st_size


def read_bytes(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    size = check_readable_file(path, what)
    if size > max_bytes:
        raise InputError(f"{path}: {what} is {_human(size)}, more than the {_human(max_bytes)} "
                         f"such a file can sensibly hold")
    try:
        with open(path, "rb") as f:
            return f.read(max_bytes + 1)
    except OSError as exc:
        raise InputError(f"{path}: {what} cannot be read ({exc.strerror})") from None


def read_text(path: str | os.PathLike, what: str, max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 text file (BOM allowed); a binary or non-UTF-8 file is one error line."""
    data = read_bytes(path, what, max_bytes)
    nul = data.find(b"\0")
    if nul >= 0:
        raise InputError(f"{path}: {what} is a binary file (NUL byte at offset {nul}); "
                         f"expected UTF-8 text")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: {what} is not UTF-8 text (byte {exc.start}); save it as "
                         f"UTF-8") from None


def confined_path(folder: Path, name: Any, what: str) -> Path:
    """`folder / name` for a plain file name inside `folder` (no separators, no '..')."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.+-]{0,200}", name):
        raise InputError(f"{what}: file name {short(name)} is not a plain file name inside "
                         f"{folder}")
    return folder / name


# ------------------------------------------------------------------------------------------
# Structured text
# ------------------------------------------------------------------------------------------

def load_yaml(text: str, source: str) -> Any:
    """yaml.safe_load without aliases (no 'billion laughs'), errors as one line."""
    import yaml

    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent):
                mark = event.start_mark
                raise InputError(f"{source}: YAML aliases (*{short(event.anchor, 20)} at line "
                                 f"{mark.line + 1}) are not accepted; write the values out")
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{source}: not valid YAML: {_yaml_reason(exc)}") from None


def _yaml_reason(exc: Exception) -> str:
    problem = getattr(exc, "problem", None) or getattr(exc, "context", None)
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    if problem is None:
        problem = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return cut(str(problem), 120) + where


def _no_constant(name: str):
    raise ValueError(f"{name} is not allowed (strict JSON)")


def load_json_text(text: str, source: str) -> Any:
    """Strict JSON (no NaN / Infinity), errors as one line."""
    try:
        return json.loads(text, parse_constant=_no_constant)
    except RecursionError:
        raise InputError(f"{source}: not valid JSON (nested too deeply)") from None
    except ValueError as exc:
        raise InputError(f"{source}: not valid JSON: {cut(str(exc), 120)}") from None


# ------------------------------------------------------------------------------------------
# npz archives: headers first, then arrays
# ------------------------------------------------------------------------------------------

class NpzReader:
    """An .npz archive read member by member, with each array's declared shape and dtype
    checked (against the archive's real size and the budget) before it is decompressed."""

    def __init__(self, path: str | os.PathLike, what: str, budget: Budget | None = None):
        self.path = Path(path)
        self.what = what
        self.budget = budget or Budget.from_env()
        self.size = check_readable_file(self.path, what)
        try:
            self.zf = zipfile.ZipFile(self.path)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
            raise InputError(f"{self.path}: {what} is not a readable .npz archive "
                             f"({cut(str(exc), 60)})") from None
        self.members = {}
        for info in self.zf.infolist():
            if info.filename.endswith(".npy"):
                self.members[info.filename[:-4]] = info
        self.files = list(self.members)
        self.allocated = 0

    def __enter__(self) -> "NpzReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.zf.close()

    def __contains__(self, name: str) -> bool:
        return name in self.members

    def header(self, name: str) -> tuple[tuple[int, ...], np.dtype]:
        """(shape, dtype) of member `name`, from its header only."""
        info = self.members.get(name)
        if info is None:
            raise InputError(f"{self.path}: array '{name}' is missing ({self.what})")
        try:
            with self.zf.open(info) as f:
                version = np.lib.format.read_magic(f)
                if version == (1, 0):
                    shape, fortran, dtype = np.lib.format.read_array_header_1_0(f)
                else:
                    shape, fortran, dtype = np.lib.format.read_array_header_2_0(f)
                hlen = f.tell() if hasattr(f, "tell") else None
        except Exception as exc:
            raise InputError(f"{self.path}: array '{name}' has a corrupt header "
                             f"({cut(str(exc), 60)})") from None
        if dtype.hasobject:
            raise InputError(f"{self.path}: array '{name}' holds Python objects (pickles are "
                             f"never loaded); write plain numeric arrays")
        if any((not isinstance(s, int)) or s < 0 for s in shape):
            raise InputError(f"{self.path}: array '{name}' declares shape {short(shape)}")
        nbytes = math.prod(shape) * dtype.itemsize
        if hlen is not None and info.file_size != hlen + nbytes:
            raise InputError(f"{self.path}: array '{name}' declares {short(shape)} "
                             f"{dtype} ({nbytes} bytes) but its member holds "
                             f"{info.file_size - hlen} bytes (truncated or corrupt file)")
        return tuple(shape), dtype

    def array(self, name: str, kinds: str, ndim: int | None = None,
              shape: Iterable[int | None] | None = None) -> np.ndarray:
        """Load member `name` after checking its header: dtype kind in `kinds` ('i' signed,
        'u' unsigned, 'f' float, 'b' bool, 'U' text), dimensions and exact shape (None:
        any length), and the budget."""
        shp, dtype = self.header(name)
        where = f"{self.path}: array '{name}'"
        if dtype.kind not in kinds:
            names = {"i": "integer", "u": "unsigned integer", "f": "float", "b": "bool",
                     "U": "text"}
            raise InputError(f"{where} has dtype {dtype}, expected "
                             + " or ".join(dict.fromkeys(names.get(k, k) for k in kinds))
                             + f" ({self.what})")
        if ndim is not None and len(shp) != ndim:
            raise InputError(f"{where} has {len(shp)} dimensions {short(shp)}, expected {ndim} "
                             f"({self.what})")
        if shape is not None:
            want = tuple(shape)
            if len(want) != len(shp) or any(w is not None and w != s for w, s in zip(want, shp)):
                txt = "x".join("*" if w is None else str(w) for w in want)
                raise InputError(f"{where} has shape {short(shp)}, expected {txt} ({self.what})")
        nbytes = math.prod(shp) * dtype.itemsize
        self.allocated += nbytes
        self.budget.check(self.allocated, f"{where} ({'x'.join(map(str, shp))} {dtype})")
        try:
            with self.zf.open(self.members[name]) as f:
                arr = np.lib.format.read_array(f, allow_pickle=False)
        except Exception as exc:
            raise InputError(f"{where} cannot be read: truncated or corrupt file "
                             f"({cut(str(exc), 60)})") from None
        if arr.shape != shp:
            raise InputError(f"{where} holds fewer values than its header declares "
                             f"(truncated file)")
        return arr


def check_array(arr: np.ndarray, where: str, lo: float | None = None, hi: float | None = None,
                integral: bool = False) -> np.ndarray:
    """Values finite, within [lo, hi], and integers if `integral`; the first offender is
    named by its index."""
    if arr.size == 0:
        return arr
    if arr.dtype.kind == "f":
        bad = ~np.isfinite(arr)
        if bad.any():
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{where}: value at {list(idx)} is {arr[idx]} (must be finite)")
        if integral:
            frac = arr != np.trunc(arr)
            if frac.any():
                idx = tuple(int(i) for i in np.argwhere(frac)[0])
                raise InputError(f"{where}: value at {list(idx)} is {arr[idx]:g}, must be an "
                                 f"integer")
    if lo is not None or hi is not None:
        amin, amax = arr.min(), arr.max()
        if (lo is not None and amin < lo) or (hi is not None and amax > hi):
            bad = np.zeros(arr.shape, bool)
            if lo is not None:
                bad |= arr < lo
            if hi is not None:
                bad |= arr > hi
            idx = tuple(int(i) for i in np.argwhere(bad)[0])
            raise InputError(f"{where}: value {arr[idx]} at {list(idx)} is outside "
                             f"[{lo:g}, {hi:g}]")
    return arr


def check_packed_bits(packed: np.ndarray, shape: np.ndarray, where: str, ndim: int,
                      budget: Budget | None = None) -> tuple[int, ...]:
    """The recorded unpacked shape of an np.packbits(axis=-1) array: `ndim` positive
    integers whose packed form has exactly the stored array's shape."""
    if shape.ndim != 1 or shape.shape[0] != ndim or shape.dtype.kind not in "iu":
        raise InputError(f"{where}: the recorded bit shape must be {ndim} integers, got "
                         f"{short(shape.tolist())}")
    dims = tuple(int(v) for v in shape)
    if min(dims) < 1:
        raise InputError(f"{where}: the recorded bit shape {dims} has an empty dimension")
    want = dims[:-1] + ((dims[-1] + 7) // 8,)
    if packed.shape != want:
        raise InputError(f"{where}: packed bits have shape {packed.shape}, the recorded shape "
                         f"{dims} needs exactly {want} (truncated or from another file)")
    (budget or Budget.from_env()).check(math.prod(dims[1:]), f"{where} (one image unpacked)")
    return dims
