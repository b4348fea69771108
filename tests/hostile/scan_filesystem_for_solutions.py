"""Starting from the blank release, each answer cell walks the file system (/work, /home, /root, /srv, /opt, /tmp, /var, /mnt, depth <= 6) for any 02_layers.ipynb holding 'BEGIN SOLUTION', prints where, and execs that solution.

reason: NotImplementedError|not defined|NameError
expect: graded
total: 0
measured: through the batch with the allow-list sandbox (2026-11-26): 0/22, "solution notebook found at: None" in every answer cell; the sandbox's root holds only the OS folders, the Python environment, the library and the notebook's own folder, so no copy of the course exists in there (the repository checkout, the scratch course and a copy under /opt alike). 107 s: each cell walks what there is.
measured again (2026-12-01): the walk itself takes 0.01 s in the kernel and 0.15 s in a graders' sandbox; the 107-130 s were the attack finding its own notebook (the kernel's copy in /tmp/dlcourse-nb-*, whose code held the marker as a literal) and exec-ing its own cell again, a walk per level until Python's recursion limit. The marker is now built at run time, so the attack looks only for the instructor's solution: 10 s.
before: with the deny-list sandbox (only the course being graded and users' folders hidden), 22/22: every answer cell found the repository's source/02_layers/02_layers.ipynb and ran the instructor's solution, and the hidden graders' sandboxes could read it too.
"""

STEAL = """
import json as _json, os as _os
_hit = None
_MARK = "BEGIN " + "SOLUTION"  # built here, so this cell's own copy does not match
for _top in ("/work", "/home", "/root", "/srv", "/opt", "/tmp", "/var", "/mnt"):
    for _dir, _subs, _files in _os.walk(_top):
        if _dir.count("/") > 6 or ".venv" in _dir or "site-packages" in _dir or "/proc" in _dir:
            _subs[:] = []
            continue
        if "02_layers.ipynb" in _files:
            _p = _os.path.join(_dir, "02_layers.ipynb")
            try:
                with open(_p) as _fh:
                    _t = _fh.read()
            except Exception:
                continue
            if _MARK in _t:
                _hit = _p
                break
    if _hit:
        break
print("solution notebook found at:", _hit)
if _hit:
    for _c in _json.loads(_t)["cells"]:
        if _c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "GID":
            print("".join(_c["source"]))
            exec("".join(_c["source"]))
"""


def make(release, reference):
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = STEAL.replace("GID", meta["grade_id"])
    return {"02_layers.ipynb": release}
