"""Vectorised crossbar evaluation of one layer (the fast path).

Input: unfolded activation codes `[B, Gr*K, P]` (integer-valued floats; `B` images, `Gr` conv
groups of `K` rows, `P` output positions). Output: the integer matrix product the crossbar
delivers, `[B, Gr*N, P]`, after the ADC and the shift-and-add (see cim/hardware.py for the
model). Bits, cell slices, row groups (sub-arrays) and column tiles are tensor dimensions;
the only Python loops are over memory chunks (images, or one image and a block of output
positions), to bound memory. Row slots that no row group uses (a novel-mapped kernel
position of 32 rows read 128 rows at a time) are dropped from every product. With read or
output noise, the next chunk's noise is drawn in a second thread (`_NoisePrefetch`) while
the current one is computed (the same numbers: each draw has its own generator).

Paths (all exact for the model in cim/hardware.py; tests/test_stage1_reference.py checks
each against a loop implementation):
* parallel, general (device variation, drift, faults, read noise, or an ADC step > 1): every
  conversion (bit plane x input vector x row group x column) with one batched matrix product
  over the row groups, read noise, ADC, reference subtraction, shift-and-add;
* parallel, exact devices (step 1): a reading is (integer level sum) + g_min * (active
  rows), so the result is a.q (one product for the batch) minus what the ADC clips away.
  Conversions are screened: a row group with at most `n_safe` non-zero inputs cannot clip;
  for the others the active rows of every bit plane are counted at once (byte-packed), and
  only the conversions with more than `n_safe` active rows have their partial sums
  evaluated, for the columns that can clip (`_exact_devices`, `_clip_correction`). A layer
  none of whose conversions can clip is the plain integer product (`lossless`);
* sequential, no read noise: each row is converted alone, so each cell's conversion is a
  fixed number. The per-cell codes fold into one effective integer weight matrix (exact,
  including variation, drift, faults and sense-amp clipping): `effective_weight`;
* sequential with read noise: every read is drawn (`_sequential_reads`): only the active
  (row, bit plane, input vector) reads, each with its columns and its tile reference cell.
"""
from __future__ import annotations

import math

import torch

from .hardware import (HardwareParams, adc_convert, bit_plane_weights,
                       c2c_noise, program_cells, slice_weights,
                       weight_slices)

# Largest intermediate (elements) per chunk of images.
CHUNK_ELEMENTS = 1 << 20   # elements of the largest intermediate per chunk (~4 MB at float32)


def row_group_index(k: int, rows: int, rows_parallel: int,
                    kernel_positions: int = 1) -> tuple[torch.Tensor, int, int]:
    """Map the K unrolled rows onto (row group, slot) positions.

    Conventional mapping (`kernel_positions` = 1): rows are cut into sub-arrays of `rows`;
    each sub-array into groups of `rows_parallel` (the last one of a sub-array may be
    shorter). Novel mapping (`kernel_positions` = KH*KW > 1, see floorplan.novel_mapped_layers):
    one PE per kernel position, so the C = K / (KH*KW) rows of one kernel position (unrolled
    rows c*KH*KW + kpos) form their own sub-arrays, cut the same way. Returns (index [RG*R]
    into rows, with value K meaning an empty slot), RG, R."""
    r = min(rows_parallel, rows)
    per_sub = -(-rows // r)
    i = torch.arange(k)
    kp = max(1, int(kernel_positions))
    if kp > 1 and k % kp:
        raise ValueError(f"novel mapping: {k} rows are not a multiple of {kp} kernel positions")
    seg, t = i % kp, i // kp                     # (kernel position, row within it)
    seg_len = k // kp
    sub_per_seg = -(-seg_len // rows)
    rg = kp * sub_per_seg * per_sub
    idx = torch.full((rg, r), k, dtype=torch.long)
    grp = (seg * sub_per_seg + t // rows) * per_sub + (t % rows) // r
    slot = (t % rows) % r
    idx[grp, slot] = i
    # drop groups that hold no row (last sub-array of a segment partly filled)
    used = (idx < k).any(1)
    idx = idx[used]
    return idx.reshape(-1), int(idx.shape[0]), r


class CrossbarEngine:
    """The programmed crossbar of one layer and its evaluation."""

    def __init__(self, q: torch.Tensor, p: HardwareParams, layer_key: int,
                 dtype: torch.dtype = torch.float32, device: torch.device | str = "cpu",
                 kernel_positions: int = 1):
        """q: signed weight codes [Gr, K, N] (integer-valued). kernel_positions > 1: the layer
        is novel mapped (one PE per kernel position; see `row_group_index`)."""
        self.p = p
        self.dtype = dtype
        self.device = torch.device(device)
        self.layer_key = layer_key
        self._q = q
        gr, k, n = q.shape
        self.gr, self.k, self.n = gr, k, n
        self.cps = p.cells_per_weight
        self.ncol = n * self.cps
        self.tiles = -(-self.ncol // p.cols)
        col_tile = torch.arange(self.ncol) // p.cols                    # [Ncol]
        self.nb = p.input_bits
        self.max_code = p.adc_max_code
        self.step = p.adc_step
        self.wj = bit_plane_weights(self.nb, torch.float64, self.device)
        self.ws = slice_weights(p, dtype, self.device)
        self.offset = float(2 ** (p.weight_bits - 1))
        self.stats_clipped = torch.zeros((), dtype=torch.float64, device=self.device)
        self.stats_conversions = torch.zeros((), dtype=torch.float64, device=self.device)
        # Exact devices (no variation, drift, faults or read noise): every cell is exactly
        # g_min + level, so conversions follow from the integer levels alone.
        self.exact_devices = not p.has_device_randomness and p.c2c_sigma == 0 and self.step == 1.0
        levels = None if not self.exact_devices else weight_slices(q.to("cpu"), p)   # [Gr, K, N, cps]
        # ADC non-idealities, output noise, exact IR drop (parallel read; cim/adc.py,
        # cim/conductance.py, cim/ir_drop.py)
        self.adc = None
        self.out_sigma = None
        self.ir_exact = p.ir_drop == "exact" and not p.sequential
        self.ir_fast = None
        if not p.sequential and p.has_adc_errors:
            from .adc import AdcModel
            self.adc = AdcModel(p, layer_key, self.ncol, self.tiles, self.max_code, self.step,
                                dtype, self.device)
        if not p.sequential and p.output_noise is not None:
            from .conductance import output_noise_sigma
            self.out_sigma = output_noise_sigma(p, self.ncol, self.tiles, dtype, self.device)

        if p.sequential:
            mc = self.max_code
            # The sense amp's thresholds sit at (sensed reference) + m + 0.5, so a cell's code
            # is clamp(floor(g - g_ref + 0.5), 0, max_code) (cim/hardware.py).
            if self.exact_devices:
                # g - g_ref is exactly the level: the code is the level, never clipped
                q_eff = q.to("cpu", torch.float64)
                clip = torch.zeros(gr, k, 1, dtype=torch.float64)
            else:
                prog = program_cells(q, p, layer_key)
                g_data = prog.g_data.reshape(gr, k, self.ncol)
                g_ref_cols = prog.g_ref[:, :, col_tile]
                if p.c2c_sigma == 0:
                    diff = g_data.to(torch.float64) - g_ref_cols.to(torch.float64)
                    e = adc_convert(diff, mc).reshape(gr, k, n, self.cps)
                    q_eff = (e * slice_weights(p, torch.float64)).sum(-1) - self.offset
                    clip = (torch.floor(diff + 0.5) > mc)
                else:
                    # every read is drawn (_sequential_reads); clipping is counted there
                    self.g_seq = g_data.to(dtype=dtype, device=self.device)          # [Gr, K, Ncol]
                    self.g_seq_ref = prog.g_ref.to(dtype=dtype, device=self.device)  # [Gr, K, T]
                    self.col_tile = col_tile.to(self.device)
                    q_eff = None
                    clip = torch.zeros(gr, k, 1, dtype=torch.float64)
                    per_pos = gr * self.nb * k * (self.ncol + self.tiles)
                    self.seq_pos_block = max(1, CHUNK_ELEMENTS // per_pos)
            if q_eff is not None:
                self.q_eff = q_eff.to(dtype=dtype, device=self.device)         # [Gr, K, N]
            # clipped conversions per row (summed over columns), used with the row activity
            self.clip_per_row = clip.reshape(gr * k, -1).sum(-1, dtype=torch.float64).to(self.device)
        else:
            idx, rg, r = row_group_index(k, p.rows, p.effective_rows_parallel, kernel_positions)
            self.r_slots = r                 # the memory blocks (and noise blocks) follow it
            used_slots = int((idx.view(rg, r) < k).sum(1).max()) if rg else 0
            if p.ir_drop == "off" and 0 < used_slots < r:
                # slots are filled from the first, so slots no group uses are dropped (e.g.
                # a novel-mapped kernel position of 32 rows in a 128-row conversion): their
                # inputs are always 0. IR drop keeps them (a row's place on the wire matters).
                idx, r = idx.view(rg, r)[:, :used_slots].reshape(-1), used_slots
            self.rg, self.r = rg, r
            if self.ir_exact:
                from .ir_drop import group_offsets
                self.group_offset = group_offsets(gr, rg, p, r).to(self.device)
            self.max_group_rows = int((idx.view(rg, r) < k).sum(1).max()) if rg else 0
            self.row_idx = idx.to(self.device)
            self.rows_padded = bool((idx >= k).any())          # some slot holds no row
            self.rows_in_order = (not self.rows_padded and idx.numel() == k
                                  and bool((idx == torch.arange(k)).all()))

            def arrange(m):          # [Gr, K, X] -> [Gr*RG, R, X], empty slots zero
                pad = torch.zeros(gr, 1, m.shape[-1], dtype=m.dtype)
                return torch.cat([m, pad], 1)[:, idx].reshape(gr * rg, r, m.shape[-1])

            if self.exact_devices:
                # A reading is p + g_min*n (p: integer level sum, n: active rows) and the
                # reference reads g_min*n, so D = min(p, max_code - round(g_min*n)) exactly.
                # Largest n whose conversion cannot clip whatever the weights:
                # n*(L-1) <= max_code - round(g_min*n). Only vectors above it ("risky") need
                # their partial sums evaluated.
                # a.q in float32 when every partial sum is an integer below 2^24 (exact)
                bound = 2 ** (p.input_bits - 1) * (2 ** (p.weight_bits - 1) - 1) * k
                self.exact_dtype = torch.float32 if bound < 2 ** 24 else torch.float64
                self.qmat_exact = q.to(dtype=self.exact_dtype, device=self.device)   # [Gr, K, N]
                nn_ = torch.arange(r + 1, dtype=torch.float64)
                ok = nn_ * (p.cell_levels - 1) <= self.max_code - torch.floor(nn_ * p.g_min + 0.5)
                self.n_safe = int(nn_[ok].max())
                if self.n_safe < self.max_group_rows:
                    lv = levels.reshape(gr, k, self.ncol).to(torch.int16)
                    self.wl = arrange(lv).to(dtype=dtype, device=self.device)  # integer levels
                    self._restrict_columns(p)
                    if self.r * (p.cell_levels - 1) <= 256:
                        # every partial sum of 0/1 inputs and levels is an integer <= 256,
                        # exact in bfloat16 whatever the accumulation (a faster product)
                        self.wl = self.wl.to(torch.bfloat16)
                        if self.wl_cols is not None:
                            self.wl_cols = self.wl_cols.to(torch.bfloat16)
            else:
                prog = program_cells(q, p, layer_key)
                wd = arrange(prog.g_data.reshape(gr, k, self.ncol))
                wr = arrange(prog.g_ref)
                self.wd = wd.to(dtype=dtype, device=self.device)
                self.wr = wr.to(dtype=dtype, device=self.device)
                self.wl_sum = None
                if (not p.has_device_randomness and p.c2c_sigma == 0 and p.ir_drop == "off"
                        and _exact_in_float32(p.g_min, r * p.g_max)):
                    # exact devices, ADC step != 1: every reading is (integer level sum) +
                    # g_min * (active rows), each partial sum exact in float32 (g_min a
                    # multiple of 2^-12); the level sums come from an integer product
                    # (bfloat16 when every partial sum is an integer <= 256: exact)
                    lv = arrange(weight_slices(q.to("cpu"), p).reshape(gr, k, self.ncol).to(torch.int16))
                    ldt = torch.bfloat16 if r * (p.cell_levels - 1) <= 256 else dtype
                    self.wl_sum = lv.to(dtype=ldt, device=self.device)
                if p.ir_drop == "fast":           # cim/ir_drop.py
                    from .ir_drop import FastIR, group_offsets
                    rows_in = (idx.view(rg, r) < k).sum(1).repeat(gr)
                    self.ir_fast = FastIR(wd.to(dtype), wr.to(dtype), group_offsets(gr, rg, p, r), rows_in,
                                          p).to(self.device)
                if p.c2c_sigma > 0:
                    self.wd2 = (wd * wd).to(dtype=dtype, device=self.device)
                    self.wr2 = (wr * wr).to(dtype=dtype, device=self.device)
                    self.wd_wd2 = torch.cat([self.wd, self.wd2], -1)
                    self.wr_wr2 = torch.cat([self.wr, self.wr2], -1)

    def _restrict_columns(self, p: HardwareParams) -> None:
        """Exact devices: a column of a row group can clip only if its levels summed over ALL
        the group's rows exceed the lowest top code (max_code - round(g_min * rows)); the
        partial sums of the risky conversions are computed for those columns only, packed
        per group (`wl_cols` [GA, R, C], `col_weight` [GA, C, N]: each kept column's
        shift-and-add weight into its output). Not used when it would keep most columns."""
        self.wl_cols = None
        top = self.max_code - math.floor(self.max_group_rows * p.g_min + 0.5)
        danger = self.wl.sum(1) > max(top, 0)                              # [GA, Ncol]
        c = int(danger.sum(1).max())
        if c > 0.75 * self.ncol:
            return
        ga = self.wl.shape[0]
        c = max(c, 1)
        # each group's dangerous columns first (stable), then padding with a zero column
        order = torch.argsort((~danger).to(torch.int8), dim=1, stable=True)[:, :c]   # [GA, C]
        keep = torch.gather(danger, 1, order)
        cols = self.wl.gather(2, order.unsqueeze(1).expand(-1, self.r, -1))  # [GA, R, C]
        self.wl_cols = cols * keep.unsqueeze(1).to(cols.dtype)
        w = torch.zeros(ga, c, self.n, dtype=self.dtype, device=self.wl.device)
        out_of = (order // self.cps).unsqueeze(-1)
        w.scatter_(2, out_of, (self.ws[order % self.cps] * keep.to(self.ws.dtype)).unsqueeze(-1))
        self.col_weight = w

    # ---- statistics ----------------------------------------------------------------------
    def reset_stats(self) -> None:
        self.stats_clipped.zero_()
        self.stats_conversions.zero_()

    def account_sequential(self, row_activity: torch.Tensor) -> None:
        """Sequential mode: each active (row, input vector) pair is one conversion per
        column. row_activity: [Gr*K] number of active input bits per row."""
        ra = row_activity.to(torch.float64)
        self.stats_conversions += ra.sum() * self.ncol
        self.stats_clipped += (ra * self.clip_per_row).sum()

    @property
    def lossless(self) -> bool:
        """Parallel mode, exact devices and no conversion that could clip: the crossbar
        computes exactly a.q, whatever the inputs."""
        return (not self.p.sequential and self.exact_devices
                and self.n_safe >= self.max_group_rows)

    def account_parallel(self, images: int, npos: int) -> None:
        self.stats_conversions += float(self.nb * images * npos * self.gr * self.rg * self.ncol)

    # ---- sequential, deterministic --------------------------------------------------------
    def effective_weight(self) -> torch.Tensor:
        """[Gr, K, N] integer weights equal to what the sequential array computes."""
        return self.q_eff

    # ---- per-conversion paths -------------------------------------------------------------
    def forward_unfolded(self, unf: torch.Tensor, image_offset: int) -> torch.Tensor:
        """unf: [B, Gr*K, P] integer-valued codes. Returns [B, Gr*N, P] (float64).

        Memory: the work is cut into chunks whose largest intermediate holds about
        CHUNK_ELEMENTS elements: several images at once when one image is small, else one
        image and a block of `pos_block` output positions (fixed per layer, so the read
        noise, drawn per (image, position block), does not depend on the batch size).
        Runs with torch-function overrides off (a model's interception mode, cim/dynamic.py,
        would otherwise see every tensor operation of the engine)."""
        with torch._C.DisableTorchFunction():
            return self._forward_unfolded(unf, image_offset)

    def _forward_unfolded(self, unf: torch.Tensor, image_offset: int) -> torch.Tensor:
        b_total, _, npos = unf.shape
        if self.p.sequential:
            return self._sequential_reads(unf, image_offset)
        if self.exact_devices:
            # chunks of images whose codes hold about CHUNK_ELEMENTS elements (the batch's
            # unfolded inputs and products at once would not stay in cache)
            per = max(1, CHUNK_ELEMENTS // max(1, unf[0].numel()))
            if b_total <= per:
                return self._exact_devices(unf)
            return torch.cat([self._exact_devices(unf[s:s + per]) for s in range(0, b_total, per)], 0)
        pb = self.pos_block
        if npos <= pb:
            chunk = max(1, pb // npos)
            work = [(slice(s, s + chunk), slice(None), image_offset + s, 0)
                    for s in range(0, b_total, chunk)]
        else:                                    # one image, blocks of positions
            work = [(slice(i, i + 1), slice(s, s + pb), image_offset + i, s // pb)
                    for i in range(b_total) for s in range(0, npos, pb)]
        outs = []
        with _NoisePrefetch(self, unf, work) as noise:
            for c, (bs, ps, off, blk) in enumerate(work):
                outs.append(self._chunk(unf[bs, :, ps], off, blk, noise.get(c)))
        if npos <= pb:
            return torch.cat(outs, 0)
        per_image = -(-npos // pb)
        return torch.cat([torch.cat(outs[i * per_image:(i + 1) * per_image], 2)
                          for i in range(b_total)], 0)

    def readings(self, unf: torch.Tensor):
        """Parallel read: yield the data-column readings [GA, planes*vectors, Ncol] (cell
        steps, before the ADC) of every conversion of `unf`, in memory-bounded chunks (for
        the ADC range calibration, cim/calibration.py)."""
        if self.p.sequential:
            return
        if not hasattr(self, "wd"):
            lv = weight_slices(self._q.to("cpu"), self.p).reshape(self.gr, self.k, self.ncol)
            g = lv.to(torch.float64).add_(self.p.g_min)
            pad = torch.zeros(self.gr, 1, self.ncol, dtype=g.dtype)
            self.wd = torch.cat([g, pad], 1)[:, self.row_idx.cpu()].reshape(
                self.gr * self.rg, self.r, self.ncol).to(dtype=self.dtype, device=self.device)
        b_total, _, npos = unf.shape
        pb = max(1, self.pos_block // 2)
        mask = (1 << self.nb) - 1
        shifts = torch.arange(self.nb - 1, -1, -1, dtype=torch.int32, device=unf.device).view(1, -1, 1, 1)
        for i in range(b_total):
            for s0 in range(0, npos, pb):
                part = unf[i:i + 1, :, s0:s0 + pb]
                q = part.shape[-1]
                cu = (part.to(torch.int32) & mask).view(1, self.gr, self.k, q)
                cu = torch.cat([cu, cu.new_zeros(1, self.gr, 1, q)], 2)[:, :, self.row_idx]
                cu = cu.view(self.gr, self.rg, self.r, q).permute(0, 1, 3, 2).reshape(
                    self.gr * self.rg, 1, q, self.r)
                x = ((cu >> shifts) & 1).to(self.dtype).reshape(self.gr * self.rg, self.nb * q, self.r)
                yield torch.bmm(x, self.wd)

    @property
    def pos_block(self) -> int:
        """Output positions per chunk of one image (parallel read; fixed per layer). With
        read or output noise it is also the noise block (so it keeps the slots of unused
        rows in its count: the same blocks, the same noise as before they were dropped);
        without noise the chunks are only a memory bound, four times larger."""
        noisy = self.p.c2c_sigma > 0 or self.out_sigma is not None
        rows = self.r_slots if noisy else self.r
        if self.exact_devices:
            per_pos = self.nb * self.gr * self.rg * (rows + self.ncol // 2)
        else:
            per_pos = self.nb * self.gr * self.rg * (rows + self.ncol + self.tiles)
            if self.ir_exact:                      # the solver holds every cell current
                per_pos *= 3 * self.r
        budget = CHUNK_ELEMENTS if noisy else 4 * CHUNK_ELEMENTS
        return max(1, budget // max(per_pos, 1))

    def _draw(self, image_offset: int, b: int, npos: int, block: int = 0, draw=c2c_noise):
        """Canonical noise of b images [b, nb, P, GA, Ncol + T]: one draw per image and
        position block (`draw`: read noise, or output noise from its own stream)."""
        shape = (self.nb, npos, self.gr * self.rg, self.ncol + self.tiles)
        per = [draw(self.p, self.layer_key, image_offset + i, shape, self.dtype, self.device, block)
               for i in range(b)]
        return per[0].unsqueeze(0) if b == 1 else torch.stack(per, 0)

    def _noise(self, image_offset: int, b: int, npos: int, groups: int, width: int, planes,
               block: int = 0, draw=c2c_noise, drawn=None):
        """Canonical noise, a view [groups, planes, b, P, width] for the planes kept (one draw
        per image and position block; `draw`: read noise, or output noise from its own
        stream; `drawn`: the same, already drawn by `_draw`). The planes kept are a range
        (`_planes`), so no copy is made."""
        z = self._draw(image_offset, b, npos, block, draw) if drawn is None else drawn
        first = int(planes[0])
        z = z[:, first:first + planes.numel()]
        return z.permute(3, 1, 0, 2, 4)

    def _sequential_reads(self, unf: torch.Tensor, image_offset: int) -> torch.Tensor:
        """Sequential read with read noise: every read is drawn. For each image and block of
        `seq_pos_block` positions, the active reads (position, conv group, bit plane, row; in
        that order) each draw Ncol data-cell reads and T reference-cell reads (one per
        column tile, shared by the tile's columns): code = clamp(floor(g_d (1 + s z_d)
        - g_r (1 + s z_r) + 0.5), 0, max_code)."""
        p = self.p
        b_total, _, npos = unf.shape
        gr, k, n, nb, ncol = self.gr, self.k, self.n, self.nb, self.ncol
        pb = self.seq_pos_block
        out = torch.empty(b_total, gr * n, npos, dtype=torch.float64, device=unf.device)
        mask = (1 << nb) - 1
        shifts = torch.arange(nb - 1, -1, -1, dtype=torch.int32, device=unf.device)
        for i in range(b_total):
            u = (unf[i].to(torch.int32) & mask).view(gr, k, npos)
            for s0 in range(0, npos, pb):
                s1 = min(npos, s0 + pb)
                bits = (u[:, :, s0:s1].permute(2, 0, 1).unsqueeze(2) >> shifts.view(1, 1, nb, 1)) & 1
                act = torch.nonzero(bits)                              # [M, 4]: pos, g, j, row
                d = torch.zeros((s1 - s0) * gr * nb, ncol, dtype=self.dtype, device=unf.device)
                if act.shape[0]:
                    z = c2c_noise(p, self.layer_key, image_offset + i, (act.shape[0], ncol + self.tiles),
                                  self.dtype, self.device, s0 // pb)
                    g_i, r_i = act[:, 1], act[:, 3]
                    rd = self.g_seq[g_i, r_i] * (1 + p.c2c_sigma * z[:, :ncol])
                    rr = self.g_seq_ref[g_i, r_i] * (1 + p.c2c_sigma * z[:, ncol:])
                    code = torch.floor(rd.sub_(rr[:, self.col_tile]).add_(0.5))
                    self.stats_clipped += torch.count_nonzero(code > self.max_code)
                    code.clamp_(0, self.max_code)
                    row = (act[:, 0] * gr + g_i) * nb + act[:, 2]
                    d.index_add_(0, row, code)
                y = torch.matmul(d.view(-1, n, self.cps), self.ws).view(s1 - s0, gr, nb, n)
                o = torch.einsum("pgjn,j->gnp", y.to(torch.float64), self.wj)
                a_sum = unf[i].to(torch.float64).view(gr, k, npos)[:, :, s0:s1].sum(1)   # [Gr, P]
                o -= self.offset * a_sum.unsqueeze(1)
                out[i, :, s0:s1] = o.reshape(gr * n, s1 - s0)
        return out

    def _planes(self, u: torch.Tensor) -> torch.Tensor:
        """Bit planes that can hold a 1 (all-zero planes contribute exactly 0 and are
        skipped): with no negative code, the sign plane and the planes above the largest
        code are empty."""
        nb = self.nb
        if int(u.min()) < 0 or self.adc is not None or self.out_sigma is not None:
            # (an ADC with offset or noisy currents turns an all-zero plane into non-zero codes)
            return torch.arange(nb, device=u.device)
        top = int(u.max())
        first = nb - max(top.bit_length(), 1)             # plane j has weight 2^(nb-1-j)
        return torch.arange(first, nb, device=u.device)

    def _subtract_reference(self, part: torch.Tensor, ref: torch.Tensor) -> None:
        """part[..., c] -= ref[..., c // cols] in place (no gather)."""
        cols, t, ncol = self.p.cols, self.tiles, self.ncol
        full = min(t, ncol // cols)
        if full:
            head = part[..., :full * cols].unflatten(-1, (full, cols))
            head.sub_(ref[..., :full].unsqueeze(-1))
        if full < t:
            part[..., full * cols:].sub_(ref[..., full:full + 1])

    def _exact_devices(self, unf: torch.Tensor, count: bool = True) -> torch.Tensor:
        """Exact devices, step 1: out = a.q (exact) minus what the ADC clips away.

        The exact product is one matrix product for the whole batch (float32 where every
        partial sum is an integer below 2^24, else float64: exact either way). Only
        conversions with more than `n_safe` active rows can clip (`_clip_correction`); the
        conversions are screened in chunks of input vectors (images and positions together:
        nothing here is random), each chunk's intermediates about 8 * CHUNK_ELEMENTS bytes."""
        b, _, npos = unf.shape
        gr, k, n, rg, r = self.gr, self.k, self.n, self.rg, self.r
        q = b * npos
        if count:
            self.stats_conversions += float(self.nb * q * gr * rg * self.ncol)
        a = unf.to(self.exact_dtype).view(b, gr, k, npos).permute(1, 0, 3, 2).reshape(gr, q, k)
        out = torch.bmm(a, self.qmat_exact).to(torch.float64)           # [Gr, b*P, N]
        del a
        if self.n_safe < self.max_group_rows and q:
            mask = (1 << self.nb) - 1
            if self.nb <= 8:               # two's complement codes, low byte (wraps modulo 256)
                cu = unf.to(torch.int16).to(torch.uint8)
                if self.nb < 8:
                    cu &= mask
            else:
                cu = unf.to(torch.int32) & mask
            cu = cu.view(b, gr, k, npos)
            if self.rows_padded:
                cu = torch.cat([cu, cu.new_zeros(b, gr, 1, npos)], 2)
            if not self.rows_in_order:
                cu = cu[:, :, self.row_idx]
            cu = cu.view(b, gr, rg, r, npos).permute(3, 1, 2, 0, 4).reshape(r, gr * rg, q)
            # a conversion can clip only if its row group has more than n_safe non-zero
            # inputs (active rows of any bit plane <= non-zero rows): screen those first
            nz = (cu != 0).sum(0, dtype=torch.int32)                        # [GA, q]
            cand = torch.nonzero(nz > self.n_safe)                          # [M, 2], by group
            step = max(1, (2 * CHUNK_ELEMENTS) // r)                        # codes per chunk
            for s0 in range(0, cand.shape[0], step):
                c = cand[s0:s0 + step]
                self._clip_correction(cu[:, c[:, 0], c[:, 1]], c[:, 0], c[:, 1], q, out)
        return out.view(gr, b, npos, n).permute(1, 0, 3, 2).reshape(b, gr * n, npos)

    def _active_rows(self, rows: torch.Tensor) -> torch.Tensor:
        """Active rows per bit plane [M, nb] of conversions whose masked codes are `rows`
        [R, M]. Up to 8-bit inputs and 255 rows: each code's bits are spread into the bytes
        of an int64 (a 256-entry table), so one sum over the rows counts every plane at once
        (no carry: a byte counts at most 255 rows)."""
        nb = self.nb
        if nb <= 8 and rows.shape[0] <= 255:
            if getattr(self, "_spread", None) is None:
                v = torch.arange(256, device=rows.device)
                j = torch.arange(nb, device=rows.device)
                self._spread = (((v.view(-1, 1) >> (nb - 1 - j)) & 1) << (8 * j)).sum(1)
                self._spread_shift = (8 * j).view(1, nb)
            packed = self._spread[rows.long()].sum(0)                       # [M]
            return (packed.view(-1, 1) >> self._spread_shift) & 255
        shifts = torch.arange(nb - 1, -1, -1, dtype=rows.dtype, device=rows.device).view(nb, 1, 1)
        return ((rows.unsqueeze(0) >> shifts) & 1).sum(1, dtype=torch.int64).T

    def _clip_correction(self, rows: torch.Tensor, g_i: torch.Tensor, q_i: torch.Tensor,
                         q: int, out: torch.Tensor) -> None:
        """Subtract from `out` [Gr, q, N] what the ADC clips away in the conversions of the
        candidate (row group g_i, input vector q_i) pairs, `rows` [R, M] their masked codes.
        A conversion of bit plane j clips when its active rows n exceed n_safe and a
        column's level sum p exceeds the ADC's top code after the reference,
        max_code - round(g_min*n); the excess, shift-and-added, is what is lost. The
        risky conversions are packed per row group into one batched product."""
        n_act = self._active_rows(rows)                                     # [M, nb]
        risky = torch.nonzero(n_act > self.n_safe)                          # [m, 2] (sorted by M)
        piece = max(1, (4 * CHUNK_ELEMENTS) // self.ncol)                  # partial sums per piece
        for s0 in range(0, risky.shape[0], piece):
            self._excess(rows, n_act, risky[s0:s0 + piece], g_i, q_i, q, out)

    def _excess(self, rows, n_act, risky, g_i, q_i, q: int, out: torch.Tensor) -> None:
        """`_clip_correction` for one piece of risky (candidate, plane) pairs."""
        gr, n, rg = self.gr, self.n, self.rg
        m = risky.shape[0]
        c_i, j_i = risky[:, 0], risky[:, 1]
        g_all = g_i[c_i]
        # candidates come sorted by row group, so a piece spans a few consecutive groups:
        # packed as [groups, rank within the group] (one group: no packing)
        g0, g1 = int(g_all[0]), int(g_all[-1])
        gn = g1 - g0 + 1
        sh = (self.nb - 1 - j_i).to(rows.dtype).view(1, m)
        bits = ((rows[:, c_i] >> sh) & 1).T.to(self.wl.dtype)             # [m, R] the plane's bits
        top = (self.max_code - torch.floor(n_act[c_i, j_i].to(torch.float64) * self.p.g_min + 0.5)
               ).clamp_(min=0).to(self.dtype)                             # top code, reference off
        if gn == 1:
            xr, thr, mmax = bits.unsqueeze(0), top.view(1, m, 1), m
        else:
            g_r = g_all - g0
            counts = torch.bincount(g_r, minlength=gn)
            start = torch.cumsum(counts, 0) - counts
            rank = torch.arange(m, device=rows.device) - start[g_r]
            mmax = int(counts.max())
            xr = torch.zeros(gn, mmax, self.r, dtype=self.wl.dtype, device=rows.device)
            xr[g_r, rank] = bits
            thr = torch.full((gn, mmax, 1), float(self.max_code), dtype=self.dtype, device=rows.device)
            thr[g_r, rank, 0] = top
        cols = self.wl_cols is not None
        part = torch.bmm(xr, (self.wl_cols if cols else self.wl)[g0:g0 + gn]).to(self.dtype)
        excess = part.sub_(thr).clamp_(min=0)                               # integers >= 0
        if cols:
            e = torch.bmm(excess, self.col_weight[g0:g0 + gn])              # [gn, Mmax, N]
        else:
            e = torch.matmul(excess.view(gn, mmax, n, self.cps), self.ws)  # [gn, Mmax, N]
        self.stats_clipped += excess.clamp_(max=1).sum()                    # clipped conversions
        e = (e[0] if gn == 1 else e[g_r, rank]).to(torch.float64)           # [m, N]
        e *= -self.wj[j_i.to(self.wj.device)].unsqueeze(1)
        out.view(gr * q, n).index_add_(0, (g_all // rg) * q + q_i[c_i], e)

    def _shift_add(self, d, unf, planes, b, npos) -> torch.Tensor:
        """Digital column sums d [Gr, na, b*P, Ncol] -> [Gr, b*P, N]: shift-and-add over the
        cells of a weight and the input bit planes, minus the offset-binary offset."""
        gr, k, n, q = self.gr, self.k, self.n, b * npos
        y = torch.matmul(d.view(gr, d.shape[1], q, n, self.cps), self.ws)  # [Gr, na, b*P, N]
        wj = self.wj[planes.to(self.wj.device)]
        out = torch.tensordot(wj, y.to(torch.float64), dims=([0], [1]))    # [Gr, b*P, N]
        s = unf.reshape(b, gr, k, npos).sum(2, dtype=torch.float64)         # [b, Gr, P]
        out -= self.offset * s.permute(1, 0, 2).reshape(gr, q, 1)
        return out

    def _chunk(self, unf: torch.Tensor, image_offset: int, block: int = 0,
               drawn: tuple | None = None) -> torch.Tensor:
        """One memory chunk of the parallel read. `drawn`: its (read noise, output noise)
        from `_draw` when drawn ahead (`_NoisePrefetch`); None: drawn here."""
        drawn = drawn or (None, None)
        p = self.p
        b, _, npos = unf.shape
        gr, k, n = self.gr, self.k, self.n
        q = b * npos
        u = unf.to(torch.int32)
        planes = self._planes(u)
        na = int(planes.numel())
        shifts = (self.nb - 1 - planes).to(torch.int32).view(1, na, 1, 1)
        mask = (1 << self.nb) - 1
        rg, r = self.rg, self.r
        ga = gr * rg
        v = na * q
        cdt = torch.uint8 if self.nb <= 8 else torch.int32
        cu = (u & mask).to(cdt).view(b, gr, k, npos)
        cu = torch.cat([cu, cu.new_zeros(b, gr, 1, npos)], 2)[:, :, self.row_idx]
        cu = cu.view(b, gr, rg, r, npos).permute(1, 2, 0, 4, 3).reshape(ga, q, r)
        self.stats_conversions += float(self.nb * q * ga * self.ncol)
        if self.exact_devices:               # (forward_unfolded calls _exact_devices directly)
            out = self._exact_devices(unf, count=False).view(b, gr, n, npos).permute(1, 0, 3, 2).reshape(gr, q, n)
        else:
            x = ((cu.unsqueeze(1) >> shifts.to(cdt)) & 1).to(self.dtype).reshape(ga, v, r)
            if self.ir_exact:
                from .ir_drop import exact_readings
                part, ref = exact_readings(x, self.wd, self.wr, self.group_offset, p)
            elif self.ir_fast is not None:
                part, ref = self.ir_fast.readings(x)
            elif self.wl_sum is not None:        # exact devices, step != 1 (see __init__)
                part = torch.bmm(x.to(self.wl_sum.dtype), self.wl_sum).to(self.dtype)
                g_n = x.sum(-1, keepdim=True).mul_(p.g_min)              # g_min * active rows
                part.add_(g_n)                                          # = x . (levels + g_min)
                ref = g_n.expand(-1, -1, self.tiles)                    # every reference cell g_min
            elif p.c2c_sigma > 0:                # readings and their variances: one product each
                pv = torch.bmm(x, self.wd_wd2)                          # [GA, V, 2 Ncol]
                rv = torch.bmm(x, self.wr_wr2)                          # [GA, V, 2 T]
                part, var = pv[..., :self.ncol], pv[..., self.ncol:]
                ref, rvar = rv[..., :self.tiles], rv[..., self.tiles:]
            else:
                part = torch.bmm(x, self.wd)                            # [GA, V, Ncol]
                ref = torch.bmm(x, self.wr)                             # [GA, V, T]
            five = (ga, na, b, npos, -1)         # the noise's view: no copy of it is made
            if p.c2c_sigma > 0:
                if self.ir_exact or self.ir_fast is not None:
                    var, rvar = torch.bmm(x, self.wd2), torch.bmm(x, self.wr2)
                z = self._noise(image_offset, b, npos, ga, self.ncol + self.tiles, planes, block,
                                drawn=drawn[0])
                part.view(five).addcmul_(var.sqrt_().mul_(p.c2c_sigma).view(five), z[..., :self.ncol])
                ref.view(five).addcmul_(rvar.sqrt_().mul_(p.c2c_sigma).view(five), z[..., self.ncol:])
            if self.out_sigma is not None:
                from .conductance import output_noise
                z = self._noise(image_offset, b, npos, ga, self.ncol + self.tiles, planes, block,
                                output_noise, drawn[1]) * self.out_sigma
                part.view(five).add_(z[..., :self.ncol])
                ref.view(five).add_(z[..., self.ncol:])
            if self.adc is not None:
                part, clipped = self.adc.convert(part, 0)
                self.stats_clipped += clipped
                self._subtract_reference(part, self.adc.convert(ref, self.ncol)[0])
                d = part.view(gr, rg, v, self.ncol).sum(1).view(gr, na, q, self.ncol)
                out = self._shift_add(d, unf, planes, b, npos)
                return out.reshape(gr, b, npos, n).permute(1, 0, 3, 2).reshape(b, gr * n, npos)
            if self.step != 1.0:
                part.div_(self.step)
            part.add_(0.5).floor_()
            # clipped conversions: counted in the rows (conversions of all columns) whose
            # largest code is above the top one (few), not over every conversion
            top = part.amax(-1) > self.max_code
            if bool(top.any()):
                self.stats_clipped += torch.count_nonzero(part[top] > self.max_code)
            part.clamp_(0, self.max_code)
            self._subtract_reference(part, adc_convert(ref, self.max_code, self.step) / self.step)
            d = part.view(gr, rg, v, self.ncol).sum(1).view(gr, na, q, self.ncol)
            if self.step != 1.0:
                d.mul_(self.step)
            out = self._shift_add(d, unf, planes, b, npos)
        return out.reshape(gr, b, npos, n).permute(1, 0, 3, 2).reshape(b, gr * n, npos)


def _exact_in_float32(g_min: float, top: float) -> bool:
    """g_min is a multiple of 2^-12 and readings up to `top` keep every partial sum of
    (level + g_min) terms an exact float32 (below 2^24 units of 2^-12)."""
    m = g_min * 4096
    return m == math.floor(m) and top * 4096 < 2 ** 24


class _NoisePrefetch:
    """Draws the noise of the next memory chunk in a second thread while the current one is
    computed (torch's CPU generator fills one tensor on one core; its draws are the same
    numbers whichever thread makes them). Keeps at most two chunks' noise alive."""

    def __init__(self, eng: CrossbarEngine, unf: torch.Tensor, work: list):
        self.eng, self.work = eng, work
        self.npos = unf.shape[-1]
        self.b_total = unf.shape[0]
        self.on = eng.p.c2c_sigma > 0 or eng.out_sigma is not None
        self.pool = None
        self.pending = {}

    def __enter__(self):
        if self.on and len(self.work) > 1:
            from concurrent.futures import ThreadPoolExecutor
            self.pool = ThreadPoolExecutor(max_workers=1)
            self._submit(0)
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)
        return False

    def _job(self, c: int):
        bs, ps, off, blk = self.work[c]
        b = len(range(*bs.indices(self.b_total)))
        npos = len(range(*ps.indices(self.npos)))
        eng = self.eng
        z = eng._draw(off, b, npos, blk) if eng.p.c2c_sigma > 0 else None
        zo = None
        if eng.out_sigma is not None:
            from .conductance import output_noise
            zo = eng._draw(off, b, npos, blk, output_noise)
        return z, zo

    def _submit(self, c: int) -> None:
        if c < len(self.work):
            self.pending[c] = self.pool.submit(self._job, c)

    def get(self, c: int):
        if self.pool is None:
            return None
        self._submit(c + 1)
        return self.pending.pop(c).result()
