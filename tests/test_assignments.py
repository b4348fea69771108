"""Every assignment: full marks for the reference, zero for the blank release,
and every catalogued mistake and cheat loses exactly what it should.

Assignments are discovered from source/; their catalogues from
tests/mistakes/<assignment>/ and tests/cheats/<assignment>/.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from catalogue import load
from course import ROOT, messages, release_notebook, scores, source_notebook

from dlcourse.filled_submission import filled_submission

ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
# the fewest catalogued mistakes each assignment must have (its issue says so)
MIN_MISTAKES = {"02_layers": 15}
MISTAKES = [(a, m) for a in ASSIGNMENTS for m in load("mistakes", a)]
CHEATS = [(a, c) for a in ASSIGNMENTS for c in load("cheats", a)]
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _points(report):
    return {gid: cell["points"] for gid, cell in report["cells"].items()}


def _answer_ids(assignment: str) -> list[str]:
    nb = nbformat.read(str(source_notebook(assignment)), as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_earns_every_point(grade, assignment):
    nb = filled_submission(release_notebook(assignment), source_notebook(assignment))
    report = grade(nb, assignment)
    assert report["cells"], "no graded cells found"
    assert scores(report) == _points(report)
    assert all(c["outcome"] == "passed" for c in report["tests"]), report["tests"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_earns_nothing(grade, assignment):
    report = grade(release_notebook(assignment), assignment)
    assert set(scores(report).values()) == {0.0}
    # the student is told why, in words
    for grade_id in report["cells"]:
        assert any("NotImplementedError" in m for m in messages(report, grade_id)), grade_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogue_is_large_enough(assignment):
    mistakes = [m for a, m in MISTAKES if a == assignment]
    assert len(mistakes) >= MIN_MISTAKES.get(assignment, 10)
    answer_ids = set(_answer_ids(assignment))
    for m in mistakes:
        assert m.fields["cell"] in answer_ids, m.name


@pytest.mark.parametrize(
    ("assignment", "mistake"), MISTAKES, ids=[f"{a}/{m.name}" for a, m in MISTAKES]
)
def test_mistake_loses_points_in_its_own_cell_only(grade, assignment, mistake):
    planted = {mistake.fields["cell"]: mistake.code}
    replace = mistake.fields.get("mode") == "replace"
    nb = filled_submission(
        release_notebook(assignment),
        source_notebook(assignment),
        replace=planted if replace else None,
        append=None if replace else planted,
    )
    report = grade(nb, assignment)
    points, got = _points(report), scores(report)
    loses = mistake.fields["loses"]
    assert got[loses] < points[loses], f"{mistake.title}: no points lost in {loses}"
    others = {gid: s for gid, s in got.items() if gid != loses and s != points[gid]}
    assert not others, f"{mistake.title}: also lost points in {others}"
    found = messages(report, loses)
    assert any(re.search(mistake.fields["symptom"], m) for m in found), (
        f"{mistake.title}: no message matches {mistake.fields['symptom']!r}: {found}"
    )


@pytest.mark.parametrize(("assignment", "cheat"), CHEATS, ids=[f"{a}/{c.name}" for a, c in CHEATS])
def test_cheat_earns_nothing_it_did_not_earn(grade, assignment, cheat):
    blank = {gid: STUB for gid in _answer_ids(assignment)}
    nb = filled_submission(
        release_notebook(assignment),
        source_notebook(assignment),
        replace=blank | {cheat.fields["cell"]: cheat.code},
    )
    report = grade(nb, assignment)
    total = sum(scores(report).values())
    assert total <= float(cheat.fields["earns"]), f"{cheat.title}: earned {total}: {scores(report)}"
