"""Trace files: round trip, bit order, and the DNN+NeuroSim V1.4 CSV export."""
import hashlib
import json

import numpy as np
import pytest
import torch
import torch.nn as nn

import traces
from conftest import DATA
from traces import (bits_to_codes, layer_arrays, read_traces, unfold_codes, write_neurosim_csv,
                    write_traces)

torch.set_num_threads(1)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------------------------------------------
# NeuroSim byte format: rebuild the reference case `small_default`'s synthetic traces (the
# distributions documented in the reference README, generated with numpy's default_rng) and
# check that our writer produces byte-identical files (SHA-256 from its config.json).
# ------------------------------------------------------------------------------------------

def synthetic_layer(row, layer_no, seed=1):
    h, w, cin, kh, kw, cout, _pool, stride = row
    rng = np.random.default_rng([seed, layer_no])
    wq = np.clip(np.rint(rng.normal(0.0, 0.2, size=(cout, cin, kh, kw)) * 128), -127, 127)
    wmat = wq.astype(np.int64).reshape(cout, -1).T
    if layer_no == 1:
        x = np.clip(np.rint(rng.normal(0.0, 0.5, size=(cin, h, w)) * 128), -128, 127)
    else:
        zero_fraction = rng.uniform(0.4, 0.6)
        x = np.minimum(1 + np.floor(rng.exponential(16.0, size=(cin, h, w))), 127)
        x[rng.random((cin, h, w)) < zero_fraction] = 0
    fc = h == 1 and w == 1 and kh == 1 and kw == 1
    oh, ow = (h - kh) // stride + 1, (w - kw) // stride + 1
    geo = {"type": "linear" if fc else "conv", "name": f"l{layer_no}", "ifm": [h, w],
           "in_channels": cin, "out_channels": cout, "kernel": [kh, kw], "stride": [stride, stride],
           "padding": [0, 0], "dilation": [1, 1], "groups": 1, "ofm": [oh, ow],
           "pool": {"type": "max", "kernel": [2, 2], "stride": [2, 2]} if _pool else None}
    codes = x.reshape(1, cin) if fc else x[None]
    return geo, layer_arrays(wmat, codes.astype(np.int64), geo, 8, 8)


def test_neurosim_csv_is_byte_identical_to_reference_case(tmp_path):
    case = json.loads((DATA / "neurosim14" / "small_default" / "config.json").read_text())
    rows = case["network_rows"]
    entries, arrays = [], []
    for l, row in enumerate(rows, start=1):
        geo, arr = synthetic_layer(row, l, case["trace_generation"]["seed"])
        entries.append(geo)
        arrays.append(arr)
    manifest = {"layers": entries, "weight_bits": 8, "input_bits": 8,
                "config": {"array": {"rows": 128, "rows_parallel": None, "operation_mode": "parallel"}}}
    write_neurosim_csv(tmp_path, manifest, arrays)
    expected = case["trace_generation"]["sha256_of_csv"]
    got = {name: sha(tmp_path / name) for name in expected}
    assert got == expected
    assert (tmp_path / "network.csv").read_text() == "".join(",".join(map(str, r)) + "\n" for r in rows)
    assert (tmp_path / "command.txt").read_text().startswith("main network.csv 8 8 128 128 weight1.csv input1.csv")


def test_weight_csv_values_and_shape(tmp_path):
    geo = {"type": "conv", "name": "c", "ifm": [3, 3], "in_channels": 2, "out_channels": 3,
           "kernel": [2, 2], "stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 1,
           "ofm": [2, 2], "pool": None}
    wmat = np.array([[-127, 0, 127], [1, -1, 64]] * 4)          # 8 rows x 3 cols
    codes = np.arange(-9, 9).reshape(1, 2, 3, 3)
    arr = layer_arrays(wmat, codes, geo, 8, 8)
    write_neurosim_csv(tmp_path, {"layers": [geo], "weight_bits": 8, "input_bits": 8,
                                  "config": {"array": {"rows": 64, "rows_parallel": 16,
                                                       "operation_mode": "parallel"}}}, [arr])
    lines = (tmp_path / "weight1.csv").read_text().split("\n")
    assert lines[0] == "  -0.99219,   0.00000,   0.99219" and lines[-1] == ""
    vals = np.loadtxt(tmp_path / "weight1.csv", delimiter=",")
    assert vals.shape == (8, 3) and np.array_equal(np.rint(vals * 128), wmat)
    bits = np.loadtxt(tmp_path / "input1.csv", delimiter=",", dtype=np.int64)
    assert bits.shape == (8, 4 * 8)
    # column p*8 + j = bit j (MSB = sign first) of the code at position p
    unf = unfold_codes(codes, geo)[0]                              # [8, 4]
    assert np.array_equal(bits_to_codes(bits[None], 8)[0], unf)
    assert bits[0, :8].tolist() == [1, 1, 1, 1, 0, 1, 1, 1]       # code -9 = 11110111
    assert (tmp_path / "command.txt").read_text().startswith("main network.csv 8 8 64 16 ")


def test_grouped_conv_cannot_be_exported(tmp_path):
    geo = {"type": "conv", "name": "g", "ifm": [3, 3], "in_channels": 2, "out_channels": 2,
           "kernel": [1, 1], "stride": [1, 1], "padding": [0, 0], "dilation": [1, 1], "groups": 2,
           "ofm": [3, 3], "pool": None}
    arr = layer_arrays(np.ones((1, 2), dtype=np.int64), np.zeros((1, 2, 3, 3), dtype=np.int64), geo, 8, 8)
    with pytest.raises(traces.TraceError, match="groups=2"):
        write_neurosim_csv(tmp_path, {"layers": [geo], "weight_bits": 8, "input_bits": 8,
                                      "config": {"array": {}}}, [arr])


# ------------------------------------------------------------------------------------------
# Round trip and bit order on a real model's traces
# ------------------------------------------------------------------------------------------

def test_roundtrip_write_read(tmp_path):
    rng = np.random.default_rng(0)
    geo = {"type": "conv", "name": "c", "ifm": [5, 4], "in_channels": 3, "out_channels": 6,
           "kernel": [3, 3], "stride": [2, 1], "padding": [1, 1], "dilation": [1, 1], "groups": 1,
           "ofm": [3, 4], "pool": None}
    codes = rng.integers(-512, 512, size=(2, 3, 5, 4))
    wmat = rng.integers(-2047, 2048, size=(27, 6))
    arr = layer_arrays(wmat, codes, geo, 12, 10)
    assert arr["weight_codes"].dtype == np.int16 and arr["input_codes"].dtype == np.int16
    manifest = {"layers": [dict(geo)], "weight_bits": 12, "input_bits": 10}
    write_traces(tmp_path, manifest, [arr])
    m2, layers = read_traces(tmp_path)
    assert m2["layers"][0]["file"] == "layer1.npz" and m2["format"] == traces.FORMAT
    got = layers[0]
    assert np.array_equal(got["weight_codes"], wmat)
    assert np.array_equal(got["input_codes"], codes)
    assert got["input_bits"].shape == (2, 27, 12 * 10)
    assert np.array_equal(bits_to_codes(got["input_bits"], 10), unfold_codes(codes, geo))
    # packed form as documented
    _, packed = read_traces(tmp_path, unpack=False)
    assert np.array_equal(np.unpackbits(packed[0]["input_bits"], axis=-1, count=120), got["input_bits"])
    # no pickles anywhere
    with np.load(tmp_path / "layer1.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)


def test_read_traces_errors(tmp_path):
    with pytest.raises(traces.TraceError, match="no manifest"):
        read_traces(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(traces.TraceError, match="format"):
        read_traces(tmp_path)


def test_model_traces_reproduce_the_layer_products(stage1_run):
    """Traced bits x traced weight codes = the layer's exact integer output for that image,
    for every layer: the row order, column order and bit order are consistent."""
    out_dir, ctx = stage1_run["out"], stage1_run["ctx"]
    manifest, layers = read_traces(out_dir)
    assert [e["name"] for e in manifest["layers"]] == [l.name for l in ctx.order]
    for entry, arr, layer in zip(manifest["layers"], layers, ctx.order):
        nb = manifest["input_bits"]
        codes = bits_to_codes(arr["input_bits"], nb)                        # [n, K, P]
        assert np.array_equal(codes, unfold_codes(arr["input_codes"].astype(np.int64), entry))
        y = np.einsum("nkp,kc->ncp", codes, arr["weight_codes"].astype(np.int64))
        x = torch.from_numpy(arr["input_codes"].astype(np.float64))
        ref = layer.integer_forward(x, hardware=False).reshape(y.shape).numpy()
        assert np.array_equal(y, ref)
        assert arr["input_bits"].shape == (manifest["num_trace_images"], entry["rows"],
                                           entry["positions"] * nb)


@pytest.fixture(scope="module")
def stage1_run(tmp_path_factory):
    import inference_sim
    from inferenceConfig import load_config
    out = tmp_path_factory.mktemp("stage1") / "layer_record_fmnist_cnn"
    cfg = load_config(settings=["num_images=40", "num_trace_images=2", "batch_size=16",
                                f"output_dir={out}"])
    args = inference_sim.build_parser().parse_args(["--neurosim-csv", "--no-progress"])
    res = inference_sim.run(cfg, args)
    return {"out": out, "ctx": res["ctx"], "result": res}


def test_manifest_describes_layers_in_execution_order(stage1_run):
    m = json.loads((stage1_run["out"] / "manifest.json").read_text())
    assert m["format"] == traces.FORMAT and m["num_trace_images"] == 2
    assert m["config"]["run"]["model"] == "fmnist_cnn"
    shapes = [(e["type"], e["ifm"], e["in_channels"], e["kernel"], e["out_channels"], e["stride"],
               e["padding"], e["groups"], (e["pool"] or {}).get("type")) for e in m["layers"]]
    assert shapes == [("conv", [28, 28], 1, [5, 5], 32, [1, 1], [0, 0], 1, "max"),
                      ("conv", [12, 12], 32, [5, 5], 64, [1, 1], [0, 0], 1, "max"),
                      ("linear", [1, 1], 1024, [1, 1], 128, [1, 1], [0, 0], 1, None),
                      ("linear", [1, 1], 128, [1, 1], 10, [1, 1], [0, 0], 1, None)]
    assert [e["neurosim"] for e in m["layers"]] == [[28, 28, 1, 5, 5, 32, 1, 1], [12, 12, 32, 5, 5, 64, 1, 1],
                                                    [1, 1, 1024, 1, 1, 128, 0, 1], [1, 1, 128, 1, 1, 10, 0, 1]]
    for e in m["layers"]:
        assert e["weight_bits"] == 8 and e["input_bits"] == 8 and e["file"].endswith(".npz")
        assert len(e["stats"]["input_bit_activity"]) == 8


def test_neurosim_export_of_a_model_run(stage1_run):
    out = stage1_run["out"] / "neurosim"
    manifest, layers = read_traces(stage1_run["out"])
    net = np.loadtxt(out / "network.csv", delimiter=",", dtype=np.int64, ndmin=2)
    assert net.shape == (4, 8)
    for k, (entry, arr) in enumerate(zip(manifest["layers"], layers), start=1):
        w = np.loadtxt(out / f"weight{k}.csv", delimiter=",", ndmin=2)
        assert w.shape == (entry["rows"], entry["out_channels"])
        assert np.array_equal(np.rint(w * 128).astype(np.int64), arr["weight_codes"])
        x = np.loadtxt(out / f"input{k}.csv", delimiter=",", dtype=np.int64, ndmin=2)
        assert np.array_equal(x, arr["input_bits"][0])            # first traced image
        assert set(np.unique(x)) <= {0, 1}
    acc = json.loads((stage1_run["out"] / "accuracy.json").read_text())
    assert {"float", "quantized", "hardware", "num_images"} <= set(acc) and acc["num_images"] == 40
