"""Start a program confined: ``python -m dlcourse.sandbox.launch CONFIG -- CMD ...``.

``CONFIG`` is JSON with ``hidden_paths``, ``limits``, ``writable`` and
``workdir`` (see :func:`dlcourse.sandbox.confine.enter`). Used to start the
Jupyter kernel in which nbgrader executes a student's notebook; the
``ready`` report goes to the file named by ``report`` in the config, if any.
:mod:`dlcourse.sandbox.kernel_zygote` confines its kernels with
:func:`confine_kernel` too.
"""

from __future__ import annotations

import json
import os
import sys


def confine_kernel(config: dict, **enter_options) -> dict:
    """Confine this process as ``config`` says, write the report, move into
    the working folder and set the kernel's variables. Returns the report.
    ``enter_options``: more arguments of :func:`confine.enter`."""
    from dlcourse.sandbox import confine
    from dlcourse.sandbox.font_cache import give_font_lists, read_font_lists

    # read as root, before confinement hides the folder
    font_lists = read_font_lists(config.get("font_lists"))
    report = confine.enter(
        hidden_paths=config.get("hidden_paths", []),
        limits=config.get("limits"),
        writable=config.get("writable", []),
        workdir=config.get("workdir"),
        allow_list=config.get("allow_list", True),
        **enter_options,
    )
    if config.get("report"):
        try:
            with open(config["report"], "w") as fh:
                json.dump(report, fh)
        except OSError:
            pass
    if config.get("workdir"):
        # without root nothing moved the process: start the kernel there
        os.chdir(config["workdir"])
    os.environ.update(config.get("env", {}))
    if font_lists and "file system" in report["applied"] and os.environ.get("MPLCONFIGDIR"):
        # only into the private /tmp of a confined kernel, never a shared one
        give_font_lists(font_lists, os.environ["MPLCONFIGDIR"])
    # jupyter_client adds the grading process's pid (meaningless in the
    # kernel's own PID namespace)
    os.environ.pop("JPY_PARENT_PID", None)
    return report


def main(argv: list[str]) -> None:
    if len(argv) < 3 or argv[1] != "--":
        raise SystemExit("usage: python -m dlcourse.sandbox.launch CONFIG_JSON -- CMD [ARG ...]")
    config = json.loads(argv[0])
    command = argv[2:]
    confine_kernel(config)
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
