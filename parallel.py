"""Threads for the estimator's numeric kernels (stage 2).

The reference simulator runs on one core; the heavy steps here (the summed conductance of
every input vector's active cells, the sense amps' column energies) split into
independent blocks that numpy and the C++ kernels work on without holding the GIL, so
they are shared out over the cores this process may use. Every block is computed exactly
as it would be on one thread, so the results do not depend on the thread count.

`CIMSIM_THREADS=N` sets the number of threads (1: everything on the calling thread);
by default, the CPUs this process may run on, at most 8.
"""
from __future__ import annotations

import contextvars
import functools
import os
import threading
from typing import Callable, Sequence

THREADS_ENV = "CIMSIM_THREADS"
_MAX_DEFAULT = 8
_inside = threading.local()      # .active: this thread is running blocks of run_blocks


@functools.lru_cache(maxsize=None)
def threads() -> int:
    """Threads the numeric kernels may use (CIMSIM_THREADS, else the usable CPUs, <= 8)."""
    text = os.environ.get(THREADS_ENV, "").strip()
    if text:
        try:
            n = int(text)
        except ValueError:
            n = 0
        if not 1 <= n <= 1024:
            from validation import InputError
            raise InputError(f"{THREADS_ENV}={text[:20]!r}: give a whole number of threads "
                             f"from 1 to 1024 (or unset it for the CPU count)")
        return n
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_DEFAULT))


@functools.lru_cache(maxsize=None)
def _pool(n: int):
    from concurrent.futures import ThreadPoolExecutor
    return ThreadPoolExecutor(max_workers=n, thread_name_prefix="cimsim")


def run_blocks(fn: Callable[[int], None], n_blocks: int, min_blocks: int = 2) -> None:
    """Call fn(k) for k in range(n_blocks), spread over the threads (the calling thread
    takes a share; the others run in copies of its context, numpy's error state included).
    Sequential when there is one thread or fewer than `min_blocks` blocks. fn must only
    write what block k owns. The first exception is re-raised."""
    n = min(threads(), n_blocks)
    if n <= 1 or n_blocks < min_blocks or getattr(_inside, "active", False):
        # (a call from inside a block runs on its own thread: the pool is busy with the
        # outer blocks)
        for k in range(n_blocks):
            fn(k)
        return

    lock = threading.Lock()
    todo = iter(range(n_blocks))

    def share(t: int) -> None:
        # each thread takes the next block not yet taken (in order), until none is left
        _inside.active = True
        try:
            while True:
                with lock:
                    k = next(todo, None)
                if k is None:
                    return
                fn(k)
        finally:
            _inside.active = False

    # each worker runs in a copy of the caller's context (numpy's error state included)
    futures = [_pool(n - 1).submit(contextvars.copy_context().run, share, t) for t in range(1, n)]
    try:
        share(0)
    except BaseException:
        # let the other threads stop at their next block, then report this error
        with lock:
            for _ in todo:
                pass
        for f in futures:
            f.exception()
        raise
    errors = [f.exception() for f in futures]
    for e in errors:
        if e is not None:
            raise e


def split(total: int, parts: int) -> Sequence[tuple[int, int]]:
    """`parts` contiguous (start, stop) ranges covering range(total), sizes within one."""
    parts = max(1, min(parts, total)) if total else 1
    return [(total * k // parts, total * (k + 1) // parts) for k in range(parts)]


class Background:
    """fn() started on a daemon thread (it never holds up the process's exit), in a copy
    of the caller's context (numpy's error state included); result() waits for it and
    returns its value or raises its exception."""

    def __init__(self, fn: Callable[[], object]):
        self._value: object = None
        self._error: BaseException | None = None
        run = functools.partial(contextvars.copy_context().run, fn)
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True,
                                        name="cimsim-background")
        self._thread.start()

    def _run(self, fn) -> None:
        try:
            self._value = fn()
        except BaseException as exc:      # handed to the caller of result()
            self._error = exc

    def result(self):
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value
