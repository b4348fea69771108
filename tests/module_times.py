"""Prints, after a test run, the seconds each test module took (setup, call
and teardown, summed over the xdist workers), slowest first: the figure the
speed work reads from every CI log, where --durations shows only the
slowest tests."""

from __future__ import annotations

_SECONDS: dict[str, float] = {}


def pytest_runtest_logreport(report) -> None:
    # under xdist the controller gets every worker's reports here
    module = report.nodeid.split("::", 1)[0]
    _SECONDS[module] = _SECONDS.get(module, 0.0) + float(report.duration or 0.0)


def pytest_terminal_summary(terminalreporter) -> None:
    if hasattr(terminalreporter.config, "workerinput") or not _SECONDS:
        return
    terminalreporter.write_sep("=", "seconds per test module (summed over the workers)")
    for module, seconds in sorted(_SECONDS.items(), key=lambda item: -item[1]):
        terminalreporter.write_line(f"{seconds:8.1f} s  {module}")
    terminalreporter.write_line(f"{sum(_SECONDS.values()):8.1f} s  in all")
