"""Starting nbgrader and the graders' pytest without 1.7 s of dead imports.

    python -m dlcourse.startup nbgrader autograde 02_layers --student ...
    python -m dlcourse.startup pytest graders/02_layers --submission ...

nbformat, which nbgrader and the graders read notebooks with, imports
jsonschema, and jsonschema imports ``rfc3987_syntax`` when it is installed
(jupyter-events pulls it in). That module builds about 38 Earley parsers at
import time for the ``iri`` string format: 1.7 s of every process here
(python-jsonschema/jsonschema#1428). No notebook schema uses that format, so
the processes this package starts mark the module as absent and jsonschema
leaves out that one format checker. The batch starts one nbgrader and one
pytest per student, so this is 3.4 s a submission. (constraints.txt now pins
jsonschema 4.23, which does not import it at all; this stays for
environments with a newer one.)

nbgrader started here also finds its gradebook schema's revision without
running the ``alembic`` command (:mod:`dlcourse.alembic_head`).
"""

from __future__ import annotations

import sys

SLOW_UNUSED_MODULES = ("rfc3987_syntax",)


def skip_slow_unused_imports() -> None:
    """Make ``import rfc3987_syntax`` raise ImportError in this process (a
    ``None`` in sys.modules does that), unless something already imported it."""
    for name in SLOW_UNUSED_MODULES:
        sys.modules.setdefault(name, None)


def nbgrader_command(*args: str) -> list[str]:
    """The command line that runs ``nbgrader ARGS`` through :func:`main`
    (isolated, ``-I``: nothing is imported from the folder it starts in, from
    PYTHONPATH or the user's site; nbgrader itself adds the course folder)."""
    return [sys.executable, "-I", "-m", "dlcourse.startup", "nbgrader", *args]


def main(argv: list[str]) -> None:
    tools = ("nbgrader", "pytest")
    if not argv or argv[0] not in tools:
        raise SystemExit(f"usage: python -m dlcourse.startup {{{','.join(tools)}}} ARG ...")
    skip_slow_unused_imports()
    tool, sys.argv = argv[0], argv
    if tool == "nbgrader":
        from nbgrader.apps.nbgraderapp import main as nbgrader_main

        from dlcourse.alembic_head import install

        install()  # a new gradebook without starting the alembic command

        sys.exit(nbgrader_main())
    import pytest

    sys.exit(pytest.console_main())


if __name__ == "__main__":
    main(sys.argv[1:])
