"""The softmax answer cell writes a 1 GB file into its working folder, 1 MB at a time, at top level (rest = reference).

expect: graded
total: 20
reason: File too large|Errno 27
measured: the file-size limit (256 MB) stops the write with OSError [Errno 27] File too large; the hidden graders re-run the cell and report it: test_softmax 0/2, others full. A 268,435,456-byte big.bin is left in autograded/write_1gb_file/02_layers/.
note: with stock nbgrader the 256 MB file stayed in autograded/<student>/02_layers/ and generate_feedback copied it to feedback/<student>/02_layers/big.bin (268,435,456 bytes). Through the batch (2026-11-26): 20/22, and the batch removed big.bin after recording the grades, with the note "big.bin (256 MB, written by the notebook) was not kept: files over 20 MB are removed after grading"; nothing over 20 MB in autograded/ or feedback/ (checked by tests/test_hostile_batch.py).
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += (
        "\n\n_blk = b'0' * (1024 * 1024)\nwith open('big.bin', 'wb') as _fh:\n"
        "    for _i in range(1024):\n        _fh.write(_blk)\n"
    )
    return {"02_layers.ipynb": reference}
