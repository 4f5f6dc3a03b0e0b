// Gate-level formulas; see gate_formulas.h for the interface.
//
// The arithmetic below keeps the evaluation order of the reference model
// (DNN+NeuroSim V1.4) wherever rounding could matter, e.g. fin counts are
// obtained with ceil() of a width ratio, and the ratio is formed either as
// w * (1 / 2F) or as w / 2F exactly where the reference does so.  The two can
// differ in the last bit, which decides ceil() at exact multiples of 2F.
#include "gate_formulas.h"

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>

namespace cimtech {

namespace rules {

namespace {
const MultiGateRules kMultiGateRules[] = {
    // node, cell height, P/N gap, outer region, CPP, poly width, metal pitch (all in F)
    {14, 41.142, 9.71, 10.285, 5.571, 1.857, 4.57},   // Samsung 14 nm, IRDS 2016
    {10, 33.0, 10.0, 8.2, 6.4, 2.2, 4.4},             // TSMC 10 nm, IRDS 2017
    {7, 34.285, 11.85, 12.28, 8.1428, 3.14, 5.71},    // TSMC 7 nm, IRDS 2018
    {5, 36.0, 12.8, 19.4, 10.2, 4.0, 6.0},            // IRDS 2021
    {3, 48.0, 15.0, 12.666, 16.0, 6.0, 8.0},          // IRDS 2022
    {2, 57.0, 20.0, 22.0, 22.5, 7.0, 10.0},           // IRDS 2022
    {1, 80.0, 15.0, 40.0, 40.0, 12.0, 16.0},          // IRDS 2022
};

const MultiGateRules *find_rules(int node_nm) {
    for (const auto &r : kMultiGateRules)
        if (r.node_nm == node_nm) return &r;
    return nullptr;
}
}  // namespace

const MultiGateRules &multigate_rules(int node_nm) {
    const MultiGateRules *r = find_rules(node_nm);
    if (!r)
        throw std::invalid_argument("no FinFET/GAA layout rules for " + std::to_string(node_nm) +
                                    " nm; valid nodes: 14, 10, 7, 5, 3, 2, 1");
    return *r;
}

double cell_height_in_F(int node_nm) {
    const MultiGateRules *r = find_rules(node_nm);
    return r ? r->cell_height : kCellHeight;
}

double contacted_poly_pitch_in_F(int node_nm) {
    const MultiGateRules *r = find_rules(node_nm);
    return r ? r->contacted_poly_pitch : kPolyWidth + kGatePolyGap;
}

double metal2_pitch_in_F(int node_nm) {
    const MultiGateRules *r = find_rules(node_nm);
    return r ? r->metal_pitch : kMetal2Pitch;
}

double metal3_pitch_in_F(int node_nm) {
    const MultiGateRules *r = find_rules(node_nm);
    return r ? r->metal_pitch : kMetal3Pitch;
}

}  // namespace rules

namespace {

using rules::MultiGateRules;

// Contacted poly pitch of the planar nodes, F.
constexpr double kPlanarCpp = rules::kPolyWidth + rules::kGatePolyGap;

void require_width(double w, const char *what) {
    if (!(w >= 0.0) || !std::isfinite(w))
        throw std::invalid_argument(std::string(what) + " must be a finite width >= 0 (m)");
}

void require_inputs(int num_input) {
    if (num_input < 1) throw std::invalid_argument("num_input must be >= 1");
}

// Fin (or nanosheet-stack) units of a drawn width, in the two spellings the
// reference uses.
double fin_units_by_reciprocal(double width, double F) { return width * (1 / (2 * F)); }
double fin_units_by_division(double width, double F) { return width / (2 * F); }

// Channel width of a whole number of fins / stacks.
double multigate_width(double units, const Technology &t) {
    if (t.is_finfet()) return units * (t.effective_width);
    return units * t.effective_width * t.max_sheet_num / t.max_fin_per_GAA;
}

// Transistor-region height of a FinFET/GAA cell for a requested planar
// height (the request is expressed against the 28 F planar cell).
double multigate_region_height(double h, const MultiGateRules &r) {
    h *= (rules::kCellHeightMultiGate / rules::kCellHeight);
    h *= (r.cell_height / rules::kCellHeightMultiGate);
    return h;
}

// Height available to the diffusion of a planar cell outside the poly end caps.
double planar_endcaps(double F) { return (rules::kPolyEndcap + rules::kFieldPolyGap / 2) * 2 * F; }

struct PlanarLimits {
    double p, n;  // widest unfolded device, m
};

PlanarLimits planar_limits(double ratio, double h, double F) {
    if (ratio == 0) return {0.0, h - planar_endcaps(F)};
    if (ratio == 1) return {h - planar_endcaps(F), 0.0};
    const double p = ratio * (h - rules::kPnDiffusionGap * F - planar_endcaps(F));
    return {p, p / ratio * (1 - ratio)};
}

struct UnitLimits {
    int p, n;  // most fins / stacks per device before folding
};

// Split of the cell's fin (FinFET) or stack (GAA) budget between the P and N
// device, following the P share `ratio` of the total drawn width.
UnitLimits multigate_limits(double ratio, double h, bool custom_height, const MultiGateRules &r,
                            const Technology &t) {
    const double F = t.featureSize;
    int base;
    if (!custom_height) {
        base = t.is_finfet() ? static_cast<int>(t.max_fin_num)
                             : static_cast<int>(t.max_fin_per_GAA);
    } else {
        // How many fins fit in one half of a cell of height h.
        base = static_cast<int>(std::floor(
            ((h - r.pn_gap * F - r.outer_region * F) + t.PitchFin) / 2.0 / (t.widthFin + t.PitchFin)));
    }
    if (ratio == 0) return {0, 2 * base};
    if (ratio == 1) return {2 * base, 0};

    int p, n;
    if (t.is_finfet()) {
        const double total = 2 * base;
        if (ratio > 0.5) {
            n = static_cast<int>(total * (1 - ratio));
            p = static_cast<int>(total - n);
        } else {
            p = static_cast<int>(total * ratio);
            n = static_cast<int>(total - p);
        }
    } else {
        // GAA: one stack per device whatever the cell height.
        p = n = static_cast<int>(t.max_fin_per_GAA);
    }
    if (p == 0) { p = 1; n = 2 * base - p; }
    if (n == 0) { n = 1; p = 2 * base - n; }
    return {p, n};
}

void require_positive_limit(int limit, const char *device) {
    if (limit <= 0) {
        std::ostringstream os;
        os << "cell height too small: no room for a folded " << device
           << " finger (fin/sheet limit " << limit << ")";
        throw std::invalid_argument(os.str());
    }
}

// Cell-width contribution of one device type (INV-style, before combining
// the devices of a NOR/NAND).
struct RegionWidth {
    double unit;   // m
    int folds;     // number of fingers
};

}  // namespace

double standard_cell_height(const Technology &tech) {
    return tech.featureSize * rules::kCellHeight;
}

double effective_channel_width(double width, const Technology &t) {
    require_width(width, "width");
    if (t.is_planar()) return width;
    return multigate_width(std::ceil(fin_units_by_division(width, t.featureSize)), t);
}

// ---------------------------------------------------------------------------

double gate_cap(double width, const Technology &t) {
    require_width(width, "width");
    double effective = width;
    if (!t.is_planar()) {
        const double units = fin_units_by_reciprocal(width, t.featureSize);
        effective = multigate_width(static_cast<int>(std::ceil(units)), t);
    }
    return (t.capIdealGate + t.capOverlap + t.capFringe) * effective +
           t.phyGateLength * t.capPolywire;
}

double on_resistance(double width, TransistorKind kind, double temperature, const Technology &t,
                     bool include_multiplier) {
    require_width(width, "width");
    const int idx = Technology::temperature_index(temperature);
    double effective = width;
    if (!t.is_planar()) effective = multigate_width(std::ceil(fin_units_by_division(width, t.featureSize)), t);
    const double current = (kind == TransistorKind::NMOS ? t.currentOnNmos : t.currentOnPmos)[idx];
    if (include_multiplier) return t.effectiveResistanceMultiplier * t.vdd / (current * effective);
    return t.vdd / (current * effective);
}

double transconductance(double width, TransistorKind kind, const Technology &t) {
    require_width(width, "width");
    if (t.is_planar()) {
        const double density = kind == TransistorKind::NMOS ? t.current_gmNmos : t.current_gmPmos;
        return (2 * density) * width / (0.7 * t.vdd - t.vth);
    }
    const int units = static_cast<int>(std::ceil(fin_units_by_division(width, t.featureSize)));
    // Reference behaviour: FinFET uses the fin perimeter 2*heightFin + widthFin,
    // which is just widthFin at 5 and 3 nm where no fin height is given.
    const double effective = t.is_finfet() ? units * (2 * t.heightFin + t.widthFin)
                                           : multigate_width(units, t);
    return t.gm_oncurrent * effective;
}

// ---------------------------------------------------------------------------

Footprint gate_area(GateType type, int num_input, double wN, double wP, double h,
                    const Technology &t) {
    require_inputs(num_input);
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    const double F = t.featureSize;
    const bool custom_height = (h != F * rules::kCellHeight);

    const MultiGateRules *r = nullptr;
    if (!t.is_planar()) {
        r = &rules::multigate_rules(t.featureSizeInNano);
        wN = fin_units_by_division(wN, F);
        wP = fin_units_by_division(wP, F);
        h = multigate_region_height(h, *r);
    }
    const double ratio = wP / (wP + wN);
    const double cpp = r ? r->contacted_poly_pitch : kPlanarCpp;

    RegionWidth P{0.0, 1}, N{0.0, 1};
    if (t.is_planar()) {
        const PlanarLimits lim = planar_limits(ratio, h, F);
        auto place = [&](double w, double max_w) {
            RegionWidth out{0.0, 1};
            if (w > 0) {
                if (w <= max_w) {
                    out.unit = 2 * cpp * F;
                } else {
                    out.folds = static_cast<int>(std::ceil(w / max_w));
                    out.unit = (out.folds + 1) * cpp * F;
                }
            }
            return out;
        };
        P = place(wP, lim.p);
        N = place(wN, lim.n);
    } else {
        const UnitLimits lim = multigate_limits(ratio, h, custom_height, *r, t);
        const bool finfet = t.is_finfet();
        auto place = [&](double w, int max_units, const char *dev) {
            RegionWidth out{0.0, 1};
            const int units = static_cast<int>(std::ceil(w));
            if (units > 0) {
                if (units <= max_units) {
                    out.unit = 2 * (cpp) * F;
                } else {
                    require_positive_limit(max_units, dev);
                    // Reference behaviour: whole-number division for fins
                    // (rounds the finger count down), true ceil for GAA stacks.
                    out.folds = finfet ? units / max_units
                                       : static_cast<int>(std::ceil(units / static_cast<double>(max_units)));
                    out.unit = (out.folds + 1) * (cpp) * F;
                }
            }
            return out;
        };
        P = place(wP, lim.p, "PMOS");
        N = place(wN, lim.n, "NMOS");
    }

    double region_p = 0.0, region_n = 0.0;
    switch (type) {
        case GateType::INV:
            region_p = P.unit;
            region_n = N.unit;
            break;
        case GateType::NOR:
        case GateType::NAND:
            if (P.folds == 1 && N.folds == 1) {
                // Unfolded series/parallel devices share source/drain regions.
                region_p = P.unit * num_input - (num_input - 1) * F * cpp;
                region_n = N.unit * num_input - (num_input - 1) * F * cpp;
            } else {
                region_p = P.unit * num_input;
                region_n = N.unit * num_input;
            }
            break;
    }
    Footprint fp;
    fp.width = std::max(region_n, region_p);
    fp.height = h;
    fp.area = fp.width * fp.height;
    return fp;
}

// ---------------------------------------------------------------------------

namespace {

struct DrainLayout {
    double unit_drain = 0.0;   // m, total drain-finger width of one device
    double unit_source = 0.0;  // m
    double height = 0.0;       // m, diffusion height
    int folds = 1;
};

// Output capacitance of a gate from the drain layout of its P and N devices.
// `wN`, `wP` are the (possibly fin-normalised) widths, only their sign is used.
double output_cap(GateType type, int n, double wN, double wP, const DrainLayout &P,
                  const DrainLayout &N, const Technology &t) {
    double dP = 0, dN = 0, swP = 0, swN = 0;
    switch (type) {
        case GateType::INV:
            if (wP > 0) {
                dP = P.unit_drain;
                swP = dP * 2 + P.height * (1 + (P.folds + 1) % 2);
            }
            if (wN > 0) {
                dN = N.unit_drain;
                // Reference behaviour: the NMOS sidewall uses the PMOS finger count.
                swN = dN * 2 + N.height * (1 + (P.folds + 1) % 2);
            }
            break;
        case GateType::NOR:
            if (P.folds == 1 && N.folds == 1) {
                if (wP > 0) {  // series stack: only the top drain faces the output
                    dP = P.unit_drain * n;
                    swP = dP * 2 + P.height;
                }
                if (wN > 0) {  // parallel devices share drains pairwise
                    dN = N.unit_drain * static_cast<int>(std::floor(static_cast<double>(n + 1) / 2));
                    swN = dN * 2 + N.height * (1 - (n + 1) % 2);
                }
            } else {
                if (wP > 0) {
                    dP = P.unit_drain * n + (n - 1) * P.unit_source;
                    swP = dP * 2 + P.height * (1 + (P.folds + 1) % 2) * n +
                          P.height * (1 - (P.folds + 1) % 2) * (n - 1);
                }
                if (wN > 0) {
                    dN = N.unit_drain * n;
                    swN = dN * 2 + N.height * (1 + (N.folds + 1) % 2) * n;
                }
            }
            break;
        case GateType::NAND:
            if (P.folds == 1 && N.folds == 1) {
                if (wP > 0) {  // parallel devices share drains pairwise
                    dP = P.unit_drain * static_cast<int>(std::floor(static_cast<double>(n + 1) / 2));
                    swP = dP * 2 + P.height * (1 - (n + 1) % 2);
                }
                if (wN > 0) {  // series stack
                    dN = N.unit_drain * n;
                    swN = dN * 2 + N.height;
                }
            } else {
                if (wP > 0) {
                    dP = P.unit_drain * n;
                    swP = dP * 2 + P.height * (1 + (P.folds + 1) % 2) * n;
                }
                if (wN > 0) {
                    dN = N.unit_drain * n + (n - 1) * N.unit_source;
                    swN = dN * 2 + N.height * (1 + (N.folds + 1) % 2) * n +
                          N.height * (1 - (N.folds + 1) % 2) * (n - 1);
                }
            }
            break;
    }
    const double bottomN = dN * N.height * t.capJunction;
    const double bottomP = dP * P.height * t.capJunction;
    if (!t.is_planar()) return bottomN + bottomP;  // multi-gate: bottom junction only
    const double sideN = swN * t.capSidewall;
    const double sideP = swP * t.capSidewall;
    const double edgeN = N.folds * N.height * t.capDrainToChannel;
    const double edgeP = P.folds * P.height * t.capDrainToChannel;
    return bottomN + bottomP + sideN + sideP + edgeN + edgeP;
}

DrainLayout fold_drain(int units, int max_units, double finger_gap, double unit_height,
                       double F, const char *dev) {
    DrainLayout d;
    if (units <= 0) return d;
    if (units <= max_units) {
        d.unit_drain = F * finger_gap;
        d.unit_source = d.unit_drain;
        d.height = units * unit_height;
    } else {
        require_positive_limit(max_units, dev);
        d.folds = units / max_units;  // reference: whole-number division
        d.unit_drain = static_cast<int>(std::ceil(static_cast<double>(d.folds + 1) / 2)) * F * finger_gap;
        d.unit_source = static_cast<int>(std::floor(static_cast<double>(d.folds + 1) / 2)) * F * finger_gap;
        d.height = max_units * unit_height;
    }
    return d;
}

}  // namespace

GateCaps gate_capacitance(GateType type, int num_input, double wN, double wP, double h,
                          const Technology &t) {
    require_inputs(num_input);
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    const double F = t.featureSize;
    const bool custom_height = (h != F * rules::kCellHeight);

    GateCaps caps;
    caps.input = gate_cap(wN, t) + gate_cap(wP, t);

    DrainLayout P, N;
    if (t.is_planar()) {
        const double ratio = wP / (wP + wN);
        const PlanarLimits lim = planar_limits(ratio, h, F);
        auto place = [&](double w, double max_w) {
            DrainLayout d;
            if (w > 0) {
                if (w <= max_w) {
                    d.unit_drain = F * rules::kGatePolyGap;
                    d.unit_source = d.unit_drain;
                    d.height = w;
                } else {
                    d.folds = static_cast<int>(std::ceil(w / max_w));
                    // more drain fingers than source fingers
                    d.unit_drain = static_cast<int>(std::ceil(static_cast<double>(d.folds + 1) / 2)) * F * rules::kGatePolyGap;
                    d.unit_source = static_cast<int>(std::floor(static_cast<double>(d.folds + 1) / 2)) * F * rules::kGatePolyGap;
                    d.height = max_w;
                }
            }
            return d;
        };
        P = place(wP, lim.p);
        N = place(wN, lim.n);
    } else {
        const MultiGateRules &r = rules::multigate_rules(t.featureSizeInNano);
        wN = fin_units_by_reciprocal(wN, F);
        wP = fin_units_by_reciprocal(wP, F);
        h = multigate_region_height(h, r);
        const double ratio = wP / (wP + wN);
        const UnitLimits lim = multigate_limits(ratio, h, custom_height, r, t);
        // Diffusion between gate polys: pitch minus poly width.
        const double gap = r.contacted_poly_pitch - r.poly_width;
        P = fold_drain(static_cast<int>(std::ceil(wP)), lim.p, gap, t.widthFin, F, "PMOS");
        N = fold_drain(static_cast<int>(std::ceil(wN)), lim.n, gap, t.widthFin, F, "NMOS");
    }
    caps.output = output_cap(type, num_input, wN, wP, P, N, t);
    return caps;
}

GateCaps gate_capacitance_gaa(GateType type, int num_input, double wN, double wP, double h,
                              const Technology &t, double gate_factor, double n_width_factor,
                              double p_width_factor) {
    if (!t.is_gaa())
        throw std::invalid_argument("gate_capacitance_gaa is only defined for the GAA nodes (2, 1 nm)");
    require_inputs(num_input);
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    const double F = t.featureSize;
    const bool custom_height = (h != F * rules::kCellHeight);

    GateCaps caps;
    caps.input = gate_factor * (gate_cap(wN, t) + gate_cap(wP, t));

    const MultiGateRules &r = rules::multigate_rules(t.featureSizeInNano);
    wN = fin_units_by_reciprocal(wN, F);
    wP = fin_units_by_reciprocal(wP, F);
    h = multigate_region_height(h, r);
    const double ratio = wP / (wP + wN);
    const UnitLimits lim = multigate_limits(ratio, h, custom_height, r, t);
    const double gap = r.contacted_poly_pitch - r.poly_width;
    const DrainLayout P = fold_drain(static_cast<int>(std::ceil(wP)), lim.p, gap,
                                     t.widthFin * p_width_factor, F, "PMOS");
    const DrainLayout N = fold_drain(static_cast<int>(std::ceil(wN)), lim.n, gap,
                                     t.widthFin * n_width_factor, F, "NMOS");
    caps.output = output_cap(type, num_input, wN, wP, P, N, t);
    return caps;
}

double drain_cap(double width, TransistorKind kind, double cell_height, const Technology &t) {
    if (kind == TransistorKind::NMOS)
        return gate_capacitance(GateType::INV, 1, width, 0, cell_height, t).output;
    return gate_capacitance(GateType::INV, 1, 0, width, cell_height, t).output;
}

// ---------------------------------------------------------------------------

double gate_leakage(GateType type, int num_input, double wN, double wP, double temperature,
                    const Technology &t) {
    require_inputs(num_input);
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    const int idx = Technology::temperature_index(temperature);
    double effN = wN, effP = wP;
    if (!t.is_planar()) {
        effN = multigate_width(static_cast<int>(std::ceil(fin_units_by_reciprocal(wN, t.featureSize))), t);
        effP = multigate_width(static_cast<int>(std::ceil(fin_units_by_reciprocal(wP, t.featureSize))), t);
    }
    const double offN = t.currentOffNmos[idx];
    const double offP = t.currentOffPmos[idx];
    switch (type) {
        case GateType::INV:
            return (effN * offN + effP * offP) / 2;
        case GateType::NOR: {
            const double leak = effN * offN * num_input;
            return (num_input == 2 ? rules::kLeakRatioNor2 : rules::kLeakRatioNor3) * leak;
        }
        case GateType::NAND: {
            const double leak = effP * offP * num_input;
            return (num_input == 2 ? rules::kLeakRatioNand2 : rules::kLeakRatioNand3) * leak;
        }
    }
    return 0.0;
}

// ---------------------------------------------------------------------------

WidthPair enlarge_size(double wN, double wP, double h, const Technology &t) {
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    const double F = t.featureSize;
    const double ratio = wP / (wP + wN);

    if (t.is_planar()) {
        const PlanarLimits lim = planar_limits(ratio, h, F);
        if (ratio == 0 && wN < lim.n) {
            wN = lim.n;
        } else if (ratio == 1 && wP < lim.p) {
            wP = lim.p;
        } else if (wP > 0 && wP < lim.p && wN > 0 && wN < lim.n) {
            wP = lim.p;
            wN = lim.n;
        }
        return {wN, wP};
    }

    if (t.is_finfet()) {
        const int max_fins = static_cast<int>(t.max_fin_num);
        int finsP = static_cast<int>(std::ceil(wP / (2.0 * F)));
        int finsN = static_cast<int>(std::ceil(wN / (2.0 * F)));
        if (ratio == 0 && finsN <= max_fins) {
            finsN = max_fins;
            wN = static_cast<double>(finsN) * 2 * F;
        } else if (ratio == 1 && finsP <= max_fins) {
            finsP = max_fins;
            wP = static_cast<double>(finsP) * 2 * F;
        } else if (finsP > 0 && finsP <= max_fins && finsN > 0 && finsN <= max_fins) {
            // Fill the larger device to the fin limit and scale the other one,
            // but only when that gives a whole number of fins.
            if (ratio >= 0.5) {
                const double other = max_fins / ratio * (1 - ratio);
                if (other - static_cast<int>(other) == 0) {
                    finsN = static_cast<int>(other);
                    finsP = max_fins;
                }
            } else {
                const double other = max_fins / (1 - ratio) * (ratio);
                if (other - static_cast<int>(other) == 0) {
                    finsP = static_cast<int>(other);
                    finsN = max_fins;
                }
            }
            wN = static_cast<double>(finsN) * 2 * F;
            wP = static_cast<double>(finsP) * 2 * F;
        }
        return {wN, wP};
    }

    // GAA: a lone device gets two stacks, a complementary pair one stack each.
    int stacksP = static_cast<int>(std::ceil(wP / (2 * F)));
    int stacksN = static_cast<int>(std::ceil(wN / (2 * F)));
    if (ratio == 0 && stacksN <= 2) {
        stacksN = 2;
        wN = static_cast<double>(stacksN) * 2 * F;
    } else if (ratio == 1 && stacksP <= 2) {
        stacksP = 2;
        wP = static_cast<double>(stacksP) * 2 * F;
    } else if (stacksP == 1 && stacksN == 1) {
        wN = static_cast<double>(stacksN) * 2 * F;
        wP = static_cast<double>(stacksP) * 2 * F;
    }
    return {wN, wP};
}

Footprint pass_gate_area(double wN, double wP, int num_fold, const Technology &t) {
    require_width(wN, "width_n");
    require_width(wP, "width_p");
    if (num_fold < 1) throw std::invalid_argument("num_fold must be >= 1");
    const double F = t.featureSize;
    Footprint fp;
    if (t.is_planar()) {
        fp.width = (num_fold + 1) * (rules::kPolyWidth + rules::kGatePolyGap) * F;
        fp.height = wP / num_fold + wN / num_fold + rules::kPnDiffusionGap * F + planar_endcaps(F);
    } else {
        const MultiGateRules &r = rules::multigate_rules(t.featureSizeInNano);
        fp.width = (num_fold + 1) * (r.contacted_poly_pitch) * F;
        const int totalP = static_cast<int>(std::ceil(wP / (2 * F)));
        const int totalN = static_cast<int>(std::ceil(wN / (2 * F)));
        const int perFingerP = static_cast<int>(std::ceil(static_cast<double>(totalP) / num_fold));
        const int perFingerN = static_cast<int>(std::ceil(static_cast<double>(totalN) / num_fold));
        const double heightP = (perFingerP - 1) * t.PitchFin + 2 * t.widthFin / 2;
        const double heightN = (perFingerN - 1) * t.PitchFin + 2 * t.widthFin / 2;
        // Reference behaviour: GAA counts the outer region once, FinFET twice.
        const double outer = t.is_finfet() ? r.outer_region * 2 * F : r.outer_region * F;
        fp.height = heightP + heightN + r.pn_gap * F + outer;
    }
    fp.area = fp.width * fp.height;
    return fp;
}

// ---------------------------------------------------------------------------

HorowitzResult horowitz(double tr, double /*beta*/, double ramp_input) {
    const double alpha = 1 / ramp_input / tr;
    const double vs = 0.5;    // switching threshold, fraction of the swing
    const double beta = 0.5;  // fixed, as in CACTI
    HorowitzResult res;
    res.delay = tr * std::sqrt(std::log(vs) * std::log(vs) + 2 * alpha * beta * (1 - vs));
    res.ramp_output = (1 - vs) / res.delay;
    return res;
}

double nonlinear_resistance(double R, double NL, double Vw, double Vr, double V) {
    return R * V / Vr * std::pow(NL, (Vr - V) / (Vw / 2));
}

// ---------------------------------------------------------------------------

WireMaterial wire_material(double w, WireTable table) {
    // Copper interconnect per width class (width in nm): aspect ratio,
    // resistivity including size effects, barrier thickness.
    if (!(w >= 8)) {
        std::ostringstream os;
        os << "wire width " << w << " nm is out of range (the tables start at 8 nm)";
        throw std::invalid_argument(os.str());
    }
    if (w >= 175) return {1.6, 2.01e-8, 10.0e-9};
    if (w >= 110) return {1.6, 2.20e-8, 10.0e-9};
    if (w >= 105) return {1.7, 2.21e-8, 7.0e-9};
    if (w >= 80) return {1.7, 2.37e-8, 5.0e-9};
    if (w >= 56) return {1.8, 2.63e-8, 4.0e-9};
    if (w >= 40) return {1.9, 2.97e-8, 3.0e-9};
    if (w >= 32) return {2.0, 3.25e-8, 2.5e-9};
    if (w >= 22) return {2.00, 3.95e-8, 2.5e-9};
    if (w >= 20) return {2.00, 4.17e-8, 2.5e-9};
    if (w >= 15) return {2.00, 4.98e-8, 2.0e-9};
    if (w >= 12) return {2.00, 5.8e-8, 1.5e-9};
    if (w >= 10) {
        if (table == WireTable::Design) return {2.00, 6.61 * 1e-8, 0.0};
        return {3.00, 6.65e-8, 0.5e-9};
    }
    return {3.00, 7.87e-8, 0.5e-9};
}

double wire_resistance_per_length(double w, double aspect_ratio, double resistivity,
                                  double barrier_thickness, double temperature) {
    if (!(w > 0)) throw std::invalid_argument("wire width must be > 0 nm");
    double rho = resistivity * 1 /
                 (1 - ((2 * aspect_ratio * w + w) * barrier_thickness / (aspect_ratio * std::pow(w, 2))));
    rho *= (1 + 0.00451 * (temperature - 300));
    return rho / (w * 1e-9 * w * 1e-9 * aspect_ratio);
}

WireSegment interconnect_wire(double wire_length, double base_width_nm, double temperature,
                              const Technology &t) {
    const double in_F = wire_length / t.featureSize;
    double w;
    if (in_F >= 100000) {
        w = 4 * base_width_nm;
    } else if (10000 <= in_F && in_F <= 100000) {
        w = 2 * base_width_nm;
    } else {
        w = 1 * base_width_nm;
    }
    const WireMaterial m = wire_material(w, WireTable::Interconnect);
    return {w, wire_resistance_per_length(w, m.aspect_ratio, m.resistivity, m.barrier_thickness,
                                          temperature)};
}

}  // namespace cimtech
