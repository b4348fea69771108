"""A memory bomb at top level of the softmax answer cell: keeps appending 256 MB blocks of zeroed memory (rest = reference).

expect: graded
total: 20
reason: MemoryError
why zeroed blocks (calloc: address space, pages not yet touched), not b'x' * n: this machine faults pages in at about 1 s per 256 MB (14 s of system time for 3.75 GB; numpy's sparse touching is slower still, its large arrays take transparent huge pages), so a touched bomb raced the program limit of the test's batch (20 s of charged time) and, under load, lost it (2026-12-01: "did not finish within the time limit" instead of MemoryError). The address-space limit stops it either way; the memory limits have their own tests (tests/test_sandbox.py::test_memory_bomb_is_stopped; memory written to tmpfs, which no address space counts: tests/test_confine_isolation.py::test_temporary_folders_count_against_the_memory_limit).
measured: kernel hits the 8 GB address-space limit (MemoryError) after the 15 s cell timeout; the hidden graders re-run the cell, MemoryError again: test_softmax 0/2, every other cell full.
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(
        reference, "softmax"
    ).source += "\n\n_hog = []\nwhile True:\n    _hog.append(bytes(256 * 1024 * 1024))\n"
    return {"02_layers.ipynb": reference}
