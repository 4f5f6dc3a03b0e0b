"""The shared circuit interface: context construction, the result records (Layout, Cost,
sum_areas) and the vectorized Horowitz delay."""
import numpy as np
import pytest

import FormulaBindings as fb
import inferenceConfig as ic
from peripherals.base import Circuit, Context, horowitz


@pytest.mark.parametrize("tr", [1e-12, 1e-11, 1e-10, 1e-9])
@pytest.mark.parametrize("ramp", [1e20, 1e11, 1e10, 1e9])
def test_numpy_horowitz_equals_cpp(tr, ramp):
    d, r = horowitz(tr, ramp)
    d_ref, r_ref = fb.horowitz(tr, 0.5, ramp)
    assert d == pytest.approx(d_ref, rel=1e-14) and r == pytest.approx(r_ref, rel=1e-14)


def test_horowitz_broadcasts():
    tr = np.array([[1e-12], [1e-10]])
    ramp = np.array([1e20, 1e10, 1e9])
    d, r = horowitz(tr, ramp)
    assert d.shape == (2, 3)
    for i in range(2):
        for j in range(3):
            assert d[i, j] == pytest.approx(fb.horowitz(float(tr[i, 0]), 0.5, float(ramp[j]))[0], rel=1e-14)


def test_context_follows_the_configuration():
    ctx = Context.from_config(ic.load_config("neurosim-1.4", None, ["memcelltype=2", "technode=32"]))
    assert ctx.cell.mem_type == "RRAM" and ctx.cell.access == "CMOS"
    assert ctx.tech.featureSize == pytest.approx(32e-9)
    assert ctx.cell.read_voltage == pytest.approx(0.51)
    assert ctx.cell.resistance_avg == pytest.approx((100e3 + 1.7e6) / 2)
    sram = Context.from_config(ic.load_config("neurosim-1.4"))
    assert sram.cell.mem_type == "SRAM" and sram.tech.vdd == pytest.approx(0.85)


def test_circuit_keeps_no_figures_and_needs_initialize():
    c = Circuit(Context.from_param(fb.Param()))
    assert not any(hasattr(c, k) for k in ("area", "height", "width", "read_latency",
                                            "read_dynamic_energy", "leakage"))
    with pytest.raises(RuntimeError, match="initialize"):
        c._require_initialized()


def test_cost_records_add_and_name_their_parts():
    from peripherals.base import NO_COST, AreaPart, Cost, Layout, sum_areas, total
    a = Cost(latency=1e-9, dynamic_energy=2e-12, leakage=3e-6, category="adc",
             parts={"adder_latency": 4e-10})
    b = Cost(latency=np.array([1e-9, 2e-9]), dynamic_energy=1e-12, category="adc")
    s = a + b
    np.testing.assert_allclose(s.latency, [2e-9, 3e-9])
    assert s.dynamic_energy == pytest.approx(3e-12) and s.leakage == 3e-6 and s.category == "adc"
    assert (a + Cost(category="accum")).category == "other"
    assert total([]) == NO_COST and total([a, a]).leakage == pytest.approx(6e-6)
    assert a.part("adder_latency") == 4e-10
    with pytest.raises(KeyError, match="adder_latency"):
        a.part("missing")
    with pytest.raises(TypeError):
        a.parts["x"] = 1.0                      # the record is read-only
    import dataclasses
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.latency = 0.0
    assert Layout(1.0, 2.0, 2.0).area == 2.0
    out = sum_areas([AreaPart("x", 3.0, {"adc": 2.0, "array": 1.0}), AreaPart("y", 1.0, {"ic": 1.0})])
    assert out["area"] == 4.0 and out["adc"] == 2.0 and out["ic"] == 1.0 and out["x"] == 3.0
    with pytest.raises(ValueError, match="valid: ic, adc, accum, other, array"):
        sum_areas([AreaPart("z", 1.0, {"memory": 1.0})])
