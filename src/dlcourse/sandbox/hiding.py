"""Which paths the sandbox covers: the whole course folder, except what the
student's Python process needs to start (its environment and this library).

Hiding everything by default, rather than a list of known folders, also
covers what an instructor adds later: other students' submissions, exports,
the gradebook wherever in the course folder it lives, and ``.git``.
"""

from __future__ import annotations

import os
import stat
import sys
import time
from pathlib import Path

USER_FOLDERS = ("/home", "/work", "/srv", "/root", "/mnt", "/media")


def _needed() -> list[Path]:
    import dlcourse

    return [
        Path(sys.prefix).resolve(),
        Path(sys.base_prefix).resolve(),
        Path(dlcourse.__file__).resolve().parent,
    ]


def paths_to_hide(root: str | os.PathLike, extra=(), keep=()) -> list[str]:
    """Every entry of ``root`` that is not on the way to a needed path,
    descending into the entries that are. ``extra``: more paths to hide;
    ``keep``: more paths to leave visible (a notebook's own folder).

    A grading starts about ten sandboxes, each asking for this list (17 ms of
    listing and resolving each time). It is worked out again whenever a
    folder it listed, or the presence of a users' folder, may have changed
    since; otherwise the last list for the same arguments is returned."""
    key = (str(root), tuple(str(p) for p in extra), tuple(str(p) for p in keep))
    cached = _lists.get(key)
    if cached is not None and all(_stamp(path) == stamp for path, stamp in cached[0]):
        return list(cached[1])
    looked_at: list[tuple[str, tuple | None]] = []
    hidden = _paths_to_hide(root, extra, keep, looked_at)
    if all(stamp is None or not _recent(stamp) for _, stamp in looked_at):
        _lists[key] = (looked_at, hidden)
    else:
        _lists.pop(key, None)
    return list(hidden)


# arguments -> (the folders looked at with their stamps, the list)
_lists: dict[tuple, tuple[list, list[str]]] = {}
# a folder changed this recently is not trusted to show its next change: a
# file system's clock ticks with the kernel's timer (1-10 ms), so an entry
# added in the same tick as the listing could leave the time unchanged; ten
# ticks of the slowest timer (a gradebook beside the course changes its
# folder at every write, so the margin is kept short)
RECENT_NS = 100 * 10**6


def _stamp(path: str) -> tuple | None:
    """What changes whenever an entry is added, removed or renamed in the
    folder ``path``; None when it is not a folder."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    if not stat.S_ISDIR(st.st_mode):
        return None
    return (st.st_dev, st.st_ino, st.st_mtime_ns, st.st_ctime_ns)


def _recent(stamp: tuple) -> bool:
    # an entry added or removed sets the modification time
    return time.time_ns() - stamp[2] < RECENT_NS


def _paths_to_hide(root, extra, keep, looked_at: list) -> list[str]:
    """:func:`paths_to_hide`, worked out; appends to ``looked_at`` every
    folder it depends on with its stamp, taken before the folder is read."""
    root = Path(root).resolve()
    needed = _needed() + [Path(p).resolve() for p in keep]
    hidden: list[str] = []

    def entries_of(folder: Path) -> list[Path]:
        looked_at.append((str(folder), _stamp(str(folder))))
        try:
            return sorted(folder.iterdir())
        except OSError:
            return []

    def visit_siblings(folder: Path, inner: Path) -> None:
        """Inside ``folder`` (an ancestor of the course), hide what is not on
        the way to the course or to a needed path."""
        for entry in entries_of(folder):
            resolved = entry.resolve()
            if resolved == inner or resolved in inner.parents:
                if resolved != inner:
                    visit_siblings(entry, inner)
                continue
            if any(resolved == n or resolved in n.parents for n in needed):
                if any(resolved in n.parents for n in needed):
                    visit(entry)
                continue
            hidden.append(str(entry))

    def visit(folder: Path) -> None:
        for entry in entries_of(folder):
            resolved = entry.resolve()
            if any(resolved == n or resolved in n.parents for n in needed):
                if any(resolved in n.parents for n in needed):
                    visit(entry)
                continue
            hidden.append(str(entry))

    visit(root)
    # other copies of the course (a git checkout, a backup, another course)
    # usually live in users' folders: hide those too, but for the way to
    # what the sandbox needs
    for folder in USER_FOLDERS:
        folder = Path(folder)
        present = _stamp(str(folder))
        # whether it is there at all decides, as much as what it holds
        looked_at.append((str(folder), present))
        if present is not None and not (folder == root or folder in root.parents):
            if any(folder == n or folder in n.parents for n in needed):
                visit(folder)
            else:
                hidden.append(str(folder))
        elif present is not None and folder in root.parents:
            visit_siblings(folder, root)
    return hidden + [str(Path(p).resolve()) for p in extra]
