"""Every assignment: full marks for the reference and for every catalogued
correct variant, zero for the blank release, and every catalogued mistake
and cheat loses exactly what it should.

Assignments are discovered from source/; their catalogues from
tests/mistakes/<assignment>/, tests/variants/<assignment>/ and
tests/cheats/<assignment>/.

The reference, the variants and the mistakes are graded under each of
SEEDS in one grading session (``--grading-seeds``: every hidden check runs
once per seed, with the inputs that seed gives it), and each seed's cell
scores are checked on their own: a mistake must lose points on every seed.

A bundle is graded only in the cells whose grading can differ from the
reference's (see _cells_to_grade); every other cell runs the reference's
code, which earns every point.

Entries are graded in bundles: one submission holds several entries, each in
a different answer cell, losing in (mistakes) a different graded cell. Each
graded cell's checks run the reference for every cell but its own (see
dlcourse.program), so an entry can only move its own cell's score, and a
bundle tells each entry's result apart. Whole-notebook checks (05's final
model and plots) run every such cell's code in one notebook, so a bundle
holds at most one entry in those cells.
"""

from __future__ import annotations

import re

import nbformat
import pytest
from catalogue import Entry, load
from course import ROOT, messages, release_notebook, source_notebook

from dlcourse.filled_submission import filled_submission
from dlcourse.program import program_for
from dlcourse.submission import load_notebook, parse_notebook

# the grading seeds of CI (issue 13: every mistake loses on at least three)
SEEDS = [1, 2, 3]
ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())
# the fewest catalogued mistakes and correct variants each assignment must have
MIN_MISTAKES = {"02_layers": 15}
MIN_VARIANTS = 3
CHEATS = [(a, c) for a in ASSIGNMENTS for c in load("cheats", a)]
STUB = "# YOUR CODE HERE\nraise NotImplementedError()"


def _answer_ids(assignment: str) -> list[str]:
    nb = nbformat.read(str(source_notebook(assignment)), as_version=4)
    return [
        c.metadata["nbgrader"]["grade_id"]
        for c in nb.cells
        if c.metadata.get("nbgrader", {}).get("solution") and c.cell_type == "code"
    ]


def _whole_notebook_graded(assignment: str) -> set[str]:
    """Graded cells whose checks use ``executed_notebook`` (the grade report
    of the reference names the same ones, see test_reference_earns_every_point)."""
    cells = set()
    for path in (ROOT / "graders" / assignment).glob("test_*.py"):
        text = path.read_text()
        if "executed_notebook" in text:
            cells.update(re.findall(r"graded\(\s*[\"']([^\"']+)[\"']", text))
    return cells


def _whole_notebook_answers(assignment: str) -> set[str]:
    """Answer cells whose code the graders run in one whole-notebook
    execution (the answers of :func:`_whole_notebook_graded`)."""
    graded = load_notebook(source_notebook(assignment)).graded
    return {a for g in _whole_notebook_graded(assignment) if g in graded for a in graded[g].answers}


def _cells_to_grade(assignment: str, nb) -> list[str]:
    """The graded cells whose grading can differ from the reference's: the
    whole-notebook ones, and those whose program (the code their sandboxes
    run, :func:`dlcourse.program.program_for`) differs from the reference's.
    The others run exactly the reference's code under the same seeds, which
    test_reference_earns_every_point proves earns every point."""
    reference = load_notebook(source_notebook(assignment))
    student = parse_notebook(nb)
    filled = parse_notebook(
        filled_submission(release_notebook(assignment), source_notebook(assignment))
    )
    whole = _whole_notebook_graded(assignment)
    return sorted(
        g
        for g in reference.graded
        if g in whole or program_for(g, reference, student) != program_for(g, reference, filled)
    )


def _bundles(assignment: str, entries: list[Entry]) -> list[list[Entry]]:
    """First-fit: no two entries of a bundle share an answer cell or a
    graded cell they lose, and at most one is in a whole-notebook cell."""
    whole = _whole_notebook_answers(assignment)
    bundles: list[list[Entry]] = []
    for entry in sorted(entries, key=lambda e: e.name):
        cell, loses = entry.fields["cell"], entry.fields.get("loses")
        for bundle in bundles:
            cells = {e.fields["cell"] for e in bundle}
            lost = {e.fields.get("loses") for e in bundle} - {None}
            if cell in cells or (loses and loses in lost):
                continue
            if cell in whole and cells & whole:
                continue
            bundle.append(entry)
            break
        else:
            bundles.append([entry])
    return bundles


def _cases(kind: str) -> list:
    cases = []
    for a in ASSIGNMENTS:
        for i, bundle in enumerate(_bundles(a, load(kind, a))):
            names = "+".join(e.name for e in bundle)
            cases.append(pytest.param(a, bundle, id=f"{a}/{i}:{names[:80]}"))
    return cases


def _submission(assignment: str, bundle: list[Entry], mode: str):
    """The reference with every entry of ``bundle`` planted; ``mode``:
    "append" or "replace", for entries whose ``mode:`` does not say."""
    modes = {e.name: e.fields.get("mode", mode) for e in bundle}
    replace = {e.fields["cell"]: e.code for e in bundle if modes[e.name] == "replace"}
    append = {e.fields["cell"]: e.code for e in bundle if modes[e.name] == "append"}
    return filled_submission(
        release_notebook(assignment), source_notebook(assignment), replace=replace, append=append
    )


def _rounds(report: dict) -> dict[int, dict]:
    """seed -> that seed's cells; every seed of SEEDS must be there."""
    rounds = {int(s): cells for s, cells in report.get("rounds", {}).items()}
    assert sorted(rounds) == SEEDS, f"graded under seeds {sorted(rounds)}, not {SEEDS}"
    return rounds


def _no_grader_errors(report: dict) -> None:
    errors = [f"{t['check']}: {t['message']}" for t in report["tests"] if t["outcome"] == "error"]
    assert not errors, f"the graders could not run: {errors}"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_reference_earns_every_point(grade, assignment):
    nb = filled_submission(release_notebook(assignment), source_notebook(assignment))
    report = grade(nb, assignment, seeds=SEEDS)
    assert report["cells"], "no graded cells found"
    # the whole-notebook cells this file's bundles and _cells_to_grade rely on
    assert set(report.get("executed_cells", [])) == _whole_notebook_graded(assignment)
    for seed, cells in _rounds(report).items():
        short = {
            g: (
                c["score"],
                [(m["check"], m["message"]) for m in c["checks"] if m["outcome"] != "passed"],
            )
            for g, c in cells.items()
            if c["score"] != c["points"]
        }
        assert not short, f"seed {seed}: {short}"
    assert all(c["outcome"] == "passed" for c in report["tests"]), report["tests"]


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_blank_release_earns_nothing(grade, assignment):
    report = grade(release_notebook(assignment), assignment)
    assert {c["score"] for c in report["cells"].values()} == {0.0}
    # the student is told why, in words
    for grade_id in report["cells"]:
        assert any("NotImplementedError" in m for m in messages(report, grade_id)), grade_id


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_catalogues_are_large_enough(assignment):
    answer_ids = set(_answer_ids(assignment))
    mistakes, variants = load("mistakes", assignment), load("variants", assignment)
    assert len(mistakes) >= MIN_MISTAKES.get(assignment, 10)
    assert len(variants) >= MIN_VARIANTS
    for entry in mistakes + variants:
        assert entry.fields["cell"] in answer_ids, entry.name


def test_bundles_keep_entries_apart():
    """The rule the bundled tests rely on, on every catalogue."""
    for a in ASSIGNMENTS:
        whole = _whole_notebook_answers(a)
        for kind in ("mistakes", "variants"):
            entries = load(kind, a)
            bundles = _bundles(a, entries)
            assert sorted(e.name for b in bundles for e in b) == sorted(e.name for e in entries)
            for bundle in bundles:
                cells = [e.fields["cell"] for e in bundle]
                lost = [e.fields["loses"] for e in bundle if "loses" in e.fields]
                assert len(set(cells)) == len(cells) and len(set(lost)) == len(lost), bundle
                assert len([c for c in cells if c in whole]) <= 1, bundle
    # 05's final model is a whole-notebook check: its answer cells are known
    assert "final_training" in _whole_notebook_answers("05_fashion_mnist")


@pytest.mark.parametrize(("assignment", "bundle"), _cases("variants"))
def test_correct_variants_earn_every_point(grade, assignment, bundle):
    nb = _submission(assignment, bundle, "replace")
    graded = _cells_to_grade(assignment, nb)
    assert graded, f"the variants {[e.name for e in bundle]} change no graded cell's code"
    report = grade(nb, assignment, seeds=SEEDS, only_cells=graded)
    _no_grader_errors(report)
    names = [e.name for e in bundle]
    for seed, cells in _rounds(report).items():
        short = {
            g: (c["score"], [m["message"] for m in c["checks"] if m["outcome"] != "passed"])
            for g, c in cells.items()
            if g in graded and c["score"] != c["points"]
        }
        assert not short, f"seed {seed}: correct variants {names} lost points: {short}"


@pytest.mark.parametrize(("assignment", "bundle"), _cases("mistakes"))
def test_mistakes_lose_points_in_their_own_cells_only(grade, assignment, bundle):
    nb = _submission(assignment, bundle, "append")
    graded = _cells_to_grade(assignment, nb)
    planted = {e.fields["loses"] for e in bundle}
    assert planted <= set(graded), f"the mistakes do not change {planted - set(graded)}"
    report = grade(nb, assignment, seeds=SEEDS, only_cells=graded)
    _no_grader_errors(report)
    for seed, cells in _rounds(report).items():
        for entry in bundle:
            loses = entry.fields["loses"]
            cell = cells[loses]
            assert cell["score"] < cell["points"], (
                f"seed {seed}: {entry.name} ({entry.title}): no points lost in {loses}"
            )
            found = [c["message"] for c in cell["checks"] if c["outcome"] != "passed"]
            assert any(re.search(entry.fields["symptom"], m) for m in found), (
                f"seed {seed}: {entry.name}: no message matches {entry.fields['symptom']!r}: {found}"
            )
        others = {
            g: c["score"]
            for g, c in cells.items()
            if g in graded and g not in planted and c["score"] != c["points"]
        }
        assert not others, f"seed {seed}: {[e.name for e in bundle]} also lost points in {others}"


@pytest.mark.parametrize(("assignment", "cheat"), CHEATS, ids=[f"{a}/{c.name}" for a, c in CHEATS])
def test_cheat_earns_nothing_it_did_not_earn(grade, assignment, cheat):
    blank = {gid: STUB for gid in _answer_ids(assignment)}
    nb = filled_submission(
        release_notebook(assignment),
        source_notebook(assignment),
        replace=blank | {cheat.fields["cell"]: cheat.code},
    )
    report = grade(nb, assignment)
    total = sum(c["score"] for c in report["cells"].values())
    assert total <= float(cheat.fields["earns"]), f"{cheat.title}: earned {total}"
