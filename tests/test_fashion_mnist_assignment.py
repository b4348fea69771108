"""Assignment 05 beyond the generic assignment tests: the reference through
stock ``nbgrader autograde``, a weights file crafted to run code, and the
pre-flight's data check."""

from __future__ import annotations

from course import ROOT, messages, release_notebook, scores, source_notebook
from test_assignments import _cells_to_grade

from dlcourse.batch import _environment_problems, preflight
from dlcourse.filled_submission import filled_submission

A = "05_fashion_mnist"

EVIL_WEIGHTS = """
import os

# no training: the cheat only wants the grader to run its payload
model = build_model()
history = {{"train_loss": [2.0, 1.0], "test_loss": [2.1, 1.2], "test_accuracy": [0.3, 0.5]}}


class Payload:
    # unpickling this calls os.system: what a malicious weights file does
    def __reduce__(self):
        return (os.system, ({command!r},))


torch.save({{"0.weight": Payload()}}, WEIGHTS_PATH)
"""


def test_reference_earns_every_point_through_nbgrader():
    """The batch pre-flight autogrades the reference with stock nbgrader in a
    scratch course and raises unless every autograded cell has full marks."""
    seconds = preflight(ROOT, A)
    assert seconds > 0


def test_a_weights_file_that_runs_code_is_refused_and_nothing_runs(grade, tmp_path):
    marker = tmp_path / "the-payload-ran"
    # the grader's process sees the real /tmp, the notebook's kernel a private one:
    # only unpickling in the grader could create the marker
    nb = filled_submission(
        release_notebook(A),
        source_notebook(A),
        replace={"final_training": EVIL_WEIGHTS.format(command=f"touch {marker}")},
    )
    # the cells whose grading can differ from the reference's (the others run
    # exactly its code, which test_assignments proves earns every point)
    graded = _cells_to_grade(A, nb)
    assert "test_final_model" in graded
    report = grade(nb, A, only_cells=graded)
    assert not marker.exists(), "unpickling the weights file ran the payload"
    got = {g: s for g, s in scores(report).items() if g in graded}
    assert got["test_final_model"] == 0
    assert any(
        "was refused: torch.load(weights_only=True)" in m
        for m in messages(report, "test_final_model")
    )
    # everything else is the reference's and keeps its points
    points = {gid: cell["points"] for gid, cell in report["cells"].items() if gid in graded}
    assert {g: s for g, s in got.items() if g != "test_final_model"} == {
        g: p for g, p in points.items() if g != "test_final_model"
    }


def test_preflight_names_missing_data_and_the_fix(tmp_path, monkeypatch):
    import dlcourse.data.fashion_mnist as fm

    monkeypatch.setattr(fm, "DEBIAN_DIR", tmp_path / "not-installed")
    monkeypatch.delenv(fm.ENV_VAR, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    problems = _environment_problems(ROOT, A)
    assert any(
        "FashionMNIST" in p and "apt-get install dataset-fashion-mnist" in p for p in problems
    )
    # assignments without the data do not ask for it
    assert not any("FashionMNIST" in p for p in _environment_problems(ROOT, "02_layers"))
