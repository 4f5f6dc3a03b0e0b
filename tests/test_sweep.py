"""sweep.py / dse.py: grid, sampling, YAML files, invalid points, resume, Pareto front,
plots, stage-1 caching, and equal results from serial, process-pool and Ray runs."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import dse
import sweep

ROOT = Path(__file__).resolve().parent.parent

GRID = ["--preset", "neurosim-1.4", "--grid", "memcelltype=1,2",
        "--grid", "numRowParallel=32,128,256", "--grid", "levelOutput=8,32"]


@pytest.fixture(scope="module")
def traces(small_csv_traces):
    return small_csv_traces


def run(args, capsys):
    rc = sweep.main(args + ["--quiet"])
    return rc, capsys.readouterr()


def brute_front(values, dirs):
    v = np.array(values, float) * np.array([-1 if d == "max" else 1 for d in dirs])
    out = []
    for i in range(len(v)):
        out.append(not any(np.all(v[j] <= v[i]) and np.any(v[j] < v[i])
                           for j in range(len(v)) if j != i))
    return np.array(out)


def test_grid_table_invalid_points_front_and_plots(traces, tmp_path, capsys):
    out = tmp_path / "res"
    rc, cap = run(["--traces", str(traces), "--out", str(out), "--workers", "1", *GRID], capsys)
    assert rc == 0, cap.err
    df = pd.read_csv(out / "results.csv")
    pq = pd.read_parquet(out / "results.parquet")
    assert len(df) == len(pq) == 12
    # 256 rows in parallel on 128-row sub-arrays: invalid, reported per point, skipped
    bad = df[df["numRowParallel"] == 256]
    assert len(bad) == 4 and (bad["status"] == "invalid").all()
    assert bad["error"].str.contains("rows_parallel").all() and bad["tops_per_w"].isna().all()
    ok = pq[pq["status"] == "ok"]
    assert len(ok) == 8 and np.isfinite(ok["tops_per_w"]).all()
    assert "4 invalid" in cap.out
    front = brute_front(ok[["tops_per_w", "area_mm2"]].to_numpy(), ["max", "min"])
    assert (ok["pareto"].to_numpy() == front).all() and front.any()
    assert not pq.loc[pq["status"] != "ok", "pareto"].any()
    for png in ("pareto.png", "sensitivity.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # each point file holds the full configuration and provenance
    rec = json.loads(next((out / "points").glob("*.json")).read_text())
    assert set(rec) >= {"id", "config", "provenance", "figures", "status"}
    assert rec["provenance"]["traces"]["sha256"]
    # one point equals a Chip.py run of the same configuration
    import api
    row = ok.iloc[0]
    cfg = api.make_config("neurosim-1.4", {"memcelltype": int(row["memcelltype"]),
                                           "numRowParallel": int(row["numRowParallel"]),
                                           "levelOutput": int(row["levelOutput"])})
    ref = api.run_stage2(cfg, api.load_traces(traces)).row()
    assert row["tops_per_w"] == ref["tops_per_w"] and row["area_mm2"] == ref["area_mm2"]


def test_resume_skips_points_already_priced(traces, tmp_path, capsys):
    out = tmp_path / "res"
    args = ["--traces", str(traces), "--out", str(out), "--workers", "1", "--no-plots", *GRID]
    assert run(args, capsys)[0] == 0
    first = pd.read_parquet(out / "results.parquet")
    rc, cap = run(args, capsys)
    assert rc == 0 and "(0 now, 8 from" in cap.out
    victims = sorted((out / "points").glob("*.json"))[:2]
    for v in victims:
        v.unlink()
    victims_2 = sorted((out / "points").glob("*.json"))[0]
    victims_2.write_text("{ truncated")           # a damaged record is priced again
    rc, cap = run(args, capsys)
    assert rc == 0 and "(3 now, 5 from" in cap.out
    assert pd.read_parquet(out / "results.parquet").equals(first)
    # points are addressed by the traces' content, not their path: a copy reuses them all
    other = tmp_path / "tr2"
    other.mkdir()
    for f in traces.iterdir():
        (other / f.name).write_bytes(f.read_bytes())
    rc, cap = run(["--traces", str(other), *args[2:]], capsys)
    assert rc == 0 and "(0 now, 8 from" in cap.out
    # changed traces are new points
    data = bytearray((other / "input1.csv").read_bytes())
    data[0] = ord("1") if data[0] == ord("0") else ord("0")
    (other / "input1.csv").write_bytes(bytes(data))
    rc, cap = run(["--traces", str(other), *args[2:]], capsys)
    assert rc == 0 and "(8 now, 0 from" in cap.out


def test_sampling_is_seeded_and_latin():
    axes = [dse.parse_range("device.r_on=5e4:2e5:log"), dse.parse_range("array.rows_parallel=1:64:int"),
            dse.parse_grid("levelOutput=8,16,32,64")]
    spec = dse.SweepSpec(axes=axes, sample=40, method="lhs", seed=7)
    a, b = dse.make_points(spec), dse.make_points(spec)
    assert a == b and len(a) == 40
    spec.seed = 8
    assert dse.make_points(spec) != a
    r_on = np.array([p["device.r_on"] for p in a])
    assert (r_on >= 5e4).all() and (r_on <= 2e5).all()
    u = (np.log(r_on) - np.log(5e4)) / (np.log(2e5) - np.log(5e4))
    assert sorted(np.floor(u * 40).astype(int)) == list(range(40))    # one point per stratum
    assert all(isinstance(p["array.rows_parallel"], int) for p in a)
    counts = pd.Series([p["levelOutput"] for p in a]).value_counts()
    assert (counts == 10).all()                   # value axes: each value equally often
    spec.method = "random"
    c = dse.make_points(spec)
    assert c == dse.make_points(spec) and c != a


def test_sample_and_yaml_file(traces, tmp_path, capsys):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"""
preset: neurosim-1.4
traces: {traces}
set: {{memcelltype: 2}}
grid:
  numRowParallel: [16, 32, 64]
ranges:
  levelOutput: {{low: 4, high: 64, int: true, log: true}}
sample: 6
seed: 3
objectives: [tops_per_w:max, latency_ns:min]
""")
    out = tmp_path / "res"
    rc, cap = run(["--spec", str(spec), "--out", str(out), "--workers", "1"], capsys)
    assert rc == 0, cap.err
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 6 and set(df["numRowParallel"]) <= {16, 32, 64}
    assert df["levelOutput"].between(4, 64).all()
    meta = json.loads((out / "sweep.json").read_text())
    assert meta["base_config"]["device"]["memory_type"] == "RRAM"
    assert [tuple(o) for o in meta["objectives"]] == [("tops_per_w", "max"), ("latency_ns", "min")]
    ok = df[df["status"] == "ok"]
    front = brute_front(ok[["tops_per_w", "latency_ns"]].to_numpy(), ["max", "min"])
    assert (ok["pareto"].to_numpy() == front).all()


@pytest.mark.parametrize("args, pattern", [
    (["--grid", "no_such_setting=1,2"], "unknown setting 'no_such_setting'"),
    (["--grid", "levelOutput"], "expected NAME=V1,V2"),
    (["--grid", "levelOutput=8,,16"], "empty name or value"),
    (["--range", "device.r_on=2e5:5e4", "--sample", "4"], "must be below"),
    (["--range", "device.r_on=a:5e4", "--sample", "4"], "not a number"),
    (["--range", "device.r_on=0:5e4:log", "--sample", "4"], "positive low end"),
    (["--range", "device.r_on=1:5e4:cubic", "--sample", "4"], "unknown range option"),
    (["--range", "device.r_on=1e4:5e4"], "needs --sample"),
    (["--grid", "levelOutput=8,16", "--grid", "levelOutput=32"], "swept twice"),
    (["--grid", "levelOutput=8", "--sample", "0"], "--sample"),
    (["--grid", "levelOutput=8", "--objectives", "speed:max"], "unknown column 'speed'"),
    (["--grid", "levelOutput=8", "--objectives", "tops:up"], "max or min"),
    (["--grid", "levelOutput=8", "--workers", "0"], "--workers"),
    (["--grid", "levelOutput=8", "--stage1"], "--stage1"),
    (["--grid", "levelOutput=8", "--set", "array.rows=100"], "array.rows"),
])
def test_bad_spec_is_one_line_exit_2(traces, tmp_path, capsys, args, pattern):
    out = tmp_path / "res"
    rc, cap = run(["--traces", str(traces), "--out", str(out), *args], capsys)
    lines = [l for l in cap.err.splitlines() if l.strip()]
    assert rc == 2 and len(lines) == 1 and pattern in lines[0], cap.err
    assert lines[0].startswith("error: ")
    assert not out.exists()


@pytest.mark.parametrize("text, pattern", [
    ("grid: [1, 2", "not valid YAML"),
    ("- a\n- b\n", "expected a mapping"),
    ("grids: {levelOutput: [8]}", "unknown key 'grids'"),
    ("grid: {levelOutput: 8}", "non-empty list"),
    ("ranges: {device.r_on: [1]}", "expected [low, high]"),
    ("sample: many", "integer"),
])
def test_bad_sweep_file_is_one_line_exit_2(traces, tmp_path, capsys, text, pattern):
    f = tmp_path / "s.yaml"
    f.write_text(text)
    rc, cap = run(["--traces", str(traces), "--spec", str(f), "--out", str(tmp_path / "o")], capsys)
    lines = [l for l in cap.err.splitlines() if l.strip()]
    assert rc == 2 and len(lines) == 1 and pattern in lines[0] and str(f) in lines[0], cap.err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("args, pattern", [
    (["--sample", "many"], "--sample"),
    (["--method", "sobol"], "--method"),
    (["--grid", "levelOutput=8"], "--out"),
])
def test_bad_command_line_is_one_line_exit_2(traces, tmp_path, capsys, args, pattern):
    full = args if "--out" == pattern else ["--out", str(tmp_path / "o"), *args]
    try:
        rc = sweep.main(["--traces", str(traces), *full])
    except SystemExit as exc:         # argparse's own checks
        rc = exc.code
    assert rc == 2
    lines = [l for l in capsys.readouterr().err.splitlines() if l.strip()]
    assert len(lines) == 1 and pattern in lines[0]
    assert not (tmp_path / "o").exists()


def test_missing_traces_and_missing_file_exit_2(tmp_path):
    (tmp_path / "nope_traces").mkdir()
    (tmp_path / "nope_traces" / "weight1.csv").write_text("0.5,0.25\n")
    for args in (["--traces", str(tmp_path / "nope")], ["--spec", str(tmp_path / "nope.yaml")],
                 ["--traces", str(tmp_path / "nope_traces")]):
        p = subprocess.run([sys.executable, str(ROOT / "sweep.py"), "--out", str(tmp_path / "o"),
                            "--grid", "levelOutput=8,16", *args], capture_output=True, text=True)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert p.returncode == 2 and len(lines) == 1 and "nope" in lines[0], p.stderr
        assert "Traceback" not in p.stderr and not (tmp_path / "o").exists()


def test_serial_pool_and_ray_agree_bit_for_bit(traces, tmp_path):
    spec = dse.SweepSpec(axes=[dse.parse_grid("memcelltype=1,2"),
                               dse.parse_grid("numRowParallel=16,64"),
                               dse.parse_grid("levelOutput=8,16")],
                         preset="neurosim-1.4", traces=str(traces))
    serial = dse.run_sweep(spec, tmp_path / "serial", workers=1, progress=False, plots=False).table
    pool = dse.run_sweep(spec, tmp_path / "pool", workers=2, progress=False, plots=False).table
    assert (serial["status"] == "ok").all()
    assert serial.equals(pool)
    for name in ("serial", "pool"):
        assert (tmp_path / name / "results.parquet").is_file()
    try:
        import ray
    except ImportError:
        pytest.skip("ray is not installed (pip install .[ray]); serial and pool runs agreed")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env=dse._ray_runtime_env())
    try:
        on_ray = dse.run_sweep(spec, tmp_path / "ray", workers=2, use_ray=True, progress=False,
                               plots=False).table
    finally:
        ray.shutdown()
    assert serial.equals(on_ray)
    a = sorted(p.name for p in (tmp_path / "serial" / "points").iterdir())
    assert a == sorted(p.name for p in (tmp_path / "ray" / "points").iterdir())


def test_stage1_runs_once_per_setting_it_reads(tmp_path, capsys):
    out = tmp_path / "res"
    args = ["--out", str(out), "--stage1", "--workers", "2", "--no-plots",
            "--set", "num_images=24", "--set", "batch_size=24", "--set", "operationmode=2",
            "--grid", "levelOutput=8,32", "--grid", "array.cols_per_adc=4,8",
            "--objectives", "hardware_accuracy:max,area_mm2:min"]
    rc, cap = run(args, capsys)
    assert rc == 0, cap.err
    df = pd.read_parquet(out / "results.parquet")
    assert len(df) == 4 and (df["status"] == "ok").all(), df["error"].tolist()
    # the ADC resolution is read by stage 1, the column multiplexing is not: two runs
    assert len(list((out / "stage1").iterdir())) == 2
    assert cap.err.count("stage 1 done") == 2
    for lvl, grp in df.groupby("levelOutput"):
        assert grp["hardware_accuracy"].nunique() == 1
        assert grp["area_mm2"].nunique() == 2
    assert df["hardware_accuracy"].between(0, 1).all()
    rc, cap = run(args, capsys)          # resumed: stage 1 and stage 2 both reused
    assert rc == 0 and "(0 now, 4 from" in cap.out


def test_out_never_a_foreign_or_input_folder(traces, tmp_path, capsys):
    """A folder holding files no sweep wrote, or the trace folder itself, is refused up front
    and left exactly as it was."""
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "results.csv").write_text("my own table\n")
    before = sorted(p.name for p in Path(traces).iterdir()) if Path(traces).is_dir() else None
    for out, pattern in ((mine, "no sweep wrote"), (Path(traces), "overlaps the input"),
                         (Path(traces) / "res", "overlaps the input")):
        rc, cap = run(["--traces", str(traces), "--out", str(out), "--grid", "levelOutput=8"],
                      capsys)
        lines = [l for l in cap.err.splitlines() if l.strip()]
        assert rc == 2 and len(lines) == 1 and pattern in lines[0], cap.err
    assert (mine / "results.csv").read_text() == "my own table\n"
    assert sorted(p.name for p in mine.iterdir()) == ["results.csv"]
    if before is not None:
        assert sorted(p.name for p in Path(traces).iterdir()) == before
