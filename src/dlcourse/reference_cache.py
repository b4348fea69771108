"""What the graders compute without any submission, kept between gradings.

Some hidden graders compute the same values for every student: 05's grader
repeats the reference's online and minibatch runs (about 3 s) to know what
accuracies to expect, and prepares the whole FashionMNIST set as the
notebook prescribes (about 1.7 s); 04's loads scikit-learn's data sets (1 s
of imports). Computed once per machine and code version instead of once per
grading:

    arrays = cached_arrays({"what": "fashion-mnist standardised"}, prepare, graders)
    value = cached_json({"what": "expected accuracies", ...}, compute, graders)

``compute`` is called when nothing valid is kept under the key, and what it
returns is kept: JSON data, or a dict of name -> numpy array kept as a folder
of ``.npy`` files (loaded without pickle) with a manifest of their names and
SHA-256 digests, checked on every read. The key is a SHA-256 of the given
parts together with everything else a result could depend on: this
library's code and the calling graders' folder (every ``.py`` file, by
content), the versions of Python, numpy and torch, and the machine's CPU
(model and flags: floating-point results of the same code can differ
between CPUs). A change to any of them is a new key; the entry it replaces
(same parts, older key) is removed, so the folder holds one entry per
computation.

The folder is ``$DLCOURSE_REFERENCE_CACHE``, else
``$XDG_CACHE_HOME/dlcourse/reference`` (``~/.cache``): the grading user's,
which no sandbox sees (a sandbox's root shows only what it allows, and its
HOME is its own). It is used only when grading as root (without root the
student's code runs as the grading user and could write it), only when it
is a real folder owned by root and writable by no one else, and its entries
only when they are regular files of root's, never followed through a link.
``DLCOURSE_REFERENCE_CACHE=0`` turns it off. Nothing here can fail a
grading: an entry that cannot be read or does not match its manifest is
computed again and replaced, one that cannot be written is not kept.

Only for values that no submission influences: computed from the course's
own code and data (the reference sandbox, the official data files), never
from anything a student handed in.
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import logging
import math
import os
import platform
import re
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger("dlcourse.reference_cache")

ENV = "DLCOURSE_REFERENCE_CACHE"
MANIFEST = "manifest.json"
# the largest .npy header read (numpy's own limit for untrusted files)
MAX_HEADER = 10_000
_LIBRARY = Path(__file__).resolve().parent
# a writer's leftovers (killed at its time limit) are removed after this long
STALE_SECONDS = 3600


def folder() -> Path | None:
    """The cache folder, or None when turned off or not grading as root."""
    if os.geteuid() != 0:
        return None
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip() in ("", "0") else Path(value)
    try:
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    except RuntimeError:  # no HOME and no home directory
        return None
    return Path(base) / "dlcourse" / "reference"


@functools.cache
def _code_digest(root: Path) -> str:
    """SHA-256 over every regular ``.py`` file under ``root`` (path and
    content); a file that cannot be read counts by its name and error."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        try:
            digest.update(path.read_bytes() if path.is_file() else b"<not a file>")
        except OSError as exc:
            digest.update(f"<{type(exc).__name__}>".encode())
        digest.update(b"\0")
    return digest.hexdigest()


@functools.cache
def _cpu() -> str:
    """The CPU's model and flags (of its first processor), as /proc/cpuinfo has them."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        return platform.processor()
    first = text.split("\n\n", 1)[0]
    wanted = ("vendor_id", "model name", "flags", "Features", "CPU part", "cpu model")
    lines = [line for line in first.splitlines() if line.split(":", 1)[0].strip() in wanted]
    return "\n".join(lines)


def _environment() -> dict:
    versions = {
        "python": sys.version,
        "machine": platform.machine(),
        "cpu": _cpu(),
        "numpy": np.__version__,
        "library": _code_digest(_LIBRARY),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        versions["torch"] = torch.__version__
        versions["torch_cpu"] = torch.backends.cpu.get_cpu_capability()
    return versions


def _digest(value) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


def key(parts: dict, graders: Path) -> str:
    """The key of ``parts`` for a computation of the graders in folder
    ``graders``: 64 hex digits."""
    return _digest({"parts": parts, "graders": _code_digest(graders), **_environment()})


def entry_name(parts: dict, graders: Path, suffix: str = "") -> str:
    """``<what>-<parts' digest, 16>-<key>`` plus ``suffix``: entries of the
    same parts under other keys are the ones a new entry replaces."""
    what = re.sub(r"[^a-z0-9]+", "-", str(parts.get("what", "")).lower()).strip("-")[:60]
    return f"{what or 'entry'}-{_digest(parts)[:16]}-{key(parts, graders)}{suffix}"


def _usable(where: Path | None) -> Path | None:
    """``where``, made if missing, when it is a folder only this user can write."""
    if where is None:
        return None
    try:
        where.mkdir(parents=True, mode=0o700, exist_ok=True)
        info = os.lstat(where)
    except OSError as exc:
        log.info("reference cache %s not used: %s", where, exc)
        return None
    if (
        not stat.S_ISDIR(info.st_mode)
        or info.st_uid != os.geteuid()
        or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH)
    ):
        log.warning("reference cache %s not used: not a folder only this user can write", where)
        return None
    return where


def _open(path: Path | str, dir_fd: int | None = None):
    """``path`` opened for reading if it is a regular file of this user, else None."""
    try:
        fd = os.open(
            path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=dir_fd
        )
    except OSError:
        return None
    try:
        info = os.fstat(fd)
    except OSError:
        info = None
    if info is None or not stat.S_ISREG(info.st_mode) or info.st_uid != os.geteuid():
        os.close(fd)
        return None
    return open(fd, "rb")


def _remove(path: Path) -> None:
    """Remove the entry ``path`` (a file or a folder, never through a link)."""
    try:
        if path.is_dir() and not path.is_symlink():
            # renamed first: a reader never finds it half removed
            doomed = path.with_name(f".removing-{os.getpid()}-{time.monotonic_ns()}")
            os.rename(path, doomed)
            shutil.rmtree(doomed, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    except OSError as exc:
        log.info("reference cache: %s not removed: %s", path.name, exc)


def _tidy(where: Path, name: str) -> None:
    """Remove the entries ``name`` replaces (the same parts, another key) and
    writers' leftovers older than STALE_SECONDS."""
    same = name.rsplit("-", 1)[0] + "-"  # "<what>-<parts' digest>-"
    now = time.time()
    for old in where.iterdir():
        if old.name.startswith((".writing-", ".removing-")):
            try:
                stale = now - os.lstat(old).st_mtime > STALE_SECONDS
            except OSError:
                continue
            if stale:
                _remove(old)
        elif old.name.startswith(same) and old.name != name:
            _remove(old)


def _write(where: Path, name: str, data: bytes) -> None:
    """Keep ``data`` as ``where/name`` (whole or not at all)."""
    try:
        fd, temporary = tempfile.mkstemp(dir=where, prefix=".writing-")
        try:
            with open(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(temporary, where / name)
        except BaseException:
            os.unlink(temporary)
            raise
        _tidy(where, name)
    except OSError as exc:
        log.info("reference cache: %s not kept: %s", name, exc)


def _read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of the entry folder ``path``: exactly the files its
    manifest names, each with the digest it lists; None if anything is
    missing, extra, changed, or not a regular file of this user's."""
    try:
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(dfd)
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
        fh = _open(MANIFEST, dir_fd=dfd)
        if fh is None:
            return None
        with fh:
            manifest = json.loads(fh.read(1 << 20))
        if not isinstance(manifest, dict) or set(os.listdir(dfd)) != {
            MANIFEST,
            *(f"{name}.npy" for name in manifest),
        }:
            return None
        arrays = {}
        for name, expected in manifest.items():
            fh = _open(f"{name}.npy", dir_fd=dfd)
            if fh is None:
                return None
            with fh:
                data = _read_all(fh)
            if data is None or hashlib.sha256(data).hexdigest() != expected:
                return None
            arrays[name] = _array_in(data)
        return arrays
    except Exception:  # noqa: BLE001 - any damage: computed again
        return None
    finally:
        os.close(dfd)


def _read_all(fh) -> bytearray | None:
    """The whole of the open file ``fh``, read once into one buffer (the
    arrays are then views of it: an entry of 05's data is 240 MB, copied
    twice more by numpy's reader of in-memory files); None if its size
    changes while it is read."""
    size = os.fstat(fh.fileno()).st_size
    data = bytearray(size)
    view, got = memoryview(data), 0
    while got < size:
        n = fh.readinto(view[got:])
        if not n:
            return None
        got += n
    return None if fh.read(1) else data


def _array_in(data: bytearray) -> np.ndarray:
    """The array of the ``.npy`` bytes ``data``, a writable view of them
    (no pickled objects: ValueError, as for any header that does not
    describe exactly the bytes that follow it)."""
    fmt = np.lib.format
    header = io.BytesIO(bytes(data[: MAX_HEADER + 16]))
    version = fmt.read_magic(header)
    if version == (1, 0):
        shape, fortran, dtype = fmt.read_array_header_1_0(header, max_header_size=MAX_HEADER)
    elif version == (2, 0):
        shape, fortran, dtype = fmt.read_array_header_2_0(header, max_header_size=MAX_HEADER)
    else:  # (3, 0), utf-8 field names: numpy's own reader
        return fmt.read_array(io.BytesIO(data), allow_pickle=False, max_header_size=MAX_HEADER)
    if dtype.hasobject:
        raise ValueError("an array of objects")
    count = math.prod(shape)
    offset = header.tell()
    if count * dtype.itemsize != len(data) - offset:
        raise ValueError("the header does not describe the data")
    array = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
    return array.reshape(shape[::-1]).transpose() if fortran else array.reshape(shape)


def _write_arrays(where: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` as the folder ``where/name`` (whole or not at all)."""
    try:
        temporary = Path(tempfile.mkdtemp(dir=where, prefix=".writing-"))
        try:
            manifest = {}
            for key_, array in arrays.items():
                path = temporary / f"{key_}.npy"
                with open(path, "wb") as fh:
                    np.save(fh, array, allow_pickle=False)
                    fh.flush()
                    os.fsync(fh.fileno())
                manifest[key_] = hashlib.sha256(path.read_bytes()).hexdigest()
            (temporary / MANIFEST).write_text(json.dumps(manifest))
            target = where / name
            if os.path.lexists(target):
                _remove(target)  # damaged, or it would be read
            os.rename(temporary, target)
        except BaseException:
            # a concurrent grading kept the same entry first: theirs stays
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        _tidy(where, name)
    except (OSError, ValueError) as exc:
        log.info("reference cache: %s not kept: %s", name, exc)


def _where_and_name(parts: dict, graders: Path, suffix: str) -> tuple[Path | None, str]:
    try:
        return _usable(folder()), entry_name(parts, graders, suffix)
    except Exception as exc:  # noqa: BLE001 - no cache rather than no grading
        log.info("reference cache not used: %s", exc)
        return None, ""


def cached_json(parts: dict, compute: Callable[[], object], graders: Path):
    """``compute()`` (JSON data: a value equal to what ``json`` gives back),
    kept under ``parts`` (with ``what``: what it is, in words)."""
    where, name = _where_and_name(parts, graders, ".json")
    kept = _open(where / name) if where is not None else None
    if kept is not None:
        with kept:
            try:
                return json.loads(kept.read(1 << 24))["value"]
            except Exception:  # noqa: BLE001 - any damage: computed again
                pass
    value = compute()
    # what a later grading will read: the same types JSON gives back
    value = json.loads(json.dumps(value))
    if where is not None:
        _write(where, name, json.dumps({"what": parts.get("what"), "value": value}).encode())
    return value


def cached_arrays(
    parts: dict, compute: Callable[[], dict[str, np.ndarray]], graders: Path
) -> dict[str, np.ndarray]:
    """``compute()`` (name -> array of numbers; names of letters, digits and
    underscores), kept under ``parts``. The arrays returned are new numpy
    arrays, the same whether computed or read."""
    where, name = _where_and_name(parts, graders, "")
    kept = _read_arrays(where / name) if where is not None else None
    if kept is not None:
        return kept
    arrays = {k: np.array(np.asarray(v), copy=True) for k, v in compute().items()}
    if any(not re.fullmatch(r"\w+", k, re.ASCII) for k in arrays):
        raise ValueError(f"array names must be letters, digits and underscores: {sorted(arrays)}")
    if where is not None:
        _write_arrays(where, name, arrays)
    return arrays
