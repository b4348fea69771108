"""02_layers: full marks for the reference, zero for the blank release, and
every catalogued mistake and cheat loses exactly what it should."""

from __future__ import annotations

import re

import pytest
from catalogue import load
from course import messages, release_notebook, scores, source_notebook

from dlcourse.filled_submission import filled_submission

ASSIGNMENT = "02_layers"
MISTAKES = load("mistakes", ASSIGNMENT)
CHEATS = load("cheats", ASSIGNMENT)


def _points(report):
    return {gid: cell["points"] for gid, cell in report["cells"].items()}


def test_reference_earns_every_point(grade):
    nb = filled_submission(release_notebook(ASSIGNMENT), source_notebook(ASSIGNMENT))
    report = grade(nb, ASSIGNMENT)
    assert scores(report) == _points(report)
    assert all(c["outcome"] == "passed" for c in report["tests"]), report["tests"]


def test_blank_release_earns_nothing(grade):
    report = grade(release_notebook(ASSIGNMENT), ASSIGNMENT)
    assert set(scores(report).values()) == {0.0}
    # the student is told why, not shown a traceback
    for grade_id in report["cells"]:
        assert any("NotImplementedError" in m for m in messages(report, grade_id)), grade_id


def test_catalogue_is_large_enough():
    assert len(MISTAKES) >= 15
    assert len({m.fields["loses"] for m in MISTAKES}) >= 8


@pytest.mark.parametrize("mistake", MISTAKES, ids=[m.name for m in MISTAKES])
def test_mistake_loses_points_in_its_own_cell_only(grade, mistake):
    nb = filled_submission(
        release_notebook(ASSIGNMENT),
        source_notebook(ASSIGNMENT),
        append={mistake.fields["cell"]: mistake.code},
    )
    report = grade(nb, ASSIGNMENT)
    points, got = _points(report), scores(report)
    loses = mistake.fields["loses"]
    assert got[loses] < points[loses], f"{mistake.title}: no points lost in {loses}"
    others = {gid: s for gid, s in got.items() if gid != loses and s != points[gid]}
    assert not others, f"{mistake.title}: also lost points in {others}"
    found = messages(report, loses)
    assert any(re.search(mistake.fields["symptom"], m) for m in found), (
        f"{mistake.title}: no message matches {mistake.fields['symptom']!r}: {found}"
    )


@pytest.mark.parametrize("cheat", CHEATS, ids=[c.name for c in CHEATS])
def test_cheat_earns_nothing_it_did_not_earn(grade, cheat):
    nb = filled_submission(
        release_notebook(ASSIGNMENT),
        source_notebook(ASSIGNMENT),
        replace={gid: "# YOUR CODE HERE\nraise NotImplementedError()" for gid in _answer_ids()}
        | {cheat.fields["cell"]: cheat.code},
    )
    report = grade(nb, ASSIGNMENT)
    total = sum(scores(report).values())
    assert total <= float(cheat.fields["earns"]), f"{cheat.title}: earned {total}: {scores(report)}"


def _answer_ids() -> list[str]:
    import nbformat

    nb = nbformat.read(str(source_notebook(ASSIGNMENT)), as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]
