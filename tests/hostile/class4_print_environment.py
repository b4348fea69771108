"""Class 4: a blank notebook prints its whole environment into its output (which lands in the autograded notebook and the feedback page); the test sets a secret in the grading process's environment, which must appear nowhere the student can read.

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
import os
print(dict(os.environ))
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
