"""The one declaration of the estimate's figures (figures.py): the records, the report's
columns and the chip totals are derived from it, and they keep NeuroSim's results.json keys
and order."""
import json
from dataclasses import dataclass, fields

import pytest

import figures
import report
from conftest import DATA
from test_chip_reference import run_case, trace_cache  # noqa: F401  (fixture)


def _reference_results():
    for folder in ("neurosim14", "neurosim15"):
        for case in sorted(p for p in (DATA / folder).iterdir() if p.is_dir()):
            yield case.name, json.loads((case / "results.json").read_text())


@pytest.mark.parametrize("name,ref", list(_reference_results()))
def test_report_keys_are_neurosims_in_its_order(name, ref):
    layer_keys = [k for k in ref["layers"][0] if k != "layer"]
    assert [k for k, _, _ in report.LAYER_COLUMNS] == layer_keys
    chip_keys = ([k for k, _ in report.AREA_COLUMNS]
                 + (["clock_period_ns"] if "clock_period_ns" in ref["chip"] else [])
                 + [k for k, _, _ in report.CHIP_COLUMNS])
    assert chip_keys == list(ref["chip"])


def test_declaration_is_consistent():
    names = [f.name for f in figures.FIGURES]
    assert len(names) == len(set(names)) == 14
    assert sorted(f.name for f in figures.CHIP_FIGURES) == sorted(names)
    scale = {"s": 1e9, "J": 1e12, "W": 1e6, "m^2": 1e12}
    for f in figures.FIGURES + figures.AREA_FIGURES:
        assert f.scale == scale[f.unit]
    # the sub-array figures and the summed figures of each category
    from Array import ReadCost
    assert set(ReadCost.FIGURES) == {f.name for f in fields(ReadCost)} - {"leakage", "leakage_sram_in_use"}
    assert figures.figure_for("energy", "adc").name == "energy_adc"
    assert figures.figure_for("latency", "buffer").name == "buffer_latency"
    with pytest.raises(KeyError, match="categories"):
        figures.figure_for("energy", "adder")


def test_records_must_carry_every_figure():
    with pytest.raises(TypeError, match="missing .*energy_adc"):
        @figures.carried_by([f.name for f in figures.CIRCUIT_FIGURES])
        @dataclass
        class Short:
            read_latency: float = 0.0


def test_perf_combines_side_by_side_and_charges_categories():
    from Tile import Perf
    a, b = Perf(read_latency=2.0, energy_adc=1.0, read_dynamic_energy=1.0, latency_adc=2.0), \
        Perf(read_latency=3.0, energy_adc=0.5, read_dynamic_energy=0.5, latency_adc=1.0)
    a.add_parallel(b)
    assert (a.read_latency, a.latency_adc, a.energy_adc, a.read_dynamic_energy) == (3.0, 2.0, 1.5, 1.5)
    a.charge("accum", 0.25, 4.0)
    assert (a.read_latency, a.latency_accum, a.read_dynamic_energy, a.energy_accum) == (3.25, 0.25, 5.5, 4.0)
    assert a.latency_adc == 2.0 and a.energy_other == 0.0
    a.charge("buffer", 1.0, 2.0)        # a part of "other"
    assert (a.buffer_latency, a.latency_other, a.read_latency) == (1.0, 1.0, 4.25)
    assert (a.buffer_dynamic_energy, a.energy_other, a.read_dynamic_energy) == (2.0, 2.0, 7.5)
    s = {"read_latency": 5.0, "read_latency_adc": 1.0, "read_latency_accum": 0.0,
         "read_latency_other": 4.0, "read_dynamic_energy": 2.0, "read_dynamic_energy_adc": 1.0,
         "read_dynamic_energy_accum": 0.5, "read_dynamic_energy_other": 0.5}
    c = Perf(read_latency=1.0, read_dynamic_energy=1.0)
    c.add_subarray(s)
    assert (c.read_latency, c.read_dynamic_energy, c.energy_accum) == (5.0, 3.0, 0.5)
    c.add_subarray(s, side_by_side=False)
    assert (c.read_latency, c.read_dynamic_energy) == (5.0, 2.0)


@pytest.mark.parametrize("case", ["small_default", "small_layerbylayer"])
def test_chip_totals_combine_the_layers(case, trace_cache):  # noqa: F811
    """Pipelined layers work side by side (the slowest layer's latency, every energy
    added); layer by layer, latencies add too."""
    case_dir = DATA / "neurosim14" / case
    _, est = run_case(case_dir, trace_cache(case_dir))
    pipeline = est.floorplan.pipeline
    assert pipeline == (case == "small_default")
    for f in figures.FIGURES:
        values = [getattr(lf, f.name) for lf in est.layers]
        if f.unit == "s" and pipeline:
            want = max(values)
        else:
            want = 0.0
            for v in values:
                want += v
        assert est.chip[f.name] == want, f.name


@pytest.mark.parametrize("case", ["small_default", "small_rram_sequential_cb2", "small_sar_adc"])
def test_breakdown_adds_up(case, trace_cache):  # noqa: F811
    """Each layer's dynamic energy is the sum of its ADC / accumulation / other split, and
    the buffer and interconnect energies lie inside "other" (figures.PART_OF)."""
    case_dir = DATA / "neurosim14" / case
    _, est = run_case(case_dir, trace_cache(case_dir))
    total = figures.figure_for("energy", "all").name
    for lf in est.layers:
        split = [getattr(lf, figures.figure_for("energy", c).name) for c in figures.BREAKDOWN]
        assert sum(split) == pytest.approx(getattr(lf, total), rel=1e-12)
        for parent in set(figures.PART_OF.values()):
            inside = sum(getattr(lf, figures.figure_for("energy", c).name)
                         for c, p in figures.PART_OF.items() if p == parent)
            assert 0 < inside <= getattr(lf, figures.figure_for("energy", parent).name) * (1 + 1e-12)
