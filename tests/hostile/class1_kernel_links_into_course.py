"""Class 1: a blank notebook leaves symbolic links in its folder named like the files trusted code writes or copies there (02_layers.ipynb, timestamp.txt, conftest.py), pointing at the gradebook, the graders, the instructor's notebook and another student's submission, by relative and guessed absolute paths.

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
import os
_links = {
    "02_layers.ipynb": "../../../gradebook.db",
    "timestamp.txt": "../../../graders/02_layers/conftest.py",
    "conftest.py": "../../../graders/02_layers/test_activations.py",
    "solution.ipynb": "../../../source/02_layers/02_layers.ipynb",
    "victim.ipynb": "../../../submitted/honest_reference/02_layers/02_layers.ipynb",
    "graders": "../../../graders",
    "etc_passwd": "/etc/passwd",
}
for _name, _target in _links.items():
    try:
        os.symlink(_target, _name)
    except OSError as _e:
        print("NO LINK", _name, _e)
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
