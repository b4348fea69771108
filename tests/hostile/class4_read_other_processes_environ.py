"""Class 4: a blank notebook reads /proc/<pid>/environ and /proc/<pid>/cmdline of every process it can see (its launcher's, PID 1's) and prints them.

expect: graded
total: 0
"""

from _attack import blank_with

CODE = """
import os
for _pid in sorted(p for p in os.listdir("/proc") if p.isdigit()):
    for _what in ("environ", "cmdline"):
        try:
            print(_pid, _what, open(f"/proc/{_pid}/{_what}", "rb").read()[:4000])
        except OSError as _e:
            print(_pid, _what, "NOT READ", type(_e).__name__)
try:
    print("PPID", os.getppid(), open(f"/proc/{os.getppid()}/environ", "rb").read())
except OSError as _e:
    print("PPID NOT READ", type(_e).__name__)
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
