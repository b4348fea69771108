"""Class 6: the blank notebook's activation functions, when a grader calls them, write forged frames ("ok", a full score's worth of plain data) to every pipe the sandbox holds, then return a wrong value: the channel must not be desynchronised, and the cell is the student's failure, never a grader error.

expect: graded
total: 0
"""

import copy

from _attack import cell_of

CODE = """
import json as _json, os as _os, struct as _struct
import numpy as np

def _forge():
    for _fd in range(64):
        try:
            if not _os.readlink(f"/proc/self/fd/{_fd}").startswith("pipe:"):
                continue
            _payload = _json.dumps({"ok": True, "value": 0.0, "id": 0}).encode()
            _os.write(_fd, _struct.pack(">I", len(_payload)) + _payload)
            _os.write(_fd, b"\\x00\\x00\\x00\\x05{garb")
        except OSError:
            pass

def identity(z):
    _forge()
    return z * 0

def relu(z):
    _forge()
    return z * 0

def sigmoid(z):
    _forge()
    return z * 0

def tanh(z):
    _forge()
    return z * 0
"""


def make(release, reference):
    nb = copy.deepcopy(release)
    cell_of(nb, "activations").source = CODE
    return {"02_layers.ipynb": nb}
