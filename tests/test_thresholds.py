"""A visible check and the hidden checks of its cell never disagree on a number.

A student who passes every visible check and reads every sentence of the
notebook must not be surprised by a hidden bound: the number a visible check
asserts, the number the markdown states and the number the hidden grader
uses are one number. This test reads both sides statically (no notebook or
grader runs), for every graded cell of every source notebook.

The hidden side, per grade_id (the tests marked ``graded("<grade_id>")``):

- *bounds*: every number a hidden check compares with, that is a literal
  side of a comparison (``err < 1e-9``, ``a < 0.9 * b``), an ``atol=``,
  ``rtol=`` or ``tolerance=`` argument (the defaults of ``expect_close`` and
  ``gradcheck`` when they are called without them), and the module constants the checks use that follow the
  convention below, in the test module or in the assignment's conftest;
- *stated thresholds*: module constants named ``MIN_<QUANTITY>``,
  ``MAX_<QUANTITY>`` or ``<QUANTITY>_MARGIN`` (a number or a dict of
  numbers). This is the graders' convention for a bound the notebook must
  state: such a constant is read here and must appear in the notebook.
  Resource limits (names ending in ``_BYTES`` or ``_SECONDS``) bound the
  grader's work, not the answer, and are not stated thresholds.

The visible side: the graded cell's code, and the markdown written since the
previous graded cell (the part's text). Checked:

1. every bound a visible ``assert`` uses (a literal side of ``<``, ``<=``,
   ``>``, ``>=``, also as ``c * x``; ``atol=``, ``rtol=``, ``tolerance=``;
   not a count such as ``len(lines) >= 2``) is a bound of the hidden checks
   of that cell;
2. every stated threshold of the hidden checks is asserted by the visible
   check or written in the part's markdown;
3. every percentage the part's text, or the visible check's comments and
   messages, give as a bound ("at least 87%", "well over 60%") is a hidden
   bound of that cell (the introduction's: of any cell of the notebook).

Two rules of the same kind: a visible check never computes a gradient check
without asserting it, and every visible check says what the hidden graders
check beyond it.
"""

from __future__ import annotations

import ast
import inspect
import math
import re
from dataclasses import dataclass, field
from functools import cache

import nbformat
import pytest
from course import ROOT, source_notebook

from dlcourse.checks import expect_close
from dlcourse.gradcheck import gradcheck

ASSIGNMENTS = sorted(p.name for p in (ROOT / "source").iterdir() if p.is_dir())

STATED = re.compile(r"^(MIN|MAX)_[A-Z0-9_]+$|^[A-Z0-9_]+_MARGIN$")
RESOURCE = re.compile(r"_(BYTES|SECONDS)$")
TOLERANCE = re.compile(r"^(ATOL|RTOL)$|_(ATOL|RTOL)$")
INEQUALITIES = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)
# "at least 87%", "should reach well over 60%", "below 5 %": a percentage given as a bound
PERCENT_BOUND = re.compile(
    r"(?:at least|at most|no more than|no less than|more than|less than|above|below|under|"
    r"over|within|must reach|>=|<=|≥|≤)\s+(?:about\s+)?(\d+(?:\.\d+)?)\s*(?:%|\\%|percent)",
    re.IGNORECASE,
)
TOLERANCE_ARGUMENTS = ("atol", "rtol", "tolerance")
# the bounds a hidden check uses when it calls these without the tolerance arguments
DEFAULT_BOUNDS = {
    fn.__name__: {
        p.default
        for name, p in inspect.signature(fn).parameters.items()
        if name in TOLERANCE_ARGUMENTS
    }
    for fn in (expect_close, gradcheck)
}


def _same(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-15)


def _member(value: float, values) -> bool:
    return any(_same(value, v) for v in values)


def _number(node: ast.AST, names: dict | None = None):
    """The value of a constant expression (a number, or a dict of numbers;
    ``names`` resolves Names bound to constants), else None."""
    names = names or {}
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, ast.Name) and node.id in names:
        return names[node.id]
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        value = _number(node.operand, names)
        if isinstance(value, (int, float)):
            return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp):
        a, b = _number(node.left, names), _number(node.right, names)
        if isinstance(a, (int, float)) and isinstance(b, (int, float)):
            ops = {
                ast.Add: lambda: a + b,
                ast.Sub: lambda: a - b,
                ast.Mult: lambda: a * b,
                ast.Div: lambda: a / b,
                ast.Pow: lambda: a**b,
            }
            if type(node.op) in ops:
                try:
                    return ops[type(node.op)]()
                except (ArithmeticError, ValueError):
                    return None
    if isinstance(node, ast.Dict) and all(k is not None for k in node.keys):
        values = [_number(v, names) for v in node.values]
        if all(isinstance(v, (int, float)) for v in values):
            return dict(zip([ast.unparse(k) for k in node.keys], values, strict=True))
    return None


def _flat(value) -> list[float]:
    if isinstance(value, dict):
        return [float(v) for v in value.values()]
    return [float(value)]


def _bound(side: ast.AST, names: dict) -> float | None:
    """The number an inequality compares with on this side: a literal, or the
    literal factor of ``c * x`` (a bound relative to x); None otherwise."""
    value = _number(side, names)
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(side, ast.BinOp) and isinstance(side.op, ast.Mult):
        for a, b in ((side.left, side.right), (side.right, side.left)):
            value = _number(a, names)
            if isinstance(value, (int, float)) and _number(b, names) is None:
                return float(value)
    return None


def _is_count(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and ast.unparse(node.func) == "len"


def _inequality_bounds(tree: ast.AST, names: dict) -> list[tuple[float, str]]:
    """(bound, source) of every inequality and atol/rtol argument under ``tree``."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            for op, left, right in zip(node.ops, sides, sides[1:], strict=False):
                if not isinstance(op, INEQUALITIES):
                    continue
                if any(_is_count(side) for side in (left, right)):
                    continue  # how many lines, bars, images: the structure, not a bound
                for side in (left, right):
                    value = _bound(side, names)
                    if value is not None:
                        found.append((value, ast.unparse(node)))
        elif isinstance(node, ast.keyword) and node.arg in TOLERANCE_ARGUMENTS:
            value = _number(node.value, names)
            if isinstance(value, (int, float)):
                found.append((float(value), f"{node.arg}={ast.unparse(node.value)}"))
    return found


# ---------------------------------------------------------------------------------------------
# the hidden side


@dataclass
class Hidden:
    bounds: set[float] = field(default_factory=set)
    stated: dict[str, object] = field(default_factory=dict)  # constant name -> value


def _constants(module: ast.Module) -> dict[str, object]:
    """Module-level NAME = <constant expression> (also NAME, OTHER = a, b)."""
    out = {}
    for node in module.body:
        if not isinstance(node, ast.Assign):
            continue
        for target in node.targets:
            if isinstance(target, ast.Name):
                value = _number(node.value, out)
                if value is not None:
                    out[target.id] = value
            elif isinstance(target, ast.Tuple) and isinstance(node.value, ast.Tuple):
                for t, v in zip(target.elts, node.value.elts, strict=False):
                    value = _number(v, out)
                    if isinstance(t, ast.Name) and value is not None:
                        out[t.id] = value
    return out


def _grade_ids(decorators: list[ast.expr]) -> list[str]:
    ids = []
    for node in decorators:
        for call in ast.walk(node):
            if (
                isinstance(call, ast.Call)
                and ast.unparse(call.func).split(".")[-1] == "graded"
                and call.args
                and isinstance(call.args[0], ast.Constant)
            ):
                ids.append(call.args[0].value)
    return ids


def _module_grade_ids(module: ast.Module) -> list[str]:
    for node in module.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            return _grade_ids([node.value])
    return []


def _reached(start: ast.FunctionDef, functions: dict[str, ast.FunctionDef]) -> list[ast.AST]:
    """``start`` and the module's functions and fixtures it uses, transitively
    (a fixture is used by naming it as a parameter)."""
    seen, todo, out = set(), [start], []
    while todo:
        fn = todo.pop()
        if fn.name in seen:
            continue
        seen.add(fn.name)
        out.append(fn)
        used = {n.id for n in ast.walk(fn) if isinstance(n, ast.Name)}
        used |= {a.arg for a in fn.args.args}
        todo += [functions[name] for name in used & set(functions)]
    return out


@cache
def hidden_checks(assignment: str) -> dict[str, Hidden]:
    """grade_id -> the bounds and stated thresholds of its hidden checks."""
    folder = ROOT / "graders" / assignment
    shared: dict[str, object] = {}
    conftest = folder / "conftest.py"
    if conftest.exists():
        shared = _constants(ast.parse(conftest.read_text()))
    out: dict[str, Hidden] = {}
    for path in sorted(folder.glob("test_*.py")):
        module = ast.parse(path.read_text())
        constants = {**shared, **_constants(module)}
        functions = {n.name: n for n in module.body if isinstance(n, ast.FunctionDef)}
        default_ids = _module_grade_ids(module)
        for fn in functions.values():
            if not fn.name.startswith("test_"):
                continue
            ids = _grade_ids(fn.decorator_list) or default_ids
            assert ids, f"{path.name}::{fn.name} is tied to no graded cell"
            hidden = [out.setdefault(i, Hidden()) for i in ids]
            reached = _reached(fn, functions)
            names = {n.id for f in reached for n in ast.walk(f) if isinstance(n, ast.Name)}
            # the conftest's tolerances reach the checks through its fixtures
            names |= {name for name in shared if TOLERANCE.search(name)}
            bounds = {value for f in reached for value, _ in _inequality_bounds(f, constants)}
            called = {
                ast.unparse(n.func).split(".")[-1]
                for f in reached
                for n in ast.walk(f)
                if isinstance(n, ast.Call)
            }
            for name in called & set(DEFAULT_BOUNDS):
                bounds |= DEFAULT_BOUNDS[name]
            for name in names & set(constants):
                if STATED.search(name) or TOLERANCE.search(name):
                    bounds |= set(_flat(constants[name]))
            for h in hidden:
                h.bounds |= bounds
                for name in names & set(constants):
                    if STATED.search(name) and not RESOURCE.search(name):
                        h.stated[name] = constants[name]
    return out


# ---------------------------------------------------------------------------------------------
# the visible side


@dataclass
class Part:
    grade_id: str
    code: str  # the visible check
    text: str  # the markdown since the previous graded cell


def _is_graded_code(cell) -> bool:
    meta = cell.metadata.get("nbgrader", {})
    return cell.cell_type == "code" and meta.get("grade") and not meta.get("solution")


@cache
def notebook(assignment: str) -> tuple[str, tuple[Part, ...]]:
    """(the introduction, the graded code cells with the markdown of their part)."""
    nb = nbformat.read(str(source_notebook(assignment)), as_version=4)
    intro = nb.cells[0].source if nb.cells and nb.cells[0].cell_type == "markdown" else ""
    parts, text = [], []
    for cell in nb.cells[1:]:
        if cell.cell_type == "markdown" and not cell.metadata.get("nbgrader", {}).get("solution"):
            text.append(cell.source)
        elif _is_graded_code(cell):
            parts.append(Part(cell.metadata["nbgrader"]["grade_id"], cell.source, "\n".join(text)))
            text = []
    return intro, tuple(parts)


def _cell_names(tree: ast.Module) -> dict[str, float]:
    """Names the cell binds to a number once (``TOL = 1e-4``), for its asserts."""
    names: dict[str, float] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            value = _number(node.value)
            if isinstance(target, ast.Name) and isinstance(value, (int, float)):
                names[target.id] = value
    return names


def visible_bounds(code: str) -> list[tuple[float, str]]:
    """(bound, assert) of every number a visible assert compares with; 0 (a sign) is no bound."""
    tree = ast.parse(code)
    names = _cell_names(tree)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Assert):
            out += [(v, src) for v, src in _inequality_bounds(node.test, names) if v != 0]
    return out


def _percent_bounds(text: str) -> list[tuple[float, str]]:
    return [(float(m.group(1)) / 100, m.group(0)) for m in PERCENT_BOUND.finditer(text)]


def _as_fraction(p: float, bounds) -> bool:
    """A percentage names a bound as a fraction (87% -> 0.87) or a relative margin (0.1% -> 1.001)."""
    return _member(p, bounds) or _member(1 + p, bounds) or _member(1 - p, bounds)


def _spellings(value: float) -> set[str]:
    """How the markdown may write a stated number: 0.87 -> 87%, 0.87; 1e-4 -> 1e-4, 10^{-4}."""
    out = {f"{value:g}", repr(value), f"{value:.2f}", f"{value:.3f}"}
    if 0 < value <= 1:
        out |= {f"{100 * value:g}%", f"{100 * value:g} %", f"{100 * value:g}\\%"}
    if value > 0 and _same(value, 10 ** round(math.log10(value))):
        k = round(math.log10(value))
        out |= {f"10^{{{k}}}", f"10^{k}", f"1e{k}"}
    return out


def _in_text(value: float, text: str) -> bool:
    for spelling in _spellings(value):
        # a whole number, not the "0.87" of "0.875" nor the "87%" of "187%"
        if re.search(rf"(?<![\d.]){re.escape(spelling)}(?![\d])", text):
            return True
    return False


def _cases():
    for a in ASSIGNMENTS:
        for part in notebook(a)[1]:
            yield pytest.param(a, part.grade_id, id=f"{a}-{part.grade_id}")


def _part(assignment, grade_id) -> tuple[Part, Hidden]:
    part = next(p for p in notebook(assignment)[1] if p.grade_id == grade_id)
    return part, hidden_checks(assignment).get(grade_id, Hidden())


# ---------------------------------------------------------------------------------------------
# the checks


@pytest.mark.parametrize(("assignment", "grade_id"), list(_cases()))
def test_visible_bounds_are_hidden_bounds(assignment, grade_id):
    """1. Every bound a visible check asserts is a bound its hidden checks use."""
    part, hidden = _part(assignment, grade_id)
    wrong = [
        f"`{src}` uses {value:g}"
        for value, src in visible_bounds(part.code)
        if not _member(value, hidden.bounds)
    ]
    assert not wrong, (
        f"{assignment} {grade_id}: the visible check and the hidden checks disagree: "
        + "; ".join(wrong)
        + f" (the hidden checks use {sorted(hidden.bounds)})"
    )


@pytest.mark.parametrize(("assignment", "grade_id"), list(_cases()))
def test_stated_thresholds_appear_in_the_notebook(assignment, grade_id):
    """2. Every MIN_/MAX_/_MARGIN constant of the hidden checks is asserted or written."""
    part, hidden = _part(assignment, grade_id)
    asserted = [v for v, _ in visible_bounds(part.code)]
    missing = [
        f"{name} = {value!r}"
        for name, value in hidden.stated.items()
        if not all(_member(v, asserted) or _in_text(v, part.text) for v in _flat(value))
    ]
    assert not missing, (
        f"{assignment} {grade_id}: the hidden checks use {', '.join(missing)}, which neither the "
        "visible check asserts nor the part's text states"
    )


@pytest.mark.parametrize(("assignment", "grade_id"), list(_cases()))
def test_stated_percentages_are_hidden_bounds(assignment, grade_id):
    """3. A percentage the part's text or its visible check give as a bound is a hidden bound."""
    part, hidden = _part(assignment, grade_id)
    wrong = [
        f"'{src}'"
        for p, src in _percent_bounds(part.text + "\n" + part.code)
        if not _as_fraction(p, hidden.bounds)
    ]
    assert not wrong, (
        f"{assignment} {grade_id}: the notebook states {', '.join(wrong)}, but the hidden checks "
        f"of {grade_id} use {sorted(hidden.bounds)}"
    )


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_introduction_percentages_are_hidden_bounds(assignment):
    """3. A percentage the introduction gives as a bound is a bound of some hidden check."""
    intro = notebook(assignment)[0]
    every = set().union(*(h.bounds for h in hidden_checks(assignment).values()))
    wrong = [src for p, src in _percent_bounds(intro) if not _as_fraction(p, every)]
    assert not wrong, f"{assignment}: the introduction states {wrong}; no hidden check uses them"


def _unasserted_gradchecks(code: str) -> list[str]:
    """gradcheck(...) calls whose report no assert of the cell reads."""
    tree = ast.parse(code)
    asserted = {
        n.id
        for a in ast.walk(tree)
        if isinstance(a, ast.Assert)
        for n in ast.walk(a.test)
        if isinstance(n, ast.Name)
    }
    in_assert = {
        id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) for n in ast.walk(a.test)
    }
    bound = {
        id(node.value): node.targets[0].id
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and len(node.targets) == 1
        and isinstance(node.targets[0], ast.Name)
    }
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).split(".")[-1] == "gradcheck"
        and id(node) not in in_assert
        and bound.get(id(node)) not in asserted
    ]


@pytest.mark.parametrize(("assignment", "grade_id"), list(_cases()))
def test_gradient_checks_are_asserted(assignment, grade_id):
    """A visible check that runs a gradient check asserts its outcome (printing it is not enough)."""
    part, _ = _part(assignment, grade_id)
    loose = _unasserted_gradchecks(part.code)
    assert not loose, f"{assignment} {grade_id}: no assert reads the outcome of {loose}"


@pytest.mark.parametrize(("assignment", "grade_id"), list(_cases()))
def test_visible_check_says_what_the_hidden_graders_add(assignment, grade_id):
    """Every visible check tells the student what the hidden graders check beyond it."""
    part, _ = _part(assignment, grade_id)
    comments = " ".join(
        line.strip().lstrip("#").strip()
        for line in part.code.splitlines()
        if line.strip().startswith("#")
    )
    assert re.search(r"\bhidden graders\b", comments, re.IGNORECASE), (
        f"{assignment} {grade_id}: the visible check has no comment saying what the hidden "
        "graders check beyond it (e.g. '# The hidden graders also check ... on other shapes.')"
    )


def test_the_readers_find_what_they_must():
    """The readers themselves: known bounds on both sides are found (a reader that
    finds nothing would let every check above pass)."""
    hidden = hidden_checks("05_fashion_mnist")["test_final_model"]
    assert "MIN_ACCURACY" in hidden.stated and not any(RESOURCE.search(n) for n in hidden.stated)
    assert _member(0.87, hidden.bounds)
    assert _member(0.05, hidden_checks("02_layers")["test_linear"].bounds)  # inline 0.05 * a
    assert [v for v, _ in visible_bounds("assert acc >= 0.87, 'msg'")] == [0.87]
    assert [v for v, _ in visible_bounds("assert a < 1.001 * b and abs(c - 5.0) < 0.005")] == [
        1.001,
        0.005,
    ]
    assert [v for v, _ in visible_bounds("assert np.allclose(a, b, atol=1e-4)")] == [1e-4]
    assert [v for v, _ in visible_bounds("T = 0.3\nassert x <= T")] == [0.3]
    assert [p for p, _ in _percent_bounds("it must reach at least 86% and well over 60 %")] == [
        0.86,
        0.6,
    ]
    assert _in_text(0.87, "at least 87%") and not _in_text(0.87, "0.875 or 187%")
    assert _in_text(1e-4, "within $10^{-4}$ of") and _in_text(0.3, "within 0.3 of")
    assert _unasserted_gradchecks("print(gradcheck(f, x, g))") == ["gradcheck(f, x, g)"]
    assert _unasserted_gradchecks("r = gradcheck(f, x, g)\nassert r.ok") == []
