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
