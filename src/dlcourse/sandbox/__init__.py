"""Running student code in a confined process and talking to it in plain data."""

from __future__ import annotations

__all__ = ["Cell", "Remote", "Sandbox", "StudentError", "plain"]


def __getattr__(name: str):
    # Imported on first use: the session pulls in numpy (about 0.1 s), which
    # the kernel's launcher (python -m dlcourse.sandbox.launch, run once per
    # graded notebook) never needs, and which importing the package would
    # otherwise cost it before every kernel.
    if name in __all__:
        from dlcourse.sandbox import session

        return getattr(session, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
