"""The Python API (api.py), provenance in results JSON, and stage 2 taking the hardware
configuration recorded with stage-1 traces (resolve.py)."""
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import api
import inference_sim
from inferenceConfig import ConfigError, load_config
from resolve import VERSION, resolve_config, trace_content_hash

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def small_traces(small_csv_traces):
    return small_csv_traces


@pytest.fixture(scope="module")
def stage1_parallel(tmp_path_factory):
    """Stage-1 traces made with a conventional parallel read (operationmode=2)."""
    out = tmp_path_factory.mktemp("s1") / "rec"
    cfg = api.make_config(overrides={"operationmode": 2, "num_images": 32, "batch_size": 16})
    res = api.run_stage1(cfg, output_dir=out, calib_images=16)
    return out, res


def chip(*args, cwd=None):
    return subprocess.run([sys.executable, str(ROOT / "Chip.py"), "--quiet", *args],
                          capture_output=True, text=True, cwd=cwd)


def test_make_config_takes_the_names_set_takes():
    a = api.make_config("neurosim-1.4", {"memcelltype": 2, "array.rows": 256,
                                         "levelOutput": "16", "novelMapping": False})
    b = load_config("neurosim-1.4", None, ["memcelltype=2", "array.rows=256",
                                           "levelOutput=16", "novelMapping=false"])
    assert a.to_dict() == b.to_dict()
    assert a.device.memory_type == "RRAM" and a.precision.adc_levels == 16
    with pytest.raises(ConfigError, match="array.rows"):
        api.make_config(overrides={"array.rows": 100})
    with pytest.raises(ConfigError, match="unknown setting 'no_such'"):
        api.make_config(overrides={"no_such": 1})
    with pytest.raises(ConfigError, match="dict"):
        api.make_config(overrides=["memcelltype=2"])


def test_stage2_matches_the_command_line_and_records_config_and_provenance(small_traces, tmp_path):
    cfg = api.make_config("neurosim-1.4", {"memcelltype": 2, "numRowParallel": 32})
    res = api.run_stage2(cfg, api.load_traces(small_traces), write_cost=True)
    proc = chip("--preset", "neurosim-1.4", "--traces", str(small_traces), "--set",
                "memcelltype=2", "--set", "numRowParallel=32", "--json", str(tmp_path / "r.json"))
    assert proc.returncode == 0, proc.stderr
    cli = json.loads((tmp_path / "r.json").read_text())
    d = res.to_dict()
    for key in ("chip", "performance", "layers", "floorplan"):
        assert d[key] == cli[key]
    # the whole resolved configuration, enough to rebuild it
    assert d["config"] == cli["config"] == cfg.to_dict()
    again = api.make_config(overrides={})
    again.update(cli["config"], source="results.json")
    assert again.validate().to_dict() == cfg.to_dict()
    for prov in (d["provenance"], cli["provenance"]):
        assert prov["version"] == VERSION
        assert prov["traces"]["folder"] == str(small_traces.resolve())
        assert prov["traces"]["sha256"] == trace_content_hash(small_traces)
        assert re.fullmatch(r"[0-9a-f]{40}", prov["git_commit"] or "0" * 40)
    row = res.row()
    assert row["tops_per_w"] == d["performance"]["tops_per_w"]
    assert row["area_mm2"] == pytest.approx(d["chip"]["area_um2"] * 1e-6, rel=1e-15)
    assert row["energy_pJ"] == (d["chip"]["read_dynamic_energy_pJ"]
                                + d["chip"]["leakage_energy_pJ"])


def test_traces_are_read_once_for_many_configurations(small_traces):
    tr = api.load_traces(small_traces)
    first = None
    for rows in (32, 64, 128):
        cfg = api.make_config("neurosim-1.4", {"numRowParallel": rows})
        res = api.run_stage2(cfg, tr)
        nt = tr.for_param(cfg.to_param())
        first = first or nt
        assert nt is first                       # the same arrays, not a new read
        assert res.row()["tops_per_w"] > 0
    assert len(tr._loaded) == 1
    # the same precision, named the NeuroSim way, is the same read
    tr.for_param(api.make_config("neurosim-1.4", {"synapseBit": 8}).to_param())
    assert len(tr._loaded) == 1


def test_content_hash_follows_the_bytes(small_traces, tmp_path):
    import shutil
    copy = tmp_path / "copy"
    shutil.copytree(small_traces, copy)
    assert trace_content_hash(copy) == trace_content_hash(small_traces)
    f = copy / "input1.csv"
    data = bytearray(f.read_bytes())
    data[0] = ord("1") if data[0] == ord("0") else ord("0")
    f.write_bytes(bytes(data))
    assert trace_content_hash(copy) != trace_content_hash(small_traces)


def test_version_matches_setup_py():
    text = (ROOT / "setup.py").read_text()
    assert f'version="{VERSION}"' in text


def test_stage1_without_argparse(stage1_parallel):
    out, res = stage1_parallel
    row = res.row()
    assert set(row) >= {"float_accuracy", "quantized_accuracy", "hardware_accuracy"}
    assert 0.0 <= row["hardware_accuracy"] <= 1.0 and row["model"] == "fmnist_cnn"
    acc = json.loads((out / "accuracy.json").read_text())
    assert acc["config"]["array"]["operation_mode"] == "parallel"
    assert acc["provenance"]["version"] == VERSION
    assert res.to_dict() == acc
    # inference_sim.run itself takes keywords, no Namespace
    opts = inference_sim.Stage1Options(modes="quantized", no_traces=True, no_progress=True)
    cfg = api.make_config(overrides={"num_images": 16, "output_dir": str(out.parent / "q")})
    rec = inference_sim.run(cfg, opts, calib_images=8)
    assert set(rec) >= {"quantized", "config", "provenance"} and "hardware" not in rec


def test_chip_uses_the_hardware_recorded_with_the_traces(stage1_parallel, tmp_path):
    out, _ = stage1_parallel
    p1 = chip("--traces", str(out), "--json", str(tmp_path / "a.json"))
    assert p1.returncode == 0, p1.stderr
    a = json.loads((tmp_path / "a.json").read_text())
    assert a["config"]["array"]["operation_mode"] == "parallel"
    assert any("recorded with the traces" in m for m in a["messages"])
    # the same numbers as asking for that hardware explicitly
    p2 = chip("--traces", str(out), "--preset", "default", "--set", "operationmode=2",
              "--json", str(tmp_path / "b.json"))
    b = json.loads((tmp_path / "b.json").read_text())
    assert b["chip"] == a["chip"] and b["performance"] == a["performance"]
    # an override is used, and said
    p3 = chip("--traces", str(out), "--set", "operationmode=1", "--json", str(tmp_path / "c.json"))
    assert p3.returncode == 0, p3.stderr
    c = json.loads((tmp_path / "c.json").read_text())
    assert c["config"]["array"]["operation_mode"] == "sequential"
    notes = [m for m in c["messages"] if "change(s)" in m]
    assert len(notes) == 1 and "array.operation_mode: 'parallel' -> 'sequential'" in notes[0]
    assert "array.operation_mode" in p3.stdout
    assert c["chip"]["read_latency_ns"] != a["chip"]["read_latency_ns"]


def test_resolve_config_rules(tmp_path):
    rec = load_config(None, None, ["memcelltype=1", "levelOutput=16", "technode=32"])
    folder = tmp_path / "rec"
    folder.mkdir()
    (folder / "manifest.json").write_text(json.dumps({"config": rec.to_dict()}))
    cfg, notes = resolve_config(traces=folder)
    assert cfg.to_dict() == rec.to_dict() and "recorded with the traces" in notes[0]
    cfg, notes = resolve_config(overrides={"levelOutput": 8}, traces=folder)
    assert cfg.precision.adc_levels == 8 and cfg.technology.node_nm == 32
    assert "precision.adc_levels: 16 -> 8" in notes[0]
    # a stage-1-only setting changed is no hardware difference
    cfg, notes = resolve_config(overrides={"num_images": 5}, traces=folder)
    assert "change(s)" not in notes[0]
    # an explicit preset replaces the recorded configuration, and the differences are listed
    cfg, notes = resolve_config(preset="neurosim-1.4", traces=folder)
    assert cfg.technology.node_nm == 22 and "--preset neurosim-1.4" in notes[0]
    # no recorded configuration: the preset, no note
    cfg, notes = resolve_config(preset="neurosim-1.4", traces=tmp_path / "none")
    assert notes == [] and cfg.device.memory_type == "SRAM"
    # an unusable recorded configuration falls back to the default, and says so
    (folder / "manifest.json").write_text(json.dumps({"config": {"device": {"bogus": 1}}}))
    cfg, notes = resolve_config(traces=folder)
    assert "cannot be used" in notes[0] and cfg.to_dict() == load_config().to_dict()
