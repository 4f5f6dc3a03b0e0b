"""Dataset loaders: Fashion-MNIST, MNIST, CIFAR-10 and CIFAR-100 in their standard archives.

No torchvision. The archives are read with the standard library (gzip, tarfile) and numpy:

* Fashion-MNIST / MNIST: the four gzip'd IDX files (`train-images-idx3-ubyte.gz`, ...).
* CIFAR-10 / CIFAR-100: the *binary* versions (`cifar-10-binary.tar.gz`,
  `cifar-100-binary.tar.gz`): fixed-size records of label byte(s) + 3072 pixel bytes. The
  python versions of those archives are pickles and are deliberately not read.

Where the files come from, in order:
1. `data_dir` if given (a folder holding the files, or the extracted archive);
2. the repository's `data/<name>/` (the Fashion-MNIST **test** set is committed there, so the
   default run needs no network);
3. a system folder (`/usr/share/datasets/fashion-mnist`, Debian's `dataset-fashion-mnist`);
4. a download into `data_dir` (else `data/<name>/`), only when asked (`download=True`; stage 1:
   `--download`); nothing is created otherwise.
If none works, `DatasetUnavailable` says which files are missing, where they were looked for
and how to get them.

`load_split(name, split, data_dir)` returns a `Split` with uint8 images `[N, C, H, W]`
(numpy), int64 labels and the normalisation to apply (`Split.tensors()` gives float tensors).
"""
from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DATA_ROOT = ROOT / "data"

__all__ = ["DatasetUnavailable", "DatasetInfo", "Split", "DATASETS", "load_split", "read_idx"]


class DatasetUnavailable(RuntimeError):
    """The dataset files are neither on disk nor downloadable; the message says what to do."""


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    input_shape: tuple[int, int, int]     # C, H, W
    num_classes: int
    mean: tuple[float, ...]               # per channel, on the 0..1 pixel scale
    std: tuple[float, ...]                # grey sets: none (pixels 0..1, background = code 0)
    files: dict[str, tuple[str, ...]]     # split -> file names
    urls: tuple[str, ...]                 # base URLs tried in order
    system_dirs: tuple[str, ...] = ()
    licence: str = ""


_IDX_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

DATASETS: dict[str, DatasetInfo] = {
    "fashion_mnist": DatasetInfo(
        "fashion_mnist", (1, 28, 28), 10, (0.0,), (1.0,), _IDX_FILES,
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
        ("/usr/share/datasets/fashion-mnist",),
        "MIT, (c) 2017 Zalando SE; see data/fashion-mnist/LICENSE"),
    "mnist": DatasetInfo(
        "mnist", (1, 28, 28), 10, (0.0,), (1.0,), _IDX_FILES,
        ("https://ossci-datasets.s3.amazonaws.com/mnist/",
         "https://storage.googleapis.com/cvdf-datasets/mnist/"),
        ("/usr/share/datasets/mnist",)),
    "cifar10": DatasetInfo(
        "cifar10", (3, 32, 32), 10, (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616),
        {"train": ("cifar-10-binary.tar.gz",), "test": ("cifar-10-binary.tar.gz",)},
        ("https://www.cs.toronto.edu/~kriz/",)),
    "cifar100": DatasetInfo(
        "cifar100", (3, 32, 32), 100, (0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762),
        {"train": ("cifar-100-binary.tar.gz",), "test": ("cifar-100-binary.tar.gz",)},
        ("https://www.cs.toronto.edu/~kriz/",)),
    # Token models (BERT, GPT-2 with random weights): inference_sim.py draws seeded random
    # token ids of run.seq_len tokens; no files. "Classes" are the 2 outputs of their heads.
    "random_tokens": DatasetInfo("random_tokens", (1, 1, 1), 2, (0.0,), (1.0,), {}, ()),
}
# Directory names used by the extracted CIFAR binary archives.
_CIFAR_MEMBERS = {
    "cifar10": {"train": [f"data_batch_{i}.bin" for i in range(1, 6)], "test": ["test_batch.bin"],
                "dir": "cifar-10-batches-bin", "label_bytes": 1, "label_index": 0},
    "cifar100": {"train": ["train.bin"], "test": ["test.bin"],
                 "dir": "cifar-100-binary", "label_bytes": 2, "label_index": 1},  # fine label
}


@dataclass
class Split:
    """One split of a dataset: uint8 images [N, C, H, W], int64 labels, and normalisation."""
    info: DatasetInfo
    split: str
    images: np.ndarray
    labels: np.ndarray
    source: str

    def __len__(self) -> int:
        return int(self.labels.shape[0])

    def tensors(self, indices=None):
        """(float images normalised with the dataset mean/std, int64 labels) as torch tensors."""
        import torch
        imgs = self.images if indices is None else self.images[indices]
        labs = self.labels if indices is None else self.labels[indices]
        x = torch.from_numpy(np.ascontiguousarray(imgs)).float().div_(255.0)
        mean = torch.tensor(self.info.mean).view(1, -1, 1, 1)
        std = torch.tensor(self.info.std).view(1, -1, 1, 1)
        return (x - mean) / std, torch.from_numpy(np.ascontiguousarray(labs)).long()


# ------------------------------------------------------------------------------------------
# IDX (MNIST family)
# ------------------------------------------------------------------------------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def read_idx(path: str | os.PathLike) -> np.ndarray:
    """Read an IDX file (optionally gzip'd): magic 0x0000TTDD, DD dimension sizes, data.
    The declared size is checked against the memory budget (validation.Budget) before the
    data are read, and the file must hold exactly that many bytes."""
    from validation import Budget
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        head = f.read(4)
        if len(head) < 4 or head[0] != 0 or head[1] != 0 or head[2] not in _IDX_DTYPES:
            raise ValueError(f"{path}: not an IDX file (bad magic number)")
        ndim = head[3]
        rawdims = f.read(4 * ndim)
        if len(rawdims) != 4 * ndim:
            raise ValueError(f"{path}: truncated IDX header")
        dims = tuple(int(v) for v in np.frombuffer(rawdims, dtype=">u4"))
        dtype = np.dtype(_IDX_DTYPES[head[2]])
        count = int(np.prod(dims, dtype=object)) if ndim else 0
        nbytes = count * dtype.itemsize
        Budget.from_env().check(nbytes, f"{path} (IDX {'x'.join(map(str, dims))})")
        raw = f.read(nbytes)
        extra = f.read(1)
    if len(raw) != nbytes or extra:
        raise ValueError(f"{path}: truncated or corrupt IDX file "
                         f"({len(raw)}{'+' if extra else ''} data bytes, expected {nbytes})")
    return np.frombuffer(raw, dtype=dtype, count=count).reshape(dims).copy()


def _load_idx_split(info: DatasetInfo, folder: Path, split: str) -> Split:
    img_name, lab_name = info.files[split]
    images = read_idx(folder / img_name)
    labels = read_idx(folder / lab_name).astype(np.int64)
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(f"{folder}: {img_name} and {lab_name} do not match "
                         f"(images {images.shape}, labels {labels.shape})")
    return Split(info, split, images[:, None, :, :], labels, str(folder))


# ------------------------------------------------------------------------------------------
# CIFAR binary
# ------------------------------------------------------------------------------------------

def _parse_cifar_records(blob: bytes, label_bytes: int, label_index: int, where: str):
    rec = label_bytes + 3072
    if len(blob) % rec:
        raise ValueError(f"{where}: size {len(blob)} is not a multiple of the {rec}-byte record")
    arr = np.frombuffer(blob, dtype=np.uint8).reshape(-1, rec)
    labels = arr[:, label_index].astype(np.int64)
    images = arr[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return images, labels


def _load_cifar_split(info: DatasetInfo, folder: Path, split: str) -> Split:
    meta = _CIFAR_MEMBERS[info.name]
    members = meta["train" if split == "train" else "test"]
    extracted = folder / meta["dir"]
    blobs = []
    if all((extracted / m).is_file() for m in members):
        source = str(extracted)
        for m in members:
            blobs.append(((extracted / m).read_bytes(), str(extracted / m)))
    else:
        archive = folder / info.files[split][0]
        source = str(archive)
        with tarfile.open(archive, "r:gz") as tar:
            from validation import Budget
            infos = {Path(i.name).name: i for i in tar.getmembers() if i.isfile()}
            for m in members:
                if m not in infos:
                    raise ValueError(f"{archive}: member {m} missing")
                Budget.from_env().check(infos[m].size, f"{archive}:{m}")
                blobs.append((tar.extractfile(infos[m]).read(), f"{archive}:{m}"))
    parts = [_parse_cifar_records(b, meta["label_bytes"], meta["label_index"], w) for b, w in blobs]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    return Split(info, split, images, labels, source)


# ------------------------------------------------------------------------------------------
# Locating / downloading
# ------------------------------------------------------------------------------------------

def _has_files(info: DatasetInfo, folder: Path, split: str) -> bool:
    if info.name in _CIFAR_MEMBERS:
        meta = _CIFAR_MEMBERS[info.name]
        members = meta["train" if split == "train" else "test"]
        if all((folder / meta["dir"] / m).is_file() for m in members):
            return True
    return all((folder / f).is_file() for f in info.files[split])


def _download(info: DatasetInfo, folder: Path, split: str, timeout: float = 30.0) -> list[str]:
    """Try to download the split's files; return a list of error strings (empty on success)."""
    errors = []
    folder.mkdir(parents=True, exist_ok=True)
    for fname in info.files[split]:
        target = folder / fname
        if target.is_file():
            continue
        for base in info.urls:
            url = base + fname
            tmp = target.with_suffix(target.suffix + ".part")
            try:
                print(f"downloading {url} ...", flush=True)
                with urllib.request.urlopen(url, timeout=timeout) as resp, open(tmp, "wb") as out:
                    while True:
                        chunk = resp.read(1 << 20)
                        if not chunk:
                            break
                        out.write(chunk)
                tmp.replace(target)
                break
            except (urllib.error.URLError, OSError, TimeoutError) as exc:
                errors.append(f"{url}: {exc}")
                tmp.unlink(missing_ok=True)
        else:
            return errors
    return []


def load_split(name: str, split: str = "test", data_dir: str | os.PathLike | None = None,
               download: bool = True) -> Split:
    """Load `split` ("train" or "test") of dataset `name` (see `DATASETS`)."""
    if name not in DATASETS:
        raise DatasetUnavailable(f"unknown dataset '{name}'. Valid: {', '.join(DATASETS)}")
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    info = DATASETS[name]
    loader = _load_cifar_split if name in _CIFAR_MEMBERS else _load_idx_split
    candidates: list[Path] = []
    if data_dir is not None:
        candidates.append(Path(data_dir))
    else:
        candidates.append(DATA_ROOT / name.replace("_", "-"))
        candidates.extend(Path(d) for d in info.system_dirs)
    for folder in candidates:
        if _has_files(info, folder, split):
            try:
                return loader(info, folder, split)
            except (ValueError, OSError, EOFError, tarfile.TarError, gzip.BadGzipFile) as exc:
                raise DatasetUnavailable(f"{name} {split} set in {folder} cannot be read: {exc}") from exc
    errors: list[str] = []
    if download:
        target = candidates[0]
        errors = _download(info, target, split)
        if not errors and _has_files(info, target, split):
            return loader(info, target, split)
    looked = ", ".join(str(c) for c in candidates)
    hint = ""
    if name == "fashion_mnist":
        hint = (" On Debian/Ubuntu `apt-get install dataset-fashion-mnist` installs the full set "
                "in /usr/share/datasets/fashion-mnist.")
    why = ("; download failed (offline?): " + "; ".join(errors[-2:])) if errors else \
        ("; nothing downloaded (pass --download to fetch them into "
         f"{candidates[0]})" if not download else "")
    raise DatasetUnavailable(
        f"{name} {split} set not found (looked in: {looked}){why}. Needed files: "
        f"{', '.join(info.files[split])} from {info.urls[0]}; put them in one of those folders "
        f"or pass --set data_dir=FOLDER.{hint}")


def sha256_of(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def idx_bytes(array: np.ndarray) -> bytes:
    """Serialise a uint8 array as IDX (used by tests to build tiny archives)."""
    if array.dtype != np.uint8:
        raise ValueError("idx_bytes writes uint8 arrays only")
    buf = io.BytesIO()
    buf.write(bytes([0, 0, 0x08, array.ndim]))
    buf.write(np.asarray(array.shape, dtype=">u4").tobytes())
    buf.write(array.tobytes())
    return buf.getvalue()
