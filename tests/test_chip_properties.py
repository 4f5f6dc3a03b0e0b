"""Data relations of the chip estimator (the original design's notes), as properties:

- read energy depends on the input bit activity, and for RRAM also on the weights (through
  the column conductances); for SRAM the weights play no role;
- latency depends on the number of input bits, and in sequential mode on the active rows;
- area depends on no data.
Synthetic traces of NeuroSim's small reference network, built in memory with fixed seeds.
"""
import numpy as np
import pytest

import inferenceConfig as ic
from chip_traces import LayerTrace, NetworkTraces, num_in_vector
from Chip import estimate

NETWORK = [[28, 28, 1, 5, 5, 32, 1, 1], [12, 12, 32, 5, 5, 64, 1, 1],
           [1, 1, 1024, 1, 1, 128, 0, 1], [1, 1, 128, 1, 1, 10, 0, 1]]

MODES = {
    "sram_parallel": [],
    "rram_parallel": ["memcelltype=2"],
    "rram_sequential_cb2": ["memcelltype=2", "operationmode=1", "cellBit=2"],
}


def make_traces(seed, input_bits=8, density=0.3, weights=None):
    rng = np.random.default_rng(seed)
    layers = []
    for k, row in enumerate(NETWORK, start=1):
        rows = row[2] * row[3] * row[4]
        cols = num_in_vector(row) * input_bits
        bits = (rng.random((rows, cols)) < density).astype(np.uint8)
        w = weights[k - 1] if weights is not None else rng.integers(1, 256, (rows, row[5]))
        layers.append(LayerTrace(k, row, np.asarray(w, dtype=np.int16), bits, "synthetic"))
    return NetworkTraces(NETWORK, layers, 8, input_bits, "memory", "npz")


def run(mode, traces, extra=()):
    settings = MODES[mode] + [f"numBitInput={traces.input_bits}", *extra]
    param = ic.load_config("neurosim-1.4", None, settings).to_param()
    return estimate(param, traces)


def energy(est):
    return np.array([l.read_dynamic_energy for l in est.layers])


def latency(est):
    return np.array([l.read_latency for l in est.layers])


@pytest.mark.parametrize("mode", list(MODES))
def test_all_zero_inputs_cost_less_read_energy_than_random_inputs(mode):
    busy = make_traces(1, density=0.3)
    idle = make_traces(1, density=0.0)
    assert np.all(energy(run(mode, idle)) < energy(run(mode, busy)))


@pytest.mark.parametrize("mode", list(MODES))
def test_area_depends_on_no_data(mode):
    a = run(mode, make_traces(1, density=0.1)).area
    b = run(mode, make_traces(2, density=0.5)).area
    assert a == b


def test_rram_energy_depends_on_weights_sram_does_not():
    lo = [np.full((r[2] * r[3] * r[4], r[5]), 1) for r in NETWORK]     # all cells near Gmin
    hi = [np.full((r[2] * r[3] * r[4], r[5]), 255) for r in NETWORK]   # all cells at Gmax
    t_lo, t_hi = make_traces(3, weights=lo), make_traces(3, weights=hi)
    assert not np.allclose(energy(run("rram_parallel", t_lo)), energy(run("rram_parallel", t_hi)),
                           rtol=1e-3)
    assert np.allclose(energy(run("sram_parallel", t_lo)), energy(run("sram_parallel", t_hi)),
                       rtol=1e-12)


@pytest.mark.parametrize("mode", ["sram_parallel", "rram_parallel"])
def test_doubling_input_bits_doubles_array_read_latency(mode):
    """The array is read once per input bit: its (ADC) read latency doubles. The layer
    latency grows too, by less, because NeuroSim's buffer and interconnect latencies of
    these small layers hardly depend on the input bits."""
    e4 = run(mode, make_traces(4, input_bits=4))
    e8 = run(mode, make_traces(4, input_bits=8))
    adc4 = np.array([l.latency_adc for l in e4.layers])
    adc8 = np.array([l.latency_adc for l in e8.layers])
    assert np.allclose(adc8 / adc4, 2.0, rtol=1e-9)
    assert np.all(latency(e8) > latency(e4))


def test_sequential_latency_grows_with_active_rows():
    sparse = latency(run("rram_sequential_cb2", make_traces(5, density=0.05)))
    dense = latency(run("rram_sequential_cb2", make_traces(5, density=0.5)))
    assert np.all(dense > sparse)


def test_parallel_latency_does_not_depend_on_activity():
    a = latency(run("rram_parallel", make_traces(6, density=0.05)))
    b = latency(run("rram_parallel", make_traces(6, density=0.5)))
    assert np.allclose(a, b, rtol=1e-12)
