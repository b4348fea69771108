"""What the graders compute without any submission, kept between gradings.

Some hidden graders compute the same values for every student: 05's grader
repeats the reference's online and minibatch runs (about 3 s) to know what
accuracies to expect, and prepares the whole FashionMNIST set as the
notebook prescribes (about 1.7 s). Computed once per machine and code
version instead of once per grading:

    arrays = cached_arrays({"what": "fashion-mnist standardised"}, prepare)
    value = cached_json({"what": "expected accuracies", ...}, compute)

``compute`` is called when nothing is kept under the key, and what it returns
is kept (JSON data, or a dict of name -> numpy array kept as a folder of
``.npy`` files, loaded without pickle). The key is a SHA-256 of the given parts together
with everything else a result could depend on: this library's code and the
calling graders' folder (every ``.py`` file, by content), and the versions
of Python, numpy and torch with torch's CPU capability. A change to any of
them is a new key; an entry a newer one replaces under the same ``what`` is
removed, so the folder holds one entry per computation.

The folder is ``$DLCOURSE_REFERENCE_CACHE``, else
``$XDG_CACHE_HOME/dlcourse/reference`` (``~/.cache``): the grading user's,
which no sandbox sees (a sandbox's root shows only what it allows, and its
HOME is its own). It is used only when it is a real folder, owned by this
user and writable by no one else; its entries only when they are regular
files of this user (never followed through a link). ``DLCOURSE_REFERENCE_CACHE=0``
turns it off. Nothing here can fail a grading: an entry that cannot be read
is computed again, one that cannot be written is not kept.

Only for values that no submission influences: computed from the course's
own code and data (the reference sandbox, the official data files), never
from anything a student handed in.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
import platform
import re
import shutil
import stat
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np

log = logging.getLogger("dlcourse.reference_cache")

ENV = "DLCOURSE_REFERENCE_CACHE"
_LIBRARY = Path(__file__).resolve().parent


def folder() -> Path | None:
    """The cache folder, or None when turned off."""
    value = os.environ.get(ENV)
    if value is not None:
        return None if value.strip() in ("", "0") else Path(value)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "dlcourse" / "reference"


@functools.cache
def _code_digest(root: Path) -> str:
    """SHA-256 over every ``.py`` file under ``root`` (path and content)."""
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    return digest.hexdigest()


def _environment() -> dict:
    versions = {
        "python": sys.version,
        "machine": platform.machine(),
        "numpy": np.__version__,
        "library": _code_digest(_LIBRARY),
    }
    torch = sys.modules.get("torch")
    if torch is not None:
        versions["torch"] = torch.__version__
        versions["cpu"] = torch.backends.cpu.get_cpu_capability()
    return versions


def key(parts: dict, graders: Path) -> str:
    """The key of ``parts`` for a computation of the graders in folder
    ``graders``: 64 hex digits."""
    whole = {"parts": parts, "graders": _code_digest(graders), **_environment()}
    return hashlib.sha256(json.dumps(whole, sort_keys=True, default=str).encode()).hexdigest()


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


def _slug(what: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", what.lower()).strip("-")[:60] or "entry"


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


def _older(name: str) -> re.Pattern:
    """The names of the same computation's entries under any key."""
    slug, _, rest = name.rpartition("-")
    return re.compile(re.escape(slug) + r"-[0-9a-f]{64}" + re.escape(rest[64:]))


def _replace_older(where: Path, name: str) -> None:
    older = _older(name)
    for old in where.iterdir():
        if older.fullmatch(old.name) and old.name != name:
            if old.is_dir() and not old.is_symlink():
                shutil.rmtree(old, ignore_errors=True)
            else:
                old.unlink(missing_ok=True)


def _write(where: Path, name: str, data: bytes) -> None:
    """Keep ``data`` as ``where/name`` (whole or not at all), and remove the
    entries it replaces: the same computation under older keys."""
    try:
        fd, temporary = tempfile.mkstemp(dir=where, prefix=".writing-")
        try:
            with open(fd, "wb") as fh:
                fh.write(data)
            os.replace(temporary, where / name)
        except BaseException:
            os.unlink(temporary)
            raise
        _replace_older(where, name)
    except OSError as exc:
        log.info("reference cache: %s not kept: %s", name, exc)


def _read_arrays(path: Path) -> dict[str, np.ndarray] | None:
    """The arrays of the entry folder ``path`` (one ``NAME.npy`` each), if it
    and all its files are this user's and readable, else None."""
    try:
        dfd = os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        info = os.fstat(dfd)
        if info.st_uid != os.geteuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
            return None
        arrays = {}
        for entry in os.listdir(dfd):
            name, dot, suffix = entry.rpartition(".")
            fh = _open(entry, dir_fd=dfd) if dot and suffix == "npy" else None
            if fh is None:
                return None
            with fh:
                arrays[name] = np.lib.format.read_array(fh, allow_pickle=False)
        return arrays or None
    except (OSError, ValueError, EOFError):
        return None
    finally:
        os.close(dfd)


def _write_arrays(where: Path, name: str, arrays: dict[str, np.ndarray]) -> None:
    """Keep ``arrays`` as the folder ``where/name`` (whole or not at all)."""
    try:
        temporary = Path(tempfile.mkdtemp(dir=where, prefix=".writing-"))
        try:
            for key_, array in arrays.items():
                np.save(temporary / f"{key_}.npy", np.asarray(array), allow_pickle=False)
            os.rename(temporary, where / name)
        except BaseException:
            # a concurrent grading kept the same entry first: theirs stays
            shutil.rmtree(temporary, ignore_errors=True)
            raise
        _replace_older(where, name)
    except (OSError, ValueError) as exc:
        log.info("reference cache: %s not kept: %s", name, exc)


def _entry(parts: dict, graders: Path, suffix: str) -> tuple[Path | None, str]:
    what = str(parts.get("what", "entry"))
    return _usable(folder()), f"{_slug(what)}-{key(parts, graders)}{suffix}"


def cached_json(parts: dict, compute: Callable[[], object], graders: Path):
    """``compute()`` (JSON data: a value equal to what ``json`` gives back),
    kept under ``parts`` (with ``what``: what it is, in words)."""
    where, name = _entry(parts, graders, ".json")
    kept = _open(where / name) if where is not None else None
    if kept is not None:
        with kept:
            try:
                return json.load(kept)["value"]
            except (OSError, ValueError, KeyError, TypeError):
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
    """``compute()`` (name -> numpy array of numbers; names of letters, digits
    and underscores), kept under ``parts``. The arrays returned are new."""
    where, name = _entry(parts, graders, "")
    kept = _read_arrays(where / name) if where is not None else None
    if kept is not None:
        return kept
    arrays = compute()
    if any(not re.fullmatch(r"\w+", k, re.ASCII) for k in arrays):
        raise ValueError(f"array names must be letters, digits and underscores: {sorted(arrays)}")
    if where is not None:
        _write_arrays(where, name, arrays)
    return arrays
