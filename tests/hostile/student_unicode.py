"""A student id with spaces and non-ASCII letters, honest reference inside.

student: José Ñúñez 李雷
expect: graded
total: full
measured: 22/22 under the id "José Ñúñez 李雷"; reports/ and autograded/ folders use the id as is.
"""


def make(release, reference):
    return {"02_layers.ipynb": reference}
