"""The numeric kernels of stage 2: FormulaBindings.binary_row_sums against a plain matrix
product, and parallel.run_blocks (results independent of the thread count)."""
import numpy as np
import pytest

import FormulaBindings as fb
import parallel


@pytest.mark.parametrize("v,n,w,density", [
    (3000, 128, 700, 0.165),    # many vectors: subset-sum tables
    (5, 128, 100, 0.3),         # few vectors: direct row additions
    (1, 1, 1, 1.0),
    (100, 7, 3, 0.5),           # rows not a multiple of the group size
    (40, 300, 129, 0.9),        # dense, columns not a multiple of the block
    (2100, 64, 65, 0.5),        # more vectors than a chunk
])
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_binary_row_sums_is_the_matrix_product(v, n, w, density, threads):
    rng = np.random.default_rng(v + n + w)
    x = (rng.random((v, n)) < density).astype(np.uint8)
    x[0] = 0                                       # a vector with no active row
    s = rng.random((n, w)) * 1e-5 + 1e-7
    ref = x.astype(float) @ s
    out = np.full((v, w), np.nan)
    fb.binary_row_sums(x, s, out, threads)
    np.testing.assert_allclose(out, ref, rtol=1e-14, atol=0)
    num = rng.random(v) + 1.0
    quo = np.full((v, w), np.nan)
    fb.binary_row_sums(x, s, quo, threads, num)
    with np.errstate(divide="ignore"):
        np.testing.assert_allclose(quo, num[:, None] / ref, rtol=1e-14, atol=0)


def test_binary_row_sums_refuses_bad_arrays():
    x = np.zeros((3, 4), np.uint8)
    s = np.zeros((4, 5))
    with pytest.raises(ValueError):
        fb.binary_row_sums(x, s, np.zeros((3, 6)), 1)
    with pytest.raises(TypeError):                 # no silent copy of the output
        fb.binary_row_sums(x, s, np.zeros((3, 5), np.float32), 1)
    with pytest.raises(ValueError):
        fb.binary_row_sums(x, s, np.zeros((3, 5)), 1, np.ones(2))


def test_run_blocks_covers_every_block_once(monkeypatch):
    for n_threads in (1, 2, 4):
        monkeypatch.setattr(parallel, "threads", lambda n=n_threads: n)
        seen = np.zeros(37, int)

        def fn(k):
            seen[k] += 1
        parallel.run_blocks(fn, 37)
        assert (seen == 1).all()

    def boom(k):
        if k == 5:
            raise ZeroDivisionError("block 5")
    with pytest.raises(ZeroDivisionError):
        parallel.run_blocks(boom, 9)


def test_thread_count_setting(monkeypatch):
    from validation import InputError
    parallel.threads.cache_clear()
    monkeypatch.setenv(parallel.THREADS_ENV, "3")
    assert parallel.threads() == 3
    parallel.threads.cache_clear()
    monkeypatch.setenv(parallel.THREADS_ENV, "many")
    with pytest.raises(InputError, match="CIMSIM_THREADS"):
        parallel.threads()
    parallel.threads.cache_clear()
    monkeypatch.delenv(parallel.THREADS_ENV)
    assert parallel.threads() >= 1
    parallel.threads.cache_clear()


def test_run_blocks_nested_calls_do_not_wait_for_the_busy_pool(monkeypatch):
    monkeypatch.setattr(parallel, "threads", lambda: 2)
    out = np.zeros((6, 5), int)

    def outer(i):
        def inner(j):
            out[i, j] += 1
        parallel.run_blocks(inner, 5)
    parallel.run_blocks(outer, 6)
    assert (out == 1).all()


def test_weight_grid_fast_path_refuses_what_is_not_on_the_grid():
    """The hashed fast path of the weight reader: grid strings give their levels, any other
    field (a value off the grid, NUL bytes, a key that hashes to an empty slot) None."""
    import chip_traces as ct
    rng = np.random.default_rng(3)
    q = rng.integers(-128, 129, size=(7, 5))
    text = "".join(",".join("%10.5f" % (v / 128) for v in row) + "\n" for row in q)
    got = ct._quantised_grid_levels(text.encode(), 8, -1.0, 1.0)
    ref = ct.weights_to_levels(q / 128, 8, -1.0, 1.0, "", 0)
    assert np.array_equal(got, ref)
    bad = [text.replace("%10.5f" % (q[2, 3] / 128), "%10.5f" % (q[2, 3] / 128 + 1e-5), 1),
           text[:25] + "\0" * 8 + text[33:]]
    for b in bad:
        assert len(b) == len(text)
        assert ct._quantised_grid_levels(b.encode(), 8, -1.0, 1.0) is None
    keys, _, mult, shift = ct._grid_table(10, 5, 8, -1.0, 1.0)
    empty = np.flatnonzero(keys == keys[0])
    assert len(empty) > 1            # every key but the first is in its own slot only


def test_weight_grid_kernel_matches_the_numpy_path(monkeypatch):
    """FormulaBindings.grid_levels and the numpy lookup it replaces accept the same chunks
    and give the same levels."""
    import chip_traces as ct
    rng = np.random.default_rng(4)
    q = rng.integers(-128, 129, size=(40, 9))
    text = "".join(",".join("%10.5f" % (v / 128) for v in row) + "\n" for row in q)
    variants = [text, text.replace(",", ";", 1), text[:-1] + ",",
                text.replace("  ", " x", 1), text.replace("0.", "9.", 1)]
    for t in variants:
        fast = ct._quantised_grid_levels(t.encode(), 8, -1.0, 1.0)
        monkeypatch.delattr(ct.fb, "grid_levels")
        slow = ct._quantised_grid_levels(t.encode(), 8, -1.0, 1.0)
        monkeypatch.undo()
        assert (fast is None) == (slow is None)
        if fast is not None:
            assert np.array_equal(fast, slow)
    assert ct._quantised_grid_levels(text.encode(), 8, -1.0, 1.0) is not None
