"""Raw non-UTF-8 bytes (Latin-1 é, 0xff) inside a comment of an answer cell, written into the file itself.

expect: ungradable
total: any
reason: not UTF-8
measured: nbgrader: UnicodeDecodeError "can't decode byte 0xe9", notebook dropped, batch continues; could not be graded. Through the batch (2026-11-26): "could not be graded", reason "the notebook file is not UTF-8 text", 0.2 s.
"""

import nbformat


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += "\n# MARKER_NON_UTF8\n"
    data = nbformat.writes(reference).encode()
    return {"02_layers.ipynb": data.replace(b"MARKER_NON_UTF8", b"caf\xe9 \xff\xfe")}
