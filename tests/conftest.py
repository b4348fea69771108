"""Shared fixtures of the library tests."""

from __future__ import annotations

import os
from pathlib import Path

import nbformat
import pytest
from course import ROOT

# per-module times at the end of every run (see module_times)
pytest_plugins = ["module_times"]


@pytest.fixture(scope="session", autouse=True)
def shared_execution_cache(tmp_path_factory, worker_id):
    """Whole-notebook runs (assignment 05's graders) are kept by the code they
    ran, for this test session, shared by the xdist workers: the catalogue's
    submissions that differ only in functions graded in sandboxes run the
    notebook once. A fresh folder per session, so library changes are seen."""
    base = tmp_path_factory.getbasetemp()
    folder = (base.parent if worker_id != "master" else base) / "execution-cache"
    folder.mkdir(exist_ok=True)
    # the graders' own values (dlcourse.reference_cache) likewise: computed
    # once per session, never read from a cache an earlier version left
    reference = folder.parent / "reference-cache"
    previous = {
        name: os.environ.get(name)
        for name in ("DLCOURSE_EXECUTION_CACHE", "DLCOURSE_REFERENCE_CACHE")
    }
    os.environ["DLCOURSE_EXECUTION_CACHE"] = str(folder)
    os.environ["DLCOURSE_REFERENCE_CACHE"] = str(reference)
    yield folder
    for name, value in previous.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


@pytest.fixture
def grade(tmp_path):
    """grade(notebook_node_or_path, assignment, seed=None, seeds=None,
    only_cells=None, timeout=None) -> the hidden graders' report (with ``seeds``: each
    seed's cells under ``rounds``; with ``only_cells``: those graded cells
    only)."""
    from dlcourse.grading import run_hidden_graders

    def run(
        nb,
        assignment: str,
        seed: int | None = None,
        seeds: list[int] | None = None,
        only_cells: list[str] | None = None,
        timeout: float | None = None,
    ) -> dict:
        if isinstance(nb, (str, Path)):
            path = Path(nb)
        else:
            path = tmp_path / f"{assignment}.ipynb"
            nbformat.write(nb, str(path))
        report = run_hidden_graders(
            path,
            assignment,
            ROOT,
            timeout=timeout or 1500 * len(seeds or [1]),
            seed=seed,
            seeds=seeds,
            only_cells=only_cells,
        )
        assert "error" not in report, report
        return report

    return run


@pytest.fixture(scope="module", params=["exec", "zygote"])
def sandbox_start(request):
    """Runs a module's tests twice: with every Sandbox started anew (``exec``)
    and forked from a zygote that preloaded torch (``zygote``), itself forked
    from a template, the way the graders get theirs (a zygote started anew
    is tested in test_sandbox_zygote). Yields the zygote (None for ``exec``)."""
    if request.param == "exec":
        yield None
        return
    from dlcourse.sandbox import Sandbox
    from dlcourse.sandbox.session import worker_environment
    from dlcourse.sandbox.zygote_template import Template

    template = Template(worker_environment(), preload=["torch"])
    try:
        started = template.fork()
    finally:
        template.close()  # the zygote it forked goes on without it
    original = Sandbox.__init__

    def init(self, *args, zygote=None, **kwargs):
        original(self, *args, zygote=zygote or started, **kwargs)

    patch = pytest.MonkeyPatch()
    patch.setattr(Sandbox, "__init__", init)
    yield started
    patch.undo()
    started.close()


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config, items):
    """The tests of a module that share a module-scoped fixture run on one
    xdist worker (``--dist loadgroup``, which scripts/test.sh passes): each
    worker that runs one of them sets the fixture up again, and some are
    whole batches (test_batch's, test_nbgrader_pipeline's, 45-55 s each).
    Before xdist's own hook, which reads the marks."""
    for item in items:
        info = getattr(item, "_fixtureinfo", None)
        if info is None:
            continue
        shared = ("class", "module", "package")
        if any(d.scope in shared for defs in info.name2fixturedefs.values() for d in defs):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))


_BACKGROUND: list = []


def pytest_collection_finish(session):
    """A session that runs the student kit's tests makes the kit's fresh
    environment from the start, beside the other tests (see
    test_student_kit.make_in_background)."""
    for item in session.items:
        if item.path.name == "test_student_kit.py":
            # the module as pytest imported it (tests.test_student_kit), not a
            # second copy
            _BACKGROUND.append(item.module.make_in_background(session.config))
            return


def pytest_sessionfinish(session):
    # a session that ended before its kit tests leaves no pip behind
    for thread in _BACKGROUND:
        thread.join()
