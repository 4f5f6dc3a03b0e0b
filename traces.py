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

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

FORMAT = "cimsim-layer-record"
VERSION = 1
BIT_ORDER = ("column p*nb + j = bit j of the two's-complement code at output position p "
             "(row-major); j = 0 is the MSB/sign bit (weight -2^(nb-1)), j = nb-1 the LSB; "
             "rows c*KH*KW + kh*KW + kw; packed with np.packbits(axis=-1), big-endian within a byte")
WEIGHT_ENCODING = ("signed codes q (weight = q * weight_scale); the crossbar stores u = q + "
                   "2^(b-1) in ceil(b/cellBit) cells, most significant cell first")

__all__ = ["FORMAT", "VERSION", "TraceError", "codes_to_bits", "unfold_codes", "layer_arrays",
           "write_traces", "read_traces", "write_neurosim_csv", "neurosim_row", "atomic_output_dir"]


class TraceError(ValueError):
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
    """Write into a temporary sibling folder; on success replace `final` with it, on error
    delete it (no partial traces are ever left in `final`)."""

    def __init__(self, final: str | os.PathLike):
        self.final = Path(final)

    def __enter__(self) -> Path:
        parent = self.final.resolve().parent
        parent.mkdir(parents=True, exist_ok=True)
        self.tmp = Path(tempfile.mkdtemp(prefix=f".{self.final.name}.tmp-", dir=parent))
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(self.tmp, 0o777 & ~umask)
        return self.tmp

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            return False
        old = None
        if self.final.exists():
            old = self.final.with_name(f".{self.final.name}.old-{os.getpid()}")
            self.final.rename(old)
        self.tmp.rename(self.final)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
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
    manifest.setdefault("format", FORMAT)
    manifest.setdefault("version", VERSION)
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")


def read_traces(folder: str | os.PathLike, unpack: bool = True):
    """Read a trace folder. Returns (manifest, layers), layers[k-1] a dict with
    `weight_codes`, `input_codes`, and `input_bits` ([n_img, K, P*nb] 0/1 uint8 if `unpack`,
    else packed with `input_bits_shape`)."""
    folder = Path(folder)
    mpath = folder / "manifest.json"
    if not mpath.is_file():
        raise TraceError(f"{folder}: no manifest.json (run `python inference_sim.py` first)")
    try:
        manifest = json.loads(mpath.read_text())
    except json.JSONDecodeError as exc:
        raise TraceError(f"{mpath}: not valid JSON: {exc}") from exc
    if manifest.get("format") != FORMAT:
        raise TraceError(f"{mpath}: format {manifest.get('format')!r}, expected {FORMAT!r}")
    if manifest.get("version") != VERSION:
        raise TraceError(f"{mpath}: version {manifest.get('version')!r}, this reader reads {VERSION}")
    layers = []
    for entry in manifest["layers"]:
        path = folder / entry["file"]
        if not path.is_file():
            raise TraceError(f"{folder}: missing {entry['file']}")
        with np.load(path, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        shape = tuple(int(v) for v in arrays["input_bits_shape"])
        if unpack:
            arrays["input_bits"] = np.unpackbits(arrays["input_bits"], axis=-1, count=shape[-1])
        layers.append(arrays)
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
                       layers: list[dict[str, np.ndarray]], image: int = 0) -> list[str]:
    """Write NetWork.csv-format `network.csv`, `weight<k>.csv`, `input<k>.csv` (image `image`
    of the sampled ones) and `files.txt` (NeuroSim's argv). Returns the file names."""
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
