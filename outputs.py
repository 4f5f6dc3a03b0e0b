"""The output edge of both stages: one writer that stages every output of a run and commits
them together, or none of them.

    with RunOutputs(inputs=[trace_folder, config_file]) as out:
        js = out.file(args.json, "--json")          # reserved now: checked, writable
        plots = out.files_in(args.plots, "--plots")  # a staging folder
        ... the run ...
        js.write_text(text)                          # written to the staging name
        out.commit()                                 # all renamed into place together

* Every output is reserved before the run: its staging file or folder is created next to the
  destination right away, so an unwritable destination is refused before any work is done.
* An output may never name an input (or a folder holding one): refused up front.
* A folder output (stage 1's `layer_record_<model>/`) replaces only a folder this program
  wrote, recognised by its `manifest.json` marker; an empty folder may be filled. Anything
  else (a file, a folder of the user's) is refused before the run.
* `commit()` renames everything into place with SIGINT/SIGTERM held back. Replacing an
  existing folder uses an atomic exchange (Linux renameat2), so two runs writing the same
  folder at once never fail half-way or leave temporary folders behind.
* On an error, SIGINT or SIGTERM, the staging files and any parent folders made for them
  are removed; nothing of the user's is touched.
* Files get normal permissions (0666 minus the umask, e.g. 0644), as open() would give.

JSON outputs are strict (`strict_json`): a non-finite number becomes `null`, and the list of
such keys is returned so the caller can say so in its `messages`.
"""
from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import math
import os
import re
import shutil
import signal
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable, Iterable

from validation import InputError, load_json_text


__all__ = ["RunOutputs", "OutputError", "strict_json", "dumps_strict", "is_own_folder",
           "OWN_MARKER", "failure_exit"]

OWN_MARKER = "manifest.json"
# names the trace readers read from an input folder
_TRACE_NAMES = re.compile(r"manifest\.json|layer\d+\.npz|traces\.npz|trace_command\.sh|"
                          r"(weight|input)\w*\.csv|net[wW]ork\w*\.csv", re.IGNORECASE)
OWN_FORMAT = "cimsim-layer-record"


class OutputError(InputError):
    """An output that cannot be written where asked: one line, exit status 2."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _resolved(path: str | os.PathLike) -> Path:
    return Path(os.path.abspath(os.path.expanduser(os.fspath(path))))


def is_own_folder(folder: Path) -> bool:
    """A folder stage 1 wrote: it holds our manifest.json marker."""
    marker = folder / OWN_MARKER
    try:
        if not marker.is_file() or marker.stat().st_size > (64 << 20):
            return False
        data = load_json_text(marker.read_text(encoding="utf-8"), str(marker))
    except (OSError, UnicodeDecodeError, InputError):
        return False
    return isinstance(data, dict) and data.get("format") == OWN_FORMAT


# ------------------------------------------------------------------------------------------
# Atomic folder exchange
# ------------------------------------------------------------------------------------------

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _renameat2():
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_RENAMEAT2 = _renameat2()


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths atomically; False if the system cannot."""
    if _RENAMEAT2 is None:
        return False
    rc = _RENAMEAT2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), _RENAME_EXCHANGE)
    if rc == 0:
        return True
    err = ctypes.get_errno()
    if err == errno.ENOENT:
        raise FileNotFoundError(err, os.strerror(err), str(b))
    if err in (errno.EINVAL, errno.ENOSYS, errno.EPERM, errno.ENOTSUP):
        return False
    raise OSError(err, os.strerror(err), str(b))


def _install_folder(staged: Path, final: Path) -> None:
    """Put `staged` at `final`: a plain rename when `final` is absent (or an empty folder),
    else an atomic exchange with the old folder, which is then deleted."""
    for _ in range(1000):
        try:
            os.rename(staged, final)
            return
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
        try:
            swapped = _exchange(staged, final)
        except FileNotFoundError:
            continue                                   # removed meanwhile: rename again
        if swapped:
            if not is_own_folder(staged):              # someone put a foreign folder there
                _exchange(staged, final)
                raise OutputError(f"{final}: replaced meanwhile by a folder this program did "
                                  f"not write; left as it is")
            shutil.rmtree(staged, ignore_errors=True)
            return
        # no atomic exchange: move the old folder into a private trash folder first
        trash = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
        try:
            try:
                os.rename(final, trash / "old")
            except FileNotFoundError:
                continue
            if not is_own_folder(trash / "old"):
                os.rename(trash / "old", final)
                raise OutputError(f"{final}: replaced meanwhile by a folder this program did "
                                  f"not write; left as it is")
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    raise OutputError(f"{final}: another process keeps writing this folder; try again")


# ------------------------------------------------------------------------------------------
# Signals
# ------------------------------------------------------------------------------------------

class Interrupted(KeyboardInterrupt):
    """SIGTERM, raised like SIGINT's KeyboardInterrupt so that clean-up code runs."""


def _on_sigterm(signum, frame):
    raise Interrupted()


@contextlib.contextmanager
def _held_signals():
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = {signal.SIGINT, signal.SIGTERM}
    old = signal.pthread_sigmask(signal.SIG_BLOCK, sigs)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


# ------------------------------------------------------------------------------------------
# The writer
# ------------------------------------------------------------------------------------------

class _Out:
    def __init__(self, kind: str, final: Path, staged: Path, label: str, existed: bool):
        self.kind, self.final, self.staged, self.label, self.existed = (
            kind, final, staged, label, existed)


class RunOutputs:
    """Stage the outputs of one run; commit them together (see the module docstring)."""

    def __init__(self, inputs: Iterable[str | os.PathLike | None] = ()):
        self.inputs = [_resolved(p) for p in inputs if p]
        self.outs: list[_Out] = []
        self.made_dirs: list[Path] = []
        self.committed = False
        self.mode = 0o666 & ~_umask()
        self._old_handler: Any = None

    # ---- context ----------------------------------------------------------------------
    def __enter__(self) -> "RunOutputs":
        if threading.current_thread() is threading.main_thread():
            self._old_handler = signal.signal(signal.SIGTERM, _on_sigterm)
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        try:
            if not self.committed:
                self.abort()
        finally:
            if self._old_handler is not None:
                signal.signal(signal.SIGTERM, self._old_handler)
                self._old_handler = None
        return False

    # ---- checks -------------------------------------------------------------------------
    def _check_not_input(self, final: Path, label: str, folder: bool,
                         replaces: bool = True) -> None:
        for inp in self.inputs:
            same = final == inp
            try:
                same = same or (final.exists() and inp.exists() and os.path.samefile(final, inp))
            except OSError:
                pass
            if same or (folder and replaces and inp.is_relative_to(final)):
                raise OutputError(f"{label} {final}: this path is (or holds) an input of the "
                                  f"run ({inp}); choose another output path")
            if not folder and inp.is_dir() and final.is_relative_to(inp) and (
                    final.exists() or _TRACE_NAMES.fullmatch(final.name)):
                raise OutputError(f"{label} {final}: lies in the input folder {inp} and would "
                                  f"replace or add an input file; choose another output path")
        cwd = Path.cwd()
        if folder and replaces and cwd.is_relative_to(final):
            raise OutputError(f"{label} {final}: is the current folder or one above it; "
                              f"choose a folder of its own")
        for o in self.outs:
            if o.final == final or (folder and o.final.is_relative_to(final)) or \
                    (o.kind == "dir" and final.is_relative_to(o.final)):
                raise OutputError(f"{label} {final}: also written by {o.label}; give each "
                                  f"output its own path")

    def _parent(self, final: Path, label: str) -> Path:
        parent = final.parent
        missing = []
        p = parent
        while not p.exists():
            missing.append(p)
            if p.parent == p:
                break
            p = p.parent
        if p.exists() and not p.is_dir():
            raise OutputError(f"{label} {final}: {p} is a file, not a folder")
        for d in reversed(missing):
            try:
                d.mkdir()
            except FileExistsError:
                if d.is_dir():         # made meanwhile by another process: not ours to remove
                    continue
                raise OutputError(f"{label} {final}: {d} is a file, not a folder") from None
            except OSError as exc:
                raise OutputError(f"{label} {final}: cannot create folder {d} "
                                  f"({exc.strerror})") from None
            self.made_dirs.append(d)
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{label} {final}: folder {parent} is not writable")
        return parent

    def _stage(self, final: Path, label: str, make: Callable[[Path], Path]) -> Path:
        parent = self._parent(final, label)
        try:
            return make(parent)
        except OSError as exc:
            raise OutputError(f"{label} {final}: cannot write in {parent} "
                              f"({exc.strerror})") from None

    # ---- reservations -------------------------------------------------------------------
    def file(self, path: str | os.PathLike, label: str) -> Path:
        """Reserve one output file; returns the staging path to write to."""
        final = _resolved(path)
        self._check_not_input(final, label, folder=False)
        if final.is_dir():
            raise OutputError(f"{label} {final}: is a folder; give a file name")
        if final.exists() and not final.is_file():
            raise OutputError(f"{label} {final}: exists and is not a regular file")

        def make(parent: Path) -> Path:
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.tmp-", dir=parent)
            os.close(fd)
            os.chmod(tmp, self.mode)
            return Path(tmp)

        staged = self._stage(final, label, make)
        self.outs.append(_Out("file", final, staged, label, final.exists()))
        return staged

    def folder(self, path: str | os.PathLike, label: str) -> Path:
        """Reserve a whole output folder (replaced as a unit). An existing folder must be
        empty or one this program wrote (manifest.json marker). Returns the staging folder."""
        final = _resolved(path)
        self._check_not_input(final, label, folder=True)
        if final.exists() or final.is_symlink():
            if not final.is_dir() or final.is_symlink():
                raise OutputError(f"{label} {final}: exists and is not a folder; stage 1 "
                                  f"replaces only a folder it wrote itself; choose another path")
            try:
                empty = not any(final.iterdir())
            except OSError as exc:
                raise OutputError(f"{label} {final}: cannot be read ({exc.strerror})") from None
            if not empty and not is_own_folder(final):
                raise OutputError(f"{label} {final}: holds files this program did not write "
                                  f"(no {OWN_MARKER} of stage 1); choose another folder or "
                                  f"empty it first")
            if not os.access(final, os.W_OK | os.X_OK):
                raise OutputError(f"{label} {final}: folder is not writable")
        staged = self._stage(final, label,
                             lambda parent: Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-",
                                                                  dir=parent)))
        os.chmod(staged, 0o777 & ~_umask())
        self.outs.append(_Out("dir", final, staged, label, final.exists()))
        return staged

    def files_in(self, path: str | os.PathLike, label: str) -> Path:
        """Reserve files to be put into a folder that may hold other files (e.g. plots):
        only the files written to the returned staging folder are replaced."""
        final = _resolved(path)
        self._check_not_input(final, label, folder=True, replaces=False)
        if final.exists() and not final.is_dir():
            raise OutputError(f"{label} {final}: exists and is not a folder")
        if final.is_dir():
            if not os.access(final, os.W_OK | os.X_OK):
                raise OutputError(f"{label} {final}: folder is not writable")
            where = final
        else:
            where = self._parent(final, label)
        try:
            staged = Path(tempfile.mkdtemp(prefix=f".{final.name}.tmp-", dir=where))
        except OSError as exc:
            raise OutputError(f"{label} {final}: cannot write in {where} "
                              f"({exc.strerror})") from None
        os.chmod(staged, 0o777 & ~_umask())
        self.outs.append(_Out("files", final, staged, label, final.exists()))
        return staged

    # ---- ending -------------------------------------------------------------------------
    def _fix_modes(self, staged: Path) -> None:
        dmode = 0o777 & ~_umask()
        for root, dirs, files in os.walk(staged):
            for d in dirs:
                os.chmod(os.path.join(root, d), dmode)
            for f in files:
                os.chmod(os.path.join(root, f), self.mode)

    def commit(self) -> None:
        """Move every staged output into place (signals held back meanwhile)."""
        with _held_signals():
            for o in self.outs:
                if o.kind == "file":
                    os.chmod(o.staged, self.mode)
                else:
                    self._fix_modes(o.staged)
            for o in self.outs:
                if o.kind == "file":
                    os.replace(o.staged, o.final)
                elif o.kind == "dir":
                    _install_folder(o.staged, o.final)
                else:
                    if not o.final.exists():
                        try:
                            os.rename(o.staged, o.final)
                            continue
                        except OSError:
                            o.final.mkdir(exist_ok=True)
                    for f in sorted(o.staged.iterdir()):
                        os.replace(f, o.final / f.name)
                    shutil.rmtree(o.staged, ignore_errors=True)
            self.committed = True

    def abort(self) -> None:
        """Remove every staging file and the folders made for them."""
        with _held_signals():
            for o in self.outs:
                if o.kind == "file":
                    with contextlib.suppress(OSError):
                        os.unlink(o.staged)
                else:
                    shutil.rmtree(o.staged, ignore_errors=True)
            for d in reversed(self.made_dirs):
                with contextlib.suppress(OSError):
                    d.rmdir()
            self.outs.clear()
            self.made_dirs.clear()


def failure_exit(exc: BaseException) -> int:
    """Print the one line for a run that ended with `exc` (after RunOutputs cleaned up) and
    return the exit status: 2 for bad input, a failed write or memory exhaustion, 130 for
    SIGINT/SIGTERM."""
    import sys
    if isinstance(exc, KeyboardInterrupt):
        print("interrupted; no output was written", file=sys.stderr)
        return 130
    if isinstance(exc, MemoryError):
        print("error: out of memory; nothing was written (the input needs more memory than "
              "is available; CIMSIM_MEMORY_BUDGET bounds what one input may claim)",
              file=sys.stderr)
    elif isinstance(exc, OSError) and not isinstance(exc, InputError):
        print(f"error: {exc.filename or 'file system'}: {exc.strerror or exc}; nothing was "
              f"written", file=sys.stderr)
    else:
        print(f"error: {exc}", file=sys.stderr)
    return 2


# ------------------------------------------------------------------------------------------
# Strict JSON
# ------------------------------------------------------------------------------------------

_NONFINITE_STRINGS = {"inf", "-inf", "nan", "Infinity", "-Infinity", "NaN"}


def strict_json(obj: Any, path: str = "", found: list[str] | None = None,
                text_markers: bool = False) -> tuple[Any, list[str]]:
    """A copy of `obj` that json can write strictly: non-finite floats (and the strings
    'inf'/'nan' older writers used for them, when `text_markers`) become None; returns
    (copy, ["key.path (value)", ...])."""
    found = [] if found is None else found
    if isinstance(obj, dict):
        return {str(k): strict_json(v, f"{path}.{k}" if path else str(k), found,
                                    text_markers)[0] for k, v in obj.items()}, found
    if isinstance(obj, (list, tuple)):
        return [strict_json(v, f"{path}[{i}]", found, text_markers)[0]
                for i, v in enumerate(obj)], found
    if isinstance(obj, bool) or obj is None:
        return obj, found
    if isinstance(obj, float) or type(obj).__module__ == "numpy":
        try:
            f = float(obj)
        except (TypeError, ValueError):
            return obj, found
        if isinstance(obj, float) or getattr(obj, "dtype", None) is not None and \
                obj.dtype.kind == "f":
            if not math.isfinite(f):
                found.append(f"{path} ({f})")
                return None, found
            return f, found
        return int(obj), found
    if text_markers and isinstance(obj, str) and obj in _NONFINITE_STRINGS:
        found.append(f"{path} ({obj})")
        return None, found
    return obj, found


def dumps_strict(obj: Any, indent: int | None = 1) -> tuple[str, list[str]]:
    """(strict JSON text, non-finite keys written as null)."""
    clean, found = strict_json(obj)
    return json.dumps(clean, indent=indent, allow_nan=False) + "\n", found
