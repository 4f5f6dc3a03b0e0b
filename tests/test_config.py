"""The shared configuration: defaults, presets, NeuroSim names, files and clean failures."""
import json
import subprocess
import sys

import pytest

import inferenceConfig as ic
from conftest import DATA, ROOT


def test_project_default_is_rram_1t1r_sequential_22nm():
    c = ic.Config().validate()
    assert (c.device.memory_type, c.device.access_type) == ("RRAM", "1T1R")
    assert c.array.operation_mode == "sequential"
    assert (c.technology.node_nm, c.array.rows, c.array.cols) == (22, 128, 128)
    assert c.array.effective_rows_parallel == 1


def test_neurosim_preset_matches_shipped_param_cpp():
    c = ic.load_config("neurosim-1.4")
    v = c.neurosim_values()
    expected = dict(memcelltype=1, operationmode=2, technode=22, deviceroadmap=2, numRowSubArray=128,
                    numColSubArray=128, numRowParallel=128, levelOutput=32, cellBit=1, synapseBit=8,
                    numBitInput=8, novelMapping=True, pipeline=True, globalBusType=False,
                    globalBufferType=False, tileBufferType=False, peBufferType=False, validated=True,
                    SARADC=False, currentMode=True, speedUpDegree=8, numColMuxed=8, reLu=True,
                    chipActivation=True, synchronous=True, inputtoggle=0.18, outputtoggle=0.5)
    assert {k: v[k] for k in expected} == expected


def test_set_applies_on_top_of_preset_and_accepts_all_name_forms():
    c = ic.load_config("neurosim-1.4", None, [
        "memcelltype=2", "operationmode=1", "technode=32", "levelOutput=16", "novelMapping=false",
        "globalBusType=true", "numRowSubArray=256", "numColSubArray=256", "numRowParallel=32",
        "cellBit=2", "synapseBit=8", "numBitInput=6", "array.cols_per_adc=16", "d2d_sigma=0.05"])
    assert c.device.memory_type == "RRAM" and c.array.operation_mode == "sequential"
    assert c.technology.node_nm == 32 and c.precision.adc_levels == 16
    assert c.architecture.novel_mapping is False and c.architecture.global_bus == "htree"
    assert (c.array.rows, c.array.cols, c.array.rows_parallel) == (256, 256, 32)
    assert c.device.cell_bit == 2 and c.precision.input_bits == 6
    assert c.array.cols_per_adc == 16 and c.nonideal.d2d_sigma == 0.05
    assert c.cells_per_weight == 4


@pytest.mark.parametrize("case_dir", sorted(p for p in (DATA / "neurosim14").iterdir() if p.is_dir()),
                         ids=lambda p: p.name)
def test_every_reference_case_replays_with_neurosim_names(case_dir):
    """Each reference case's Param.cpp changes and argv, given to --set in NeuroSim's own
    names, produce the configuration NeuroSim ran."""
    meta = json.loads((case_dir / "config.json").read_text())
    settings = [f"{k}={v['used']}" for k, v in meta["param_changes_vs_shipped_Param.cpp"].items()]
    settings += [f"{k}={v}" for k, v in meta["argv"].items()]
    c = ic.load_config("neurosim-1.4", None, settings)
    values = c.neurosim_values()
    for k, v in meta["argv"].items():
        assert values[k] == v
    for k, v in meta["param_changes_vs_shipped_Param.cpp"].items():
        used = v["used"]
        expected = {"true": True, "false": False}.get(used.lower(), used)
        if not isinstance(expected, bool):
            expected = type(values[k])(float(expected)) if not isinstance(values[k], bool) else bool(int(expected))
        assert values[k] == expected, k


def test_config_file_json_and_yaml(tmp_path):
    j = tmp_path / "c.json"
    j.write_text(json.dumps({"device": {"cell_bit": 2}, "technode": 32, "array.rows": 64}))
    c = ic.load_config(None, str(j))
    assert (c.device.cell_bit, c.technology.node_nm, c.array.rows) == (2, 32, 64)
    y = tmp_path / "c.yaml"
    y.write_text("precision:\n  adc_levels: 8\nmemcelltype: 3\n")
    c = ic.load_config(None, str(y), ["adc_levels=16"])
    assert c.device.memory_type == "FeFET" and c.precision.adc_levels == 16


def test_to_dict_round_trip():
    c = ic.load_config("neurosim-1.4", None, ["cellBit=1", "technode=65", "run.num_images=10"])
    again = ic.Config.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c


@pytest.mark.parametrize("preset, setting, words", [
    (None, "numRowSubArray=100", ["array.rows", "100", "power of two"]),
    (None, "technode=23", ["technology.node_nm", "23", "130"]),
    (None, "memcelltype=9", ["memcelltype", "1 (SRAM)"]),
    (None, "operationmode=3", ["operationmode", "not supported"]),
    ("neurosim-1.4", "cellBit=4", ["device.cell_bit", "SRAM"]),
    (None, "nosuchthing=1", ["unknown setting", "nosuchthing"]),
    (None, "cellbit=2", ["Did you mean", "cellBit"]),
    (None, "device.r_off=10", ["device.r_off", "greater than"]),
    (None, "numRowParallel=512", ["array.rows_parallel", "512"]),
    (None, "stuck_on_rate=1.5", ["nonideal.stuck_on_rate", "fraction"]),
    (None, "pipeline=maybe", ["architecture.pipeline", "true or false"]),
    (None, "clkFreq=nan", ["architecture.clock_freq_hz", "NaN"]),
    (None, "adc_full_scale=-3", ["precision.adc_full_scale", "positive"]),
    (None, "neurosim_output_range=0", ["run.neurosim_output_range", "positive"]),
])
def test_bad_values_name_field_value_and_choices(preset, setting, words):
    with pytest.raises(ic.ConfigError) as err:
        ic.load_config(preset, None, [setting])
    for w in words:
        assert w in str(err.value)


def test_rram_below_22nm_and_hp_below_22nm_rejected():
    with pytest.raises(ic.ConfigError, match="RRAM"):
        ic.load_config(None, None, ["technode=14"])
    with pytest.raises(ic.ConfigError, match="technology.roadmap"):
        ic.load_config("neurosim-1.4", None, ["technode=7", "deviceroadmap=1"])
    with pytest.raises(ic.ConfigError, match="weight_bits"):
        ic.load_config(None, None, ["cellBit=4", "synapseBit=2"])


@pytest.mark.parametrize("script", ["Chip.py", "inferenceConfig.py"])
def test_cli_bad_set_exits_2_with_one_clear_line_and_writes_nothing(script, tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / script), "--set", "numRowSubArray=100"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120)
    assert proc.returncode == 2
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "array.rows" in lines[0] and "power of two" in lines[0]
    assert list(tmp_path.iterdir()) == []


def test_cli_bad_config_file_exits_2(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    proc = subprocess.run([sys.executable, str(ROOT / "inferenceConfig.py"), "--config", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "cannot parse" in proc.stderr


def test_adc_full_scale_reaches_the_stage1_hardware_model():
    from cim.hardware import HardwareParams
    c = ic.load_config(None, None, ["operationmode=2", "adc_full_scale=62", "levelOutput=32"])
    hw = HardwareParams.from_config(c)
    assert hw.adc_full_scale == 62.0
    assert HardwareParams.from_config(ic.load_config()).adc_full_scale is None
