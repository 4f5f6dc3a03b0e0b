"""Dataset readers and the committed Fashion-MNIST test set."""
import gzip
import io
import tarfile

import numpy as np
import pytest

from conftest import ROOT
from models.datasets import DatasetUnavailable, idx_bytes, load_split, read_idx, sha256_of


def test_shipped_fashion_mnist_test_set():
    folder = ROOT / "data" / "fashion-mnist"
    for line in (folder / "SHA256SUMS").read_text().split("\n"):
        if line.strip():
            digest, name = line.split()
            assert sha256_of(folder / name) == digest
    assert "Zalando SE" in (folder / "LICENSE").read_text()
    split = load_split("fashion_mnist", "test", data_dir=folder, download=False)
    assert split.images.shape == (10000, 1, 28, 28) and split.images.dtype == np.uint8
    assert np.bincount(split.labels).tolist() == [1000] * 10
    x, y = split.tensors(np.arange(5))
    assert tuple(x.shape) == (5, 1, 28, 28) and float(x.min()) >= 0.0 and float(x.max()) <= 1.0


def test_default_search_finds_the_shipped_test_set():
    split = load_split("fashion_mnist", "test", download=False)
    assert len(split) == 10000


def test_idx_reader_roundtrip_and_errors(tmp_path):
    a = np.arange(2 * 3 * 4, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / "a.gz").write_bytes(gzip.compress(idx_bytes(a)))
    assert np.array_equal(read_idx(tmp_path / "a.gz"), a)
    (tmp_path / "b").write_bytes(idx_bytes(a)[:-3])
    with pytest.raises(ValueError, match="truncated"):
        read_idx(tmp_path / "b")
    (tmp_path / "c").write_bytes(b"PK\x03\x04" + bytes(20))
    with pytest.raises(ValueError, match="magic"):
        read_idx(tmp_path / "c")


def _tar_gz(path, members):
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def test_cifar_binary_archives(tmp_path):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(3, 3, 32, 32), dtype=np.uint8)
    rec10 = b"".join(bytes([lab]) + imgs[i].tobytes() for i, lab in enumerate([3, 0, 9]))
    _tar_gz(tmp_path / "cifar-10-binary.tar.gz", {"cifar-10-batches-bin/test_batch.bin": rec10})
    s = load_split("cifar10", "test", data_dir=tmp_path, download=False)
    assert s.labels.tolist() == [3, 0, 9] and np.array_equal(s.images, imgs)
    rec100 = b"".join(bytes([1, lab]) + imgs[i].tobytes() for i, lab in enumerate([42, 7, 99]))
    _tar_gz(tmp_path / "cifar-100-binary.tar.gz", {"cifar-100-binary/test.bin": rec100})
    s = load_split("cifar100", "test", data_dir=tmp_path, download=False)
    assert s.labels.tolist() == [42, 7, 99]   # fine labels
    x, _ = s.tensors()
    assert tuple(x.shape) == (3, 3, 32, 32)


def test_missing_dataset_message(tmp_path):
    with pytest.raises(DatasetUnavailable) as e:
        load_split("mnist", "train", data_dir=tmp_path, download=False)
    msg = str(e.value)
    assert "train-images-idx3-ubyte.gz" in msg and str(tmp_path) in msg


def test_train_script_says_when_training_data_is_missing(tmp_path, capsys, monkeypatch):
    import models.datasets as ds
    import train
    monkeypatch.setattr(ds, "_download", lambda *a, **k: ["offline (test)"])
    rc = train.main(["--data-dir", str(tmp_path), "--epochs", "1", "--out", str(tmp_path / "x.pt")])
    err = capsys.readouterr().err
    assert rc == 2 and "training data is missing" in err and "dataset-fashion-mnist" in err
    assert not (tmp_path / "x.pt").exists()
