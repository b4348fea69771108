"""Catalogues of known-wrong and cheating submissions, stored as data.

One file per entry, ``tests/<kind>/<assignment>/<name>.py``: a module
docstring whose first line describes the entry and whose ``key: value``
lines say where the code goes and what must happen; the rest of the file is
the code. Adding an entry is adding one file.

Mistakes (``tests/mistakes``):
    cell:    answer cell the code is appended to (it redefines one function)
    loses:   the graded cell that must lose points (every other keeps all)
    symptom: regular expression the failure message must match
    mode:    optional; ``replace`` when the code replaces the whole cell (a
             cell of top-level statements, which appending cannot undo)

Cheats (``tests/cheats``):
    cell:    answer cell whose whole content the code replaces
    earns:   the most points the whole submission may earn (usually 0)
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).parent


@dataclass
class Entry:
    name: str
    title: str
    fields: dict[str, str]
    code: str


def load(kind: str, assignment: str) -> list[Entry]:
    entries = []
    for path in sorted((HERE / kind / assignment).glob("*.py")):
        text = path.read_text()
        module = ast.parse(text)
        doc = ast.get_docstring(module) or ""
        first = module.body[0]
        code = "\n".join(text.splitlines()[first.end_lineno :]).strip("\n")
        lines = doc.splitlines()
        fields = {}
        for line in lines[1:]:
            key, sep, value = line.partition(":")
            if sep and key.strip().isidentifier():
                fields[key.strip()] = value.strip()
        entries.append(Entry(path.stem, lines[0] if lines else path.stem, fields, code))
    return entries
