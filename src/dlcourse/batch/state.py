"""What the batch remembers between runs, so that an interrupted batch
resumes and an unchanged submission is not graded twice:
``reports/<assignment>/batch-state.json``, one entry per student (status,
reason, the fingerprint of the files that were graded, the gradebook they
were recorded in), written by the coordinator after each result,
atomically."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path


def submissions(root: Path, assignment: str) -> list[str]:
    """The students with a submitted/<student>/<assignment> folder."""
    return sorted(p.parent.name for p in (root / "submitted").glob(f"*/{assignment}") if p.is_dir())


def fingerprint(folder: Path) -> str:
    """Changes whenever any submitted file changes."""
    parts = []
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            stat = path.stat()
            parts.append(f"{path.relative_to(folder)}:{stat.st_size}:{stat.st_mtime_ns}")
    return "|".join(parts)


def state_path(root: Path, assignment: str) -> Path:
    return root / "reports" / assignment / "batch-state.json"


class BatchState:
    """reports/<assignment>/batch-state.json: what was graded, from which
    files, into which ``gradebook`` (a batch that writes another database
    grades everything again)."""

    def __init__(self, path: Path, gradebook: str = ""):
        self.path = path
        self.gradebook = gradebook
        self.lock = threading.Lock()
        try:
            self.data = json.loads(path.read_text())
        except (OSError, ValueError):
            self.data = {}

    def done(self, student: str, fingerprint: str) -> bool:
        entry = self.data.get(student)
        return bool(
            entry
            and entry["fingerprint"] == fingerprint
            and entry["status"] == "graded"
            # entries written before the state named the gradebook: the one
            # they were graded into is not known, so trusted
            and entry.get("gradebook", self.gradebook) == self.gradebook
        )

    def record(self, result, fingerprint: str) -> None:
        """Keep ``result`` (a :class:`~dlcourse.batch.grading.StudentResult`)
        of the files with ``fingerprint``."""
        with self.lock:
            self.data[result.student] = {
                "status": result.status,
                "reason": result.reason,
                "fingerprint": fingerprint,
                "gradebook": self.gradebook,
            }
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, indent=1))
            os.replace(tmp, self.path)
