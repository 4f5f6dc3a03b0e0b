"""Property tests of FormulaBindings over valid inputs (hypothesis, deterministic).

Checked: outputs finite and positive; monotonic in transistor width (gate cap, gate area,
leakage and transconductance non-decreasing, on-resistance non-increasing); unit consistency
(area == height * width, R_on * I_on * W_eff == multiplier * vdd, Horowitz delay >= tr*ln2 and
ramp_output * delay == 0.5); argument validation.

Not asserted on purpose: drain/output capacitance is not monotonic in width (the planar
sidewall term drops when a device goes from 2 to 3 fingers, as in the reference), and the
on-current is not monotonic in temperature on FinFET/GAA nodes (the 300 K IRDS point is
below the 310 K table entry).
"""
import math
import pickle

import pytest
from hypothesis import given, settings, strategies as st

import FormulaBindings as fb

PLANAR = (130, 90, 65, 45, 32, 22)
MULTIGATE = (14, 10, 7, 5, 3, 2, 1)
COMBOS = [(n, r) for n in PLANAR for r in ("LSTP", "HP")] + [(n, "LSTP") for n in MULTIGATE]
TECHS = {combo: fb.Technology(*combo) for combo in COMBOS}

FAST = settings(max_examples=60, deadline=None, derandomize=True)

techs = st.sampled_from(sorted(TECHS)).map(TECHS.get)
kinds = st.sampled_from([fb.TransistorKind.NMOS, fb.TransistorKind.PMOS])
gate_types = st.sampled_from([fb.GateType.INV, fb.GateType.NOR, fb.GateType.NAND])
widths_F = st.floats(min_value=0.5, max_value=300.0, allow_nan=False, allow_infinity=False)
scales = st.floats(min_value=1.0, max_value=20.0, allow_nan=False, allow_infinity=False)
temperatures = st.integers(min_value=300, max_value=400)

REL = 1e-12


def positive_finite(x):
    return math.isfinite(x) and x > 0


# --------------------------------------------------------------------------- technology

def test_every_supported_combination_builds():
    for (node, roadmap), tech in TECHS.items():
        assert tech.node_nm == node
        assert tech.roadmap == getattr(fb.Roadmap, roadmap)
        assert len(tech.currentOnNmos) == 101
        assert tech.architecture == ("planar" if node >= 22 else "finfet" if node >= 3 else "gaa")
    assert fb.Technology.supported_nodes(fb.Roadmap.HP) == list(PLANAR)
    assert fb.Technology.supported_nodes(fb.Roadmap.LSTP) == list(PLANAR) + list(MULTIGATE)


@pytest.mark.parametrize("node", MULTIGATE)
def test_hp_below_22nm_is_rejected(node):
    with pytest.raises(ValueError, match="HP"):
        fb.Technology(node, "HP")


@pytest.mark.parametrize("node", [0, 4, 28, 40, 180])
def test_unknown_node_lists_valid_choices(node):
    with pytest.raises(ValueError, match="valid nodes"):
        fb.Technology(node)


def test_bad_names_and_temperatures():
    with pytest.raises(ValueError, match="LSTP"):
        fb.Technology(22, "fast")
    with pytest.raises(ValueError, match="conventional"):
        fb.Technology(22, "LSTP", "TFET")
    for T in (299.0, 401.0, float("nan")):
        with pytest.raises(ValueError, match="temperature"):
            fb.Technology(22, "LSTP", "conventional", T)
    tech = TECHS[(22, "LSTP")]
    with pytest.raises(ValueError):
        fb.on_resistance(1e-7, fb.TransistorKind.NMOS, tech, temperature=250)


def test_enum_and_string_constructors_agree():
    a = fb.Technology(45, fb.Roadmap.HP, fb.TransistorType.conventional, 350)
    b = fb.Technology(45, "hp", "conventional", temperature=350)
    assert a.to_dict() == b.to_dict()
    assert a.temperature == 350
    c = pickle.loads(pickle.dumps(a))
    assert c.to_dict() == a.to_dict() and c.temperature == 350 and c.roadmap == fb.Roadmap.HP
    assert "Technology(45" in repr(a)


def test_default_temperature_is_used():
    hot = fb.Technology(22, "LSTP", temperature=380)
    w = 4 * hot.featureSize
    assert fb.on_resistance(w, fb.TransistorKind.NMOS, hot) == fb.on_resistance(
        w, fb.TransistorKind.NMOS, hot, temperature=380)
    assert fb.gate_leakage(fb.GateType.INV, 1, w, w, hot) == fb.gate_leakage(
        fb.GateType.INV, 1, w, w, hot, temperature=380)


@pytest.mark.parametrize("combo", COMBOS, ids=lambda c: f"{c[0]}nm-{c[1]}")
def test_tables_are_physical(combo):
    tech = TECHS[combo]
    for name in ("currentOnNmos", "currentOnPmos", "currentOffNmos", "currentOffPmos"):
        assert all(positive_finite(v) for v in getattr(tech, name)), name
    for name in ("currentOffNmos", "currentOffPmos"):  # leakage grows with temperature
        table = getattr(tech, name)
        assert all(b >= a for a, b in zip(table, table[1:])), name
    assert tech.vdd > 0 and tech.capIdealGate > 0 and tech.capJunction > 0 and tech.pnSizeRatio >= 1


# --------------------------------------------------------------------------- transistors

@FAST
@given(tech=techs, kind=kinds, w_F=widths_F, k=scales, T=temperatures)
def test_transistor_quantities(tech, kind, w_F, k, T):
    F = tech.featureSize
    w1, w2 = w_F * F, w_F * k * F
    c1, c2 = fb.gate_cap(w1, tech), fb.gate_cap(w2, tech)
    assert positive_finite(c1) and c2 >= c1
    r1 = fb.on_resistance(w1, kind, tech, temperature=T)
    r2 = fb.on_resistance(w2, kind, tech, temperature=T)
    assert positive_finite(r1) and r2 <= r1
    g1, g2 = fb.transconductance(w1, kind, tech), fb.transconductance(w2, kind, tech)
    assert positive_finite(g1) and g2 >= g1
    assert positive_finite(fb.drain_cap(w1, kind, tech))
    # units: R_on * I_on(T) * W_eff == multiplier * vdd
    table = tech.currentOnNmos if kind == fb.TransistorKind.NMOS else tech.currentOnPmos
    current = table[fb.Technology.temperature_index(T)] * fb.effective_channel_width(w1, tech)
    assert r1 * current == pytest.approx(tech.effectiveResistanceMultiplier * tech.vdd, rel=REL)
    r_plain = fb.on_resistance(w1, kind, tech, temperature=T, include_multiplier=False)
    assert r1 / r_plain == pytest.approx(tech.effectiveResistanceMultiplier, rel=REL)
    # the effective width never falls below the drawn width on multi-gate nodes
    assert fb.effective_channel_width(w1, tech) >= (w1 if tech.is_planar else 0)


# --------------------------------------------------------------------------- gates

@FAST
@given(tech=techs, gtype=gate_types, n_in=st.integers(1, 6), wn_F=widths_F, wp_F=widths_F, k=scales,
       T=temperatures)
def test_gate_quantities(tech, gtype, n_in, wn_F, wp_F, k, T):
    F = tech.featureSize
    wn, wp = wn_F * F, wp_F * F
    area, height, width = fb.gate_area(gtype, n_in, wn, wp, tech)
    assert positive_finite(area) and positive_finite(height) and positive_finite(width)
    assert area == pytest.approx(height * width, rel=REL)
    area_k, height_k, _ = fb.gate_area(gtype, n_in, k * wn, k * wp, tech)
    assert height_k == height  # fixed standard-cell height
    assert area_k >= area * (1 - REL)
    cin, cout = fb.gate_capacitance(gtype, n_in, wn, wp, tech)
    assert positive_finite(cin) and positive_finite(cout)
    assert cin == pytest.approx(fb.gate_cap(wn, tech) + fb.gate_cap(wp, tech), rel=REL)
    leak = fb.gate_leakage(gtype, n_in, wn, wp, tech, temperature=T)
    leak_k = fb.gate_leakage(gtype, n_in, k * wn, k * wp, tech, temperature=T)
    assert positive_finite(leak) and leak_k >= leak * (1 - REL)
    if T < 400:
        assert fb.gate_leakage(gtype, n_in, wn, wp, tech, temperature=T + 1) >= leak
    en, ep = fb.enlarge_size(wn, wp, tech)
    assert en >= wn * (1 - REL) and ep >= wp * (1 - REL)


@FAST
@given(tech=techs, wn_F=widths_F, wp_F=widths_F, fold=st.integers(1, 8))
def test_pass_gate_area(tech, wn_F, wp_F, fold):
    F = tech.featureSize
    area, height, width = fb.pass_gate_area(wn_F * F, wp_F * F, fold, tech)
    assert positive_finite(area) and positive_finite(height) and positive_finite(width)
    assert area == pytest.approx(height * width, rel=REL)
    _, _, width_more = fb.pass_gate_area(wn_F * F, wp_F * F, fold + 1, tech)
    assert width_more > width  # one more finger, one more poly pitch


def test_invalid_gate_arguments():
    tech = TECHS[(22, "LSTP")]
    F = tech.featureSize
    with pytest.raises(ValueError):
        fb.gate_area(fb.GateType.NAND, 0, F, F, tech)
    with pytest.raises(ValueError):
        fb.gate_cap(-F, tech)
    with pytest.raises(ValueError):
        fb.pass_gate_area(F, F, 0, tech)
    with pytest.raises(ValueError, match="GAA"):
        fb.gate_capacitance_gaa(fb.GateType.INV, 1, F, F, tech)
    assert fb.GateType(2) == fb.GateType.NAND and fb.TransistorKind(1) == fb.TransistorKind.PMOS


def test_gaa_capacitance_variant_reduces_to_plain_one():
    for node in (2, 1):
        tech = TECHS[(node, "LSTP")]
        F = tech.featureSize
        for gtype, n_in in ((fb.GateType.INV, 1), (fb.GateType.NOR, 2), (fb.GateType.NAND, 3)):
            plain = fb.gate_capacitance(gtype, n_in, 2 * F, 4 * F, tech)
            assert fb.gate_capacitance_gaa(gtype, n_in, 2 * F, 4 * F, tech) == pytest.approx(plain, rel=REL)
            cin, cout = fb.gate_capacitance_gaa(gtype, n_in, 2 * F, 4 * F, tech, gate_factor=0.5,
                                                n_width_factor=0.3, p_width_factor=0.3)
            assert cin == pytest.approx(0.5 * plain[0], rel=REL)
            assert cout == pytest.approx(0.3 * plain[1], rel=REL)


# --------------------------------------------------------------------------- delay, devices, wires

@FAST
@given(tr=st.floats(1e-14, 1e-6), ramp=st.floats(1e6, 1e20), beta=st.floats(0.0, 1.0))
def test_horowitz(tr, ramp, beta):
    delay, ramp_out = fb.horowitz(tr, beta, ramp)
    assert positive_finite(delay) and positive_finite(ramp_out)
    assert delay >= tr * math.log(2) * (1 - REL)
    assert ramp_out * delay == pytest.approx(0.5, rel=REL)
    assert (delay, ramp_out) == fb.horowitz(tr, 0.5, ramp)  # beta is ignored
    assert fb.horowitz(tr, beta, 1e30)[0] == pytest.approx(tr * math.log(2), rel=1e-9)


@FAST
@given(R=st.floats(1e2, 1e8), NL=st.floats(1.0, 100.0), V=st.floats(0.01, 2.0))
def test_nonlinear_resistance(R, NL, V):
    Vw, Vr = 2.0, 0.5
    r = fb.nonlinear_resistance(R, NL, Vw, Vr, V)
    assert positive_finite(r)
    assert fb.nonlinear_resistance(R, NL, Vw, Vr, Vr) == pytest.approx(R, rel=REL)
    assert fb.nonlinear_resistance(R, 1.0, Vw, Vr, V) == pytest.approx(R * V / Vr, rel=REL)


@FAST
@given(w=st.floats(8.0, 1000.0), T=st.floats(300.0, 400.0))
def test_wire_resistance(w, T):
    ar, rho, barrier = fb.wire_material(w)
    r = fb.wire_resistance_per_length(w, ar, rho, barrier, T)
    assert positive_finite(r)
    ideal = rho * (1 + 0.00451 * (T - 300)) / ((w * 1e-9) ** 2 * ar)
    assert r == pytest.approx(ideal, rel=1e-8)  # the barrier term is negligible (unit quirk)
    assert fb.wire_resistance_per_length(w, ar, rho, barrier, T + 10) > r
    ar2, rho2, _ = fb.wire_material(2 * w)
    assert fb.wire_resistance_per_length(2 * w, ar2, rho2, 0.0, T) < r  # wider wire, lower R'


def test_interconnect_wire_width_classes():
    tech = TECHS[(22, "LSTP")]
    F = tech.featureSize
    short = fb.interconnect_wire(100 * F, 40, tech)
    mid = fb.interconnect_wire(2e4 * F, 40, tech)
    long_ = fb.interconnect_wire(2e5 * F, 40, tech)
    assert (short[0], mid[0], long_[0]) == (40, 80, 160)
    assert short[1] > mid[1] > long_[1] > 0
    assert fb.wire_material(10.5, fb.WireTable.DESIGN)[:2] == (2.0, 6.61e-8)
    assert fb.wire_material(10.5)[:2] == (3.0, 6.65e-8)
    with pytest.raises(ValueError):
        fb.wire_material(5)


def test_rules_submodule():
    assert fb.rules.CELL_HEIGHT == 28.0 and fb.rules.MIN_NMOS_WIDTH == 2.0
    assert fb.rules.cell_height_in_F(22) == 28.0
    assert fb.rules.cell_height_in_F(7) == pytest.approx(34.285)
    assert fb.rules.contacted_poly_pitch_in_F(65) == pytest.approx(3.8)
    assert fb.rules.multigate_rules(2)["contacted_poly_pitch"] == 22.5
    with pytest.raises(ValueError):
        fb.rules.multigate_rules(22)
    for node in MULTIGATE:  # the FinFET/GAA gate height is the node's own cell height
        tech = TECHS[(node, "LSTP")]
        _, h, _ = fb.gate_area(fb.GateType.INV, 1, 2 * tech.featureSize, 2 * tech.featureSize, tech)
        assert h == pytest.approx(fb.rules.cell_height_in_F(node) * tech.featureSize, rel=1e-12)
