"""The local engine: grades on this machine, ``workers`` submissions at a
time. Each worker is a thread that runs one ``nbgrader autograde A
--student S`` process at a time, forked from a fork server of the batch
that no other worker uses meanwhile, which has nbgrader imported already
(:mod:`dlcourse.nbgrader_forks`); the autograde commands write the course's
gradebook themselves."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

from dlcourse.batch.commands import ForkServers
from dlcourse.batch.grading import GradingTask, StudentResult, grade_submission


class LocalEngine:
    """See the module's docstring; follows :class:`dlcourse.batch.engine.Engine`."""

    def __init__(self, root: Path, workers: int, db_url: str, servers: ForkServers | None = None):
        """``servers``: fork servers to start from (the pre-flight's, already
        warm); closed with the engine."""
        self.root = Path(root)
        self.workers = workers
        self.db_url = db_url
        self.servers = servers if servers is not None else ForkServers()
        self.pool: ThreadPoolExecutor | None = None

    def grade(self, tasks: Iterable[GradingTask]) -> Iterator[tuple[GradingTask, StudentResult]]:
        self.pool = pool = ThreadPoolExecutor(max_workers=self.workers)
        try:
            futures = {
                pool.submit(grade_submission, self.root, task, self.db_url, self.servers): task
                for task in tasks
            }
            for future in as_completed(futures):
                task = futures[future]
                try:
                    result = future.result()
                except Exception as exc:  # noqa: BLE001 - one student's failure never ends the batch
                    result = StudentResult(
                        task.student, "could not be graded", f"internal error: {exc}"
                    )
                yield task, result
        finally:
            self._stop()

    def _stop(self) -> None:
        """Start no more gradings; wait for the ones running (each ends by
        its timeout at the latest). What they write to the gradebook is
        overwritten when the next batch grades them again, as it will: the
        coordinator did not record them."""
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)

    def close(self) -> None:
        # a coordinator interrupted (Ctrl-C) between two results: the
        # submissions not started yet are not graded now
        self._stop()
        self.servers.close()

    def __enter__(self) -> LocalEngine:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
