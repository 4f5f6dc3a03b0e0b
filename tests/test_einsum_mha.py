"""torch.einsum and nn.MultiheadAttention in attention models, without editing the model:
einsum matrix products run as the matmul path (cim/dynamic.py), nn.MultiheadAttention is
rebuilt from nn.Linear layers at conversion (cim/attention.py)."""
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

from cim import HardwareParams, convert_model
from cim.attention import LinearMultiheadAttention, merge_multihead_state
from cim.dynamic import DynamicOps
from cim.layers import MappingError

torch.set_num_threads(1)

IDEAL = dict(sequential=False, rows_parallel=128, adc_levels=1024)


class EinsumAttention(nn.Module):
    """The same attention written with einsum or with matmul."""

    def __init__(self, einsum):
        super().__init__()
        self.qkv = nn.Linear(8, 24)
        self.out = nn.Linear(8, 3)
        self.einsum = einsum

    def forward(self, x):                                   # [B, T, 8]
        b, t, _ = x.shape
        q, k, v = (z.reshape(b, t, 2, 4).transpose(1, 2) for z in self.qkv(x).chunk(3, -1))
        if self.einsum:
            s = torch.einsum("bhqd,bhkd->bhqk", q, k)
            o = torch.einsum("bhqk,bhkd->bhqd", F.softmax(s / 2.0, -1), v)
        else:
            s = torch.matmul(q, k.transpose(-2, -1))
            o = torch.matmul(F.softmax(s / 2.0, -1), v)
        return self.out(o.transpose(1, 2).reshape(b, t, 8)).mean(1)


def _run(model, params, mode, dyn_mode="digital", x=None):
    ctx = convert_model(model, params)
    ctx.set_act_ranges({l.name: 4.0 for l in ctx.layers})
    dyn = DynamicOps(model, ctx, dyn_mode)
    ctx.begin_pass()
    with dyn, ctx.use(mode), torch.no_grad():
        out = model(*x) if isinstance(x, tuple) else model(x)
    return out, dyn, ctx


@pytest.mark.parametrize("mode,dyn_mode", [("float", "digital"), ("quantized", "digital"),
                                           ("hardware", "digital"), ("hardware", "crossbar")])
def test_einsum_runs_and_is_recorded_like_matmul(mode, dyn_mode):
    params = HardwareParams(**IDEAL)
    x = torch.randn(3, 5, 8, generator=torch.Generator().manual_seed(0))
    res = {}
    for einsum in (False, True):
        torch.manual_seed(5)
        out, dyn, ctx = _run(EinsumAttention(einsum), params, mode, dyn_mode, x)
        ops = dyn.manifest_operations({id(l): k for k, l in enumerate(ctx.order, 1)})
        res[einsum] = (out, [{k: v for k, v in o.items() if k != "index"} for o in ops])
    assert torch.allclose(res[True][0], res[False][0], rtol=1e-5, atol=1e-6)
    assert res[True][1] == res[False][1]
    kinds = [o["kind"] for o in res[True][1]]
    assert kinds == ["linear", "dynamic_matmul", "softmax", "dynamic_matmul", "linear"]
    qk = res[True][1][1]
    assert (qk["m"], qk["k"], qk["n"], qk["groups"]) == (5, 4, 5, 2)
    if mode == "hardware":
        assert len(qk["stats"]["a_bit_activity"]) == 8


def test_einsum_crossbar_equals_digital_on_an_ideal_array():
    x = torch.randn(2, 6, 8, generator=torch.Generator().manual_seed(1))
    outs = []
    for dyn_mode in ("digital", "crossbar"):
        torch.manual_seed(6)
        outs.append(_run(EinsumAttention(True), HardwareParams(**IDEAL), "hardware", dyn_mode, x)[0])
    assert torch.equal(outs[0], outs[1])


@pytest.mark.parametrize("eq,sa,sb", [("bij,bjk->bik", (2, 3, 4), (2, 4, 5)),
                                      ("bxy,byz->bzx", (2, 3, 4), (1, 4, 5)),
                                      ("bhij,bjk->bhik", (2, 3, 4, 5), (2, 5, 6)),
                                      ("ij,jk->ik", (3, 4), (4, 5)),
                                      ("bij,bkj", (2, 3, 4), (2, 5, 4))])
def test_einsum_layouts_equal_torch_in_float_and_the_quantized_matmul(eq, sa, sb):
    g = torch.Generator().manual_seed(2)
    a, b = torch.randn(sa, generator=g), torch.randn(sb, generator=g)
    m = nn.Linear(1, 1)
    ctx = convert_model(m, HardwareParams())
    dyn = DynamicOps(m, ctx, "digital")
    with dyn, ctx.use("float"):
        got = torch.einsum(eq, a, b)
    assert torch.allclose(got, torch.einsum(eq, a, b), rtol=1e-5, atol=1e-6)
    if eq == "bij,bjk->bik":
        with dyn, ctx.use("quantized"):
            q_einsum, q_matmul = torch.einsum(eq, a, b), torch.matmul(a, b)
        assert torch.equal(q_einsum, q_matmul)
        assert not torch.allclose(q_einsum, torch.matmul(a, b), rtol=0, atol=1e-7)


@pytest.mark.parametrize("eq,shapes,why", [
    ("ii,ij->j", [(3, 3), (3, 4)], "repeated index"),
    ("ij,kl->ijkl", [(2, 3), (4, 5)], "no contracted index"),
    ("bij,bij->bij", [(2, 3, 4), (2, 3, 4)], "no contracted index"),
    ("bij,bjk->bk", [(2, 3, 4), (2, 4, 5)], "summed away"),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)], "ellipsis"),
    ("ij,jk,kl->il", [(2, 2), (2, 2), (2, 2)], "3 operands"),
    ("bii->bi", [(2, 3, 3)], "1 operands"),
])
def test_other_einsums_are_refused_with_one_line_naming_the_equation(eq, shapes, why):
    m = nn.Linear(1, 1)
    ctx = convert_model(m, HardwareParams())
    dyn = DynamicOps(m, ctx, "digital")
    ops = [torch.randn(s) for s in shapes]
    with pytest.raises(MappingError) as e, dyn, ctx.use("hardware"):
        torch.einsum(eq, *ops)
    msg = str(e.value)
    assert "\n" not in msg and f"'{eq}'" in msg and why in msg


# ---- nn.MultiheadAttention ---------------------------------------------------------------

class MHAModel(nn.Module):
    def __init__(self, batch_first, kdim=None, bias=True):
        super().__init__()
        self.emb = nn.Linear(6, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=batch_first, kdim=kdim, vdim=kdim,
                                          bias=bias)
        self.head = nn.Linear(8, 3)
        self.batch_first, self.kdim = batch_first, kdim

    def forward(self, x, mask=None, pad=None):             # x [B, T, 6]
        h = self.emb(x)
        h = h if self.batch_first else h.transpose(0, 1)
        kv = h if self.kdim is None else h[..., :self.kdim]
        o, _ = self.attn(h, kv, kv, attn_mask=mask, key_padding_mask=pad, need_weights=False)
        o = o if self.batch_first else o.transpose(0, 1)
        return self.head(o).mean(1)


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_model_gives_the_same_float_output_after_conversion(batch_first):
    torch.manual_seed(7)
    model = MHAModel(batch_first).eval()
    x = torch.randn(3, 5, 6)
    with torch.no_grad():
        want = model(x)
    out, dyn, ctx = _run(model, HardwareParams(), "float", x=x)
    assert torch.allclose(out, want, rtol=1e-5, atol=1e-6)
    assert isinstance(model.attn, LinearMultiheadAttention)


def test_mha_kdim_and_no_bias_are_rebuilt_too():
    torch.manual_seed(8)
    model = MHAModel(True, kdim=4, bias=False).eval()
    x = torch.randn(2, 5, 6)
    with torch.no_grad():
        want = model(x)
    out, _, _ = _run(model, HardwareParams(), "float", x=x)
    assert torch.allclose(out, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch_first", [True, False])
def test_mha_in_hardware_projections_on_crossbar_products_dynamic(batch_first):
    torch.manual_seed(9)
    model = MHAModel(batch_first).eval()
    out, dyn, ctx = _run(model, HardwareParams(), "hardware", "crossbar", x=torch.randn(2, 5, 6))
    assert torch.isfinite(out).all()
    names = [l.name for l in ctx.layers]
    assert names == ["emb", "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj", "head"]
    ops = dyn.manifest_operations({id(l): k for k, l in enumerate(ctx.order, 1)})
    assert [o["kind"] for o in ops] == ["linear"] * 4 + ["dynamic_matmul", "softmax",
                                                         "dynamic_matmul", "linear", "linear"]
    assert [o["name"] for o in ops if o["kind"] == "linear"] == [
        "emb", "attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.out_proj", "head"][:4] + [
        "attn.out_proj", "head"]
    qk = ops[4]
    assert (qk["m"], qk["k"], qk["n"], qk["groups"], qk["execution"]) == (5, 4, 5, 2, "crossbar")
    assert ops[1]["ifm"] == [5, 1] and ops[1]["positions"] == 5
    assert "adc_conversions" in qk["stats"]


@pytest.mark.parametrize("batch_first", [True, False])
@pytest.mark.parametrize("case", ["bool_causal", "float_2d", "bool_3d", "padding",
                                  "padding_and_mask", "weights_per_head", "unbatched"])
def test_mha_masks_and_weights_match_torch(batch_first, case):
    g = torch.Generator().manual_seed(10)
    mha = nn.MultiheadAttention(8, 2, batch_first=batch_first).eval()
    with torch.no_grad():
        for p in mha.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.5)
    ours = LinearMultiheadAttention(mha).eval()
    n, l = 3, 5
    q = torch.randn(n, l, 8, generator=g)
    kv = torch.randn(n, l, 8, generator=g)
    if not batch_first:
        q, kv = q.transpose(0, 1), kv.transpose(0, 1)
    kw = {}
    causal = torch.ones(l, l, dtype=torch.bool).triu(1)
    pad = torch.zeros(n, l, dtype=torch.bool)
    pad[0, 3:] = True
    pad[2, 0] = True
    if case == "bool_causal":
        kw = dict(attn_mask=causal)
    elif case == "float_2d":
        kw = dict(attn_mask=torch.randn(l, l, generator=g))
    elif case == "bool_3d":
        m3 = torch.rand(n * 2, l, l, generator=g) > 0.7
        m3[..., 0] = False                                  # no fully masked row
        kw = dict(attn_mask=m3)
    elif case == "padding":
        kw = dict(key_padding_mask=pad)
    elif case == "padding_and_mask":
        kw = dict(key_padding_mask=torch.zeros(n, l).masked_fill(pad, float("-inf")),
                  attn_mask=torch.randn(l, l, generator=g))
    elif case == "weights_per_head":
        kw = dict(average_attn_weights=False)
    elif case == "unbatched":
        q, kv = q[:, 0] if not batch_first else q[0], kv[:, 0] if not batch_first else kv[0]
        kw = dict(attn_mask=causal)
    with torch.no_grad():
        want_o, want_w = mha(q, kv, kv, **kw)
        got_o, got_w = ours(q, kv, kv, **kw)
        none_o, none_w = ours(q, kv, kv, need_weights=False, **kw)
    assert got_o.shape == want_o.shape and got_w.shape == want_w.shape
    assert torch.allclose(got_o, want_o, rtol=1e-5, atol=1e-5)
    assert torch.allclose(got_w, want_w, rtol=1e-5, atol=1e-6)
    assert none_w is None and torch.allclose(none_o, want_o, rtol=1e-5, atol=1e-5)


def test_mha_exotic_options_are_refused_with_one_line():
    for kw in (dict(add_bias_kv=True), dict(add_zero_attn=True)):
        model = nn.Sequential(nn.Linear(8, 8))
        model.add_module("attn", nn.MultiheadAttention(8, 2, **kw))
        with pytest.raises(MappingError) as e:
            convert_model(model, HardwareParams())
        assert "\n" not in str(e.value) and "'attn'" in str(e.value)


@pytest.mark.parametrize("kdim,bias", [(None, True), (4, False)])
def test_split_state_merges_back_into_the_plain_model(kdim, bias):
    torch.manual_seed(11)
    model = MHAModel(True, kdim=kdim, bias=bias).eval()
    x = torch.randn(2, 5, 6)
    convert_model(model, HardwareParams())
    with torch.no_grad():
        for p in model.parameters():                     # "fine-tuned" weights
            p.add_(0.01 * torch.randn(p.shape))
        want = model(x)
    state = {k.replace(".inner.", "."): v for k, v in model.state_dict().items()}
    torch.manual_seed(12)
    plain = MHAModel(True, kdim=kdim, bias=bias).eval()
    plain.load_state_dict(merge_multihead_state(state, plain))
    with torch.no_grad():
        assert torch.allclose(plain(x), want, rtol=1e-5, atol=1e-6)
