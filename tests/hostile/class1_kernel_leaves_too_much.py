"""Class 1: a blank notebook leaves 3000 small files and 8 files of 15 MB (each under the per-file limit, 120 MB together) in its folder, to be kept in autograded/ and copied again to feedback/.

expect: graded
total: 0
reason: together exceed|more than
"""

from _attack import blank_with

CODE = """
import os
os.makedirs("many", exist_ok=True)
for _i in range(3000):
    open(f"many/{_i}.txt", "w").write("x")
for _i in range(8):
    with open(f"big{_i}.bin", "wb") as _fh:
        _fh.write(b"\\0" * (15 * 1024 * 1024))
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
