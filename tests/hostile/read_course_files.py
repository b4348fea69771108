"""Starting from the blank release, every answer cell looks for source/, graders/ and gradebook.db relative to its folder, prints what it reads, and execs the instructor's solution if it finds it.

reason: NotImplementedError|not defined|FileNotFoundError|NameError
expect: graded
total: 0
measured: the kernel sees only its own folder: "found: []" (source/, graders/, gradebook.db, release/ absent at every level up to /); nothing stolen, 0/22; no solution or grader text in the outputs.
"""

STEAL = """
import glob as _glob, json as _json, os as _os
_here = _os.getcwd()
_found = []
for _up in range(0, 6):
    _base = _os.path.abspath(_os.path.join(_here, *([".."] * _up)))
    for _pat in ("source/02_layers/*.ipynb", "graders/02_layers/*.py", "gradebook.db", "release/02_layers/*.ipynb"):
        _found += _glob.glob(_os.path.join(_base, _pat))
print("cwd:", _here, "found:", _found)
for _p in _found:
    try:
        with open(_p, "rb") as _fh:
            print("READ", _p, _fh.read(1500))
    except Exception as _e:
        print("cannot read", _p, repr(_e))
for _p in _found:
    if _p.endswith(".ipynb") and "/source/" in _p:
        try:
            with open(_p) as _fh:
                _nb = _json.load(_fh)
        except Exception as _e:
            print("cannot load", _p, repr(_e))
            continue
        for _c in _nb["cells"]:
            if _c.get("metadata", {}).get("nbgrader", {}).get("grade_id") == "GID":
                exec("".join(_c["source"]))
"""


def make(release, reference):
    for cell in release.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and cell.cell_type == "code":
            cell.source = STEAL.replace("GID", meta["grade_id"])
    return {"02_layers.ipynb": release}
