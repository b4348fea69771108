r"""The honest reference with a garbage timestamp.txt (not a date, not UTF-8).

expect: graded
total: full
reason: timestamp.txt could not be read \(it is not text\).*without a submission time
measured: nbgrader reads timestamp.txt before anything else and dies with UnicodeDecodeError (CourseDirectory.get_existing_timestamp); the batch command now renames an unreadable timestamp.txt to timestamp.txt.unreadable before grading, so the honest notebook earns its full marks and the note says why it has no submission time
"""


def make(release, reference):
    return {"02_layers.ipynb": reference, "timestamp.txt": b"\xff\xfeyesterday-ish \x00 25:61\n"}
