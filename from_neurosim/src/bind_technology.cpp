// Python bindings of the Technology class (module FormulaBindings).
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <sstream>

#include "technology.h"

namespace py = pybind11;
using cimtech::DeviceArchitecture;
using cimtech::Roadmap;
using cimtech::Technology;
using cimtech::TransistorType;

namespace {

py::list table_list(const cimtech::TemperatureTable &t) {
    py::list out;
    for (double v : t) out.append(v);
    return out;
}

// Every device field under the name used by the reference data.
py::dict technology_fields(const Technology &t) {
    py::dict d;
    d["featureSize"] = t.featureSize;
    d["vdd"] = t.vdd;
    d["vth"] = t.vth;
    d["heightFin"] = t.heightFin;
    d["widthFin"] = t.widthFin;
    d["PitchFin"] = t.PitchFin;
    d["phyGateLength"] = t.phyGateLength;
    d["capIdealGate"] = t.capIdealGate;
    d["capFringe"] = t.capFringe;
    d["capJunction"] = t.capJunction;
    d["capOverlap"] = t.capOverlap;
    d["capSidewall"] = t.capSidewall;
    d["capDrainToChannel"] = t.capDrainToChannel;
    d["buildInPotential"] = t.buildInPotential;
    d["pnSizeRatio"] = t.pnSizeRatio;
    d["effectiveResistanceMultiplier"] = t.effectiveResistanceMultiplier;
    d["current_gmNmos"] = t.current_gmNmos;
    d["current_gmPmos"] = t.current_gmPmos;
    d["capPolywire"] = t.capPolywire;
    d["max_sheet_num"] = t.max_sheet_num;
    d["thickness_sheet"] = t.thickness_sheet;
    d["width_sheet"] = t.width_sheet;
    d["effective_width"] = t.effective_width;
    d["max_fin_num"] = t.max_fin_num;
    d["max_fin_per_GAA"] = t.max_fin_per_GAA;
    d["gm_oncurrent"] = t.gm_oncurrent;
    d["cap_draintotal"] = t.cap_draintotal;
    d["currentOnNmos"] = table_list(t.currentOnNmos);
    d["currentOnPmos"] = table_list(t.currentOnPmos);
    d["currentOffNmos"] = table_list(t.currentOffNmos);
    d["currentOffPmos"] = table_list(t.currentOffPmos);
    return d;
}

}  // namespace

void bind_technology(py::module_ &m) {
    py::enum_<Roadmap>(m, "Roadmap", "Device roadmap: high performance (HP) or low standby power (LSTP).")
        .value("HP", Roadmap::HP)
        .value("LSTP", Roadmap::LSTP);

    py::enum_<TransistorType>(m, "TransistorType", "Transistor technology family (only conventional CMOS).")
        .value("conventional", TransistorType::Conventional);

    py::class_<Technology> cls(m, "Technology", R"doc(
Device parameters of one process node (SI units).

Technology(node_nm, roadmap="LSTP", transistor_type="conventional", temperature=300)

node_nm: 130, 90, 65, 45, 32, 22 (planar, LSTP or HP); 14, 10, 7, 5, 3 (FinFET,
LSTP only); 2, 1 (nanosheet GAA, LSTP only).  roadmap: "HP"/"LSTP" or a Roadmap.
temperature: default operating temperature in K (300..400) for the formula
functions.  Unsupported combinations raise ValueError.

Properties carry the field names of the reference data: vdd (V), vth (V),
featureSize (m), capIdealGate/capFringe/capOverlap (F/m of width), capJunction
(F/m^2), capSidewall/capDrainToChannel (F/m), currentOnNmos/... (A/m, 101-entry
lists indexed by T - 300 K), effective_width (m), cap_draintotal (F/m) ...
)doc");

    cls.def(py::init<int, Roadmap, TransistorType, double>(), py::arg("node_nm"),
            py::arg("roadmap") = Roadmap::LSTP,
            py::arg("transistor_type") = TransistorType::Conventional,
            py::arg("temperature") = 300.0)
        .def(py::init([](int node_nm, const std::string &roadmap, const std::string &ttype,
                         double temperature) {
                 return Technology(node_nm, cimtech::parse_roadmap(roadmap),
                                   cimtech::parse_transistor_type(ttype), temperature);
             }),
             py::arg("node_nm"), py::arg("roadmap") = "LSTP",
             py::arg("transistor_type") = "conventional", py::arg("temperature") = 300.0);

#define CIM_RO(name, doc) cls.def_readonly(#name, &Technology::name, doc)
    CIM_RO(featureSize, "Feature size F (m).");
    CIM_RO(vdd, "Supply voltage (V).");
    CIM_RO(vth, "Threshold voltage (V); 0.1 placeholder on FinFET/GAA nodes.");
    CIM_RO(heightFin, "Fin height (m); 0 where the node does not give one.");
    CIM_RO(widthFin, "Fin width (m); on GAA nodes the nanosheet width.");
    CIM_RO(PitchFin, "Fin / sheet-stack pitch (m).");
    CIM_RO(phyGateLength, "Physical gate length (m).");
    CIM_RO(capIdealGate, "Intrinsic gate capacitance per effective width (F/m).");
    CIM_RO(capFringe, "Fringe capacitance per width (F/m); 0 below 22 nm.");
    CIM_RO(capJunction, "Bottom junction capacitance (F/m^2).");
    CIM_RO(capOverlap, "Overlap capacitance per width (F/m); 0 below 22 nm.");
    CIM_RO(capSidewall, "Isolation-edge sidewall junction capacitance (F/m).");
    CIM_RO(capDrainToChannel, "Gate-edge sidewall junction capacitance (F/m).");
    CIM_RO(buildInPotential, "Junction built-in potential (V).");
    CIM_RO(pnSizeRatio, "PMOS/NMOS width ratio for equal drive (dimensionless).");
    CIM_RO(effectiveResistanceMultiplier, "On-resistance multiplier (dimensionless).");
    CIM_RO(current_gmNmos, "NMOS current density for transconductance (A/m).");
    CIM_RO(current_gmPmos, "PMOS current density for transconductance (A/m).");
    CIM_RO(capPolywire, "Poly wire capacitance (F/m); always 0.");
    CIM_RO(max_sheet_num, "GAA: nanosheets per stack.");
    CIM_RO(thickness_sheet, "GAA: sheet thickness (m).");
    CIM_RO(width_sheet, "GAA: sheet width (m).");
    CIM_RO(effective_width, "Effective width of one fin (FinFET) or one sheet (GAA) (m).");
    CIM_RO(max_fin_num, "FinFET: fins per device in a standard cell.");
    CIM_RO(max_fin_per_GAA, "GAA: sheet stacks per device in a standard cell.");
    CIM_RO(gm_oncurrent, "FinFET/GAA transconductance per effective width (S/m).");
    CIM_RO(cap_draintotal, "Total drain capacitance per effective width (F/m); 0 where undefined.");
    CIM_RO(temperature, "Default operating temperature (K) used when a formula gets none.");
#undef CIM_RO

    cls.def_property_readonly("currentOnNmos", [](const Technology &t) { return table_list(t.currentOnNmos); },
                              "NMOS on-current per width (A/m), 101 entries for 300..400 K.")
        .def_property_readonly("currentOnPmos", [](const Technology &t) { return table_list(t.currentOnPmos); },
                               "PMOS on-current per width (A/m), 101 entries for 300..400 K.")
        .def_property_readonly("currentOffNmos", [](const Technology &t) { return table_list(t.currentOffNmos); },
                               "NMOS off-current per width (A/m), 101 entries for 300..400 K.")
        .def_property_readonly("currentOffPmos", [](const Technology &t) { return table_list(t.currentOffPmos); },
                               "PMOS off-current per width (A/m), 101 entries for 300..400 K.")
        .def_readonly("featureSizeInNano", &Technology::featureSizeInNano, "Node (nm).")
        .def_property_readonly("node_nm", [](const Technology &t) { return t.featureSizeInNano; }, "Node (nm).")
        .def_property_readonly("roadmap", [](const Technology &t) { return t.deviceRoadmap; }, "Device roadmap (Roadmap).")
        .def_property_readonly("transistor_type", [](const Technology &t) { return t.transistorType; },
                               "Transistor family (TransistorType).")
        .def_property_readonly("architecture", [](const Technology &t) { return cimtech::architecture_name(t.architecture); },
                               "Device structure: 'planar', 'finfet' or 'gaa'.")
        .def_property_readonly("is_planar", &Technology::is_planar, "True for the planar nodes (>= 22 nm).")
        .def_property_readonly("is_finfet", &Technology::is_finfet, "True for the FinFET nodes (14..3 nm).")
        .def_property_readonly("is_gaa", &Technology::is_gaa, "True for the nanosheet GAA nodes (2, 1 nm).")
        .def("to_dict", &technology_fields,
             "All device fields as a dict keyed by the reference-data names (tables as lists).")
        .def_static("supported_nodes", &Technology::supported_nodes, py::arg("roadmap"),
                    "Nodes (nm) available for a roadmap, largest first.")
        .def_static("temperature_index", &Technology::temperature_index, py::arg("temperature"),
                    "Index into the current tables for a temperature in K (truncated to whole kelvin).")
        .def("__repr__",
             [](const Technology &t) {
                 std::ostringstream os;
                 os << "Technology(" << t.featureSizeInNano << ", roadmap='" << cimtech::roadmap_name(t.deviceRoadmap)
                    << "', transistor_type='" << cimtech::transistor_type_name(t.transistorType)
                    << "', temperature=" << t.temperature << ")";
                 return os.str();
             })
        .def(py::pickle(
            [](const Technology &t) {
                return py::make_tuple(t.featureSizeInNano, t.deviceRoadmap, t.transistorType, t.temperature);
            },
            [](const py::tuple &s) {
                if (s.size() != 4) throw std::runtime_error("invalid Technology pickle state");
                return Technology(s[0].cast<int>(), s[1].cast<Roadmap>(), s[2].cast<TransistorType>(),
                                  s[3].cast<double>());
            }));
}
