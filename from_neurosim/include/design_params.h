// Design parameters of a compute-in-memory chip, using the member names of
// DNN+NeuroSim V1.4's Param class so that NeuroSim users recognise every knob.
//
// Two kinds of values live here:
//   * base values: what a user chooses (cell type, sub-array size, node, ...).
//     They are stored, read back and written by name.
//   * derived values: everything that follows from the base values (wire widths and
//     resistivities of the node, operation-mode flags, cells per weight, ...).
//     They are computed from the current base values on every request, so they can
//     never go stale when a base value changes.
//
// Some base values have a rule-based default (per technology node, or from another
// value). They are std::optional: empty means "use the rule"; the effective value is
// what the rule (or the user's override) gives.
//
// All quantities are SI (m, ohm, V, s, Hz, K) unless the name says nm.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace cim {

// A value as seen by the generic accessors: nothing (an unset optional), bool,
// integer or real.
using FieldValue = std::variant<std::monostate, bool, long long, double>;

enum class FieldKind { Int, Float, Bool, OptFloat };

const char *kind_name(FieldKind kind);  // "int", "float", "bool", "optional_float"

// Facts that DNN+NeuroSim V1.4's Param.cpp sets per technology node.
struct NodeFacts {
    int node_nm;
    int wire_width_nm;          // wireWidth
    double metal0_nm;           // Metal0
    double metal1_nm;           // Metal1
    double barrier_m;           // barrierthickness
    double read_voltage;        // readVoltage
    double sram_height_f;       // heightInFeatureSizeSRAM
    double sram_width_f;        // widthInFeatureSizeSRAM
    double sizing_mux;          // sizingfactor_MUX
    double new_switch_ratio;    // newswitchmatrixsizeratio
    double switch_ratio;        // switchmatrixsizeratio
    double buffer_count;        // buffernumber
    double buffer_size_ratio;   // buffersizeratio
};

// nullptr when the node is not one of the supported ones.
const NodeFacts *find_node(int technode);
const std::vector<int> &supported_nodes();  // 130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1

// Bulk aspect ratio and resistivity (ohm*m) of a copper line of the given width (nm),
// before the barrier and temperature corrections (piecewise table of Param.cpp).
struct WireBulk {
    double aspect_ratio;
    double resistivity;
};
WireBulk wire_bulk(double width_nm);

class Param {
public:
    // ---------------- operating mode and cell ----------------
    int operationmode = 2;      // 1 conv. sequential, 2 conv. parallel, 3/4 BNN seq/par, 5/6 XNOR seq/par
    int operationmodeBack = 0;  // legacy (training); never read by inference
    int memcelltype = 1;        // 1 SRAM, 2 RRAM, 3 FeFET, 4 nvCap (V1.5; resistive-cell geometry)
    int subArrayRevision = 14;  // RRAM/FeFET word-line periphery: 14 as V1.4, 15 as V1.5
    int accesstype = 1;         // 1 CMOS (1T1R), 2 BJT, 3 diode, 4 none (crossbar)
    int transistortype = 1;     // 1 conventional
    int deviceroadmap = 2;      // 1 HP, 2 LSTP

    // ---------------- architecture switches ----------------
    bool globalBusType = false;     // false X-Y bus, true H-tree
    bool globalBufferType = false;  // false register file, true SRAM
    bool tileBufferType = false;
    bool peBufferType = false;
    bool chipActivation = true;     // true: activation at chip level
    bool reLu = true;               // false: sigmoid
    bool novelMapping = true;
    bool SARADC = false;            // false: multilevel sense amp
    bool currentMode = true;        // multilevel sense amp in current mode
    bool pipeline = true;
    bool validated = true;          // apply calibration factors alpha..zeta
    bool synchronous = true;
    bool Activationtype = true;     // sigmoid LUT: true SRAM, false RRAM
    bool speciallayout = true;      // special layout at GAA nodes
    bool sync_data_transfer = false;
    bool relaxArrayCellHeight = false;
    bool relaxArrayCellWidth = false;

    int globalBufferCoreSizeRow = 128;
    int globalBufferCoreSizeCol = 128;
    int tileBufferCoreSizeRow = 32;
    int tileBufferCoreSizeCol = 32;
    int speedUpDegree = 8;

    // ---------------- technology and clock ----------------
    double clkFreq = 1e9;  // Hz, upper bound
    int temp = 300;        // K
    int technode = 22;     // nm

    // ---------------- array and precision ----------------
    int numRowSubArray = 128;
    int numColSubArray = 128;
    int numRowParallel = 128;  // command-line value of the shipped wrapper
    int numColMuxed = 8;       // as set; eff::numColMuxed() gives the value used
    int levelOutput = 32;
    int cellBit = 1;           // as set; eff::cellBit() gives the value used
    int synapseBit = 8;
    int numBitInput = 8;
    std::optional<double> dumcolshared;  // empty: levelOutput

    // ---------------- cell geometry (in feature sizes) ----------------
    std::optional<double> heightInFeatureSizeSRAM;  // empty: node table
    std::optional<double> widthInFeatureSizeSRAM;   // empty: node table
    double widthSRAMCellNMOS = 1;
    double widthSRAMCellPMOS = 1;
    double widthAccessCMOS = 1;
    double minSenseVoltage = 0.1;
    double heightInFeatureSize1T1R = 4;
    double widthInFeatureSize1T1R = 12;
    double heightInFeatureSizeCrossbar = 2;
    double widthInFeatureSizeCrossbar = 2;

    // ---------------- device electrical ----------------
    double resistanceOn = 100e3;
    double resistanceOff = 1.7e6;
    std::optional<double> resistanceAccess;  // empty: IR-drop rule (0.25 * resistanceOn)
    std::optional<double> readVoltage;       // empty: node table
    double readPulseWidth = 10e-9;
    double chargeDelay = 5e-9;       // s, nvCap: charge transfer to the reference capacitor (V1.5)
    double accessVoltage = 1.1;
    double writeVoltage = 2;
    double writePulseWidth = 0;   // not set by V1.4 Param.cpp
    double numWritePulse = 0;     // legacy
    double maxNumLevelLTP = 0;    // legacy
    double maxNumLevelLTD = 0;    // legacy
    double readNoise = 0;         // legacy
    bool nonlinearIV = false;     // legacy
    double nonlinearity = 0;      // legacy
    int multipleCells = 0;        // legacy
    int neuro = 0;                // legacy
    int multifunctional = 0;      // legacy
    int parallelWrite = 0;        // legacy
    int numlut = 0;               // legacy
    int numWriteColMuxed = 0;     // legacy
    int avgWeightBit = 0;         // legacy

    // ---------------- interconnect ----------------
    double globalBusDelayTolerance = 0.1;
    double localBusDelayTolerance = 0.1;
    double treeFoldedRatio = 4;
    int maxGlobalBusWidth = 2048;
    double inputtoggle = 0.18;
    double outputtoggle = 0.5;

    // ---------------- per-node circuit sizing (empty: node table) ----------------
    std::optional<double> sizingfactor_MUX;
    std::optional<double> sizingfactor_WLdecoder;
    std::optional<double> newswitchmatrixsizeratio;
    std::optional<double> switchmatrixsizeratio;
    std::optional<double> buffernumber;
    std::optional<double> buffersizeratio;

    // ---------------- algorithm and calibration ----------------
    double algoWeightMax = 1;
    double algoWeightMin = -1;
    double alpha = 1.44;
    double beta = 1.4;
    double gamma = 0.5;
    double delta = 0.15;
    double epsilon = 0.05;
    double zeta = 1.22;

    // The node facts of technode; throws std::invalid_argument when unsupported.
    const NodeFacts &node() const;

    // Every problem NeuroSim's main() (or its tables) would reject; empty when valid.
    std::vector<std::string> problems() const;
    // Throws std::invalid_argument listing problems() when there is any.
    void validate() const;
    // Things that are accepted but silently changed or known to misbehave in V1.4.
    std::vector<std::string> warnings() const;
};

// ------------- effective values of the rule-based base values -------------
namespace eff {
int cellBit(const Param &p);
int numColMuxed(const Param &p);
double readVoltage(const Param &p);
double resistanceAccess(const Param &p);
double dumcolshared(const Param &p);
double heightInFeatureSizeSRAM(const Param &p);
double widthInFeatureSizeSRAM(const Param &p);
double sizingfactor_MUX(const Param &p);
double sizingfactor_WLdecoder(const Param &p);
double newswitchmatrixsizeratio(const Param &p);
double switchmatrixsizeratio(const Param &p);
double buffernumber(const Param &p);
double buffersizeratio(const Param &p);
}  // namespace eff

// ------------- derived (read-only) values -------------
namespace derive {
int wireWidth(const Param &p);            // nm
double featuresize(const Param &p);       // m (= wireWidth in m, NeuroSim's definition)
double Metal0(const Param &p);            // nm
double Metal1(const Param &p);            // nm
double barrierthickness(const Param &p);  // m
double AR(const Param &p);
double Rho(const Param &p);               // ohm*m, barrier- and temperature-corrected
double AR_Metal0(const Param &p);
double Rho_Metal0(const Param &p);
double AR_Metal1(const Param &p);
double Rho_Metal1(const Param &p);
double Metal0_unitwireresis(const Param &p);  // ohm/m
double Metal1_unitwireresis(const Param &p);  // ohm/m
double unitLengthWireResistance(const Param &p);  // ohm/m
double wireLengthRow(const Param &p);     // m
double wireLengthCol(const Param &p);     // m
double wireResistanceRow(const Param &p); // ohm
double wireResistanceCol(const Param &p); // ohm
double maxConductance(const Param &p);    // S
double minConductance(const Param &p);    // S
bool conventionalSequential(const Param &p);
bool conventionalParallel(const Param &p);
bool BNNsequentialMode(const Param &p);
bool BNNparallelMode(const Param &p);
bool XNORsequentialMode(const Param &p);
bool XNORparallelMode(const Param &p);
bool parallelRead(const Param &p);
int numRowPerSynapse(const Param &p);
int numColPerSynapse(const Param &p);
int numAdd(const Param &p);
double heightInFeatureSize(const Param &p);  // of the selected cell type
double widthInFeatureSize(const Param &p);
double cellHeight(const Param &p);           // m, at F = technode
double cellWidth(const Param &p);            // m
}  // namespace derive

// ------------- generic, name-based description of every field -------------
struct BaseField {
    std::string name;
    FieldKind kind;
    std::string unit;         // "" when dimensionless
    std::string doc;
    std::string default_text; // human-readable default ("32", "node table", ...)
    std::vector<long long> choices;  // allowed integer codes, empty when free
    std::function<FieldValue(const Param &)> get;      // effective value
    std::function<FieldValue(const Param &)> get_raw;  // stored value (monostate if unset)
    std::function<void(Param &, const FieldValue &)> set;  // monostate resets an optional
};

struct DerivedField {
    std::string name;
    FieldKind kind;  // Int, Float or Bool
    std::string unit;
    std::string doc;
    std::string depends_on;  // base names it follows, for docs and error messages
    std::function<FieldValue(const Param &)> get;
};

const std::vector<BaseField> &base_fields();
const std::vector<DerivedField> &derived_fields();
const BaseField *find_base(const std::string &name);
const DerivedField *find_derived(const std::string &name);

}  // namespace cim
