"""Checksums of the files that decide an assignment's grades.

    dlcourse manifest 02_layers     # write manifests/02_layers.json

``graders/<assignment>/`` (the hidden checks), ``source/<assignment>/``
(the reference, whose graded cells nbgrader copies over the student's) and
the conftest.py files pytest loads beside them (``graders/conftest.py``,
``conftest.py``) are verified before a batch grades anything: a grader file
replaced, added or removed since it was reviewed would otherwise grade the
whole class. What they are verified against:

- ``manifests/<assignment>.json`` when it exists (written by ``dlcourse
  manifest``, and by ``dlcourse release`` in a course that is not a git
  checkout): the sha256 of every file, ``__pycache__`` left out;
- the git commit (HEAD) when the course is a git checkout: no file under
  those folders may differ from HEAD, be untracked or be ignored by git;
- with neither, nothing is graded.

Both apply when both exist.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
from pathlib import Path

FOLDERS = ("graders", "source")
# conftest.py files pytest also loads when it runs graders/<assignment>/ with
# the course as its rootdir: grader code as much as the folder's own
# pytest loads the shared conftest files; nbgrader_config.py says how every
# notebook is executed and scored
SHARED_FILES = ("conftest.py", "graders/conftest.py", "nbgrader_config.py")
MANIFEST_DIR = "manifests"
SKIPPED_DIRS = {"__pycache__"}


class ManifestError(RuntimeError):
    """The files that grade an assignment are not the released ones (or
    nothing says which are)."""


def manifest_path(root: Path, assignment: str) -> Path:
    return Path(root) / MANIFEST_DIR / f"{assignment}.json"


def course_files(root: Path, assignment: str) -> dict[str, str]:
    """``graders/<a>/...``, ``source/<a>/...`` and the shared conftest.py
    files: path (relative to the course, with ``/``) -> sha256 of the file's
    bytes. A symbolic link counts as the text of its target (never
    followed), so re-pointing it is a change."""
    root = Path(root)
    paths = [root / shared for shared in SHARED_FILES if os.path.lexists(root / shared)]
    for folder in FOLDERS:
        top = root / folder / assignment
        if top.is_symlink() or not top.is_dir():
            if os.path.lexists(top):
                paths.append(top)
            continue
        for here, dirs, names in os.walk(top):
            base = Path(here)
            # os.walk lists a linked folder among dirs without entering it
            links = [d for d in dirs if (base / d).is_symlink()]
            dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS and d not in links)
            paths += [base / name for name in [*names, *links]]
    files = {}
    for path in paths:
        rel = path.relative_to(root).as_posix()
        files[rel] = "symlink:" + os.readlink(path) if path.is_symlink() else _sha256(path)
    return dict(sorted(files.items()))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def write_manifest(root: Path, assignment: str) -> Path:
    """Record the checksums of the assignment's graders and source now."""
    path = manifest_path(root, assignment)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"assignment": assignment, "files": course_files(root, assignment)}
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    os.replace(tmp, path)
    return path


def manifest_changes(root: Path, assignment: str) -> list[str] | None:
    """What differs from ``manifests/<a>.json`` ("<path> (changed)",
    "(added)", "(removed)"); None when there is no manifest. Raises
    ManifestError when the manifest cannot be read."""
    path = manifest_path(root, assignment)
    if not path.exists():
        return None
    try:
        expected = json.loads(path.read_text())["files"]
        if not isinstance(expected, dict):
            raise TypeError("files is not a mapping")
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise ManifestError(
            f"{path} cannot be read ({exc}): run `dlcourse manifest {assignment}`"
        ) from None
    actual = course_files(root, assignment)
    changes = [
        f"{p} (changed)" for p in sorted(expected) if p in actual and actual[p] != expected[p]
    ]
    changes += [f"{p} (added)" for p in sorted(actual) if p not in expected]
    changes += [f"{p} (removed)" for p in sorted(expected) if p not in actual]
    return changes


def git_toplevel(root: Path) -> Path | None:
    """The git work tree the course is in, None when it is in none (or git
    is missing or refuses the repository)."""
    try:
        proc = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--show-toplevel"],
            capture_output=True,
            text=True,
            timeout=60,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    return Path(proc.stdout.strip()).resolve()


def git_changes(root: Path, assignment: str) -> list[str] | None:
    """Files of the assignment's graders and source that differ from HEAD:
    modified, staged, deleted, untracked or ignored by git ("<path>
    (<git status>)"); None when the course is not a git checkout."""
    root = Path(root).resolve()
    top = git_toplevel(root)
    if top is None:
        return None
    try:
        rel = root.relative_to(top)
    except ValueError:
        raise ManifestError(f"git places the course {root} outside its work tree {top}") from None
    specs = [(rel / folder / assignment).as_posix() for folder in FOLDERS]
    specs += [(rel / shared).as_posix() for shared in SHARED_FILES]
    try:
        proc = subprocess.run(
            ["git", "-C", str(top), "status", "--porcelain=v1", "-z", "--untracked-files=all",
             "--ignored=matching", "--no-renames", "--", *specs],
            capture_output=True,
            timeout=120,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        raise ManifestError(f"git status failed in {top}: {exc}") from None
    if proc.returncode != 0:
        raise ManifestError(
            f"git status failed in {top}: {proc.stderr.decode(errors='replace').strip()[:300]}"
        )
    changes = []
    for entry in proc.stdout.decode(errors="replace").split("\0"):
        if len(entry) < 4:
            continue
        status, path = entry[:2], entry[3:]
        if SKIPPED_DIRS & set(Path(path).parts):
            continue
        what = {"??": "not in git", "!!": "ignored by git"}.get(status, "changed since HEAD")
        if "D" in status:
            what = "deleted since HEAD"
        changes.append(f"{path} ({what})")
    return sorted(changes)


def verify_course_files(root: Path, assignment: str) -> str:
    """Check the assignment's graders and source against the manifest
    and/or the git commit. Returns what they were checked against; raises
    ManifestError naming every changed file."""
    root = Path(root).resolve()
    checked, changes = [], []
    listed = manifest_changes(root, assignment)
    if listed is not None:
        checked.append(f"{MANIFEST_DIR}/{assignment}.json")
        changes += [f"{c} since the manifest" for c in listed]
    in_git = git_changes(root, assignment)
    if in_git is not None:
        checked.append("the git commit (HEAD)")
        changes += in_git
    if not checked:
        raise ManifestError(
            f"nothing records which graders/{assignment} and source/{assignment} to trust: the "
            f"course is not a git checkout and has no {MANIFEST_DIR}/{assignment}.json (write it "
            f"when the graders are final: dlcourse manifest {assignment})"
        )
    if changes:
        shown = "; ".join(changes[:20]) + (
            f"; and {len(changes) - 20} more" if len(changes) > 20 else ""
        )
        raise ManifestError(
            f"the files that grade {assignment} are not the ones checked against "
            f"{' and '.join(checked)}: {shown}. Nothing was graded; review the changes, then "
            f"commit them or write the manifest again (dlcourse manifest {assignment})"
        )
    return " and ".join(checked)
