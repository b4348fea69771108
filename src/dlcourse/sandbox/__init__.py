"""Running student code in a confined process and talking to it in plain data."""

from dlcourse.sandbox.session import Cell, Remote, Sandbox, StudentError, plain

__all__ = ["Cell", "Remote", "Sandbox", "StudentError", "plain"]
