"""Class 2: the submitted 02_layers.ipynb is a symbolic link to the instructor's notebook in source/ (read through the link it would earn full marks).

expect: ungradable
total: 0
reason: symbolic link
"""

from hostile_files import Symlink


def make(release, reference):
    return {"02_layers.ipynb": Symlink("../../../source/02_layers/02_layers.ipynb")}
