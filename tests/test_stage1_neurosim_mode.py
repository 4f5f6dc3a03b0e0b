"""The neurosim-1.4 accuracy model (cim/neurosim_mode.py) against a loop reference written
from the description of DNN+NeuroSim V1.4's wrapper, and against the wrapper's own
predictions on a few images of the shipped checkpoint (tests/data/neurosim14_stage1/)."""
import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from cim import HardwareParams, convert_model
from cim.neurosim_mode import neurosim_integer_forward

torch.set_num_threads(1)


def reference(layer, codes, p):
    """Loops: per input bit (LSB first), row group and cell digit, a partial-sum tensor over
    the whole batch, quantized with its own min/max range; a mid-conductance dummy column."""
    nb, wb, cb = p.input_bits, p.weight_bits, p.cell_bit
    inv_r = 0.0 if math.isinf(p.on_off_ratio) else 1 / p.on_off_ratio
    L = 2 ** cb
    bits_adc = int(round(math.log2(p.adc_levels)))
    sub = min(p.rows, p.rows_parallel)
    q = layer.weight_matrix()[0].tolist()                      # [K][N]
    K, N = len(q), len(q[0])
    cells = wb // cb

    def digits(qv):
        x = round((2 ** wb - 1) / 2 * (qv / 2 ** (wb - 1) + 1))     # half to even
        out = []
        for _ in range(cells):
            out.append(x % L)
            x //= L
        return out

    G = [[[(1 - inv_r) * d + (L - 1) * inv_r for d in digits(q[r][n])] for n in range(N)] for r in range(K)]
    dummy = (L - 1) * (1 + inv_r) / 2
    unf = layer._unfold(codes.double())                         # [B, K, P]
    B, _, P = unf.shape
    A = [[[round((2 ** nb - 1) * float(unf[b, r, pp]) / 2 ** (nb - 1)) for pp in range(P)]
          for r in range(K)] for b in range(B)]
    if layer.kind == "linear":
        ns = K // sub
        groups = [list(range(K))] if ns == 0 else [list(range(s * sub, (s + 1) * sub)) for s in range(ns)]
    else:
        C, ka = layer.inner.in_channels, layer.kernel[0] * layer.kernel[1]
        ns = C // sub
        chans = [list(range(C))] if ns == 0 else [list(range(s * sub, (s + 1) * sub)) for s in range(ns)]
        groups = [[c * ka + kp for c in ch] for kp in range(ka) for ch in chans]

    def quant(vals):
        lo, hi = min(vals.values()), max(vals.values())
        if hi <= lo:
            return dict(vals)
        step = (hi - lo) / 2 ** bits_adc
        return {key: min(max(math.floor((v - lo) / step), 0), 2 ** bits_adc - 1) * step + lo
                for key, v in vals.items()}

    out = [[[0.0] * P for _ in range(N)] for _ in range(B)]
    for z in range(nb):
        bit = [[[(abs(A[b][r][pp]) >> z & 1) * (1 if A[b][r][pp] >= 0 else -1) for pp in range(P)]
                for r in range(K)] for b in range(B)]
        for rows in groups:
            # the dummy column adds its (float32) cell one active row after the other
            d32 = float(np.float32(dummy))
            dq = quant({(b, pp): float(np.cumsum([np.float32(0)] + [np.float32(d32)] * sum(bit[b][r][pp] for r in rows),
                                                 dtype=np.float32)[-1])
                        for b in range(B) for pp in range(P)})
            for j in range(cells):
                part = quant({(b, n, pp): sum(bit[b][r][pp] * G[r][n][j] for r in rows)
                              for b in range(B) for n in range(N) for pp in range(P)})
                for (b, n, pp), v in part.items():
                    out[b][n][pp] += 2 ** z * L ** j * 2 / (1 - inv_r) * (v - dq[(b, pp)])
    return torch.tensor(out, dtype=torch.float64) / 4


@pytest.mark.parametrize("kind,cb,ratio", [("conv", 1, 10.0), ("conv", 2, 17.0), ("linear", 2, math.inf),
                                           ("linear", 1, 10.0)])
def test_neurosim_mode_matches_loop_reference(kind, cb, ratio):
    torch.manual_seed(3)
    p = HardwareParams(rows=4, cols=8, rows_parallel=2, adc_levels=8, cell_bit=cb, weight_bits=4,
                       input_bits=4, on_off_ratio=ratio, accuracy_model="neurosim-1.4")
    if kind == "conv":
        mod, shape = nn.Conv2d(4, 3, 2, bias=False), (3, 4, 3, 3)
    else:
        mod, shape = nn.Linear(5, 3), (4, 5)          # 5 rows, sub-array 2: row 4 dropped
    ctx = convert_model(nn.Sequential(mod), p, torch.float64)
    layer = ctx.layers[0]
    codes = torch.randint(0, 8, shape).double()
    fast = neurosim_integer_forward(layer, codes, p).reshape(shape[0], 3, -1)
    ref = reference(layer, codes, p)
    torch.testing.assert_close(fast, ref, rtol=1e-4, atol=1e-4)


def test_neurosim_mode_depends_on_the_batch():
    """The ADC range comes from the whole batch: an image's output changes with its batch."""
    torch.manual_seed(1)
    p = HardwareParams(rows=8, rows_parallel=8, adc_levels=8, cell_bit=1, on_off_ratio=10.0,
                       accuracy_model="neurosim-1.4")
    ctx = convert_model(nn.Sequential(nn.Linear(16, 4)), p, torch.float64)
    layer = ctx.layers[0]
    codes = torch.randint(0, 128, (6, 16)).double()
    alone = neurosim_integer_forward(layer, codes[:1], p)
    batch = neurosim_integer_forward(layer, codes, p)[:1]
    assert not torch.allclose(alone, batch)


@pytest.mark.skipif(not __import__("os").environ.get("STAGE1_SLOW"),
                    reason="about 4-7 min per case on a loaded 2-core machine; run with STAGE1_SLOW=1")
@pytest.mark.parametrize("case", ["m_cb1_oo10", "m_cb2_oo10", "m_cb1_oo17", "m_cb2_oo17"])
def test_reproduces_neurosim_wrapper_accuracy(case):
    """First 200 images (one NeuroSim batch) of every case of the wrapper's own predictions:
    accuracy within 2 points and at least 90 % of the predictions the same (measured: 100 /
    91 / 100 / 93.5 %; the figures are in docs/stage1.md)."""
    import copy
    import json
    from conftest import ROOT
    from models import build_model, load_checkpoint
    from models.datasets import load_split
    data = ROOT / "tests" / "data" / "neurosim14_stage1"
    res = json.loads((data / f"res_{case}.json").read_text())
    with np.load(data / f"preds_{case}.npz", allow_pickle=False) as z:
        idx, ref_preds, labels = z["idx"][:200], z["preds"][:200], z["labels"][:200]
    model = build_model("fmnist_cnn")
    extra = load_checkpoint(model, ROOT / "checkpoints" / "fmnist_cnn.pt")
    x, y = load_split("fashion_mnist", "test", download=False).tensors(idx)
    assert np.array_equal(y.numpy(), labels)
    p = HardwareParams(rows_parallel=128, adc_levels=32, cell_bit=res["cellBit"],
                       on_off_ratio=res["onoff"], accuracy_model="neurosim-1.4",
                       neurosim_output_range=res["logit_range"])
    m = copy.deepcopy(model).eval()
    ctx = convert_model(m, p)
    ctx.set_act_ranges(extra["act_ranges"])
    ctx.begin_pass()
    with torch.no_grad(), ctx.use("hardware"):
        pred = m(x).argmax(1).numpy()
    ours, theirs = (pred == labels).mean(), (ref_preds == labels).mean()
    assert abs(ours - theirs) <= 0.02, (ours, theirs)
    assert (pred == ref_preds).mean() >= 0.9


def test_output_grid_rounds_before_the_bias():
    """NeuroSim puts a layer's output on the next layer's input grid before the bias is added,
    and the logits on the grid of run.neurosim_output_range (None: not rounded)."""
    from cim.neurosim_mode import round_to_next_grid
    torch.manual_seed(0)
    for rng, step in ((32.0, 0.25), (None, None)):
        p = HardwareParams(rows=8, rows_parallel=8, adc_levels=32, accuracy_model="neurosim-1.4",
                           neurosim_output_range=rng)
        ctx = convert_model(nn.Sequential(nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3)), p)
        ctx.set_act_ranges({ctx.layers[0].name: 1.0, ctx.layers[1].name: 12.7})
        y = torch.randn(4, 6) * 5
        torch.testing.assert_close(round_to_next_grid(ctx.layers[0], y),
                                   torch.clamp(torch.round(y / 0.1), -127, 127) * 0.1)
        z = torch.randn(4, 3) * 50
        last = round_to_next_grid(ctx.layers[1], z)
        if step is None:
            assert torch.equal(last, z)
        else:
            torch.testing.assert_close(last, torch.clamp(torch.round(z / step), -127, 127) * step)


def test_preset_selects_the_neurosim_model(tmp_path, capsys):
    import json
    import inference_sim
    out = tmp_path / "rec"
    rc = inference_sim.main(["--preset", "neurosim-1.4", "--modes", "quantized,hardware",
                             "--no-progress", "--set", "num_images=8", "--set", f"output_dir={out}"])
    assert rc == 0, capsys.readouterr().err
    rec = json.loads((out / "accuracy.json").read_text())
    assert rec["hardware_params"]["accuracy_model"] == "neurosim-1.4"
    man = json.loads((out / "manifest.json").read_text())
    assert man["config"]["run"]["batch_size"] == 200
    assert abs(rec["hardware"] - rec["quantized"]) <= 0.5
