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
