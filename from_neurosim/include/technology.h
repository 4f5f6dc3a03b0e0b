// Transistor technology description for one process node.
//
// A Technology object holds every device quantity that the gate-level formulas
// (gate_formulas.h) and the circuit models built on them need: supply and
// threshold voltages, gate/junction capacitances per unit width, on/off
// current densities tabulated from 300 K to 400 K, and the fin / nanosheet
// geometry of the FinFET and gate-all-around nodes.
//
// The public member names deliberately follow the field names of the
// reference data (shared/reference/neurosim14/formula_golden.json) so that the
// two can be compared one to one.  All quantities are SI.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace cimtech {

// Device roadmap flavour: high performance or low standby power.
enum class Roadmap { HP, LSTP };

// Transistor technology family.  Only bulk/FinFET/GAA silicon CMOS
// ("conventional") is modelled; the enum leaves room for other families.
enum class TransistorType { Conventional };

// Device structure implied by the node.
enum class DeviceArchitecture { Planar, FinFET, GAA };

// Number of entries in the temperature tables (300 K ... 400 K, 1 K apart).
constexpr int kTemperatureTableSize = 101;
constexpr double kTableMinTemperature = 300.0;
constexpr double kTableMaxTemperature = 400.0;

using TemperatureTable = std::array<double, kTemperatureTableSize>;

std::string roadmap_name(Roadmap r);
std::string transistor_type_name(TransistorType t);
std::string architecture_name(DeviceArchitecture a);

// Parse "HP"/"LSTP" (case-insensitive; "LP" is accepted as LSTP).
// Throws std::invalid_argument listing the valid names.
Roadmap parse_roadmap(const std::string &name);
// Parse "conventional" (case-insensitive).  Throws std::invalid_argument.
TransistorType parse_transistor_type(const std::string &name);

class Technology {
public:
    // Build the technology of `node_nm` (130, 90, 65, 45, 32, 22 planar;
    // 14, 10, 7, 5, 3 FinFET; 2, 1 GAA) for the given roadmap.  HP exists
    // only for the planar nodes (>= 22 nm).  `temperature` (K, 300..400) is
    // the default operating temperature used by the formula helpers when no
    // explicit temperature is passed.
    // Throws std::invalid_argument for an unsupported combination.
    Technology(int node_nm, Roadmap roadmap,
               TransistorType transistor_type = TransistorType::Conventional,
               double temperature = 300.0);

    // Valid nodes for a roadmap, largest first.
    static std::vector<int> supported_nodes(Roadmap roadmap);

    // Index into the temperature tables for temperature T (K).  Like the
    // reference model the temperature is truncated to whole kelvin.  Throws
    // std::invalid_argument outside 300..400 K.
    static int temperature_index(double temperature);

    // ---- identity -------------------------------------------------------
    int featureSizeInNano;           // node, nm
    Roadmap deviceRoadmap;
    TransistorType transistorType;
    DeviceArchitecture architecture;
    double temperature;              // default operating temperature, K

    // ---- device quantities (names as in the reference data) -----------------
    double featureSize;              // F, m
    double vdd;                      // supply voltage, V
    double vth;                      // threshold voltage, V (0.1 placeholder below 22 nm)
    double heightFin;                // fin height, m (0 where not given)
    double widthFin;                 // fin width (GAA: sheet width), m
    double PitchFin;                 // fin / sheet-stack pitch, m
    double phyGateLength;            // physical gate length, m
    double capIdealGate;             // intrinsic gate cap, F/m of (effective) width
    double capFringe;                // fringe cap, F/m (0 below 22 nm: folded into capIdealGate)
    double capJunction;              // bottom junction cap, F/m^2
    double capOverlap;               // gate-drain overlap cap, F/m (0 below 22 nm)
    double capSidewall;              // isolation-edge sidewall junction cap, F/m
    double capDrainToChannel;        // gate-edge sidewall junction cap, F/m
    double buildInPotential;         // junction built-in potential, V
    double pnSizeRatio;              // PMOS/NMOS width ratio for equal drive
    double effectiveResistanceMultiplier;  // R_on = multiplier * vdd / I_on
    double current_gmNmos;           // NMOS current density used for gm, A/m
    double current_gmPmos;           // PMOS current density used for gm, A/m
    double capPolywire;              // poly wire cap, F/m (always 0)
    double max_sheet_num;            // GAA: nanosheets per stack
    double thickness_sheet;          // GAA: sheet thickness, m
    double width_sheet;              // GAA: sheet width, m
    double effective_width;          // FinFET: per fin; GAA: per sheet, m
    double max_fin_num;              // FinFET: fins per device in a standard cell
    double max_fin_per_GAA;          // GAA: stacks per device in a standard cell
    double gm_oncurrent;             // FinFET/GAA transconductance density, S/m
    double cap_draintotal;           // total drain cap per effective width, F/m (0 where not defined)

    TemperatureTable currentOnNmos;  // A/m, index = T - 300 K
    TemperatureTable currentOnPmos;
    TemperatureTable currentOffNmos;
    TemperatureTable currentOffPmos;

    bool is_planar() const { return architecture == DeviceArchitecture::Planar; }
    bool is_finfet() const { return architecture == DeviceArchitecture::FinFET; }
    bool is_gaa() const { return architecture == DeviceArchitecture::GAA; }

private:
    void load_planar(int node_nm, Roadmap roadmap);
    void load_multigate(int node_nm);
    void derive_junction_caps();
};

}  // namespace cimtech
