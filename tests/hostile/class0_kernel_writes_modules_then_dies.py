"""Class 0: a blank notebook whose first answer cell writes json.py, sitecustomize.py, conftest.py and dlcourse/__init__.py into its working folder, then kills its own kernel, so that the re-run's launcher (and anything later started there) would import them.

expect: graded
total: 0
"""

from _attack import SHADOW, blank_with

CODE = f"""
import os
_shadow = {SHADOW!r}
for _name in ("json.py", "sitecustomize.py", "conftest.py", "encodings.py"):
    open(_name, "w").write(_shadow)
os.makedirs("dlcourse", exist_ok=True)
open("dlcourse/__init__.py", "w").write(_shadow.replace("__name__", "'dlcourse'"))
if not os.path.exists("died-once"):
    open("died-once", "w").write("1")
    os._exit(0)
"""


def make(release, reference):
    return {"02_layers.ipynb": blank_with(release, CODE)}
