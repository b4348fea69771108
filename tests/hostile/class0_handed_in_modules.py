"""Class 0: json.py, sitecustomize.py, conftest.py, pytest.py and a dlcourse/ package handed in beside a blank notebook; each, if imported by trusted Python (the kernel launcher before confinement, nbgrader, the graders' pytest), appends a pass-everything hook to the graders' conftest.py and leaves a PWNED marker in the course.

expect: graded
total: 0
"""

from _attack import SHADOW


def make(release, reference):
    return {
        "02_layers.ipynb": release,
        "json.py": SHADOW,
        "sitecustomize.py": SHADOW,
        "conftest.py": SHADOW,
        "pytest.py": SHADOW,
        "dlcourse/__init__.py": SHADOW.replace("__name__", "'dlcourse'"),
    }
