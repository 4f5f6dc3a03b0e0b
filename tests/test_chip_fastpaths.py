"""The estimator's fast paths give the numbers of their plain forms:

- the multilevel sense amp's summed mirror energy (per-piece sums of ln R) equals the
  element-wise sum of max((P(R) + P_ref) * t, 0) over the columns, for every node's fit,
  both roadmaps, voltage mode, read voltages and temperatures off the fit's, resistance
  ranges inside one piece or across pieces, and open / shorted / NaN columns;
- the unique input vectors of a row set are those of numpy's unique;
- the tabulated inverse series resistance of the cells equals the direct formula bit for bit;
- the sub-array evaluation in slices / batches across PEs does not change the results.
Tolerances: 1e-12 relative (the sums are reordered, nothing else)."""
import types

import numpy as np
import pytest

import FormulaBindings as fb
import inferenceConfig as ic
import Tile
from Chip import estimate
from peripherals import multilevel_sense_amp as mlsa
from test_chip_properties import make_traces

REL = 1e-12


def elementwise(r, ctx, levels, current, ref, t):
    pt = (mlsa.column_power(r, ctx, levels, current) + ref) * t
    with np.errstate(invalid="ignore"):
        return np.where(pt > 0, pt, 0.0).sum(axis=-1)


def ctx_for(**kw):
    return types.SimpleNamespace(param=fb.Param(memcelltype=2, **kw))


@pytest.mark.parametrize("node", sorted(mlsa._POW_LP))
@pytest.mark.parametrize("roadmap", [2, 1])
def test_column_static_energy_matches_elementwise(node, roadmap):
    rng = np.random.default_rng(node * 10 + roadmap)
    for vread, temp in ((0.5, 300), (0.55, 300), (0.3, 350)):
        ctx = ctx_for(technode=node, deviceroadmap=roadmap, readVoltage=vread, temp=temp)
        for lo, hi in ((1e2, 1e3), (1e3, 1e4), (4e3, 3e4), (1e2, 1e7), (1e5, 2e6), (1e6, 1e10)):
            r = np.exp(rng.uniform(np.log(lo), np.log(hi), (9, 3, 40)))
            for levels in (2, 4, 32):
                for current in (True, False):
                    for ref in (0.0, 3e-7):
                        want = elementwise(r, ctx, levels, current, ref, 1.1e-9)
                        got = mlsa.column_static_energy(r, ctx, levels, current, ref, 1.1e-9)
                        assert got.shape == want.shape
                        np.testing.assert_allclose(got, want, rtol=REL, atol=0)


def test_column_static_energy_special_columns_and_clipping():
    rng = np.random.default_rng(7)
    ctx = ctx_for(technode=22, deviceroadmap=2, readVoltage=0.5)
    r = np.exp(rng.uniform(np.log(1e5), np.log(5e7), (64, 2, 128)))   # energy < 0 at the top
    r[3] = np.inf
    r[5, 1, 7] = 0.0
    r[7, 0, 3] = np.nan
    r[9, 1, :] = np.nan
    for ref in (0.0, 1e-7, 1e-5):
        want = elementwise(r, ctx, 4, True, ref, 1e-9)
        got = mlsa.column_static_energy(r, ctx, 4, True, ref, 1e-9)
        np.testing.assert_allclose(got, want, rtol=REL, atol=1e-30)
    # a block larger than one cache block, and broadcast (read-only) input
    big = np.broadcast_to(np.exp(rng.uniform(np.log(2e5), np.log(9e5), (1, 128))), (1500, 128))
    np.testing.assert_allclose(mlsa.column_static_energy(big, ctx, 2, True, 0.0, 1e-9),
                               elementwise(big, ctx, 2, True, 0.0, 1e-9), rtol=REL)


@pytest.mark.parametrize("rows", [1, 7, 64, 128, 130, 300])
def test_unique_columns(rows):
    rng = np.random.default_rng(rows)
    x = (rng.random((rows, 500)) < 0.2).astype(np.uint8)
    x[:, 250:] = x[:, :250]                      # every vector twice
    pick, counts = Tile._unique_columns(x)
    want, w_index, w_counts = np.unique(x, axis=1, return_index=True, return_counts=True)
    assert counts.sum() == x.shape[1]
    got = {x[:, i].tobytes(): c for i, c in zip(pick, counts)}
    assert got == {want[:, k].tobytes(): c for k, c in enumerate(w_counts)}
    assert np.all(pick < 250)                    # the first occurrence is kept


@pytest.mark.parametrize("settings", [["memcelltype=2"], ["memcelltype=2", "cellBit=2"],
                                      ["memcelltype=3", "cellBit=2"]])
def test_inverse_series_table_is_the_direct_formula(settings):
    param = ic.load_config("neurosim-1.4", None, settings).to_param()
    from peripherals.base import Context
    ctx = Context.from_param(param)
    rng = np.random.default_rng(3)
    levels = rng.integers(0, 256, (300, 100)).astype(np.int16)
    data = Tile.LayerData(np.zeros((300, 4), np.uint8), levels, param, True)
    pe = types.SimpleNamespace(param=param, ctx=ctx, num_col=int(param.numColSubArray),
                               _cell_index={})
    pe.cell_index = types.MethodType(Tile.ProcessingUnit.cell_index, pe)
    rows = np.arange(5, 133)
    for c0, width in ((0, 128), (128, 200), (256, 37)):
        got = Tile._cell_inverse_series(pe, data, rows, c0, width)
        g = data.conductance(rows, c0, width)
        local = (np.arange(width) % pe.num_col) + 1
        n = len(rows)
        series = (1.0 / g + local[None, :] * float(param.wireResistanceRow)
                  + (n - np.arange(n))[:, None] * float(param.wireResistanceCol))
        if ctx.cell.mem_type == "RRAM" and ctx.cell.access == "CMOS":
            series += float(param.resistanceAccess)
        assert np.array_equal(got, 1.0 / series)


@pytest.mark.parametrize("mode", [["memcelltype=2"], ["memcelltype=2", "operationmode=1", "cellBit=2"]])
def test_slicing_and_batching_do_not_change_results(mode, monkeypatch):
    traces = make_traces(5)
    param = ic.load_config("neurosim-1.4", None, mode + ["numBitInput=8"]).to_param()
    ref = estimate(param, traces)
    monkeypatch.setattr(Tile, "_BATCH", 3000)    # many slices, no batches across PEs
    monkeypatch.setattr(Tile, "_SLICE", 700)
    small = estimate(param, traces)
    monkeypatch.setattr(Tile, "_BATCH", 1 << 24)  # everything over the same rows at once
    big = estimate(param, traces)
    for other in (small, big):
        assert other.chip == pytest.approx(ref.chip, rel=REL, abs=0)
        for a, b in zip(other.layers, ref.layers):
            assert a.__dict__ == pytest.approx(b.__dict__, rel=REL, abs=0)
