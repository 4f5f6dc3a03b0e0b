"""Hostile inputs against both stages (issue 8): every bad input gets one line naming the
file / layer / field, exit status 2, no traceback, nothing written, nothing of the user's
touched; memory bounded by the work, never by what a file claims.

Most cases call the command lines in-process (fast); the memory cases run in a subprocess
under a `resource.setrlimit` address-space cap. Fuzzing (hypothesis) mutates the bytes of
valid trace files and config files: each example must load correctly or be refused with
one line (`validation.InputError`)."""
import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import Chip
import traces as stage1
from chip_traces import load_traces
from conftest import ROOT
from inferenceConfig import ConfigError, load_config
from test_chip_traces import NET, _stage1_folder, write_csv_case
from validation import InputError

MEM_CAP = 1 << 30                    # address-space cap of the subprocess cases
ENV = {**os.environ, "CIMSIM_MEMORY_BUDGET": "256M", "PYTHONWARNINGS": "default"}


# ------------------------------------------------------------------------------------------
# helpers
# ------------------------------------------------------------------------------------------

def listing(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def one_line(rc: int, err: str, fragment: str) -> None:
    assert rc == 2, err
    lines = [l for l in err.splitlines() if l.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:"), err
    assert "Traceback" not in err
    assert fragment.lower() in err.lower(), err
    assert len(err) < 600, err                  # never a whole value echoed


def chip_inproc(args, capsys):
    rc = Chip.main([*args, "--quiet"])
    return rc, capsys.readouterr().err


def _limit_memory():
    resource.setrlimit(resource.RLIMIT_AS, (MEM_CAP, MEM_CAP))


def chip_subprocess(args, cwd, env=ENV, timeout=120):
    return subprocess.run([sys.executable, str(ROOT / "Chip.py"), *args, "--quiet"], cwd=cwd,
                          capture_output=True, text=True, env=env, timeout=timeout,
                          preexec_fn=_limit_memory)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """Valid traces in the three formats (+ the V1.4 wrapper layout)."""
    root = tmp_path_factory.mktemp("hostile_base")
    _stage1_folder(root / "rec")
    write_csv_case(root / "csv")
    net = NET
    npz = {}
    rng = np.random.default_rng(3)
    for k, r in enumerate(net, start=1):
        rows = r[2] * r[3] * r[4]
        cols = (((r[0] - r[3] + 1) // r[7]) * ((r[1] - r[4] + 1) // r[7])) * 8
        npz[f"w{k}"] = rng.integers(-127, 128, size=(rows, r[5])).astype(np.int8)
        bits = rng.integers(0, 2, size=(rows, cols), dtype=np.uint8)
        npz[f"x{k}"] = np.packbits(bits, axis=1)
        npz[f"x{k}_shape"] = np.array(bits.shape, dtype=np.int64)
    npz["meta"] = np.array(json.dumps({"wbits": 8, "network_rows": net}))
    (root / "npz").mkdir()
    np.savez_compressed(root / "npz" / "traces.npz", **npz)
    return root


@pytest.fixture
def work(base, tmp_path):
    """A private copy of the base traces in tmp_path; cwd is tmp_path."""
    for name in ("rec", "csv", "npz"):
        shutil.copytree(base / name, tmp_path / name)
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def _npz_edit(path: Path, **changes):
    z = dict(np.load(path, allow_pickle=False))
    for k, v in changes.items():
        if v is None:
            z.pop(k, None)
        else:
            z[k] = v
    np.savez(path, **z)


def _huge_member(path: Path, name: str, shape, dtype="|u1"):
    """Replace member `name` by a header declaring `shape` with (almost) no data."""
    z = dict(np.load(path, allow_pickle=False))
    z.pop(name, None)
    np.savez(path, **z)
    with zipfile.ZipFile(path, "a") as zf, zf.open(name + ".npy", "w") as f:
        np.lib.format.write_array_header_2_0(f, {"descr": dtype, "fortran_order": False,
                                                 "shape": tuple(shape)})
        f.write(b"\0" * 64)


# ------------------------------------------------------------------------------------------
# the table: (id, mutation of the work folder -> Chip.py arguments, message fragment)
# ------------------------------------------------------------------------------------------

def _rec(w):
    return w / "rec"


def m_truncated_packed_bits(w):
    p = _rec(w) / "layer1.npz"
    z = np.load(p)
    _npz_edit(p, input_bits=z["input_bits"][..., :3].copy())
    return ["--traces", "rec"]


def m_shape_field_claims_huge(w):
    p = _rec(w) / "layer1.npz"
    z = np.load(p)
    s = z["input_bits_shape"].copy()
    s[-1] = 2 * 10 ** 8
    _npz_edit(p, input_bits_shape=s)
    return ["--traces", "rec"]


def m_float_weight_codes(w):
    p = _rec(w) / "layer2.npz"
    q = np.load(p)["weight_codes"].astype(np.float32) + 0.5
    _npz_edit(p, weight_codes=q)
    return ["--traces", "rec"]


def m_nan_weight_codes(w):
    p = _rec(w) / "layer2.npz"
    q = np.load(p)["weight_codes"].astype(np.float64)
    q[0, 0] = np.nan
    _npz_edit(p, weight_codes=q)
    return ["--traces", "rec"]


def m_wrapping_weight_codes(w):
    p = _rec(w) / "layer1.npz"
    q = np.load(p)["weight_codes"].astype(np.int32)
    q[0, 0] = 65536
    _npz_edit(p, weight_codes=q)
    return ["--traces", "rec"]


def m_missing_shape(w):
    _npz_edit(_rec(w) / "layer1.npz", input_bits_shape=None)
    return ["--traces", "rec"]


def m_random_bytes_layer(w):
    (_rec(w) / "layer2.npz").write_bytes(np.random.default_rng(0).bytes(700))
    return ["--traces", "rec"]


def m_object_array_layer(w):
    p = _rec(w) / "layer1.npz"
    z = dict(np.load(p))
    z["weight_codes"] = np.array([{"a": 1}, None], dtype=object)
    np.savez(p, **z)
    return ["--traces", "rec"]


def m_bits_int64(w):
    p = _rec(w) / "layer1.npz"
    _npz_edit(p, input_bits=np.load(p)["input_bits"].astype(np.int64))
    return ["--traces", "rec"]


def m_lying_header(w):
    _huge_member(_rec(w) / "layer1.npz", "input_bits", (1, 54, 10 ** 9))
    return ["--traces", "rec"]


def m_manifest_list(w):
    (_rec(w) / "manifest.json").write_text("[1, 2]")
    return ["--traces", "rec"]


def m_manifest_no_layers(w):
    m = json.loads((_rec(w) / "manifest.json").read_text())
    del m["layers"]
    (_rec(w) / "manifest.json").write_text(json.dumps(m))
    return ["--traces", "rec"]


def m_manifest_no_file(w):
    m = json.loads((_rec(w) / "manifest.json").read_text())
    del m["layers"][0]["file"]
    (_rec(w) / "manifest.json").write_text(json.dumps(m))
    return ["--traces", "rec"]


def m_manifest_escapes(w):
    m = json.loads((_rec(w) / "manifest.json").read_text())
    m["layers"][0]["file"] = "../../../../etc/passwd"
    (_rec(w) / "manifest.json").write_text(json.dumps(m))
    return ["--traces", "rec"]


def m_manifest_fewer_layers(w):
    m = json.loads((_rec(w) / "manifest.json").read_text())
    m["layers"] = m["layers"][:1]
    (_rec(w) / "manifest.json").write_text(json.dumps(m))
    return ["--traces", "rec"]


def m_manifest_bad_kernel(w):
    m = json.loads((_rec(w) / "manifest.json").read_text())
    m["layers"][0]["kernel"] = "3x3"
    (_rec(w) / "manifest.json").write_text(json.dumps(m))
    return ["--traces", "rec"]


def m_manifest_nan(w):
    (_rec(w) / "manifest.json").write_text('{"format": "cimsim-layer-record", "x": NaN}')
    return ["--traces", "rec"]


def m_manifest_binary(w):
    (_rec(w) / "manifest.json").write_bytes(b"\xff\xfe\x00garbage")
    return ["--traces", "rec"]


def m_npz_pickle(w):
    p = w / "npz" / "traces.npz"
    z = dict(np.load(p))
    z["w1"] = np.array([object()], dtype=object)
    np.savez(p, **z)
    return ["--traces", "npz"]


def m_npz_1d_shape(w):
    _npz_edit(w / "npz" / "traces.npz", x1_shape=np.array([54], dtype=np.int64))
    return ["--traces", "npz"]


def m_npz_nan_weights(w):
    p = w / "npz" / "traces.npz"
    q = np.load(p)["w1"].astype(np.float64)
    q[1, 1] = np.inf
    _npz_edit(p, w1=q)
    return ["--traces", "npz"]


def m_npz_meta_list(w):
    _npz_edit(w / "npz" / "traces.npz", meta=np.array("[1, 2]"))
    return ["--traces", "npz"]


def m_npz_truncated_zip(w):
    p = w / "npz" / "traces.npz"
    p.write_bytes(p.read_bytes()[:200])
    return ["--traces", "npz"]


def m_csv_unreadable(w):
    (w / "csv" / "input2.csv").unlink()
    (w / "csv" / "input2.csv").mkdir()           # a folder where a file belongs
    return ["--traces", "csv"]


def m_csv_binary_network(w):
    (w / "csv" / "network.csv").write_bytes(b"\x00\x01\x02binary")
    return ["--traces", "csv"]


def m_csv_latin1_network(w):
    (w / "csv" / "network.csv").write_bytes("6,6,2,3,3,4,1,1\n\xe9\n".encode("latin-1"))
    return ["--traces", "csv"]


def m_csv_huge_network_value(w):
    (w / "csv" / "network.csv").write_text("6,6,2,3,3,4,1,1\n1,1,16,1,1,1e300,0,1\n")
    return ["--traces", "csv"]


def m_csv_nan_weight(w):
    p = w / "csv" / "weight2.csv"
    p.write_text(p.read_text().replace("0", "n", 1).replace("n", "nan", 1))
    return ["--traces", "csv"]


def m_set(*pairs):
    def f(w):
        out = ["--traces", "rec"]
        for p in pairs:
            out += ["--set", p]
        return out
    f.__name__ = "set_" + "_".join(pairs)
    return f


def m_yaml(text, name="c.yaml"):
    def f(w):
        (w / name).write_text(text) if isinstance(text, str) else (w / name).write_bytes(text)
        return ["--traces", "rec", "--config", name]
    return f


BILLION_LAUGHS = "a: &a [x,x,x,x,x,x,x,x,x]\n" + "".join(
    f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefg", "bcdefgh")) + "cellBit: *h\n"

CASES = [
    ("packed bits shorter than their shape", m_truncated_packed_bits, "needs exactly"),
    ("shape field claims 2e8 columns", m_shape_field_claims_huge, "needs exactly"),
    ("float weight codes", m_float_weight_codes, "expected integer"),
    ("NaN weight codes", m_nan_weight_codes, "expected integer"),
    ("weight code 65536", m_wrapping_weight_codes, "outside"),
    ("npz without input_bits_shape", m_missing_shape, "input_bits_shape"),
    ("layer npz of random bytes", m_random_bytes_layer, "not a readable .npz"),
    ("object array in layer npz", m_object_array_layer, "python objects"),
    ("input bits stored as int64", m_bits_int64, "uint8"),
    ("header declares 54 GB", m_lying_header, "layer1.npz"),
    ("manifest is a list", m_manifest_list, "expected a json object"),
    ("manifest without layers", m_manifest_no_layers, "'layers'"),
    ("manifest layer without file", m_manifest_no_file, "'file'"),
    ("manifest file outside the folder", m_manifest_escapes, "plain file name"),
    ("manifest lists fewer layers than files", m_manifest_fewer_layers, "layer2.npz"),
    ("manifest kernel not a pair", m_manifest_bad_kernel, "'kernel'"),
    ("manifest with NaN", m_manifest_nan, "not valid json"),
    ("manifest binary", m_manifest_binary, "manifest"),
    ("traces.npz pickled object", m_npz_pickle, "python objects"),
    ("traces.npz 1-D shape", m_npz_1d_shape, "expected 2"),
    ("traces.npz inf weights", m_npz_nan_weights, "expected integer"),
    ("traces.npz meta not an object", m_npz_meta_list, "meta"),
    ("traces.npz truncated", m_npz_truncated_zip, "traces.npz"),
    ("a folder where a trace file belongs", m_csv_unreadable, "is a folder"),
    ("binary network.csv", m_csv_binary_network, "binary"),
    ("latin-1 network.csv", m_csv_latin1_network, "utf-8"),
    ("absurd network value", m_csv_huge_network_value, "network entries"),
    ("NaN weight in csv", m_csv_nan_weight, "weight2.csv"),
    ("buffer core of 0 rows", m_set("globalBufferCoreSizeRow=0"), "globalBufferCoreSizeRow"),
    ("negative cell height", m_set("heightInFeatureSize1T1R=-5"), "heightInFeatureSize1T1R"),
    ("positive algoWeightMin", m_set("algoWeightMin=1"), "algoWeightMin"),
    ("infinite alpha", m_set("alpha=inf"), "alpha"),
    ("tiny resistances", m_set("resistanceOn=1e-300", "resistanceOff=1e-299"),
     "resistanceOn (device.r_on)"),
    ("drift overflow", m_set("drift_nu=1000", "drift_time_s=1e300"), "drift_nu"),
    ("infinite off resistance", m_set("resistanceOff=inf"), "resistanceOff"),
    ("absurd write pulse", m_set("writePulseWidth=1e300"), "writePulseWidth"),
    ("typed name echoed", m_set("numRowSubArray=100"), "numRowSubArray (array.rows)"),
    ("value not echoed in full", m_set("cellBit=" + "9" * 5000), "chars"),
    ("YAML billion laughs", m_yaml(BILLION_LAUGHS), "aliases"),
    ("YAML integer key", m_yaml("1: 2\n"), "names must be text"),
    ("YAML list value", m_yaml("memcelltype: [1]\n"), "single value"),
    ("YAML python tag", m_yaml("cellBit: !!python/object/apply:os.system [ls]\n"), "yaml"),
    ("YAML binary", m_yaml(b"\x00\x01cellBit: 1"), "binary"),
    ("JSON non-UTF-8", m_yaml(b"{\"cellBit\": \"\xff\"}", "c.json"), "utf-8"),
    ("JSON Infinity", m_yaml('{"alpha": Infinity}', "c.json"), "not valid json"),
    ("config is a folder", lambda w: (w / "d.yaml").mkdir() or
     ["--traces", "rec", "--config", "d.yaml"], "folder"),
]


@pytest.mark.parametrize("mutate, fragment", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_input_one_line(work, capsys, mutate, fragment):
    args = mutate(work) + ["--json", "out/r.json", "--csv", "out/r.csv", "--plots", "pl"]
    before = listing(work)
    rc, err = chip_inproc(args, capsys)
    one_line(rc, err, fragment)
    assert listing(work) == before               # nothing written, nothing touched


# ------------------------------------------------------------------------------------------
# outputs
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("args, fragment", [
    (["--json", "rec/manifest.json"], "input"),
    (["--json", "rec/layer1.npz"], "input"),
    (["--csv", "rec"], "input"),
    (["--csv", "."], "is a folder"),
    (["--json", "ok.json", "--csv", "/proc/nope/x.csv"], "/proc/nope"),
    (["--json", "ok.json", "--plots", "ok.json"], "ok.json"),
    (["--json", "f.txt/x.json"], "is a file"),
    (["--network", "net.csv", "--json", "net.csv"], "input"),
], ids=["json is the manifest", "json is a layer file", "csv is the input", "csv is a folder",
        "second output unwritable", "two outputs one path", "parent is a file",
        "json is the network file"])
def test_outputs_refused_up_front(work, capsys, args, fragment):
    (work / "f.txt").write_text("user file\n")
    shutil.copy(work / "csv" / "network.csv", work / "net.csv")
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    rc, err = chip_inproc(["--traces", "rec", *args], capsys)
    one_line(rc, err, fragment)
    after = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    assert after == before


def test_outputs_land_together_strict_and_with_normal_modes(work, capsys):
    old = os.umask(0o022)
    try:
        (work / "pl").mkdir()
        (work / "pl" / "mine.txt").write_text("keep me\n")
        rc, err = chip_inproc(["--traces", "rec", "--json", "o/r.json", "--csv", "o/r.csv",
                               "--plots", "pl"], capsys)
    finally:
        os.umask(old)
    assert rc == 0, err
    assert err == ""                              # no warnings leak to stderr
    for p in (work / "o" / "r.json", work / "o" / "r.csv", work / "pl" / "layers.csv"):
        assert p.stat().st_mode & 0o777 == 0o644
    assert (work / "pl" / "mine.txt").read_text() == "keep me\n"
    assert not [p for p in work.rglob(".*tmp-*")]
    json.loads((work / "o" / "r.json").read_text(),
               parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))


def test_strict_json_convention():
    from outputs import dumps_strict
    text, found = dumps_strict({"a": float("inf"), "b": [1.0, float("nan")], "c": "inf"})
    assert json.loads(text) == {"a": None, "b": [1.0, None], "c": "inf"}
    assert found == ["a (inf)", "b[1] (nan)"]


_SIGTERM_SCRIPT = r"""
import sys, time
sys.path.insert(0, {root!r})
from outputs import RunOutputs
with RunOutputs() as out:
    f = out.file("o/r.json", "--json")
    d = out.folder("rec_out", "run.output_dir")
    (d / "manifest.json").write_text("{{}}")
    f.write_text("partial")
    print("ready", flush=True)
    time.sleep(30)
    out.commit()
"""


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_leaves_nothing(tmp_path, sig):
    proc = subprocess.Popen([sys.executable, "-c", _SIGTERM_SCRIPT.format(root=str(ROOT))],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(sig)
    proc.wait(timeout=30)
    assert proc.returncode != 0
    assert listing(tmp_path) == set()             # staging and the folder made for it gone


_RACE_SCRIPT = r"""
import sys
sys.path.insert(0, {root!r})
from traces import atomic_output_dir
for i in range({n}):
    with atomic_output_dir("shared") as tmp:
        (tmp / "manifest.json").write_text('{{"format": "cimsim-layer-record", "i": %d}}' % i)
        (tmp / "data.txt").write_text("x" * 100)
"""


def test_concurrent_folder_replacement_is_race_free(tmp_path):
    script = _RACE_SCRIPT.format(root=str(ROOT), n=150)
    procs = [subprocess.Popen([sys.executable, "-c", script], cwd=tmp_path,
                              stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errs = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errs
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shared"]
    assert sorted(p.name for p in (tmp_path / "shared").iterdir()) == ["data.txt",
                                                                        "manifest.json"]


# ------------------------------------------------------------------------------------------
# stage 1: output folder, data folder, checkpoints
# ------------------------------------------------------------------------------------------

def stage1_inproc(args, capsys):
    import inference_sim
    try:
        rc = inference_sim.main([*args, "--no-progress"])
    except SystemExit as exc:             # a bad setting exits from the config loader
        rc = exc.code
    return rc, capsys.readouterr().err


def _stage1_folders(w):
    import gzip
    (w / "keep").mkdir()
    (w / "keep" / "a.txt").write_text("x\n")
    (w / "afile").write_text("x\n")
    (w / "data").mkdir()
    (w / "data" / "ck.pt").write_bytes(b"")
    # IDX files whose headers claim 10^9 images (a 2 kB gzip bomb header), or too few bytes
    for name, dims in (("bomb", (10 ** 9, 28, 28)), ("short", (100, 28, 28))):
        d = w / name
        d.mkdir()
        head = bytes([0, 0, 8, 3]) + np.array(dims, dtype=">u4").tobytes()
        (d / "t10k-images-idx3-ubyte.gz").write_bytes(gzip.compress(head + b"\0" * 1000))
        (d / "t10k-labels-idx1-ubyte.gz").write_bytes(
            gzip.compress(bytes([0, 0, 8, 1]) + np.array([100], dtype=">u4").tobytes()
                          + b"\0" * 100))


@pytest.mark.parametrize("sets, fragment", [
    (["output_dir=keep"], "did not write"),
    (["output_dir=afile"], "not a folder"),
    (["output_dir=."], "current folder"),
    (["output_dir=.."], "current folder"),
    (["output_dir=data", "checkpoint=data/ck.pt"], "input"),
    (["output_dir=afile/sub"], "is a file"),
    (["data_dir=missing"], "--download"),
    (["data_dir=bomb"], "memory budget"),
    (["data_dir=short"], "truncated"),
    (["num_trace_images=1000000"], "num_trace_images"),
    (["checkpoint=data"], "folder"),
], ids=["foreign folder", "a file", "cwd", "parent", "holds the checkpoint",
        "below a file", "missing data", "IDX header bomb", "truncated IDX", "absurd trace count", "checkpoint is a folder"])
def test_stage1_refusals(work, capsys, sets, fragment):
    _stage1_folders(work)
    before = {p: p.read_bytes() for p in work.rglob("*") if p.is_file()}
    args = ["--set", "num_images=8"]
    for s in sets:
        args += ["--set", s]
    rc, err = stage1_inproc(args, capsys)
    one_line(rc, err, fragment)
    assert {p: p.read_bytes() for p in work.rglob("*") if p.is_file()} == before
    assert not (work / "missing").exists()


@pytest.mark.parametrize("content, fragment", [
    ({"state_dict": 5}, "must map parameter names"),
    ({"state_dict": {"conv1.weight": "text"}}, "must map parameter names"),
    ([1, 2, 3], "not a state_dict"),
], ids=["state_dict is a number", "a str value", "a list"])
def test_bad_checkpoints(work, capsys, content, fragment):
    import torch
    torch.save(content, work / "ck.pt")
    rc, err = stage1_inproc(["--set", "num_images=8", "--set", "checkpoint=ck.pt",
                             "--set", "output_dir=o"], capsys)
    one_line(rc, err, fragment)
    assert not (work / "o").exists()


def test_stage1_writes_and_replaces_only_its_own_folder(work, capsys):
    old = os.umask(0o022)
    try:
        for _ in range(2):                        # second run replaces the first one's folder
            rc, err = stage1_inproc(["--set", "num_images=8", "--set", "output_dir=o",
                                     "--set", "num_trace_images=3", "--modes", "hardware"],
                                    capsys)
            assert rc == 0, err
    finally:
        os.umask(old)
    names = sorted(p.name for p in (work / "o").iterdir())
    assert "manifest.json" in names and "layer1.npz" in names
    assert all(p.stat().st_mode & 0o777 == 0o644 for p in (work / "o").iterdir())
    assert not [p for p in work.iterdir() if p.name.startswith(".o.")]
    m, layers = stage1.read_traces(work / "o")
    assert layers[0]["input_bits"].shape[0] == 3
    # the streamed writer gives the arrays layer_arrays gives
    geo = {k: m["layers"][0][k] for k in ("type", "kernel", "stride", "padding", "dilation",
                                          "ofm")}
    ref = stage1.layer_arrays(layers[0]["weight_codes"], layers[0]["input_codes"], geo, 8, 8)
    assert np.array_equal(np.unpackbits(ref["input_bits"], axis=-1,
                                        count=int(ref["input_bits_shape"][-1])),
                          layers[0]["input_bits"])


# ------------------------------------------------------------------------------------------
# memory: declared sizes vs a capped process
# ------------------------------------------------------------------------------------------

def _zip_bomb(path: Path, nbytes: int):
    """A layer1.npz whose input_bits really decompress to `nbytes` zeros."""
    z = dict(np.load(path, allow_pickle=False))
    shape = (1, 54, nbytes // 54)
    z["input_bits_shape"] = np.array([1, 54, 8 * (nbytes // 54)], dtype=np.int64)
    z.pop("input_bits")
    np.savez(path, **z)
    chunk = b"\0" * (1 << 20)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED, compresslevel=1) as zf, \
            zf.open("input_bits.npy", "w", force_zip64=True) as f:
        np.lib.format.write_array_header_2_0(f, {"descr": "|u1", "fortran_order": False,
                                                 "shape": shape})
        left = 54 * (nbytes // 54)
        while left:
            f.write(chunk[:min(left, len(chunk))])
            left -= min(left, len(chunk))


def test_memory_bombs_under_a_cap(work):
    # a 300 MB zip bomb (about 300 kB on disk), refused from its header
    _zip_bomb(work / "rec" / "layer1.npz", 300 << 20)
    proc = chip_subprocess(["--traces", "rec", "--json", "r.json"], work)
    one_line(proc.returncode, proc.stderr, "memory budget")
    # a 9^8-element YAML alias bomb
    (work / "c.yaml").write_text(BILLION_LAUGHS)
    proc = chip_subprocess(["--traces", "csv", "--config", "c.yaml"], work)
    one_line(proc.returncode, proc.stderr, "aliases")
    assert not (work / "r.json").exists()


def test_crlf_csv_takes_the_bounded_fast_path(work):
    """CRLF traces parse like LF ones, in the chunked reader (a budget far below what the
    general reader would need is enough)."""
    folder = work / "crlf"
    write_csv_case(folder, crlf=True)
    env = {**ENV, "CIMSIM_MEMORY_BUDGET": "4K"}
    proc = chip_subprocess(["--traces", "crlf", "--json", "a.json"], work, env=env)
    assert proc.returncode == 0, proc.stderr
    proc = chip_subprocess(["--traces", "csv", "--json", "b.json"], work, env=env)
    a, b = (json.loads((work / n).read_text()) for n in ("a.json", "b.json"))
    assert a["chip"] == b["chip"]


# ------------------------------------------------------------------------------------------
# DNN+NeuroSim V1.4 wrapper folders (trace_command.sh)
# ------------------------------------------------------------------------------------------

def _wrapper_folder(src: Path, dst: Path, names=("Conv0_", "FC0_")):
    """NET's traces as the V1.4 PyTorch wrapper lays them out: layer_record_<m>/ with
    weight<name>.csv / input<name>.csv and trace_command.sh; NetWork_<m>.csv in NeuroSIM/."""
    rec = dst / "layer_record_tiny"
    rec.mkdir(parents=True)
    (dst / "NeuroSIM").mkdir()
    shutil.copy(src / "network.csv", dst / "NeuroSIM" / "NetWork_tiny.csv")
    cmd = "./NeuroSIM/main ./NeuroSIM/NetWork_tiny.csv 8 8 128 128 "
    for k, name in enumerate(names, start=1):
        shutil.copy(src / f"weight{k}.csv", rec / f"weight{name}.csv")
        shutil.copy(src / f"input{k}.csv", rec / f"input{name}.csv")
        cmd += f"./layer_record_tiny/weight{name}.csv ./layer_record_tiny/input{name}.csv "
    (rec / "trace_command.sh").write_text(cmd)
    return rec


def test_wrapper_layout_reads_like_the_plain_layout(base, tmp_path):
    rec = _wrapper_folder(base / "csv", tmp_path)
    a = load_traces(rec, None, 8, 8)
    b = load_traces(base / "csv", None, 8, 8)
    assert a.kind == "neurosim-wrapper" and a.network == b.network
    for la, lb in zip(a.layers, b.layers):
        assert np.array_equal(la.weight_levels, lb.weight_levels)
        assert np.array_equal(la.input_bits, lb.input_bits)
    # order comes from trace_command.sh, not from the names
    rec2 = _wrapper_folder(base / "csv", tmp_path / "z", names=("Z_", "A_"))
    c = load_traces(rec2, None, 8, 8)
    assert np.array_equal(c.layers[0].weight_levels, b.layers[0].weight_levels)


@pytest.mark.parametrize("edit, fragment", [
    (lambda r: (r / "trace_command.sh").write_text("./NeuroSIM/main x.csv 8 8\n"),
     "expected"),
    (lambda r: (r / "trace_command.sh").write_text(
        (r / "trace_command.sh").read_text().replace(" 8 8 ", " 6 8 ", 1)), "synapseBit=6"),
    (lambda r: (r / "inputFC0_.csv").unlink(), "inputFC0_.csv"),
    (lambda r: (r / "weightConv1_.csv").write_text("0.5\n"), "not listed"),
    (lambda r: (r / "trace_command.sh").write_text(
        (r / "trace_command.sh").read_text().replace("NetWork_tiny", "NetWork_other")),
     "no network file"),
    (lambda r: (r / "trace_command.sh").write_bytes(b"\xff\xfe\x00"), "binary"),
], ids=["too short", "other weight bits", "missing input", "unlisted file", "no network",
        "binary command file"])
def test_wrapper_layout_bad_input(base, tmp_path, capsys, edit, fragment):
    rec = _wrapper_folder(base / "csv", tmp_path)
    edit(rec)
    rc, err = chip_inproc(["--traces", str(rec)], capsys)
    one_line(rc, err, fragment)


# ------------------------------------------------------------------------------------------
# fuzzing: mutated bytes of valid inputs load correctly or are refused in one line
# ------------------------------------------------------------------------------------------

_FUZZ = settings(max_examples=40, deadline=None, derandomize=True,
                 suppress_health_check=list(HealthCheck))
_FUZZ_CFG = settings(_FUZZ, max_examples=20)

_mutation = st.one_of(
    st.tuples(st.just("truncate"), st.floats(0, 1)),
    st.tuples(st.just("flip"), st.lists(st.tuples(st.floats(0, 1), st.integers(0, 7)),
                                        min_size=1, max_size=8)),
    st.tuples(st.just("random"), st.binary(max_size=300)),
    st.tuples(st.just("splice"), st.tuples(st.floats(0, 1), st.binary(min_size=1, max_size=16))),
)


def _mutate(data: bytes, how) -> bytes:
    kind, arg = how
    if kind == "truncate":
        return data[:int(arg * len(data))]
    if kind == "random":
        return arg
    if kind == "splice":
        pos = int(arg[0] * len(data))
        return data[:pos] + arg[1] + data[pos + len(arg[1]):]
    b = bytearray(data)
    for pos, bit in arg:
        i = min(int(pos * len(b)), len(b) - 1)
        b[i] ^= 1 << bit
    return bytes(b)


def _check_loaded(t):
    for layer in t.layers:
        assert layer.input_bits.dtype == np.uint8 and np.isin(layer.input_bits, (0, 1)).all()
        assert layer.weight_levels.min() >= 0 and layer.weight_levels.max() <= 256


@pytest.mark.parametrize("fmt, name", [("rec", "layer1.npz"), ("rec", "manifest.json"),
                                       ("npz", "traces.npz"), ("csv", "weight1.csv"),
                                       ("csv", "input2.csv"), ("csv", "network.csv")])
def test_fuzz_trace_readers(base, tmp_path_factory, fmt, name):
    folder = tmp_path_factory.mktemp("fuzz") / fmt
    shutil.copytree(base / fmt, folder)
    target = folder / name
    original = target.read_bytes()

    @_FUZZ
    @given(how=_mutation)
    def run(how):
        target.write_bytes(_mutate(original, how))
        try:
            t = load_traces(folder if fmt != "npz" else folder / "traces.npz", None, 8, 8)
        except InputError as exc:
            assert "\n" not in str(exc) and len(str(exc)) < 500
        else:
            _check_loaded(t)

    run()


_yaml_atoms = st.one_of(st.integers(-10 ** 30, 10 ** 30), st.floats(allow_nan=True),
                        st.text(max_size=12), st.booleans(), st.none())
_config_values = st.recursive(_yaml_atoms, lambda c: st.lists(c, max_size=3)
                              | st.dictionaries(st.text(max_size=8), c, max_size=3), max_leaves=6)
_names = st.sampled_from(["cellBit", "memcelltype", "array.rows", "device", "alpha",
                          "numRowSubArray", "resistanceOn", "drift_nu", "seed", "run",
                          "globalBufferCoreSizeRow", "model", "x"])


@_FUZZ_CFG
@given(data=st.dictionaries(st.one_of(_names, st.integers(), st.text(max_size=6)),
                            _config_values, max_size=4),
       as_yaml=st.booleans())
def test_fuzz_config_loader(tmp_path_factory, data, as_yaml):
    import yaml
    folder = tmp_path_factory.mktemp("cfg")
    if as_yaml:
        path = folder / "c.yaml"
        path.write_text(yaml.safe_dump(data))
    else:
        path = folder / "c.json"
        path.write_text(json.dumps({str(k): v for k, v in data.items()}))
    try:
        cfg = load_config(None, str(path), [])
    except ConfigError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500
    else:
        cfg.to_param().validate()


@_FUZZ
@given(text=st.binary(max_size=200))
def test_fuzz_config_bytes(tmp_path_factory, text):
    path = tmp_path_factory.mktemp("cfgb") / "c.yaml"
    path.write_bytes(text)
    try:
        load_config(None, str(path), [])
    except ConfigError as exc:
        assert "\n" not in str(exc) and len(str(exc)) < 500


@pytest.mark.parametrize("atomic", [True, False], ids=["renameat2", "fallback"])
def test_folder_replacement_never_deletes_a_foreign_folder(tmp_path, monkeypatch, atomic):
    """The old folder is swapped out atomically (renameat2) or, where that is missing, moved
    to a private trash folder first; a folder that is not ours found there is put back,
    never deleted."""
    import outputs
    if not atomic:
        monkeypatch.setattr(outputs, "_RENAMEAT2", None)
    final = tmp_path / "rec"
    for i in range(2):
        with stage1.atomic_output_dir(final) as tmp:
            (tmp / "manifest.json").write_text('{"format": "cimsim-layer-record", "i": %d}' % i)
    assert json.loads((final / "manifest.json").read_text())["i"] == 1
    staged = tmp_path / "staged"
    staged.mkdir()
    (staged / "x").write_text("new")
    shutil.rmtree(final)
    final.mkdir()
    (final / "user.txt").write_text("mine")      # appeared after the up-front check
    with pytest.raises(outputs.OutputError, match="did not write"):
        outputs._install_folder(staged, final)
    assert (final / "user.txt").read_text() == "mine"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rec", "staged"]


def test_parent_folder_made_meanwhile_by_another_process(tmp_path, monkeypatch):
    """Two runs creating the same missing parent folder at once (e.g. a sweep's parallel
    stage-1 runs under OUT/stage1/): the one that loses the mkdir race goes on, and does not
    count the folder as its own (so its clean-up never removes it)."""
    import pathlib
    from outputs import RunOutputs
    shared = tmp_path / "stage1"
    real_mkdir = pathlib.Path.mkdir

    def racing_mkdir(self, *a, **k):
        if self == shared:
            real_mkdir(self, *a, **k)          # the other process wins ...
            raise FileExistsError(17, "File exists", str(self))   # ... and we see EEXIST
        return real_mkdir(self, *a, **k)

    monkeypatch.setattr(pathlib.Path, "mkdir", racing_mkdir)
    with RunOutputs([]) as out:
        staged = out.file(shared / "a.json", "--json")
        staged.write_text("{}\n")
        assert shared not in out.made_dirs
        out.commit()
    assert (shared / "a.json").read_text() == "{}\n"
    with pytest.raises(SystemExit), RunOutputs([]) as out:   # an aborted run keeps the folder
        out.file(shared / "b.json", "--json").write_text("{}\n")
        raise SystemExit(2)
    assert sorted(p.name for p in shared.iterdir()) == ["a.json"]
