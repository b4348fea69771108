"""Not a case: the tool used to measure the hostile corpus (files starting
with '_' are not cases).

    python tests/hostile/_run_corpus.py OUT.json CASE [CASE ...]

Makes a scratch course (source/, graders/, nbgrader_config.py copied), runs
`nbgrader generate_assignment 02_layers --force`, writes every case's files
into submitted/<student>/02_layers/, runs
`nbgrader autograde 02_layers --force --Execute.timeout=15` (wall limit $HOSTILE_WALL, default 1500 s),
then records per student: the autograded total, the cell_rows statuses and
reasons, the expectation from the docstring, and after the run: processes
left behind, whether the gradebook is readable, and solution/grader text in
the autograded notebooks that the student did not write.
"""

from __future__ import annotations

import ast
import copy
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))  # tests/: the shared readers of the course
sys.path.insert(0, str(HERE))  # the attacks shared by the cases (_attack.py)
import hostile_files  # noqa: E402
from course import grader_lines, solution_lines  # noqa: E402

A = "02_layers"
FLAGS = ["autograde", A, "--force", "--Execute.timeout=15"]


def parse_doc(path: Path) -> dict:
    doc = ast.get_docstring(ast.parse(path.read_text()))
    lines = doc.splitlines()
    out = {"title": lines[0]}
    for line in lines[1:]:
        m = re.match(r"^(\w+):\s*(.*?)\s*(#.*)?$", line)
        if m:
            out[m.group(1)] = m.group(2)
    return out


def load(path: Path):
    spec = importlib.util.spec_from_file_location("case_" + path.stem, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def outputs_text(nb) -> str:
    parts = []
    for c in nb.cells:
        for o in c.get("outputs", []):
            if "text" in o:
                parts.append(o["text"] if isinstance(o["text"], str) else "".join(o["text"]))
            for v in o.get("data", {}).values():
                parts.append(v if isinstance(v, str) else json.dumps(v))
            if "traceback" in o:
                parts.append("\n".join(o["traceback"]))
    return "\n".join(parts)


def main() -> None:
    out_json = Path(sys.argv[1])
    cases = [HERE / f"{n}.py" if not n.endswith(".py") else Path(n) for n in sys.argv[2:]]
    root = Path(tempfile.mkdtemp(prefix="hostile-"))
    for name in ("source", "graders"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "nbgrader_config.py", root)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]}
    p = subprocess.run(
        ["nbgrader", "generate_assignment", A, "--force"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    assert p.returncode == 0, p.stderr[-2000:]
    sys.path.insert(0, str(ROOT / "src"))
    from dlcourse.filled_submission import filled_submission

    release_path = root / "release" / A / f"{A}.ipynb"
    release = nbformat.read(str(release_path), as_version=4)
    reference = filled_submission(release_path, ROOT / "source" / A / f"{A}.ipynb")
    meta = {}
    for case in cases:
        doc = parse_doc(case)
        student = doc.get("student", case.stem)
        meta[student] = {"case": case.stem, **doc}
        folder = root / "submitted" / student / A
        folder.mkdir(parents=True)
        files = load(case).make(copy.deepcopy(release), copy.deepcopy(reference))
        for rel, content in files.items():
            target = folder / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if hostile_files.create(target, content, root):
                continue
            if isinstance(content, (bytes, bytearray)):
                target.write_bytes(content)
            elif isinstance(content, str):
                target.write_text(content)
            else:
                nbformat.write(content, str(target))
    t0 = time.time()
    try:
        proc = subprocess.run(
            ["nbgrader", *FLAGS],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=float(os.environ.get("HOSTILE_WALL", 1500)),
        )
        log, rc = proc.stdout + proc.stderr, proc.returncode
    except subprocess.TimeoutExpired as exc:
        log = (exc.stdout or b"").decode(errors="replace") + (exc.stderr or b"").decode(
            errors="replace"
        )
        rc = "TIMEOUT"
    wall = time.time() - t0
    (root / "autograde.log").write_text(log)
    time.sleep(2)
    left = subprocess.run(["pgrep", "-af", str(root)], capture_output=True, text=True).stdout
    left += subprocess.run(
        ["pgrep", "-af", "ipykernel_launcher"], capture_output=True, text=True
    ).stdout
    results = {
        "root": str(root),
        "rc": rc,
        "wall_seconds": round(wall, 1),
        "processes_after": left,
        "students": {},
    }
    try:
        from nbgrader.api import Gradebook

        with Gradebook("sqlite:///" + str(root / "gradebook.db")) as gb:
            totals = {}
            for s in gb.students:
                try:
                    sub = gb.find_submission_notebook(A, A, s.id)
                    totals[s.id] = sum(
                        g.auto_score or 0 for g in sub.grades if g.cell_type == "code"
                    )
                except Exception as exc:  # noqa: BLE001
                    totals[s.id] = f"no submission notebook: {exc.__class__.__name__}"
            tables = gb.db.execute(
                __import__("sqlalchemy").text("select name from sqlite_master where type='table'")
            ).fetchall()
        results["gradebook_readable"] = True
        results["gradebook_tables"] = sorted(t[0] for t in tables)
    except Exception as exc:  # noqa: BLE001
        results["gradebook_readable"] = repr(exc)
        totals = {}
    try:
        from dlcourse.reports.cell_export import cell_rows

        rows = cell_rows(root, A)
    except Exception as exc:  # noqa: BLE001
        rows = []
        results["cell_rows_error"] = repr(exc)
    sol, grd = solution_lines(A), grader_lines(A)
    for student, m in meta.items():
        r = [x for x in rows if x["student"] == student]
        code_rows = [x for x in r if x["status"] != "needs manual grading"]
        statuses = sorted({x["status"] for x in code_rows})
        reasons = sorted({x["reason"] for x in code_rows if x["reason"]})
        failed = sorted({x["failed_checks"] for x in code_rows if x["failed_checks"]})
        leaks = []
        ag = root / "autograded" / student / A
        submitted_text = ""
        for f in (root / "submitted" / student / A).rglob("*"):
            if f.is_file():
                submitted_text += f.read_bytes().decode("utf-8", "replace")
        for f in ag.glob("*.ipynb") if ag.is_dir() else []:
            try:
                text = outputs_text(nbformat.read(str(f), as_version=4))
            except Exception as exc:  # noqa: BLE001
                text = ""
                leaks.append(f"unreadable autograded notebook {f.name}: {exc!r}")
            leaks += [("solution: " + x) for x in sol if x in text and x not in submitted_text][:3]
            leaks += [("grader: " + x) for x in grd if x in text][:3]
        big = (
            [
                f"{f.relative_to(root)} {f.stat().st_size}"
                for f in ag.rglob("*")
                if f.is_file() and f.stat().st_size > 5_000_000
            ]
            if ag.is_dir()
            else []
        )
        results["students"][student] = {
            **m,
            "actual_total": totals.get(student, "not in gradebook"),
            "statuses": statuses,
            "reasons": reasons,
            "failed_checks": failed[:6],
            "leaks": leaks,
            "big_files_autograded": big,
            "autograded_files": sorted(p.name for p in ag.iterdir()) if ag.is_dir() else None,
            "log_lines": [ln for ln in log.splitlines() if student in ln][:8],
        }
    out_json.write_text(json.dumps(results, indent=1, default=str))
    print(json.dumps({k: v for k, v in results.items() if k != "students"}, indent=1, default=str))
    for v in results["students"].values():
        print(
            f"{v['case']:32} expect={v.get('expect')}/{v.get('total')} actual={v['statuses']}/{v['actual_total']} reasons={v['reasons'][:2]} leaks={len(v['leaks'])}"
        )


if __name__ == "__main__":
    main()
