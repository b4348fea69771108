"""A notebook file that is not valid JSON (truncated mid-way).

reason: not a readable notebook|could not autograde
expect: ungradable
total: any
measured: nbgrader: JSONDecodeError "Unterminated string", notebook dropped, batch continues; cell_rows: could not be graded, reason "nbgrader could not autograde this notebook (see the autograde log)".
"""

import nbformat


def make(release, reference):
    text = nbformat.writes(reference)
    return {"02_layers.ipynb": text[: len(text) // 2].encode()}
