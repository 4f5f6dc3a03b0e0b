// Technology tables per process node and the quantities derived from them.
//
// Device numbers as tabulated in DNN+NeuroSim V1.4 Technology.cpp: the planar
// nodes (130 ... 22 nm) come from the PTM model cards (ptm.asu.edu, bulk HP
// and LP cards), the FinFET and GAA nodes (14 ... 1 nm) from the IRDS
// roadmaps (2016-2022) and foundry publications.  Resistance multipliers are
// the CACTI values.  Only the published base numbers are typed in here;
// everything derived (junction caps, overlap cap, P/N ratio, per-width gate
// caps of the multi-gate nodes, the 1 K temperature grid) is computed below.
#include "technology.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <sstream>
#include <stdexcept>

namespace cimtech {

namespace {

// Temperature anchors: 300, 310, ..., 400 K.
using Anchors = std::array<double, 11>;

struct PlanarEntry {
    int node;
    Roadmap roadmap;
    double vdd;                 // V
    double vth;                 // V
    double gate_length;         // m
    double cap_ideal_gate;      // F/m
    double cap_fringe;          // F/m
    double r_multiplier;        // CACTI effective-resistance multiplier
    double gm_current_n;        // A/m
    double gm_current_p;        // A/m
    bool drain_cap_is_half_fringe;  // the reference defines cap_draintotal only here
    Anchors on_n, on_p, off_n, off_p;   // A/m
};

// PTM bulk devices.
const PlanarEntry kPlanarTable[] = {
    {130, Roadmap::LSTP, 1.3, 0.4660949, 7.5e-08, 1.8574e-09, 9.530642e-10, 1.54, 38.7, 56.7, true,
     {300.7, 273.4, 249.4, 228.4, 209.9, 193.5, 179.0, 166.0, 154.4, 144.0, 134.6},
     {150.7, 136.2, 123.6, 112.7, 103.2, 94.88, 87.54, 81.04, 75.25, 70.08, 65.44},
     {0.0001002, 0.0001359, 0.0001812, 0.0002378, 0.0003073, 0.0003919, 0.0004933, 0.0006137, 0.0007553, 0.0009202, 0.001111},
     {0.0001002, 0.0001328, 0.000173, 0.0002219, 0.0002807, 0.0003504, 0.0004322, 0.0005272, 0.0006368, 0.0007619, 0.0009038}},
    {130, Roadmap::HP, 1.3, 0.1284855, 7.5e-08, 6.058401e-10, 6.119807e-10, 1.54, 394.0, 261.0, false,
     {930.0, 910.0, 890.0, 870.0, 850.0, 830.0, 810.0, 790.0, 770.0, 750.0, 740.0},
     {430.0, 410.0, 380.0, 360.0, 340.0, 320.0, 300.0, 280.0, 260.0, 250.0, 240.0},
     {0.1, 0.1199, 0.1422, 0.167, 0.1943, 0.2243, 0.2568, 0.292, 0.3299, 0.3705, 0.4138},
     {0.1002, 0.1136, 0.1279, 0.1431, 0.1591, 0.1758, 0.1934, 0.2117, 0.2308, 0.2507, 0.2712}},
    {90, Roadmap::LSTP, 1.2, 0.5013229, 5.5e-08, 1.5413e-09, 9.601334e-10, 1.77, 43.8, 59.9, false,
     {346.3, 314.5, 286.8, 262.5, 241.2, 222.3, 205.6, 190.8, 177.5, 165.6, 155.0},
     {200.3, 179.5, 161.9, 146.9, 133.9, 122.6, 112.8, 104.1, 96.47, 89.68, 83.62},
     {0.0001, 0.0001357, 0.0001811, 0.000238, 0.0003085, 0.0003946, 0.0004985, 0.0006226, 0.0007693, 0.0009412, 0.001141},
     {0.0001003, 0.0001332, 0.0001742, 0.0002244, 0.0002851, 0.0003576, 0.0004434, 0.0005437, 0.00066, 0.0007938, 0.0009464}},
    {90, Roadmap::HP, 1.2, 0.1460217, 5.5e-08, 5.694423e-10, 5.652302e-10, 1.54, 495.0, 316.0, false,
     {1070.0, 1050.0, 1030.0, 1010.0, 990.0, 970.0, 950.0, 930.0, 900.0, 880.0, 860.0},
     {540.0, 500.0, 470.0, 440.0, 410.0, 390.0, 370.0, 340.0, 320.0, 310.0, 290.0},
     {0.1008, 0.1208, 0.1434, 0.1686, 0.1966, 0.2274, 0.2611, 0.2977, 0.3373, 0.3798, 0.4254},
     {0.1, 0.114, 0.1289, 0.1448, 0.1616, 0.1793, 0.1979, 0.2174, 0.2379, 0.2591, 0.2813}},
    {65, Roadmap::LSTP, 1.1, 0.5016636, 3.5e-08, 1.1926e-09, 9.62148e-10, 1.77, 59.0, 67.5, false,
     {400.0, 363.9, 332.3, 304.7, 280.4, 258.9, 239.9, 223.0, 207.9, 194.3, 182.1},
     {238.7, 216.1, 196.6, 179.7, 164.9, 152.0, 140.5, 130.4, 121.4, 113.3, 106.1},
     {0.0001002, 0.0001375, 0.0001858, 0.0002472, 0.0003242, 0.0004193, 0.0005354, 0.0006757, 0.0008431, 0.001041, 0.001273},
     {0.0001002, 0.0001354, 0.0001797, 0.0002349, 0.0003025, 0.0003843, 0.0004822, 0.000598, 0.0007339, 0.0008916, 0.001073}},
    {65, Roadmap::HP, 1.1, 0.1663941, 3.5e-08, 4.868295e-10, 5.270361e-10, 1.54, 572.0, 399.0, true,
     {1120.0, 1100.0, 1080.0, 1060.0, 1040.0, 1020.0, 1000.0, 980.0, 950.0, 930.0, 910.0},
     {700.0, 660.0, 620.0, 580.0, 550.0, 520.0, 490.0, 460.0, 440.0, 410.0, 390.0},
     {0.1, 0.1197, 0.1419, 0.1668, 0.1944, 0.2248, 0.2581, 0.2944, 0.3336, 0.3759, 0.4212},
     {0.1001, 0.1152, 0.1315, 0.149, 0.1676, 0.1874, 0.2084, 0.2305, 0.2537, 0.2781, 0.3036}},
    {45, Roadmap::LSTP, 1.0, 0.4643718, 3e-08, 8.930709e-10, 8.849901e-10, 1.77, 132.0, 86.5, false,
     {500.2, 462.0, 427.8, 397.1, 369.4, 344.5, 322.1, 301.8, 283.4, 266.7, 251.5},
     {300.0, 275.7, 254.2, 235.1, 218.1, 202.8, 189.2, 176.9, 165.8, 155.8, 146.7},
     {0.0001, 0.0001405, 0.0001939, 0.0002631, 0.0003514, 0.0004625, 0.0006003, 0.0007692, 0.0009739, 0.001219, 0.001511},
     {0.0001002, 0.0001384, 0.0001876, 0.0002501, 0.0003281, 0.0004241, 0.0005409, 0.0006813, 0.0008483, 0.001045, 0.001275}},
    {45, Roadmap::HP, 1.0, 0.1710969, 3e-08, 4.091305e-10, 4.957928e-10, 1.54, 737.0, 630.0, false,
     {1270.0, 1240.0, 1220.0, 1190.0, 1160.0, 1130.0, 1110.0, 1080.0, 1050.0, 1020.0, 1000.0},
     {1080.0, 1040.0, 1000.0, 960.0, 920.0, 880.0, 850.0, 810.0, 780.0, 750.0, 720.0},
     {0.1, 0.1207, 0.1441, 0.1705, 0.1998, 0.2323, 0.268, 0.3071, 0.3495, 0.3954, 0.4448},
     {0.1002, 0.1187, 0.1393, 0.162, 0.1868, 0.2139, 0.2433, 0.2749, 0.3089, 0.3452, 0.3838}},
    {32, Roadmap::LSTP, 0.9, 0.442034, 2.8e-08, 8.375279e-10, 6.856677e-10, 1.77, 256.0, 119.0, false,
     {600.2, 562.8, 528.2, 496.2, 466.8, 439.7, 414.8, 391.9, 370.7, 351.3, 333.3},
     {400.0, 368.4, 340.3, 315.3, 292.9, 272.8, 254.8, 238.5, 223.8, 210.5, 198.4},
     {0.0001001, 0.0001436, 0.0002021, 0.0002793, 0.0003795, 0.0005075, 0.0006688, 0.0008692, 0.001115, 0.001415, 0.001774},
     {0.0001001, 0.0001407, 0.000194, 0.0002625, 0.0003493, 0.0004577, 0.0005912, 0.0007537, 0.0009493, 0.001182, 0.001457}},
    {32, Roadmap::HP, 0.9, 0.1944951, 2.8e-08, 3.767721e-10, 4.713762e-10, 1.54, 929.0, 673.0, false,
     {1410.0, 1380.0, 1350.0, 1310.0, 1280.0, 1250.0, 1210.0, 1180.0, 1150.0, 1120.0, 1080.0},
     {1220.0, 1170.0, 1120.0, 1070.0, 1020.0, 980.0, 940.0, 890.0, 860.0, 820.0, 780.0},
     {0.1003, 0.1204, 0.1431, 0.1686, 0.197, 0.2284, 0.2629, 0.3006, 0.3417, 0.3861, 0.4339},
     {0.1001, 0.119, 0.14, 0.1633, 0.1888, 0.2167, 0.247, 0.2797, 0.3149, 0.3526, 0.3928}},
    {22, Roadmap::LSTP, 0.85, 0.419915, 2.6e-08, 5.245e-10, 8.004e-10, 1.77, 456.0, 185.0, false,
     {791.9, 756.4, 722.2, 689.4, 658.1, 628.3, 600.0, 573.3, 548.0, 524.2, 501.7},
     {600.2, 561.3, 525.5, 492.5, 462.2, 434.3, 408.7, 385.1, 363.4, 343.3, 324.8},
     {0.0001, 0.0001473, 0.0002121, 0.0002996, 0.0004153, 0.0005658, 0.0007589, 0.001003, 0.001307, 0.001682, 0.002139},
     {0.0001, 0.0001473, 0.0002121, 0.0002996, 0.0004153, 0.0005658, 0.0007589, 0.001003, 0.001307, 0.001682, 0.002139}},
    {22, Roadmap::HP, 0.85, 0.2089006, 2.6e-08, 3.287e-10, 4.532e-10, 1.54, 1080.0, 698.0, false,
     {1500.0, 1470.0, 1430.0, 1390.0, 1350.0, 1310.0, 1280.0, 1240.0, 1200.0, 1170.0, 1130.0},
     {1320.0, 1250.0, 1190.0, 1130.0, 1070.0, 1020.0, 970.0, 920.0, 880.0, 840.0, 800.0},
     {0.1002, 0.1204, 0.1435, 0.1695, 0.1987, 0.2312, 0.267, 0.3063, 0.3493, 0.396, 0.4466},
     {0.1002, 0.1194, 0.1408, 0.1646, 0.1909, 0.2195, 0.2507, 0.2845, 0.3209, 0.3598, 0.4015}},
};

// Temperature dependence of the multi-gate nodes above 300 K (310 ... 400 K).
// The 300 K point of each node comes from its own IRDS entry below.
using Tail = std::array<double, 10>;
const Tail kOnN14 = {853, 814, 777, 742, 708, 677, 646, 618, 591, 565};
const Tail kOnP14 = {767, 718, 672, 631, 593, 558, 526, 496, 469, 443};
const Tail kOffN14 = {184.4553e-6, 328.7707e-6, 566.8658e-6, 948.1816e-6, 1.5425e-3,
                      2.4460e-3, 3.7885e-3, 5.7416e-3, 8.5281e-3, 1.24327e-2};
const Tail kOffP14 = {203.4774e-6, 389.0187e-6, 717.5912e-6, 1.2810e-3, 2.2192e-3,
                      3.7395e-3, 6.1428e-3, 9.8554e-3, 1.54702e-2, 2.37959e-2};
const Tail kOnN10 = {824, 787, 751, 717, 684, 654, 624, 597, 571, 546};
const Tail kOnP10 = {725, 678, 636, 597, 561, 527, 497, 469, 443, 419};
const Tail kOffN10 = {184.4892e-6, 329.1615e-6, 568.0731e-6, 951.0401e-6, 1.5484e-3,
                      2.4574e-3, 3.8090e-3, 5.7767e-3, 8.5862e-3, 1.2525e-2};
const Tail kOffP10 = {200.2609e-6, 383.3239e-6, 707.8499e-6, 1.2649e-3, 2.1932e-3,
                      3.6987e-3, 6.0804e-3, 9.7622e-3, 1.53340e-2, 2.36007e-2};
// 7 nm and below share one temperature profile.
const Tail kOnNLate = {786, 750, 716, 684, 653, 624, 595, 569, 545, 521};
const Tail kOnPLate = {689, 645, 605, 567, 533, 501, 473, 446, 421, 398};
const Tail kOffNLate = {1.85e-4, 3.32e-4, 5.74e-4, 9.62e-4, 1.5695e-3,
                        2.4953e-3, 3.8744e-3, 5.8858e-3, 8.7624e-3, 1.28025e-2};
const Tail kOffPLate = {201.3937e-6, 386.2086e-6, 714.4288e-6, 1.2788e-3, 2.2207e-3,
                        3.7509e-3, 6.1750e-3, 9.9278e-3, 1.56146e-2, 2.40633e-2};

struct MultiGateEntry {
    int node;
    DeviceArchitecture arch;
    double vdd;                 // V
    double gate_length;         // m
    // geometry
    double fin_height;          // m (0: not specified by the source)
    double fin_width;           // m
    double fin_pitch;           // m
    double effective_width;     // m per fin; <= 0 means "fin_width + 2*fin_height"
    double fins_per_device;     // FinFET
    double sheets_per_stack;    // GAA
    double sheet_thickness;     // GAA, m
    double sheet_width;         // GAA, m
    double stacks_per_device;   // GAA
    // device figures at 300 K
    double gate_cap_aF;         // gate cap of one fin / one sheet stack, aF
    double drain_cap_total;     // total drain cap of one fin / stack, F
    double on_current;          // A/m (NMOS and PMOS alike)
    double off_current_n;       // A/m
    double off_current_p;       // A/m
    double r_multiplier;
    double gm_density;          // S/m
    double junction_cap;        // F/m^2
    const Tail *on_n, *on_p, *off_n, *off_p;
};

const MultiGateEntry kMultiGateTable[] = {
    // 14 nm FinFET (IRDS 2016)
    {14, DeviceArchitecture::FinFET, 0.8, 2.6e-8, 4.2e-8, 8.0e-9, 4.8e-8, 0.0, 4, 0, 0, 0, 0,
     103.816, 2.499e-17, 595.045, 0.0001, 102.3333e-6, 2.09, 1415.34, 0.0120,
     &kOnN14, &kOnP14, &kOffN14, &kOffP14},
    // 10 nm FinFET (IRDS 2017)
    {10, DeviceArchitecture::FinFET, 0.75, 2.2e-8, 4.5e-8, 8.0e-9, 3.6e-8, 0.0, 3, 0, 0, 0, 0,
     97.549, 2.668e-17, 599.237, 0.000127, 100.5839e-6, 2.09, 1803.50, 0.0134,
     &kOnN10, &kOnP10, &kOffN10, &kOffP10},
    // 7 nm FinFET (IRDS 2017)
    {7, DeviceArchitecture::FinFET, 0.7, 2.2e-8, 5.0e-8, 7e-9, 3.0e-8, 107e-9, 2, 0, 0, 0, 0,
     100.497, 2.224e-17, 562.048, 0.000147, 100.9536e-6, 2.05, 1785.37, 0.0137,
     &kOnNLate, &kOnPLate, &kOffNLate, &kOffPLate},
    // 5 nm FinFET (IRDS 2021); fin height not given, only the effective width
    {5, DeviceArchitecture::FinFET, 0.7, 2.0e-8, 0.0, 6.0e-9, 28.0e-9, 106.0 * 1e-9, 2, 0, 0, 0, 0,
     81.859, 2.076e-17, 578.494, 0.000138, 100.9536e-6, 2.10, 1820.90, 0.0119,
     &kOnNLate, &kOnPLate, &kOffNLate, &kOffPLate},
    // 3 nm FinFET (IRDS 2022)
    {3, DeviceArchitecture::FinFET, 0.7, 1.8e-8, 0.0, 5.0e-9, 24.0e-9, 101.0 * 1e-9, 2, 0, 0, 0, 0,
     72.572, 1.791e-17, 641.463, 0.000158, 100.9536e-6, 2.14, 2018.04, 0.0128,
     &kOnNLate, &kOnPLate, &kOffNLate, &kOffPLate},
    // 2 nm nanosheet GAA (IRDS 2022): 3 sheets of 15 nm x 6 nm
    {2, DeviceArchitecture::GAA, 0.65, 1.4e-8, 0.0, 0.0, 26e-9, 0.0, 0, 3, 6 * 1e-9, 15 * 1e-9, 1,
     79.74, 1.543e-17, 526.868, 0.0000733, 100.9536e-6, 1.98, 1968.85, 0.0091,
     &kOnNLate, &kOnPLate, &kOffNLate, &kOffPLate},
    // 1 nm nanosheet GAA (IRDS 2022): 4 sheets of 10 nm x 6 nm
    {1, DeviceArchitecture::GAA, 0.6, 1.2e-8, 0.0, 0.0, 24e-9, 0.0, 0, 4, 6 * 1e-9, 10 * 1e-9, 1,
     66.94, 1.409e-17, 460.979, 0.000169, 100.9536e-6, 2.05, 2401.75, 0.0102,
     &kOnNLate, &kOnPLate, &kOffNLate, &kOffPLate},
};

// Placeholder threshold of the multi-gate nodes (the source gives none; it
// only enters the planar transconductance formula).
constexpr double kMultiGateVth = 0.1;

// Junction capacitance model (BSIM-style bias dependence at V = vdd).
constexpr double kZeroBiasBottomCap = 1e-3;        // F/m^2
constexpr double kZeroBiasSidewallCap = 2.5e-10;   // F/m
constexpr double kZeroBiasGateEdgeCap = 0.5e-10;   // F/m
constexpr double kBottomGrading = 0.5;
constexpr double kSidewallGrading = 0.33;
constexpr double kGateEdgeGrading = 0.33;
constexpr double kBuiltInPotential = 0.9;          // V
constexpr double kOverlapToGateRatio = 0.2;

// Fill the 1 K grid from the 10 K anchors by linear interpolation, with the
// same arithmetic order as the reference so that every entry is reproduced
// bit for bit.
TemperatureTable expand(const Anchors &a) {
    TemperatureTable t{};
    for (int k = 0; k <= 10; ++k) t[10 * k] = a[k];
    for (int i = 1; i < 100; ++i) {
        const int step = i % 10;
        if (step == 0) continue;
        const double lo = t[i - step];
        const double hi = t[i - step + 10];
        t[i] = lo + (hi - lo) * step / 10;
    }
    return t;
}

Anchors anchors_from(double at300, const Tail &tail) {
    Anchors a{};
    a[0] = at300;
    for (int k = 0; k < 10; ++k) a[k + 1] = tail[k];
    return a;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

std::string join_nodes(const std::vector<int> &nodes) {
    std::ostringstream os;
    for (std::size_t i = 0; i < nodes.size(); ++i) {
        if (i) os << ", ";
        os << nodes[i];
    }
    return os.str();
}

}  // namespace

std::string roadmap_name(Roadmap r) { return r == Roadmap::HP ? "HP" : "LSTP"; }

std::string transistor_type_name(TransistorType) { return "conventional"; }

std::string architecture_name(DeviceArchitecture a) {
    switch (a) {
        case DeviceArchitecture::Planar: return "planar";
        case DeviceArchitecture::FinFET: return "finfet";
        case DeviceArchitecture::GAA: return "gaa";
    }
    return "unknown";
}

Roadmap parse_roadmap(const std::string &name) {
    const std::string s = lower(name);
    if (s == "hp") return Roadmap::HP;
    if (s == "lstp" || s == "lp") return Roadmap::LSTP;
    throw std::invalid_argument("unknown device roadmap '" + name +
                                "'; valid choices: 'HP', 'LSTP'");
}

TransistorType parse_transistor_type(const std::string &name) {
    if (lower(name) == "conventional") return TransistorType::Conventional;
    throw std::invalid_argument("unknown transistor type '" + name +
                                "'; valid choices: 'conventional'");
}

std::vector<int> Technology::supported_nodes(Roadmap roadmap) {
    std::vector<int> nodes;
    for (const auto &e : kPlanarTable)
        if (e.roadmap == roadmap) nodes.push_back(e.node);
    if (roadmap == Roadmap::LSTP)
        for (const auto &e : kMultiGateTable) nodes.push_back(e.node);
    return nodes;
}

int Technology::temperature_index(double temperature) {
    if (!(temperature >= kTableMinTemperature && temperature < kTableMaxTemperature + 1.0)) {
        std::ostringstream os;
        os << "temperature " << temperature << " K is outside the tabulated range 300..400 K";
        throw std::invalid_argument(os.str());
    }
    // Whole kelvin, truncated (as the reference does).
    return static_cast<int>(temperature) - 300;
}

Technology::Technology(int node_nm, Roadmap roadmap, TransistorType transistor_type,
                       double temperature_K)
    : featureSizeInNano(node_nm),
      deviceRoadmap(roadmap),
      transistorType(transistor_type),
      architecture(DeviceArchitecture::Planar),
      temperature(temperature_K),
      featureSize(node_nm * 1e-9),
      vdd(0), vth(0), heightFin(0), widthFin(0), PitchFin(0), phyGateLength(0),
      capIdealGate(0), capFringe(0), capJunction(0), capOverlap(0), capSidewall(0),
      capDrainToChannel(0), buildInPotential(0), pnSizeRatio(0),
      effectiveResistanceMultiplier(0), current_gmNmos(0), current_gmPmos(0), capPolywire(0),
      max_sheet_num(0), thickness_sheet(0), width_sheet(0), effective_width(0), max_fin_num(0),
      max_fin_per_GAA(0), gm_oncurrent(0), cap_draintotal(0),
      currentOnNmos{}, currentOnPmos{}, currentOffNmos{}, currentOffPmos{} {
    temperature_index(temperature_K);  // validates the default temperature

    const bool planar_node = std::any_of(std::begin(kPlanarTable), std::end(kPlanarTable),
                                         [&](const PlanarEntry &e) { return e.node == node_nm; });
    const bool multigate_node =
        std::any_of(std::begin(kMultiGateTable), std::end(kMultiGateTable),
                    [&](const MultiGateEntry &e) { return e.node == node_nm; });

    if (planar_node) {
        load_planar(node_nm, roadmap);
    } else if (multigate_node) {
        if (roadmap == Roadmap::HP) {
            throw std::invalid_argument(
                "HP roadmap is only defined for planar nodes >= 22 nm; " + std::to_string(node_nm) +
                " nm exists as LSTP only. Valid HP nodes: " +
                join_nodes(supported_nodes(Roadmap::HP)));
        }
        load_multigate(node_nm);
    } else {
        throw std::invalid_argument("unsupported technology node " + std::to_string(node_nm) +
                                    " nm; valid nodes: LSTP " +
                                    join_nodes(supported_nodes(Roadmap::LSTP)) + "; HP " +
                                    join_nodes(supported_nodes(Roadmap::HP)));
    }

    // Overlap and fringe caps are lumped into capIdealGate for multi-gate devices.
    capOverlap = is_planar() ? capIdealGate * kOverlapToGateRatio : 0.0;
    derive_junction_caps();
    capPolywire = 0.0;
}

void Technology::load_planar(int node_nm, Roadmap roadmap) {
    for (const auto &e : kPlanarTable) {
        if (e.node != node_nm || e.roadmap != roadmap) continue;
        architecture = DeviceArchitecture::Planar;
        vdd = e.vdd;
        vth = e.vth;
        phyGateLength = e.gate_length;
        capIdealGate = e.cap_ideal_gate;
        capFringe = e.cap_fringe;
        effectiveResistanceMultiplier = e.r_multiplier;
        current_gmNmos = e.gm_current_n;
        current_gmPmos = e.gm_current_p;
        cap_draintotal = e.drain_cap_is_half_fringe ? capFringe / 2 : 0.0;
        currentOnNmos = expand(e.on_n);
        currentOnPmos = expand(e.on_p);
        currentOffNmos = expand(e.off_n);
        currentOffPmos = expand(e.off_p);
        // PMOS is widened by the 300 K drive-current ratio.
        pnSizeRatio = currentOnNmos[0] / currentOnPmos[0];
        return;
    }
    throw std::invalid_argument("no " + roadmap_name(roadmap) + " data for " +
                                std::to_string(node_nm) + " nm");
}

void Technology::load_multigate(int node_nm) {
    for (const auto &e : kMultiGateTable) {
        if (e.node != node_nm) continue;
        architecture = e.arch;
        vdd = e.vdd;
        vth = kMultiGateVth;
        phyGateLength = e.gate_length;
        heightFin = e.fin_height;
        PitchFin = e.fin_pitch;
        if (e.arch == DeviceArchitecture::FinFET) {
            widthFin = e.fin_width;
            max_fin_num = e.fins_per_device;
            effective_width = e.effective_width > 0 ? e.effective_width
                                                    : widthFin + heightFin * 2;  // fin perimeter
            capIdealGate = e.gate_cap_aF * 1E-18 / (effective_width);
        } else {
            max_fin_per_GAA = e.stacks_per_device;
            max_sheet_num = e.sheets_per_stack;
            thickness_sheet = e.sheet_thickness;
            width_sheet = e.sheet_width;
            widthFin = width_sheet;  // the sheet width plays the fin width in the layout rules
            effective_width = (thickness_sheet + width_sheet) * 2;  // sheet perimeter
            capIdealGate = e.gate_cap_aF * 1E-18 / (effective_width * max_sheet_num);
        }
        cap_draintotal = e.drain_cap_total / (effective_width);
        capFringe = 0;
        effectiveResistanceMultiplier = e.r_multiplier;
        current_gmNmos = e.gm_density;
        current_gmPmos = e.gm_density;
        gm_oncurrent = e.gm_density;
        capJunction = e.junction_cap;
        currentOnNmos = expand(anchors_from(e.on_current, *e.on_n));
        currentOnPmos = expand(anchors_from(e.on_current, *e.on_p));
        currentOffNmos = expand(anchors_from(e.off_current_n, *e.off_n));
        currentOffPmos = expand(anchors_from(e.off_current_p, *e.off_p));
        // Equal N/P drive at 300 K; the ratio is kept as a whole number.
        pnSizeRatio = static_cast<int>(currentOnNmos[0] / currentOnPmos[0]);
        return;
    }
    throw std::invalid_argument("no multi-gate data for " + std::to_string(node_nm) + " nm");
}

void Technology::derive_junction_caps() {
    buildInPotential = kBuiltInPotential;
    const double bias = 1 + vdd / buildInPotential;
    if (is_planar()) capJunction = kZeroBiasBottomCap / std::pow(bias, kBottomGrading);
    // multi-gate nodes keep their tabulated bottom-junction value
    capSidewall = kZeroBiasSidewallCap / std::pow(bias, kSidewallGrading);
    capDrainToChannel = kZeroBiasGateEdgeCap / std::pow(bias, kGateEdgeGrading);
}

}  // namespace cimtech
