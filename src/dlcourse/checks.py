"""Assertions for hidden graders that fail with one sentence a student can act on.

Each helper names the quantity, says what is wrong (shape, NaN, size of the
error and where), and gives the tolerance. Pytest hides these frames from
tracebacks, and the plugin reports only the sentence.
"""

from __future__ import annotations

import numpy as np


class GradingFailure(AssertionError):
    """A hidden check failed; ``str()`` is the message shown to the student."""


def fail(message: str) -> None:
    __tracebackhide__ = True
    raise GradingFailure(message)


def _fmt(v) -> str:
    return f"{float(v):.6g}"


def as_array(value, what: str) -> np.ndarray:
    """``value`` as a float64 array, failing clearly on non-numeric data."""
    __tracebackhide__ = True
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        from dlcourse.sandbox import Remote

        # a student object left in the sandbox: its own class name, never
        # the grader's "Remote"
        got = value.type_name if isinstance(value, Remote) else type(value).__name__
        fail(f"{what} should be a numpy array of numbers, got {got}")
    return arr


def expect_shape(value, shape: tuple, what: str) -> np.ndarray:
    __tracebackhide__ = True
    arr = as_array(value, what)
    if arr.shape != tuple(shape):
        fail(f"{what} has shape {arr.shape}; expected {tuple(shape)}")
    return arr


def expect_finite(value, what: str) -> np.ndarray:
    __tracebackhide__ = True
    arr = as_array(value, what)
    bad = ~np.isfinite(arr)
    if bad.any():
        index = tuple(int(i) for i in np.argwhere(bad)[0]) if arr.ndim else ()
        fail(
            f"{what} contains {arr[index] if arr.ndim else arr} at index {index}: it must stay finite"
        )
    return arr


def expect_close(
    actual,
    expected,
    what: str,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    hint: str = "",
) -> np.ndarray:
    """``actual`` must have ``expected``'s shape, be finite, and agree within
    ``atol + rtol * |expected|`` everywhere."""
    __tracebackhide__ = True
    expected = np.asarray(expected, dtype=np.float64)
    arr = expect_shape(actual, expected.shape, what)
    arr = expect_finite(arr, what)
    err = np.abs(arr - expected)
    allowed = atol + rtol * np.abs(expected)
    if (err > allowed).any():
        excess = err - allowed
        index = np.unravel_index(int(np.argmax(excess)), excess.shape) if arr.ndim else ()
        index = tuple(int(i) for i in index)
        where = f" at index {index}" if arr.ndim else ""
        message = (
            f"{what} is wrong{where}: got {_fmt(arr[index])}, expected {_fmt(expected[index])} "
            f"(error {float(err[index]):.2e}, allowed {float(allowed[index]):.1e})"
        )
        if hint:
            message += f"; {hint}"
        fail(message)
    return arr


def expect_true(condition: bool, message: str) -> None:
    __tracebackhide__ = True
    if not condition:
        fail(message)


def expect_no_warnings(remote, what: str) -> None:
    """The last call on ``remote`` raised no numpy warning (overflow, divide
    by zero, invalid value)."""
    __tracebackhide__ = True
    warnings = getattr(remote, "last_warnings", [])
    if warnings:
        fail(f"{what} raised a warning: {warnings[0]}")
