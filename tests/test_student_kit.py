"""The student kit (`dlcourse student-kit`): what it holds, what it must never
hold, and that the release notebooks run on it alone.

The kit is built once per test session, then installed into a fresh virtual
environment created outside the repository (`python -m venv`, then pip
install of the wheel with the pinned requirements, as a student would). The
notebooks run there through nbclient with that environment's own kernel, from
a folder outside the repository, with a minimal environment (PATH, HOME):
nothing of this repository's `dlcourse` (sandbox, graders, plugin) can be
reached. The environment is shared by the xdist workers (a file lock), so it
is built once per session.
"""

from __future__ import annotations

import ast
import contextlib
import fcntl
import json
import os
import shutil
import subprocess
import sys
import threading
import time
import zipfile
from pathlib import Path

import nbformat
import pytest
from course import ROOT, release_notebook, solution_lines, source_notebook

from dlcourse.data.fashion_mnist import DEBIAN_DIR, ENV_VAR
from dlcourse.filled_submission import filled_submission
from dlcourse.student_kit import (
    STUDENT_MODULES,
    STUDENT_PACKAGES,
    KitError,
    StudentKit,
    build_student_kit,
    check_modules,
    dlcourse_imports,
    library_dir,
    module_name,
    notebook_imports,
)

ASSIGNMENTS = sorted(p.name for p in (ROOT / "release").iterdir() if p.is_dir())
NEEDS_DATA = {"05_fashion_mnist"}


def data_skip(assignment: str) -> None:
    """Skip, saying why, when the notebook needs FashionMNIST and this machine has none."""
    if assignment in NEEDS_DATA and not (DEBIAN_DIR.is_dir() or os.environ.get(ENV_VAR)):
        pytest.skip(
            f"{assignment} needs FashionMNIST: `apt-get install dataset-fashion-mnist` "
            f"(scripts/install.sh does it as root) or set {ENV_VAR}"
        )


# ---- the scan: nothing of graders/ nor of a solution ---------------------------------------


def grader_lines() -> set[str]:
    """Every non-trivial line of every file under graders/: at least 20 characters, not a
    comment nor an import (`import numpy as np` may well appear in the kit)."""
    lines = set()
    for path in (ROOT / "graders").rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts:
            for line in path.read_text(errors="replace").splitlines():
                line = line.strip()
                if len(line) >= 20 and not line.startswith(("#", "import ", "from ")):
                    lines.add(line)
    return lines


def all_solution_lines() -> set[str]:
    return set().union(*(solution_lines(a) for a in ASSIGNMENTS))


def leaks(files: dict[str, bytes]) -> list[str]:
    """``file: line`` for every line of ``files`` that is a grader's or a solution's line."""
    secret = grader_lines() | all_solution_lines()
    found = []
    for name, data in files.items():
        for line in data.decode(errors="replace").splitlines():
            if line.strip() in secret:
                found.append(f"{name}: {line.strip()}")
    return found


def kit_files(kit) -> dict[str, bytes]:
    """Every file of the kit: the wheel's members and requirements.txt."""
    with zipfile.ZipFile(kit.wheel) as wheel:
        files = {f"{kit.wheel.name}/{n}": wheel.read(n) for n in wheel.namelist()}
    files[kit.requirements.name] = kit.requirements.read_bytes()
    return files


# ---- the kit and the fresh environment, once per session -----------------------------------


def shared_folder(tmp_path_factory, worker_id, name: str, make) -> Path:
    """A folder of this test session made once by ``make(folder)``, shared by the xdist
    workers: the first to come makes it, the other waits on a lock."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if worker_id != "master" else base) / name
    assert ROOT not in folder.resolve().parents, "the fresh environment must live outside the repo"
    with open(folder.with_suffix(".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (folder / "ready").exists():
            shutil.rmtree(folder, ignore_errors=True)  # a build that failed half-way
            folder.mkdir()
            make(folder)
            (folder / "ready").touch()
    return folder


def made_kit(tmp_path_factory, worker_id) -> StudentKit:
    """The session's kit (built by the first worker to ask)."""
    folder = shared_folder(
        tmp_path_factory, worker_id, "student-kit", lambda f: build_student_kit(ROOT, f)
    )
    (wheel,) = folder.glob("*.whl")
    return StudentKit(wheel=wheel, requirements=folder / "requirements.txt")


def made_environment(tmp_path_factory, worker_id) -> Path:
    """The session's fresh environment with the kit installed (installed by the first
    worker to ask)."""
    kit = made_kit(tmp_path_factory, worker_id)
    return shared_folder(tmp_path_factory, worker_id, "student-venv", lambda f: install_kit(kit, f))


def make_in_background(config) -> threading.Thread:
    """Start making the kit and its environment in a thread of this worker (from
    conftest.py, once the session's tests are collected). The install is one pip process
    of about 16 s: made up front, it runs beside the tests, where otherwise the worker
    that came second to the tests below waited for it, idle. A failure here is left to
    the fixtures, which make it again and report it."""
    factory, worker = config._tmp_path_factory, getattr(config, "workerinput", {})

    def make():
        with contextlib.suppress(Exception):
            made_environment(factory, worker.get("workerid", "master"))

    thread = threading.Thread(target=make, name="student-kit", daemon=True)
    thread.start()
    return thread


@pytest.fixture(scope="session")
def kit(tmp_path_factory, worker_id) -> StudentKit:
    return made_kit(tmp_path_factory, worker_id)


class Env:
    """The fresh virtual environment with the kit installed, and how to run in it."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.python = folder / "venv" / "bin" / "python"
        self.home = folder / "home"
        self.install_seconds = json.loads((folder / "install.json").read_text())["seconds"]

    def environ(self) -> dict[str, str]:
        """What a student's shell would have: the venv first on PATH, a HOME of its own (no
        kernel spec or config of this machine's user), no PYTHONPATH."""
        env = {
            "PATH": f"{self.python.parent}{os.pathsep}/usr/bin{os.pathsep}/bin",
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
        }
        if os.environ.get(ENV_VAR):
            env[ENV_VAR] = os.environ[ENV_VAR]
        return env

    def run(self, args, cwd: Path, timeout: float = 1800) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(a) for a in args],
            cwd=cwd,
            env=self.environ(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )


def install_kit(kit: StudentKit, folder: Path) -> None:
    """A new venv in folder/venv with the kit and its pinned requirements installed, from a
    folder outside the repository, as a student would (`python -m venv`, `pip install`)."""
    work = folder / "work"
    work.mkdir()
    (folder / "home").mkdir()
    # pip's own settings (index, local wheels) stay; nothing that points Python at this repo
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP", "PYTHONUSERBASE"}
    }
    env["PATH"] = "/usr/bin:/bin"
    start = time.monotonic()
    venv = folder / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", venv], cwd=work, env=env, check=True
    )
    # This pip installs into the new venv (--python): the venv's own, older bundled pip took
    # twice the CPU. --no-compile: torch's thousands of files are not byte-compiled ahead
    # (about a minute of CPU); a student's pip compiles them, which changes nothing they run.
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "--python", venv / "bin" / "python", "install", "--quiet"]
        + ["--no-compile", kit.wheel, "-r", kit.requirements],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, f"installing the kit failed:\n{proc.stdout}\n{proc.stderr}"
    seconds = round(time.monotonic() - start, 1)
    (folder / "install.json").write_text(json.dumps({"seconds": seconds}))


@pytest.fixture(scope="session")
def student_env(tmp_path_factory, worker_id) -> Env:
    env = Env(made_environment(tmp_path_factory, worker_id))
    print(f"fresh environment with the kit installed in {env.install_seconds} s")
    return env


# ---- what the kit holds ---------------------------------------------------------------------


def test_kit_holds_exactly_what_the_release_imports(kit):
    """The wheel's modules are the dlcourse modules the release notebooks import (and what
    those import), copied byte for byte from the library; its __init__ imports nothing."""
    imported = set().union(*notebook_imports(ROOT / "release").values())
    for rel in STUDENT_MODULES:
        imported |= dlcourse_imports((library_dir() / rel).read_text())
    assert imported == {module_name(rel) for rel in STUDENT_MODULES}
    assert {"dlcourse.gradcheck", "dlcourse.data"} <= imported

    with zipfile.ZipFile(kit.wheel) as wheel:
        names = wheel.namelist()
        modules = {n for n in names if ".dist-info/" not in n}
        assert modules == {"dlcourse/__init__.py"} | {f"dlcourse/{rel}" for rel in STUDENT_MODULES}
        for rel in STUDENT_MODULES:
            assert wheel.read(f"dlcourse/{rel}") == (library_dir() / rel).read_bytes(), rel
        init = wheel.read("dlcourse/__init__.py").decode()
        assert not any(
            isinstance(n, ast.Import | ast.ImportFrom) for n in ast.walk(ast.parse(init))
        )
    assert kit.wheel.name.startswith("dlcourse_student-") and kit.wheel.stat().st_size < 50_000


def test_kit_holds_no_grader_line_and_no_solution(kit):
    files = kit_files(kit)
    assert len(files) >= 6
    assert leaks(files) == []


def test_the_scan_finds_a_planted_leak(kit):
    """The scan above is not vacuous: one grader line and one solution line, planted in a
    copy of the kit's gradcheck module, are both found."""
    grader_line = sorted(grader_lines())[0]
    solution_line = sorted(all_solution_lines())[0]
    files = kit_files(kit)
    name = f"{kit.wheel.name}/dlcourse/gradcheck.py"
    files[name] += f"\n    {grader_line}\n{solution_line}\n".encode()
    assert leaks(files) == [f"{name}: {grader_line}", f"{name}: {solution_line}"]


def test_requirements_are_pinned_to_the_grading_environment(kit):
    pins = {}
    for line in (ROOT / "constraints.txt").read_text().splitlines():
        if "==" in line and not line.startswith("#"):
            name, version = line.split("==")
            pins[name.lower().replace("_", "-")] = version
    lines = [ln for ln in kit.requirements.read_text().splitlines() if not ln.startswith("#")]
    required = {}
    for line in lines:
        name, version = line.split("==")  # every line is an exact pin
        required[name.lower().replace("_", "-")] = version
    for name in STUDENT_PACKAGES:
        assert name in required, name
    for name, version in required.items():
        assert pins.get(name, version) == version, name  # setuptools: pip freeze omits it
    # the grading machinery's own tools are not a student's business
    assert not {"pytest", "pytest-xdist", "ruff", "nh3"} & set(required)


@pytest.mark.parametrize(
    "code, module",
    [
        ("from dlcourse.checks import fail", "dlcourse.checks"),
        ("from dlcourse import sandbox", "dlcourse.sandbox"),
        ("%matplotlib inline\nimport dlcourse.pytest_plugin as p", "dlcourse.pytest_plugin"),
    ],
)
def test_build_refuses_a_notebook_importing_grading_code(tmp_path, code, module):
    nb = nbformat.v4.new_notebook()
    nb.cells.append(nbformat.v4.new_code_cell("import numpy as np\n" + code))
    (tmp_path / "release" / "07_new").mkdir(parents=True)
    nbformat.write(nb, str(tmp_path / "release" / "07_new" / "07_new.ipynb"))
    with pytest.raises(KitError, match=rf"07_new\.ipynb imports {module}, which is not in"):
        check_modules(tmp_path / "release", library_dir())


def test_cli_writes_the_kit(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "dlcourse.cli", "student-kit", "--out", tmp_path / "kit"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert [p.name for p in sorted((tmp_path / "kit").iterdir())] == [
        "dlcourse_student-0.1.0-py3-none-any.whl",
        "requirements.txt",
    ]
    assert "pip install dlcourse_student-0.1.0-py3-none-any.whl -r requirements.txt" in proc.stdout


# ---- the kit in a fresh environment ---------------------------------------------------------

PROBE = r"""
import dataclasses, hashlib, importlib.util, json, sys
import numpy as np
import dlcourse
from dlcourse.data import CLASS_NAMES, load_fashion_mnist
from dlcourse.gradcheck import gradcheck

x = np.random.default_rng(7).normal(size=(7, 9))
reports = [
    gradcheck(lambda v: float(np.exp(v).sum()), x, np.exp(x), name="exp"),
    gradcheck(lambda v: float(np.sin(v).sum()), x, np.cos(x) + 1e-3, name="off",
              max_coords=20, rng=np.random.default_rng(1)),
]
grading = ("dlcourse.sandbox", "dlcourse.checks", "dlcourse.pytest_plugin", "dlcourse.nbgrader_ext")
out = {
    "file": dlcourse.__file__,
    "reports": [dataclasses.asdict(r) | {"str": str(r)} for r in reports],
    "classes": list(CLASS_NAMES),
    "grading": sorted(m for m in grading if importlib.util.find_spec(m) is not None),
}
if sys.argv[1:] == ["data"]:
    images, labels = load_fashion_mnist("test", download=False)
    out["test_split"] = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
print(json.dumps(out))
"""


@pytest.mark.parametrize("part", ["gradcheck", "data"])
def test_kit_modules_behave_as_the_library(student_env, tmp_path, part):
    """In the fresh environment, `dlcourse` is the kit's (installed in that venv, no grading
    module), and gradcheck (and, for "data", the FashionMNIST test split as loaded) come out
    as the library's."""
    if part == "data":
        data_skip("05_fashion_mnist")
    args = ["-c", PROBE] + (["data"] if part == "data" else [])
    proc = student_env.run([student_env.python, *args], cwd=tmp_path, timeout=300)
    assert proc.returncode == 0, proc.stderr
    kit = json.loads(proc.stdout)
    mine = json.loads(
        subprocess.run(
            [sys.executable, *args], cwd=tmp_path, capture_output=True, text=True, check=True
        ).stdout
    )
    assert Path(kit["file"]).is_relative_to(student_env.folder / "venv"), kit["file"]
    assert kit["grading"] == [] and mine["grading"] != []
    assert kit["reports"][0]["ok"] and not kit["reports"][1]["ok"]
    assert part != "data" or len(kit["test_split"]) == 64
    kit.pop("file"), mine.pop("file"), kit.pop("grading"), mine.pop("grading")
    assert kit == mine


RUNNER = r"""
import json, re, sys
import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

path, folder = sys.argv[1], sys.argv[2]
nb = nbformat.read(path, as_version=4)
# which Python and which dlcourse the kernel really uses
nb.cells.insert(0, nbformat.v4.new_code_cell(
    "import sys, dlcourse\nprint(sys.executable)\nprint(dlcourse.__file__)"))
client = NotebookClient(nb, timeout=600, kernel_name="python3",
                        resources={"metadata": {"path": folder}})
result = {"error": None}
try:
    client.execute()
except CellExecutionError:
    for cell in nb.cells:
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors:
            meta = cell.metadata.get("nbgrader", {})
            tb = re.sub(r"\x1b\[[0-9;]*m", "", "\n".join(errors[0].traceback))
            result["error"] = {"ename": errors[0].ename, "traceback": tb[-3000:],
                               "cell": meta.get("grade_id") or cell.get("id")}
            break
    else:
        raise
result["probe"] = "".join(o.get("text", "") for o in nb.cells[0].outputs).split()
print(json.dumps(result))
"""


def run_notebook(env: Env, nb, folder: Path) -> dict:
    """Execute ``nb`` top to bottom in the fresh environment's kernel, from ``folder``; stops
    at the first error. -> {"error": None or {ename, cell, traceback}, "probe"}."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "notebook.ipynb"
    nbformat.write(nb, str(path))
    runner = folder / "run_notebook.py"
    runner.write_text(RUNNER)
    proc = env.run([env.python, runner, path, folder], cwd=folder)
    assert proc.returncode == 0, f"the notebook runner failed:\n{proc.stderr[-5000:]}"
    result = json.loads(proc.stdout.splitlines()[-1])
    executable, dlcourse_file = result["probe"]
    assert Path(executable).parent == env.python.parent, executable
    assert Path(dlcourse_file).is_relative_to(env.folder / "venv"), dlcourse_file
    return result


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_answers_pass_every_visible_check(student_env, tmp_path, assignment):
    """The release with the reference answers filled in runs top to bottom in the fresh
    environment without an error: every visible check (an assert) passes."""
    data_skip(assignment)
    nb = filled_submission(release_notebook(assignment), source_notebook(assignment))
    result = run_notebook(student_env, nb, tmp_path / assignment)
    error = result["error"]
    assert error is None, f"cell {error['cell']}:\n{error['traceback']}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_runs_to_its_first_not_implemented(student_env, tmp_path, assignment):
    """The untouched release runs in the fresh environment until an answer raises its
    NotImplementedError: the imports and given cells before it all work."""
    data_skip(assignment)
    nb = nbformat.read(str(release_notebook(assignment)), as_version=4)
    error = run_notebook(student_env, nb, tmp_path / assignment)["error"]
    assert error is not None, "the blank release ran without an error"
    assert error["ename"] == "NotImplementedError", f"cell {error['cell']}:\n{error['traceback']}"


def test_nbgrader_validate_runs_the_visible_checks(student_env, tmp_path):
    """`nbgrader validate`, what the Validate button runs, works with the kit: the
    reference answers pass, the blank release fails on its visible checks."""
    assignment = "01_gradients"
    nbformat.write(
        filled_submission(release_notebook(assignment), source_notebook(assignment)),
        str(tmp_path / "solved.ipynb"),
    )
    shutil.copy(release_notebook(assignment), tmp_path / "blank.ipynb")
    nbgrader = student_env.python.parent / "nbgrader"
    solved = student_env.run([nbgrader, "validate", "solved.ipynb"], cwd=tmp_path, timeout=600)
    assert "Success! Your notebook passes all the tests." in solved.stdout, (
        solved.stdout[-3000:] + solved.stderr[-3000:]
    )
    blank = student_env.run([nbgrader, "validate", "blank.ipynb"], cwd=tmp_path, timeout=600)
    assert "VALIDATION FAILED ON" in blank.stdout, blank.stdout[-3000:] + blank.stderr[-3000:]
    assert "NotImplementedError" in blank.stdout
    assert "ModuleNotFoundError" not in blank.stdout and "NameError" not in blank.stdout
