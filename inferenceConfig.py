"""One typed configuration for both stages: edit the defaults below, or override them.

Stage 1 (`inference_sim.py`) and stage 2 (`Chip.py`) read the same `Config`. Every script
accepts, in this order of precedence (later wins):

    --preset NAME          a named starting point (`default`, `neurosim-1.4`, `neurosim-1.5`)
    --config FILE          a JSON or YAML file (nested sections or flat names)
    --set NAME=VALUE       repeatable; NAME is `section.field`, a field name that is unique
                           across sections, or a DNN+NeuroSim V1.4 Param.cpp / command-line name
                           (`memcelltype=2`, `operationmode=1`, `technode=32`, `cellBit=2`, ...)

Units are SI unless the field name says otherwise (ohm, volt, second, hertz, kelvin).
A bad value raises `ConfigError`, whose message names the field, the value and the valid
choices; the command-line helpers turn it into one line on stderr and exit status 2,
before anything is written.
"""
from __future__ import annotations

import argparse
import copy
import dataclasses
import difflib
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Literal, get_args, get_origin, get_type_hints

import cells
from validation import InputError, load_json_text, load_yaml, read_text, short

__all__ = [
    "Config", "ConfigError", "DeviceConfig", "ArrayConfig", "PrecisionConfig",
    "TechnologyConfig", "ArchitectureConfig", "NonIdealConfig", "RunConfig",
    "PRESETS", "NEUROSIM_NAMES", "add_config_arguments", "config_from_args",
    "load_config", "parse_cli_config",
]

SUPPORTED_NODES_NM = (130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1)


class ConfigError(InputError):
    """A configuration value that cannot be used; the message says which and why."""


# --------------------------------------------------------------------------------------
# Sections. Each field's `metadata["help"]` documents it; `choices` restricts strings.
# --------------------------------------------------------------------------------------

def _f(default: Any, help: str, **extra: Any) -> Any:
    meta = {"help": help, **extra}
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: copy.deepcopy(default), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass
class DeviceConfig:
    """The memory cell."""
    memory_type: str = _f("RRAM", "synaptic memory cell, a name of the cell registry (cells.py): "
                                  "RRAM, SRAM, FeFET, nvCap")
    cell_file: str | None = _f(
        None, "YAML/JSON file of the cell's device numbers (r_on, r_off, read_voltage, ...; "
              "optional kind); they replace the values here (see cells.py)")
    access_type: Literal["1T1R", "crossbar"] = _f(
        "1T1R", "cell access: one transistor per cell (1T1R) or none (crossbar); RRAM/FeFET only")
    cell_bit: int = _f(1, "bits stored per cell (SRAM: always 1)")
    r_on: float = _f(100e3, "low-resistance (on) state, ohm")
    r_off: float = _f(1.7e6, "high-resistance (off) state, ohm")
    read_voltage: float | None = _f(
        None, "read voltage, V (None: the technology node's default)")
    read_pulse_width: float = _f(10e-9, "read pulse width, s")
    access_voltage: float = _f(1.1, "access-transistor gate voltage, V")
    write_voltage: float = _f(2.0, "write (program) voltage, V")
    write_pulse_width: float = _f(10e-9, "write pulse width, s")
    max_levels_ltp: int = _f(
        32, "SET (potentiation) pulses that take a cell from its lowest to its highest "
            "conductance (weight programming cost; DNN+NeuroSim V2.1 default)")
    max_levels_ltd: int = _f(
        32, "RESET (depression) pulses that take a cell from its highest to its lowest "
            "conductance (weight programming cost; DNN+NeuroSim V2.1 default)")
    # -- measured device data (stage 1) --
    conductance_table: str | None = _f(
        None, "stage 1: file of measured per-level conductances (CSV level,mean,std in S, "
              "or YAML; see data/conductance_table_example.*); None: ideal levels from r_on/r_off")


@dataclass
class ArrayConfig:
    """The sub-array and how it is read."""
    rows: int = _f(128, "sub-array rows (power of two)")
    cols: int = _f(128, "sub-array columns (power of two)")
    rows_parallel: int | None = _f(
        None, "rows read at once in parallel mode (None: all rows)")
    cols_per_adc: int = _f(8, "columns sharing one ADC / sense amp through a mux (power of two)")
    operation_mode: Literal["sequential", "parallel"] = _f(
        "sequential", "conventional sequential (row by row) or parallel (many rows at once) read")
    adc_type: Literal["sense_amp", "sar"] = _f(
        "sense_amp", "column ADC: multilevel sense amp or successive-approximation ADC")
    sense_mode: Literal["current", "voltage"] = _f(
        "current", "multilevel sense amp sensing mode")
    wl_periphery: Literal["v1.4", "v1.5"] = _f(
        "v1.4", "RRAM/FeFET/nvCap word-line periphery: as NeuroSim V1.4 (sized to the array "
                "height, word-line energy at vdd) or V1.5 (sized to the sub-array height less "
                "the mux decoder, word-line energy at the access voltage)")

    @property
    def effective_rows_parallel(self) -> int:
        """Rows whose currents one ADC conversion sums: all selected rows in parallel
        mode, one row at a time in sequential mode."""
        if self.operation_mode == "sequential":
            return 1
        return self.rows if self.rows_parallel is None else self.rows_parallel


@dataclass
class PrecisionConfig:
    weight_bits: int = _f(8, "weight precision, bits")
    input_bits: int = _f(8, "activation (input) precision, bits")
    adc_levels: int = _f(32, "ADC output levels (32 = 5 bits)")
    adc_full_scale: float | None = _f(
        None, "stage 1, parallel read: ADC input range in cell steps (None: adc_levels - 1, "
              "one code per cell step; larger values mean a coarser step)")
    adc_range: Literal["fixed", "max", "percentile", "histogram"] = _f(
        "fixed", "stage 1, parallel read: ADC range per layer: 'fixed' (adc_full_scale) or "
                 "calibrated on training images: 'max', 'percentile' (adc_range_percentile), "
                 "'histogram' (least squared error)")
    adc_range_percentile: float = _f(99.9, "percentile of the non-zero readings used by "
                                           "adc_range = percentile, %")
    adc_calib_images: int = _f(256, "training images used by a calibrated adc_range, images")
    sfu_bits: int | None = _f(
        None, "output bits of the digital special functions (softmax, LayerNorm, GELU); "
              "None: not quantized")


@dataclass
class TechnologyConfig:
    node_nm: int = _f(22, "technology node, nm", choices=SUPPORTED_NODES_NM)
    roadmap: Literal["LSTP", "HP"] = _f("LSTP", "device roadmap: low standby power or high performance")
    transistor_type: Literal["conventional"] = _f("conventional", "transistor type")
    temperature_K: int = _f(300, "operating temperature, K (300..400)")


@dataclass
class ArchitectureConfig:
    novel_mapping: bool = _f(True, "NeuroSim's novel mapping of conv kernels onto PEs (stage 1, parallel "
                                   "read: each conversion sums rows of one kernel position)")
    pipeline: bool = _f(True, "layer pipeline (else layer by layer)")
    speed_up_degree: int = _f(8, "pipeline speed-up target (weight duplication bound)")
    global_bus: Literal["xy_bus", "htree"] = _f("xy_bus", "global interconnect")
    global_buffer: Literal["register", "sram"] = _f("register", "global buffer type")
    tile_buffer: Literal["register", "sram"] = _f("register", "tile buffer type")
    pe_buffer: Literal["register", "sram"] = _f("register", "PE buffer type")
    chip_activation: bool = _f(True, "activation unit at chip level (else inside each tile)")
    activation: Literal["relu", "sigmoid"] = _f("relu", "activation function unit")
    synchronous: bool = _f(True, "synchronous clocking (clock set by the slowest sensing cycle)")
    clock_freq_hz: float = _f(1e9, "upper bound of the clock frequency, Hz")
    validated: bool = _f(True, "apply the post-layout calibration factors")
    input_toggle: float = _f(0.18, "input bus/buffer toggle rate (0..1)")
    output_toggle: float = _f(0.5, "output bus/buffer toggle rate (0..1)")
    max_global_bus_width: int = _f(2048, "global bus width limit, bits")
    global_bus_delay_tolerance: float = _f(0.1, "global bus repeater delay tolerance (0..1)")
    local_bus_delay_tolerance: float = _f(0.1, "local bus repeater delay tolerance (0..1)")
    tree_folded_ratio: int = _f(4, "H-tree folding ratio")
    dynamic_matmul: Literal["digital", "crossbar"] = _f(
        "digital", "products of two run-time operands (attention's Q.K^T, softmax.V): a digital "
                   "MAC unit, or written into crossbar cells for every input and then read")
    mac_lanes: int = _f(256, "multipliers of the digital MAC unit for dynamic products")
    sfu_lanes: int = _f(32, "lanes of the special-function unit (softmax, LayerNorm, GELU, add)")


@dataclass
class NonIdealConfig:
    """Stage-1 device non-idealities; each is off at its default and seeded."""
    d2d_sigma: float = _f(0.0, "device-to-device conductance variation (relative std), fixed per device")
    c2c_sigma: float = _f(0.0, "cycle-to-cycle read noise (relative std), new at every read")
    drift_nu: float = _f(0.0, "retention drift exponent v in G = G0 (t/t0)^v (0: no drift)")
    drift_time_s: float = _f(1.0, "time since programming t, s")
    drift_t0_s: float = _f(1.0, "drift reference time t0, s")
    drift_mode: Literal["random", "target"] = _f(
        "random", "drift direction: random per device, or toward drift_target_conductance")
    drift_target_conductance: float | None = _f(
        None, "conductance the cells drift toward in 'target' mode, S (None: Gmin)")
    stuck_on_rate: float = _f(0.0, "fraction of cells stuck at Gmax")
    stuck_off_rate: float = _f(0.0, "fraction of cells stuck at Gmin")
    seed: int = _f(0, "random seed of all non-idealities")
    # -- wire resistance and ADC non-idealities (stage 1, parallel read) --
    ir_drop: Literal["off", "fast", "exact"] = _f(
        "off", "wire IR drop (stage 2's wire resistance per cell): off, fast (nodal drops at full "
               "activity scaled by the active rows) or exact (nodal solution per conversion, "
               "slow; parallel read only)")
    adc_offset: float = _f(0.0, "ADC offset, std over ADCs, LSB (parallel read)")
    adc_gain_error: float = _f(0.0, "ADC gain error, std over ADCs, relative (parallel read)")
    adc_inl: float = _f(
        0.0, "ADC non-linearity, LSB (parallel read): sense_amp (flash) = std of each "
             "threshold; sar = std of the MSB capacitor weight (smaller bits scale as sqrt)")


@dataclass
class RunConfig:
    """How stage 1 runs (not hardware)."""
    model: str = _f("fmnist_cnn", "model name from models/ (see `python inference_sim.py --list-models`)")
    batch_size: int = _f(256, "inference batch size")
    num_images: int | None = _f(None, "test images to evaluate (None: the whole test set)")
    num_trace_images: int = _f(1, "images whose layer inputs are written as traces")
    device: Literal["auto", "cpu", "cuda"] = _f("auto", "torch device")
    accuracy_model: Literal["cim", "neurosim-1.4"] = _f(
        "cim", "stage-1 accuracy model: 'cim' (this project's crossbar model) or 'neurosim-1.4' "
               "(DNN+NeuroSim V1.4's wrapper: batch-wide ADC ranges, mid-conductance dummy "
               "column; see docs/stage1.md)")
    neurosim_output_range: float | None = _f(
        32.0, "accuracy_model = neurosim-1.4: range of the last layer's output (logits) that "
              "NeuroSim's wrapper quantizes it on (input_bits grid, clipped) before the bias; "
              "None: left unquantized")
    seed: int = _f(0, "random seed of data sampling")
    data_dir: str | None = _f(None, "dataset folder (None: the model's default)")
    checkpoint: str | None = _f(None, "checkpoint file (None: the model's shipped checkpoint)")
    output_dir: str | None = _f(None, "trace folder (None: layer_record_<model>)")
    seq_len: int = _f(128, "tokens per input for token models (BERT, GPT-2: random token ids)")


SECTIONS: dict[str, type] = {
    "device": DeviceConfig,
    "array": ArrayConfig,
    "precision": PrecisionConfig,
    "technology": TechnologyConfig,
    "architecture": ArchitectureConfig,
    "nonideal": NonIdealConfig,
    "run": RunConfig,
}


@dataclass
class Config:
    """The whole configuration. `Config()` is the project default (RRAM, 1T1R,
    conventional sequential read, 22 nm LSTP, 128x128 sub-arrays)."""
    device: DeviceConfig = field(default_factory=DeviceConfig)
    array: ArrayConfig = field(default_factory=ArrayConfig)
    precision: PrecisionConfig = field(default_factory=PrecisionConfig)
    technology: TechnologyConfig = field(default_factory=TechnologyConfig)
    architecture: ArchitectureConfig = field(default_factory=ArchitectureConfig)
    nonideal: NonIdealConfig = field(default_factory=NonIdealConfig)
    run: RunConfig = field(default_factory=RunConfig)
    # Further DNN+NeuroSim Param.cpp values (by NeuroSim name) with no typed field here;
    # checked against FormulaBindings.Param when set, applied by to_param().
    param_overrides: dict[str, Any] = field(default_factory=dict)

    # ---- conversion ----------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Config":
        cfg = cls()
        cfg.update(data, source="dict")
        cfg.validate()
        return cfg

    def copy(self) -> "Config":
        return copy.deepcopy(self)

    # ---- setting values by name ------------------------------------------------------
    def set(self, name: str, value: Any, source: str = "--set") -> None:
        """Set one value. `name` is `section.field`, a unique field name or a NeuroSim
        name; `value` may be a string (as typed on the command line) or a typed value."""
        if not isinstance(name, str):
            raise ConfigError(f"{source}: setting names must be text, got {short(name)} "
                              f"({type(name).__name__})")
        if not (value is None or isinstance(value, (str, int, float, bool))):
            raise ConfigError(f"{source}: {short(name)} must be a single value, got a "
                              f"{type(value).__name__} {short(value)}")
        if name in NEUROSIM_NAMES:
            self._typed_names()[NEUROSIM_NAMES[name].path] = name
            NEUROSIM_NAMES[name].apply(self, value, source)
            return
        section, fname = _resolve_name(name, source)
        if "." not in name and section != "param_overrides":
            self._typed_names()[f"{section}.{fname}"] = name
        if section == "param_overrides":
            self._set_param_override(fname, value, source)
            return
        self._assign(section, fname, value, source, label=f"{section}.{fname}")

    def _typed_names(self) -> dict[str, str]:
        """section.field -> the name the user typed for it (a NeuroSim or short name), for
        messages; kept on the instance, outside the dataclass fields."""
        names = self.__dict__.get("_typed")
        if names is None:
            names = self.__dict__["_typed"] = {}
        return names

    def update(self, data: dict[str, Any], source: str) -> None:
        """Apply a nested ({"device": {"cell_bit": 2}}) or flat ({"cellBit": 2}) mapping."""
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping of names to values, got {type(data).__name__}")
        for key, value in data.items():
            if not isinstance(key, str):
                raise ConfigError(f"{source}: setting names must be text, got {short(key)} "
                                  f"({type(key).__name__}); quote it or use a name such as "
                                  f"cellBit")
            if key in SECTIONS and isinstance(value, dict):
                for fname, fvalue in value.items():
                    self.set(f"{key}.{fname}", fvalue, source)
            elif key == "param_overrides" and isinstance(value, dict):
                for fname, fvalue in value.items():
                    if not isinstance(fname, str):
                        raise ConfigError(f"{source}: setting names must be text, got "
                                          f"{short(fname)}")
                    self._set_param_override(fname, fvalue, source)
            else:
                self.set(key, value, source)

    def _assign(self, section: str, fname: str, value: Any, source: str, label: str) -> None:
        obj = getattr(self, section)
        hint = get_type_hints(type(obj))[fname]
        try:
            setattr(obj, fname, _coerce(value, hint, label, source))
        except ConfigError as exc:
            raise ConfigError(self._with_typed_name(str(exc))) from None

    def _set_param_override(self, name: str, value: Any, source: str) -> None:
        fields = _neurosim_param_fields()
        if name not in fields:
            raise ConfigError(_unknown_name_message(name, source))
        kind = fields[name]
        hint = {"int": int, "float": float, "bool": bool, "optional_float": float | None,
                "str": str}.get(kind, float)
        value = _coerce(value, hint, name, source)
        _check_param_range(name, kind, value)
        self.param_overrides[name] = value

    # ---- validation ------------------------------------------------------------------
    def validate(self) -> "Config":
        """Check every value and every combination; raise ConfigError on the first problem."""
        for section, cls in SECTIONS.items():
            obj = getattr(self, section)
            hints = get_type_hints(cls)
            for f in dataclasses.fields(cls):
                label = f"{section}.{f.name}"
                value = getattr(obj, f.name)
                setattr(obj, f.name, _coerce(value, hints[f.name], label, "config"))
                choices = f.metadata.get("choices")
                if choices is not None and value not in choices:
                    self._fail_typed(label, value, "one of " + ", ".join(map(str, choices)))
        try:
            _check_rules(self)
        except ConfigError as exc:
            raise ConfigError(self._with_typed_name(str(exc))) from None
        for name, value in self.param_overrides.items():
            _check_param_range(name, _neurosim_param_fields().get(name, "float"), value)
        return self

    def _with_typed_name(self, message: str) -> str:
        """'invalid value for 'array.rows'' -> '... 'numRowSubArray (array.rows)'' when the
        user typed numRowSubArray."""
        for path, typed in self._typed_names().items():
            old = f"'{path}'"
            if old in message and typed != path:
                return message.replace(old, f"'{typed} ({path})'", 1)
        return message

    def _fail_typed(self, label: str, value: Any, valid: str) -> None:
        try:
            _fail(label, value, valid)
        except ConfigError as exc:
            raise ConfigError(self._with_typed_name(str(exc))) from None

    # ---- derived and exported views --------------------------------------------------
    @property
    def cells_per_weight(self) -> int:
        return math.ceil(self.precision.weight_bits / self.device.cell_bit)

    def to_param(self):
        """A FormulaBindings.Param holding this configuration (NeuroSim names)."""
        import FormulaBindings  # built by `make setup`

        param = FormulaBindings.Param()
        for name, value in self.neurosim_values().items():
            param.set(name, value)
        # the device numbers the cell kind fixes (nvCap), then those of a cell file; an
        # explicit Param.cpp name set by the user still wins
        for name, value in self.cell_device_values().items():
            param.set(name, value)
        for name, value in self.param_overrides.items():
            param.set(name, value)
        return param

    def cell_device_values(self) -> dict[str, Any]:
        """NeuroSim Param values of the memory cell beyond the typed fields: those its kind
        fixes (cells.py) and those of `device.cell_file`."""
        out = dict(cells.get_cell(self.device.memory_type).device)
        if self.device.cell_file is not None:
            try:
                out.update(cells.load_cell_file(self.device.cell_file)[1])
            except InputError as exc:
                raise ConfigError(str(exc)) from None
        return out

    def neurosim_values(self) -> dict[str, Any]:
        """This configuration in DNN+NeuroSim V1.4 Param.cpp / command-line names."""
        out: dict[str, Any] = {}
        for name, alias in NEUROSIM_NAMES.items():
            value = alias.export(self)
            if value is not _SKIP:
                out[name] = value
        return out

    def describe(self) -> str:
        """Human-readable listing of every value, grouped by section."""
        lines = []
        for section, cls in SECTIONS.items():
            lines.append(f"[{section}]")
            obj = getattr(self, section)
            for f in dataclasses.fields(cls):
                lines.append(f"  {f.name:<28} = {getattr(obj, f.name)!r:<14}  # {f.metadata['help']}")
        if self.param_overrides:
            lines.append("[param_overrides]  (DNN+NeuroSim Param.cpp names)")
            for k, v in sorted(self.param_overrides.items()):
                lines.append(f"  {k:<28} = {v!r}")
        return "\n".join(lines)


# --------------------------------------------------------------------------------------
# Rules across fields
# --------------------------------------------------------------------------------------

def _fail(label: str, value: Any, valid: str) -> None:
    raise ConfigError(f"invalid value for '{label}': {short(value)}. Valid: {valid}.")


def _is_pow2(n: int) -> bool:
    return n > 0 and (n & (n - 1)) == 0


def _check_rules(c: Config) -> None:
    d, a, p, t, ar, n, r = (c.device, c.array, c.precision, c.technology,
                            c.architecture, c.nonideal, c.run)
    # technology
    if t.roadmap == "HP" and t.node_nm <= 14:
        _fail("technology.roadmap", t.roadmap, "LSTP at 14 nm and below (HP exists for 22 nm and above)")
    if not 300 <= t.temperature_K <= 400:
        _fail("technology.temperature_K", t.temperature_K, "an integer from 300 to 400 K")
    if t.temperature_K != 300 and t.node_nm <= 14:
        _fail("technology.temperature_K", t.temperature_K, "300 K at 14 nm and below")
    # device
    try:
        kind = cells.get_cell(d.memory_type)
    except ValueError:
        _fail("device.memory_type", d.memory_type, ", ".join(cells.CELLS))
    problem = kind.check(node_nm=t.node_nm, operation_mode=a.operation_mode)
    if problem and kind.min_node_nm is None:
        label = ("array.operation_mode" if a.operation_mode not in kind.read_modes
                 else "technology.node_nm")
        _fail(label, getattr(a, "operation_mode") if label.startswith("array") else t.node_nm,
              problem)
    if d.cell_file is not None:
        try:
            file_kind, _ = cells.load_cell_file(d.cell_file)
        except InputError as exc:
            raise ConfigError(str(exc)) from None
        if file_kind is not None and file_kind != d.memory_type:
            _fail("device.cell_file", d.cell_file, f"a file whose kind is {d.memory_type} "
                  f"(device.memory_type), or set device.memory_type={file_kind}")
    if d.memory_type == "RRAM" and t.node_nm <= 14:
        _fail("technology.node_nm", t.node_nm,
              "22 nm or larger for RRAM (130, 90, 65, 45, 32, 22); use SRAM or FeFET below")
    if not 1 <= d.cell_bit <= 8:
        _fail("device.cell_bit", d.cell_bit, "an integer from 1 to 8")
    if kind.stores_one_bit and d.cell_bit != 1:
        _fail("device.cell_bit", d.cell_bit, "1 for SRAM (an SRAM cell stores one bit)")
    if d.cell_bit > p.weight_bits:
        _fail("device.cell_bit", d.cell_bit, f"at most precision.weight_bits = {p.weight_bits}")
    if not 1.0 <= d.r_on <= 1e12:
        _fail("device.r_on", d.r_on, "a resistance from 1 to 1e12 ohm")
    if not d.r_on < d.r_off <= 1e15:
        _fail("device.r_off", d.r_off, f"greater than device.r_on = {d.r_on:g} ohm and at "
                                       f"most 1e15 ohm")
    for name, top, unit in (("read_pulse_width", 1.0, "s"), ("access_voltage", 100.0, "V"),
                            ("write_voltage", 100.0, "V"), ("write_pulse_width", 1.0, "s")):
        if not 0 < getattr(d, name) <= top:
            _fail(f"device.{name}", getattr(d, name), f"a positive number up to {top:g} {unit}")
    for name in ("max_levels_ltp", "max_levels_ltd"):
        if not 1 <= getattr(d, name) <= 65536:
            _fail(f"device.{name}", getattr(d, name), "an integer from 1 to 65536")
    if d.read_voltage is not None and not 0 < d.read_voltage <= 100:
        _fail("device.read_voltage", d.read_voltage, "a positive voltage, or None for the node default")
    # array
    for name in ("rows", "cols"):
        v = getattr(a, name)
        if not (_is_pow2(v) and 16 <= v <= 2048):
            _fail(f"array.{name}", v, "a power of two from 16 to 2048")
    if a.rows_parallel is not None and not 1 <= a.rows_parallel <= a.rows:
        _fail("array.rows_parallel", a.rows_parallel, f"1 to array.rows = {a.rows}, or None for all rows")
    if not (_is_pow2(a.cols_per_adc) and a.cols_per_adc <= a.cols):
        _fail("array.cols_per_adc", a.cols_per_adc, f"a power of two up to array.cols = {a.cols}")
    # precision
    for name in ("weight_bits", "input_bits"):
        v = getattr(p, name)
        if not 1 <= v <= 16:
            _fail(f"precision.{name}", v, "an integer from 1 to 16")
    if not 2 <= p.adc_levels <= 65536:
        _fail("precision.adc_levels", p.adc_levels, "an integer from 2 to 65536")
    if p.adc_full_scale is not None and not (p.adc_full_scale > 0 and math.isfinite(p.adc_full_scale)):
        _fail("precision.adc_full_scale", p.adc_full_scale, "a positive number of cell steps, or None")
    if not (0 < p.adc_range_percentile <= 100):
        _fail("precision.adc_range_percentile", p.adc_range_percentile, "a percentage in (0, 100]")
    if not 1 <= p.adc_calib_images <= 60000:
        _fail("precision.adc_calib_images", p.adc_calib_images, "an integer from 1 to 60000")
    if p.sfu_bits is not None and not 2 <= p.sfu_bits <= 16:
        _fail("precision.sfu_bits", p.sfu_bits, "an integer from 2 to 16, or None")
    # architecture
    if not 1 <= ar.speed_up_degree <= 1 << 20:
        _fail("architecture.speed_up_degree", ar.speed_up_degree, "an integer from 1 to 2^20")
    if not 0 < ar.clock_freq_hz <= 1e12:
        _fail("architecture.clock_freq_hz", ar.clock_freq_hz, "a frequency above 0 and up to "
                                                              "1e12 Hz")
    for name in ("input_toggle", "output_toggle", "global_bus_delay_tolerance", "local_bus_delay_tolerance"):
        v = getattr(ar, name)
        if not 0 <= v <= 1:
            _fail(f"architecture.{name}", v, "a number from 0 to 1")
    if not 1 <= ar.max_global_bus_width <= 1 << 24:
        _fail("architecture.max_global_bus_width", ar.max_global_bus_width,
              "an integer from 1 to 2^24")
    for name in ("mac_lanes", "sfu_lanes"):
        if not 1 <= getattr(ar, name) <= 1 << 16:
            _fail(f"architecture.{name}", getattr(ar, name), "an integer from 1 to 65536")
    if not 1 <= ar.tree_folded_ratio <= 1 << 10:
        _fail("architecture.tree_folded_ratio", ar.tree_folded_ratio, "an integer from 1 to 1024")
    # non-idealities
    for name in ("d2d_sigma", "c2c_sigma"):
        v = getattr(n, name)
        if not 0 <= v <= 10:
            _fail(f"nonideal.{name}", v, "a relative deviation from 0 to 10")
    if not 0 <= n.drift_nu <= 1:
        _fail("nonideal.drift_nu", n.drift_nu, "an exponent from 0 to 1")
    for name in ("drift_time_s", "drift_t0_s"):
        v = getattr(n, name)
        if not 0 < v <= 1e12:
            _fail(f"nonideal.{name}", v, "a time above 0 and up to 1e12 s (30000 years)")
    for name in ("stuck_on_rate", "stuck_off_rate"):
        v = getattr(n, name)
        if not 0 <= v <= 1:
            _fail(f"nonideal.{name}", v, "a fraction from 0 to 1")
    if n.stuck_on_rate + n.stuck_off_rate > 1:
        _fail("nonideal.stuck_off_rate", n.stuck_off_rate,
              f"at most 1 - nonideal.stuck_on_rate = {1 - n.stuck_on_rate:g}")
    if n.drift_target_conductance is not None and not 0 < n.drift_target_conductance <= 1e3:
        _fail("nonideal.drift_target_conductance", n.drift_target_conductance, "a positive conductance in S, or None")
    _check_stage1_effects(c)
    # run
    if not 1 <= r.batch_size <= 1 << 16:
        _fail("run.batch_size", r.batch_size, "an integer from 1 to 65536")
    if r.num_images is not None and r.num_images < 1:
        _fail("run.num_images", r.num_images, "an integer >= 1, or None for the whole test set")
    if not 1 <= r.num_trace_images <= 100_000:
        _fail("run.num_trace_images", r.num_trace_images, "an integer from 1 to 100000")
    if r.neurosim_output_range is not None and not (
            isinstance(r.neurosim_output_range, (int, float)) and r.neurosim_output_range > 0
            and math.isfinite(r.neurosim_output_range)):
        _fail("run.neurosim_output_range", r.neurosim_output_range, "a positive number, or None")
    if not 1 <= r.seq_len <= 65536:
        _fail("run.seq_len", r.seq_len, "an integer from 1 to 65536")
    if not 0 <= r.seed < 2 ** 63 or not 0 <= n.seed < 2 ** 63:
        _fail("run.seed" if not 0 <= r.seed < 2 ** 63 else "nonideal.seed",
              r.seed if not 0 <= r.seed < 2 ** 63 else n.seed, "an integer from 0 to 2^63-1")


# Pass-through Param.cpp values (no typed field): finite, and of the sign of NeuroSim's
# default, within generous bounds; a few need a tighter rule.
_PARAM_INT_MAX = 1 << 24
_PARAM_FLOAT_MAX = 1e12
_PARAM_RULES: dict[str, tuple[float, float, str]] = {
    "algoWeightMin": (-1e6, -1e-12, "a negative number (the smallest algorithm weight)"),
    "algoWeightMax": (1e-12, 1e6, "a positive number (the largest algorithm weight)"),
    "operationmodeBack": (0, 6, "an integer from 0 to 6"),
}
_PARAM_ZERO_OK = {"numWritePulse", "readNoise", "nonlinearity", "buffernumber",
                  "buffersizeratio", "multipleCells", "neuro", "multifunctional",
                  "parallelWrite", "numlut", "numWriteColMuxed", "avgWeightBit",
                  "operationmodeBack"}


def _check_param_range(name: str, kind: str, value: Any) -> None:
    """Ranges of pass-through DNN+NeuroSim Param.cpp values."""
    if value is None or kind in ("bool", "str") or isinstance(value, bool):
        return
    v = float(value)
    if name in _PARAM_RULES:
        lo, hi, text = _PARAM_RULES[name]
        if not lo <= v <= hi:
            _fail(name, value, text)
        return
    top = _PARAM_INT_MAX if kind == "int" else _PARAM_FLOAT_MAX
    if name in _PARAM_ZERO_OK:
        if not 0 <= v <= top:
            _fail(name, value, f"a finite number from 0 to {top:g}")
    elif kind == "int":
        if not 1 <= v <= top:
            _fail(name, value, f"an integer from 1 to {top}")
    elif not 0 < v <= top:
        _fail(name, value, f"a finite number above 0 and up to {top:g}")


def _check_stage1_effects(c: Config) -> None:
    """Measured device table, IR drop and ADC non-idealities (stage 1)."""
    n = c.nonideal
    for name in ("adc_offset", "adc_gain_error", "adc_inl"):
        v = getattr(n, name)
        if not (v >= 0 and math.isfinite(v)):
            _fail(f"nonideal.{name}", v, "a finite number >= 0")
    if n.adc_gain_error >= 0.5:
        _fail("nonideal.adc_gain_error", n.adc_gain_error, "a relative std below 0.5")
    sequential = c.array.operation_mode == "sequential"
    if sequential and (n.ir_drop == "exact" or n.adc_offset or n.adc_gain_error or n.adc_inl):
        what = "nonideal.ir_drop" if n.ir_drop == "exact" else "nonideal.adc_offset/adc_gain_error/adc_inl"
        raise ConfigError(f"'{what}' is modelled for parallel read only: set "
                          "array.operation_mode=parallel (or ir_drop=fast)")
    if c.device.conductance_table is not None:
        from cim.conductance import TableError, load_conductance_table
        try:
            table = load_conductance_table(c.device.conductance_table, c.device.cell_bit, c.array.cols)
        except TableError as exc:
            raise ConfigError(str(exc)) from None
        if sequential and table.output_noise is not None:
            raise ConfigError(f"device.conductance_table '{c.device.conductance_table}': "
                              "output_noise is modelled for parallel read only: set "
                              "array.operation_mode=parallel or remove output_noise")


# --------------------------------------------------------------------------------------
# Type coercion (strings from the command line, values from JSON/YAML)
# --------------------------------------------------------------------------------------

_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}
_NONE = {"none", "null", ""}


def _coerce(value: Any, hint: Any, label: str, source: str) -> Any:
    origin = get_origin(hint)
    args = get_args(hint)
    if origin is Literal:
        text = value if not isinstance(value, str) else value.strip()
        for choice in args:
            if text == choice or (isinstance(text, str) and text.lower() == str(choice).lower()):
                return choice
        _fail(label, value, "one of " + ", ".join(map(str, args)))
    if type(None) in args:  # Optional[X]
        if value is None or (isinstance(value, str) and value.strip().lower() in _NONE):
            return None
        inner = [a for a in args if a is not type(None)]
        return _coerce(value, inner[0], label, source)
    if hint is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
            return value.strip().lower() in _TRUE
        _fail(label, value, "true or false")
    if hint is int:
        if isinstance(value, bool):
            _fail(label, value, "an integer")
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if isinstance(value, str):
            try:
                f = float(value.strip())
            except ValueError:
                _fail(label, value, "an integer")
            if f.is_integer():
                return int(f)
        _fail(label, value, "an integer")
    if hint is float:
        if isinstance(value, bool):
            _fail(label, value, "a number")
        try:
            f = float(value.strip() if isinstance(value, str) else value)
        except (TypeError, ValueError):
            _fail(label, value, "a number")
        if math.isnan(f):
            _fail(label, value, "a number (not NaN)")
        return f
    if hint is str:
        if not isinstance(value, str):
            _fail(label, value, "a string")
        return value
    raise TypeError(f"unsupported config type {hint!r} for {label}")


# --------------------------------------------------------------------------------------
# DNN+NeuroSim V1.4 names (Param.cpp members and main's command-line arguments)
# --------------------------------------------------------------------------------------

_SKIP = object()


@dataclass(frozen=True)
class _Alias:
    """A NeuroSim name mapped onto one typed field, with value translation both ways."""
    path: str
    to_ours: dict[Any, Any] | None = None        # NeuroSim value -> our value
    valid: str = ""                                # for the error message
    export_fn: Callable[[Config], Any] | None = None

    def apply(self, cfg: Config, value: Any, source: str) -> None:
        section, fname = self.path.split(".")
        if self.to_ours is not None:
            key = _normalise_key(value)
            if not isinstance(key, (str, int, float, bool)) or key not in self.to_ours:
                raise ConfigError(
                    f"invalid value for '{self.name_for_message(cfg)} ({self.path})': "
                    f"{short(value)}. Valid: {self.valid}.")
            value = self.to_ours[key]
        cfg._assign(section, fname, value, source, label=f"{self.path}")

    def name_for_message(self, cfg: Config) -> str:
        for k, v in NEUROSIM_NAMES.items():
            if v is self:
                return k
        return self.path

    def export(self, cfg: Config) -> Any:
        if self.export_fn is not None:
            return self.export_fn(cfg)
        section, fname = self.path.split(".")
        ours = getattr(getattr(cfg, section), fname)
        if self.to_ours is None:
            return ours
        for theirs, mine in self.to_ours.items():
            if mine == ours:
                return theirs
        return _SKIP


def _normalise_key(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        s = value.strip().lower()
        if s in _TRUE - {"1"}:
            return True
        if s in _FALSE - {"0"}:
            return False
        try:
            f = float(s)
            return int(f) if f.is_integer() else f
        except ValueError:
            return s
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _bool_map(true_value: Any, false_value: Any) -> dict[Any, Any]:
    return {True: true_value, False: false_value, 1: true_value, 0: false_value}


NEUROSIM_NAMES: dict[str, _Alias] = {
    # NeuroSim's cell numbers come from the cell registry (cells.py)
    "memcelltype": _Alias("device.memory_type", {k.code: k.name for k in cells.CELLS.values()},
                          ", ".join(f"{k.code} ({k.name})" for k in cells.CELLS.values())),
    "subArrayRevision": _Alias("array.wl_periphery", {14: "v1.4", 15: "v1.5"},
                               "14 (NeuroSim V1.4), 15 (NeuroSim V1.5)"),
    "accesstype": _Alias("device.access_type", {1: "1T1R", 4: "crossbar"},
                         "1 (CMOS access, 1T1R), 4 (none, crossbar)"),
    "operationmode": _Alias("array.operation_mode", {1: "sequential", 2: "parallel"},
                            "1 (conventional sequential), 2 (conventional parallel); "
                            "BNN/XNOR modes 3-6 are not supported"),
    "technode": _Alias("technology.node_nm"),
    "deviceroadmap": _Alias("technology.roadmap", {1: "HP", 2: "LSTP"}, "1 (HP), 2 (LSTP)"),
    "transistortype": _Alias("technology.transistor_type", {1: "conventional"},
                             "1 (conventional CMOS)"),
    "temp": _Alias("technology.temperature_K"),
    "cellBit": _Alias("device.cell_bit"),
    "resistanceOn": _Alias("device.r_on"),
    "resistanceOff": _Alias("device.r_off"),
    "readVoltage": _Alias("device.read_voltage",
                          export_fn=lambda c: _SKIP if c.device.read_voltage is None else c.device.read_voltage),
    "readPulseWidth": _Alias("device.read_pulse_width"),
    "accessVoltage": _Alias("device.access_voltage"),
    "writeVoltage": _Alias("device.write_voltage"),
    "writePulseWidth": _Alias("device.write_pulse_width"),
    "maxNumLevelLTP": _Alias("device.max_levels_ltp"),
    "maxNumLevelLTD": _Alias("device.max_levels_ltd"),
    "numRowSubArray": _Alias("array.rows"),
    "numColSubArray": _Alias("array.cols"),
    "numRowParallel": _Alias("array.rows_parallel",
                             export_fn=lambda c: c.array.rows if c.array.rows_parallel is None
                             else c.array.rows_parallel),
    "numColMuxed": _Alias("array.cols_per_adc"),
    "SARADC": _Alias("array.adc_type", _bool_map("sar", "sense_amp"), "true (SAR ADC), false (sense amp)"),
    "currentMode": _Alias("array.sense_mode", _bool_map("current", "voltage"),
                          "true (current mode), false (voltage mode)"),
    "synapseBit": _Alias("precision.weight_bits"),
    "numBitInput": _Alias("precision.input_bits"),
    "levelOutput": _Alias("precision.adc_levels"),
    "novelMapping": _Alias("architecture.novel_mapping"),
    "pipeline": _Alias("architecture.pipeline"),
    "speedUpDegree": _Alias("architecture.speed_up_degree"),
    "globalBusType": _Alias("architecture.global_bus", _bool_map("htree", "xy_bus"),
                            "false (X-Y bus), true (H-tree)"),
    "globalBufferType": _Alias("architecture.global_buffer", _bool_map("sram", "register"),
                               "false (register file), true (SRAM)"),
    "tileBufferType": _Alias("architecture.tile_buffer", _bool_map("sram", "register"),
                             "false (register file), true (SRAM)"),
    "peBufferType": _Alias("architecture.pe_buffer", _bool_map("sram", "register"),
                           "false (register file), true (SRAM)"),
    "chipActivation": _Alias("architecture.chip_activation"),
    "reLu": _Alias("architecture.activation", _bool_map("relu", "sigmoid"), "true (ReLU), false (sigmoid)"),
    "synchronous": _Alias("architecture.synchronous"),
    "clkFreq": _Alias("architecture.clock_freq_hz"),
    "validated": _Alias("architecture.validated"),
    "inputtoggle": _Alias("architecture.input_toggle"),
    "outputtoggle": _Alias("architecture.output_toggle"),
    "maxGlobalBusWidth": _Alias("architecture.max_global_bus_width"),
    "globalBusDelayTolerance": _Alias("architecture.global_bus_delay_tolerance"),
    "localBusDelayTolerance": _Alias("architecture.local_bus_delay_tolerance"),
    "treeFoldedRatio": _Alias("architecture.tree_folded_ratio"),
}


def _neurosim_param_fields() -> dict[str, str]:
    """NeuroSim Param names known to the C++ Param (name -> type name)."""
    try:
        import FormulaBindings
    except ImportError as exc:  # pragma: no cover - only without a build
        raise ConfigError(
            "FormulaBindings is not built, so further NeuroSim Param names cannot be checked; "
            "run `make setup` first") from exc
    return dict(FormulaBindings.Param.base_fields())


def _all_field_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    for section, cls in SECTIONS.items():
        for f in dataclasses.fields(cls):
            names.setdefault(f.name, []).append(section)
    return names


def _resolve_name(name: str, source: str) -> tuple[str, str]:
    if "." in name:
        section, fname = name.split(".", 1)
        if section in SECTIONS and fname in {f.name for f in dataclasses.fields(SECTIONS[section])}:
            return section, fname
        if section == "param_overrides":
            return section, fname
        raise ConfigError(_unknown_name_message(name, source))
    owners = _all_field_names().get(name)
    if owners is None:
        try:
            known = _neurosim_param_fields()
        except ConfigError:
            known = {}
        if name in known:
            return "param_overrides", name
        raise ConfigError(_unknown_name_message(name, source))
    if len(owners) > 1:
        raise ConfigError(f"{source}: '{name}' is ambiguous; write one of "
                          + ", ".join(f"{s}.{name}" for s in owners))
    return owners[0], name


def _unknown_name_message(name: str, source: str) -> str:
    candidates = [f"{s}.{f.name}" for s, cls in SECTIONS.items() for f in dataclasses.fields(cls)]
    candidates += [f.name for cls in SECTIONS.values() for f in dataclasses.fields(cls)]
    candidates += list(NEUROSIM_NAMES)
    try:
        candidates += list(_neurosim_param_fields())
    except ConfigError:
        pass
    close = difflib.get_close_matches(name, candidates, n=4, cutoff=0.6)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return (f"{source}: unknown setting {short(name)}.{hint} Valid names: section.field "
            f"(sections: {', '.join(SECTIONS)}), a unique field name, or a DNN+NeuroSim "
            f"Param.cpp name; `--list-settings` prints them all.")


# --------------------------------------------------------------------------------------
# Presets
# --------------------------------------------------------------------------------------

def _neurosim_14() -> Config:
    """DNN+NeuroSim V1.4 as shipped: Param.cpp defaults plus the wrapper's command line
    (8-bit weights and inputs, numRowParallel = sub-array rows)."""
    c = Config()
    c.device.memory_type = "SRAM"
    c.device.cell_bit = 1
    c.array.operation_mode = "parallel"
    c.array.rows_parallel = None
    c.precision.adc_levels = 32
    c.technology.node_nm = 22
    c.technology.roadmap = "LSTP"
    c.run.accuracy_model = "neurosim-1.4"      # stage 1: NeuroSim's own accuracy model ...
    c.run.batch_size = 200                     # ... whose ADC ranges depend on the batch
    return c


def _neurosim_15() -> Config:
    """NeuroSim V1.5 (tag 2DInferenceV1.5) as shipped: RRAM 1T1R, conventional parallel,
    7-bit voltage-mode ADC, Ron 6 kOhm / Roff 102 kOhm, its word-line periphery, and the
    same wrapper command line as V1.4. Everything else is V1.4's."""
    c = _neurosim_14()
    c.device.memory_type = "RRAM"
    c.device.r_on = 6e3
    c.device.r_off = 6e3 * 17
    c.precision.adc_levels = 128
    c.array.sense_mode = "voltage"
    c.array.wl_periphery = "v1.5"
    return c


PRESETS: dict[str, Callable[[], Config]] = {
    "default": Config,
    "neurosim-1.4": _neurosim_14,
    "neurosim-1.5": _neurosim_15,
}


# --------------------------------------------------------------------------------------
# Loading and the command line
# --------------------------------------------------------------------------------------

MAX_CONFIG_BYTES = 1 << 20


def _read_config_file(path: str) -> dict[str, Any]:
    p = Path(path)
    try:
        text = read_text(p, "--config file", MAX_CONFIG_BYTES)
        if p.suffix.lower() in (".yaml", ".yml"):
            data = load_yaml(text, f"--config: cannot parse {path}")
        else:
            data = load_json_text(text, f"--config: cannot parse {path}")
    except ConfigError:
        raise
    except InputError as exc:
        raise ConfigError(str(exc)) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"--config: {path} must hold a mapping of names to values")
    return data


def load_config(preset: str | None = None, config_file: str | None = None,
                settings: list[str] | None = None) -> Config:
    """Build a validated Config: preset, then file, then NAME=VALUE settings."""
    name = preset or "default"
    if name not in PRESETS:
        raise ConfigError(f"--preset: unknown preset {short(name)}. Valid: {', '.join(PRESETS)}.")
    cfg = PRESETS[name]()
    if config_file:
        cfg.update(_read_config_file(config_file), source=f"--config {config_file}")
    for item in settings or []:
        if "=" not in item:
            raise ConfigError(f"--set: expected NAME=VALUE, got {short(item)}")
        key, value = item.split("=", 1)
        cfg.set(key.strip(), value, source=f"--set {item}")
    return cfg.validate()


def add_config_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("configuration (see inferenceConfig.py)")
    group.add_argument("--preset", default=None, choices=sorted(PRESETS),
                       help="start from a named configuration (default: the project default)")
    group.add_argument("--config", metavar="FILE", default=None,
                       help="JSON or YAML file of settings, nested by section or flat")
    group.add_argument("--set", metavar="NAME=VALUE", action="append", default=[],
                       dest="settings",
                       help="override one setting (repeatable); NAME is section.field, a field "
                            "name, or a DNN+NeuroSim Param.cpp name such as memcelltype=2")
    group.add_argument("--list-settings", action="store_true",
                       help="print every setting with its default and the NeuroSim names, then exit")


def config_from_args(args: argparse.Namespace) -> Config:
    """The validated Config for parsed arguments. On a bad setting, print one error line
    and exit with status 2 (nothing has been written yet)."""
    try:
        cfg = load_config(args.preset, args.config, args.settings)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    if getattr(args, "list_settings", False):
        print(cfg.describe())
        print("\nDNN+NeuroSim V1.4 names accepted by --set:")
        for k, alias in NEUROSIM_NAMES.items():
            print(f"  {k:<26} -> {alias.path}" + (f"  ({alias.valid})" if alias.valid else ""))
        sys.exit(0)
    return cfg


def parse_cli_config(description: str, argv: list[str] | None = None) -> Config:
    """Convenience for scripts with no options of their own."""
    parser = argparse.ArgumentParser(description=description)
    add_config_arguments(parser)
    return config_from_args(parser.parse_args(argv))


if __name__ == "__main__":
    print(parse_cli_config("Print the resolved configuration.").describe())
