"""The softmax answer cell writes a 1 GB file into its working folder, 1 MB at a time, at top level (rest = reference).

expect: graded
total: 20
reason: File too large|Errno 27
measured: the file-size limit (256 MB) stops the write with OSError [Errno 27] File too large; the hidden graders re-run the cell and report it: test_softmax 0/2, others full. A 268,435,456-byte big.bin is left in autograded/write_1gb_file/02_layers/.
note: a 256 MB file written by the student stayed in autograded/<student>/02_layers/ and nbgrader generate_feedback copied it to feedback/<student>/02_layers/big.bin (verified: 268,435,456 bytes). The batch command now removes files over 20 MB from autograded/ once the grades are recorded, with a note (tests/test_batch.py::test_large_files_written_while_grading_are_not_kept); this case was not re-run through the batch since
"""


def _cell(nb, grade_id):
    return next(c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") == grade_id)


def make(release, reference):
    _cell(reference, "softmax").source += (
        "\n\n_blk = b'0' * (1024 * 1024)\nwith open('big.bin', 'wb') as _fh:\n"
        "    for _i in range(1024):\n        _fh.write(_blk)\n"
    )
    return {"02_layers.ipynb": reference}
