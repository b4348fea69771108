"""Finite-difference gradient checking, for notebooks and graders alike.

    report = gradcheck(lambda x: (x ** 2).sum(), x, 2 * x)
    report.ok          # True when every sampled coordinate agrees
    print(report)      # names the worst coordinate, both values, the tolerance

Central differences in float64; the relative error of a coordinate is
``|a - n| / max(|a| + |n|, floor)`` so that coordinates whose true gradient
is zero are judged by their absolute error instead of exploding. The floor is
at least ``relative_floor`` times the largest finite difference checked: an
entry a thousand times smaller than the gradient's scale is compared with
that scale, since central differences carry an absolute error of about
``eps**2`` times the function's curvature and ``1e-16 / eps`` times its
value, which on a tiny entry alone is a large relative error (a correct
backward pass once failed at 3.2e-5 on an entry of 2.9e-7). The scale comes
from the finite differences, never from the gradient being checked, so a
huge value planted in an unchecked coordinate cannot loosen the check.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass
class GradcheckReport:
    """Outcome of a gradient check.

    ``worst_index``: coordinate (a tuple into the input's shape) with the
    largest relative error; ``analytic`` / ``numeric``: the two values there;
    ``checked``: how many coordinates were compared, out of ``size``.
    """

    name: str
    ok: bool
    max_rel_error: float
    worst_index: tuple
    analytic: float
    numeric: float
    tolerance: float
    checked: int
    size: int

    def __str__(self) -> str:
        verdict = "ok" if self.ok else "MISMATCH"
        return (
            f"{self.name}: {verdict}, max relative error {self.max_rel_error:.2e} "
            f"(tolerance {self.tolerance:.0e}) at index {self.worst_index}: "
            f"analytic {self.analytic:.6g}, numeric {self.numeric:.6g} "
            f"({self.checked} of {self.size} coordinates checked)"
        )


def numeric_gradient(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    eps: float = 1e-6,
    indices: list[tuple] | None = None,
) -> dict[tuple, float]:
    """Central-difference derivative of scalar ``f`` at ``x`` (any shape),
    at ``indices`` (all coordinates by default). ``x`` is not modified."""
    x = np.array(x, dtype=np.float64)
    if indices is None:
        indices = list(np.ndindex(x.shape))
    out = {}
    for idx in indices:
        old = x[idx]
        x[idx] = old + eps
        plus = float(f(x.copy()))
        x[idx] = old - eps
        minus = float(f(x.copy()))
        x[idx] = old
        out[idx] = (plus - minus) / (2 * eps)
    return out


def sample_indices(shape: tuple, max_coords: int, rng: np.random.Generator) -> list[tuple]:
    """All coordinates of ``shape`` when there are at most ``max_coords``,
    otherwise ``max_coords`` distinct ones drawn with ``rng``."""
    size = int(np.prod(shape, dtype=np.int64))
    if size <= max_coords:
        return list(np.ndindex(shape))
    flat = rng.choice(size, size=max_coords, replace=False)
    return [tuple(int(i) for i in np.unravel_index(k, shape)) for k in flat]


def relative_error(a: np.ndarray, b: np.ndarray, floor: float = 1e-8) -> np.ndarray:
    """Elementwise ``|a - b| / max(|a| + |b|, floor)``."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return np.abs(a - b) / np.maximum(np.abs(a) + np.abs(b), floor)


def gradcheck(
    f: Callable[[np.ndarray], float],
    x: np.ndarray,
    analytic: np.ndarray,
    *,
    name: str = "gradient",
    eps: float = 1e-6,
    tolerance: float = 1e-5,
    floor: float = 1e-8,
    relative_floor: float = 1e-3,
    max_coords: int = 50,
    rng: np.random.Generator | None = None,
) -> GradcheckReport:
    """Compare ``analytic`` (same shape as ``x``) with central differences of
    scalar ``f`` at ``x``, on at most ``max_coords`` sampled coordinates."""
    x = np.asarray(x, dtype=np.float64)
    analytic = np.asarray(analytic, dtype=np.float64)
    if analytic.shape != x.shape:
        raise ValueError(
            f"{name}: analytic gradient has shape {analytic.shape}, input has {x.shape}"
        )
    rng = rng if rng is not None else np.random.default_rng(0)
    indices = sample_indices(x.shape, max_coords, rng)
    numeric = numeric_gradient(f, x, eps, indices)
    scale = max((abs(v) for v in numeric.values() if np.isfinite(v)), default=0.0)
    floor = max(floor, relative_floor * scale)
    errors = {idx: float(relative_error(analytic[idx], numeric[idx], floor)) for idx in indices}
    worst = max(errors, key=lambda idx: (np.nan_to_num(errors[idx], nan=np.inf), idx))
    worst_error = errors[worst]
    ok = bool(np.isfinite(worst_error) and worst_error <= tolerance)
    return GradcheckReport(
        name=name,
        ok=ok,
        max_rel_error=worst_error,
        worst_index=worst,
        analytic=float(analytic[worst]),
        numeric=float(numeric[worst]),
        tolerance=tolerance,
        checked=len(indices),
        size=int(x.size),
    )
