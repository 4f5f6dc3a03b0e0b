// Python binding of the design-parameter set (class FormulaBindings.Param).
//
// Every base field becomes a read/write attribute and every derived value a read-only
// attribute, both under the DNN+NeuroSim V1.4 member name. Values are converted
// strictly: a wrong type raises TypeError naming the field.
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <climits>
#include <sstream>
#include <string>

#include "design_params.h"

namespace py = pybind11;

namespace {

using cim::BaseField;
using cim::DerivedField;
using cim::FieldKind;
using cim::FieldValue;
using cim::Param;

py::object to_py(const FieldValue &v) {
    if (std::holds_alternative<std::monostate>(v)) return py::none();
    if (auto *b = std::get_if<bool>(&v)) return py::bool_(*b);
    if (auto *i = std::get_if<long long>(&v)) return py::int_(*i);
    return py::float_(std::get<double>(v));
}

bool is_numpy_bool(py::handle h) {
    if (!py::hasattr(h, "dtype")) return false;
    py::object module = py::type::handle_of(h).attr("__module__");
    if (!py::isinstance<py::str>(module) || module.cast<std::string>() != "numpy") return false;
    return py::str(h.attr("dtype").attr("kind")).cast<std::string>() == "b";
}

std::string describe(py::handle value) {
    std::string type_name = py::str(py::type::handle_of(value).attr("__name__"));
    std::string text = py::repr(value);
    if (text.size() > 60) text = text.substr(0, 57) + "...";
    return type_name + " " + text;
}

[[noreturn]] void wrong_type(const BaseField &f, py::handle value) {
    std::string expected;
    switch (f.kind) {
        case FieldKind::Int: expected = "an int"; break;
        case FieldKind::Float: expected = "a real number (float or int)"; break;
        case FieldKind::Bool: expected = "a bool (True or False)"; break;
        case FieldKind::OptFloat: expected = "a real number or None (None: rule-based default)"; break;
    }
    if (!f.unit.empty()) expected += " in " + f.unit;
    throw py::type_error("Param." + f.name + " expects " + expected + ", got " + describe(value));
}

// A Python value converted for the field's kind, or TypeError.
FieldValue from_py(const BaseField &f, py::handle value) {
    const bool is_bool = PyBool_Check(value.ptr()) || is_numpy_bool(value);
    switch (f.kind) {
        case FieldKind::Bool:
            if (!is_bool) wrong_type(f, value);
            return FieldValue{static_cast<bool>(PyObject_IsTrue(value.ptr()))};
        case FieldKind::Int: {
            if (is_bool || PyFloat_Check(value.ptr()) || !PyIndex_Check(value.ptr())) wrong_type(f, value);
            py::object index = py::reinterpret_steal<py::object>(PyNumber_Index(value.ptr()));
            if (!index) throw py::error_already_set();
            int overflow = 0;
            const long long x = PyLong_AsLongLongAndOverflow(index.ptr(), &overflow);
            if (overflow || x < INT_MIN || x > INT_MAX)
                throw py::value_error("Param." + f.name + "=" + std::string(py::repr(value)) +
                                      " is outside the int range");
            return FieldValue{x};
        }
        case FieldKind::OptFloat:
            if (value.is_none()) return FieldValue{std::monostate{}};
            [[fallthrough]];
        case FieldKind::Float: {
            if (is_bool || PyUnicode_Check(value.ptr()) || PyBytes_Check(value.ptr()) ||
                PyComplex_Check(value.ptr()))
                wrong_type(f, value);
            if (!(PyFloat_Check(value.ptr()) || PyIndex_Check(value.ptr()) || py::hasattr(value, "__float__")))
                wrong_type(f, value);
            const double x = PyFloat_AsDouble(value.ptr());
            if (x == -1.0 && PyErr_Occurred()) throw py::error_already_set();
            return FieldValue{x};
        }
    }
    wrong_type(f, value);
}

std::vector<std::string> all_names() {
    std::vector<std::string> names;
    for (const auto &f : cim::base_fields()) names.push_back(f.name);
    for (const auto &d : cim::derived_fields()) names.push_back(d.name);
    return names;
}

[[noreturn]] void unknown_name(const std::string &name) {
    py::list close = py::module_::import("difflib").attr("get_close_matches")(name, all_names(), 4, 0.6);
    std::string msg = "Param has no field '" + name + "'";
    if (py::len(close) > 0) {
        msg += "; did you mean: ";
        bool first = true;
        for (auto c : close) {
            if (!first) msg += ", ";
            msg += c.cast<std::string>();
            first = false;
        }
        msg += "?";
    } else {
        msg += "; Param.base_fields() and Param.derived_fields() list the names";
    }
    throw py::key_error(msg);
}

[[noreturn]] void read_only(const DerivedField &d) {
    throw py::attribute_error("Param." + d.name + " is derived from " + d.depends_on +
                              " and cannot be set; change those instead");
}

void set_base(Param &p, const BaseField &f, py::handle value) { f.set(p, from_py(f, value)); }

void set_by_name(Param &p, const std::string &name, py::handle value) {
    if (const BaseField *f = cim::find_base(name)) return set_base(p, *f, value);
    if (const DerivedField *d = cim::find_derived(name)) read_only(*d);
    unknown_name(name);
}

py::object get_by_name(const Param &p, const std::string &name) {
    if (const BaseField *f = cim::find_base(name)) return to_py(f->get(p));
    if (const DerivedField *d = cim::find_derived(name)) return to_py(d->get(p));
    unknown_name(name);
}

void update_from(Param &p, py::handle mapping) {
    if (!PyMapping_Check(mapping.ptr()) || PyUnicode_Check(mapping.ptr()))
        throw py::type_error("Param.update expects a mapping of field names to values");
    py::object items = mapping.attr("items")();
    for (auto item : items) {
        py::tuple kv = py::reinterpret_borrow<py::tuple>(item);
        if (!py::isinstance<py::str>(kv[0]))
            throw py::type_error("Param field names must be strings, got " + describe(kv[0]));
        set_by_name(p, kv[0].cast<std::string>(), kv[1]);
    }
}

py::dict base_dict(const Param &p) {
    py::dict out;
    for (const auto &f : cim::base_fields()) out[py::str(f.name)] = to_py(f.get_raw(p));
    return out;
}

std::string field_doc(const BaseField &f) {
    std::string doc = f.doc;
    if (!f.unit.empty()) doc += " Unit: " + f.unit + ".";
    doc += " Default: " + f.default_text + ".";
    doc += std::string(" Type: ") + cim::kind_name(f.kind) + ".";
    return doc;
}

std::string derived_doc(const DerivedField &d) {
    std::string doc = d.doc;
    if (!d.unit.empty()) doc += " Unit: " + d.unit + ".";
    doc += " Read-only; follows " + d.depends_on + ".";
    return doc;
}

const char *kClassDoc = R"doc(Design parameters of a compute-in-memory chip (DNN+NeuroSim V1.4 names).

Param(**values) starts from NeuroSim V1.4's shipped Param.cpp (SRAM, conventional
parallel read, 22 nm LSTP, 128x128 sub-arrays, 5-bit ADC, 8-bit weights and inputs,
numRowParallel = 128) and applies the given base values.

Base fields (Param.base_fields()) are read/write attributes. Fields of type
"optional_float" take None to return to their rule-based default (node table, or
another field); reading them always gives the value in use. cellBit and numColMuxed
read back the value NeuroSim would use (cellBit is 1 for SRAM and at most synapseBit;
numColMuxed is numColPerSynapse in SRAM sequential mode); raw(name) gives what was set.

Derived fields (Param.derived_fields()) are read-only and computed from the current
base values on every access, so they always follow changes (e.g. of technode).

Units are SI (m, ohm, V, s, Hz, K, S) unless the field says nm or F (feature sizes).)doc";

}  // namespace

void bind_params(py::module_ &m) {
    py::class_<Param> cls(m, "Param", kClassDoc);

    cls.def(py::init([](py::kwargs kwargs) {
                Param p;
                update_from(p, kwargs);
                return p;
            }),
            "Param(**values): shipped NeuroSim V1.4 defaults, then the given base values.");

    for (const BaseField &f : cim::base_fields()) {
        const BaseField *fp = &f;
        cls.def_property(
            f.name.c_str(),
            py::cpp_function([fp](const Param &p) { return to_py(fp->get(p)); }),
            py::cpp_function([fp](Param &p, py::object value) { set_base(p, *fp, value); }),
            field_doc(f).c_str());
    }
    for (const DerivedField &d : cim::derived_fields()) {
        const DerivedField *dp = &d;
        cls.def_property(
            d.name.c_str(),
            py::cpp_function([dp](const Param &p) { return to_py(dp->get(p)); }),
            py::cpp_function([dp](Param &, py::object) { read_only(*dp); }),
            derived_doc(d).c_str());
    }

    cls.def_static("base_fields", []() {
        py::dict out;
        for (const auto &f : cim::base_fields()) out[py::str(f.name)] = py::str(cim::kind_name(f.kind));
        return out;
    }, "Base field names -> type name ('int', 'float', 'bool', 'optional_float'), in declaration order.");

    cls.def_static("derived_fields", []() {
        py::list out;
        for (const auto &d : cim::derived_fields()) out.append(py::str(d.name));
        return out;
    }, "Names of the read-only derived values.");

    cls.def_static("field_info", []() {
        py::dict out;
        const Param defaults;
        for (const auto &f : cim::base_fields()) {
            py::dict info;
            info["type"] = cim::kind_name(f.kind);
            info["unit"] = f.unit;
            info["doc"] = f.doc;
            info["default"] = to_py(f.get_raw(defaults));
            info["default_text"] = f.default_text;
            py::list choices;
            for (long long c : f.choices) choices.append(c);
            info["choices"] = choices;
            out[py::str(f.name)] = info;
        }
        return out;
    }, "Base field name -> dict(type, unit, doc, default, default_text, choices). "
       "'default' is None for rule-based optional fields.");

    cls.def_static("derived_info", []() {
        py::dict out;
        for (const auto &d : cim::derived_fields()) {
            py::dict info;
            info["type"] = cim::kind_name(d.kind);
            info["unit"] = d.unit;
            info["doc"] = d.doc;
            info["depends_on"] = d.depends_on;
            out[py::str(d.name)] = info;
        }
        return out;
    }, "Derived field name -> dict(type, unit, doc, depends_on).");

    cls.def_static("supported_technodes", []() { return cim::supported_nodes(); },
                   "Technology nodes with data, in nm: 130, 90, 65, 45, 32, 22, 14, 10, 7, 5, 3, 2, 1.");

    cls.def("get", [](const Param &p, const std::string &name) { return get_by_name(p, name); },
            py::arg("name"),
            "Value of a base or derived field by name (the value in use). Unknown name: KeyError.");
    cls.def("set", [](Param &p, const std::string &name, py::object value) { set_by_name(p, name, value); },
            py::arg("name"), py::arg("value"),
            "Set a base field by name. Unknown name: KeyError; derived name: AttributeError; "
            "wrong type: TypeError.");
    cls.def("raw", [](const Param &p, const std::string &name) -> py::object {
                if (const BaseField *f = cim::find_base(name)) return to_py(f->get_raw(p));
                if (cim::find_derived(name)) throw py::key_error("Param." + name + " is derived; it has no stored value");
                unknown_name(name);
            }, py::arg("name"),
            "The stored value of a base field as set (None for an unset optional), before "
            "NeuroSim's adjustments.");
    cls.def("update", [](Param &p, py::object mapping, py::kwargs kwargs) {
                if (!mapping.is_none()) update_from(p, mapping);
                update_from(p, kwargs);
            }, py::arg("mapping") = py::none(),
            "Set several base fields from a mapping and/or keyword arguments.");
    cls.def("reset", [](Param &p, py::object name) {
                if (name.is_none()) {
                    p = Param{};
                    return;
                }
                const std::string n = name.cast<std::string>();
                const BaseField *f = cim::find_base(n);
                if (!f) {
                    if (const DerivedField *d = cim::find_derived(n)) read_only(*d);
                    unknown_name(n);
                }
                f->set(p, f->get_raw(Param{}));
            }, py::arg("name") = py::none(),
            "Return one base field (or all, without a name) to the shipped default.");
    cls.def("overrides", [](const Param &p) {
                py::dict out;
                for (const auto &f : cim::base_fields())
                    if (f.kind == FieldKind::OptFloat && !std::holds_alternative<std::monostate>(f.get_raw(p)))
                        out[py::str(f.name)] = to_py(f.get_raw(p));
                return out;
            }, "Optional fields set explicitly (name -> value); the others follow their rule.");
    cls.def("to_dict", [](const Param &p) {
                py::dict out;
                for (const auto &f : cim::base_fields()) out[py::str(f.name)] = to_py(f.get(p));
                for (const auto &d : cim::derived_fields()) out[py::str(d.name)] = to_py(d.get(p));
                return out;
            }, "Every base field (value in use) and every derived value. ValueError at an unsupported technode.");
    cls.def("base_dict", [](const Param &p) { return base_dict(p); },
            "Every base field as stored (None for unset optionals): Param(**p.base_dict()) == p.");
    cls.def("validate", [](py::object self) {
                self.cast<const Param &>().validate();
                return self;
            }, "Raise ValueError naming field, value and valid choices for every combination "
               "NeuroSim V1.4 rejects; returns self when valid.");
    cls.def("problems", &Param::problems, "The messages validate() would raise (empty list when valid).");
    cls.def("warnings", &Param::warnings,
            "Accepted settings that NeuroSim V1.4 silently changes or that are known to misbehave in it.");
    cls.def("copy", [](const Param &p) { return Param(p); }, "An independent copy.");
    cls.def("__copy__", [](const Param &p) { return Param(p); });
    cls.def("__deepcopy__", [](const Param &p, py::object) { return Param(p); }, py::arg("memo"));
    cls.def("__eq__", [](const Param &a, py::object other) -> py::object {
        if (!py::isinstance<Param>(other)) return py::reinterpret_borrow<py::object>(Py_NotImplemented);
        const Param &b = other.cast<const Param &>();
        for (const auto &f : cim::base_fields())
            if (f.get_raw(a) != f.get_raw(b)) return py::bool_(false);
        return py::bool_(true);
    }, py::is_operator());
    cls.attr("__hash__") = py::none();
    cls.def("__repr__", [](const Param &p) {
        const Param defaults;
        std::ostringstream s;
        s << "Param(";
        bool first = true;
        for (const auto &f : cim::base_fields()) {
            const FieldValue v = f.get_raw(p);
            if (v == f.get_raw(defaults)) continue;
            if (!first) s << ", ";
            s << f.name << "=" << std::string(py::repr(to_py(v)));
            first = false;
        }
        s << ")";
        return s.str();
    });
    cls.def(py::pickle([](const Param &p) { return base_dict(p); },
                       [](py::dict state) {
                           Param p;
                           update_from(p, state);
                           return p;
                       }));
}
