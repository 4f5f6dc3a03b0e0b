"""precision.adc_range: calibrated ADC ranges on training images (cim/calibration.py)."""
import json

import pytest
import torch

import inference_sim
from cim.calibration import ReadingHistogram

torch.set_num_threads(1)


def run_cli(args, capsys):
    try:
        rc = inference_sim.main(args + ["--no-progress"])
    except SystemExit as exc:
        rc = exc.code
    return rc, capsys.readouterr()


def test_full_scale_choices_from_a_histogram():
    h = ReadingHistogram()
    r = torch.cat([torch.zeros(1000), torch.arange(1, 101, dtype=torch.float64).repeat(10),
                   torch.tensor([400.0])])
    h.add(r)
    assert h.total == r.numel()
    assert h.full_scale("max", 32, 99.9) == 400.0
    p50 = h.full_scale("percentile", 32, 50.0)
    assert 49 <= p50 <= 51 + 0.125          # upper edge of the bin holding the 50 % point
    mse = h.full_scale("histogram", 32, 99.9)
    assert 60 < mse < 400          # clips the lone outlier, keeps the bulk
    assert ReadingHistogram().full_scale("max", 32, 99.9) == 31.0   # nothing read


@pytest.mark.parametrize("method", ["max", "histogram"])
def test_calibrated_range_is_reported_and_used(tmp_path, capsys, method):
    out = tmp_path / "rec"
    rc, cap = run_cli(["--modes", "hardware", "--no-traces", "--set", "operationmode=2",
                       "--set", "levelOutput=8", "--set", "num_images=16", "--set", "batch_size=16",
                       "--set", f"adc_range={method}", "--set", "adc_calib_images=8",
                       "--set", f"output_dir={out}"], capsys)
    assert rc == 0, cap.err
    rec = json.loads((out / "accuracy.json").read_text())
    cal = rec["adc_range"]
    assert cal["method"] == method and "training images" in cal["source"]
    layers = cal["layers"]
    assert set(layers) == {l["name"] for l in rec["layers"]}
    assert all(v["full_scale"] >= 7 for v in layers.values())     # never finer than a cell step
    if method == "max":            # the range covers every calibration reading
        assert all(v["full_scale"] == max(v["readings_max"], 7) for v in layers.values())
        assert any(v["full_scale"] > 7 for v in layers.values())
    assert "ADC full scale" in cap.out


def test_calibrated_range_refused_in_sequential_mode(tmp_path, capsys):
    rc, cap = run_cli(["--modes", "hardware", "--no-traces", "--set", "num_images=4",
                       "--set", "adc_range=max", "--set", f"output_dir={tmp_path / 'r'}"], capsys)
    assert rc == 2 and "operation_mode = parallel" in cap.err and "Traceback" not in cap.err
    assert not (tmp_path / "r").exists()


def _train_split_available():
    from models.datasets import DatasetUnavailable, load_split
    try:
        load_split("fashion_mnist", "train", None)
        return True
    except DatasetUnavailable:
        return False


HAT_HW = ["--set", "operationmode=2", "--set", "levelOutput=16", "--set", "adc_range=max",
          "--set", "adc_calib_images=8"]


@pytest.fixture(scope="module")
def hat_checkpoint(tmp_path_factory):
    """A checkpoint made by train.py --hardware-aware with a calibrated ADC range."""
    import subprocess
    import sys
    from pathlib import Path
    if not _train_split_available():
        pytest.skip("the Fashion-MNIST training split is not installed")
    out = tmp_path_factory.mktemp("hat") / "hat.pt"
    root = Path(__file__).resolve().parent.parent
    r = subprocess.run([sys.executable, "train.py", "--hardware-aware", "--out", str(out),
                        "--train-images", "16", "--epochs", "1", "--batch-size", "16", *HAT_HW],
                       cwd=root, capture_output=True, text=True,
                       env={**__import__("os").environ, "OMP_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
    assert "ADC ranges (max, after fine-tuning" in r.stdout
    return out


def test_hardware_aware_training_stores_calibrated_ranges_and_inference_uses_them(
        hat_checkpoint, tmp_path, capsys):
    ck = torch.load(hat_checkpoint, weights_only=True)
    stored = ck["adc_ranges"]
    assert stored["method"] == "max" and stored["hardware"]["adc_levels"] == 16
    assert all(v["full_scale"] >= 15 for v in stored["layers"].values())
    run = ["--modes", "hardware", "--no-traces", "--set", f"checkpoint={hat_checkpoint}",
           "--set", "num_images=8", "--set", "batch_size=8", *HAT_HW]
    rc, cap = run_cli(run + ["--set", f"output_dir={tmp_path / 'a'}"], capsys)
    assert rc == 0, cap.err
    assert "stored in checkpoint" in cap.out and "not re-measured" in cap.out
    rec = json.loads((tmp_path / "a" / "manifest.json").read_text())["adc_range"]
    assert rec["source"].startswith("checkpoint ")
    assert {k: v["full_scale"] for k, v in rec["layers"].items()} == \
        {k: v["full_scale"] for k, v in stored["layers"].items()}
    for name, v in stored["layers"].items():        # printed per layer, with the clipping
        assert f"ADC full scale {v['full_scale']:.3g} cell steps" in cap.out
    # other hardware: not used, said so, calibrated anew
    rc, cap = run_cli(run + ["--set", "levelOutput=32", "--set", f"output_dir={tmp_path / 'b'}"], capsys)
    assert rc == 0, cap.err
    assert "are not used" in cap.out and "adc_levels" in cap.out
    rec = json.loads((tmp_path / "b" / "accuracy.json").read_text())["adc_range"]
    assert "training images" in rec["source"] and rec["hardware"]["adc_levels"] == 32
    # a fixed range: stored ranges ignored, with a note
    rc, cap = run_cli(run + ["--set", "adc_range=fixed", "--set", f"output_dir={tmp_path / 'c'}"], capsys)
    assert rc == 0 and "not used (precision.adc_range = fixed)" in cap.out


def test_corrupt_stored_ranges_are_refused_with_one_line(hat_checkpoint, tmp_path, capsys):
    ck = torch.load(hat_checkpoint, weights_only=True)
    first = next(iter(ck["adc_ranges"]["layers"]))
    ck["adc_ranges"]["layers"][first]["full_scale"] = float("nan")
    bad = tmp_path / "bad.pt"
    torch.save(ck, bad)
    rc, cap = run_cli(["--modes", "hardware", "--no-traces", "--set", f"checkpoint={bad}",
                       "--set", "num_images=4", *HAT_HW, "--set", f"output_dir={tmp_path / 'r'}"], capsys)
    assert rc == 2 and "full_scale" in cap.err and "Traceback" not in cap.err
    assert not (tmp_path / "r").exists()
