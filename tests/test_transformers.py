"""Attention models in both stages: interception of dynamic products (cim/dynamic.py), the
operation list of the manifest, the digital MAC unit, and the cost relations of
operations.py (dynamic products ~ T^2, weight layers ~ T, crossbar pays write energy)."""
import json
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import Chip
import inference_sim
from cim import HardwareParams, convert_model
from cim.dynamic import DynamicOps, quantize_per_image

torch.set_num_threads(1)


class TinyAttention(nn.Module):
    def __init__(self, sdpa=False):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.out = nn.Linear(8, 3)
        self.sdpa = sdpa

    def forward(self, x):                       # x [B, T, 8]
        q, k, v = self.qkv(x).chunk(3, -1)
        if self.sdpa:
            o = F.scaled_dot_product_attention(q, k, v)
        else:
            o = torch.matmul(F.softmax(torch.matmul(q, k.transpose(-2, -1)) / 8 ** 0.5, -1), v)
        return self.out(F.layer_norm(o + x, (8,))).mean(1)


def _run(model, params, mode, dyn_mode="digital", x=None, sfu_bits=None):
    torch.manual_seed(0)
    x = torch.randn(3, 5, 8) if x is None else x
    ctx = convert_model(model, params)
    ctx.set_act_ranges({l.name: 4.0 for l in ctx.layers})
    dyn = DynamicOps(model, ctx, dyn_mode, sfu_bits)
    ctx.begin_pass()
    with dyn, ctx.use(mode), torch.no_grad():
        out = model(x)
    return out, dyn, ctx


def test_digital_product_is_the_exact_product_of_quantized_operands():
    torch.manual_seed(1)
    a, b = torch.randn(2, 3, 4, 5), torch.randn(2, 3, 5, 6)
    model = nn.Linear(1, 1)                      # a model to hang the context on
    ctx = convert_model(model, HardwareParams())
    dyn = DynamicOps(model, ctx, "digital")
    with dyn, ctx.use("quantized"):
        got = torch.matmul(a, b)
    ca, sa = quantize_per_image(a, 8)
    cb, sb = quantize_per_image(b, 8)
    want = torch.einsum("bhik,bhkj->bhij", ca.double(), cb.double()) * (sa * sb).double()
    assert torch.allclose(got.double(), want, rtol=1e-6, atol=1e-9)
    assert [op["kind"] for op in dyn.operations] == ["dynamic_matmul"]
    assert dyn.operations[0]["macs"] == 3 * 4 * 5 * 6


def test_crossbar_equals_digital_on_an_ideal_array_and_differs_with_variation():
    ideal = HardwareParams(sequential=False, rows_parallel=128, adc_levels=1024)
    torch.manual_seed(2)
    m = TinyAttention()
    ref, _, _ = _run(m, ideal, "hardware", "digital")
    torch.manual_seed(2)
    got, dyn, _ = _run(TinyAttention(), ideal, "hardware", "crossbar")
    assert torch.equal(ref, got)
    noisy = HardwareParams(sequential=False, rows_parallel=128, adc_levels=1024, d2d_sigma=0.3,
                           on_off_ratio=10.0)
    torch.manual_seed(2)
    base, _, _ = _run(TinyAttention(), noisy, "hardware", "digital")
    torch.manual_seed(2)
    varied, _, _ = _run(TinyAttention(), noisy, "hardware", "crossbar")
    assert not torch.equal(base, varied)


def test_operations_are_recorded_in_order_sdpa_included():
    for sdpa in (False, True):
        torch.manual_seed(3)
        _, dyn, ctx = _run(TinyAttention(sdpa), HardwareParams(), "hardware")
        ops = dyn.manifest_operations({id(l): k for k, l in enumerate(ctx.order, 1)})
        assert [o["kind"] for o in ops] == ["linear", "dynamic_matmul", "softmax",
                                            "dynamic_matmul", "add", "layernorm", "linear"]
        qk = ops[1]
        assert (qk["m"], qk["k"], qk["n"], qk["groups"]) == (5, 8, 5, 1)
        assert len(qk["stats"]["a_bit_activity"]) == 8 and len(qk["stats"]["b_bit_activity"]) == 8
        assert ops[0]["ifm"] == [5, 1] and ops[0]["positions"] == 5      # T x 1 feature map


def test_sfu_bits_quantize_the_special_functions():
    torch.manual_seed(4)
    full, _, _ = _run(TinyAttention(), HardwareParams(), "quantized")
    torch.manual_seed(4)
    coarse, _, _ = _run(TinyAttention(), HardwareParams(), "quantized", sfu_bits=3)
    assert not torch.allclose(full, coarse)


# ---- the digital MAC unit, by hand ---------------------------------------------------------

def test_digital_mac_unit_hand_computed():
    from inferenceConfig import Config
    from peripherals.adder import Adder
    from peripherals.base import Context
    from peripherals.dff import DFF
    from peripherals.digital_units import DigitalMACUnit, DigitalSettings
    import FormulaBindings as fb
    from peripherals.dff import INV, MIN_W, NAND
    ctx = Context.from_config(Config())
    clk = 1e9
    s = DigitalSettings(a_bits=2, b_bits=2, mac_lanes=4, clock_hz=clk)
    u = DigitalMACUnit(ctx, s)

    def add_e(bits, n):
        a = Adder(ctx)
        a.initialize(bits, n, clk)
        return float(a.calculate_power(1, n).dynamic_energy)

    def reg_e(bits):
        d = DFF(ctx)
        d.initialize(bits, clk)
        return float(d.calculate_power(1, bits, False).dynamic_energy)

    t = ctx.tech
    F_ = t.featureSize
    wn, wp = fb.enlarge_size(2 * MIN_W * F_, t.pnSizeRatio * MIN_W * F_, t)
    _, h_nand, _ = fb.gate_area(NAND, 2, wn, wp, t)
    _, h_inv, _ = fb.gate_area(INV, 1, MIN_W * F_, t.pnSizeRatio * MIN_W * F_, t)
    cn = fb.gate_capacitance(NAND, 2, wn, wp, t, h_nand)
    ci = fb.gate_capacitance(INV, 1, MIN_W * F_, t.pnSizeRatio * MIN_W * F_, t, h_inv)
    # 4 lanes of 2x2 multipliers: 16 partial-product gates, 4 one-row 2-bit adders
    mult = add_e(2, 4) + 16 * 0.5 * (cn[0] + cn[1] + ci[0] + ci[1]) * t.vdd ** 2
    # pipeline: 4 products of 4 bits -> 2 sums of 5 bits -> 1 sum of 6 bits
    cycle = mult + reg_e(16) + add_e(5, 2) + reg_e(10) + add_e(6, 1) + reg_e(6)
    acc = add_e(22, 1) + reg_e(22)           # 6 + 16 guard bits
    c = u.matmul(groups=1, m=1, k=4, n=1)     # one dot product of 4: one chunk
    assert c.count == 4
    assert c.energy_j == pytest.approx(cycle + acc, rel=1e-12)
    assert c.latency_s == pytest.approx((1 + 4) * u.cycle_s, rel=1e-12)   # 1 chunk + depth 4
    c5 = u.matmul(groups=1, m=1, k=5, n=1)    # 5 products: two chunks, two accumulations
    assert c5.energy_j == pytest.approx(5 * cycle / 4 + 2 * acc, rel=1e-12)
    assert u.cycle_s >= 1 / clk


# ---- both stages on a toy causal transformer -------------------------------------------------

def _stage1(tmp_path, name, seq_len):
    out = tmp_path / name
    rc = inference_sim.main(["--set", "model=gpt2_tiny", "--random-init", "--set", "num_images=1",
                             "--set", f"seq_len={seq_len}", "--set", f"output_dir={out}",
                             "--no-progress"])
    assert rc == 0
    return out


def _stage2(folder, tmp_path, mode):
    js = tmp_path / f"{folder.name}_{mode}.json"
    rc = Chip.main(["--traces", str(folder), "--set", f"dynamic_matmul={mode}", "--quiet",
                    "--json", str(js)])
    assert rc == 0
    return json.loads(js.read_text())["operations"]


@pytest.fixture(scope="module")
def toy(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("toy")
    f16, f32 = _stage1(tmp, "t16", 16), _stage1(tmp, "t32", 32)
    return {(t, m): _stage2(f, tmp, m) for t, f in ((16, f16), (32, f32))
            for m in ("digital", "crossbar")}, f16


def test_manifest_lists_every_operation(toy):
    _, folder = toy
    m = json.loads((folder / "manifest.json").read_text())
    kinds = [o["kind"] for o in m["operations"]]
    for k in ("linear", "dynamic_matmul", "softmax", "layernorm", "gelu", "add"):
        assert k in kinds
    assert kinds.count("dynamic_matmul") == 4                 # 2 layers x (Q.K^T, P.V)
    assert m["layers"][0]["ifm"] == [16, 1] and m["layers"][0]["neurosim"][:2] == [16, 1]
    dyn = [o for o in m["operations"] if o["kind"] == "dynamic_matmul"]
    assert all((folder / o["file"]).is_file() for o in dyn)


def test_dynamic_products_grow_as_T_squared_weight_layers_as_T(toy):
    ops, _ = toy
    for mode in ("digital", "crossbar"):
        a, b = ops[(16, mode)]["by_kind"], ops[(32, mode)]["by_kind"]
        assert b["dynamic_matmul"]["count"] == 4 * a["dynamic_matmul"]["count"]
        r_dyn = b["dynamic_matmul"]["energy_pJ"] / a["dynamic_matmul"]["energy_pJ"]
        r_lin = b["linear"]["energy_pJ"] / a["linear"]["energy_pJ"]
        # every linear runs on all T tokens except the head (last token only)
        assert 1.99 < b["linear"]["count"] / a["linear"]["count"] < 2.0
        assert 1.6 < r_lin < 2.4, r_lin
        assert r_dyn > 1.2 * r_lin and r_dyn < 4.4, (mode, r_dyn)
    # crossbar: the read grows as T^2 (per MAC), the writes as T (K x N operands of T x d_h)
    a, b = ops[(16, "crossbar")]["by_kind"], ops[(32, "crossbar")]["by_kind"]
    read = [v["dynamic_matmul"]["energy_pJ"] - v["dynamic_matmul"]["write_energy_pJ"] for v in (a, b)]
    # (x 4 up to the read energy per MAC of the weight layers, which depends a little on data)
    assert read[1] / read[0] == pytest.approx(4.0, rel=0.05)
    r_write = b["dynamic_matmul"]["write_energy_pJ"] / a["dynamic_matmul"]["write_energy_pJ"]
    assert 1.6 < r_write < 2.4, r_write
    # digital: energy per MAC is a constant, so ~4x up to the per-chunk accumulations
    a, b = ops[(16, "digital")]["by_kind"], ops[(32, "digital")]["by_kind"]
    assert 3.0 < b["dynamic_matmul"]["energy_pJ"] / a["dynamic_matmul"]["energy_pJ"] <= 4.0


def test_crossbar_pays_write_energy_digital_none(toy):
    ops, _ = toy
    assert ops[(16, "digital")]["total"]["write_energy_pJ"] == 0
    w = ops[(16, "crossbar")]["by_kind"]["dynamic_matmul"]["write_energy_pJ"]
    assert w > 0
    assert w < ops[(16, "crossbar")]["by_kind"]["dynamic_matmul"]["energy_pJ"]
    shares = ops[(16, "digital")]["by_kind"]
    assert sum(v["energy_share"] for v in shares.values()) == pytest.approx(1.0)


def test_old_manifest_without_operations_still_reads(toy, tmp_path):
    import shutil
    _, folder = toy
    old = tmp_path / "old"
    shutil.copytree(folder, old)
    m = json.loads((old / "manifest.json").read_text())
    del m["operations"]
    (old / "manifest.json").write_text(json.dumps(m))
    js = tmp_path / "old.json"
    assert Chip.main(["--traces", str(old), "--quiet", "--json", str(js)]) == 0
    assert "operations" not in json.loads(js.read_text())


def test_bad_operation_list_is_one_error_line(toy, tmp_path, capsys):
    import shutil
    _, folder = toy
    bad = tmp_path / "bad"
    shutil.copytree(folder, bad)
    m = json.loads((bad / "manifest.json").read_text())
    i = next(i for i, o in enumerate(m["operations"]) if o["kind"] == "dynamic_matmul")
    m["operations"][i]["m"] = -3
    (bad / "manifest.json").write_text(json.dumps(m))
    assert Chip.main(["--traces", str(bad), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert f"operation {i + 1}" in err and "'m'" in err and "Traceback" not in err
    assert err.count("\n") == 1


# ---- the shipped ViT ------------------------------------------------------------------------

def test_vit_checkpoint_accuracy_on_a_subset(tmp_path):
    """The shipped ViT on 300 test images: float close to its full-set figure, and hardware
    (default hardware) within half a point of quantized."""
    from conftest import ROOT
    ckpt = ROOT / "checkpoints" / "vit_fmnist.pt"
    assert ckpt.stat().st_size <= 2 << 20
    res = inference_sim.run(*_vit_cfg(tmp_path))
    assert res["float"] >= 0.84, res["float"]
    assert abs(res["hardware"] - res["quantized"]) <= 0.005
    m = json.loads((tmp_path / "vit" / "manifest.json").read_text())
    assert sum(o["kind"] == "dynamic_matmul" for o in m["operations"]) == 6
    # patch 7: 4 x 4 = 16 tokens; Q.K^T per head [16 x 16] . [16 x 16]
    assert m["layers"][1]["ifm"] == [16, 1]
    qk = next(o for o in m["operations"] if o["kind"] == "dynamic_matmul")
    assert (qk["m"], qk["k"], qk["n"], qk["groups"]) == (16, 16, 16, 4)


def _vit_cfg(tmp_path):
    from inferenceConfig import config_from_args
    args = inference_sim.build_parser().parse_args(
        ["--set", "model=vit_fmnist", "--set", "num_images=300", "--set",
         f"output_dir={tmp_path / 'vit'}", "--no-progress"])
    return config_from_args(args), args


def test_neurosim_csv_holds_token_layers_and_says_dynamic_products_are_missing(tmp_path, capsys):
    out = tmp_path / "ns"
    rc = inference_sim.main(["--set", "model=gpt2_tiny", "--random-init", "--set", "num_images=1",
                             "--set", "seq_len=8", "--set", f"output_dir={out}", "--neurosim-csv",
                             "--no-progress"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "NeuroSim cannot express the dynamic matrix products" in text
    rows = (out / "neurosim" / "network.csv").read_text().split()
    assert rows[0].split(",")[:3] == ["8", "1", "64"]      # T x 1 feature map of 64 channels


# ---- the digital units in the chip totals, and their registry -------------------------------

def _chip_json(folder, tmp_path, *extra):
    js = tmp_path / f"{folder.name}_{len(list(tmp_path.iterdir()))}.json"
    assert Chip.main(["--traces", str(folder), "--quiet", "--json", str(js), *extra]) == 0
    return json.loads(js.read_text())


def test_chip_area_and_leakage_include_the_units_the_network_uses(toy, tmp_path):
    import shutil
    _, folder = toy
    plain = tmp_path / "plain"                 # the same traces without the operation list
    shutil.copytree(folder, plain)
    m = json.loads((plain / "manifest.json").read_text())
    del m["operations"]
    (plain / "manifest.json").write_text(json.dumps(m))
    base = _chip_json(plain, tmp_path)["chip"]
    assert "digital_units_area_um2" not in base
    for mode in ("digital", "crossbar"):
        r = _chip_json(folder, tmp_path, "--set", f"dynamic_matmul={mode}")
        chip, units = r["chip"], r["operations"]["chip_units"]
        mac = "digital_mac" if mode == "digital" else "crossbar_write_read"
        assert set(units) == {mac, "special_function"}
        assert units["special_function"]["area_um2"] > 0 and units[mac]["area_um2"] > 0
        assert all(u["leakage_uW"] > 0 for u in units.values())
        added = sum(u["area_um2"] for u in units.values())
        assert chip["area_um2"] == pytest.approx(base["area_um2"] + added, rel=1e-12)
        assert chip["area_um2"] > base["area_um2"]
        logic = chip["digital_units_area_um2"]
        if mode == "digital":
            assert logic == pytest.approx(added, rel=1e-12)
            assert r["operations"]["units"]["mac_area_m2"] * 1e12 == pytest.approx(
                units[mac]["area_um2"])
        else:      # written cells are memory, apart from the logic
            assert chip["dynamic_cells_area_um2"] == pytest.approx(units[mac]["area_um2"])
            assert logic == pytest.approx(units["special_function"]["area_um2"])
        leak = sum(u["leakage_uW"] for u in units.values())
        assert chip["leakage_power_uW"] == pytest.approx(base["leakage_power_uW"] + leak,
                                                         rel=1e-9)
        t = r["operations"]["total"]["latency_ns"] * 1e-9
        assert chip["leakage_energy_pJ"] == pytest.approx(
            base["leakage_energy_pJ"] + leak * 1e-6 * t * 1e12, rel=1e-9)
        # the read energy and the performance figures stay those of the weight layers
        assert chip["read_dynamic_energy_pJ"] == pytest.approx(base["read_dynamic_energy_pJ"])


def test_digital_units_are_registry_circuits():
    from peripherals.digital_units import (DIGITAL_UNITS, DigitalUnitKind, get_digital_unit,
                                           register_digital_unit, unit_for)
    assert list(DIGITAL_UNITS) == ["digital_mac", "crossbar_write_read", "special_function"]
    assert unit_for("dynamic_matmul", "digital").name == "digital_mac"
    assert unit_for("dynamic_matmul", "crossbar").name == "crossbar_write_read"
    for kind in ("softmax", "layernorm", "gelu", "add"):
        assert unit_for(kind).name == "special_function"
    with pytest.raises(ValueError, match="valid: digital_mac, crossbar_write_read, special_function"):
        get_digital_unit("tensor_core")
    with pytest.raises(ValueError, match="valid: digital, crossbar"):
        unit_for("dynamic_matmul", "analog")
    with pytest.raises(ValueError, match="no digital unit executes 'relu'"):
        unit_for("relu")
    with pytest.raises(ValueError, match="registered twice"):
        register_digital_unit(DIGITAL_UNITS["digital_mac"])
    with pytest.raises(ValueError, match="is taken"):
        register_digital_unit(DigitalUnitKind("other", "", ("dynamic_matmul",), object,
                                              dynamic_matmul="digital"))
    assert "other" not in DIGITAL_UNITS


# ---- which traces a plain `python Chip.py` reads -------------------------------------------

def test_plain_chip_reads_the_stage1_folder_written_last(toy, tmp_path, monkeypatch, capsys):
    import os
    import shutil
    _, folder = toy
    for name in ("layer_record_a", "layer_record_b"):
        shutil.copytree(folder, tmp_path / name)
    (tmp_path / "notes").mkdir()                               # not a trace folder
    (tmp_path / "notes" / "manifest.json").write_text('{"format": "something else"}')
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "manifest.json").write_text("{not json")
    monkeypatch.chdir(tmp_path)

    def stamp(name, t):
        os.utime(tmp_path / name / "manifest.json", (t, t))

    def plain(*extra):
        capsys.readouterr()
        rc = Chip.main(["--quiet", *extra])
        out, err = capsys.readouterr()
        return rc, out, err

    stamp("layer_record_a", 2_000_000_000)
    stamp("layer_record_b", 1_900_000_000)
    stamp("notes", 2_100_000_000)
    stamp("broken", 2_100_000_000)
    rc, out, err = plain()
    assert rc == 0 and err == ""
    note = [l for l in out.splitlines() if "written last" in l]
    assert len(note) == 1 and "layer_record_a/" in note[0] and "2033-05-18" in note[0]
    assert "traces: layer_record_a " in out and "Operations" in out
    stamp("layer_record_b", 2_050_000_000)
    rc, out, err = plain()
    assert rc == 0 and "reading layer_record_b/" in out and "traces: layer_record_b " in out
    # an explicit folder or model setting wins over the newest folder
    rc, out, err = plain("--traces", "layer_record_a")
    assert rc == 0 and "written last" not in out and "traces: layer_record_a " in out
    rc, out, err = plain("--set", "output_dir=layer_record_a")
    assert rc == 0 and "written last" not in out and "traces: layer_record_a " in out
    rc, out, err = plain("--set", "model=gpt2_tiny")       # its folder is not here
    assert rc == 2 and "layer_record_gpt2_tiny" in err and out == ""
    assert err.count("\n") == 1
    # the folder written last is broken: one error line naming it
    (tmp_path / "layer_record_b" / "layer1.npz").write_bytes(b"not a zip")
    rc, out, err = plain()
    assert rc == 2 and "layer_record_b" in err and err.count("\n") == 1 and out == ""
    # nothing from stage 1 here: the default model's folder, as before
    for name in ("layer_record_a", "layer_record_b"):
        shutil.rmtree(tmp_path / name)
    rc, out, err = plain()
    assert rc == 2 and "layer_record_fmnist_cnn" in err and err.count("\n") == 1
