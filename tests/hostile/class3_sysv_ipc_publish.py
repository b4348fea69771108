"""Class 3: a blank notebook publishes in System V shared memory (key 0x5EED0001, 64 MB), a System V message queue, a POSIX message queue and the user keyring, for a later sandbox to read (the reader is class3_sysv_ipc_read, graded after it); nothing may outlive the grading.

expect: graded
total: 0
output: SHM [0-9]+
"""

from _attack import blank_with

CODE = """
import ctypes, ctypes.util
_libc = ctypes.CDLL(None, use_errno=True)
_libc.shmat.restype = ctypes.c_void_p
_id = _libc.shmget(0x5EED0001, 64 * 1024 * 1024, 0o1666)
if _id >= 0:
    _addr = _libc.shmat(_id, None, 0)
    ctypes.memmove(_addr, b"PUBLISHED-BY-ATTACKER", 21)
    ctypes.memset(_addr + 64, 1, 64 * 1024 * 1024 - 64)
print("SHM", _id)
print("MSGQ", _libc.msgget(0x5EED0002, 0o1666))
try:
    _rt = ctypes.CDLL(ctypes.util.find_library("rt") or "librt.so.1", use_errno=True)
    print("MQ", _rt.mq_open(b"/dlcourse-hostile", 0o100 | 0o2, 0o666, None))
except OSError as _e:
    print("MQ", _e)
print("KEY", _libc.syscall(248, b"user", b"dlcourse-hostile", b"PUBLISHED", 9, -4))
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
