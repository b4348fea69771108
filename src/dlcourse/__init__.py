"""Shared code of the deep-learning course: gradient checking, submissions,
the student-code sandbox, the hidden-grader pytest plugin and the nbgrader
integration.

Kept import-light on purpose: the sandbox worker imports this package before
it runs student code, and the CLI must start fast.
"""

__version__ = "0.1.0"
