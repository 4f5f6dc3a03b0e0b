"""Test set-up: import the project from the repository root, keep torch on one thread."""
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")   # threaded BLAS is slower on small products

DATA = Path(__file__).resolve().parent / "data"


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def small_csv_traces(tmp_path_factory):
    """Seeded DNN+NeuroSim-format traces (with network.csv) of the small reference network."""
    import subprocess
    out = tmp_path_factory.mktemp("small_csv_traces")
    net = DATA / "neurosim14" / "small_default" / "network.csv"
    subprocess.run([sys.executable, str(ROOT / "tools" / "make_traces.py"), "--network",
                    str(net), "--out", str(out), "--seed", "3"], check=True,
                   stdout=subprocess.DEVNULL)
    (out / "network.csv").write_bytes(net.read_bytes())
    return out


class Probe:
    """Test helper: wraps a circuit and keeps the records its calculate_* calls RETURN, so a
    test can read `probe.area`, `probe.read_latency`, `probe.leakage`, ... of the last call
    it made. The circuit itself keeps no results (tests/test_circuit_interface.py checks
    that); this adapter lives in the tests only. Other attributes (sizing) come from the
    circuit."""

    _COST = {"read_latency": "latency", "read_dynamic_energy": "dynamic_energy",
             "leakage": "leakage", "write_latency": "write_latency",
             "write_dynamic_energy": "write_dynamic_energy", "ramp_output": "ramp_output"}

    def __init__(self, circuit):
        object.__setattr__(self, "circuit", circuit)
        object.__setattr__(self, "layout", None)
        object.__setattr__(self, "timing", None)
        object.__setattr__(self, "power", None)

    def calculate_area(self, *a, **kw):
        object.__setattr__(self, "layout", self.circuit.calculate_area(*a, **kw))
        return self.layout

    def calculate_latency(self, *a, **kw):
        object.__setattr__(self, "timing", self.circuit.calculate_latency(*a, **kw))
        return self.timing

    def calculate_power(self, *a, **kw):
        object.__setattr__(self, "power", self.circuit.calculate_power(*a, **kw))
        return self.power

    def __getattr__(self, name):
        if name in ("area", "height", "width"):
            return getattr(self.layout, name) if self.layout is not None else 0.0
        if name in self._COST:
            field = self._COST[name]
            src = self.timing if field in ("latency", "write_latency", "ramp_output") else self.power
            if name == "write_latency" or name == "write_dynamic_energy":
                src = self.timing if name == "write_latency" else self.power
            return getattr(src, field) if src is not None else 0.0
        for rec in (self.timing, self.power):
            if rec is not None and name in rec.parts:
                return rec.parts[name]
        return getattr(self.circuit, name)

    def __setattr__(self, name, value):
        setattr(self.circuit, name, value)


def probe(cls):
    """A constructor for `cls` that returns its Probe."""
    return lambda ctx: Probe(cls(ctx))
