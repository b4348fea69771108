"""Running a notebook top to bottom for the graders: isolated, confined, in a
fresh folder, and what it left behind."""

import shutil
import threading
import time

import nbformat
import pytest
from course import ROOT, nbgrader_cell

from dlcourse.checks import GradingFailure
from dlcourse.execution import (
    ExecutedNotebook,
    execute_notebook,
    execution_key,
    execution_lock,
    isolated_notebook,
    load_execution,
    store_execution,
)


def _notebook(*cells):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbgrader_cell(*c) for c in cells]
    return nb


@pytest.fixture
def run_in_kernel():
    runs = []

    def run(nb, **kw):
        runs.append(execute_notebook(nb, ROOT, **kw))
        return runs[-1]

    yield run
    for r in runs:
        shutil.rmtree(r.folder, ignore_errors=True)


def test_outputs_errors_and_images_are_found_by_grade_id(tmp_path):
    nb = _notebook(("", "save", "answer"), ("", "plot", "display"))
    nb.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="NotImplementedError", evalue="", traceback=[])
    ]
    nb.cells[1].outputs = [
        nbformat.v4.new_output("display_data", data={"image/png": "iVBOR", "text/plain": "<Fig>"}),
        nbformat.v4.new_output("stream", name="stdout", text="hello"),
    ]
    run = ExecutedNotebook(nb, tmp_path)
    assert run.error_in("save") == "NotImplementedError:"
    assert run.error_in("plot") is None
    assert run.images_in("plot") == 1 and run.images_in("save") == 0
    assert run.cell("missing") is None and run.images_in("missing") == 0


def test_a_missing_file_is_explained_by_the_cell_that_failed(tmp_path):
    nb = _notebook(("", "save", "answer"))
    nb.cells[0].outputs = [
        nbformat.v4.new_output("error", ename="NameError", evalue="name 'model' is not defined")
    ]
    (tmp_path / "there.pt").write_bytes(b"x")
    run = ExecutedNotebook(nb, tmp_path)
    assert run.produced("there.pt", by="save") == tmp_path / "there.pt"
    with pytest.raises(GradingFailure, match="'save' stopped with NameError: name 'model'"):
        run.produced("weights.pt", by="save")


REFERENCE = _notebook(
    ("import math", "imports", "setup"),
    ("### BEGIN SOLUTION\ndef double(x):\n    return 2 * x\n### END SOLUTION", "double", "answer"),
    ("assert double(2) == 4", "test_double", "graded"),
    ("### BEGIN SOLUTION\nresult = double(21)\n### END SOLUTION", "final", "answer"),
    ("print('result', result)", "show", "display"),
    ("assert result == 42", "test_final", "graded"),
)


def test_isolation_keeps_the_student_s_code_only_where_asked():
    student = nbformat.from_dict(nbformat.v4.new_notebook())
    student.cells = [
        nbgrader_cell(
            "def double(x):\n    return 3 * x\ndef halve(x):\n    return x / 2\nprint('scratch')",
            "double",
            "answer",
        ),
        nbgrader_cell("result = double(1)", "final", "answer"),
    ]
    nb = isolated_notebook(REFERENCE, student, own={"final"})
    sources = {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells}
    # graded cells are not run; the student's own cell is theirs, unchanged
    assert set(sources) == {"imports", "double", "final", "show"}
    assert sources["final"] == "result = double(1)"
    # elsewhere: the student's own helpers, then the reference (which wins)
    assert sources["double"].index("halve") < sources["double"].index("2 * x")
    assert "3 * x" not in sources["double"]  # the reference replaces it anyway
    assert "scratch" not in sources["double"] and "BEGIN SOLUTION" not in sources["double"]
    reference_only = isolated_notebook(REFERENCE, None, own={"final"})
    assert [c.source for c in reference_only.cells][3] == "print('result', result)"


def test_an_isolated_run_uses_the_reference_where_the_student_erred(run_in_kernel):
    student = nbformat.v4.new_notebook()
    student.cells = [
        nbgrader_cell("def double(x):\n    return 3 * x", "double", "answer"),
        nbgrader_cell("result = double(21)", "final", "answer"),
    ]
    run = run_in_kernel(isolated_notebook(REFERENCE, student, own={"final"}))
    assert run.problem is None
    assert run.cell("show").outputs[0]["text"].strip() == "result 42"


PEEK = """
try:
    print("visible" if os.listdir({graders!r}) else "hidden")
except OSError:
    print("hidden")
"""


def test_a_notebook_runs_confined_in_a_fresh_folder(tmp_path, run_in_kernel):
    nb = _notebook(
        ("import os\nprint(sorted(os.listdir('.')))", "look", "answer"),
        ("open('weights.pt', 'w').write('trained')", "save", "answer"),
        ("raise ValueError('after the save')", "boom", "answer"),
        ("print('still running')", "after", "answer"),
        (PEEK.format(graders=str(ROOT / "graders")), "peek", "answer"),
        ("import matplotlib.pyplot as plt\nplt.plot([1, 2])\nplt.show()", "plot", "answer"),
    )
    run = run_in_kernel(nb, cell_timeout=60)
    assert run.problem is None
    # the folder starts empty: nothing submitted beside the notebook is there
    assert run.cell("look").outputs[0]["text"].strip() == "[]"
    assert run.produced("weights.pt", by="save").read_text() == "trained"
    assert run.error_in("boom") == "ValueError: after the save"
    assert "still running" in run.cell("after").outputs[0]["text"]
    # the course folder is hidden from the kernel, as in nbgrader's execution
    assert run.cell("peek").outputs[0]["text"].strip() == "hidden"
    # figures are shown, as in Jupyter
    assert run.images_in("plot") == 1


def test_a_runaway_cell_is_stopped_and_said_so(run_in_kernel):
    nb = _notebook(("while True:\n    pass", "spin", "answer"), ("x = 1", "after", "answer"))
    run = run_in_kernel(nb, cell_timeout=5)
    assert run.error_in("spin").startswith(
        "CellTimeoutError: the cell ran longer than 5 s and was stopped (an endless loop"
    )
    assert run.machine_problem is None
    assert run.error_in("after") is None  # the run went on


def test_a_sleeping_cell_is_charged_its_time(run_in_kernel):
    nb = _notebook(("import time\ntime.sleep(120)", "nap", "answer"))
    run = run_in_kernel(nb, cell_timeout=3)
    assert "the cell ran longer than 3 s" in run.error_in("nap")
    assert run.machine_problem is None


def _spin_seconds(seconds: float) -> int:
    """Iterations of `for _ in range(n): pass` taking about ``seconds`` of CPU."""
    import time

    # at module level, as in a cell (a global loop variable is slower)
    start = time.process_time()
    exec("for _ in range(2_000_000):\n    pass", {})
    return int(2_000_000 * seconds / max(time.process_time() - start, 1e-3))


def test_a_busy_machine_does_not_use_up_a_cell_s_time(run_in_kernel):
    """Three seconds of the cell's own work under a five-second limit, on a
    machine where six other processes compete for the CPUs: it takes longer
    than five seconds of wall time, and is not stopped."""
    import subprocess
    import sys
    import time

    n = _spin_seconds(3.0)
    nb = _notebook(
        (f"import time\nt = time.monotonic()\nfor _ in range({n}):\n    pass\n"
         "print('wall', time.monotonic() - t)", "work", "answer"),
    )  # fmt: skip
    # each in a session of its own: with autogroup scheduling every session
    # gets an equal share of the CPUs, so six sessions load the machine for real
    hogs = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"], start_new_session=True)
        for _ in range(6)
    ]
    try:
        time.sleep(0.5)
        run = run_in_kernel(nb, cell_timeout=5)
    finally:
        for hog in hogs:
            hog.kill()
            hog.wait()
    assert run.error_in("work") is None, run.error_in("work")
    out = "".join(o.get("text", "") for o in run.cell("work").outputs)
    assert float(out.split()[1]) > 5, out  # the wall clock alone would have stopped it


def test_past_the_backstop_the_machine_is_to_blame(run_in_kernel):
    nb = _notebook(("import time\ntime.sleep(120)", "nap", "answer"))
    run = run_in_kernel(nb, cell_timeout=100, backstop=3)
    assert "too busy" in run.error_in("nap") and run.machine_problem


def test_definitions_the_reference_replaces_do_not_change_the_run():
    def submission(double_code):
        student = nbformat.v4.new_notebook()
        student.cells = [
            nbgrader_cell(double_code, "double", "answer"),
            # the student's own, not the reference's (see the next test)
            nbgrader_cell("result = double(7 * 3)", "final", "answer"),
        ]
        return isolated_notebook(REFERENCE, student, own={"final"})

    wrong = submission("def double(x):\n    return 3 * x")
    right = submission("def double(x):\n    return x + x")
    helper = submission("def double(x):\n    return 3 * x\n\n\ndef triple(x):\n    return 3 * x")
    assert execution_key(wrong) == execution_key(right)
    # a helper the reference does not define stays: the student's own cells may use it
    assert execution_key(helper) != execution_key(right)
    assert (
        "def triple" in helper.cells[1].source
        and "3 * x\n\n\ndef triple" not in helper.cells[1].source
    )


def test_own_cells_holding_the_reference_run_the_reference_s_notebook(run_in_kernel):
    # a helper elsewhere that rebinds one of the notebook's names (its setup imports math)
    shadow = "def double(x):\n    return 3 * x\n\n\nmath = None"

    def submission(final_code):
        student = nbformat.v4.new_notebook()
        student.cells = [
            nbgrader_cell(shadow, "double", "answer"),
            nbgrader_cell(final_code, "final", "answer"),
        ]
        return isolated_notebook(REFERENCE, student, own={"final"})

    reference = isolated_notebook(REFERENCE, None, own={"final"})
    # blank space around the code aside, the reference's code: the reference's run
    for same in ("result = double(21)", "\nresult = double(21)\n\n"):
        assert execution_key(submission(same)) == execution_key(reference)
        assert "math = None" not in submission(same).cells[1].source
    # a Unicode space around it is no longer code Python runs: not the reference
    assert execution_key(submission("\u3000result = double(21)")) != execution_key(reference)
    # code of the student's own in that cell: their helpers are there for it
    own = submission("result = double(21)  # mine")
    assert execution_key(own) != execution_key(reference)
    assert "math = None" in own.cells[1].source
    assert run_in_kernel(own).cell("show").outputs[0]["text"].strip() == "result 42"
    # several own cells: all of them must hold the reference's code
    student = nbformat.v4.new_notebook()
    student.cells = [
        nbgrader_cell("def double(x):\n    return x * 2", "double", "answer"),
        nbgrader_cell("result = double(21)", "final", "answer"),
    ]
    both = isolated_notebook(REFERENCE, student, own={"double", "final"})
    assert execution_key(both) != execution_key(
        isolated_notebook(REFERENCE, None, {"double", "final"})
    )
    assert "x * 2" in both.cells[1].source


def test_a_stored_run_comes_back_as_a_fresh_copy(tmp_path, run_in_kernel):
    nb = _notebook(("open('weights.pt', 'w').write('trained')\nprint('ran')", "save", "answer"))
    run = run_in_kernel(nb)
    key = execution_key(nb)
    assert load_execution(tmp_path, key) is None
    store_execution(run, tmp_path, key)
    store_execution(run, tmp_path, key)  # a second store of the same run is harmless
    again = load_execution(tmp_path, key)
    try:
        assert again.folder != run.folder and again.problem is None
        assert again.produced("weights.pt", by="save").read_text() == "trained"
        assert again.cell("save").outputs[0]["text"] == "ran\n"
    finally:
        shutil.rmtree(again.folder, ignore_errors=True)


def test_one_process_at_a_time_runs_a_notebook_the_cache_does_not_hold(tmp_path):
    # the second grading of the same notebook waits for the first one's run
    # and finds it stored; another notebook is not held up
    events, holding = [], threading.Event()

    def first():
        with execution_lock(tmp_path, "same"):
            holding.set()
            time.sleep(0.5)
            events.append("first stored")

    thread = threading.Thread(target=first)
    thread.start()
    holding.wait(10)
    with execution_lock(tmp_path, "other"):
        events.append("other ran")
    with execution_lock(tmp_path, "same"):
        events.append("second looked")
    thread.join()
    assert events == ["other ran", "first stored", "second looked"]
