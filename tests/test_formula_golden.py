"""FormulaBindings against the DNN+NeuroSim V1.4 golden numbers.

tests/data/formula_golden.json (a copy of shared/reference/neurosim14/formula_golden.json)
holds, for 19 (node, roadmap) cases, every public Technology field and the
outputs of the gate-level formulas on small input grids.  Every number is
checked here: non-zero references to 1e-9 relative, zero references exactly.

Exceptions: none.  Every field and every output of the file is compared.
"""
import json
import math
from pathlib import Path

import pytest

import FormulaBindings as fb

GOLDEN_PATH = Path(__file__).resolve().parent / "data" / "formula_golden.json"
GOLDEN = json.loads(GOLDEN_PATH.read_text())
CASES = GOLDEN["cases"]
REL_TOL = 1e-9
TEMPERATURES = (300, 350, 400)
TECH_CACHE = {}


def case_id(case):
    return f"{case['node_nm']}nm-{case['roadmap']}"


def tech_of(case):
    key = (case["node_nm"], case["roadmap"])
    if key not in TECH_CACHE:
        TECH_CACHE[key] = fb.Technology(case["node_nm"], case["roadmap"])
    return TECH_CACHE[key]


class Checker:
    """Collects every mismatch so that one failing case reports all of them."""

    def __init__(self, label):
        self.label = label
        self.failures = []
        self.count = 0

    def close(self, what, actual, expected):
        self.count += 1
        if isinstance(expected, list):
            if not isinstance(actual, (list, tuple)) or len(actual) != len(expected):
                self.failures.append(f"{what}: length/type {actual!r} vs {len(expected)} values")
                return
            for i, (a, e) in enumerate(zip(actual, expected)):
                self.close(f"{what}[{i}]", a, e)
            return
        a = float(actual)
        e = float(expected)
        if e == 0.0:
            ok = a == 0.0
        else:
            ok = math.isfinite(a) and abs(a - e) <= REL_TOL * abs(e)
        if not ok:
            rel = abs(a - e) / abs(e) if e else float("inf")
            self.failures.append(f"{what}: got {a!r}, expected {e!r} (rel {rel:.3g})")

    def done(self):
        assert self.count > 0, f"{self.label}: nothing compared"
        assert not self.failures, f"{self.label}: {len(self.failures)} of {self.count} mismatches:\n" + "\n".join(
            self.failures[:60])


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_technology_fields(case):
    tech = tech_of(case)
    chk = Checker(case_id(case))
    as_dict = tech.to_dict()
    missing = sorted(set(case["tech"]) - set(as_dict))
    assert not missing, f"fields missing from Technology.to_dict(): {missing}"
    for name, expected in case["tech"].items():
        chk.close(f"tech.{name}", getattr(tech, name), expected)
        chk.close(f"to_dict()[{name}]", as_dict[name], expected)
    assert tech.node_nm == case["node_nm"]
    assert tech.roadmap == getattr(fb.Roadmap, case["roadmap"])
    chk.done()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_transistor_formulas(case):
    tech = tech_of(case)
    F = tech.featureSize
    chk = Checker(case_id(case))
    for row in case["transistor"]:
        width = row["width_F"] * F
        kind = fb.TransistorKind(row["type"])
        tag = f"W={row['width_F']}F {kind.name}"
        chk.close(f"{tag} gate_cap", fb.gate_cap(width, tech), row["CalculateGateCap"])
        chk.close(f"{tag} drain_cap", fb.drain_cap(width, kind, tech), row["CalculateDrainCap"])
        chk.close(f"{tag} drain_cap(explicit 28F)",
                  fb.drain_cap(width, kind, tech, cell_height=fb.standard_cell_height(tech)),
                  row["CalculateDrainCap"])
        chk.close(f"{tag} transconductance", fb.transconductance(width, kind, tech),
                  row["CalculateTransconductance"])
        chk.close(f"{tag} on_resistance",
                  [fb.on_resistance(width, kind, tech, temperature=T) for T in TEMPERATURES],
                  row["CalculateOnResistance_T300_350_400"])
        chk.close(f"{tag} on_resistance(no multiplier)",
                  [fb.on_resistance(width, kind, tech, temperature=T, include_multiplier=False)
                   for T in TEMPERATURES],
                  row["CalculateOnResistance_normal_T300_350_400"])
    # the default temperature of the Technology object is 300 K
    first = case["transistor"][0]
    chk.close("on_resistance(default T)",
              fb.on_resistance(first["width_F"] * F, fb.TransistorKind(first["type"]), tech),
              first["CalculateOnResistance_T300_350_400"][0])
    chk.done()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_gate_formulas(case):
    tech = tech_of(case)
    F = tech.featureSize
    height = fb.standard_cell_height(tech)
    chk = Checker(case_id(case))
    for row in case["gates"]:
        gtype = fb.GateType(row["gateType"])
        n_in = row["numInput"]
        wn, wp = row["widthN_F"] * F, row["widthP_F"] * F
        tag = f"{gtype.name}{n_in} ({row['widthN_F']},{row['widthP_F']})F"
        area, h, w = fb.gate_area(gtype, n_in, wn, wp, tech)
        chk.close(f"{tag} area", area, row["area"])
        chk.close(f"{tag} height", h, row["height"])
        chk.close(f"{tag} width", w, row["width"])
        area2, _, _ = fb.gate_area(gtype, n_in, wn, wp, tech, cell_height=height)
        chk.close(f"{tag} area(explicit 28F)", area2, row["area"])
        cin, cout = fb.gate_capacitance(gtype, n_in, wn, wp, tech)
        chk.close(f"{tag} capInput", cin, row["capInput"])
        chk.close(f"{tag} capOutput", cout, row["capOutput"])
        chk.close(f"{tag} leakage",
                  [fb.gate_leakage(gtype, n_in, wn, wp, tech, temperature=T) for T in TEMPERATURES],
                  row["leakage_T300_350_400"])
        en, ep = fb.enlarge_size(wn, wp, tech)
        chk.close(f"{tag} EnlargeSize_widthN", en, row["EnlargeSize_widthN"])
        chk.close(f"{tag} EnlargeSize_widthP", ep, row["EnlargeSize_widthP"])
    chk.done()


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_pass_gate_area(case):
    tech = tech_of(case)
    F = tech.featureSize
    chk = Checker(case_id(case))
    for row in case["passgate"]:
        tag = f"({row['widthN_F']},{row['widthP_F']})F fold={row['numFold']}"
        area, h, w = fb.pass_gate_area(row["widthN_F"] * F, row["widthP_F"] * F, row["numFold"], tech)
        chk.close(f"{tag} area", area, row["area"])
        chk.close(f"{tag} height", h, row["height"])
        chk.close(f"{tag} width", w, row["width"])
    chk.done()


def test_horowitz():
    chk = Checker("horowitz")
    for row in GOLDEN["horowitz"]:
        tag = f"tr={row['tr']} beta={row['beta']} ramp={row['rampInput']}"
        delay, ramp_out = fb.horowitz(row["tr"], row["beta"], row["rampInput"])
        chk.close(f"{tag} delay", delay, row["delay"])
        chk.close(f"{tag} rampOutput", ramp_out, row["rampOutput"])
    chk.done()


def test_nonlinear_resistance():
    chk = Checker("NonlinearResistance")
    for row in GOLDEN["NonlinearResistance"]:
        tag = f"R={row['R']} NL={row['NL']} V={row['V']}"
        chk.close(tag, fb.nonlinear_resistance(row["R"], row["NL"], row["Vw"], row["Vr"], row["V"]),
                  row["result"])
    chk.done()


def test_golden_covers_expected_cases():
    ids = {case_id(c) for c in CASES}
    planar = [130, 90, 65, 45, 32, 22]
    expected = {f"{n}nm-{r}" for n in planar for r in ("LSTP", "HP")}
    expected |= {f"{n}nm-LSTP" for n in (14, 10, 7, 5, 3, 2, 1)}
    assert ids == expected
