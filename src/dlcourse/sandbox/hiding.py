"""Which paths the sandbox covers: the whole course folder, except what the
student's Python process needs to start (its environment and this library).

Hiding everything by default, rather than a list of known folders, also
covers what an instructor adds later: other students' submissions, exports,
the gradebook wherever in the course folder it lives, and ``.git``.
"""

from __future__ import annotations

import os
import sys
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
    ``keep``: more paths to leave visible (a notebook's own folder)."""
    root = Path(root).resolve()
    needed = _needed() + [Path(p).resolve() for p in keep]
    hidden: list[str] = []

    def visit_siblings(folder: Path, inner: Path) -> None:
        """Inside ``folder`` (an ancestor of the course), hide what is not on
        the way to the course or to a needed path."""
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
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
        try:
            entries = sorted(folder.iterdir())
        except OSError:
            return
        for entry in entries:
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
        if folder.is_dir() and not (folder == root or folder in root.parents):
            if any(folder == n or folder in n.parents for n in needed):
                visit(folder)
            else:
                hidden.append(str(folder))
        elif folder.is_dir() and folder in root.parents:
            visit_siblings(folder, root)
    return hidden + [str(Path(p).resolve()) for p in extra]


def module_paths(names, search=None) -> list[str]:
    """Every file and folder on ``search`` (default ``sys.path``) that Python
    could import one of the top-level modules ``names`` from: a package
    folder, a ``.py`` file or an extension module, wherever the module is
    installed (a second copy in another site-packages included). Found
    without importing anything."""
    found = []
    for entry in sys.path if search is None else search:
        folder = Path(entry or ".")
        for name in names:
            candidates = [folder / name, folder / f"{name}.py", *folder.glob(f"{name}.*.so")]
            found += [str(c) for c in candidates if c.exists()]
    return found
