"""Crossbar model of one layer: cells, conductances, non-idealities, bit-serial reads, ADC.

Units. Conductances are normalised to one cell step, `unit = (Gmax - Gmin) / (2^cellBit - 1)`
with `Gmax = 1/Ron`, `Gmin = 1/Roff`. A cell at level `l` (0 .. 2^cellBit-1) then has
`g = g_min + l` with `g_min = (2^cellBit - 1) / (Roff/Ron - 1)`; SRAM (or an infinite on/off
ratio) has `g_min = 0`. An ADC reading of 1.0 is the current of one cell step on one active row.

Weight mapping (one layer, one group of a grouped conv):
* signed code `q` in [-(2^(b-1)-1), 2^(b-1)-1] is stored offset-binary, `u = q + 2^(b-1)`;
* `u` is split into `cps = ceil(b / cellBit)` cells of `cellBit` bits, most significant first;
  weight column `n`, slice `k` is crossbar column `n*cps + k`;
* unrolled rows are `c*KH*KW + kh*KW + kw` (PyTorch weight `[N, C, KH, KW]` flattened), the
  order of the NeuroSim trace files. Rows are cut into sub-arrays of `rows` rows; within a
  sub-array, groups of `rows_parallel` rows are read at once (sequential mode: 1 row);
* every sub-array column tile (`cols` columns) has one reference column with every cell at
  level 0 (Gmin). Its conversion is subtracted from every data column of the tile: this
  cancels the Gmin offset of a finite on/off ratio. The offset-binary offset is removed
  digitally: `2^(b-1) * sum_i a_i` (the sum of the input codes of the output position).

Input: activation codes `a` (two's complement, `input_bits` bits) are applied bit-serially,
one bit plane per read, MSB (sign) plane first. Plane `j` has weight `-2^(nb-1)` for j = 0
and `2^(nb-1-j)` otherwise.

ADC, parallel read: a reading `r` (normalised current of one row group of one column for
one input vector) becomes `clamp(floor(r / step + 0.5), 0, L_adc - 1) * step`, with
`L_adc = precision.adc_levels` and `step = adc_full_scale / (L_adc - 1)` (1 when no full
scale is set: one code per cell step); the reference column is converted the same way and
subtracted. Sense amp, sequential read (one row): `L_adc = 2^cellBit` levels with thresholds
at the sensed reference plus `m + 0.5` cell steps (the mid-points between the levels, as the
read-out circuit stage 2 prices places them), i.e. code `clamp(floor(g - g_ref + 0.5), 0,
2^cellBit - 1)` from one read of the cell and one of its tile's reference cell. A conversion
that saturates at the top code counts as clipped.

Shift-and-add: `out = sum_j w_j * sum_k 2^(cellBit*(cps-1-k)) * sum_groups D` (parallel
`D = D_data - D_ref`; sequential `D` = the sense amp's code)
minus the digital offset above. With an ideal array (no noise, exact conductances, enough
ADC levels) this is exactly `sum_i a_i q_i`.

Non-idealities (off by default; each from its own seeded stream, fixed for the run):
* device-to-device: `g <- g * (1 + d2d_sigma * N(0,1))`, clipped at 0, per physical cell
  (reference cells included), fixed for the whole run;
* drift: `g <- g * (t/t0)^(nu * s)`. Mode "random": `s = +-1` per cell at random, the drift
  stops at the device range [g_min, g_max]. Mode "target": `s = sign(g_target - g)` and the
  drift stops at the target (default target: Gmin);
* stuck-at faults: each cell is stuck at Gmax (rate `stuck_on_rate`) or Gmin
  (`stuck_off_rate`), applied last;
* cycle-to-cycle read noise: every read of a cell sees `g * (1 + c2c_sigma * N(0,1))`, new
  at every read. Parallel mode: the column current of one conversion then has the exact
  normal distribution `N(sum x g, c2c_sigma^2 * sum x g^2)`, sampled once per conversion
  (data columns and the tile's reference column separately). Sequential mode: every read
  is drawn: each active row's data cells, and its reference cell once per column tile (the
  same reference read serves all columns of the tile). Noise depends only on (seed, layer,
  image, block of output positions), never on batch size.

Further effects, each in its own module and off by default: measured per-level conductance
tables and output noise (cim/conductance.py), wire IR drop (cim/ir_drop.py), per-ADC offset,
gain error and INL (cim/adc.py); noise-aware training uses this model in the forward pass
(cim/hat.py).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
import torch

# Independent random streams per purpose.
STREAM_D2D, STREAM_DRIFT, STREAM_STUCK, STREAM_C2C = 1, 2, 3, 4


def derive_seed(*keys: int) -> int:
    """A 63-bit seed from integer keys (numpy SeedSequence; order matters)."""
    ss = np.random.SeedSequence([int(k) & 0xFFFFFFFF for k in keys] + [len(keys)])
    return int(ss.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


@dataclass(frozen=True)
class HardwareParams:
    """Everything stage 1 needs of the hardware, derived once from the shared Config."""
    weight_bits: int = 8
    input_bits: int = 8
    cell_bit: int = 1
    rows: int = 128
    cols: int = 128
    rows_parallel: int = 128          # rows summed by one conversion (sequential: 1)
    sequential: bool = False
    adc_levels: int = 32              # parallel-mode ADC levels (sequential: 2^cell_bit)
    on_off_ratio: float = math.inf    # Roff / Ron; inf = ideal (SRAM)
    d2d_sigma: float = 0.0
    c2c_sigma: float = 0.0
    drift_nu: float = 0.0
    drift_time_s: float = 1.0
    drift_t0_s: float = 1.0
    drift_mode: str = "random"
    drift_target: float | None = None  # normalised conductance; None = g_min
    stuck_on_rate: float = 0.0
    stuck_off_rate: float = 0.0
    seed: int = 0
    adc_full_scale: float | None = None   # parallel ADC range in cell steps (None: adc_levels-1)
    # -- measured device data, IR drop, ADC non-idealities (cim/conductance.py, cim/ir_drop.py,
    #    cim/adc.py); all normalised to the cell step like the conductances above --
    level_means: tuple[float, ...] | None = None   # per-level mean conductance (table)
    level_stds: tuple[float, ...] | None = None    # per-level std (table)
    output_noise: tuple[float, ...] | None = None  # column-current noise std: 1 or `cols` values
    ir_drop: str = "off"                           # off | fast | exact
    wire_r_row: float = 0.0                        # row wire resistance per cell x unit
    wire_r_col: float = 0.0                        # column wire resistance per cell x unit
    adc_offset: float = 0.0                        # LSB, std over ADCs
    adc_gain_error: float = 0.0                    # relative, std over ADCs
    adc_inl: float = 0.0                           # LSB
    adc_kind: str = "sense_amp"                    # sense_amp (flash) | sar
    cols_per_adc: int = 8
    novel_mapping: bool = False        # conv layers NeuroSim novel-maps get one PE per kernel position
    accuracy_model: str = "cim"        # "cim" (this module) or "neurosim-1.4" (cim/neurosim_mode.py)
    neurosim_output_range: float | None = 32.0   # neurosim-1.4: last layer's output grid range

    @classmethod
    def from_config(cls, cfg) -> "HardwareParams":
        import cells
        d, a, p, n = cfg.device, cfg.array, cfg.precision, cfg.nonideal
        sequential = a.operation_mode == "sequential"
        cell = cells.CellDevice.from_config(cfg)     # the cell stage 2 uses as well
        ratio = cell.on_off_ratio
        levels = 2 ** d.cell_bit
        target = None
        if n.drift_target_conductance is not None:
            g_max_s, g_min_s = cell.g_max, cell.g_min
            target = n.drift_target_conductance / ((g_max_s - g_min_s) / (levels - 1))
        extra = _measured_and_wire_fields(cfg, ratio, levels)
        if "on_off_ratio" in extra:
            ratio = extra.pop("on_off_ratio")
        return cls(
            **extra,
            weight_bits=p.weight_bits, input_bits=p.input_bits, cell_bit=d.cell_bit,
            rows=a.rows, cols=a.cols, rows_parallel=a.effective_rows_parallel,
            sequential=sequential, adc_levels=p.adc_levels, on_off_ratio=ratio,
            d2d_sigma=n.d2d_sigma, c2c_sigma=n.c2c_sigma, drift_nu=n.drift_nu,
            drift_time_s=n.drift_time_s, drift_t0_s=n.drift_t0_s, drift_mode=n.drift_mode,
            drift_target=target, stuck_on_rate=n.stuck_on_rate,
            stuck_off_rate=n.stuck_off_rate, seed=n.seed,
            adc_full_scale=p.adc_full_scale,
            novel_mapping=cfg.architecture.novel_mapping,
            accuracy_model=cfg.run.accuracy_model,
            neurosim_output_range=cfg.run.neurosim_output_range)

    # ---- derived ----------------------------------------------------------------------
    @property
    def cell_levels(self) -> int:
        return 2 ** self.cell_bit

    @property
    def cells_per_weight(self) -> int:
        return -(-self.weight_bits // self.cell_bit)

    @property
    def g_min(self) -> float:
        if math.isinf(self.on_off_ratio):
            return 0.0
        return (self.cell_levels - 1) / (self.on_off_ratio - 1.0)

    @property
    def g_max(self) -> float:
        return self.g_min + self.cell_levels - 1

    @property
    def adc_max_code(self) -> int:
        return (self.cell_levels if self.sequential else self.adc_levels) - 1

    @property
    def adc_step(self) -> float:
        """ADC step in cell steps: `adc_full_scale / (adc_levels - 1)`, 1 (one code per cell
        step) when no full scale is set. A full scale below `adc_levels - 1` gives a step
        finer than one cell step (resolves variation and noise between the levels)."""
        if self.sequential or self.adc_full_scale is None:
            return 1.0
        return float(self.adc_full_scale) / (self.adc_levels - 1)

    @property
    def effective_rows_parallel(self) -> int:
        return 1 if self.sequential else min(self.rows_parallel, self.rows)

    @property
    def has_device_randomness(self) -> bool:
        """Any effect that moves a cell or a conversion away from the ideal level (the exact
        integer paths of the engine then do not apply)."""
        return (self.d2d_sigma > 0 or self.drift_nu > 0 or self.stuck_on_rate > 0
                or self.stuck_off_rate > 0 or self.has_extra_effects)

    @property
    def has_extra_effects(self) -> bool:
        return (self.level_means is not None or self.output_noise is not None
                or self.ir_drop != "off" or self.has_adc_errors)

    @property
    def has_adc_errors(self) -> bool:
        return self.adc_offset > 0 or self.adc_gain_error > 0 or self.adc_inl > 0

    def check_mappable(self) -> None:
        """Raise ValueError for precisions this mapping cannot represent."""
        if self.weight_bits < 2:
            raise ValueError(f"precision.weight_bits = {self.weight_bits}: the signed weight "
                             "mapping needs at least 2 bits")
        if self.input_bits < 2:
            raise ValueError(f"precision.input_bits = {self.input_bits}: two's-complement "
                             "inputs need at least 2 bits")
        if self.cell_bit > self.weight_bits:
            raise ValueError(f"device.cell_bit = {self.cell_bit} exceeds precision.weight_bits = "
                             f"{self.weight_bits}; a weight cannot be split into cells")
        if self.input_bits > 16 or self.weight_bits > 16:
            raise ValueError("weight and input precisions above 16 bits are not supported")

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(g_min=self.g_min, g_max=self.g_max, adc_max_code=self.adc_max_code,
                   cells_per_weight=self.cells_per_weight,
                   effective_rows_parallel=self.effective_rows_parallel)
        if math.isinf(out["on_off_ratio"]):
            out["on_off_ratio"] = "inf"
        return out


def _measured_and_wire_fields(cfg, ratio: float, levels: int) -> dict:
    """HardwareParams fields of the measured-device table, IR drop and ADC settings."""
    d, n = cfg.device, cfg.nonideal
    out: dict = dict(ir_drop=n.ir_drop, adc_offset=n.adc_offset, adc_gain_error=n.adc_gain_error,
                     adc_inl=n.adc_inl)
    if n.adc_offset > 0 or n.adc_gain_error > 0 or n.adc_inl > 0:
        # the converter kind and the ADC sharing matter only to the ADC errors; left at
        # their defaults otherwise, so the hardware view holds only what stage 1 reads
        out.update(adc_kind=cfg.array.adc_type, cols_per_adc=cfg.array.cols_per_adc)
    if d.memory_type == "SRAM" or math.isinf(ratio):
        unit = (1.0 / d.r_on) / (levels - 1)
    else:
        unit = (1.0 / d.r_on - 1.0 / d.r_off) / (levels - 1)
    if d.conductance_table is not None:
        from .conductance import load_conductance_table
        t = load_conductance_table(d.conductance_table, d.cell_bit, cfg.array.cols)
        unit = t.unit
        out["level_means"] = tuple(m / unit for m in t.mean)
        out["level_stds"] = tuple(s / unit for s in t.std)
        if t.output_noise is not None:
            out["output_noise"] = tuple(s / unit for s in t.output_noise)
        out["on_off_ratio"] = math.inf if t.mean[0] == 0 else t.mean[-1] / t.mean[0]
    if n.ir_drop != "off":
        from .ir_drop import wire_resistances
        r_row, r_col = wire_resistances(cfg)
        out["wire_r_row"], out["wire_r_col"] = r_row * unit, r_col * unit
    return out


# ------------------------------------------------------------------------------------------
# Weight slicing and cell programming
# ------------------------------------------------------------------------------------------

def bit_plane_weights(nb: int, dtype=torch.float64, device=None) -> torch.Tensor:
    """Weights of the input bit planes, MSB (two's-complement sign) first."""
    w = torch.tensor([2.0 ** (nb - 1 - j) for j in range(nb)], dtype=dtype, device=device)
    w[0] = -w[0]
    return w


def slice_weights(p: HardwareParams, dtype=torch.float64, device=None) -> torch.Tensor:
    """Shift-and-add weights of the cells of one weight, most significant cell first."""
    return torch.tensor([2.0 ** (p.cell_bit * (p.cells_per_weight - 1 - k))
                         for k in range(p.cells_per_weight)], dtype=dtype, device=device)


def weight_slices(q: torch.Tensor, p: HardwareParams) -> torch.Tensor:
    """Cell levels `[..., cps]` (MSB cell first; int16, int32 above 15-bit weights) of signed
    weight codes `q` (offset binary)."""
    it = torch.int16 if p.weight_bits <= 15 else torch.int32
    u = (q.to(torch.int32) + 2 ** (p.weight_bits - 1)).to(it)
    shifts = torch.tensor([p.cell_bit * (p.cells_per_weight - 1 - k)
                           for k in range(p.cells_per_weight)], dtype=it, device=q.device)
    return (u.unsqueeze(-1) >> shifts) & (p.cell_levels - 1)


def input_bits(codes: torch.Tensor, nb: int) -> torch.Tensor:
    """Two's-complement bit planes `[nb, *codes.shape]` (0/1 int32), MSB first."""
    u = codes.to(torch.int32) & ((1 << nb) - 1)
    shifts = torch.arange(nb - 1, -1, -1, dtype=torch.int32, device=codes.device)
    return (u.unsqueeze(0) >> shifts.view((nb,) + (1,) * codes.dim())) & 1


@dataclass
class ProgrammedArray:
    """Normalised conductances of one layer's cells (float32, CPU).

    g_data: [Gr, K, N, cps]  data cells (Gr = conv groups, K = rows per group, N = outputs per group)
    g_ref:  [Gr, K, T]       reference cells, one column per column tile of `cols` columns
    """
    g_data: torch.Tensor
    g_ref: torch.Tensor


def _gen(seed: int) -> torch.Generator:
    g = torch.Generator(device="cpu")
    g.manual_seed(seed)
    return g


def program_cells(q: torch.Tensor, p: HardwareParams, layer_key: int) -> ProgrammedArray:
    """Conductances of the cells holding weight codes `q` [Gr, K, N], with device variation,
    drift and stuck-at faults drawn from (seed, layer_key). Always computed on the CPU
    (float32), so CPU and CUDA runs use identical devices."""
    q = q.detach().to("cpu")
    gr, k, n = q.shape
    cps = p.cells_per_weight
    f32 = torch.float32
    tiles = -(-(n * cps) // p.cols)
    if p.level_means is not None:      # measured per-level distributions (cim/conductance.py)
        from .conductance import programmed_levels
        g_data, g_ref = programmed_levels(weight_slices(q, p), (gr, k, tiles), p, layer_key)
    else:
        g_data = weight_slices(q, p).to(f32).add_(p.g_min)    # [Gr, K, N, cps]
        g_ref = torch.full((gr, k, tiles), p.g_min, dtype=f32)

    def per_cell(stream: int, draw):
        gen = _gen(derive_seed(p.seed, layer_key, stream))
        a = draw(g_data.shape, gen)
        b = draw(g_ref.shape, gen)
        return a, b

    if p.d2d_sigma > 0:
        ea, eb = per_cell(STREAM_D2D, lambda s, g: torch.randn(s, generator=g, dtype=f32))
        g_data = (g_data * (1 + p.d2d_sigma * ea)).clamp_(min=0.0)
        g_ref = (g_ref * (1 + p.d2d_sigma * eb)).clamp_(min=0.0)
    if p.drift_nu > 0 and p.drift_time_s != p.drift_t0_s:
        ratio = (p.drift_time_s / p.drift_t0_s) ** p.drift_nu
        if p.drift_mode == "random":
            sa, sb = per_cell(STREAM_DRIFT, lambda s, g: torch.randint(0, 2, s, generator=g).to(f32) * 2 - 1)
            g_data = _drift(g_data, sa, ratio, p.g_max, p.g_min, toward_target=False)
            g_ref = _drift(g_ref, sb, ratio, p.g_max, p.g_min, toward_target=False)
        else:
            target = p.g_min if p.drift_target is None else p.drift_target
            g_data = _drift(g_data, torch.sign(target - g_data), ratio, target, target, True)
            g_ref = _drift(g_ref, torch.sign(target - g_ref), ratio, target, target, True)
    if p.stuck_on_rate > 0 or p.stuck_off_rate > 0:
        ua, ub = per_cell(STREAM_STUCK, lambda s, g: torch.rand(s, generator=g, dtype=f32))
        for g_arr, u in ((g_data, ua), (g_ref, ub)):
            g_arr[u < p.stuck_on_rate] = p.g_max
            g_arr[(u >= p.stuck_on_rate) & (u < p.stuck_on_rate + p.stuck_off_rate)] = p.g_min
    if p.ir_drop == "fast" and p.sequential:   # wire IR drop of one-row reads (cim/ir_drop.py)
        from .ir_drop import program_sequential
        g_data, g_ref = program_sequential(g_data, g_ref, p)
    return ProgrammedArray(g_data.contiguous(), g_ref.contiguous())


def _drift(g, sign, ratio, upper, lower, toward_target):
    """g * ratio^sign; upward drift stops at `upper`, downward at `lower` (a cell already
    beyond the bound does not move further that way)."""
    moved = g * torch.pow(torch.full_like(g, ratio), sign)
    up = sign > 0
    down = sign < 0
    out = g.clone()
    out[up] = torch.minimum(moved[up], torch.clamp(g[up], min=upper))
    out[down] = torch.maximum(moved[down], torch.clamp(g[down], max=lower))
    return out


# ------------------------------------------------------------------------------------------
# Conversions
# ------------------------------------------------------------------------------------------

def adc_convert(reading: torch.Tensor, max_code: int, step: float = 1.0) -> torch.Tensor:
    """Code = round-to-nearest (half up) of reading/step, clamped to [0, max_code]; returns
    code * step (a new tensor)."""
    if step == 1.0:
        return torch.floor(reading + 0.5).clamp_(0, max_code)
    return torch.floor(reading / step + 0.5).clamp_(0, max_code).mul_(step)


def c2c_noise(p: HardwareParams, layer_key: int, image_index: int, shape, dtype, device,
              block: int = 0):
    """The standard-normal read noise of one image (and block of output positions) at one
    layer (data and reference reads come from the same stream, data first). Depends only on
    (seed, layer, image, block)."""
    g = torch.Generator(device=device)
    keys = (p.seed, layer_key, STREAM_C2C, image_index) + ((block,) if block else ())
    g.manual_seed(derive_seed(*keys))
    return torch.randn(shape, generator=g, dtype=dtype, device=device)
