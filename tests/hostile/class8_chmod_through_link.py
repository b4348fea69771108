"""Class 8: a blank notebook leaves links to a file outside the course (the test's sentinel, mode 0600, beside the course folder) and to the course's nbgrader_config.py, named like files nbgrader's set_permissions changes (it chmods every file of autograded/ to 0444).

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
import os
for _name, _target in (("model.pt", "../../../../outside_sentinel.txt"),
                       ("notes.txt", "../../../nbgrader_config.py"),
                       ("sentinel_abs.txt", os.path.abspath("../../../../outside_sentinel.txt"))):
    try:
        os.symlink(_target, _name)
    except OSError as _e:
        print("NO LINK", _name, _e)
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
