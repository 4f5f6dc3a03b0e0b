// Python bindings of the gate-level formulas (module FormulaBindings).
//
// Conventions: SI units; `tech` is a FormulaBindings.Technology; optional
// `cell_height` defaults to the standard 28 F transistor region and optional
// `temperature` to tech.temperature.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <optional>

#include "gate_formulas.h"

namespace py = pybind11;
using namespace cimtech;

namespace {

double height_or_default(const std::optional<double> &h, const Technology &t) {
    return h ? *h : standard_cell_height(t);
}

double temperature_or_default(const std::optional<double> &T, const Technology &t) {
    return T ? *T : t.temperature;
}

py::tuple footprint_tuple(const Footprint &f) { return py::make_tuple(f.area, f.height, f.width); }

void bind_rules(py::module_ &m) {
    py::module_ r = m.def_submodule(
        "rules",
        "Layout and circuit rules in units of the feature size F (dimensionless) unless noted.");
    r.attr("CELL_HEIGHT") = rules::kCellHeight;
    r.attr("CELL_HEIGHT_MULTIGATE_REF") = rules::kCellHeightMultiGate;
    r.attr("MIN_NMOS_WIDTH") = rules::kMinNmosWidth;
    r.attr("MAX_NMOS_WIDTH") = rules::kMaxNmosWidth;
    r.attr("PN_DIFFUSION_GAP") = rules::kPnDiffusionGap;
    r.attr("POLY_ENDCAP") = rules::kPolyEndcap;
    r.attr("FIELD_POLY_GAP") = rules::kFieldPolyGap;
    r.attr("POLY_WIDTH") = rules::kPolyWidth;
    r.attr("GATE_POLY_GAP") = rules::kGatePolyGap;
    r.attr("SAME_TYPE_DIFFUSION_GAP") = rules::kSameTypeDiffusionGap;
    r.attr("CONTACT_POLY_GAP") = rules::kContactPolyGap;
    r.attr("CONTACT_SIZE") = rules::kContactSize;
    r.attr("POWER_RAIL_WIDTH") = rules::kPowerRailWidth;
    r.attr("METAL2_PITCH") = rules::kMetal2Pitch;
    r.attr("METAL3_PITCH") = rules::kMetal3Pitch;
    r.attr("POLY_WIDTH_MULTIGATE") = rules::kPolyWidthMultiGate;
    r.attr("GATE_POLY_GAP_MULTIGATE") = rules::kGatePolyGapMultiGate;
    r.attr("LEAK_RATIO_NAND2") = rules::kLeakRatioNand2;
    r.attr("LEAK_RATIO_NAND3") = rules::kLeakRatioNand3;
    r.attr("LEAK_RATIO_NOR2") = rules::kLeakRatioNor2;
    r.attr("LEAK_RATIO_NOR3") = rules::kLeakRatioNor3;
    r.attr("SENSE_AMP_WIDTH_P") = rules::kSenseAmpWidthP;
    r.attr("SENSE_AMP_WIDTH_N") = rules::kSenseAmpWidthN;
    r.attr("SENSE_AMP_WIDTH_ISO") = rules::kSenseAmpWidthIso;
    r.attr("SENSE_AMP_WIDTH_ENABLE") = rules::kSenseAmpWidthEnable;
    r.attr("SENSE_AMP_WIDTH_MUX") = rules::kSenseAmpWidthMux;
    r.attr("IR_DROP_TOLERANCE") = rules::kIrDropTolerance;
    r.attr("LINEAR_REGION_RATIO") = rules::kLinearRegionRatio;
    r.attr("HEIGHT_WIDTH_RATIO_LIMIT") = rules::kHeightWidthRatioLimit;
    r.attr("READ_THRESHOLD_RATIO") = rules::kReadThresholdRatio;

    r.def("multigate_rules",
          [](int node_nm) {
              const rules::MultiGateRules &x = rules::multigate_rules(node_nm);
              py::dict d;
              d["node_nm"] = x.node_nm;
              d["cell_height"] = x.cell_height;
              d["pn_gap"] = x.pn_gap;
              d["outer_region"] = x.outer_region;
              d["contacted_poly_pitch"] = x.contacted_poly_pitch;
              d["poly_width"] = x.poly_width;
              d["metal_pitch"] = x.metal_pitch;
              return d;
          },
          py::arg("node_nm"),
          "Layout rules of a FinFET/GAA node (14..1 nm) as a dict, all in F: cell_height, pn_gap, "
          "outer_region (per side), contacted_poly_pitch, poly_width, metal_pitch. ValueError for "
          "other nodes.");
    r.def("cell_height_in_F", &rules::cell_height_in_F, py::arg("node_nm"),
          "Standard-cell height in F: 28 on planar nodes, the node's own height on FinFET/GAA nodes.");
    r.def("contacted_poly_pitch_in_F", &rules::contacted_poly_pitch_in_F, py::arg("node_nm"),
          "Contacted poly pitch in F (3.8 on planar nodes).");
    r.def("metal2_pitch_in_F", &rules::metal2_pitch_in_F, py::arg("node_nm"),
          "M2 pitch in F (3.2 on planar nodes).");
    r.def("metal3_pitch_in_F", &rules::metal3_pitch_in_F, py::arg("node_nm"),
          "M3 pitch in F (2.8 on planar nodes).");
}

}  // namespace

void bind_formulas(py::module_ &m) {
    py::enum_<GateType>(m, "GateType", "Logic gate type of the standard-cell formulas.")
        .value("INV", GateType::INV)
        .value("NOR", GateType::NOR)
        .value("NAND", GateType::NAND);

    py::enum_<TransistorKind>(m, "TransistorKind", "Transistor polarity.")
        .value("NMOS", TransistorKind::NMOS)
        .value("PMOS", TransistorKind::PMOS);

    bind_rules(m);

    m.def("standard_cell_height", &standard_cell_height, py::arg("tech"),
          "Default transistor-region height 28*F (m) passed to the layout formulas; FinFET/GAA "
          "nodes rescale it internally to their own cell height.");

    m.def("effective_channel_width", &effective_channel_width, py::arg("width"), py::arg("tech"),
          "Effective channel width (m) of a drawn width (m): the width on planar nodes, "
          "ceil(width/2F) fins x fin perimeter (FinFET) or stacks x sheets x sheet perimeter (GAA).");

    m.def("gate_cap", &gate_cap, py::arg("width"), py::arg("tech"),
          "Gate capacitance (F) of one transistor of drawn width `width` (m).");

    m.def("drain_cap",
          [](double width, TransistorKind kind, const Technology &tech, std::optional<double> cell_height) {
              return drain_cap(width, kind, height_or_default(cell_height, tech), tech);
          },
          py::arg("width"), py::arg("kind"), py::arg("tech"), py::arg("cell_height") = py::none(),
          "Drain junction capacitance (F) of one transistor of width `width` (m), from the layout "
          "of an inverter holding only that device (folding included). cell_height (m) defaults "
          "to 28*F.");

    m.def("on_resistance",
          [](double width, TransistorKind kind, const Technology &tech, std::optional<double> temperature,
             bool include_multiplier) {
              return on_resistance(width, kind, temperature_or_default(temperature, tech), tech,
                                   include_multiplier);
          },
          py::arg("width"), py::arg("kind"), py::arg("tech"), py::arg("temperature") = py::none(),
          py::arg("include_multiplier") = true,
          "Effective on-resistance (ohm) of a transistor of width `width` (m) at `temperature` (K, "
          "300..400, default tech.temperature): effectiveResistanceMultiplier * vdd / (I_on(T) * "
          "effective width).  include_multiplier=False drops the multiplier (plain vdd / I_on).");

    m.def("transconductance", &transconductance, py::arg("width"), py::arg("kind"), py::arg("tech"),
          "Transconductance (S) of a transistor of width `width` (m).  Planar: 2*current_gm*W / "
          "(0.7*vdd - vth); FinFET/GAA: gm_oncurrent * effective width.");

    m.def("gate_area",
          [](GateType type, int num_input, double width_n, double width_p, const Technology &tech,
             std::optional<double> cell_height) {
              return footprint_tuple(
                  gate_area(type, num_input, width_n, width_p, height_or_default(cell_height, tech), tech));
          },
          py::arg("gate_type"), py::arg("num_input"), py::arg("width_n"), py::arg("width_p"), py::arg("tech"),
          py::arg("cell_height") = py::none(),
          "Standard-cell layout of an INV/NOR/NAND gate -> (area m^2, height m, width m).  width_n/"
          "width_p are per-transistor widths (m); devices taller than the cell allows are folded.  "
          "cell_height (m) defaults to 28*F; a different value selects the custom-height layout.");

    m.def("gate_capacitance",
          [](GateType type, int num_input, double width_n, double width_p, const Technology &tech,
             std::optional<double> cell_height) {
              const GateCaps c =
                  gate_capacitance(type, num_input, width_n, width_p, height_or_default(cell_height, tech), tech);
              return py::make_tuple(c.input, c.output);
          },
          py::arg("gate_type"), py::arg("num_input"), py::arg("width_n"), py::arg("width_p"), py::arg("tech"),
          py::arg("cell_height") = py::none(),
          "Gate capacitances -> (cap_input F, cap_output F): input = one NMOS + one PMOS gate; "
          "output = drain junction (+ sidewall and gate-edge on planar nodes) caps on the output "
          "node, with folding and series stacks.  cell_height (m) defaults to 28*F.");

    m.def("gate_capacitance_gaa",
          [](GateType type, int num_input, double width_n, double width_p, const Technology &tech,
             std::optional<double> cell_height, double gate_factor, double n_width_factor, double p_width_factor) {
              const GateCaps c = gate_capacitance_gaa(type, num_input, width_n, width_p,
                                                      height_or_default(cell_height, tech), tech, gate_factor,
                                                      n_width_factor, p_width_factor);
              return py::make_tuple(c.input, c.output);
          },
          py::arg("gate_type"), py::arg("num_input"), py::arg("width_n"), py::arg("width_p"), py::arg("tech"),
          py::arg("cell_height") = py::none(), py::arg("gate_factor") = 1.0, py::arg("n_width_factor") = 1.0,
          py::arg("p_width_factor") = 1.0,
          "GAA-only variant of gate_capacitance -> (cap_input F, cap_output F): the input cap is "
          "scaled by gate_factor and the N/P drain sheet widths by n_width_factor/p_width_factor "
          "(dimensionless).  ValueError on non-GAA nodes.");

    m.def("gate_leakage",
          [](GateType type, int num_input, double width_n, double width_p, const Technology &tech,
             std::optional<double> temperature) {
              return gate_leakage(type, num_input, width_n, width_p, temperature_or_default(temperature, tech), tech);
          },
          py::arg("gate_type"), py::arg("num_input"), py::arg("width_n"), py::arg("width_p"), py::arg("tech"),
          py::arg("temperature") = py::none(),
          "Sub-threshold leakage current (A) of the gate averaged over its input states at "
          "`temperature` (K, default tech.temperature).  Multiply by tech.vdd for power (W).");

    m.def("enlarge_size",
          [](double width_n, double width_p, const Technology &tech, std::optional<double> cell_height) {
              const WidthPair w = enlarge_size(width_n, width_p, height_or_default(cell_height, tech), tech);
              return py::make_tuple(w.width_n, w.width_p);
          },
          py::arg("width_n"), py::arg("width_p"), py::arg("tech"), py::arg("cell_height") = py::none(),
          "Widen minimum-size transistors to the largest widths that fit the same cell "
          "-> (width_n m, width_p m).  cell_height (m) defaults to 28*F (planar nodes only use it).");

    m.def("pass_gate_area",
          [](double width_n, double width_p, int num_fold, const Technology &tech) {
              return footprint_tuple(pass_gate_area(width_n, width_p, num_fold, tech));
          },
          py::arg("width_n"), py::arg("width_p"), py::arg("num_fold"), py::arg("tech"),
          "Layout of a transmission gate with `num_fold` fingers (>= 1; 1 = unfolded) whose "
          "height follows the device widths (m) -> (area m^2, height m, width m).");

    m.def("horowitz",
          [](double tr, double beta, double ramp_input) {
              const HorowitzResult h = horowitz(tr, beta, ramp_input);
              return py::make_tuple(h.delay, h.ramp_output);
          },
          py::arg("tr"), py::arg("beta") = 0.5, py::arg("ramp_input") = 1e20,
          "Horowitz delay of a gate with RC time constant tr (s) driven by an input ramp of slope "
          "ramp_input (1/s; 1e20 ~ step) -> (delay s, ramp_output 1/s).  beta is ignored (0.5 is "
          "always used, as in the reference).");

    m.def("nonlinear_resistance", &nonlinear_resistance, py::arg("R"), py::arg("NL"), py::arg("Vw"),
          py::arg("Vr"), py::arg("V"),
          "Resistance (ohm) at voltage V (V) of a device with resistance R (ohm) at read voltage Vr "
          "(V), nonlinearity NL and write voltage Vw (V): R*(V/Vr)*NL**((Vr-V)/(Vw/2)).");

    py::enum_<WireTable>(m, "WireTable", "Which copper-wire table wire_material() reads.")
        .value("INTERCONNECT", WireTable::Interconnect)
        .value("DESIGN", WireTable::Design);

    m.def("wire_material",
          [](double width_nm, WireTable table) {
              const WireMaterial w = wire_material(width_nm, table);
              return py::make_tuple(w.aspect_ratio, w.resistivity, w.barrier_thickness);
          },
          py::arg("width_nm"), py::arg("table") = WireTable::Interconnect,
          "Copper wire entry for a width in nm (>= 8) -> (aspect_ratio, resistivity ohm*m, "
          "barrier_thickness m).  INTERCONNECT: table of the bus/H-tree models; DESIGN: table of the "
          "global design parameters (barrier 0 = not tabulated; differs for 10-12 nm).");

    m.def("wire_resistance_per_length", &wire_resistance_per_length, py::arg("width_nm"),
          py::arg("aspect_ratio"), py::arg("resistivity"), py::arg("barrier_thickness"),
          py::arg("temperature") = 300.0,
          "Wire resistance per length (ohm/m) for width (nm), aspect ratio, resistivity (ohm*m), "
          "barrier thickness (m) and temperature (K), with the reference's barrier correction "
          "(whose nm/m unit mix makes it negligible) and +0.451 %/K above 300 K.");

    m.def("interconnect_wire",
          [](double wire_length, double base_width_nm, const Technology &tech, std::optional<double> temperature) {
              const WireSegment s =
                  interconnect_wire(wire_length, base_width_nm, temperature_or_default(temperature, tech), tech);
              return py::make_tuple(s.width_nm, s.resistance_per_length);
          },
          py::arg("wire_length"), py::arg("base_width_nm"), py::arg("tech"), py::arg("temperature") = py::none(),
          "Bus / H-tree segment of length wire_length (m): width 4x base_width_nm for >= 1e5 F, 2x "
          "for >= 1e4 F, else 1x -> (width_nm, resistance per length ohm/m) at temperature (K, "
          "default tech.temperature).");
}
