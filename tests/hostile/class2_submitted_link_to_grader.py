"""Class 2: a blank notebook handed in with a symbolic link beside it to the graders' conftest.py (nbgrader would copy the hidden grader into the sandbox and the feedback).

expect: ungradable
total: 0
reason: symbolic link
"""

from hostile_files import Symlink


def make(release, reference):
    return {
        "02_layers.ipynb": release,
        "helpers.py": Symlink("../../../graders/02_layers/conftest.py"),
        "graders": Symlink("{root}/graders"),
    }
