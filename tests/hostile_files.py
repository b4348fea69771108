"""Entries a hostile case's ``make()`` may hand in besides file contents:
links and special files, created in the submission folder as they are."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Symlink:
    """A symbolic link to ``target`` (relative to the submission folder, or
    ``{root}`` for the course folder)."""

    target: str


@dataclass
class Fifo:
    pass


@dataclass
class HardLink:
    """A hard link to ``target`` (``{root}``-relative)."""

    target: str


def create(path: Path, entry, root: Path) -> bool:
    """Create ``entry`` at ``path``; False if it is ordinary content."""
    if isinstance(entry, Symlink):
        os.symlink(entry.target.format(root=root), path)
    elif isinstance(entry, Fifo):
        os.mkfifo(path)
    elif isinstance(entry, HardLink):
        os.link(entry.target.format(root=root), path)
    else:
        return False
    return True
