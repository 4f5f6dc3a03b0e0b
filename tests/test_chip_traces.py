"""Trace loading for stage 2 (chip_traces.py): the three folder formats, the fast and the
general CSV parsers, NeuroSim's weight normalisation, and one clear error (file + layer)
for every kind of bad input."""
import json
import subprocess
import sys

import numpy as np
import pytest

import traces as stage1
from chip_traces import (TraceError, _generic_matrix, _parse_bits_csv, _parse_weight_csv,
                         load_traces, num_in_vector, read_network_csv, weight_cells,
                         weights_to_levels)
from conftest import DATA, ROOT

SMALL = DATA / "neurosim14" / "small_default"
NET = [[6, 6, 2, 3, 3, 4, 1, 1], [1, 1, 16, 1, 1, 3, 0, 1]]


def write_csv_case(folder, net=NET, seed=0, fmt="%10.5f", crlf=False):
    """A tiny NeuroSim trace folder; returns the weight codes and bit matrices written."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "network.csv").write_text("".join(",".join(map(str, r)) + "\n" for r in net))
    nl = "\r\n" if crlf else "\n"
    codes, bits = [], []
    for k, r in enumerate(net, start=1):
        rows = r[2] * r[3] * r[4]
        q = rng.integers(-127, 128, size=(rows, r[5]))
        x = rng.integers(0, 2, size=(rows, num_in_vector(r) * 8 + 16), dtype=np.uint8)
        (folder / f"weight{k}.csv").write_text(
            "".join(",".join(fmt % (v / 128) for v in row) + nl for row in q))
        (folder / f"input{k}.csv").write_text("".join(",".join(map(str, row)) + nl for row in x))
        codes.append(q)
        bits.append(x)
    return codes, bits


def test_num_in_vector_is_neurosims_double_expression():
    assert num_in_vector([32, 32, 3, 3, 3, 8, 0, 1]) == 900
    assert num_in_vector([33, 33, 3, 3, 3, 8, 0, 2]) == 240     # 15.5 * 31 / 2, truncated
    assert num_in_vector([1, 1, 64, 1, 1, 10, 0, 1]) == 1


def test_weight_normalisation_and_cells():
    w = np.array([[-1.0, -0.00781, 0.0, 0.00781, 0.99219]])
    lv = weights_to_levels(w, 8, -1.0, 1.0, "w", 1)
    assert lv.tolist() == [[0, 127, 128, 129, 255]]
    cells = weight_cells(np.array([[129, 255]]), 2, 4)
    assert cells.tolist() == [[2, 0, 0, 1, 3, 3, 3, 3]]       # most significant cell first
    assert weight_cells(np.array([[256]]), 1, 8).tolist() == [[0] * 8]   # 9th bit dropped


@pytest.mark.parametrize("fmt, crlf", [("%10.5f", False), ("%10.5f", True), ("%.6g", False),
                                       ("%9.3f", False)])
def test_fast_and_general_parsers_agree(tmp_path, fmt, crlf):
    codes, bits = write_csv_case(tmp_path, fmt=fmt, crlf=crlf)
    lv = _parse_weight_csv(tmp_path / "weight1.csv", 1, 8, -1.0, 1.0)
    data = (tmp_path / "weight1.csv").read_bytes()
    general = weights_to_levels(_generic_matrix(data, tmp_path / "w", 1, "weight"), 8, -1, 1, "", 1)
    assert np.array_equal(lv, general)
    if fmt == "%10.5f":
        assert np.array_equal(lv, codes[0] + 128)
    assert np.array_equal(_parse_bits_csv(tmp_path / "input1.csv", 1), bits[0])


def test_neurosim_folder_reference_traces(tmp_path):
    meta = json.loads((SMALL / "config.json").read_text())
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
                    str(SMALL / "network.csv"), "--out", str(tmp_path), "--seed", "1",
                    "--padding", "valid", "--format", "both"], check=True, stdout=subprocess.DEVNULL)
    a = load_traces(tmp_path, SMALL / "network.csv", 8, 8)
    assert a.kind == "neurosim-csv" and a.network == meta["network_rows"]
    b = load_traces(tmp_path / "traces.npz", None, 8, 8)
    assert b.kind == "npz" and b.network == a.network
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.weight_levels, lb.weight_levels)
        assert np.array_equal(la.input_bits, lb.input_bits)
        assert la.input_bits.shape[1] == num_in_vector(la.row) * 8


def _stage1_folder(folder, net=NET, seed=0):
    rng = np.random.default_rng(seed)
    entries, arrays = [], []
    for k, r in enumerate(net, start=1):
        h, w, cin, kh, kw, cout, pool, s = r
        conv = not (h == w == kh == kw == 1)
        geo = {"type": "conv" if conv else "linear", "kernel": [kh, kw], "stride": [s, s],
               "padding": [0, 0], "dilation": [1, 1], "groups": 1,
               "ofm": [(h - kh) // s + 1, (w - kw) // s + 1], "ifm": [h, w],
               "in_channels": cin, "out_channels": cout}
        q = rng.integers(-127, 128, size=(cin * kh * kw, cout))
        x = rng.integers(0, 128, size=(1, cin, h, w) if conv else (1, cin))
        arrays.append(stage1.layer_arrays(q, x, geo, 8, 8))
        entries.append({"index": k, "name": f"l{k}", **geo,
                        "pool": {"type": "max", "kernel": [2, 2], "stride": [2, 2]} if pool else None})
    manifest = {"model": "tiny", "weight_bits": 8, "input_bits": 8, "layers": entries,
                "config": {"array": {"rows": 128, "rows_parallel": None,
                                     "operation_mode": "sequential"}}}
    folder.mkdir(parents=True, exist_ok=True)
    stage1.write_traces(folder, manifest, arrays)
    return manifest, arrays


def test_stage1_folder_matches_its_neurosim_export(tmp_path):
    manifest, arrays = _stage1_folder(tmp_path / "rec")
    a = load_traces(tmp_path / "rec", None, 8, 8)
    assert a.kind == "stage1" and a.network == NET
    m, layers = stage1.read_traces(tmp_path / "rec")
    stage1.write_neurosim_csv(tmp_path / "csv", m, layers)
    b = load_traces(tmp_path / "csv", None, 8, 8)
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.weight_levels, lb.weight_levels)
        assert np.array_equal(la.input_bits, lb.input_bits)
    with pytest.raises(TraceError, match="8-bit weights and 8-bit inputs"):
        load_traces(tmp_path / "rec", None, 8, 6)


# ---- bad input: one message naming the file and the layer ----------------------------------

def _break(folder, how):
    if how == "missing input":
        (folder / "input2.csv").unlink()
        return "input2.csv", "layer 2"
    if how == "truncated input":
        p = folder / "input1.csv"
        lines = p.read_text().splitlines()
        p.write_text("".join(",".join(l.split(",")[:40]) + "\n" for l in lines))
        return "input1.csv", "layer 1"
    if how == "ragged input":
        p = folder / "input1.csv"
        lines = p.read_text().splitlines()
        lines[3] = lines[3][:20]
        p.write_text("\n".join(lines) + "\n")
        return "input1.csv", "layer 1"
    if how == "non-binary input":
        p = folder / "input2.csv"
        s = p.read_text()
        p.write_text("2" + s[1:])
        return "input2.csv", "layer 2"
    if how == "nan weight":
        p = folder / "weight1.csv"
        lines = p.read_text().splitlines()
        parts = lines[2].split(",")
        parts[1] = "nan"
        lines[2] = ",".join(parts)
        p.write_text("\n".join(lines) + "\n")
        return "weight1.csv", "layer 1"
    if how == "inf weight":
        p = folder / "weight2.csv"
        lines = p.read_text().splitlines()
        lines[0] = "inf," + lines[0].split(",", 1)[1]
        p.write_text("\n".join(lines) + "\n")
        return "weight2.csv", "layer 2"
    if how == "weight out of range":
        p = folder / "weight2.csv"
        lines = p.read_text().splitlines()
        lines[0] = "   1.50000," + lines[0].split(",", 1)[1]
        p.write_text("\n".join(lines) + "\n")
        return "weight2.csv", "layer 2"
    if how == "weight shape":
        p = folder / "weight2.csv"
        p.write_text("".join(l.rsplit(",", 1)[0] + "\n" for l in p.read_text().splitlines()))
        return "weight2.csv", "layer 2"
    if how == "input rows":
        p = folder / "input1.csv"
        p.write_text("".join(l + "\n" for l in p.read_text().splitlines()[:-1]))
        return "input1.csv", "layer 1"
    if how == "empty weight":
        (folder / "weight1.csv").write_text("")
        return "weight1.csv", "layer 1"
    raise AssertionError(how)


BREAKS = ["missing input", "truncated input", "ragged input", "non-binary input", "nan weight",
          "inf weight", "weight out of range", "weight shape", "input rows", "empty weight"]


@pytest.mark.parametrize("how", BREAKS)
def test_bad_trace_input_names_file_and_layer(tmp_path, how):
    write_csv_case(tmp_path)
    fname, layer = _break(tmp_path, how)
    with pytest.raises(TraceError) as err:
        load_traces(tmp_path, None, 8, 8)
    msg = str(err.value)
    assert fname in msg and layer in msg, msg
    assert "\n" not in msg


@pytest.mark.parametrize("text, words", [
    ("", ["no layers"]),
    ("6,6,2,3,3,4,1\n", ["8 columns", "layer 1"]),
    ("6,6,2,3,3,4,1,1\n2,2,4,3,3,4,0,1\n", ["does not fit", "layer 2"]),
    ("6,6,2,3,3,4,2,1\n", ["max-pool", "layer 1"]),
    ("6,6,2,x,3,4,1,1\n", ["line 1", "not a list of numbers"]),
])
def test_bad_network_file(tmp_path, text, words):
    p = tmp_path / "net.csv"
    p.write_text(text)
    with pytest.raises(TraceError) as err:
        read_network_csv(p)
    for w in words:
        assert w in str(err.value)


def test_folder_problems(tmp_path):
    with pytest.raises(TraceError, match="not found"):
        load_traces(tmp_path / "nothing", None, 8, 8)
    (tmp_path / "empty").mkdir()
    with pytest.raises(TraceError, match="no traces found"):
        load_traces(tmp_path / "empty", None, 8, 8)
    write_csv_case(tmp_path / "two")
    with pytest.raises(TraceError, match="more layers than the network"):
        load_traces(tmp_path / "two", _one_layer_net(tmp_path), 8, 8)
    (tmp_path / "two" / "network.csv").unlink()
    with pytest.raises(TraceError, match="--network"):
        load_traces(tmp_path / "two", None, 8, 8)


def _one_layer_net(tmp_path):
    p = tmp_path / "one.csv"
    p.write_text(",".join(map(str, NET[0])) + "\n")
    return p


def _v15_folder(tmp_path, codes, network="1,1,4,1,1,2,0,1\n"):
    """A one-layer FC trace folder (4 inputs, 2 outputs) with V1.5 integer input codes."""
    (tmp_path / "network.csv").write_text(network)
    (tmp_path / "weight1.csv").write_text("   0.50000,  -0.25000\n" * 4)
    (tmp_path / "input1.csv").write_text("".join(f"{c}\n" for c in codes))
    return tmp_path


def test_v15_integer_inputs_expand_msb_first(tmp_path):
    folder = _v15_folder(tmp_path, [-128, 127, 5, 0])
    tr = load_traces(folder, None, 8, 8)
    bits = tr.layers[0].input_bits
    assert bits.shape == (4, 8)
    assert bits[0].tolist() == [1, 0, 0, 0, 0, 0, 0, 0]          # -128 = 0b10000000
    assert bits[1].tolist() == [0, 1, 1, 1, 1, 1, 1, 1]
    assert bits[2].tolist() == [0, 0, 0, 0, 0, 1, 0, 1]
    same = load_traces(folder, None, 8, 8, trace_format="neurosim-1.5")
    assert np.array_equal(same.layers[0].input_bits, bits)


@pytest.mark.parametrize("codes, fmt, piece", [
    ([300, 1, 2, 3], "auto", "does not fit 8 bits"),
    ([-129, 1, 2, 3], "neurosim-1.5", "does not fit 8 bits"),
    ([0, 1, 1, 0], "auto", "pass --trace-format neurosim-1.5"),      # 0/1 in V1.5's width
    (["1,x", "1", "2", "3"], "auto", "layer 1"),
])
def test_v15_bad_inputs_one_line(tmp_path, codes, fmt, piece):
    folder = _v15_folder(tmp_path, codes)
    with pytest.raises(TraceError) as exc:
        load_traces(folder, None, 8, 8, trace_format=fmt)
    assert piece in str(exc.value) and "\n" not in str(exc.value)


def test_stage1_neurosim_15_export_reads_back_the_same(tmp_path):
    """Stage 1's NeuroSim export in V1.5's integer format is detected and gives the same
    bits as the V1.4 export of the same traces."""
    _stage1_folder(tmp_path / "rec")
    m, layers = stage1.read_traces(tmp_path / "rec")
    stage1.write_neurosim_csv(tmp_path / "v14", m, layers)
    stage1.write_neurosim_csv(tmp_path / "v15", m, layers, input_format="neurosim-1.5")
    a = load_traces(tmp_path / "v14", None, 8, 8)
    b = load_traces(tmp_path / "v15", None, 8, 8)
    assert (tmp_path / "v15" / "input1.csv").read_text() != (tmp_path / "v14" / "input1.csv").read_text()
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.input_bits, lb.input_bits)
