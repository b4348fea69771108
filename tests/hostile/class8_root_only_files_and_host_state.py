"""Class 8: a blank notebook reads root-only files (/etc/shadow, /etc/gshadow, /root, /proc/1/environ), reports its uid, tries to change the hostname and to add a key to the user keyring; it must run as an unprivileged uid that reads none of them.

expect: graded
total: 0
output: UID [1-9][0-9]*
"""

from _attack import blank_with

CODE = """
import ctypes, os, socket
print("UID", os.getuid())
for _p in ("/etc/shadow", "/etc/gshadow", "/root/.bashrc", "/proc/1/environ"):
    try:
        print("READ", _p, open(_p, "rb").read()[:200])
    except OSError as _e:
        print("NOT READ", _p, type(_e).__name__)
try:
    socket.sethostname("pwned-host")
    print("HOSTNAME CHANGED")
except OSError as _e:
    print("HOSTNAME KEPT", type(_e).__name__)
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
