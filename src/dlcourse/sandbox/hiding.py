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
    return hidden + [str(Path(p).resolve()) for p in extra]
