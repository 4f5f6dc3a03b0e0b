// Design parameters: per-node facts, rule-based defaults, derived values, checks and
// the name-based field registry used by the Python bindings. See design_params.h.
#include "design_params.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <stdexcept>

namespace cim {

const char *kind_name(FieldKind kind) {
    switch (kind) {
        case FieldKind::Int: return "int";
        case FieldKind::Float: return "float";
        case FieldKind::Bool: return "bool";
        case FieldKind::OptFloat: return "optional_float";
    }
    return "?";
}

// ---------------------------------------------------------------------------------
// Per-node facts. The numbers are published values, typed in as they are set per node
// in DNN+NeuroSim V1.4 Param.cpp (commit ac828e6): line widths of the lowest metal
// layers, liner/barrier thickness, on-chip read voltage, 6T SRAM cell size in F, and
// the recommended driver / switch-matrix / repeater sizing.
// ---------------------------------------------------------------------------------
namespace {

//                node wire  M0     M1     barrier  Vread  SRAM h  SRAM w  MUX   newSM  SM    buf  bufsz
const NodeFacts kNodes[] = {
    {130, 175, 175.0, 175.0, 10.0e-9, 0.58,  10.0,  28.0,    1.0,  6.0, 0.1,  0.0, 0.0},
    { 90, 110, 110.0, 110.0, 10.0e-9, 0.58,  10.0,  28.0,    1.0,  6.0, 0.1,  0.0, 0.0},
    { 65, 105, 105.0, 105.0,  7.0e-9, 0.55,  10.0,  28.0,    1.0,  6.0, 0.1,  0.0, 0.0},
    { 45,  80,  80.0,  80.0,  5.0e-9, 0.51,  10.0,  28.0,    1.0,  6.0, 0.1,  0.0, 0.0},
    { 32,  56,  56.0,  56.0,  4.0e-9, 0.51,  10.0,  28.0,    1.0,  6.0, 0.1,  0.0, 0.0},
    { 22,  40,  40.0,  40.0,  2.5e-9, 0.55,  10.0,  28.0,  110.0, 14.0, 0.2,  0.0, 0.0},
    { 14,  32,  32.0,  39.0,  2.5e-9, 0.277, 10.6,  30.8,  130.0,  6.0, 0.2,  0.0, 0.0},
    { 10,  22,  22.0,  32.0,  2.0e-9, 0.28,  12.8,  31.25,  80.0,  6.0, 0.2,  0.0, 0.0},
    {  7,  20,  20.0,  28.5,  2.0e-9, 0.264, 16.0,  34.43,  60.0,  6.0, 0.2,  0.0, 0.0},
    {  5,  15,  15.0,  17.0,  2.0e-9, 0.253, 19.2,  43.75,  50.0,  6.0, 0.06, 0.0, 0.0},
    {  3,  12,  12.0,  16.0,  1.5e-9, 0.248, 30.0,  68.26,  25.0,  6.0, 0.03, 0.0, 0.0},
    {  2,  10,  10.0,  11.5,  0.5e-9, 0.28,  42.0, 120.0,    25.0,  6.0, 0.1,  3.0, 3.0},
    {  1,   8,   8.0,  10.0,  0.2e-9, 0.272, 80.0, 144.0,    30.0,  6.0, 0.1,  3.0, 3.0},
};

// Copper line bulk properties by width (lower edge of each band in nm), as tabulated
// in DNN+NeuroSim V1.4 Param.cpp. Widths below 8 nm are outside the table.
struct WireBand {
    double min_width_nm;
    double aspect_ratio;
    double resistivity;
};
const WireBand kWireBands[] = {
    {175, 1.6, 2.01e-8}, {110, 1.6, 2.20e-8}, {105, 1.7, 2.21e-8}, {80, 1.7, 2.37e-8},
    {56, 1.8, 2.63e-8},  {40, 1.9, 2.97e-8},  {32, 2.0, 3.25e-8},  {22, 2.0, 3.95e-8},
    {20, 2.0, 4.17e-8},  {15, 2.0, 4.98e-8},  {12, 2.0, 5.8e-8},   {10, 2.0, 6.61e-8},
    {8, 3.0, 7.87e-8},
};

// Share of the on-resistance allowed for the access transistor (IR-drop budget).
constexpr double kIrDropTolerance = 0.25;
// Linear temperature coefficient applied to the wire resistivity, per kelvin from 300 K.
constexpr double kWireTempCoeff = 0.00451;

std::string join_nodes() {
    std::ostringstream s;
    for (size_t i = 0; i < supported_nodes().size(); ++i) {
        if (i) s << ", ";
        s << supported_nodes()[i];
    }
    return s.str();
}

// NeuroSim's size-effect correction of the resistivity for the liner/barrier. The
// original expression mixes nm (width) and m (barrier thickness); we keep the same
// units so the numbers match (the correction is therefore ~1e-10, i.e. negligible).
double barrier_corrected(double rho, double ar, double width_nm, double barrier_m) {
    const double w = width_nm;
    return rho / (1.0 - ((2.0 * ar * w + w) * barrier_m) / (ar * w * w));
}

bool is_power_of_two(long long v) { return v > 0 && (v & (v - 1)) == 0; }

}  // namespace

const NodeFacts *find_node(int technode) {
    for (const auto &n : kNodes)
        if (n.node_nm == technode) return &n;
    return nullptr;
}

const std::vector<int> &supported_nodes() {
    static const std::vector<int> nodes = [] {
        std::vector<int> v;
        for (const auto &n : kNodes) v.push_back(n.node_nm);
        return v;
    }();
    return nodes;
}

WireBulk wire_bulk(double width_nm) {
    for (const auto &b : kWireBands)
        if (width_nm >= b.min_width_nm) return {b.aspect_ratio, b.resistivity};
    std::ostringstream s;
    s << "wire width " << width_nm << " nm is outside the resistivity table (needs >= 8 nm)";
    throw std::invalid_argument(s.str());
}

const NodeFacts &Param::node() const {
    const NodeFacts *n = find_node(technode);
    if (!n) {
        std::ostringstream s;
        s << "technode=" << technode << " is not a supported technology node; valid: "
          << join_nodes() << " (nm)";
        throw std::invalid_argument(s.str());
    }
    return *n;
}

// ---------------------------------------------------------------------------------
// Effective values of rule-based knobs
// ---------------------------------------------------------------------------------
namespace eff {

int cellBit(const Param &p) {
    int bits = p.cellBit;
    if (p.memcelltype == 1) bits = 1;           // an SRAM cell holds one bit
    if (bits > p.synapseBit) bits = p.synapseBit;  // never more than a weight has
    return bits;
}

int numColMuxed(const Param &p) {
    // SRAM read row by row: one sense amp per weight, i.e. the columns of one weight
    // share it.
    if (p.memcelltype == 1 && derive::conventionalSequential(p)) return derive::numColPerSynapse(p);
    return p.numColMuxed;
}

double readVoltage(const Param &p) { return p.readVoltage ? *p.readVoltage : p.node().read_voltage; }
double resistanceAccess(const Param &p) {
    return p.resistanceAccess ? *p.resistanceAccess : p.resistanceOn * kIrDropTolerance;
}
double dumcolshared(const Param &p) { return p.dumcolshared ? *p.dumcolshared : double(p.levelOutput); }
double heightInFeatureSizeSRAM(const Param &p) {
    return p.heightInFeatureSizeSRAM ? *p.heightInFeatureSizeSRAM : p.node().sram_height_f;
}
double widthInFeatureSizeSRAM(const Param &p) {
    return p.widthInFeatureSizeSRAM ? *p.widthInFeatureSizeSRAM : p.node().sram_width_f;
}
double sizingfactor_MUX(const Param &p) {
    return p.sizingfactor_MUX ? *p.sizingfactor_MUX : p.node().sizing_mux;
}
double sizingfactor_WLdecoder(const Param &p) {
    // 1 at every node in V1.4; still checked against the node list for consistency.
    if (p.sizingfactor_WLdecoder) return *p.sizingfactor_WLdecoder;
    (void)p.node();
    return 1.0;
}
double newswitchmatrixsizeratio(const Param &p) {
    return p.newswitchmatrixsizeratio ? *p.newswitchmatrixsizeratio : p.node().new_switch_ratio;
}
double switchmatrixsizeratio(const Param &p) {
    return p.switchmatrixsizeratio ? *p.switchmatrixsizeratio : p.node().switch_ratio;
}
double buffernumber(const Param &p) { return p.buffernumber ? *p.buffernumber : p.node().buffer_count; }
double buffersizeratio(const Param &p) {
    return p.buffersizeratio ? *p.buffersizeratio : p.node().buffer_size_ratio;
}

}  // namespace eff

// ---------------------------------------------------------------------------------
// Derived values
// ---------------------------------------------------------------------------------
namespace derive {

int wireWidth(const Param &p) { return p.node().wire_width_nm; }
double featuresize(const Param &p) { return wireWidth(p) * 1e-9; }
double Metal0(const Param &p) { return p.node().metal0_nm; }
double Metal1(const Param &p) { return p.node().metal1_nm; }
double barrierthickness(const Param &p) { return p.node().barrier_m; }

double AR(const Param &p) { return wire_bulk(wireWidth(p)).aspect_ratio; }
double Rho(const Param &p) {
    const double w = wireWidth(p);
    const WireBulk b = wire_bulk(w);
    const double rho = barrier_corrected(b.resistivity, b.aspect_ratio, w, barrierthickness(p));
    return rho * (1.0 + kWireTempCoeff * std::abs(p.temp - 300));
}
double AR_Metal0(const Param &p) { return wire_bulk(Metal0(p)).aspect_ratio; }
double Rho_Metal0(const Param &p) {
    const WireBulk b = wire_bulk(Metal0(p));
    return barrier_corrected(b.resistivity, b.aspect_ratio, Metal0(p), barrierthickness(p));
}
double AR_Metal1(const Param &p) { return wire_bulk(Metal1(p)).aspect_ratio; }
double Rho_Metal1(const Param &p) {
    const WireBulk b = wire_bulk(Metal1(p));
    return barrier_corrected(b.resistivity, b.aspect_ratio, Metal1(p), barrierthickness(p));
}
double Metal0_unitwireresis(const Param &p) {
    const double w = Metal0(p) * 1e-9;
    return Rho_Metal0(p) / (w * w * AR_Metal0(p));
}
double Metal1_unitwireresis(const Param &p) {
    const double w = Metal1(p) * 1e-9;
    return Rho_Metal1(p) / (w * w * AR_Metal1(p));
}
double unitLengthWireResistance(const Param &p) {
    const double w = wireWidth(p) * 1e-9;
    return Rho(p) / (w * w * AR(p));
}

double heightInFeatureSize(const Param &p) {
    if (p.memcelltype == 1) return eff::heightInFeatureSizeSRAM(p);
    return p.accesstype == 1 ? p.heightInFeatureSize1T1R : p.heightInFeatureSizeCrossbar;
}
double widthInFeatureSize(const Param &p) {
    if (p.memcelltype == 1) return eff::widthInFeatureSizeSRAM(p);
    return p.accesstype == 1 ? p.widthInFeatureSize1T1R : p.widthInFeatureSizeCrossbar;
}
// NeuroSim pairs the "row" wire with the cell height and the "column" wire with the
// cell width, and measures both in units of the wire width (not the node).
double wireLengthRow(const Param &p) { return featuresize(p) * heightInFeatureSize(p); }
double wireLengthCol(const Param &p) { return featuresize(p) * widthInFeatureSize(p); }
double wireResistanceRow(const Param &p) { return unitLengthWireResistance(p) * wireLengthRow(p); }
double wireResistanceCol(const Param &p) { return unitLengthWireResistance(p) * wireLengthCol(p); }
double cellHeight(const Param &p) { return heightInFeatureSize(p) * p.node().node_nm * 1e-9; }
double cellWidth(const Param &p) { return widthInFeatureSize(p) * p.node().node_nm * 1e-9; }

double maxConductance(const Param &p) { return 1.0 / p.resistanceOn; }
double minConductance(const Param &p) { return 1.0 / p.resistanceOff; }

bool conventionalSequential(const Param &p) { return p.operationmode == 1; }
bool conventionalParallel(const Param &p) { return p.operationmode == 2; }
bool BNNsequentialMode(const Param &p) { return p.operationmode == 3; }
bool BNNparallelMode(const Param &p) { return p.operationmode == 4; }
bool XNORsequentialMode(const Param &p) { return p.operationmode == 5; }
bool XNORparallelMode(const Param &p) { return p.operationmode == 6; }
bool parallelRead(const Param &p) {
    return conventionalParallel(p) || BNNparallelMode(p) || XNORparallelMode(p);
}
int numRowPerSynapse(const Param &p) {
    return (XNORsequentialMode(p) || XNORparallelMode(p)) ? 2 : 1;
}
int numColPerSynapse(const Param &p) {
    if (BNNparallelMode(p)) return 2;
    if (XNORsequentialMode(p) || XNORparallelMode(p) || BNNsequentialMode(p)) return 1;
    const int bits = eff::cellBit(p);
    if (bits < 1) throw std::invalid_argument("cellBit must be >= 1 to split a weight into cells");
    return (p.synapseBit + bits - 1) / bits;
}
int numAdd(const Param &p) {
    if (p.numRowParallel < 1) throw std::invalid_argument("numRowParallel must be >= 1");
    return p.numRowSubArray / p.numRowParallel;  // integer division, as NeuroSim
}

}  // namespace derive

// ---------------------------------------------------------------------------------
// Checks
// ---------------------------------------------------------------------------------
std::vector<std::string> Param::problems() const {
    std::vector<std::string> out;
    auto add = [&](const std::string &s) { out.push_back(s); };
    auto choice = [&](const char *name, int value, std::initializer_list<int> valid, const char *what) {
        if (std::find(valid.begin(), valid.end(), value) == valid.end()) {
            std::ostringstream s;
            s << name << "=" << value << " is not valid; valid: " << what;
            add(s.str());
        }
    };
    const bool node_ok = find_node(technode) != nullptr;
    if (!node_ok) {
        std::ostringstream s;
        s << "technode=" << technode << " is not a supported technology node; valid: "
          << join_nodes() << " (nm)";
        add(s.str());
    }
    choice("operationmode", operationmode, {1, 2, 3, 4, 5, 6},
           "1 (conventional sequential), 2 (conventional parallel), 3 (BNN sequential), "
           "4 (BNN parallel), 5 (XNOR sequential), 6 (XNOR parallel)");
    choice("memcelltype", memcelltype, {1, 2, 3, 4}, "1 (SRAM), 2 (RRAM), 3 (FeFET), 4 (nvCap)");
    choice("subArrayRevision", subArrayRevision, {14, 15}, "14 (NeuroSim V1.4), 15 (NeuroSim V1.5)");
    choice("accesstype", accesstype, {1, 2, 3, 4},
           "1 (CMOS access, 1T1R), 2 (BJT), 3 (diode), 4 (none, crossbar)");
    choice("transistortype", transistortype, {1},
           "1 (conventional CMOS; the only type with technology data in V1.4)");
    choice("deviceroadmap", deviceroadmap, {1, 2}, "1 (HP), 2 (LSTP)");

    if (memcelltype == 4 && technode != 22)
        add("memcelltype=4 (nvCap) is only modelled at technode=22 (NeuroSim V1.5), not technode="
            + std::to_string(technode));
    if (memcelltype == 4 && operationmode != 2)
        add("memcelltype=4 (nvCap) needs operationmode=2 (conventional parallel), not operationmode="
            + std::to_string(operationmode));
    if (technode <= 14) {
        std::ostringstream at;
        at << " at technode=" << technode << " nm; it needs technode >= 22 (valid: 130, 90, 65, 45, 32, 22)";
        if (memcelltype == 2)
            add("memcelltype=2 (RRAM) is not supported" + at.str() + ", or choose memcelltype 1 (SRAM) or 3 (FeFET)");
        if (deviceroadmap == 1)
            add("deviceroadmap=1 (HP) is not supported" + at.str() + ", or choose deviceroadmap 2 (LSTP)");
        if (temp != 300) {
            std::ostringstream s;
            s << "temp=" << temp << " K is not supported at technode=" << technode
              << " nm; valid: 300 K at 14 nm and below (other temperatures need technode >= 22)";
            add(s.str());
        }
    }
    auto pow2 = [&](const char *name, int v) {
        if (!is_power_of_two(v)) {
            std::ostringstream s;
            s << name << "=" << v << " is not a power of two; valid: 2, 4, 8, ..., 64, 128, 256, ...";
            add(s.str());
        }
    };
    pow2("numRowSubArray", numRowSubArray);
    pow2("numColSubArray", numColSubArray);
    if (numRowParallel < 1 || numRowParallel > numRowSubArray) {
        std::ostringstream s;
        s << "numRowParallel=" << numRowParallel << " is not valid; valid: 1.." << numRowSubArray
          << " (at most numRowSubArray=" << numRowSubArray << ")";
        add(s.str());
    }
    if (cellBit < 1) {
        std::ostringstream s;
        s << "cellBit=" << cellBit << " is not valid; valid: 1.." << synapseBit;
        add(s.str());
    }
    if (synapseBit < 1) {
        std::ostringstream s;
        s << "synapseBit=" << synapseBit << " is not valid; valid: >= 1";
        add(s.str());
    }
    if (sync_data_transfer) {
        const bool ok = globalBusType && chipActivation && novelMapping && pipeline && synchronous &&
                        !globalBufferType;
        if (!ok)
            add("sync_data_transfer=true needs globalBusType=true (H-tree), chipActivation=true, "
                "novelMapping=true, pipeline=true, synchronous=true and globalBufferType=false");
    }
    return out;
}

void Param::validate() const {
    const auto list = problems();
    if (list.empty()) return;
    std::ostringstream s;
    s << "invalid design parameters: ";
    for (size_t i = 0; i < list.size(); ++i) {
        if (i) s << "; ";
        s << list[i];
    }
    throw std::invalid_argument(s.str());
}

std::vector<std::string> Param::warnings() const {
    std::vector<std::string> out;
    std::ostringstream s;
    auto flush = [&]() {
        out.push_back(s.str());
        s.str("");
        s.clear();
    };
    if (memcelltype == 1 && cellBit != 1) {
        s << "cellBit=" << cellBit << " is used as 1: an SRAM cell (memcelltype=1) stores one bit";
        flush();
    } else if (cellBit > synapseBit) {
        s << "cellBit=" << cellBit << " is used as synapseBit=" << synapseBit
          << ": a cell cannot hold more bits than a weight";
        flush();
    }
    if (synapseBit >= 1 && cellBit >= 1 && eff::numColMuxed(*this) != numColMuxed) {
        s << "numColMuxed=" << numColMuxed << " is used as " << eff::numColMuxed(*this)
          << " (numColPerSynapse): SRAM conventional sequential mode shares one sense amp per weight";
        flush();
    }
    if (numColMuxed > numColSubArray) {
        s << "numColMuxed=" << numColMuxed << " exceeds numColSubArray=" << numColSubArray
          << "; NeuroSim's sub-array clips it to numColSubArray";
        flush();
    }
    if (numRowParallel >= 1 && numRowSubArray % numRowParallel != 0) {
        s << "numRowSubArray=" << numRowSubArray << " is not a multiple of numRowParallel="
          << numRowParallel << "; NeuroSim truncates numAdd to " << numRowSubArray / numRowParallel;
        flush();
    }
    if (memcelltype != 1 && operationmode == 1 && cellBit >= 1 && synapseBit >= 1 && eff::cellBit(*this) == 1) {
        s << "memcelltype=" << memcelltype << " with operationmode=1 and cellBit=1 gives inf/nan "
          << "latency and energy in DNN+NeuroSim V1.4 (2-level sense amp reads outside its "
          << "reference list); use cellBit >= 2 to compare with it";
        flush();
    }
    if (!synchronous) {
        s << "synchronous=false gives inf latencies and nan leakage in DNN+NeuroSim V1.4 "
          << "(register-file buffer divides by a zero column count)";
        flush();
    }
    if (tileBufferType != peBufferType) {
        s << "tileBufferType is not read by DNN+NeuroSim V1.4: its tile buffers follow "
          << "peBufferType (=" << (peBufferType ? "true" : "false") << ")";
        flush();
    }
    return out;
}

// ---------------------------------------------------------------------------------
// Registry
// ---------------------------------------------------------------------------------
namespace {

long long as_int(const FieldValue &v, const std::string &name) {
    if (auto *i = std::get_if<long long>(&v)) return *i;
    if (auto *b = std::get_if<bool>(&v)) return *b ? 1 : 0;
    if (auto *d = std::get_if<double>(&v)) {
        if (std::floor(*d) == *d) return static_cast<long long>(*d);
    }
    throw std::invalid_argument(name + " needs an integer value");
}
double as_float(const FieldValue &v, const std::string &name) {
    if (auto *d = std::get_if<double>(&v)) return *d;
    if (auto *i = std::get_if<long long>(&v)) return static_cast<double>(*i);
    throw std::invalid_argument(name + " needs a real value");
}
bool as_bool(const FieldValue &v, const std::string &name) {
    if (auto *b = std::get_if<bool>(&v)) return *b;
    if (auto *i = std::get_if<long long>(&v)) {
        if (*i == 0 || *i == 1) return *i == 1;
    }
    throw std::invalid_argument(name + " needs a boolean value");
}

std::string fmt(double v) {
    std::ostringstream s;
    s << v;
    return s.str();
}

BaseField int_field(const std::string &name, int Param::*m, const std::string &unit,
                    const std::string &doc, std::vector<long long> choices = {},
                    int (*effective)(const Param &) = nullptr) {
    BaseField f;
    f.name = name;
    f.kind = FieldKind::Int;
    f.unit = unit;
    f.doc = doc;
    f.default_text = std::to_string(Param{}.*m);
    f.choices = std::move(choices);
    f.get_raw = [m](const Param &p) -> FieldValue { return static_cast<long long>(p.*m); };
    if (effective)
        f.get = [effective](const Param &p) -> FieldValue { return static_cast<long long>(effective(p)); };
    else
        f.get = f.get_raw;
    f.set = [m, name](Param &p, const FieldValue &v) {
        const long long x = as_int(v, name);
        if (x < INT_MIN || x > INT_MAX) throw std::out_of_range(name + " is out of the int range");
        p.*m = static_cast<int>(x);
    };
    return f;
}

BaseField float_field(const std::string &name, double Param::*m, const std::string &unit,
                      const std::string &doc) {
    BaseField f;
    f.name = name;
    f.kind = FieldKind::Float;
    f.unit = unit;
    f.doc = doc;
    f.default_text = fmt(Param{}.*m);
    f.get_raw = [m](const Param &p) -> FieldValue { return p.*m; };
    f.get = f.get_raw;
    f.set = [m, name](Param &p, const FieldValue &v) { p.*m = as_float(v, name); };
    return f;
}

BaseField bool_field(const std::string &name, bool Param::*m, const std::string &doc) {
    BaseField f;
    f.name = name;
    f.kind = FieldKind::Bool;
    f.doc = doc;
    f.default_text = (Param{}.*m) ? "true" : "false";
    f.get_raw = [m](const Param &p) -> FieldValue { return p.*m; };
    f.get = f.get_raw;
    f.set = [m, name](Param &p, const FieldValue &v) { p.*m = as_bool(v, name); };
    return f;
}

BaseField opt_field(const std::string &name, std::optional<double> Param::*m, const std::string &unit,
                    const std::string &doc, const std::string &default_text,
                    double (*effective)(const Param &)) {
    BaseField f;
    f.name = name;
    f.kind = FieldKind::OptFloat;
    f.unit = unit;
    f.doc = doc;
    f.default_text = default_text;
    f.get_raw = [m](const Param &p) -> FieldValue {
        if (p.*m) return *(p.*m);
        return std::monostate{};
    };
    f.get = [effective](const Param &p) -> FieldValue { return effective(p); };
    f.set = [m, name](Param &p, const FieldValue &v) {
        if (std::holds_alternative<std::monostate>(v))
            (p.*m).reset();
        else
            p.*m = as_float(v, name);
    };
    return f;
}

template <typename R>
DerivedField derived(const std::string &name, FieldKind kind, const std::string &unit,
                     const std::string &doc, const std::string &depends_on, R (*fn)(const Param &)) {
    DerivedField d;
    d.name = name;
    d.kind = kind;
    d.unit = unit;
    d.doc = doc;
    d.depends_on = depends_on;
    d.get = [fn, kind](const Param &p) -> FieldValue {
        if (kind == FieldKind::Bool) return static_cast<bool>(fn(p));
        if (kind == FieldKind::Int) return static_cast<long long>(fn(p));
        return static_cast<double>(fn(p));
    };
    return d;
}

const char *kTableNote = "node table (DNN+NeuroSim V1.4 Param.cpp)";

std::vector<BaseField> make_base_fields() {
    using P = Param;
    std::vector<BaseField> v;
    // operating mode, cell, technology
    v.push_back(int_field("operationmode", &P::operationmode, "",
        "Read mode: 1 conventional sequential (one row per cycle), 2 conventional parallel "
        "(numRowParallel rows at once), 3/4 BNN sequential/parallel, 5/6 XNOR sequential/parallel.",
        {1, 2, 3, 4, 5, 6}));
    v.push_back(int_field("operationmodeBack", &P::operationmodeBack, "",
        "Legacy (training) back-propagation read mode; not read by inference."));
    v.push_back(int_field("memcelltype", &P::memcelltype, "",
        "Memory cell: 1 SRAM (6T, forces cellBit=1), 2 RRAM, 3 FeFET, 4 nvCap (NeuroSim V1.5 "
        "capacitive cell; laid out like RRAM/FeFET).", {1, 2, 3, 4}));
    v.push_back(int_field("subArrayRevision", &P::subArrayRevision, "",
        "RRAM/FeFET/nvCap word-line periphery: 14 as NeuroSim V1.4 (sized to the array height, "
        "word-line energy at vdd), 15 as V1.5 (sized to the sub-array height less the mux "
        "decoder, word-line energy at accessVoltage).", {14, 15}));
    v.push_back(int_field("accesstype", &P::accesstype, "",
        "Cell access device for RRAM/FeFET: 1 CMOS transistor (1T1R), 2 BJT, 3 diode, 4 none (crossbar).",
        {1, 2, 3, 4}));
    v.push_back(int_field("transistortype", &P::transistortype, "",
        "Transistor type: 1 conventional CMOS (the only one with technology data).", {1}));
    v.push_back(int_field("deviceroadmap", &P::deviceroadmap, "",
        "Transistor roadmap: 1 HP (high performance, 22 nm and above), 2 LSTP (low standby power).",
        {1, 2}));
    v.push_back(int_field("technode", &P::technode, "nm",
        "Technology node in nm: 130, 90, 65, 45, 32, 22 (planar), 14, 10, 7, 5, 3 (FinFET), 2, 1 (GAA)."));
    v.push_back(int_field("temp", &P::temp, "K",
        "Operating temperature in K (only 300 K at 14 nm and below); scales wire resistivity."));
    v.push_back(float_field("clkFreq", &P::clkFreq, "Hz",
        "Clock frequency upper bound in Hz; in synchronous mode the clock is lowered to 1/(slowest sensing cycle)."));

    // architecture switches
    v.push_back(bool_field("globalBusType", &P::globalBusType,
        "Global interconnect: false X-Y bus, true H-tree."));
    v.push_back(bool_field("globalBufferType", &P::globalBufferType,
        "Global buffer: false register file, true SRAM."));
    v.push_back(int_field("globalBufferCoreSizeRow", &P::globalBufferCoreSizeRow, "bit",
        "Rows of one global-buffer core, in bits."));
    v.push_back(int_field("globalBufferCoreSizeCol", &P::globalBufferCoreSizeCol, "bit",
        "Columns of one global-buffer core, in bits."));
    v.push_back(bool_field("tileBufferType", &P::tileBufferType,
        "Tile buffer: false register file, true SRAM (V1.4 never reads it; tile buffers follow peBufferType)."));
    v.push_back(int_field("tileBufferCoreSizeRow", &P::tileBufferCoreSizeRow, "bit",
        "Rows of one tile-buffer core, in bits."));
    v.push_back(int_field("tileBufferCoreSizeCol", &P::tileBufferCoreSizeCol, "bit",
        "Columns of one tile-buffer core, in bits."));
    v.push_back(bool_field("peBufferType", &P::peBufferType,
        "PE buffer: false register file, true SRAM (in V1.4 this selects the tile buffers; PE buffers are always registers)."));
    v.push_back(bool_field("chipActivation", &P::chipActivation,
        "Activation unit location: true at chip level, false inside each tile."));
    v.push_back(bool_field("reLu", &P::reLu, "Activation function: true ReLU, false sigmoid (LUT)."));
    v.push_back(bool_field("Activationtype", &P::Activationtype,
        "Sigmoid LUT memory when reLu is false: true SRAM, false RRAM."));
    v.push_back(bool_field("novelMapping", &P::novelMapping,
        "Novel mapping of conv kernels (one PE per kernel position) for eligible layers."));
    v.push_back(bool_field("SARADC", &P::SARADC,
        "Column ADC: false multilevel sense amp (flash-like), true successive-approximation ADC."));
    v.push_back(bool_field("currentMode", &P::currentMode,
        "Multilevel sense amp sensing: true current mode, false voltage mode."));
    v.push_back(bool_field("pipeline", &P::pipeline,
        "Layer pipeline (latency = slowest layer); false processes layer by layer (latencies add)."));
    v.push_back(int_field("speedUpDegree", &P::speedUpDegree, "",
        "Pipeline speed-up target (weight duplication); clipped by the network's IFM sizes."));
    v.push_back(bool_field("validated", &P::validated,
        "Apply the silicon-calibrated factors alpha..zeta (TOPS/W is divided by zeta)."));
    v.push_back(bool_field("synchronous", &P::synchronous,
        "Synchronous design: the clock is set by the slowest sensing cycle (false: asynchronous)."));
    v.push_back(bool_field("sync_data_transfer", &P::sync_data_transfer,
        "Synchronous data transfer mode for buffers and buses (needs H-tree, chip activation, "
        "novel mapping, pipeline, synchronous, register global buffer)."));
    v.push_back(bool_field("speciallayout", &P::speciallayout,
        "Use the special standard-cell layout at the GAA nodes (2 nm and 1 nm)."));
    v.push_back(bool_field("relaxArrayCellHeight", &P::relaxArrayCellHeight,
        "Relax the array cell height to fit the peripheral pitch."));
    v.push_back(bool_field("relaxArrayCellWidth", &P::relaxArrayCellWidth,
        "Relax the array cell width to fit the peripheral pitch."));

    // array and precision
    v.push_back(int_field("numRowSubArray", &P::numRowSubArray, "",
        "Rows per sub-array (power of two; a command-line argument of NeuroSim)."));
    v.push_back(int_field("numColSubArray", &P::numColSubArray, "",
        "Columns per sub-array (power of two)."));
    v.push_back(int_field("numRowParallel", &P::numRowParallel, "",
        "Rows activated together in parallel read (1..numRowSubArray; a command-line argument of NeuroSim)."));
    v.push_back(int_field("numColMuxed", &P::numColMuxed, "",
        "Columns sharing one ADC / sense amp through a mux. Reads give the value used: "
        "numColPerSynapse in SRAM conventional sequential mode.",
        {}, &eff::numColMuxed));
    v.push_back(int_field("levelOutput", &P::levelOutput, "",
        "ADC output levels in parallel read (2^N; 32 = 5-bit ADC)."));
    v.push_back(int_field("cellBit", &P::cellBit, "bit",
        "Bits stored per memory cell. Reads give the value used: 1 for SRAM, at most synapseBit.",
        {}, &eff::cellBit));
    v.push_back(int_field("synapseBit", &P::synapseBit, "bit",
        "Weight precision in bits (a command-line argument of NeuroSim)."));
    v.push_back(int_field("numBitInput", &P::numBitInput, "bit",
        "Activation precision in bits, fed bit-serially (a command-line argument of NeuroSim)."));
    v.push_back(opt_field("dumcolshared", &P::dumcolshared, "",
        "Sense amps sharing one dummy reference column (None: levelOutput).", "levelOutput",
        &eff::dumcolshared));

    // cell geometry
    v.push_back(opt_field("heightInFeatureSizeSRAM", &P::heightInFeatureSizeSRAM, "F",
        "SRAM cell height in feature sizes (None: node table; 10 F above 14 nm).", kTableNote,
        &eff::heightInFeatureSizeSRAM));
    v.push_back(opt_field("widthInFeatureSizeSRAM", &P::widthInFeatureSizeSRAM, "F",
        "SRAM cell width in feature sizes (None: node table; 28 F above 14 nm).", kTableNote,
        &eff::widthInFeatureSizeSRAM));
    v.push_back(float_field("widthSRAMCellNMOS", &P::widthSRAMCellNMOS, "F",
        "SRAM cell pull-down NMOS width in feature sizes."));
    v.push_back(float_field("widthSRAMCellPMOS", &P::widthSRAMCellPMOS, "F",
        "SRAM cell pull-up PMOS width in feature sizes."));
    v.push_back(float_field("widthAccessCMOS", &P::widthAccessCMOS, "F",
        "Access transistor width in feature sizes (SRAM pass gate)."));
    v.push_back(float_field("minSenseVoltage", &P::minSenseVoltage, "V",
        "Minimum bit-line swing the SRAM sense amp resolves, in V."));
    v.push_back(float_field("heightInFeatureSize1T1R", &P::heightInFeatureSize1T1R, "F",
        "1T1R cell height in feature sizes."));
    v.push_back(float_field("widthInFeatureSize1T1R", &P::widthInFeatureSize1T1R, "F",
        "1T1R cell width in feature sizes."));
    v.push_back(float_field("heightInFeatureSizeCrossbar", &P::heightInFeatureSizeCrossbar, "F",
        "Crossbar (no access device) cell height in feature sizes."));
    v.push_back(float_field("widthInFeatureSizeCrossbar", &P::widthInFeatureSizeCrossbar, "F",
        "Crossbar (no access device) cell width in feature sizes."));

    // device electrical
    v.push_back(float_field("resistanceOn", &P::resistanceOn, "ohm",
        "Low-resistance (on) state of the cell at the read voltage, in ohm."));
    v.push_back(float_field("resistanceOff", &P::resistanceOff, "ohm",
        "High-resistance (off) state of the cell at the read voltage, in ohm."));
    v.push_back(opt_field("resistanceAccess", &P::resistanceAccess, "ohm",
        "On-resistance of the 1T1R access transistor in ohm (None: 0.25 x resistanceOn, the IR-drop budget).",
        "0.25*resistanceOn", &eff::resistanceAccess));
    v.push_back(opt_field("readVoltage", &P::readVoltage, "V",
        "On-chip cell read voltage in V (None: node table, e.g. 0.55 V at 22 nm).", kTableNote,
        &eff::readVoltage));
    v.push_back(float_field("readPulseWidth", &P::readPulseWidth, "s", "Read pulse width in s."));
    v.push_back(float_field("chargeDelay", &P::chargeDelay, "s",
        "nvCap (memcelltype 4): time to move the column charge to the reference capacitor, s."));
    v.push_back(float_field("accessVoltage", &P::accessVoltage, "V",
        "Gate voltage of the 1T1R access transistor in V."));
    v.push_back(float_field("writeVoltage", &P::writeVoltage, "V",
        "Cell write voltage in V (level shifters are built above 1.5 V)."));
    v.push_back(float_field("writePulseWidth", &P::writePulseWidth, "s",
        "Write pulse width in s (not set by V1.4 Param.cpp; not used by inference)."));
    v.push_back(float_field("numWritePulse", &P::numWritePulse, "",
        "Legacy (training) write pulse count; not used by inference."));
    v.push_back(float_field("maxNumLevelLTP", &P::maxNumLevelLTP, "",
        "Legacy (training) conductance levels for potentiation; not used by inference."));
    v.push_back(float_field("maxNumLevelLTD", &P::maxNumLevelLTD, "",
        "Legacy (training) conductance levels for depression; not used by inference."));
    v.push_back(float_field("readNoise", &P::readNoise, "",
        "Legacy read-noise sigma; not used by NeuroSim's inference estimator."));
    v.push_back(bool_field("nonlinearIV", &P::nonlinearIV,
        "Legacy: model I-V nonlinearity of crossbar cells; not used by inference."));
    v.push_back(float_field("nonlinearity", &P::nonlinearity, "",
        "Legacy: current ratio at Vw and Vw/2 for nonlinear cells; not used by inference."));
    v.push_back(int_field("multipleCells", &P::multipleCells, "",
        "Legacy: cells per synapse in a multi-cell layout; not used by inference."));
    v.push_back(int_field("neuro", &P::neuro, "", "Legacy mode flag; not used by inference."));
    v.push_back(int_field("multifunctional", &P::multifunctional, "", "Legacy mode flag; not used by inference."));
    v.push_back(int_field("parallelWrite", &P::parallelWrite, "", "Legacy mode flag; not used by inference."));
    v.push_back(int_field("numlut", &P::numlut, "", "Legacy LUT entry count; not used by inference."));
    v.push_back(int_field("numWriteColMuxed", &P::numWriteColMuxed, "",
        "Legacy write mux width; not used by inference."));
    v.push_back(int_field("avgWeightBit", &P::avgWeightBit, "",
        "Legacy; NeuroSim uses cellBit for the sub-array's average weight bits."));

    // interconnect
    v.push_back(float_field("globalBusDelayTolerance", &P::globalBusDelayTolerance, "",
        "Allowed delay increase of the chip-level bus over its fastest repeater design (0.1 = +10%), traded for energy."));
    v.push_back(float_field("localBusDelayTolerance", &P::localBusDelayTolerance, "",
        "Allowed delay increase of the tile-level bus over its fastest repeater design."));
    v.push_back(float_field("treeFoldedRatio", &P::treeFoldedRatio, "",
        "H-tree folding ratio in layout (area saving)."));
    v.push_back(int_field("maxGlobalBusWidth", &P::maxGlobalBusWidth, "bit",
        "Upper bound of the chip-level bus width in bits."));
    v.push_back(float_field("inputtoggle", &P::inputtoggle, "",
        "Toggle rate of input bits on buses and buffers (0..1)."));
    v.push_back(float_field("outputtoggle", &P::outputtoggle, "",
        "Toggle rate of output bits on buses and buffers (0..1)."));

    // per-node circuit sizing
    v.push_back(opt_field("sizingfactor_MUX", &P::sizingfactor_MUX, "",
        "Width multiplier of the final mux-decoder driver (None: node table; 110 at 22 nm).",
        kTableNote, &eff::sizingfactor_MUX));
    v.push_back(opt_field("sizingfactor_WLdecoder", &P::sizingfactor_WLdecoder, "",
        "Width multiplier of the final word-line decoder driver (None: 1 at every node).", "1",
        &eff::sizingfactor_WLdecoder));
    v.push_back(opt_field("newswitchmatrixsizeratio", &P::newswitchmatrixsizeratio, "",
        "Transmission-gate size ratio of the 1T1R word-line switch matrix (None: node table).",
        kTableNote, &eff::newswitchmatrixsizeratio));
    v.push_back(opt_field("switchmatrixsizeratio", &P::switchmatrixsizeratio, "",
        "Transmission-gate size ratio of the switch matrices (None: node table).", kTableNote,
        &eff::switchmatrixsizeratio));
    v.push_back(opt_field("buffernumber", &P::buffernumber, "",
        "Repeaters inserted along a sub-array row (None: node table; 3 at 2 and 1 nm, else 0).",
        kTableNote, &eff::buffernumber));
    v.push_back(opt_field("buffersizeratio", &P::buffersizeratio, "",
        "Size ratio of those repeaters (None: node table).", kTableNote, &eff::buffersizeratio));

    // algorithm and calibration
    v.push_back(float_field("algoWeightMax", &P::algoWeightMax, "",
        "Largest weight value of the trained network (mapped to the top conductance)."));
    v.push_back(float_field("algoWeightMin", &P::algoWeightMin, "",
        "Smallest weight value of the trained network."));
    v.push_back(float_field("alpha", &P::alpha, "",
        "Calibration (validated only): level-shifter wiring area factor."));
    v.push_back(float_field("beta", &P::beta, "",
        "Calibration (validated only): sensing-cycle latency factor."));
    v.push_back(float_field("gamma", &P::gamma, "",
        "Calibration (validated only): DFF switching activity in shift-adds and accumulators."));
    v.push_back(float_field("delta", &P::delta, "",
        "Calibration (validated only): adder switching activity."));
    v.push_back(float_field("epsilon", &P::epsilon, "",
        "Calibration (validated only): control-circuit switching activity."));
    v.push_back(float_field("zeta", &P::zeta, "",
        "Calibration (validated only): post-layout energy increase (TOPS/W is divided by it)."));
    return v;
}

std::vector<DerivedField> make_derived_fields() {
    using K = FieldKind;
    namespace d = derive;
    std::vector<DerivedField> v;
    v.push_back(derived("featuresize", K::Float, "m",
        "NeuroSim's Param feature size in m: the node's wire width (40 nm at 22 nm), not the node itself.",
        "technode", &d::featuresize));
    v.push_back(derived("wireWidth", K::Int, "nm", "Local wire width of the node in nm.", "technode", &d::wireWidth));
    v.push_back(derived("Metal0", K::Float, "nm", "Metal-0 line width in nm.", "technode", &d::Metal0));
    v.push_back(derived("Metal1", K::Float, "nm", "Metal-1 line width in nm.", "technode", &d::Metal1));
    v.push_back(derived("barrierthickness", K::Float, "m", "Copper liner/barrier thickness in m.",
        "technode", &d::barrierthickness));
    v.push_back(derived("AR", K::Float, "", "Aspect ratio (height/width) of the wireWidth line.",
        "technode", &d::AR));
    v.push_back(derived("Rho", K::Float, "ohm*m",
        "Resistivity of the wireWidth line in ohm*m, with barrier and temperature corrections.",
        "technode, temp", &d::Rho));
    v.push_back(derived("AR_Metal0", K::Float, "", "Aspect ratio of the Metal0 line.", "technode", &d::AR_Metal0));
    v.push_back(derived("Rho_Metal0", K::Float, "ohm*m",
        "Resistivity of the Metal0 line in ohm*m (barrier-corrected, no temperature term).",
        "technode", &d::Rho_Metal0));
    v.push_back(derived("AR_Metal1", K::Float, "", "Aspect ratio of the Metal1 line.", "technode", &d::AR_Metal1));
    v.push_back(derived("Rho_Metal1", K::Float, "ohm*m",
        "Resistivity of the Metal1 line in ohm*m (barrier-corrected, no temperature term).",
        "technode", &d::Rho_Metal1));
    v.push_back(derived("Metal0_unitwireresis", K::Float, "ohm/m", "Metal0 resistance per length in ohm/m.",
        "technode", &d::Metal0_unitwireresis));
    v.push_back(derived("Metal1_unitwireresis", K::Float, "ohm/m", "Metal1 resistance per length in ohm/m.",
        "technode", &d::Metal1_unitwireresis));
    v.push_back(derived("unitLengthWireResistance", K::Float, "ohm/m",
        "Array wire resistance per length in ohm/m (Rho / (wireWidth^2 * AR)).", "technode, temp",
        &d::unitLengthWireResistance));
    v.push_back(derived("wireLengthRow", K::Float, "m",
        "Row wire length across one cell in m (featuresize * cell height in F).",
        "technode, memcelltype, accesstype, cell size", &d::wireLengthRow));
    v.push_back(derived("wireLengthCol", K::Float, "m",
        "Column wire length across one cell in m (featuresize * cell width in F).",
        "technode, memcelltype, accesstype, cell size", &d::wireLengthCol));
    v.push_back(derived("wireResistanceRow", K::Float, "ohm", "Row wire resistance across one cell in ohm.",
        "technode, temp, memcelltype, accesstype, cell size", &d::wireResistanceRow));
    v.push_back(derived("wireResistanceCol", K::Float, "ohm", "Column wire resistance across one cell in ohm.",
        "technode, temp, memcelltype, accesstype, cell size", &d::wireResistanceCol));
    v.push_back(derived("heightInFeatureSize", K::Float, "F",
        "Cell height in F of the selected cell (SRAM, 1T1R or crossbar).",
        "memcelltype, accesstype, technode, cell size", &d::heightInFeatureSize));
    v.push_back(derived("widthInFeatureSize", K::Float, "F",
        "Cell width in F of the selected cell (SRAM, 1T1R or crossbar).",
        "memcelltype, accesstype, technode, cell size", &d::widthInFeatureSize));
    v.push_back(derived("cellHeight", K::Float, "m",
        "Cell height in m: heightInFeatureSize * technode (the sub-array lays cells out at F = node).",
        "memcelltype, accesstype, technode, cell size", &d::cellHeight));
    v.push_back(derived("cellWidth", K::Float, "m",
        "Cell width in m: widthInFeatureSize * technode.", "memcelltype, accesstype, technode, cell size",
        &d::cellWidth));
    v.push_back(derived("maxConductance", K::Float, "S", "Largest cell conductance in S (1/resistanceOn).",
        "resistanceOn", &d::maxConductance));
    v.push_back(derived("minConductance", K::Float, "S", "Smallest cell conductance in S (1/resistanceOff).",
        "resistanceOff", &d::minConductance));
    v.push_back(derived("conventionalSequential", K::Bool, "", "operationmode == 1.", "operationmode",
        &d::conventionalSequential));
    v.push_back(derived("conventionalParallel", K::Bool, "", "operationmode == 2.", "operationmode",
        &d::conventionalParallel));
    v.push_back(derived("BNNsequentialMode", K::Bool, "", "operationmode == 3.", "operationmode",
        &d::BNNsequentialMode));
    v.push_back(derived("BNNparallelMode", K::Bool, "", "operationmode == 4.", "operationmode",
        &d::BNNparallelMode));
    v.push_back(derived("XNORsequentialMode", K::Bool, "", "operationmode == 5.", "operationmode",
        &d::XNORsequentialMode));
    v.push_back(derived("XNORparallelMode", K::Bool, "", "operationmode == 6.", "operationmode",
        &d::XNORparallelMode));
    v.push_back(derived("parallelRead", K::Bool, "", "True in the parallel read modes (2, 4, 6).",
        "operationmode", &d::parallelRead));
    v.push_back(derived("numRowPerSynapse", K::Int, "", "Rows per weight: 2 in XNOR modes, else 1.",
        "operationmode", &d::numRowPerSynapse));
    v.push_back(derived("numColPerSynapse", K::Int, "",
        "Columns (cells) per weight: ceil(synapseBit / cellBit used); 2 in BNN parallel, 1 in BNN sequential and XNOR.",
        "operationmode, synapseBit, cellBit, memcelltype", &d::numColPerSynapse));
    v.push_back(derived("numAdd", K::Int, "",
        "Row groups read one after another per input vector: numRowSubArray / numRowParallel (integer division).",
        "numRowSubArray, numRowParallel", &d::numAdd));
    return v;
}

}  // namespace

const std::vector<BaseField> &base_fields() {
    static const std::vector<BaseField> fields = make_base_fields();
    return fields;
}

const std::vector<DerivedField> &derived_fields() {
    static const std::vector<DerivedField> fields = make_derived_fields();
    return fields;
}

const BaseField *find_base(const std::string &name) {
    for (const auto &f : base_fields())
        if (f.name == name) return &f;
    return nullptr;
}

const DerivedField *find_derived(const std::string &name) {
    for (const auto &f : derived_fields())
        if (f.name == name) return &f;
    return nullptr;
}

}  // namespace cim
