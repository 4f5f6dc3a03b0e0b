"""Build the FormulaBindings C++ module with CMake and install the project in place.

`pip install -e .` runs CMake on from_neurosim/ and puts the compiled module at the
repository root, beside Chip.py and inference_sim.py.
"""
import os
import subprocess
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name: str, source_dir: Path):
        super().__init__(name, sources=[])
        self.source_dir = str(source_dir)


class CMakeBuild(build_ext):
    def build_extension(self, ext: Extension) -> None:
        if not isinstance(ext, CMakeExtension):
            return super().build_extension(ext)
        import pybind11

        out_dir = Path(self.get_ext_fullpath(ext.name)).resolve().parent
        build_dir = Path(self.build_temp).resolve() / ext.name
        build_dir.mkdir(parents=True, exist_ok=True)
        configure = [
            "cmake", ext.source_dir,
            f"-DFORMULA_OUTPUT_DIR={out_dir}",
            f"-DPython_EXECUTABLE={sys.executable}",
            f"-Dpybind11_DIR={pybind11.get_cmake_dir()}",
            "-DCMAKE_BUILD_TYPE=Release",
        ]
        jobs = str(os.cpu_count() or 2)
        subprocess.run(configure, cwd=build_dir, check=True)
        subprocess.run(["cmake", "--build", ".", "--", f"-j{jobs}"], cwd=build_dir, check=True)


setup(
    name="cimsim",
    version="0.1.0",
    description="Compute-in-memory chip estimator: hardware-aware inference and "
                "NeuroSim-compatible area/latency/energy",
    python_requires=">=3.10",
    # sweep.py --ray (a local Ray instance or a cluster); without it sweeps run locally
    extras_require={"ray": ["ray==2.60.0"]},
    # Every top-level script is an importable module; every folder with an __init__.py
    # is a package.
    py_modules=sorted(p.stem for p in ROOT.glob("*.py") if p.name != "setup.py"),
    packages=sorted(p.parent.name for p in ROOT.glob("*/__init__.py")),
    ext_modules=[CMakeExtension("FormulaBindings", ROOT / "from_neurosim")],
    cmdclass={"build_ext": CMakeBuild},
    zip_safe=False,
)
