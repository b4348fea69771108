"""The honest reference with a garbage timestamp.txt (not a date, not UTF-8).

expect: ungradable
total: any
reason: could not autograde
measured: nbgrader reads timestamp.txt before anything else and dies with UnicodeDecodeError (CourseDirectory.get_existing_timestamp); the honest notebook is "could not be graded" and the student has no submission notebook in the gradebook (MissingEntry); batch continues.
known_problem: an honest, full-marks notebook becomes ungradable because of a garbage timestamp.txt beside it (the timestamp should be ignored/flagged, not fatal); the instructor-facing reason does not say why
"""


def make(release, reference):
    return {"02_layers.ipynb": reference, "timestamp.txt": b"\xff\xfeyesterday-ish \x00 25:61\n"}
