// Gate-level circuit formulas: transistor capacitances and resistances,
// standard-cell layout of INV/NOR/NAND gates with folding, leakage, the
// Horowitz delay model, memory-device nonlinearity and interconnect wire
// resistance.
//
// The models reproduce DNN+NeuroSim V1.4 (formula.cpp and the wire helpers
// of its bus models) number for number, including its known quirks, which are
// marked "Reference behaviour" below and listed in from_neurosim/README.md.
//
// Units: metres, farads, ohms, amperes, volts, seconds, siemens, kelvin.
// Transistor widths are drawn widths in metres; on FinFET/GAA nodes a drawn
// width W stands for ceil(W / 2F) fins (or nanosheet stacks).
#pragma once

#include "technology.h"

namespace cimtech {

enum class GateType { INV = 0, NOR = 1, NAND = 2 };
enum class TransistorKind { NMOS = 0, PMOS = 1 };

// ---------------------------------------------------------------------------
// Layout and circuit rules, in units of the feature size F unless noted.
// ---------------------------------------------------------------------------
namespace rules {

// Standard-cell transistor-region height of planar nodes, and the reference
// height that the FinFET/GAA cell heights below are expressed against.
constexpr double kCellHeight = 28.0;
constexpr double kCellHeightMultiGate = 34.0;

constexpr double kMinNmosWidth = 2.0;     // minimum NMOS width
constexpr double kMaxNmosWidth = 100.0;   // maximum NMOS width

// Planar design rules.
constexpr double kPnDiffusionGap = 3.5;   // N to P diffusion spacing
constexpr double kPolyEndcap = 1.0;       // poly extension beyond diffusion
constexpr double kFieldPolyGap = 1.6;     // poly-to-poly spacing over field oxide
constexpr double kPolyWidth = 1.0;
constexpr double kGatePolyGap = 2.8;      // gap between gate polys (contact region)
constexpr double kSameTypeDiffusionGap = 1.6;
constexpr double kContactPolyGap = 0.7;
constexpr double kContactSize = 1.3;
constexpr double kPowerRailWidth = 3.4;
constexpr double kMetal2Pitch = 3.2;      // planar M2 pitch (along cell width)
constexpr double kMetal3Pitch = 2.8;      // planar M3 pitch (along cell height)

// Generic FinFET poly rules (used where no node-specific value exists).
constexpr double kPolyWidthMultiGate = 1.4;
constexpr double kGatePolyGapMultiGate = 3.9;

// Average fraction of the full leakage over the input states.
constexpr double kLeakRatioNand2 = 0.48;
constexpr double kLeakRatioNand3 = 0.31;  // used for every NAND with != 2 inputs
constexpr double kLeakRatioNor2 = 0.95;
constexpr double kLeakRatioNor3 = 0.62;   // used for every NOR with != 2 inputs

// Sense-amplifier device widths and other circuit constants.
constexpr double kSenseAmpWidthP = 7.5;
constexpr double kSenseAmpWidthN = 3.75;
constexpr double kSenseAmpWidthIso = 12.5;
constexpr double kSenseAmpWidthEnable = 5.0;
constexpr double kSenseAmpWidthMux = 9.0;
constexpr double kIrDropTolerance = 0.25;
constexpr double kLinearRegionRatio = 0.20;
constexpr double kHeightWidthRatioLimit = 5.0;
constexpr double kReadThresholdRatio = 0.2;

// Node-specific rules of the FinFET (14...3 nm) and GAA (2, 1 nm) nodes.
struct MultiGateRules {
    int node_nm;
    double cell_height;         // standard-cell height, F
    double pn_gap;              // P/N separation inside the cell, F
    double outer_region;        // cell height outside the fin region (per side), F
    double contacted_poly_pitch;  // CPP, F
    double poly_width;          // F
    double metal_pitch;         // M1 = M2 = M3 pitch, F
};

// Rules of a multi-gate node; throws std::invalid_argument for other nodes.
const MultiGateRules &multigate_rules(int node_nm);

// Standard-cell height (F) of a node: 28 for planar nodes, the node's own
// cell height for FinFET/GAA nodes.
double cell_height_in_F(int node_nm);
// Contacted poly pitch (F): 3.8 planar, node value otherwise.
double contacted_poly_pitch_in_F(int node_nm);
// M2 / M3 pitch (F): 3.2 / 2.8 planar, node value otherwise.
double metal2_pitch_in_F(int node_nm);
double metal3_pitch_in_F(int node_nm);

}  // namespace rules

// Default transistor-region height handed to the layout formulas: 28 F.  On
// FinFET/GAA nodes the formulas rescale it to the node's own cell height.
double standard_cell_height(const Technology &tech);

// ---------------------------------------------------------------------------
// Single transistors
// ---------------------------------------------------------------------------

// Effective channel width (m) that carries current / gate charge for a drawn
// width: the width itself on planar nodes, fins x fin perimeter on FinFET,
// stacks x sheets x sheet perimeter on GAA.
double effective_channel_width(double width, const Technology &tech);

// Gate capacitance (F) of one transistor.
double gate_cap(double width, const Technology &tech);

// Drain junction capacitance (F) of one transistor, from the layout of an
// inverter that contains only that transistor (so folding is included).
double drain_cap(double width, TransistorKind kind, double cell_height, const Technology &tech);

// Effective on-resistance (ohm) at temperature T (K, 300..400):
// multiplier * vdd / (I_on(T) * effective width).  With
// include_multiplier=false the CACTI multiplier is left out.
double on_resistance(double width, TransistorKind kind, double temperature,
                     const Technology &tech, bool include_multiplier = true);

// Transconductance (S).
double transconductance(double width, TransistorKind kind, const Technology &tech);

// ---------------------------------------------------------------------------
// Logic gates
// ---------------------------------------------------------------------------

struct Footprint {
    double area;    // m^2
    double height;  // m
    double width;   // m
};

// Layout of an INV / NOR / NAND standard cell with a fixed transistor-region
// height `cell_height` (normally standard_cell_height(tech)).  Devices wider
// than the region allows are folded.  On FinFET/GAA nodes the returned height
// is the node's own cell height.
Footprint gate_area(GateType type, int num_input, double width_n, double width_p,
                    double cell_height, const Technology &tech);

struct GateCaps {
    double input;   // F, one input (one NMOS + one PMOS gate)
    double output;  // F, drain caps tied to the output node
};

GateCaps gate_capacitance(GateType type, int num_input, double width_n, double width_p,
                          double cell_height, const Technology &tech);

// Variant for the nanosheet (GAA) nodes with a scaled gate cap and tuned
// effective sheet widths of the N and P drains (the reference uses it for
// special GAA layouts).  Only valid on GAA nodes.
GateCaps gate_capacitance_gaa(GateType type, int num_input, double width_n, double width_p,
                              double cell_height, const Technology &tech, double gate_factor,
                              double n_width_factor, double p_width_factor);

// Sub-threshold leakage current (A) averaged over input states, at T (K).
// Multiply by vdd for the leakage power.
double gate_leakage(GateType type, int num_input, double width_n, double width_p,
                    double temperature, const Technology &tech);

struct WidthPair {
    double width_n;  // m
    double width_p;  // m
};

// Widen minimum-size devices to the largest size that fits in the same cell
// area (planar: continuous; FinFET: whole fins, only when the P/N fin split
// stays integral; GAA: fixed sheet counts).
WidthPair enlarge_size(double width_n, double width_p, double cell_height, const Technology &tech);

// Layout of a transmission gate whose height grows with the folded device
// widths (num_fold >= 1; 1 means unfolded).
Footprint pass_gate_area(double width_n, double width_p, int num_fold, const Technology &tech);

// ---------------------------------------------------------------------------
// Delay, devices, wires
// ---------------------------------------------------------------------------

struct HorowitzResult {
    double delay;        // s
    double ramp_output;  // 1/s
};

// Horowitz gate-delay approximation (as in CACTI) for an RC time constant tr
// (s) driven by an input ramp of slope ramp_input (1/s; 1e20 ~ ideal step).
// Reference behaviour: `beta` is ignored and 0.5 is used.
HorowitzResult horowitz(double tr, double beta, double ramp_input);

// Resistance (ohm) at voltage V of a nonlinear memory device whose resistance
// is R at read voltage Vr; NL is the current nonlinearity between Vw/2 and Vr.
double nonlinear_resistance(double R, double NL, double Vw, double Vr, double V);

// Copper-wire technology entry for a drawn wire width.
struct WireMaterial {
    double aspect_ratio;       // thickness / width
    double resistivity;        // bulk-like resistivity of the width class, ohm*m
    double barrier_thickness;  // liner/barrier thickness, m (0 if the table has none)
};

enum class WireTable {
    Interconnect,  // table of the bus / H-tree models (with barrier thickness)
    Design         // table of the global design parameters (no barrier column;
                   // differs for 10-12 nm wide wires)
};

// Look up aspect ratio, resistivity (and barrier) for a wire of width
// `width_nm` (nm, >= 8).  Throws std::invalid_argument below 8 nm.
WireMaterial wire_material(double width_nm, WireTable table = WireTable::Interconnect);

// Resistance per unit length (ohm/m) of a wire of width `width_nm` (nm):
//   rho_eff = rho / (1 - (2*AR*w + w) * barrier / (AR * w^2))
//   rho_T   = rho_eff * (1 + 0.00451 * (T - 300))
//   R'      = rho_T / (w^2 * AR)              with w in metres here.
// Reference behaviour: in the barrier correction w is the number of
// nanometres while the barrier is in metres, so the correction is ~1e-10
// (negligible).  Kept as is.
double wire_resistance_per_length(double width_nm, double aspect_ratio, double resistivity,
                                  double barrier_thickness, double temperature = 300.0);

struct WireSegment {
    double width_nm;                // chosen wire width, nm
    double resistance_per_length;   // ohm/m
};

// Width and resistance per length of a bus / H-tree wire segment of length
// `wire_length` (m): segments of >= 1e5 F use 4x the base width, >= 1e4 F use
// 2x, shorter ones 1x; the material comes from the Interconnect table.
WireSegment interconnect_wire(double wire_length, double base_width_nm, double temperature,
                              const Technology &tech);

}  // namespace cimtech
