"""Where the batch's work runs: the interface every engine follows.

The coordinator (:func:`dlcourse.batch.run_batch`) makes one
:class:`~dlcourse.batch.grading.GradingTask` per submission to grade, hands
them all to an engine, and records each result as the engine yields it
(batch state, progress; the reports at the end). An engine:

- grades every task it is given, each exactly once in the results it
  yields, in any order; one task's crash, timeout or garbage becomes that
  task's "could not be graded" result and never stops the others;
- leaves, in the course folder the coordinator reads, what
  :func:`~dlcourse.batch.grading.grade_submission` leaves: the autograded
  notebook, the grade report and the submission's rows in the gradebook
  (``db_url``);
- releases its workers on :meth:`Engine.close` (also as a context manager),
  even when the coordinator stops reading early.

:class:`dlcourse.batch.local.LocalEngine` grades on this machine. An engine
for other machines is one more module beside it, whose workers run
``grade_submission`` in a scratch course of their own (at the task's
``course_commit``) and send the outcome back to be stored where the local
engine's commands write it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Protocol

from dlcourse.batch.grading import GradingTask, StudentResult


class Engine(Protocol):
    # how many submissions it grades at once (reported in batch.json)
    workers: int

    def grade(self, tasks: Iterable[GradingTask]) -> Iterator[tuple[GradingTask, StudentResult]]:
        """Grade ``tasks``; yield (task, result) as each is done."""
        ...

    def close(self) -> None: ...

    def __enter__(self) -> Engine: ...

    def __exit__(self, *exc) -> None: ...
