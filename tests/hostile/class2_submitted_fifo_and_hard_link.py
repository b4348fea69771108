"""Class 2: a blank notebook handed in with a FIFO named data.csv beside it (nbgrader's copy would block for ever) and a hard link to a grader file.

expect: ungradable
total: 0
reason: FIFO|hard link
"""

from hostile_files import Fifo, HardLink


def make(release, reference):
    return {
        "02_layers.ipynb": release,
        "data.csv": Fifo(),
        "grader_copy.py": HardLink("{root}/graders/02_layers/test_softmax.py"),
    }
