"""Stage-2 trace loading: the network table, the weights and the input bits of every layer.

Three folder formats are read:

* **stage 1** (`layer_record_<model>/`, written by `inference_sim.py`): `manifest.json` +
  `layer<k>.npz` (reader in `traces.py`); the network rows come from the manifest.
* **DNN+NeuroSim trace folder**: `weight<k>.csv` + `input<k>.csv` (k = 1..N) and a network
  CSV (8 integer columns, `--network FILE`, else `network.csv`/`NetWork.csv` in the folder).
  The format is exactly what the V1.4 wrapper writes (see the reference README, "Trace
  format"). Well-formed files take a vectorised fast path; anything else (other number
  formats, CRLF line ends) is parsed by a general text reader.
* **DNN+NeuroSim V1.4 PyTorch-wrapper folder** (`layer_record_<model>/` of its
  `Inference_pytorch`): `weight<name>.csv` / `input<name>.csv` per layer (e.g.
  `weightConv0_.csv`) in the order its `trace_command.sh` lists them after the network file
  and the four numbers (weight bits, input bits, sub-array, parallel rows); the network file is
  `--network`, `network.csv` in the folder, or the one the command names (in the folder or
  relative to the folder's parent, the wrapper's working folder).
* `traces.npz` as written by `tools/make_traces.py --format npz` (weight codes + packed bits).

Input CSVs come in two formats, told apart per file and never guessed: DNN+NeuroSim V1.4's
0/1 bit columns (`numBitInput` per position) and NeuroSim V1.5's integer codes (one per
position, expanded MSB first into `numBitInput` bits, `bit_i = (v >> (n-1-i)) & 1`, as V1.5's
loader does). `trace_format="auto"` decides by the column count alone: at least
`numInVector*numBitInput` columns is V1.4 (and every value must be 0/1), at least
`numInVector` (and fewer) is V1.5 (codes must fit `numBitInput` bits; a file of such width
holding only 0/1 could be a truncated V1.4 file and needs the flag), fewer is a truncated
file; a folder mixing the two is an error. (V1.5 itself reads V1.4 bit files silently as
codes 0/1 and prints wrong numbers.) `--trace-format` states the format instead.

Every file goes through `validation.py` first (readable regular file, UTF-8 text, npz
headers and sizes against the memory budget, exact packed sizes, integer codes in range).

Every layer becomes a `LayerTrace` holding

* `weight_levels` int16 [rows, C_out]: the integer NeuroSim maps a weight to before it splits
  it into cells (`round(2^(b-1)*w + 2^(b-1))`, NeuroSim's normalisation with weights in
  [algoWeightMin, algoWeightMax] = [-1, 1]); and
* `input_bits` uint8 [rows, numInVector*numBitInput]: the 0/1 input matrix, cropped to the
  columns NeuroSim reads. NeuroSim takes `numInVector = ((H-K_H+1)/s)*((W-K_W+1)/s)` output
  positions (the no-padding count) from the start of each file; we do the same for every
  format, so a stage-1 trace of a padded convolution is read the same way a NeuroSim trace is.

Any problem raises `TraceError` with one message naming the file and the layer.
"""
from __future__ import annotations

import itertools
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np

import FormulaBindings as fb
import cells
import parallel
from validation import (Budget, InputError, NpzReader, check_array, check_packed_bits,
                        check_readable_file, load_json_text, read_text, short)

__all__ = ["TraceError", "LayerTrace", "NetworkTraces", "load_traces", "read_network_csv",
           "num_in_vector", "weight_cells", "default_trace_folder", "TRACE_FORMATS",
           "codes_to_bits"]

# input CSV formats: "auto" tells them apart per file (see the module docstring)
TRACE_FORMATS = ("auto", "neurosim-1.4", "neurosim-1.5")


class TraceError(InputError):
    """Bad or missing trace input; the message names the file and the layer."""


@dataclass
class LayerTrace:
    index: int                      # 1-based layer number
    row: list[int]                  # the 8 NetWork.csv integers
    weight_levels: np.ndarray       # int16 [rows, C_out], values 0 .. 2^synapseBit
    input_bits: np.ndarray          # uint8 [rows, numInVector*numBitInput], 0/1
    source: str = ""                # where it came from (for messages)

    @property
    def num_in_vector(self) -> int:
        return num_in_vector(self.row)


@dataclass
class NetworkTraces:
    network: list[list[int]]
    layers: list[LayerTrace]
    weight_bits: int
    input_bits: int
    folder: str
    kind: str                        # "stage1" | "neurosim-csv" | "npz"
    notes: list[str] = field(default_factory=list)


# ------------------------------------------------------------------------------------------
# Network table
# ------------------------------------------------------------------------------------------

def num_in_vector(row: Sequence[float]) -> int:
    """NeuroSim's number of input vectors (output positions) of a layer: computed in double
    precision left to right as ((H-K_H+1)/s)*(W-K_W+1)/s, then truncated."""
    h, w, kh, kw, s = (float(row[i]) for i in (0, 1, 3, 4, 7))
    return int((h - kh + 1) / s * (w - kw + 1) / s)


def _check_rows(rows: list[list[int]], source: str) -> list[list[int]]:
    if not rows:
        raise TraceError(f"{source}: the network has no layers")
    for k, r in enumerate(rows, start=1):
        where = f"{source}, layer {k}"
        if len(r) != 8:
            raise TraceError(f"{where}: expected 8 columns (IFM_H, IFM_W, C_in, K_H, K_W, C_out, "
                             f"maxpool, stride), got {len(r)}")
        h, w, cin, kh, kw, cout, pool, stride = r
        if min(h, w, cin, kh, kw, cout, stride) < 1:
            raise TraceError(f"{where}: sizes and stride must be positive integers, got {r}")
        if pool not in (0, 1):
            raise TraceError(f"{where}: the max-pool flag (column 7) must be 0 or 1, got {pool}")
        if kh > h or kw > w or num_in_vector(r) < 1:
            raise TraceError(f"{where}: kernel {kh}x{kw} does not fit the {h}x{w} input")
    return rows


def read_network_csv(path: str | os.PathLike) -> list[list[int]]:
    """Read a NetWork.csv (8 integer columns per layer, comma separated, no header)."""
    p = Path(path)
    try:
        text = read_text(p, "network file", 16 << 20)
    except InputError as exc:
        raise TraceError(str(exc)) from None
    rows = []
    for n, line in enumerate(text.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        try:
            vals = [float(v) for v in line.split(",") if v.strip() != ""]
        except ValueError:
            raise TraceError(f"{p}, line {n}: not a list of numbers: {line[:60]!r}") from None
        if any(not math.isfinite(v) or v != int(v) or abs(v) > 1 << 24 for v in vals):
            raise TraceError(f"{p}, line {n}: network entries must be integers up to 2^24: "
                             f"{line[:60]!r}")
        rows.append([int(v) for v in vals])
    return _check_rows(rows, str(p))


# ------------------------------------------------------------------------------------------
# CSV parsing
# ------------------------------------------------------------------------------------------

_COMMA, _NL, _DOT, _MINUS, _SPACE, _ZERO = 44, 10, 46, 45, 32, 48


def _check_file(path: Path, what: str, layer: int) -> int:
    """Size of a trace file that exists and is readable, else TraceError."""
    try:
        return check_readable_file(path, f"{what} file of layer {layer}")
    except InputError as exc:
        raise TraceError(str(exc)) from None


def _read_bytes(path: Path, what: str, layer: int) -> bytes:
    size = _check_file(path, what, layer)
    # the general reader holds the bytes and a float64 per value (<= 4 bytes per file byte)
    Budget.from_env().check(5 * size, f"{path} ({what} file of layer {layer})")
    data = path.read_bytes()
    if not data.strip():
        raise TraceError(f"{path}: {what} file of layer {layer} is empty")
    if not data.endswith(b"\n"):
        data += b"\n"
    return data


def _line_chunks(path: Path, max_bytes: int = 1 << 22):
    """(line length, line count, chunk iterator) for a file whose lines all have the same
    length and end in '\\n' (what the wrapper writes); None otherwise. Chunks hold whole
    lines, at most `max_bytes`, so big files are parsed in bounded memory."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        first = f.readline(1 << 26)
    line_len = len(first)
    if line_len < 2 or not first.endswith(b"\n") or size % line_len:
        return None
    crlf = first.endswith(b"\r\n")
    if crlf and line_len < 3:
        return None
    per = max(1, max_bytes // line_len)

    def chunks():
        with open(path, "rb") as f:
            while True:
                block = f.read(per * line_len)
                if not block:
                    return
                # CRLF lines: drop the CR of every line (a misplaced one fails the checks)
                yield block.replace(b"\r\n", b"\n") if crlf else block

    return line_len - crlf, size // line_len, chunks()


def _generic_matrix(data: bytes, path: Path, layer: int, what: str) -> np.ndarray:
    """Slow but general: any decimal number format, CR/LF line ends, spaces."""
    text = data.decode("ascii", errors="replace")
    del data
    ncol = None
    out: list[np.ndarray] = []
    rows: list[list[float]] = []
    n = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        n += 1
        parts = line.split(",")
        if parts and parts[-1].strip() == "":
            parts = parts[:-1]
        if ncol is None:
            ncol = len(parts)
        elif len(parts) != ncol:
            raise TraceError(f"{path}, line {n}: {len(parts)} values, the first line has {ncol} "
                             f"(truncated or ragged {what} file of layer {layer})")
        try:
            rows.append([float(v) for v in parts])
        except ValueError:
            bad = next(v for v in parts if not _is_float(v))
            raise TraceError(f"{path}, line {n}: {bad.strip()[:20]!r} is not a number "
                             f"({what} file of layer {layer})") from None
        if len(rows) * ncol >= 1 << 16:        # bounded list of Python floats
            out.append(np.asarray(rows, dtype=np.float64))
            rows = []
    if rows or not out:
        out.append(np.asarray(rows, dtype=np.float64).reshape(len(rows), ncol or 0))
    return np.concatenate(out) if len(out) > 1 else out[0]


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _parse_bits_csv(path: Path, layer: int) -> np.ndarray:
    """0/1 matrix of an input file, uint8."""
    fast = _fast_bits(path, layer, strict=True)
    if fast is not None:
        return fast
    data = _read_bytes(path, "input", layer)
    mat = _generic_matrix(data, path, layer, "input")
    if not np.all(np.isfinite(mat)):
        raise TraceError(f"{path}: input bits must be 0 or 1, found NaN/inf (layer {layer})")
    bad = (mat != 0) & (mat != 1)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise TraceError(f"{path}: input bits must be 0 or 1, found {mat[r, c]:g} at row "
                         f"{r + 1}, column {c + 1} (layer {layer})")
    return mat.astype(np.uint8)


def _fast_bits(path: Path, layer: int, strict: bool) -> np.ndarray | None:
    """The 0/1 matrix of a file written as the wrapper writes bits (single characters,
    commas, equal lines), vectorised; None for any other layout (or, unless `strict`, a
    character other than 0/1)."""
    _check_file(path, "input", layer)
    lines = _line_chunks(path)
    if lines is not None and lines[0] % 2 == 0:
        line_len, nrow, chunks = lines
        out = np.empty((nrow, line_len // 2), dtype=np.uint8)
        r0 = 0
        for block in chunks:
            arr = np.frombuffer(block, dtype=np.uint8).reshape(-1, line_len)
            if not (np.all(arr[:, -1] == _NL) and np.all(arr[:, 1:-1:2] == _COMMA)):
                break
            vals = arr[:, 0::2] - np.uint8(_ZERO)
            bad = vals > 1
            if bad.any() and not strict:
                return None
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise TraceError(f"{path}: input bits must be 0 or 1, found "
                                 f"{chr(arr[r, 2 * c])!r} at row {r0 + r + 1}, column {c + 1} "
                                 f"(layer {layer})")
            out[r0:r0 + arr.shape[0]] = vals
            r0 += arr.shape[0]
        else:
            return out
    return None


def _parse_int_csv(path: Path, layer: int) -> np.ndarray:
    """Integer matrix (int64) of a CSV of decimal integers, vectorised over the bytes:
    digits, an optional leading '-', ',' between values, LF or CRLF line ends, an optional
    trailing comma. Other number formats go through the general reader (and must hold
    integers)."""
    data = _read_bytes(path, "input", layer)
    Budget.from_env().check(40 * len(data), f"{path} (input file of layer {layer})")
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n")
    data = data.replace(b",\n", b"\n")
    b = np.frombuffer(data, dtype=np.uint8)
    nl = b == _NL
    sep = nl | (b == _COMMA)
    ends = np.flatnonzero(sep)
    starts = np.empty_like(ends)
    starts[0] = 0
    starts[1:] = ends[:-1] + 1
    lens = ends - starts
    neg = np.zeros(len(b), dtype=bool)
    if len(ends) and lens.min() > 0:
        neg[starts] = b[starts] == ord("-")
    digit = (b >= _ZERO) & (b <= _ZERO + 9)
    if not len(ends) or lens.min() == 0 or lens.max() > 15 or not np.all(digit | sep | neg) \
            or np.any(neg[ends - 1]):
        mat = _generic_matrix(data, path, layer, "input")
        if not np.all(np.isfinite(mat)) or np.any(mat != np.round(mat)):
            raise TraceError(f"{path}: input values must be integers (0/1 bits for NeuroSim "
                             f"V1.4, integer codes for V1.5) (layer {layer})")
        return mat.astype(np.int64)
    field = np.cumsum(sep) - sep                  # the value each byte belongs to
    pos = np.flatnonzero(digit)
    fid = field[pos]
    place = (ends[fid] - 1 - pos).astype(np.int64)
    vals = np.bincount(fid, weights=(b[pos] - _ZERO) * 10.0 ** place, minlength=len(ends))
    vals = vals.astype(np.int64)
    vals[neg[starts]] *= -1
    row_end = np.flatnonzero(nl[ends])
    per_row = np.diff(np.concatenate(([-1], row_end)))
    if np.any(per_row != per_row[0]):
        r = int(np.argmax(per_row != per_row[0]))
        raise TraceError(f"{path}, line {r + 1}: {per_row[r]} values, the first line has "
                         f"{per_row[0]} (truncated or ragged input file of layer {layer})")
    return vals.reshape(len(row_end), int(per_row[0]))


def codes_to_bits(codes: np.ndarray, input_bits: int) -> np.ndarray:
    """NeuroSim V1.5's expansion of integer input codes into bits, MSB first per position:
    (rows, P) -> uint8 (rows, P*input_bits)."""
    shifts = np.arange(input_bits - 1, -1, -1, dtype=np.int64)
    bits = (np.asarray(codes, dtype=np.int64)[:, :, None] >> shifts) & 1
    return bits.astype(np.uint8).reshape(codes.shape[0], -1)


def _input_matrix(path: Path, layer: int, row: list[int], input_bits: int,
                  trace_format: str) -> tuple[np.ndarray, str]:
    """The 0/1 input matrix of an input CSV of either format, and the format it had."""
    n_vec = num_in_vector(row)
    if trace_format == "neurosim-1.4":
        return _parse_bits_csv(path, layer), trace_format
    if trace_format == "auto":
        # told apart by the column count: V1.4 has numBitInput columns per position, V1.5 one
        bits = _fast_bits(path, layer, strict=False)
        codes = bits if bits is not None else _parse_int_csv(path, layer)
        if codes.shape[1] >= n_vec * input_bits:
            bad = (codes != 0) & (codes != 1)
            if bad.any():
                r, c = np.argwhere(bad)[0]
                raise TraceError(
                    f"{path}: input bits must be 0 or 1, found {codes[r, c]} at row {r + 1}, "
                    f"column {c + 1} (layer {layer}; {codes.shape[1]} columns is NeuroSim V1.4's "
                    f"bit format, V1.5's integer format has {n_vec} columns)")
            return codes.astype(np.uint8, copy=False), "neurosim-1.4"
        if codes.shape[1] < n_vec or np.all((codes == 0) | (codes == 1)):
            # fewer columns than positions, or 0/1 only: a truncated V1.4 file cannot be told
            # from V1.5 codes that are all 0 or 1, so nothing is guessed
            raise TraceError(
                f"{path}: input matrix of layer {layer} has {codes.shape[1]} columns, the network "
                f"needs {n_vec * input_bits} (NeuroSim V1.4: {n_vec} positions x {input_bits} "
                f"bits) or {n_vec} (V1.5: one integer code per position); the file is "
                f"truncated or from another network (a V1.5 file whose codes are all 0/1: "
                f"pass --trace-format neurosim-1.5)")
        codes = codes.astype(np.int64, copy=False)
    else:
        codes = _parse_int_csv(path, layer)
        if (input_bits > 1 and codes.shape[1] >= n_vec * input_bits
                and np.all((codes == 0) | (codes == 1))):
            raise TraceError(
                f"{path}: input file of layer {layer} has {codes.shape[1]} columns of 0/1: "
                f"NeuroSim V1.4 bit columns, not V1.5 input codes ({n_vec} per row); drop "
                f"--trace-format neurosim-1.5 (NeuroSim V1.5 would read it silently, wrongly)")
    lo, hi = -(2 ** (input_bits - 1)), 2 ** input_bits - 1
    if codes.shape[1] < n_vec:
        raise TraceError(f"{path}: input file of layer {layer} has {codes.shape[1]} integer "
                         f"codes per row, the network needs {n_vec} (NeuroSim V1.5 format); "
                         f"the file is truncated or from another network")
    codes = codes[:, :n_vec]
    bad = (codes < lo) | (codes > hi)
    if bad.any():
        r, c = np.argwhere(bad)[0]
        raise TraceError(f"{path}: input code {codes[r, c]} at row {r + 1}, column {c + 1} does "
                         f"not fit {input_bits} bits ({lo} .. {hi}; numBitInput) (layer {layer})")
    return codes_to_bits(codes, input_bits), "neurosim-1.5"


def _fixed_width_values(data: bytes, path: Path) -> np.ndarray | None:
    """Decimal numbers written with one fixed width and a fixed number of decimals (such as
    '%10.5f'), parsed exactly (integer digits / 10^decimals, as strtod rounds). None if the
    file does not have that shape."""
    line_len = data.find(b"\n") + 1
    first_comma = data.find(b",")
    buf = np.frombuffer(data, dtype=np.uint8)
    if first_comma < 0 or first_comma > line_len:
        width = line_len - 1                                      # one column
    else:
        width = first_comma
    if width < 2 or line_len % (width + 1) != 0 or buf.size % line_len != 0:
        return None
    ncol = line_len // (width + 1)
    arr = buf.reshape(-1, ncol, width + 1)
    seps = arr[:, :, width]
    if not (np.all(seps[:, :-1] == _COMMA) and np.all(seps[:, -1] == _NL)):
        return None
    first = arr[0, 0, :width]
    dots = np.flatnonzero(first == _DOT)
    if dots.size != 1:
        return None
    d = int(dots[0])
    ndec = width - 1 - d
    out = np.empty(arr.shape[:2], dtype=np.float64)
    chunk = max(1, (1 << 22) // max(1, ncol * width))
    for r0 in range(0, arr.shape[0], chunk):
        f = arr[r0:r0 + chunk, :, :width]
        if not np.all(f[:, :, d] == _DOT):
            return None
        frac = f[:, :, d + 1:]
        if ndec and not np.all((frac >= _ZERO) & (frac <= _ZERO + 9)):
            return None
        head = f[:, :, :d]
        isdig = (head >= _ZERO) & (head <= _ZERO + 9)
        ok = isdig | (head == _SPACE) | (head == _MINUS)
        if not np.all(ok):
            return None
        # spaces, then at most one '-', then digits (at least one)
        cls = np.where(isdig, 2, np.where(head == _MINUS, 1, 0)).astype(np.int8)
        if d > 1 and not np.all(np.diff(cls, axis=2) >= 0):
            return None
        if d == 0 or not np.all(isdig[:, :, -1]) or np.any((head == _MINUS).sum(axis=2) > 1):
            return None
        acc = np.zeros(f.shape[:2], dtype=np.int64)
        for j in range(d):                       # character positions, not data
            c = head[:, :, j]
            acc = np.where(isdig[:, :, j], acc * 10 + (c.astype(np.int64) - _ZERO), acc)
        for j in range(ndec):
            acc = acc * 10 + (frac[:, :, j].astype(np.int64) - _ZERO)
        neg = np.any(head == _MINUS, axis=2)
        val = acc.astype(np.float64) / (10.0 ** ndec)
        out[r0:r0 + chunk] = np.where(neg, -val, val)
    return out


def _parse_weight_csv(path: Path, layer: int, synapse_bit: int, wmin: float,
                      wmax: float) -> np.ndarray:
    """NeuroSim weight levels (int16) of a weight file."""
    _check_file(path, "weight", layer)
    lines = _line_chunks(path)
    if lines is not None:
        line_len, nrow, chunks = lines
        out = None
        r0 = 0
        # a few chunks at a time (memory stays bounded), parsed on all threads
        group = parallel.threads()
        pending = list(itertools.islice(chunks, group))
        while pending:
            parts: list = [None] * len(pending)

            def parse(j: int) -> None:
                parts[j] = _quantised_grid_levels(pending[j], synapse_bit, wmin, wmax)
            parallel.run_blocks(parse, len(pending))
            if any(part is None for part in parts):
                out = None
                break
            for part in parts:
                if out is None:
                    out = np.empty((nrow, part.shape[1]), dtype=np.int16)
                out[r0:r0 + part.shape[0]] = part
                r0 += part.shape[0]
            pending = list(itertools.islice(chunks, group))
        if out is not None and r0 == nrow:
            return out
    data = _read_bytes(path, "weight", layer)
    vals = _fixed_width_values(data, path)
    if vals is None:
        vals = _generic_matrix(data, path, layer, "weight")
    if not np.all(np.isfinite(vals)):
        r, c = np.argwhere(~np.isfinite(vals))[0]
        raise TraceError(f"{path}: weight at row {r + 1}, column {c + 1} is {vals[r, c]} "
                         f"(layer {layer}); weights must be finite")
    return weights_to_levels(vals, synapse_bit, wmin, wmax, str(path), layer)


_GRID_CACHE: dict[tuple[int, int, int, float, float], tuple] = {}


def _grid_table(width: int, decimals: int, synapse_bit: int, wmin: float, wmax: float):
    """The strings '%{width}.{decimals}f' of every b-bit weight q/2^(b-1) (what the NeuroSim
    wrapper writes), as 8-byte keys, in an open table indexed by a collision-free
    multiply-shift hash ((key * mult) >> shift: no integer division per value), with the
    NeuroSim level of each string (computed from the string's own value, as NeuroSim
    parses it). Returns (table keys, table levels, mult, shift). An empty slot holds the
    first key, whose own slot is another one: a field hashed to an empty slot never
    matches."""
    key = (width, decimals, synapse_bit, wmin, wmax)
    if key not in _GRID_CACHE:
        half = 2 ** (synapse_bit - 1)
        texts = [("%*.*f" % (width, decimals, q / half)) for q in range(-half, half + 1)]
        texts = [t for t in texts if len(t) == width and t[:width - 8].strip() == ""]
        keys = np.frombuffer("".join(t[width - 8:] for t in texts).encode(), dtype="<u8")
        values = np.array([float(t) for t in texts])
        levels = weights_to_levels(values, synapse_bit, wmin, wmax, "", 0).astype(np.int16)
        n = len(keys)
        bits = max(8, int(n - 1).bit_length() + 6)          # table 64x the keys or more
        shift = np.uint64(64 - bits)
        mult = np.uint64(0x9E3779B97F4A7C15)                # odd constants tried in turn
        while True:
            h = (keys * mult) >> shift
            if len(np.unique(h)) == n:
                break
            mult = np.uint64((int(mult) + 0x632BE59BD9B4E019) % (1 << 64) | 1)
        tab_keys = np.full(1 << bits, keys[0], dtype="<u8")
        tab_levels = np.zeros(1 << bits, dtype=np.int16)
        tab_keys[h.astype(np.int64)] = keys
        tab_levels[h.astype(np.int64)] = levels
        _GRID_CACHE[key] = (tab_keys, tab_levels, mult, shift)
    return _GRID_CACHE[key]


def _quantised_grid_levels(data: bytes, synapse_bit: int, wmin: float, wmax: float):
    """Fast path for files of fixed-width numbers that are all exact b-bit grid values (the
    wrapper's '%10.5f' of q/2^(b-1)): one hash lookup per value. None if any field is not."""
    line_len = data.find(b"\n") + 1
    width = data.find(b",")
    if width < 8 or width > line_len or line_len % (width + 1) != 0 or len(data) % line_len:
        return None
    dot = data.find(b".", 0, width)
    if dot < 0:
        return None
    tab_keys, tab_levels, mult, shift = _grid_table(width, width - 1 - dot, synapse_bit, wmin, wmax)
    nrow, ncol = len(data) // line_len, line_len // (width + 1)
    kernel = getattr(fb, "grid_levels", None)
    if kernel is not None:
        # the same checks and lookups in one pass (C++)
        out = np.empty((nrow, ncol), dtype=np.int16)
        ok = kernel(data, nrow, ncol, width, tab_keys, tab_levels, int(mult), int(shift), out)
        return out if ok else None
    buf = np.frombuffer(data, dtype=np.uint8).reshape(nrow, ncol, width + 1)
    seps = buf[:, :, width]
    if not (np.all(seps[:, :-1] == _COMMA) and np.all(seps[:, -1] == _NL)):
        return None
    if width > 8 and not np.all(buf[:, :, :width - 8] == _SPACE):
        return None
    field = np.ndarray((nrow, ncol), dtype="<u8", buffer=data, offset=width - 8,
                       strides=(line_len, width + 1))
    out = np.empty((nrow, ncol), dtype=np.int16)
    step = max(1, (1 << 18) // ncol)
    with np.errstate(over="ignore"):
        for r0 in range(0, nrow, step):
            k = np.array(field[r0:r0 + step])
            idx = ((k * mult) >> shift).astype(np.intp)
            if not np.array_equal(tab_keys[idx], k):
                return None
            out[r0:r0 + step] = tab_levels[idx]
    return out


# ------------------------------------------------------------------------------------------
# Weights -> NeuroSim levels -> cells
# ------------------------------------------------------------------------------------------

def weights_to_levels(w: np.ndarray, synapse_bit: int, wmin: float, wmax: float,
                      path: str, layer: int) -> np.ndarray:
    """NeuroSim's normalisation of real weights to integers 0..2^b (rounded half away from
    zero, then truncated toward zero, as its loader does)."""
    if w.size and (w.min() < wmin - 1e-9 or w.max() > wmax + 1e-9):
        bad = np.argwhere((w < wmin - 1e-9) | (w > wmax + 1e-9))[0]
        raise TraceError(f"{path}: weight {w[tuple(bad)]:g} at row {bad[0] + 1}, column "
                         f"{bad[1] + 1} is outside [{wmin:g}, {wmax:g}] (layer {layer})")
    return cells.weight_levels(w, synapse_bit, wmin, wmax, dtype=np.int16)


def weight_cells(levels: np.ndarray, cell_bit: int, cells_per_weight: int) -> np.ndarray:
    """Split weight levels into `cells_per_weight` cells of `cell_bit` bits, most significant
    first: uint8 [rows, C_out*cells_per_weight] of cell levels 0..2^cellBit-1. Bits above
    cells_per_weight*cell_bit are dropped, as NeuroSim's split does."""
    return cells.split_levels(levels, cells_per_weight, cell_bit)


# ------------------------------------------------------------------------------------------
# Folder readers
# ------------------------------------------------------------------------------------------

def _finish_layer(k: int, row: list[int], levels: np.ndarray, bits: np.ndarray,
                  input_bits: int, wsrc: str, xsrc: str) -> LayerTrace:
    rows = row[2] * row[3] * row[4]
    if levels.shape != (rows, row[5]):
        raise TraceError(f"{wsrc}: weight matrix of layer {k} is {levels.shape[0]}x"
                         f"{levels.shape[1] if levels.ndim > 1 else 1}, the network row {row} "
                         f"needs {rows}x{row[5]} (C_in*K_H*K_W x C_out)")
    if bits.shape[0] != rows:
        raise TraceError(f"{xsrc}: input matrix of layer {k} has {bits.shape[0]} rows, the "
                         f"network row {row} needs {rows} (C_in*K_H*K_W)")
    need = num_in_vector(row) * input_bits
    if bits.shape[1] < need:
        raise TraceError(f"{xsrc}: input matrix of layer {k} has {bits.shape[1]} columns, "
                         f"NeuroSim reads {need} ({num_in_vector(row)} positions x "
                         f"{input_bits} bits); the file is truncated or from another network")
    return LayerTrace(index=k, row=row, weight_levels=levels,
                      input_bits=np.ascontiguousarray(bits[:, :need]), source=xsrc)


def _load_csv_folder(folder: Path, network: list[list[int]], synapse_bit: int,
                     input_bits: int, wmin: float, wmax: float, progress,
                     pairs: list[tuple[Path, Path]] | None = None,
                     trace_format: str = "auto") -> list[LayerTrace]:
    if pairs is not None and len(pairs) != len(network):
        raise TraceError(f"{folder / 'trace_command.sh'}: lists {len(pairs)} layers, the "
                         f"network has {len(network)}; wrong --network file?")
    layers = []
    seen = None
    paths = [pairs[k - 1] if pairs is not None else
             (folder / f"weight{k}.csv", folder / f"input{k}.csv")
             for k in range(1, len(network) + 1)]
    # the files are parsed on all threads (numpy releases the GIL), the largest first;
    # each layer's result or error is then taken in layer order, as a sequential read
    # would meet them
    parsed: list = [None] * len(network)

    def parse(k: int) -> None:
        wpath, xpath = paths[k]
        try:
            levels = _parse_weight_csv(wpath, k + 1, synapse_bit, wmin, wmax)
            parsed[k] = (levels, *_input_matrix(xpath, k + 1, network[k], input_bits,
                                                trace_format))
        except (TraceError, InputError, OSError, ValueError, MemoryError) as exc:
            parsed[k] = exc

    def size(k: int) -> int:
        try:
            return sum(p.stat().st_size for p in paths[k])
        except OSError:
            return 0
    order = sorted(range(len(network)), key=size, reverse=True)
    parallel.run_blocks(lambda j: parse(order[j]), len(order))
    for k, row in enumerate(network, start=1):
        wpath, xpath = paths[k - 1]
        if isinstance(parsed[k - 1], BaseException):
            raise parsed[k - 1]
        levels, bits, fmt = parsed[k - 1]
        parsed[k - 1] = None
        if trace_format == "auto" and k > 1 and fmt != seen:
            raise TraceError(f"{xpath}: layer {k} is in {fmt} input format, layer 1 in {seen}; "
                             f"a trace folder must use one format")
        seen = fmt
        layers.append(_finish_layer(k, row, levels, bits, input_bits, str(wpath), str(xpath)))
        if progress:
            progress(k)
    if pairs is not None:
        listed = {p.name for pair in pairs for p in pair}
        extra_files = sorted(p.name for p in folder.glob("*.csv")
                             if p.name.startswith(("weight", "input")) and p.name not in listed)
        if extra_files:
            raise TraceError(f"{folder}: {', '.join(extra_files[:3])} not listed in "
                             f"trace_command.sh; the folder holds more layers than it lists")
        return layers
    extra = folder / f"weight{len(network) + 1}.csv"
    if extra.exists():
        raise TraceError(f"{extra}: the folder holds more layers than the network "
                         f"({len(network)}); wrong --network file?")
    return layers


def _load_npz_folder(path: Path, network: list[list[int]] | None, synapse_bit: int,
                     input_bits: int):
    """traces.npz: `w<k>` integer weight codes [rows, C_out], `x<k>` packed input bits
    [rows, ceil(cols/8)], `x<k>_shape` [rows, cols], `meta` (JSON text: wbits,
    network_rows). Every array is checked before use (validation.NpzReader)."""
    try:
        with NpzReader(path, "traces.npz") as z:
            return _read_npz(z, path, network, synapse_bit, input_bits)
    except TraceError:
        raise
    except InputError as exc:
        raise TraceError(str(exc)) from None


def _read_npz(z: NpzReader, path: Path, network, synapse_bit: int, input_bits: int):
    meta: dict[str, Any] = {}
    if "meta" in z:
        raw = z.array("meta", "U", ndim=0)
        meta = load_json_text(str(raw), f"{path}[meta]")
        if not isinstance(meta, dict):
            raise TraceError(f"{path}: 'meta' must hold a JSON object, got {short(meta)}")
    if network is None:
        rows = meta.get("network_rows")
        if rows is None:
            raise TraceError(f"{path}: no network rows stored; pass --network FILE")
        if not isinstance(rows, list) or not all(
                isinstance(r, list) and len(r) >= 8 and all(
                    isinstance(v, int) and not isinstance(v, bool) for v in r[:8]) for r in rows):
            raise TraceError(f"{path}: meta.network_rows must be a list of rows of 8 integers, "
                             f"got {short(rows)}")
        network = _check_rows([[int(v) for v in r[:8]] for r in rows], f"{path}[meta]")
    wb = meta.get("wbits", synapse_bit)
    if not isinstance(wb, int) or isinstance(wb, bool):
        raise TraceError(f"{path}: meta.wbits {short(wb)} is not an integer")
    if wb != synapse_bit:
        raise TraceError(f"{path}: traces hold {wb}-bit weights, the configuration says "
                         f"{synapse_bit} (synapseBit)")
    half = 2 ** (synapse_bit - 1)
    layers = []
    for k, row in enumerate(network, start=1):
        for key in (f"w{k}", f"x{k}", f"x{k}_shape"):
            if key not in z:
                raise TraceError(f"{path}: array {key} of layer {k} is missing")
        where = f"{path}[w{k}] (layer {k})"
        q = z.array(f"w{k}", "iu", ndim=2)
        check_array(q, f"{where}: {synapse_bit}-bit weight codes", -half, half)
        levels = (q.astype(np.int64) + half).astype(np.int16)
        shape = z.array(f"x{k}_shape", "iu", ndim=1, shape=(2,))
        pshape, pdt = z.header(f"x{k}")
        if pdt != np.uint8:
            raise TraceError(f"{path}[x{k}] (layer {k}): dtype {pdt}, expected uint8 "
                             f"(np.packbits output)")
        dims = check_packed_bits(_HeaderShape(pshape), shape, f"{path}[x{k}] (layer {k})", 2)
        bits = np.unpackbits(z.array(f"x{k}", "u", ndim=2), axis=1, count=dims[1])
        layers.append(_finish_layer(k, row, levels, bits, input_bits, f"{path}[w{k}]",
                                    f"{path}[x{k}]"))
    extra = f"w{len(network) + 1}"
    if extra in z:
        raise TraceError(f"{path}: holds more layers than the network ({len(network)}, array "
                         f"{extra}); wrong --network file?")
    return network, layers


class _HeaderShape:
    def __init__(self, shape):
        self.shape = tuple(shape)


_ENTRY_PAIRS = ("ifm", "kernel", "stride", "dilation")


def _entry_row(entry: dict[str, Any], k: int, mpath: Path) -> list[int]:
    """The NeuroSim network row of a manifest layer entry, after checking its fields."""
    from traces import neurosim_row
    where = f"{mpath}, layer {k}"
    for key in _ENTRY_PAIRS:
        v = entry.get(key)
        if not (isinstance(v, list) and len(v) == 2 and all(
                isinstance(x, int) and not isinstance(x, bool) and 1 <= x <= 1 << 24 for x in v)):
            raise TraceError(f"{where}: '{key}' must be two positive integers, got {short(v)}")
    for key in ("in_channels", "out_channels", "groups"):
        v = entry.get(key)
        if not (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 1 << 24):
            raise TraceError(f"{where}: '{key}' must be a positive integer, got {short(v)}")
    if entry.get("pool") is not None and not isinstance(entry.get("pool"), dict):
        raise TraceError(f"{where}: 'pool' must be an object or null, got "
                         f"{short(entry.get('pool'))}")
    row = neurosim_row(entry)
    if row is None:
        raise TraceError(f"{where} ({short(entry.get('name'))}): groups={entry.get('groups')}, "
                         f"dilation={entry.get('dilation')}, stride={entry.get('stride')} "
                         f"cannot be expressed as a NeuroSim network row")
    return [int(v) for v in row]


def _load_stage1(folder: Path, network: list[list[int]] | None, synapse_bit: int,
                 input_bits: int, image: int, progress):
    from traces import TraceError as Stage1TraceError, read_layer, read_manifest
    mpath = folder / "manifest.json"
    try:
        manifest = read_manifest(folder)
    except Stage1TraceError as exc:
        raise TraceError(str(exc)) from None
    entries = manifest["layers"]
    if manifest.get("weight_bits") != synapse_bit or manifest.get("input_bits") != input_bits:
        raise TraceError(f"{mpath}: traces were written with "
                         f"{short(manifest.get('weight_bits'))}-bit weights and "
                         f"{short(manifest.get('input_bits'))}-bit inputs; the configuration "
                         f"says {synapse_bit} and {input_bits}")
    if network is None:
        network = _check_rows([_entry_row(e, k, mpath) for k, e in enumerate(entries, start=1)],
                              str(mpath))
    elif len(network) != len(entries):
        raise TraceError(f"{mpath}: {len(entries)} layers, the network file "
                         f"has {len(network)}")
    layers = []
    half = 2 ** (synapse_bit - 1)
    for k, (row, entry) in enumerate(zip(network, entries), start=1):
        src = str(folder / entry["file"])
        try:
            arr = read_layer(folder, entry, k, synapse_bit, slice(image, image + 1), True)
        except (Stage1TraceError, InputError) as exc:
            raise TraceError(str(exc)) from None
        n_img = int(arr["input_bits_shape"][0])
        if not 0 <= image < n_img:
            raise TraceError(f"{src}: no traced image {image} (layer {k} holds {n_img})")
        bits = arr["input_bits"][0]
        q = arr["weight_codes"].astype(np.int64)
        layers.append(_finish_layer(k, row, (q + half).astype(np.int16), bits, input_bits,
                                    src, src))
        if progress:
            progress(k)
    return network, layers


_TRACE_COMMAND = "trace_command.sh"


def read_trace_command(folder: Path, synapse_bit: int, input_bits: int):
    """The layout of a DNN+NeuroSim V1.4 PyTorch-wrapper folder from its trace_command.sh:
    `<main> <NetWork csv> <weight bits> <input bits> <sub-array> <parallel read>` followed by
    one `weight<name>.csv input<name>.csv` pair per layer in execution order (paths as the
    wrapper saw them; the files are looked up by name in `folder`). Returns
    (network file candidates, [(weight path, input path), ...])."""
    path = folder / _TRACE_COMMAND
    try:
        text = read_text(path, "wrapper command file", 1 << 20)
    except InputError as exc:
        raise TraceError(str(exc)) from None
    tokens = text.split()
    first_csv = next((i for i, t in enumerate(tokens) if t.lower().endswith(".csv")), None)
    if first_csv is None or len(tokens) < first_csv + 5:
        raise TraceError(f"{path}: expected `main NETWORK.csv WBITS IBITS SUBARRAY PARALLEL "
                         f"weight<L>.csv input<L>.csv ...` (DNN+NeuroSim V1.4 wrapper), got "
                         f"{short(text.strip(), 60)}")
    nums = tokens[first_csv + 1:first_csv + 5]
    if not all(re.fullmatch(r"\d{1,6}", t) for t in nums):
        raise TraceError(f"{path}: the four numbers after the network file must be integers "
                         f"(weight bits, input bits, sub-array size, parallel rows), got "
                         f"{short(' '.join(nums), 60)}")
    wbits, ibits = int(nums[0]), int(nums[1])
    if (wbits, ibits) != (synapse_bit, input_bits):
        raise TraceError(f"{path}: traces were written with {wbits}-bit weights and {ibits}-bit "
                         f"inputs, the configuration says {synapse_bit} and {input_bits} "
                         f"(--set synapseBit={wbits} --set numBitInput={ibits})")
    files = tokens[first_csv + 5:]
    if not files or len(files) % 2:
        raise TraceError(f"{path}: expected weight/input file pairs after the numbers, got "
                         f"{len(files)} names")
    pairs = []
    for k in range(len(files) // 2):
        w, x = (PurePosixName(files[2 * k]), PurePosixName(files[2 * k + 1]))
        if not (w.startswith("weight") and x.startswith("input") and w.endswith(".csv")
                and x.endswith(".csv")):
            raise TraceError(f"{path}: layer {k + 1}: expected a weight<L>.csv input<L>.csv "
                             f"pair, got {short(w, 40)} {short(x, 40)}")
        pairs.append((folder / w, folder / x))
    net = tokens[first_csv]
    candidates = [folder / PurePosixName(net)]
    rel = Path(net)
    if not rel.is_absolute() and ".." not in rel.parts:
        candidates.append(folder.parent / rel)
    return candidates, pairs


def PurePosixName(token: str) -> str:
    """The file name of a path as written in trace_command.sh."""
    return token.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]


def default_trace_folder(cfg: Any) -> Path:
    """Stage 1's output folder for the configured model."""
    run = cfg.run
    return Path(run.output_dir or f"layer_record_{run.model}")


def load_traces(folder: str | os.PathLike, network_file: str | os.PathLike | None,
                synapse_bit: int, input_bits: int, weight_min: float = -1.0,
                weight_max: float = 1.0, image: int = 0, progress=None,
                trace_format: str = "auto") -> NetworkTraces:
    """Load a trace folder of any of the three formats (see the module docstring);
    `trace_format` says how CSV inputs are written ("auto", "neurosim-1.4", "neurosim-1.5")."""
    if trace_format not in TRACE_FORMATS:
        raise TraceError(f"--trace-format: {short(trace_format)} is not one of "
                         f"{', '.join(TRACE_FORMATS)}")
    folder = Path(folder)
    if not folder.exists():
        raise TraceError(f"{folder}: trace folder not found (run `python inference_sim.py` "
                         f"first, or pass --traces DIR)")
    if folder.is_file() and folder.suffix == ".npz":
        network = read_network_csv(network_file) if network_file else None
        network, layers = _load_npz_folder(folder, network, synapse_bit, input_bits)
        return NetworkTraces(network, layers, synapse_bit, input_bits, str(folder), "npz")
    if not folder.is_dir():
        raise TraceError(f"{folder}: not a folder")
    network = read_network_csv(network_file) if network_file else None
    if (folder / "manifest.json").is_file():
        network, layers = _load_stage1(folder, network, synapse_bit, input_bits, image, progress)
        return NetworkTraces(network, layers, synapse_bit, input_bits, str(folder), "stage1")
    if (folder / _TRACE_COMMAND).is_file():
        candidates, pairs = read_trace_command(folder, synapse_bit, input_bits)
        if network is None:
            for cand in [folder / "network.csv", folder / "NetWork.csv"] + candidates:
                if cand.is_file():
                    network = read_network_csv(cand)
                    break
            else:
                raise TraceError(f"{folder}: no network file (looked for network.csv and "
                                 f"{', '.join(str(c) for c in candidates)}); pass "
                                 f"--network FILE")
        layers = _load_csv_folder(folder, network, synapse_bit, input_bits, weight_min,
                                  weight_max, progress, pairs, trace_format)
        return NetworkTraces(network, layers, synapse_bit, input_bits, str(folder),
                             "neurosim-wrapper")
    if (folder / "weight1.csv").is_file() or (folder / "input1.csv").is_file():
        if network is None:
            for name in ("network.csv", "NetWork.csv"):
                if (folder / name).is_file():
                    network = read_network_csv(folder / name)
                    break
            else:
                raise TraceError(f"{folder}: no network.csv; pass --network FILE")
        layers = _load_csv_folder(folder, network, synapse_bit, input_bits, weight_min,
                                  weight_max, progress, trace_format=trace_format)
        return NetworkTraces(network, layers, synapse_bit, input_bits, str(folder),
                             "neurosim-csv")
    if (folder / "traces.npz").is_file():
        network, layers = _load_npz_folder(folder / "traces.npz", network, synapse_bit,
                                           input_bits)
        return NetworkTraces(network, layers, synapse_bit, input_bits, str(folder), "npz")
    raise TraceError(f"{folder}: no traces found (expected manifest.json, weight1.csv/"
                     f"input1.csv or traces.npz)")
