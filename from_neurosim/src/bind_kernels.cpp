// Numeric kernels of the chip estimator's data path (our own code, not from NeuroSim).
//
// binary_row_sums(x, s, out, threads, numerators): out = x @ s for a 0/1 matrix x
// (vectors x rows, uint8) and a float64 matrix s (rows x columns): for every input vector,
// the sum of the rows of s where the vector is 1 (the summed conductance of each column's
// active cells); with numerators, their quotient num[i] / sum (a column resistance).
//
// A dense matrix product spends a multiply-add on every (row, column) pair, zero or not.
// Here the rows are taken 4 at a time: for a block of columns, the 16 subset sums of
// each group of 4 rows are tabulated (one addition per entry), and a vector's sums are
// then one table row per group whose 4 bits are not all 0 (at most 32 row additions
// instead of 128 multiply-adds for 128 rows, fewer for sparse inputs). When the vectors
// are too few for the tables to pay off, each vector adds its active rows directly. Both are exact sums of the same terms
// in float64; only the order of the additions differs from a matrix product (results
// agree to a few ulp). Column blocks are shared out over `threads` threads.
// Results do not depend on the thread count (every column is summed the same way).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <thread>
#include <vector>

namespace py = pybind11;

namespace {

constexpr int kBits = 4;         // rows per group: tables of 2^kBits subset sums
constexpr int kBlock = 64;       // columns per block: a block's tables (32 x 16 x 64
                                 // doubles for 128 rows, 256 KiB) stay in the L2 cache
constexpr int kChunk = 2048;     // vectors per chunk (bounds the output rows in flight)

struct RowSums {
    const uint8_t *x;            // vectors x rows
    const double *s;             // rows x cols
    double *out;                 // vectors x cols
    const double *num;           // per vector: out = num / sum (or nullptr: out = sum)
    int64_t v, n, cols;
    int64_t groups;              // ceil(n / kBits)
    std::vector<int32_t> offsets;  // per vector, the table offset of each non-zero group
    std::vector<int64_t> starts;   // vector i's offsets: [starts[i], starts[i + 1])
    bool tables;                 // subset-sum tables (else direct row additions)
};

#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define KERNEL_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define KERNEL_CLONES
#endif

// 8 doubles (GCC/Clang vector extension: one AVX-512 register, or two AVX / four SSE2
// registers), moved to and from memory with memcpy (no alignment assumed)
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wpsabi"   // V8 never crosses a non-inlined call
#endif
typedef double V8 __attribute__((vector_size(64)));
constexpr int kVecs = kBlock / 8;

static inline __attribute__((always_inline)) V8 load8(const double *p) {
    V8 v;
    std::memcpy(&v, p, sizeof v);
    return v;
}

static inline __attribute__((always_inline)) void store8(double *p, V8 v) {
    std::memcpy(p, &v, sizeof v);
}

// columns [c0, c1) of every vector, through the subset-sum tables: vectors in chunks (the
// output rows being written stay few), columns in blocks whose tables stay in cache
KERNEL_CLONES
void tables_range(const RowSums &k, int64_t c0, int64_t c1, double *table) {
    constexpr int kEntries = 1 << kBits;
    double padded[kBlock];
    for (int64_t i0 = 0; i0 < k.v; i0 += kChunk) {
        const int64_t i1 = std::min<int64_t>(k.v, i0 + kChunk);
        for (int64_t b0 = c0; b0 < c1; b0 += kBlock) {
            const int64_t w = std::min<int64_t>(kBlock, c1 - b0);
            for (int64_t g = 0; g < k.groups; ++g) {
                double *t = table + g * kEntries * kBlock;
                std::fill(t, t + kBlock, 0.0);
                const int64_t rows = std::min<int64_t>(kBits, k.n - kBits * g);
                const int top = 1 << rows;
                for (int code = 1; code < top; ++code) {
                    // the entry without the lowest set bit, plus that bit's row
                    const int low = code & (-code);
                    const int bit = __builtin_ctz(static_cast<unsigned>(code));
                    const double *prev = t + static_cast<int64_t>(code ^ low) * kBlock;
                    const double *row = k.s + (kBits * g + bit) * k.cols + b0;
                    if (w < kBlock) {
                        std::fill(padded, padded + kBlock, 0.0);
                        std::memcpy(padded, row, sizeof(double) * w);
                        row = padded;
                    }
                    double *dst = t + static_cast<int64_t>(code) * kBlock;
                    for (int q = 0; q < kVecs; ++q)
                        store8(dst + 8 * q, load8(prev + 8 * q) + load8(row + 8 * q));
                }
            }
            const double *tab = table;
            for (int64_t i = i0; i < i1; ++i) {
                // the table entries of this vector's non-zero groups (offsets in doubles)
                const int32_t *off = k.offsets.data() + k.starts[i];
                const int64_t m = k.starts[i + 1] - k.starts[i];
                V8 acc[kVecs];
                for (int q = 0; q < kVecs; ++q) acc[q] = V8{};
                for (int64_t e = 0; e < m; ++e) {
                    const double *t = tab + off[e];
                    for (int q = 0; q < kVecs; ++q) acc[q] += load8(t + 8 * q);
                }
                if (k.num) {
                    const V8 ni = V8{} + k.num[i];
                    for (int q = 0; q < kVecs; ++q) acc[q] = ni / acc[q];
                }
                std::memcpy(k.out + i * k.cols + b0, acc, sizeof(double) * w);
            }
        }
    }
}

// columns [c0, c1) of every vector, adding its active rows one by one
KERNEL_CLONES
void direct_range(const RowSums &k, int64_t c0, int64_t c1) {
    const int64_t w = c1 - c0;
    for (int64_t i = 0; i < k.v; ++i) {
        double *o = k.out + i * k.cols + c0;
        std::fill(o, o + w, 0.0);
        const uint8_t *xi = k.x + i * k.n;
        for (int64_t r = 0; r < k.n; ++r) {
            if (!xi[r]) continue;
            const double *row = k.s + r * k.cols + c0;
            for (int64_t j = 0; j < w; ++j) o[j] += row[j];
        }
        if (k.num)
            for (int64_t j = 0; j < w; ++j) o[j] = k.num[i] / o[j];
    }
}

// one thread: takes the next kGrab column blocks not yet taken until none is left (a
// thread that the system holds up leaves its share to the others)
constexpr int64_t kGrab = 2;

void worker(const RowSums &k, std::atomic<int64_t> &next, int64_t blocks) {
    std::vector<double> table(k.tables ? static_cast<size_t>(k.groups) * (1 << kBits) * kBlock : 0);
    for (;;) {
        const int64_t b = next.fetch_add(kGrab);
        if (b >= blocks) return;
        const int64_t c0 = b * kBlock;
        const int64_t c1 = std::min(k.cols, (b + kGrab) * kBlock);
        if (k.tables)
            tables_range(k, c0, c1, table.data());
        else
            direct_range(k, c0, c1);
    }
}

void binary_row_sums(py::array_t<uint8_t, py::array::c_style> x,
                     py::array_t<double, py::array::c_style> s,
                     py::array_t<double, py::array::c_style> out, int threads,
                     py::object numerators) {
    if (x.ndim() != 2 || s.ndim() != 2 || out.ndim() != 2)
        throw std::invalid_argument("binary_row_sums: x, s and out must be 2-D");
    RowSums k;
    k.v = x.shape(0);
    k.n = x.shape(1);
    k.cols = s.shape(1);
    if (s.shape(0) != k.n || out.shape(0) != k.v || out.shape(1) != k.cols)
        throw std::invalid_argument("binary_row_sums: shapes do not match (x: vectors x rows, "
                                    "s: rows x columns, out: vectors x columns)");
    k.x = x.data();
    k.s = s.data();
    k.out = out.mutable_data();
    k.num = nullptr;
    py::array_t<double, py::array::c_style> num_array;
    if (!numerators.is_none()) {
        num_array = numerators.cast<py::array_t<double, py::array::c_style>>();
        if (num_array.ndim() != 1 || num_array.shape(0) != k.v)
            throw std::invalid_argument("binary_row_sums: numerators must hold one value per vector");
        k.num = num_array.data();
    }
    k.groups = (k.n + kBits - 1) / kBits;
    if (k.v == 0 || k.cols == 0) return;
    {
        py::gil_scoped_release release;
        // cost per column of each way: table entries + non-zero groups, or active rows
        int64_t active = 0;
        k.starts.assign(static_cast<size_t>(k.v + 1), 0);
        k.offsets.clear();
        k.offsets.reserve(static_cast<size_t>(k.v * k.groups));
        for (int64_t i = 0; i < k.v; ++i) {
            const uint8_t *xi = k.x + i * k.n;
            for (int64_t g = 0; g < k.groups; ++g) {
                unsigned code = 0;
                const int64_t r1 = std::min<int64_t>(k.n, kBits * (g + 1));
                for (int64_t r = kBits * g; r < r1; ++r)
                    if (xi[r]) code |= 1u << (r - kBits * g);
                active += __builtin_popcount(code);
                if (code)
                    k.offsets.push_back(static_cast<int32_t>((g * (1 << kBits) + code) * kBlock));
            }
            k.starts[i + 1] = static_cast<int64_t>(k.offsets.size());
        }
        const int64_t nonzero = static_cast<int64_t>(k.offsets.size());
        k.tables = k.groups * (1 << kBits) * (k.v + kChunk - 1) / kChunk + nonzero < active;
        const int64_t blocks = (k.cols + kBlock - 1) / kBlock;
        const int64_t nt = std::max<int64_t>(1, std::min<int64_t>(threads, (blocks + kGrab - 1) / kGrab));
        std::atomic<int64_t> next{0};
        std::vector<std::thread> pool;
        for (int64_t t = 1; t < nt; ++t)
            pool.emplace_back(worker, std::cref(k), std::ref(next), blocks);
        worker(k, next, blocks);
        for (auto &th : pool) th.join();
    }
}


// grid_levels: the NeuroSim level of every field of a weight CSV chunk written as fixed-width
// numbers ('%10.5f'), looked up by the field's last 8 bytes in an open table indexed by
// (key * mult) >> shift. False (out partly written) as soon as a field is not in the table,
// a separator is not ',' (or '\n' at the end of a line) or a leading byte is not a space.
bool grid_levels(py::buffer data, int64_t nrow, int64_t ncol, int64_t width,
                 py::array_t<uint64_t, py::array::c_style> tab_keys,
                 py::array_t<int16_t, py::array::c_style> tab_levels, uint64_t mult, int shift,
                 py::array_t<int16_t, py::array::c_style> out) {
    py::buffer_info info = data.request();
    const int64_t line = ncol * (width + 1);
    if (width < 8 || nrow < 0 || ncol < 1 || info.size * info.itemsize < nrow * line ||
        out.ndim() != 2 || out.shape(0) != nrow || out.shape(1) != ncol ||
        tab_keys.ndim() != 1 || tab_levels.ndim() != 1 || tab_keys.shape(0) != tab_levels.shape(0) ||
        shift < 1 || shift > 63 || (uint64_t(tab_keys.shape(0)) >> (64 - shift)) != 1)
        throw std::invalid_argument("grid_levels: inconsistent arguments");
    const auto *bytes = static_cast<const unsigned char *>(info.ptr);
    const uint64_t *keys = tab_keys.data();
    const int16_t *levels = tab_levels.data();
    int16_t *o = out.mutable_data();
    py::gil_scoped_release release;
    for (int64_t r = 0; r < nrow; ++r) {
        const unsigned char *row = bytes + r * line;
        for (int64_t c = 0; c < ncol; ++c) {
            const unsigned char *f = row + c * (width + 1);
            if (f[width] != (c + 1 < ncol ? ',' : '\n')) return false;
            for (int64_t j = 0; j < width - 8; ++j)
                if (f[j] != ' ') return false;
            uint64_t key;
            std::memcpy(&key, f + width - 8, 8);      // as numpy's '<u8' (little-endian)
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
            key = __builtin_bswap64(key);
#endif
            const uint64_t h = (key * mult) >> shift;
            if (keys[h] != key) return false;
            o[r * ncol + c] = levels[h];
        }
    }
    return true;
}

}  // namespace

void bind_kernels(py::module_ &m) {
    m.def("binary_row_sums", &binary_row_sums, py::arg("x").noconvert(), py::arg("s").noconvert(),
          py::arg("out").noconvert(),
          py::arg("threads") = 1, py::arg("numerators") = py::none(),
          "out[i, :] = sum of the rows r of s with x[i, r] != 0 (out = x @ s for a 0/1 uint8 "
          "matrix x), in float64, over `threads` threads; with `numerators` (one per vector), "
          "out[i, :] = numerators[i] / that sum. All arrays C-contiguous.");
    m.def("grid_levels", &grid_levels, py::arg("data"), py::arg("nrow"), py::arg("ncol"),
          py::arg("width"), py::arg("tab_keys").noconvert(), py::arg("tab_levels").noconvert(),
          py::arg("mult"), py::arg("shift"), py::arg("out").noconvert(),
          "Levels (int16, nrow x ncol, into out) of the fixed-width fields of a weight CSV "
          "chunk, looked up by their last 8 bytes in an open multiply-shift table; False when "
          "a field or separator does not fit (the caller then reads the chunk another way).");
}
