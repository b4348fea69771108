"""Class 1: a blank notebook leaves FIFOs (and a Unix socket) in its folder under names trusted code opens: model.pt, timestamp.txt, 02_layers.html, data.csv; opened by nbgrader or the feedback step they would block for ever.

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
import os, socket
for _name in ("model.pt", "timestamp.txt", "02_layers.html", "data.csv"):
    os.mkfifo(_name)
_s = socket.socket(socket.AF_UNIX)
_s.bind("listener.sock")
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
