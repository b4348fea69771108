"""Reading a notebook as the graders see it: setup, answer and graded cells.

Works on any nbformat-4 notebook (older versions are converted) and never
executes anything. Roles come from nbgrader's cell metadata:

- setup: code cells that are locked but not graded (imports, given helpers);
- answer: code cells with ``solution: true``, keyed by ``grade_id``;
- graded: code cells with ``grade: true`` and ``solution: false`` (the cells
  that carry the points and the visible checks);
- manual: markdown cells with ``grade: true`` (theory answers).

A locked cell whose metadata says ``"dlcourse": {"role": "display"}`` is not
setup: it uses the whole notebook's results (trains the final model, draws
its figures), so nbgrader runs it but graders never run it in a sandbox.
Graders that need its results read them from the executed notebook (see
:mod:`dlcourse.execution`). Likewise an answer cell marked
``"dlcourse": {"role": "run"}`` holds the student's experiment (training the
final model on the whole dataset): graders judge it from the notebook's run
and never run it in the sandbox of another graded cell.

Cells without nbgrader metadata (a student's scratch cells) are ignored.
"""

from __future__ import annotations

import ast
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

SOLUTION_MARKER = re.compile(r"^\s*###\s*(BEGIN|END)\s+SOLUTION\s*$", re.MULTILINE)


class SubmissionError(ValueError):
    """The file cannot be read as a notebook; the message says why in words."""


@dataclass
class GradedCell:
    grade_id: str
    points: float
    answers: list[str] = field(default_factory=list)  # answer grade_ids this cell grades


@dataclass
class Notebook:
    """The code a grader needs from one notebook.

    ``order``: (role, key) pairs in notebook order, role in {"setup",
    "answer"}; ``setup``: index -> code; ``answers``: grade_id -> code;
    ``graded``: grade_id -> GradedCell; ``duplicates``: grade_ids that occur
    more than once (the last occurrence is used, as nbgrader does); ``runs``:
    answer cells that only the notebook's run executes.
    """

    path: Path | None
    order: list[tuple[str, str]]
    setup: dict[str, str]
    answers: dict[str, str]
    graded: dict[str, GradedCell]
    duplicates: list[str]
    runs: set[str] = field(default_factory=set)


def _source(cell) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def strip_magics(code: str) -> str:
    """Comment out IPython magics and shell escapes, which plain Python cannot run."""
    lines = []
    for line in code.splitlines():
        stripped = line.lstrip()
        lines.append("# " + line if stripped.startswith(("%", "!")) else line)
    return "\n".join(lines)


def strip_solution_markers(code: str) -> str:
    """The code an instructor wrote, minus the BEGIN/END SOLUTION marker lines."""
    return SOLUTION_MARKER.sub("", code)


# Both parse and rebuild code (about 1 ms a cell); a grading asks for the
# same answer cell's once per graded cell of the notebook. Pure functions of
# their strings, so each result is kept for the process.
@functools.lru_cache(maxsize=512)
def definitions_only(code: str) -> str:
    """Only the imports, functions, classes and assignments of ``code``.

    Used for the answer cells of *other* graded cells, so that a student's own
    helpers stay defined without re-running their experiments.
    """
    tree = _parsed(code)
    if tree is None:
        return ""
    keep = (
        ast.Import,
        ast.ImportFrom,
        ast.FunctionDef,
        ast.AsyncFunctionDef,
        ast.ClassDef,
        ast.Assign,
        ast.AnnAssign,
    )
    return _source_of(code, [node for node in tree.body if isinstance(node, keep)])


def _parsed(code: str) -> ast.Module | None:
    """The syntax tree of ``code``; None for code Python cannot compile: a
    syntax error, or an expression nested so deeply (a sum of some thousands
    of terms) that the parser runs out of recursion, as Python's own compiler
    then does in the kernel. Parsed in a thread of its own: how deep the
    parser may go depends on how many frames the caller already uses, and
    the answer must not depend on where in the graders it is asked first
    (it is cached)."""
    import threading

    found: list = [None]

    def parse() -> None:
        try:
            found[0] = ast.parse(code)
        except (SyntaxError, RecursionError, MemoryError, ValueError):
            pass

    thread = threading.Thread(target=parse, name="dlcourse-parse")
    thread.start()
    thread.join()
    return found[0]


def _source_of(code: str, statements: list) -> str:
    """The top-level ``statements`` of ``code``'s tree as code: rebuilt by
    ast.unparse (the same text for the same program, whatever its layout),
    or, where an expression is nested deeper than unparse's recursion allows
    (a sum of about 500 terms, which Python itself compiles), cut from the
    source text."""
    try:
        return ast.unparse(ast.Module(body=statements, type_ignores=[]))
    except RecursionError:
        return "\n".join(_segment(code, node) for node in statements)


class _Span:
    """Where a statement's text lies, as ast.get_source_segment reads it."""

    def __init__(self, lineno: int, col_offset: int, end_lineno: int, end_col_offset: int):
        self.lineno, self.col_offset = lineno, col_offset
        self.end_lineno, self.end_col_offset = end_lineno, end_col_offset


def _segment(code: str, node: ast.stmt) -> str:
    """The text of the top-level statement ``node`` in ``code``, decorators
    included (a def's or class's position starts at its keyword: its
    decorators, each on a line of its own, come before)."""
    decorators = getattr(node, "decorator_list", None)
    if decorators:
        first = min(d.lineno for d in decorators)
        node = _Span(first, 0, node.end_lineno, node.end_col_offset)
    return ast.get_source_segment(code, node) or ""


def _run_at_definition(node) -> list:
    """The parts of a top-level statement Python evaluates when the
    statement runs (not when a function it defines is called)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        args = node.args
        every = args.posonlyargs + args.args + args.kwonlyargs + [args.vararg, args.kwarg]
        annotations = [a.annotation for a in every if a is not None and a.annotation]
        return [
            *node.decorator_list,
            *args.defaults,
            *(d for d in args.kw_defaults if d is not None),
            *annotations,
            *([node.returns] if node.returns else []),
        ]
    if isinstance(node, ast.ClassDef):
        parts = [*node.decorator_list, *node.bases, *(k.value for k in node.keywords)]
        for statement in node.body:
            parts += _run_at_definition(statement)
        return parts
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return []
    return [node]


def _decorated(node) -> bool:
    """A statement that calls a decorator as it runs (a decorator is called,
    with or without parentheses), counting a class body's methods."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return bool(node.decorator_list)
    if isinstance(node, ast.ClassDef):
        return bool(node.decorator_list) or any(map(_decorated, node.body))
    return False


def _reads(node) -> set[str]:
    """Names a top-level statement reads as it runs."""
    return {
        n.id
        for part in _run_at_definition(node)
        for n in ast.walk(part)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)
    }


def _binding(node) -> set[str] | None:
    """The names a top-level statement binds when all it does as it runs is
    bind them: a def or class that calls nothing (no decorator, no call, no
    walrus in its defaults, annotations, bases or class body), an import
    other than ``*``, or an assignment to plain names of a value that calls
    nothing. None for any other statement."""
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        if any(alias.name == "*" for alias in node.names):
            return None
        return {(alias.asname or alias.name).split(".")[0] for alias in node.names}
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        names = {node.name}
    elif isinstance(node, ast.Assign) and all(isinstance(t, ast.Name) for t in node.targets):
        names = {t.id for t in node.targets}
    else:
        return None
    if _decorated(node) or any(
        isinstance(n, (ast.Call, ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom))
        for part in _run_at_definition(node)
        for n in ast.walk(part)
    ):
        return None
    return names


def _rebound_first(reference: list) -> tuple[set[str], set[str]]:
    """(names, imports) the reference cell binds before it runs anything
    else, and before reading them: the student's definitions of these names
    are replaced before any code can see them. ``imports``: those bound by
    an import, as ast.dump of the import statement."""
    names, imports, read = set(), set(), set()
    for node in reference:
        bound = _binding(node)
        if bound is None:
            break
        read |= _reads(node)
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            imports.add(ast.dump(node))
        names |= bound - read
    return names, imports


@functools.lru_cache(maxsize=512)
def student_helpers(student_code: str, reference_code: str) -> str:
    """The definitions of a student's answer cell (:func:`definitions_only`)
    that matter once the reference solution of the same cell has run right
    after them: the student's own helpers.

    Left out is only a def, class or import that merely binds names (see
    :func:`_binding`; an import only where the reference has the very same
    import) which the reference binds again before it runs or reads
    anything, placed after the student's last statement that runs code (a
    call there may use it), and whose names no statement that stays reads as
    it runs (``class Wider(Net)``). Whatever is left out, the names then
    hold what they held before. Leaving those out makes the code run for
    submissions that differ only there identical (the graders' programs,
    the isolated notebook and its cached run)."""
    helpers = definitions_only(student_code)
    try:
        return _without_rebound(helpers, reference_code)
    except (SyntaxError, RecursionError, MemoryError, ValueError):
        # code too deeply nested to walk (see _source_of): every definition
        # stays, which runs the same
        return helpers


def _without_rebound(helpers: str, reference_code: str) -> str:
    """:func:`student_helpers` of the definitions ``helpers``."""
    rebound, imports = _rebound_first(ast.parse(reference_code).body)
    tree = ast.parse(helpers)
    body = tree.body
    bindings = [_binding(node) for node in body]
    runs_code = [i for i, bound in enumerate(bindings) if bound is None]
    after = runs_code[-1] + 1 if runs_code else 0

    def replaced(i: int) -> bool:
        node, bound = body[i], bindings[i]
        if isinstance(node, ast.Assign):
            return False
        if isinstance(node, (ast.Import, ast.ImportFrom)) and ast.dump(node) not in imports:
            return False
        return bool(bound) and bound <= rebound

    droppable = {i for i in range(after, len(body)) if replaced(i)}
    while True:
        needed = set().union(*(_reads(n) for i, n in enumerate(body) if i not in droppable))
        kept_now = {i for i in droppable if bindings[i] & needed}
        if not kept_now:
            break
        droppable -= kept_now
    return _source_of(helpers, [n for i, n in enumerate(body) if i not in droppable])


def read_notebook_json(path: str | Path) -> dict:
    """Parse ``path`` into an nbformat-4 dict, with a sentence on failure."""
    import nbformat

    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise SubmissionError(f"cannot read {path.name}: {exc.strerror}") from None
    if not raw.strip():
        raise SubmissionError(f"{path.name} is empty")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SubmissionError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SubmissionError(
            f"{path.name} is not valid notebook JSON (line {exc.lineno}, column {exc.colno}: "
            f"{exc.msg})"
        ) from None
    if not isinstance(data, dict) or "cells" not in data and "worksheets" not in data:
        raise SubmissionError(f"{path.name} is JSON but not a notebook")
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as exc:  # nbformat raises many kinds
        raise SubmissionError(f"{path.name} cannot be converted to nbformat 4: {exc}") from None
    return nb


def _role(cell) -> str | None:
    extra = (cell.get("metadata") or {}).get("dlcourse") or {}
    return extra.get("role") if isinstance(extra, dict) else None


def is_display(cell) -> bool:
    """A locked cell that only nbgrader runs (see the module docstring)."""
    return _role(cell) == "display"


def parse_notebook(nb: dict, path: Path | None = None) -> Notebook:
    order: list[tuple[str, str]] = []
    setup: dict[str, str] = {}
    answers: dict[str, str] = {}
    graded: dict[str, GradedCell] = {}
    seen: set[str] = set()
    duplicates: list[str] = []
    runs: set[str] = set()
    pending: list[str] = []
    last_group: list[str] = []
    for index, cell in enumerate(nb.get("cells", [])):
        meta = (cell.get("metadata") or {}).get("nbgrader") or {}
        if not isinstance(meta, dict):
            continue
        grade_id = str(meta.get("grade_id", f"cell-{index}"))
        is_code = cell.get("cell_type") == "code"
        if meta.get("grade_id") is not None and meta.get("grade_id") in seen:
            duplicates.append(grade_id)
        if meta.get("grade_id") is not None:
            seen.add(grade_id)
        if is_code and meta.get("solution"):
            if grade_id not in answers:
                order.append(("answer", grade_id))
                pending.append(grade_id)
            answers[grade_id] = _source(cell)
            if _role(cell) == "run":
                runs.add(grade_id)
        elif is_code and meta.get("grade") and not meta.get("solution"):
            # a graded cell grades the answers since the previous graded cell;
            # a graded cell right after another grades the same answers
            group = pending or last_group
            graded[grade_id] = GradedCell(grade_id, float(meta.get("points", 0)), list(group))
            last_group, pending = list(group), []
        elif is_code and meta.get("locked") and not meta.get("grade"):
            if is_display(cell):
                continue
            key = f"setup-{index}"
            order.append(("setup", key))
            setup[key] = _source(cell)
    return Notebook(path, order, setup, answers, graded, duplicates, runs)


def load_notebook(path: str | Path) -> Notebook:
    """Read and parse a notebook file; raises SubmissionError with a sentence."""
    path = Path(path)
    return parse_notebook(read_notebook_json(path), path)
