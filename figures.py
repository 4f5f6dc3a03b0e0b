"""The figures of a stage-2 estimate, declared once.

Every latency, energy and power figure that the sub-arrays, PEs, tiles and the chip add up
and that the report prints is one `Figure` of `FIGURES`: its name (the field of `Tile.Perf`
and `Chip.LayerFigures`, the key of `ChipEstimate.chip`), its quantity (and so its SI unit
and the unit and scale it is reported in), its category (the ADC / accumulation / other
split; buffer and interconnect are parts of "other"), the field of the sub-array's
`Array.ReadCost` it starts from, and its results.json keys. The chip area's figures are
`AREA_FIGURES` in the same form.

The code derives its lists from here: `Array.ReadCost.FIGURES`, the figures `Tile.Perf`
combines, the chip totals of `Chip.estimate`, the report's JSON / CSV columns and plots, and
the sweep table's columns (`dse.STAGE2_COLUMNS`). How figures combine is declared once too
(`combine`): units that work side by side (a PE's sub-arrays, a layer's tiles, the layers
of a pipeline) take the largest latency and add energies and powers; units that work one
after another (layer by layer) add everything.

Adding a figure: add its line here, and the field to the records that carry it (ReadCost if
a sub-array reports it, Perf and LayerFigures if the circuits add it up); the records check
at import that their fields match this list (`carried_by`).
"""
from __future__ import annotations

from dataclasses import dataclass, fields

__all__ = ["Figure", "FIGURES", "CHIP_FIGURES", "CIRCUIT_FIGURES", "AREA_FIGURES",
           "QUANTITIES", "CATEGORIES", "PART_OF", "BREAKDOWN", "FIGURE", "combine", "figure_for",
           "carried_by", "subarray_names"]

# quantity -> (SI unit, reported unit, scale from the SI unit to the reported one)
QUANTITIES = {
    "latency": ("s", "ns", 1e9),
    "energy": ("J", "pJ", 1e12),
    "power": ("W", "uW", 1e6),
    "area": ("m^2", "um^2", 1e12),
}

# category -> label (the report's and the plots' words); the names are those of the circuit
# recipes and area parts (peripherals.base.AREA_CATEGORIES); "all" is a unit's whole figure,
# "buffer" and "ic" (interconnect) are parts of "other"
CATEGORIES = {
    "all": "total",
    "adc": "ADC",
    "accum": "accumulation",
    "other": "other",
    "buffer": "buffer",
    "ic": "interconnect",
    "array": "CIM arrays",
}
PART_OF = {"buffer": "other", "ic": "other"}
# the split every latency and energy is broken into (report tables and plots)
BREAKDOWN = ("adc", "accum", "other")


@dataclass(frozen=True)
class Figure:
    """One figure. name: the field / key in the code (SI units); quantity: a key of
    QUANTITIES; category: a key of CATEGORIES; subarray: the `Array.ReadCost` field it
    starts from (None: no sub-array reports it); summed: whether the circuits' costs add
    into it through the PEs, tiles and chip (`Tile.Perf` carries it); False for the leakage
    figures, which the chip derives from the tiles' leakage and the layer latencies;
    layer_key / chip_key: its results.json keys (None: not in that section)."""
    name: str
    quantity: str
    category: str
    layer_key: str | None
    chip_key: str | None
    subarray: str | None = None
    summed: bool = True

    @property
    def unit(self) -> str:
        """The SI unit of the value in the code."""
        return QUANTITIES[self.quantity][0]

    @property
    def report_unit(self) -> str:
        return QUANTITIES[self.quantity][1]

    @property
    def scale(self) -> float:
        """From the SI unit to the reported unit (the key's suffix)."""
        return QUANTITIES[self.quantity][2]


# In NeuroSim's results.json order of the per-layer section.
FIGURES: tuple[Figure, ...] = (
    Figure("read_latency", "latency", "all", "read_latency_ns", "read_latency_ns",
           subarray="read_latency"),
    Figure("read_dynamic_energy", "energy", "all", "read_dynamic_energy_pJ",
           "read_dynamic_energy_pJ", subarray="read_dynamic_energy"),
    Figure("leakage_power", "power", "all", "leakage_power_uW", "leakage_power_uW",
           summed=False),
    Figure("leakage_energy", "energy", "all", "leakage_energy_pJ", "leakage_energy_pJ",
           summed=False),
    Figure("buffer_latency", "latency", "buffer", "buffer_latency_ns", "buffer_read_latency_ns"),
    Figure("buffer_dynamic_energy", "energy", "buffer", "buffer_read_dynamic_energy_pJ",
           "buffer_read_dynamic_energy_pJ"),
    Figure("ic_latency", "latency", "ic", "ic_latency_ns", "ic_read_latency_ns"),
    Figure("ic_dynamic_energy", "energy", "ic", "ic_read_dynamic_energy_pJ",
           "ic_read_dynamic_energy_pJ"),
    Figure("latency_adc", "latency", "adc", "adc_read_latency_ns", "adc_read_latency_ns",
           subarray="read_latency_adc"),
    Figure("latency_accum", "latency", "accum", "accum_read_latency_ns",
           "accum_read_latency_ns", subarray="read_latency_accum"),
    Figure("latency_other", "latency", "other", "other_read_latency_ns", "other_read_latency_ns",
           subarray="read_latency_other"),
    Figure("energy_adc", "energy", "adc", "adc_read_dynamic_energy_pJ",
           "adc_read_dynamic_energy_pJ", subarray="read_dynamic_energy_adc"),
    Figure("energy_accum", "energy", "accum", "accum_read_dynamic_energy_pJ",
           "accum_read_dynamic_energy_pJ", subarray="read_dynamic_energy_accum"),
    Figure("energy_other", "energy", "other", "other_read_dynamic_energy_pJ",
           "other_read_dynamic_energy_pJ", subarray="read_dynamic_energy_other"),
)

FIGURE: dict[str, Figure] = {f.name: f for f in FIGURES}

# The chip section of results.json lists the leakage energy before the leakage power (as
# NeuroSim's does); otherwise the order of FIGURES.
CHIP_FIGURES: tuple[Figure, ...] = tuple(
    FIGURE["leakage_energy"] if f.name == "leakage_power"
    else FIGURE["leakage_power"] if f.name == "leakage_energy" else f
    for f in FIGURES if f.chip_key is not None)

# what the circuits add up (Tile.Perf's figures)
CIRCUIT_FIGURES: tuple[Figure, ...] = tuple(f for f in FIGURES if f.summed)

# The chip area and its split (ChipEstimate.area keys; "array" is the cells' share, which
# lies inside "adc" in NeuroSim's split).
AREA_FIGURES: tuple[Figure, ...] = (
    Figure("area", "area", "all", None, "area_um2"),
    Figure("array", "area", "array", None, "cim_array_area_um2"),
    Figure("ic", "area", "ic", None, "ic_area_um2"),
    Figure("adc", "area", "adc", None, "adc_area_um2"),
    Figure("accum", "area", "accum", None, "accum_area_um2"),
    Figure("other", "area", "other", None, "other_area_um2"),
)


_BY_CATEGORY = {(f.quantity, f.category): f for f in CIRCUIT_FIGURES}


def figure_for(quantity: str, category: str) -> Figure:
    """The summed figure of a quantity and category (e.g. "energy", "adc" -> energy_adc)."""
    f = _BY_CATEGORY.get((quantity, category))
    if f is not None:
        return f
    raise KeyError(f"no {quantity} figure of category {category!r}; categories: "
                   f"{', '.join(sorted({f.category for f in CIRCUIT_FIGURES}))}")


def subarray_names() -> tuple[str, ...]:
    """The `Array.ReadCost` figure fields, in the order of FIGURES."""
    return tuple(f.subarray for f in FIGURES if f.subarray is not None)


def combine(quantity: str, a, b, side_by_side: bool):
    """Two units' figures of one quantity together: side by side a latency is the larger
    of the two; anything else adds."""
    if quantity == "latency" and side_by_side:
        return max(a, b)
    return a + b


def carried_by(names, extra=()):
    """Class decorator: check at import that a record's fields are exactly `names` plus
    `extra` (so a figure added to FIGURES cannot be forgotten in a record)."""
    want = set(names) | set(extra)

    def check(cls):
        have = {f.name for f in fields(cls)}
        if have != want:
            raise TypeError(f"{cls.__name__}: fields differ from figures.FIGURES: missing "
                            f"{sorted(want - have)}, not declared {sorted(have - want)}")
        return cls
    return check


def _check() -> None:
    for f in FIGURES + AREA_FIGURES:
        if f.quantity not in QUANTITIES or f.category not in CATEGORIES:
            raise ValueError(f"figure {f.name}: unknown quantity or category")
        for key in (f.layer_key, f.chip_key):
            if key is not None and not key.endswith("_" + f.report_unit.replace("^", "")):
                raise ValueError(f"figure {f.name}: key {key} does not end in its unit "
                                 f"{f.report_unit}")


_check()
