"""Taking back what student code left in a folder it could write.

A confined kernel may leave anything in its working folder: symbolic links
to the gradebook, the graders or another student's notebook, FIFOs that
block whoever opens them, sockets, hard links, deep trees, files of any size
under any name. Trusted code (nbgrader's steps, the graders, the batch) never
opens such a folder's entries by path. :func:`harvest` copies the regular
files into a folder of the trusted side, and nothing else:

- every entry is opened relative to its parent's descriptor with
  ``O_NOFOLLOW`` (a link is refused by the kernel, never followed) and
  ``O_NONBLOCK`` (opening a FIFO cannot block), then checked with ``fstat`` on
  the open descriptor (what is read is what was checked);
- only regular files with one link are copied, each under a size cap and all
  together under another, within a limit on entries and depth;
- names that could not be shown to a person (control characters, invalid
  UTF-8) are refused;
- what was left behind is returned as sentences, for the reports.

The source folder itself is left as it is; its owner removes it (``rmtree``
never follows links).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

MAX_FILE_BYTES = 20 * 1024**2  # 05's weights file is about 1 MB
MAX_TOTAL_BYTES = 64 * 1024**2
MAX_ENTRIES = 2000
MAX_DEPTH = 8
_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Limits:
    file_bytes: int
    total_bytes: int
    entries: int
    depth: int


@dataclass
class Harvest:
    """``copied``: relative paths of the files now in the target;
    ``dropped``: one sentence per entry left behind."""

    copied: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    total_bytes: int = 0
    entries: int = 0


def shown(name: str, limit: int = 80) -> str:
    """``name`` as it may be shown in a report: printable, bounded."""
    text = "".join(c if c.isprintable() else "?" for c in name)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _showable(name: str) -> bool:
    if not name or not name.isprintable():
        return False
    try:
        name.encode("utf-8")  # lone surrogates: bytes that are not UTF-8
    except UnicodeEncodeError:
        return False
    return True


def kind_of(mode: int) -> str:
    """What a non-regular file is, in words (for reports)."""
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def harvest(
    source: str | Path,
    target: str | Path,
    skip: tuple[str, ...] = (),
    max_file_bytes: int = MAX_FILE_BYTES,
    max_total_bytes: int = MAX_TOTAL_BYTES,
    max_entries: int = MAX_ENTRIES,
    max_depth: int = MAX_DEPTH,
) -> Harvest:
    """Copy the regular files below ``source`` into ``target`` (an existing
    folder of the trusted side; existing files there are replaced).
    ``skip``: top-level names not to copy (nbgrader writes the notebook
    itself)."""
    result = Harvest()
    try:
        top = os.open(source, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError as exc:
        result.dropped.append(f"the notebook's folder could not be read ({exc.strerror})")
        return result
    try:
        out = os.open(target, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    except OSError:
        os.close(top)
        raise
    try:
        _walk(
            top,
            out,
            "",
            0,
            set(skip),
            result,
            _Limits(max_file_bytes, max_total_bytes, max_entries, max_depth),
        )
    finally:
        os.close(top)
        os.close(out)
    return result


def _walk(dfd, out, prefix, depth, skip, result, limits: _Limits):
    try:
        names = sorted(os.listdir(dfd))
    except OSError as exc:
        result.dropped.append(f"{shown(prefix or '.')} could not be listed ({exc.strerror})")
        return
    for name in names:
        rel = prefix + name
        if not prefix and name in skip:
            continue
        result.entries += 1
        if result.entries > limits.entries:
            result.dropped.append(
                f"more than {limits.entries} files and folders were written; the rest was not kept"
            )
            return
        if not _showable(name):
            result.dropped.append(f"{shown(rel)} was not kept: its name is not printable text")
            continue
        try:
            info = os.stat(name, dir_fd=dfd, follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode):
            if depth + 1 > limits.depth:
                result.dropped.append(f"{shown(rel)}/ was not kept: folders nest too deeply")
                continue
            _folder(dfd, out, name, rel, depth, skip, result, limits)
            continue
        if not stat.S_ISREG(info.st_mode):
            result.dropped.append(f"{shown(rel)} was not kept: it is {kind_of(info.st_mode)}")
            continue
        _file(dfd, out, name, rel, result, limits)


def _folder(dfd, out, name, rel, depth, skip, result, limits: _Limits):
    try:
        sub = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=dfd)
    except OSError:
        result.dropped.append(f"{shown(rel)}/ was not kept: it could not be opened as a folder")
        return
    try:
        try:
            os.mkdir(name, 0o755, dir_fd=out)
        except FileExistsError:
            pass
        sub_out = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=out)
        try:
            _walk(sub, sub_out, rel + "/", depth + 1, skip, result, limits)
        finally:
            os.close(sub_out)
    finally:
        os.close(sub)


def _file(dfd, out, name, rel, result, limits) -> None:
    try:
        fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY, dir_fd=dfd)
    except OSError as exc:
        result.dropped.append(f"{shown(rel)} was not kept: it could not be opened ({exc.strerror})")
        return
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            result.dropped.append(f"{shown(rel)} was not kept: it is {kind_of(info.st_mode)}")
            return
        if info.st_nlink != 1:
            result.dropped.append(f"{shown(rel)} was not kept: it is a hard link")
            return
        if info.st_size > limits.file_bytes:
            result.dropped.append(
                f"{shown(rel)} ({info.st_size / 2**20:.0f} MB, written by the notebook) was not "
                f"kept: files over {limits.file_bytes // 2**20} MB are not kept"
            )
            return
        if result.total_bytes + info.st_size > limits.total_bytes:
            result.dropped.append(
                f"{shown(rel)} was not kept: the notebook's files together exceed "
                f"{limits.total_bytes // 2**20} MB"
            )
            return
        _copy(fd, out, name, info, result, rel, limits.file_bytes)
    finally:
        os.close(fd)


def _copy(fd, out, name, info, result, rel, max_file) -> None:
    try:
        os.unlink(name, dir_fd=out)
    except FileNotFoundError:
        pass
    target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=out)
    written = 0
    try:
        while True:
            chunk = os.read(fd, _CHUNK)
            if not chunk:
                break
            written += len(chunk)
            if written > max_file:  # grew since fstat: a size seen is a size kept
                break
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view) :]
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns))
    finally:
        os.close(target)
    if written > max_file:
        os.unlink(name, dir_fd=out)
        result.dropped.append(f"{shown(rel)} was not kept: it grew while being copied")
        return
    result.total_bytes += written
    result.copied.append(rel)


def file_digest(path: str | Path) -> str | None:
    """SHA-256 of a regular file's bytes, opened without following a link
    (None for anything else or an unreadable file)."""
    import hashlib

    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return None
        digest = hashlib.sha256()
        while chunk := os.read(fd, 1 << 20):
            digest.update(chunk)
        return digest.hexdigest()
    except OSError:
        return None
    finally:
        os.close(fd)


def read_small_file(path: str, limit: int = 64 * 1024) -> bytes | None:
    """The bytes of ``path`` if it is a regular file of at most ``limit``
    bytes (never following a link, never blocking on a FIFO), else None."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > limit:
            return None
        return os.read(fd, limit)
    finally:
        os.close(fd)
