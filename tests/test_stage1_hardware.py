"""Hardware mode on whole models: ideal hardware == quantized, accuracy trends, seeding,
statistics, CPU/CUDA."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cim import HardwareParams, MappingError, calibrate, convert_model
from traces import codes_to_bits, unfold_codes

torch.set_num_threads(1)


class Block(nn.Module):
    def __init__(self, c, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c, 2 * c, 3, stride=stride, padding=1)
        self.bn = nn.BatchNorm2d(2 * c)
        self.conv2 = nn.Conv2d(2 * c, 2 * c, 3, padding=1, groups=2, bias=False)
        self.short = nn.Conv2d(c, 2 * c, 1, stride=stride, bias=False)

    def forward(self, x):
        return F.relu(self.conv2(F.relu(self.bn(self.conv1(x)))) + self.short(x))


def tiny_model(seed=0):
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), Block(4, 2), nn.MaxPool2d(2),
                      nn.Flatten(), nn.Linear(8 * 2 * 2, 10))
    with torch.no_grad():
        m[2].bn.running_mean.uniform_(-0.1, 0.1)
        m[2].bn.running_var.uniform_(0.5, 1.5)
    return m.eval()


def tiny_input(n=6, seed=1):
    return torch.randn(n, 3, 8, 8, generator=torch.Generator().manual_seed(seed))


def run(model, ctx, mode, x, bs=None):
    bs = bs or len(x)
    outs = []
    ctx.begin_pass()
    with torch.no_grad(), ctx.use(mode):
        for i in range(0, len(x), bs):
            ctx.image_offset = i
            outs.append(model(x[i:i + bs]))
    return torch.cat(outs)


def converted(params, seed=0, dtype=torch.float32):
    m = tiny_model(seed)
    ctx = convert_model(m, params, dtype)
    calibrate(m, ctx, [tiny_input(16, seed=7)])
    ctx.prepare_hardware()
    return m, ctx


IDEAL = dict(rows=16, cols=16, adc_levels=4096, on_off_ratio=math.inf)


@pytest.mark.parametrize("sequential", [False, True])
def test_ideal_hardware_equals_quantized_on_a_residual_model(sequential):
    m, ctx = converted(HardwareParams(**IDEAL, sequential=sequential, rows_parallel=5))
    x = tiny_input()
    assert torch.equal(run(m, ctx, "hardware", x), run(m, ctx, "quantized", x))


def test_general_path_is_exact_for_ideal_devices():
    """Force the per-conversion path (used with variation/noise) on an ideal array."""
    m, ctx = converted(HardwareParams(**{**IDEAL, "on_off_ratio": 1e12}, rows_parallel=16,
                                      d2d_sigma=1e-9))
    assert not any(layer.engine.exact_devices for layer in ctx.layers)
    x = tiny_input()
    assert torch.equal(run(m, ctx, "hardware", x), run(m, ctx, "quantized", x))


def test_quantized_mode_is_not_float():
    m, ctx = converted(HardwareParams(**IDEAL, input_bits=3, weight_bits=3))
    x = tiny_input()
    assert not torch.allclose(run(m, ctx, "quantized", x), run(m, ctx, "float", x), atol=1e-3)


def test_nonideal_outputs_differ_and_are_seeded():
    base = dict(rows=16, cols=16, adc_levels=16, on_off_ratio=17.0, rows_parallel=16,
                d2d_sigma=0.2, c2c_sigma=0.05, stuck_off_rate=0.01)
    x = tiny_input()
    m1, c1 = converted(HardwareParams(**base, seed=1))
    m2, c2 = converted(HardwareParams(**base, seed=1))
    m3, c3 = converted(HardwareParams(**base, seed=2))
    h1 = run(m1, c1, "hardware", x)
    assert torch.equal(h1, run(m2, c2, "hardware", x))
    assert not torch.equal(h1, run(m3, c3, "hardware", x))
    assert not torch.equal(h1, run(m1, c1, "quantized", x))


@pytest.mark.parametrize("sequential", [False, True])
def test_read_noise_does_not_depend_on_batch_size(sequential):
    p = HardwareParams(rows=16, cols=16, adc_levels=32, on_off_ratio=17.0, rows_parallel=16,
                       c2c_sigma=0.3 if sequential else 0.1, d2d_sigma=0.05, sequential=sequential,
                       seed=3)
    m, ctx = converted(p)
    x = tiny_input(7)
    assert torch.equal(run(m, ctx, "hardware", x, bs=7), run(m, ctx, "hardware", x, bs=2))
    # ... and is new at every read: the same image again (a later index) reads differently
    x2 = torch.cat([x[:1], x[:1]])
    out = run(m, ctx, "hardware", x2)
    assert not torch.equal(out[0], out[1])


def test_device_variation_is_fixed_for_the_run():
    p = HardwareParams(rows=16, cols=16, adc_levels=32, on_off_ratio=17.0, rows_parallel=16,
                       d2d_sigma=0.3, drift_nu=0.05, drift_time_s=100.0, seed=5)
    m, ctx = converted(p)
    x = tiny_input(4)
    a = run(m, ctx, "hardware", x)
    b = run(m, ctx, "hardware", x.flip(0)).flip(0)
    assert torch.equal(a, b)


def test_bit_activity_statistic_matches_unfolded_bits():
    m, ctx = converted(HardwareParams(**IDEAL, input_bits=5))
    x = tiny_input(3)
    seen = {}
    hooks = [l.register_forward_pre_hook(lambda mod, inp, l=l: seen.setdefault(l.name, inp[0]))
             for l in ctx.layers]
    run(m, ctx, "hardware", x)
    for h in hooks:
        h.remove()
    for layer in ctx.layers:
        codes, _ = layer.quantize_input(seen[layer.name])
        codes = codes.to(torch.int64).numpy()
        if layer.kind == "linear":
            codes = codes.reshape(codes.shape[0], -1)
        bits = codes_to_bits(unfold_codes(codes, layer.geometry), 5)      # [n, K, P*nb]
        direct = bits.reshape(bits.shape[0], bits.shape[1], -1, 5).mean(axis=(0, 1, 2))
        np.testing.assert_allclose(layer.statistics()["input_bit_activity"], direct, atol=1e-6)


def test_clipping_statistic_counts_saturated_conversions():
    """Narrow ADC: clipping happens and the hardware output deviates; a wide one: none."""
    x = tiny_input()
    for levels, clipped in ((3, True), (4096, False)):
        m, ctx = converted(HardwareParams(rows=16, cols=16, adc_levels=levels, on_off_ratio=17.0,
                                          rows_parallel=16))
        run(m, ctx, "hardware", x)
        frac = [l.statistics()["adc_clipped_fraction"] for l in ctx.layers]
        assert (max(frac) > 0.01) == clipped


def test_pooling_attribution_and_execution_order():
    m, ctx = converted(HardwareParams(**IDEAL))
    run(m, ctx, "hardware", tiny_input(2))
    names = [l.name for l in ctx.order]
    assert names == ["0", "2.conv1", "2.conv2", "2.short", "5"]
    pools = {l.name: l.pool for l in ctx.order}
    assert pools["2.short"] == {"type": "max", "kernel": [2, 2], "stride": [2, 2], "padding": [0, 0]}
    assert pools["0"] is None and pools["5"] is None


def test_unsupported_layers_and_bad_weights():
    with pytest.raises(MappingError, match="Conv1d"):
        convert_model(nn.Sequential(nn.Conv1d(2, 2, 3)), HardwareParams())
    with pytest.raises(MappingError, match="padding_mode"):
        convert_model(nn.Sequential(nn.Conv2d(2, 2, 3, padding=1, padding_mode="reflect")), HardwareParams())
    with pytest.raises(MappingError, match="no Conv2d or Linear"):
        convert_model(nn.Sequential(nn.ReLU()), HardwareParams())
    bad = nn.Sequential(nn.Linear(3, 2))
    with torch.no_grad():
        bad[0].weight[0, 0] = float("nan")
    with pytest.raises(MappingError, match="NaN"):
        convert_model(bad, HardwareParams())
    with pytest.raises(ValueError, match="cell_bit"):
        convert_model(nn.Sequential(nn.Linear(3, 2)), HardwareParams(weight_bits=2, cell_bit=3))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_cuda_matches_cpu():
    p = HardwareParams(rows=16, cols=16, adc_levels=8, on_off_ratio=17.0, rows_parallel=16, d2d_sigma=0.1)
    x = tiny_input()
    m, ctx = converted(p)
    cpu = run(m, ctx, "hardware", x)
    m = m.cuda()
    ctx.prepare_hardware()
    gpu = run(m, ctx, "hardware", x.cuda()).cpu()
    assert (gpu.argmax(1) == cpu.argmax(1)).float().mean() > 0.8
    torch.testing.assert_close(gpu, cpu, rtol=1e-3, atol=1e-3)


# ------------------------------------------------------------------------------------------
# the shipped default model
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def fmnist():
    from models import build_model, load_checkpoint
    from models.datasets import load_split
    model = build_model("fmnist_cnn")
    from conftest import ROOT
    extra = load_checkpoint(model, ROOT / "checkpoints" / "fmnist_cnn.pt")
    x, y = load_split("fashion_mnist", "test", download=False).tensors(np.arange(0, 10000, 40))
    return model.eval(), extra["act_ranges"], x, y


def accuracy(fmnist, n=None, **hw):
    model, ranges, x, y = fmnist
    x, y = x[:n], y[:n]
    import copy
    m = copy.deepcopy(model)
    ctx = convert_model(m, HardwareParams(**hw))
    assert ctx.set_act_ranges(ranges) == []
    ctx.prepare_hardware()
    q = run(m, ctx, "quantized", x).argmax(1)
    h = run(m, ctx, "hardware", x).argmax(1)
    return float((q == y).float().mean()), float((h == y).float().mean()), q, h


def test_default_model_ideal_hardware_gives_quantized_predictions(fmnist):
    for hw in (dict(sequential=True, on_off_ratio=1e15),
               dict(sequential=False, rows_parallel=128, adc_levels=256, on_off_ratio=1e15)):
        _, _, q, h = accuracy(fmnist, **hw)
        assert torch.equal(q, h)


def test_default_model_accuracy_falls_with_fewer_adc_levels(fmnist):
    base = dict(sequential=False, rows_parallel=128, on_off_ratio=17.0)
    res = [accuracy(fmnist, n=100, adc_levels=lv, **base) for lv in (256, 32, 16)]
    qacc, accs = res[0][0], [r[1] for r in res]
    assert accs[0] == qacc and accs[1] > accs[2] and accs[2] < qacc - 0.2


def test_default_model_accuracy_falls_with_device_variation(fmnist):
    accs = [accuracy(fmnist, sequential=True, on_off_ratio=17.0, d2d_sigma=s, seed=1)[1]
            for s in (0.0, 0.3, 0.6)]
    assert accs[0] > accs[1] > accs[2]


def test_adc_full_scale_below_levels_is_honoured():
    """A full scale below adc_levels - 1 cell steps gives a step finer than one cell step."""
    assert HardwareParams(adc_levels=64, adc_full_scale=10.0).adc_step == pytest.approx(10 / 63)
    assert HardwareParams(adc_levels=32).adc_step == 1.0
    assert HardwareParams(adc_levels=32, adc_full_scale=62.0).adc_step == 2.0


def test_novel_mapping_groups_rows_per_kernel_position():
    """With novel mapping, a conv layer with enough rows converts the rows of one kernel
    position together (stage 2's floorplan rule); a 1x1/linear layer is unchanged."""
    m = nn.Sequential(nn.Conv2d(32, 8, 3, padding=1), nn.Conv2d(8, 8, 3), nn.Flatten(), nn.Linear(8, 2))
    ctx = convert_model(m, HardwareParams(rows=128, novel_mapping=True))
    assert [l.kernel_positions for l in ctx.layers] == [9, 1, 1]   # 288 rows: NM; 72 < 128 rows: not
    ctx = convert_model(m, HardwareParams(rows=128, novel_mapping=False))
    assert [l.kernel_positions for l in ctx.layers] == [1, 1, 1]
