"""The course command line: a thin layer over importable functions.

    dlcourse release [ASSIGNMENT ...]   generate release/ with nbgrader
    dlcourse manifest [ASSIGNMENT ...]  checksums of graders/ and source/ the batch verifies
    dlcourse autograde ASSIGNMENT       stock `nbgrader autograde`, course config
    dlcourse scores ASSIGNMENT          table of students by graded cells
    dlcourse feedback ASSIGNMENT        stock `nbgrader generate_feedback`
    dlcourse export ASSIGNMENT          per-student, per-cell CSV with status
    dlcourse summary                    course summary page (histograms, failures)
    dlcourse gradescope NOTEBOOK        grade one notebook into results.json
    dlcourse gradescope-export A        results.json for every autograded submission
    dlcourse batch ASSIGNMENT           grade a whole class: pre-flight, workers, resume
    dlcourse demo                       all of the above on the bundled demo
    dlcourse student-kit [--out DIR]    the wheel and requirements students install

Importing this module imports neither nbgrader nor torch: nbgrader runs as a
subprocess (the stock command, reading ``nbgrader_config.py``), and the
gradebook is opened only by ``scores``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

from dlcourse.nbgrader_ext.report import format_score


def course_root(start: str | os.PathLike | None = None) -> Path:
    """The nearest folder, from ``start`` upwards, holding nbgrader_config.py."""
    here = Path(start or os.getcwd()).resolve()
    for folder in (here, *here.parents):
        if (folder / "nbgrader_config.py").exists() and (folder / "source").is_dir():
            return folder
    raise SystemExit(f"no course folder (with nbgrader_config.py and source/) at or above {here}")


def assignments(root: Path) -> list[str]:
    return sorted(p.name for p in (root / "source").iterdir() if p.is_dir())


def _env() -> dict:
    # nbgrader needs alembic (installed beside this Python) on PATH
    bindir = str(Path(sys.executable).parent)
    return {**os.environ, "PATH": bindir + os.pathsep + os.environ.get("PATH", "")}


def nbgrader(root: Path, *args: str, quiet: bool = True) -> subprocess.CompletedProcess:
    """Run the stock nbgrader command in the course folder."""
    from dlcourse.startup import nbgrader_command

    cmd = nbgrader_command(*args)
    proc = subprocess.run(cmd, cwd=root, env=_env(), capture_output=quiet, text=True)
    if proc.returncode != 0:
        if quiet:
            sys.stdout.write((proc.stdout or "")[-3000:] + (proc.stderr or "")[-3000:])
        raise SystemExit(f"`nbgrader {' '.join(args)}` failed (exit {proc.returncode})")
    return proc


def release(root: Path, names: list[str]) -> None:
    from dlcourse.manifest import git_toplevel, write_manifest

    # outside git, the manifest is what the batch checks graders/ and source/
    # against; in a git checkout the commit is (see dlcourse.manifest)
    in_git = git_toplevel(root) is not None
    for name in names:
        nbgrader(root, "generate_assignment", name, "--force")
        print(f"released {name} -> release/{name}/")
        if not in_git:
            path = write_manifest(root, name)
            print(f"checksums of graders/{name} and source/{name} -> {path.relative_to(root)}")


def manifest(root: Path, names: list[str]) -> None:
    from dlcourse.manifest import write_manifest

    for name in names:
        path = write_manifest(root, name)
        print(f"checksums of graders/{name} and source/{name} -> {path.relative_to(root)}")


def gradebook_url(root: Path, db_url: str | None = None) -> str:
    """The course's gradebook: ``db_url``, else the one nbgrader_config.py
    names, else gradebook.db (as the batch and nbgrader find it)."""
    from dlcourse.batch.gradebook import course_db_url
    from dlcourse.batch.preflight import PreflightError

    try:
        return course_db_url(root, db_url)
    except PreflightError as exc:
        raise SystemExit(str(exc)) from None


def _db_option(db_url: str | None) -> list[str]:
    """nbgrader's option for ``--db-url`` (none: nbgrader reads its config)."""
    from dlcourse.batch.gradebook import db_url_option

    return [db_url_option(db_url)] if db_url else []


def autograde(root: Path, name: str, student: str | None = None, db_url: str | None = None) -> None:
    args = ["autograde", name, "--force", *_db_option(db_url)]
    if student:
        args += ["--student", student]
    nbgrader(root, *args)


def feedback(root: Path, name: str, db_url: str | None = None) -> None:
    nbgrader(root, "generate_feedback", name, "--force", *_db_option(db_url))


def score_table(root: Path, name: str, db_url: str | None = None) -> str:
    """Students by graded cells, autograded scores (manual cells: '-' until graded)."""
    from nbgrader.api import Gradebook, MissingEntry

    db_url = gradebook_url(root, db_url)
    rows: list[list[str]] = []
    with Gradebook(db_url) as gb:
        try:
            assignment = gb.find_assignment(name)
        except MissingEntry:
            return f"{name}: not in the gradebook (run release first)"
        cells = [
            (nb.name, cell.name, cell.max_score)
            for nb in assignment.notebooks
            for cell in nb.grade_cells
        ]
        header = ["student"] + [f"{cell} ({format_score(p)})" for _, cell, p in cells] + ["total"]
        for submission in sorted(assignment.submissions, key=lambda s: s.student.id):
            row = [submission.student.id]
            total = 0.0
            for nb_name, cell, _points in cells:
                grade = gb.find_grade(cell, nb_name, name, submission.student.id)
                score = grade.score if not grade.needs_manual_grade else None
                row.append("-" if score is None else format_score(score))
                total += score or 0.0
            row.append(format_score(total))
            rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        "  ".join(
            h.rjust(w) if i else h.ljust(w)
            for i, (h, w) in enumerate(zip(header, widths, strict=True))
        )
    ]
    for row in rows:
        lines.append(
            "  ".join(
                v.rjust(w) if i else v.ljust(w)
                for i, (v, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    return "\n".join(lines)


def export(root: Path, name: str, out: Path | None = None, db_url: str | None = None) -> Path:
    """Per-student, per-cell CSV (``reports/<assignment>/cells.csv``)."""
    from dlcourse.reports.cell_export import cell_rows, to_csv

    rows = cell_rows(root, name, db_url=gradebook_url(root, db_url))
    out = Path(out or root / "reports" / name / "cells.csv")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(to_csv(rows))
    return out


def gradescope(root: Path, notebook: Path, name: str, out: Path) -> dict:
    """Grade one notebook and write Gradescope's results.json."""
    import json

    from dlcourse.grading import run_hidden_graders
    from dlcourse.reports.gradescope import gradescope_results

    results = gradescope_results(run_hidden_graders(notebook, name, root))
    out.write_text(json.dumps(results, indent=1))
    return results


def batch(root: Path, args) -> int:
    """The batch command; returns the exit status (1: some submission could not
    be graded, 2: the pre-flight failed)."""
    from dlcourse.batch import PreflightError, run_batch

    try:
        summary = run_batch(
            root,
            args.assignment,
            workers=args.workers,
            redo=args.redo,
            students=args.students,
            extra_args=args.nbgrader_args,
            check_reference=not args.skip_preflight,
            db_url=args.db_url,
            scheduler=args.scheduler,
        )
    except PreflightError as exc:
        print(f"pre-flight failed: {exc}")
        return 2
    for student, info in summary["students"].items():
        line = f"{student:24s} {info['status']:20s} {info['total']:6g}"
        if info["reason"]:
            line += f"  {info['reason']}"
        if info["notes"]:
            line += f"  ({'; '.join(info['notes'])})"
        print(line)
    print(
        f"{len(summary['students'])} submissions in {summary['seconds']} s with {summary['workers']} workers; "
        f"report: reports/{args.assignment}/batch.csv"
    )
    if summary["ungradable"]:
        print(f"could not be graded: {', '.join(summary['ungradable'])}")
        return 1
    return 0


def gradescope_export(root: Path, name: str) -> list[Path]:
    """results.json for every autograded submission, from the stored reports:
    ``reports/<assignment>/gradescope/<student>/results.json``."""
    import json

    from dlcourse.reports.gradescope import gradescope_results
    from dlcourse.reports.store import read_report

    written = []
    for folder in (
        sorted((root / "reports" / name).iterdir()) if (root / "reports" / name).is_dir() else []
    ):
        report = read_report(root, name, folder.name, name) if folder.is_dir() else None
        if report is None:
            continue
        out = root / "reports" / name / "gradescope" / folder.name / "results.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(gradescope_results(report), indent=1))
        written.append(out)
    return written


def demo(root: Path) -> None:
    """Release every assignment, autograde the bundled demo submissions,
    print the score tables and write feedback."""
    import time

    names = assignments(root)
    release(root, names)
    submitted = root / "submitted"
    for name in names:
        students = sorted(p.parent.name for p in submitted.glob(f"*/{name}"))
        if not students:
            continue
        start = time.perf_counter()
        autograde(root, name)
        seconds = time.perf_counter() - start
        print(
            f"\n{name}: autograded {len(students)} submissions in {seconds:.1f} s "
            f"({seconds / len(students):.1f} s each)\n"
        )
        print(score_table(root, name))
        feedback(root, name)
        print(f"\nfeedback written to feedback/<student>/{name}/")
        print(f"per-cell export written to {export(root, name).relative_to(root)}")
        gradescope_export(root, name)
    from dlcourse.reports.summary import write_summary

    print(f"course summary written to {write_summary(root).relative_to(root)}")


def student_kit(root: Path, out: Path | None = None) -> None:
    from dlcourse.student_kit import KitError, build_student_kit

    try:
        kit = build_student_kit(root, (out or root / "student-kit").resolve())
    except KitError as error:
        raise SystemExit(f"student kit: {error}") from None
    size = kit.wheel.stat().st_size / 1024
    print(f"{kit.wheel} ({size:.0f} KiB)\n{kit.requirements}")
    print(f"students: pip install {kit.wheel.name} -r requirements.txt")


def _add_db_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--db-url",
        default=None,
        help="the gradebook, e.g. postgresql:///gradebook?host=/var/run/postgresql "
        "(default: CourseDirectory.db_url of nbgrader_config.py, else gradebook.db)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="dlcourse", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("release", help="generate release/ for assignments (default: all)")
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser(
        "manifest",
        help="record checksums of graders/ and source/ (default: all); "
        "the batch refuses to grade when they change",
    )
    p.add_argument("assignments", nargs="*")
    p = sub.add_parser("autograde", help="autograde submissions with the stock nbgrader command")
    p.add_argument("assignment")
    p.add_argument("--student")
    _add_db_url(p)
    p = sub.add_parser("scores", help="print students by graded cells")
    p.add_argument("assignment")
    _add_db_url(p)
    p = sub.add_parser("feedback", help="generate feedback HTML")
    p.add_argument("assignment")
    _add_db_url(p)
    p = sub.add_parser("export", help="per-student, per-cell CSV with grading status")
    p.add_argument("assignment")
    p.add_argument("--out", type=Path)
    _add_db_url(p)
    _add_db_url(
        sub.add_parser("summary", help="course summary page with histograms (reports/summary/)")
    )
    p = sub.add_parser(
        "gradescope-export", help="Gradescope results.json for every autograded submission"
    )
    p.add_argument("assignment")
    p = sub.add_parser("gradescope", help="grade one notebook and write Gradescope's results.json")
    p.add_argument("notebook", type=Path)
    p.add_argument("--assignment", required=True)
    p.add_argument("--out", type=Path, default=Path("results.json"))
    p = sub.add_parser(
        "batch", help="grade every submission: pre-flight, parallel workers, resume, reports"
    )
    p.add_argument("assignment")
    p.add_argument(
        "--workers",
        type=int,
        default=None,
        help="parallel submissions (default: CPU count, at most 4)",
    )
    p.add_argument("--redo", action="store_true", help="grade again what was already graded")
    p.add_argument(
        "--student", action="append", dest="students", help="only this student (repeatable)"
    )
    p.add_argument(
        "--skip-preflight",
        action="store_true",
        help="do not check the graders' files nor grade the reference and blank release first",
    )
    _add_db_url(p)
    p.add_argument(
        "--scheduler",
        default=None,
        help="grade on the workers of this Dask scheduler, e.g. tcp://HOST:8786 "
        "(pip install '.[dask]'; see README); default: on this machine",
    )
    p.add_argument(
        "nbgrader_args",
        nargs="*",
        help="extra nbgrader options after --, e.g. -- --Execute.timeout=30",
    )
    sub.add_parser("demo", help="release, autograde the demo submissions, print scores, feedback")
    p = sub.add_parser(
        "student-kit",
        help="the wheel (gradcheck, data loader) and pinned requirements.txt students install",
    )
    p.add_argument("--out", type=Path, help="folder to write them to (default: student-kit/)")
    args = parser.parse_args(argv)
    root = course_root()
    if args.command == "release":
        release(root, args.assignments or assignments(root))
    elif args.command == "manifest":
        manifest(root, args.assignments or assignments(root))
    elif args.command == "autograde":
        autograde(root, args.assignment, args.student, args.db_url)
        print(score_table(root, args.assignment, args.db_url))
    elif args.command == "scores":
        print(score_table(root, args.assignment, args.db_url))
    elif args.command == "feedback":
        feedback(root, args.assignment, args.db_url)
    elif args.command == "export":
        print(export(root, args.assignment, args.out, args.db_url))
    elif args.command == "summary":
        from dlcourse.reports.summary import write_summary

        print(write_summary(root, db_url=gradebook_url(root, args.db_url)))
    elif args.command == "gradescope-export":
        for path in gradescope_export(root, args.assignment):
            print(path.relative_to(root))
    elif args.command == "gradescope":
        results = gradescope(root, args.notebook.resolve(), args.assignment, args.out)
        print(f"{args.out}: {format_score(results['score'])} points")
    elif args.command == "batch":
        raise SystemExit(batch(root, args))
    elif args.command == "demo":
        demo(root)
    elif args.command == "student-kit":
        student_kit(root, args.out)


if __name__ == "__main__":
    main()
