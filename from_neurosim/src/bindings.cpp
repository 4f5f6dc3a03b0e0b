// Python module FormulaBindings: technology tables, gate-level formulas and the
// design-parameter set used by the chip estimator. Each part registers itself.
#include <pybind11/pybind11.h>

namespace py = pybind11;

void bind_technology(py::module_ &m);
void bind_formulas(py::module_ &m);
void bind_params(py::module_ &m);
void bind_kernels(py::module_ &m);

PYBIND11_MODULE(FormulaBindings, m) {
    m.doc() = "Technology tables, gate-level circuit formulas and design parameters "
              "for compute-in-memory chip estimation (SI units throughout).";
    bind_technology(m);
    bind_formulas(m);
    bind_params(m);
    bind_kernels(m);
}
