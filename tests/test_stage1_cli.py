"""inference_sim.py on bad input: one clear error, exit status 2, no (partial) trace folder."""
import json
import math
import subprocess
import sys

import pytest
import torch

import inference_sim
from conftest import ROOT

torch.set_num_threads(1)


def run_cli(args, capsys):
    try:
        rc = inference_sim.main(args + ["--no-progress"])
    except SystemExit as exc:      # config errors exit from config_from_args
        rc = exc.code
    return rc, capsys.readouterr()


def expect_error(tmp_path, capsys, args, pattern):
    out = tmp_path / "rec"
    rc, cap = run_cli(args + ["--set", f"output_dir={out}"], capsys)
    assert rc == 2, cap.err
    assert pattern.lower() in cap.err.lower(), cap.err
    assert cap.err.count("\n") <= 2 and "Traceback" not in cap.err
    assert not out.exists()
    assert not any(p.name.startswith(".rec") for p in tmp_path.iterdir())
    return cap.err


def test_checkpoint_that_does_not_fit(tmp_path, capsys):
    from models import build_model
    path = tmp_path / "lenet.pt"
    torch.save(build_model("lenet5").state_dict(), path)
    expect_error(tmp_path, capsys, ["--set", f"checkpoint={path}"], "does not fit")


def test_checkpoint_with_nan_weights(tmp_path, capsys):
    from models import build_model
    sd = build_model("fmnist_cnn").state_dict()
    sd["features.3.weight"][0, 0, 0, 0] = math.nan
    path = tmp_path / "nan.pt"
    torch.save(sd, path)
    expect_error(tmp_path, capsys, ["--set", f"checkpoint={path}"], "NaN")


def test_checkpoint_needing_pickle_is_refused(tmp_path, capsys):
    import argparse
    path = tmp_path / "pickled.pt"      # an arbitrary Python object needs full unpickling
    torch.save({"state_dict": {}, "obj": argparse.Namespace(x=1)}, path)
    expect_error(tmp_path, capsys, ["--set", f"checkpoint={path}"], "weights_only")


def test_cell_bits_above_weight_bits(tmp_path, capsys):
    expect_error(tmp_path, capsys, ["--set", "cellBit=4", "--set", "weight_bits=3"], "cell_bit")


def test_unmappable_precision(tmp_path, capsys):
    expect_error(tmp_path, capsys, ["--set", "weight_bits=1", "--set", "cell_bit=1"], "weight_bits")


def test_unknown_model(tmp_path, capsys):
    err = expect_error(tmp_path, capsys, ["--set", "model=nonet"], "unknown model")
    assert "fmnist_cnn" in err


def test_wrong_input_shape(tmp_path, capsys):
    """MNIST-format files whose images are 32x32 do not fit a 28x28 network."""
    import gzip
    import numpy as np
    from models.datasets import idx_bytes
    d = tmp_path / "data"
    d.mkdir()
    imgs = np.zeros((8, 32, 32), dtype=np.uint8)
    (d / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(idx_bytes(imgs)))
    (d / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(idx_bytes(np.zeros(8, np.uint8))))
    expect_error(tmp_path, capsys, ["--set", f"data_dir={d}"], "shape")


def test_missing_dataset_offline(tmp_path, capsys):
    """An empty data folder for a dataset that is not shipped: a clear message."""
    empty = tmp_path / "empty"
    empty.mkdir()
    import models.datasets as ds
    orig = ds._download
    ds._download = lambda *a, **k: ["offline (test)"]
    try:
        err = expect_error(tmp_path, capsys, ["--set", "model=lenet5", "--random-init",
                                              "--set", f"data_dir={empty}"], "not found")
    finally:
        ds._download = orig
    assert "t10k-images-idx3-ubyte.gz" in err


def test_too_many_trace_images(tmp_path, capsys):
    expect_error(tmp_path, capsys, ["--set", "num_images=4", "--set", "num_trace_images=5"],
                 "num_trace_images")


def test_model_without_checkpoint_asks_for_training(tmp_path, capsys):
    expect_error(tmp_path, capsys, ["--set", "model=vgg8"], "train.py")


def test_failed_run_keeps_previous_traces(tmp_path, capsys):
    """A failing run must not touch an existing folder."""
    out = tmp_path / "rec"
    out.mkdir()
    (out / "manifest.json").write_text("{}")
    rc, cap = run_cli(["--set", f"output_dir={out}", "--set", "model=nonet"], capsys)
    assert rc == 2 and (out / "manifest.json").read_text() == "{}"


def test_small_run_writes_accuracy_json(tmp_path, capsys):
    out = tmp_path / "rec"
    rc, cap = run_cli(["--set", f"output_dir={out}", "--set", "num_images=32", "--set",
                       "batch_size=8"], capsys)
    assert rc == 0, cap.err
    acc = json.loads((out / "accuracy.json").read_text())
    for key in ("float", "quantized", "hardware"):
        assert 0.0 <= acc[key] <= 1.0
    assert acc["num_images"] == 32 and acc["model"] == "fmnist_cnn"
    assert (out / "manifest.json").is_file() and (out / "layer4.npz").is_file()
    assert "accuracy (top-1)" in cap.out


def test_cli_exit_status_in_a_subprocess(tmp_path):
    """The real command line: status 2 and a single error line."""
    r = subprocess.run([sys.executable, str(ROOT / "inference_sim.py"), "--set", "model=nonet",
                        "--set", f"output_dir={tmp_path / 'x'}"], capture_output=True, text=True,
                       cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.startswith("error: unknown model")
    assert not (tmp_path / "x").exists()
