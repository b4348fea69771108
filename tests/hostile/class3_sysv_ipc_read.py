"""Class 3: a blank notebook looks for what class3_sysv_ipc_publish left (System V shared memory and message queue keys, the POSIX queue, the user keyring) and uses it if found; graded after the publisher (alphabetical order), it must find nothing.

expect: graded
total: 0
output: FOUND \\[\\]
"""

from _attack import blank_with

CODE = """
import ctypes, ctypes.util
_libc = ctypes.CDLL(None, use_errno=True)
_found = []
if _libc.shmget(0x5EED0001, 0, 0) >= 0:
    _found.append("shm")
if _libc.msgget(0x5EED0002, 0) >= 0:
    _found.append("msgq")
try:
    _rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    if _rt.mq_open(b"/dlcourse-hostile", 0) >= 0:
        _found.append("mq")
except OSError:
    pass
if _libc.syscall(250, 10, -4, b"user", b"dlcourse-hostile", 0) >= 0:  # KEYCTL_SEARCH
    _found.append("key")
print("FOUND", _found)
if _found:
    raise SystemExit("found the other sandbox's objects: " + ", ".join(_found))
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
