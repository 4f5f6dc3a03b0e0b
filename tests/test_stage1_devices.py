"""Cell mapping and device non-idealities (cim/hardware.py)."""
import math

import pytest
import torch

from cim.hardware import (HardwareParams, adc_convert, bit_plane_weights, input_bits,
                          program_cells, slice_weights, weight_slices)

torch.set_num_threads(1)


def codes(shape, wb, seed=0):
    g = torch.Generator().manual_seed(seed)
    qmax = 2 ** (wb - 1) - 1
    return torch.randint(-qmax, qmax + 1, shape, generator=g).double()


@pytest.mark.parametrize("wb,cb", [(8, 1), (8, 2), (8, 3), (5, 2), (4, 4), (7, 8 // 2)])
def test_weight_slices_reassemble_offset_binary(wb, cb):
    p = HardwareParams(weight_bits=wb, cell_bit=cb)
    q = codes((50, 7), wb)
    lv = weight_slices(q, p)
    assert lv.shape == (50, 7, math.ceil(wb / cb))
    assert int(lv.min()) >= 0 and int(lv.max()) <= 2 ** cb - 1
    back = (lv.double() * slice_weights(p)).sum(-1)
    assert torch.equal(back, q + 2 ** (wb - 1))
    # most significant cell first
    q1 = torch.tensor([1.0 - 2 ** (wb - 1)])                        # u = 1: only the LSB cell
    lv1 = weight_slices(q1, p)[0].tolist()
    assert lv1[-1] == 1 and sum(lv1[:-1]) == 0


def test_input_bits_twos_complement_msb_first():
    nb = 4
    a = torch.arange(-8, 8).double()
    bits = input_bits(a, nb)
    assert bits.shape == (4, 16)
    assert bits[:, 0].tolist() == [1, 0, 0, 0]            # -8 = 1000
    assert bits[:, 15].tolist() == [0, 1, 1, 1]           # 7 = 0111
    assert bits[:, 7].tolist() == [1, 1, 1, 1]            # -1 = 1111
    back = (bits.double() * bit_plane_weights(nb).view(-1, 1)).sum(0)
    assert torch.equal(back, a)


def test_ideal_programming_levels_and_reference():
    p = HardwareParams(weight_bits=6, cell_bit=2, cols=16, on_off_ratio=17.0)
    q = codes((1, 20, 9), 6)
    prog = program_cells(q, p, 0)
    g_min = 3 / 16
    assert p.g_min == pytest.approx(g_min) and p.g_max == pytest.approx(g_min + 3)
    assert torch.allclose((prog.g_data - g_min).double(), weight_slices(q, p).double())
    assert prog.g_ref.shape == (1, 20, math.ceil(9 * 3 / 16))
    assert torch.all(prog.g_ref == g_min)
    # physical ratio of the extreme states is Roff/Ron
    assert p.g_max / p.g_min == pytest.approx(17.0)


def test_sram_is_ideal_binary():
    from inferenceConfig import load_config
    cfg = load_config("neurosim-1.4")
    p = HardwareParams.from_config(cfg)
    assert p.g_min == 0.0 and math.isinf(p.on_off_ratio) and p.cell_bit == 1
    assert not p.sequential and p.effective_rows_parallel == 128 and p.adc_max_code == 31
    d = HardwareParams.from_config(load_config())
    assert d.sequential and d.effective_rows_parallel == 1 and d.adc_max_code == 1
    assert d.on_off_ratio == pytest.approx(17.0)


def test_d2d_variation_statistics_and_seeding():
    p = HardwareParams(weight_bits=8, cell_bit=2, on_off_ratio=17.0, d2d_sigma=0.1, seed=4)
    q = codes((1, 200, 50), 8)
    ideal = program_cells(q, HardwareParams(weight_bits=8, cell_bit=2, on_off_ratio=17.0), 0)
    a = program_cells(q, p, 0)
    b = program_cells(q, p, 0)
    c = program_cells(q, p, 1)
    assert torch.equal(a.g_data, b.g_data) and torch.equal(a.g_ref, b.g_ref)
    assert not torch.equal(a.g_data, c.g_data)
    rel = (a.g_data / ideal.g_data - 1).flatten()
    assert abs(float(rel.mean())) < 0.005
    assert float(rel.std()) == pytest.approx(0.1, rel=0.03)
    assert not torch.equal(a.g_ref, ideal.g_ref)          # reference cells vary too


def test_stuck_at_fault_rates():
    p = HardwareParams(weight_bits=8, cell_bit=1, on_off_ratio=17.0, stuck_on_rate=0.1,
                       stuck_off_rate=0.05, seed=2)
    q = torch.zeros(1, 300, 100, dtype=torch.float64)     # u = 128: MSB cell on, others off
    g = program_cells(q, p, 0).g_data
    msb, rest = g[..., 0], g[..., 1:]
    # an on cell reads g_min only if stuck off, an off cell reads g_max only if stuck on
    assert float((msb == p.g_min).double().mean()) == pytest.approx(0.05, abs=0.01)
    assert float((rest == p.g_max).double().mean()) == pytest.approx(0.1, abs=0.01)


def test_drift_random_and_target():
    base = dict(weight_bits=8, cell_bit=2, on_off_ratio=17.0)
    q = codes((1, 100, 40), 8, seed=3)
    g0 = program_cells(q, HardwareParams(**base), 0).g_data
    ratio = (1e4 / 1.0) ** 0.05
    p = HardwareParams(**base, drift_nu=0.05, drift_time_s=1e4, drift_mode="random")
    g = program_cells(q, p, 0).g_data
    up = torch.minimum(g0 * ratio, torch.clamp(g0, min=p.g_max))
    down = torch.maximum(g0 / ratio, torch.clamp(g0, max=p.g_min))
    ok = torch.isclose(g, up) | torch.isclose(g, down)
    assert bool(ok.all())
    frac_up = float((torch.isclose(g, g0 * ratio) & (g0 * ratio < p.g_max)).double().sum()
                    / (g0 * ratio < p.g_max).double().sum())
    assert 0.4 < frac_up < 0.6
    target = 1.5
    pt = HardwareParams(**base, drift_nu=0.5, drift_time_s=1e6, drift_mode="target", drift_target=target)
    gt = program_cells(q, pt, 0).g_data
    # every cell moves toward the target and never past it
    assert bool(((gt - target).abs() <= (g0 - target).abs() + 1e-12).all())
    assert bool(((gt - target) * (g0 - target) >= 0).all())
    moved = (g0 != target)
    assert bool(((gt - target).abs()[moved] < (g0 - target).abs()[moved]).all())


def test_adc_rounds_half_up_and_clips():
    r = torch.tensor([-0.7, 0.49, 0.5, 1.5, 2.49, 30.4, 31.5, 100.0])
    assert adc_convert(r, 31).tolist() == [0, 0, 1, 2, 2, 30, 31, 31]
