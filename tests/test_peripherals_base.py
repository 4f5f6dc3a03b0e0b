"""The shared circuit interface: context construction and the vectorized Horowitz delay."""
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
