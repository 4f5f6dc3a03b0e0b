"""Per-layer traces written by stage 1 (`inference_sim.py`) and read by stage 2 (`Chip.py`).

Folder `layer_record_<model>/`:

    manifest.json     what follows, the config used, layers in execution order
    accuracy.json     float / quantized / hardware top-1 accuracy, per-layer statistics
    layer<k>.npz      k = 1..L, one per crossbar layer (numpy .npz, no pickles)
    neurosim/         only with --neurosim-csv: DNN+NeuroSim V1.4 input files
                      (network.csv, weight<k>.csv, input<k>.csv, files.txt)

`layer<k>.npz` arrays:

    weight_codes       int8 (int16 if weight_bits > 8), [K_g, C_out]: signed weight codes q in
                       [-(2^(b-1)-1), 2^(b-1)-1]; weight = q * weight_scale (manifest).
                       Row r = c*KH*KW + kh*KW + kw (c within the group), column = output
                       channel; with groups > 1, column n belongs to group n // (C_out/groups).
    input_bits         uint8, the packed 0/1 input matrix of the sampled images,
                       np.packbits(bits, axis=-1) of bits [n_img, K, P*nb].
    input_bits_shape   int64 [n_img, K, P*nb]; unpack with
                       np.unpackbits(input_bits, axis=-1, count=shape[-1]).
    input_codes        int8/int16, the layer's input codes before unfolding:
                       [n_img, C, H, W] (conv) or [n_img, in_features] (linear).

Bit order of `input_bits` (the same as DNN+NeuroSim's input<k>.csv):
* row r = c*KH*KW + kh*KW + kw over ALL input channels (K = C_in*KH*KW; group g of a grouped
  conv uses rows g*K_g .. (g+1)*K_g - 1);
* column p*nb + j: output position p (row-major, p = oh*OW + ow, with the layer's real
  padding and stride), bit j of the two's-complement input code, j = 0 the MSB (sign bit,
  weight -2^(nb-1)), j = nb-1 the LSB. code = -2^(nb-1) b_0 + sum_{j>=1} 2^(nb-1-j) b_j;
  input value = code * input_scale (manifest). Padding positions are code 0.
* Linear layers: K = in_features rows, P = 1.

Use `read_traces(folder)` to get the manifest and the arrays (input bits unpacked).
"""
from __future__ import annotations

import os
import re
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from validation import (Budget, InputError, NpzReader, check_array, check_packed_bits,
                        confined_path, load_json_text, read_text, short)

FORMAT = "cimsim-layer-record"
VERSION = 1
BIT_ORDER = ("column p*nb + j = bit j of the two's-complement code at output position p "
             "(row-major); j = 0 is the MSB/sign bit (weight -2^(nb-1)), j = nb-1 the LSB; "
             "rows c*KH*KW + kh*KW + kw; packed with np.packbits(axis=-1), big-endian within a byte")
WEIGHT_ENCODING = ("signed codes q (weight = q * weight_scale); the crossbar stores u = q + "
                   "2^(b-1) in ceil(b/cellBit) cells, most significant cell first")

__all__ = ["FORMAT", "VERSION", "TraceError", "codes_to_bits", "unfold_codes", "layer_arrays",
           "write_traces", "read_traces", "write_neurosim_csv", "neurosim_row", "atomic_output_dir",
           "write_layer_npz", "write_manifest", "read_manifest", "read_layer"]


class TraceError(InputError):
    """A trace folder that is missing, malformed or cannot be exported."""


# ------------------------------------------------------------------------------------------
# Arrays
# ------------------------------------------------------------------------------------------

def unfold_codes(codes: np.ndarray, geo: dict[str, Any]) -> np.ndarray:
    """im2col of integer codes [n, C, H, W] -> [n, C*KH*KW, P] (linear: [n, K] -> [n, K, 1])."""
    if geo["type"] == "linear":
        return codes.reshape(codes.shape[0], -1, 1)
    n, c, h, w = codes.shape
    kh, kw = geo["kernel"]
    sh, sw = geo["stride"]
    ph, pw = geo["padding"]
    dh, dw = geo["dilation"]
    oh, ow = geo["ofm"]
    xp = np.zeros((n, c, h + 2 * ph, w + 2 * pw), dtype=codes.dtype)
    xp[:, :, ph:ph + h, pw:pw + w] = codes
    cols = np.empty((n, c, kh, kw, oh, ow), dtype=codes.dtype)
    for i in range(kh):          # kernel offsets only (small), not rows / bits / vectors
        for j in range(kw):
            y0, x0 = i * dh, j * dw
            cols[:, :, i, j] = xp[:, :, y0:y0 + sh * (oh - 1) + 1:sh, x0:x0 + sw * (ow - 1) + 1:sw]
    return cols.reshape(n, c * kh * kw, oh * ow)


def codes_to_bits(unf: np.ndarray, nb: int) -> np.ndarray:
    """[n, K, P] codes -> [n, K, P*nb] 0/1 uint8, column p*nb + j, MSB (sign) first."""
    u = unf.astype(np.int64) & ((1 << nb) - 1)
    shifts = np.arange(nb - 1, -1, -1, dtype=np.int64)
    bits = ((u[..., None] >> shifts) & 1).astype(np.uint8)
    return bits.reshape(unf.shape[0], unf.shape[1], -1)


def bits_to_codes(bits: np.ndarray, nb: int) -> np.ndarray:
    """Inverse of codes_to_bits: [n, K, P*nb] -> [n, K, P] signed codes."""
    b = bits.reshape(bits.shape[0], bits.shape[1], -1, nb).astype(np.int64)
    w = 2 ** np.arange(nb - 1, -1, -1, dtype=np.int64)
    w[0] = -w[0]
    return (b * w).sum(-1)


def neurosim_row(layer: dict[str, Any]) -> list[int] | None:
    """The 8 NetWork.csv integers of a manifest layer, or None if NeuroSim cannot express it."""
    if layer["groups"] != 1 or layer["dilation"] != [1, 1]:
        return None
    if layer["stride"][0] != layer["stride"][1]:
        return None
    pool = layer.get("pool") or {}
    pooled = int(pool.get("type") == "max" and pool.get("kernel") == [2, 2]
                 and pool.get("stride") == [2, 2])
    h, w = layer["ifm"]
    kh, kw = layer["kernel"]
    return [h, w, layer["in_channels"], kh, kw, layer["out_channels"], pooled, layer["stride"][0]]


def layer_arrays(weight_codes: np.ndarray, input_codes: np.ndarray, geo: dict[str, Any],
                 weight_bits: int, input_bits: int) -> dict[str, np.ndarray]:
    """The npz content of one layer from its weight matrix [K_g, C_out] and input codes."""
    wdt = np.int8 if weight_bits <= 8 else np.int16
    idt = np.int8 if input_bits <= 8 else np.int16
    bits = codes_to_bits(unfold_codes(input_codes.astype(np.int64), geo), input_bits)
    return {
        "weight_codes": np.ascontiguousarray(weight_codes).astype(wdt),
        "input_bits": np.packbits(bits, axis=-1),
        "input_bits_shape": np.asarray(bits.shape, dtype=np.int64),
        "input_codes": np.ascontiguousarray(input_codes).astype(idt),
    }


# ------------------------------------------------------------------------------------------
# Writing / reading
# ------------------------------------------------------------------------------------------

class atomic_output_dir:
    """Write into a staging folder; on success it replaces `final` (only if `final` is
    absent, empty or a folder stage 1 wrote), on error or SIGINT/SIGTERM it is deleted.
    A thin wrapper of `outputs.RunOutputs.folder`."""

    def __init__(self, final: str | os.PathLike, inputs=()):
        self.final = Path(final)
        self.inputs = inputs

    def __enter__(self) -> Path:
        from outputs import RunOutputs
        self.out = RunOutputs(self.inputs).__enter__()
        try:
            return self.out.folder(self.final, "output folder")
        except BaseException:
            self.out.__exit__(None, None, None)
            raise

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if exc_type is None:
                self.out.commit()
        finally:
            self.out.__exit__(exc_type, exc, tb)
        return False


def write_traces(folder: str | os.PathLike, manifest: dict[str, Any],
                 layers: list[dict[str, np.ndarray]]) -> None:
    """Write manifest.json and layer<k>.npz (k = 1..L) into an existing folder.

    `manifest["layers"][k-1]` describes `layers[k-1]`; its "file" field is filled in here."""
    folder = Path(folder)
    if len(manifest["layers"]) != len(layers):
        raise TraceError("manifest and layer arrays disagree in length")
    for k, (entry, arrays) in enumerate(zip(manifest["layers"], layers), start=1):
        entry["file"] = f"layer{k}.npz"
        entry["weight_shape"] = list(arrays["weight_codes"].shape)
        entry["input_bits_shape"] = [int(v) for v in arrays["input_bits_shape"]]
        np.savez_compressed(folder / entry["file"], **arrays)
    write_manifest(folder, manifest)


def write_manifest(folder: str | os.PathLike, manifest: dict[str, Any]) -> list[str]:
    """manifest.json (strict JSON; returns the keys whose non-finite values became null)."""
    from outputs import dumps_strict
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("version", VERSION)
    text, found = dumps_strict(manifest)
    (Path(folder) / "manifest.json").write_text(text)
    return found


def _npy_stream(zf: zipfile.ZipFile, name: str, dtype, shape: tuple[int, ...]):
    """An open zip member with the .npy header of an array of `shape`; the caller writes
    the C-order data."""
    f = zf.open(name + ".npy", "w", force_zip64=True)
    np.lib.format.write_array_header_2_0(
        f, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
            "shape": tuple(int(v) for v in shape)})
    return f


def write_layer_npz(path: str | os.PathLike, weight_codes: np.ndarray, input_codes: np.ndarray,
                    geo: dict[str, Any], weight_bits: int, input_bits: int,
                    chunk_bytes: int = 1 << 26) -> dict[str, Any]:
    """Write one layer<k>.npz (the arrays of `layer_arrays`) with the input bits made and
    packed a few images at a time, so memory stays bounded by one chunk whatever the number
    of traced images. Returns the weight and input-bit shapes and `first`: the arrays of
    `layer_arrays` for the first image only (for the NeuroSim CSV export)."""
    wdt = np.int8 if weight_bits <= 8 else np.int16
    idt = np.int8 if input_bits <= 8 else np.int16
    codes = np.ascontiguousarray(input_codes)
    n = codes.shape[0]
    one = layer_arrays(weight_codes, codes[:1].astype(np.int64), geo, weight_bits, input_bits)
    k, cols = (int(v) for v in one["input_bits_shape"][1:])
    per_image = k * cols * 9 + 1                # int64 unfolding + bits, per image
    step = max(1, chunk_bytes // per_image)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, arr in (("weight_codes", np.ascontiguousarray(weight_codes).astype(wdt)),
                          ("input_bits_shape", np.asarray([n, k, cols], dtype=np.int64))):
            with zf.open(name + ".npy", "w", force_zip64=True) as f:
                np.lib.format.write_array(f, arr, allow_pickle=False)
        with _npy_stream(zf, "input_bits", np.uint8, (n, k, (cols + 7) // 8)) as f:
            for i in range(0, n, step):
                part = codes_to_bits(unfold_codes(codes[i:i + step].astype(np.int64), geo),
                                     input_bits)
                f.write(np.packbits(part, axis=-1).tobytes())
        with _npy_stream(zf, "input_codes", idt, codes.shape) as f:
            for i in range(0, n, step):
                f.write(codes[i:i + step].astype(idt).tobytes())
    return {"weight_shape": list(np.shape(weight_codes)), "input_bits_shape": [n, k, cols],
            "first": one}


MAX_STREAMED_OPERAND = 1 << 22     # a_codes kept in dynamic<k>.npz up to this many values


def write_dynamic_npz(folder: str | os.PathLike, operations: list[dict[str, Any]],
                      traced: dict[int, dict[str, list]]) -> None:
    """dynamic<k>.npz for each dynamic matrix product that has traced operands: the codes of
    both operands of the traced images (`a_codes` [n, ..., M, K], the bit-serial side;
    `b_codes` [n, ..., K, N], the side a crossbar would write; `a_codes` is left out, and
    `a_codes_omitted` set, above MAX_STREAMED_OPERAND values). Fills the operation's
    `file` entry. Optional for readers: manifests without them stay valid."""
    import torch
    for op in operations:
        if op.get("kind") != "dynamic_matmul" or (op["index"] - 1) not in traced:
            continue
        tr = traced[op["index"] - 1]
        name = f"dynamic{op['index']}.npz"
        b = torch.cat(tr["b"], 0).numpy().astype(np.int16)
        arrays = {"b_codes": b}
        a_elems = sum(int(t.numel()) for t in tr["a"])
        if a_elems <= MAX_STREAMED_OPERAND:
            arrays["a_codes"] = torch.cat(tr["a"], 0).numpy().astype(np.int16)
        else:       # e.g. GPT-2's 12 x 1024 x 1024 attention maps: statistics only
            op["a_codes_omitted"] = a_elems
        np.savez_compressed(Path(folder) / name, **arrays)
        op["file"] = name


MAX_MANIFEST_BYTES = 64 << 20
_LAYER_FILE = re.compile(r"layer(\d+)\.npz")


def read_manifest(folder: str | os.PathLike) -> dict[str, Any]:
    """The validated manifest.json of a stage-1 folder: our format and version, a list of
    layer entries, each with a plain `file` name inside the folder; no other layer<k>.npz
    than those listed."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise TraceError(f"{folder}: no manifest.json (run `python inference_sim.py` first)")
    try:
        manifest = load_json_text(read_text(mpath, "manifest", MAX_MANIFEST_BYTES), str(mpath))
    except InputError as exc:
        raise TraceError(str(exc)) from None
    if not isinstance(manifest, dict):
        raise TraceError(f"{mpath}: expected a JSON object, got {type(manifest).__name__}")
    if manifest.get("format") != FORMAT:
        raise TraceError(f"{mpath}: format {short(manifest.get('format'))}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise TraceError(f"{mpath}: version {short(manifest.get('version'))}, this reader "
                         f"reads {VERSION}")
    layers = manifest.get("layers")
    if not isinstance(layers, list):
        raise TraceError(f"{mpath}: 'layers' must be a list of layer entries"
                         + (" (missing)" if layers is None else f", got {type(layers).__name__}"))
    if not layers:
        raise TraceError(f"{mpath}: the network has no layers"
                         + (" (written with --no-traces)" if manifest.get("traces") is False
                            else ""))
    listed = set()
    for k, entry in enumerate(layers, start=1):
        if not isinstance(entry, dict) or "file" not in entry:
            raise TraceError(f"{mpath}: layer {k} must be an object with a 'file' entry, got "
                             f"{short(entry)}")
        try:
            path = confined_path(folder, entry["file"], f"{mpath}, layer {k}")
        except InputError as exc:
            raise TraceError(str(exc)) from None
        listed.add(path.name)
    extra = sorted(p.name for p in folder.glob("layer*.npz")
                   if _LAYER_FILE.fullmatch(p.name) and p.name not in listed)
    if extra:
        raise TraceError(f"{mpath}: lists {len(layers)} layers but the folder also holds "
                         f"{', '.join(extra[:3])}; the manifest and the layer files disagree")
    return manifest


def read_layer(folder: str | os.PathLike, entry: dict[str, Any], k: int, weight_bits: int,
               images: slice | None = None, unpack: bool = True,
               budget: Budget | None = None) -> dict[str, np.ndarray]:
    """The checked arrays of one layer file: `weight_codes` (integers within the weight
    bits), `input_bits_shape` and `input_bits` (exactly the packed size of that shape;
    only `images` of them; unpacked if `unpack`), and `input_codes` if present."""
    folder = Path(folder)
    path = confined_path(folder, entry["file"], f"{folder / 'manifest.json'}, layer {k}")
    where = f"{path} (layer {k})"
    half = 2 ** (weight_bits - 1)
    try:
        with NpzReader(path, f"layer {k} traces", budget) as z:
            q = z.array("weight_codes", "iu", ndim=2)
            check_array(q, f"{where}: weight_codes ({weight_bits}-bit codes)", -half, half)
            shape = z.array("input_bits_shape", "iu", ndim=1, shape=(3,))
            pshape, pdt = z.header("input_bits")
            if pdt != np.uint8:
                raise TraceError(f"{where}: input_bits has dtype {pdt}, expected uint8 "
                                 f"(np.packbits output)")
            dims = check_packed_bits(_Shape(pshape), shape, where, 3, budget)
            if unpack and images is None:
                (budget or Budget.from_env()).check(int(np.prod(dims)),
                                                    f"{where}: input bits unpacked")
            packed = z.array("input_bits", "u", ndim=3)
            out = {"weight_codes": q, "input_bits_shape": shape}
            sel = packed if images is None else packed[images]
            out["input_bits"] = (np.unpackbits(sel, axis=-1, count=dims[-1]) if unpack
                                 else sel)
            if "input_codes" in z:
                out["input_codes"] = z.array("input_codes", "iu")
    except TraceError:
        raise
    except InputError as exc:
        raise TraceError(str(exc)) from None
    return out


class _Shape:
    """Stands for an array in check_packed_bits when only its header shape is known."""

    def __init__(self, shape):
        self.shape = tuple(shape)


def read_traces(folder: str | os.PathLike, unpack: bool = True):
    """Read a trace folder. Returns (manifest, layers), layers[k-1] a dict with
    `weight_codes`, `input_codes`, and `input_bits` ([n_img, K, P*nb] 0/1 uint8 if `unpack`,
    else packed with `input_bits_shape`). Every array is checked (see read_layer)."""
    folder = Path(folder)
    manifest = read_manifest(folder)
    wb = manifest.get("weight_bits")
    if not isinstance(wb, int) or isinstance(wb, bool) or not 1 <= wb <= 16:
        raise TraceError(f"{folder / 'manifest.json'}: weight_bits {short(wb)} is not an "
                         f"integer from 1 to 16")
    layers = [read_layer(folder, e, k, wb, None, unpack)
              for k, e in enumerate(manifest["layers"], start=1)]
    return manifest, layers


# ------------------------------------------------------------------------------------------
# DNN+NeuroSim V1.4 export
# ------------------------------------------------------------------------------------------

def _csv_bits(path: Path, bits: np.ndarray) -> None:
    r, c = bits.shape
    buf = np.empty((r, 2 * c), dtype=np.uint8)
    buf[:, 0::2] = bits.astype(np.uint8) + ord("0")
    buf[:, 1::2] = ord(",")
    buf[:, -1] = ord("\n")
    buf.tofile(path)


def _csv_codes(path: Path, codes: np.ndarray) -> None:
    """NeuroSim V1.5's input format: one integer per position, comma separated, one row per
    line; built from the decimal strings of the values present (vectorised)."""
    codes = np.asarray(codes, dtype=np.int64)
    lo = int(codes.min()) if codes.size else 0
    hi = int(codes.max()) if codes.size else 0
    text = [str(v).encode() for v in range(lo, hi + 1)]
    width = max(len(t) for t in text)
    table = np.zeros((hi - lo + 1, width + 1), dtype=np.uint8)
    lens = np.array([len(t) for t in text])
    for i, t in enumerate(text):                  # one entry per distinct value
        table[i, :len(t)] = np.frombuffer(t, dtype=np.uint8)
    r, c = codes.shape
    idx = codes - lo
    cells = table[idx]                            # (r, c, width + 1)
    n = lens[idx]
    cells[np.arange(r)[:, None], np.arange(c)[None, :], n] = ord(",")
    cells[np.arange(r), c - 1, n[:, -1]] = ord("\n")
    cells[np.arange(width + 1)[None, None, :] <= n[:, :, None]].tofile(path)


def _csv_weights(path: Path, codes: np.ndarray, weight_bits: int) -> None:
    """`%10.5f` of q / 2^(b-1), comma separated, one matrix row per line."""
    half = 2 ** (weight_bits - 1)
    strings = [("%10.5f" % (v / half)).encode() for v in range(-half, half + 1)]
    width = max(len(s) for s in strings)
    table = np.frombuffer(b"".join(s.rjust(width) for s in strings), dtype=np.uint8).reshape(-1, width)
    r, c = codes.shape
    buf = np.empty((r, c, width + 1), dtype=np.uint8)
    buf[:, :, :width] = table[codes.astype(np.int64) + half]
    buf[:, :, width] = ord(",")
    buf = buf.reshape(r, -1)
    buf[:, -1] = ord("\n")
    buf.tofile(path)


def write_neurosim_csv(folder: str | os.PathLike, manifest: dict[str, Any],
                       layers: list[dict[str, np.ndarray]], image: int = 0,
                       input_format: str = "neurosim-1.4") -> list[str]:
    """Write NetWork.csv-format `network.csv`, `weight<k>.csv`, `input<k>.csv` (image `image`
    of the sampled ones) and `files.txt` (NeuroSim's argv). Returns the file names. Inputs
    as DNN+NeuroSim V1.4's bit columns, or (`input_format="neurosim-1.5"`) as NeuroSim
    V1.5's integer codes, one two's-complement code per position."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for k, entry in enumerate(manifest["layers"], start=1):
        row = neurosim_row(entry)
        if row is None:
            raise TraceError(f"layer {k} ({entry['name']}): DNN+NeuroSim V1.4 cannot express "
                             f"groups={entry['groups']}, dilation={entry['dilation']}, "
                             f"stride={entry['stride']}; --neurosim-csv is not possible for this model")
        rows.append(row)
    wb, nb = manifest["weight_bits"], manifest["input_bits"]
    (folder / "network.csv").write_text("".join(",".join(map(str, r)) + "\n" for r in rows))
    names = ["network.csv"]
    pairs = []
    for k, arrays in enumerate(layers, start=1):
        bits = arrays["input_bits"]
        shape = tuple(int(v) for v in arrays["input_bits_shape"])
        if bits.shape[-1] != shape[-1]:
            bits = np.unpackbits(bits, axis=-1, count=shape[-1])
        if not 0 <= image < bits.shape[0]:
            raise TraceError(f"image {image} not among the {bits.shape[0]} traced images")
        _csv_weights(folder / f"weight{k}.csv", arrays["weight_codes"], wb)
        if input_format == "neurosim-1.5":
            _csv_codes(folder / f"input{k}.csv", bits_to_codes(bits[image][None], nb)[0])
        else:
            _csv_bits(folder / f"input{k}.csv", bits[image])
        pairs.append(f"weight{k}.csv input{k}.csv")
        names += [f"weight{k}.csv", f"input{k}.csv"]
    (folder / "files.txt").write_text(" ".join(pairs) + "\n")
    a = manifest["config"]["array"]
    par = a["rows"] if a["operation_mode"] == "sequential" or a["rows_parallel"] is None \
        else a["rows_parallel"]
    (folder / "command.txt").write_text(
        f"main network.csv {wb} {nb} {a['rows']} {par} " + " ".join(pairs) + "\n")
    return names + ["files.txt", "command.txt"]
