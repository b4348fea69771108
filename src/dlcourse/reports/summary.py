"""A course summary an instructor reads at a glance: for each assignment a
histogram of total scores, the fraction of students with full marks per
graded cell, and the checks that failed most often; PNGs and one HTML page.
"""

from __future__ import annotations

import html
from collections import Counter
from pathlib import Path

from dlcourse.reports.cell_export import GRADED, cell_rows


def _assignments(db_url: str) -> list[str]:
    from nbgrader.api import Gradebook

    with Gradebook(db_url) as gb:
        return sorted(a.name for a in gb.assignments if a.submissions)


def _base(check: str) -> str:
    """A check's name without the input it ran on ("... [relu]")."""
    return check.rsplit(" [", 1)[0] if check.endswith("]") else check


def write_summary(root: Path, out: Path | None = None, db_url: str | None = None) -> Path:
    """Write ``reports/summary/index.html`` (and its PNGs) from the gradebook
    at ``db_url`` (default: gradebook.db in ``root``); returns the page."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    root = Path(root)
    out = Path(out or root / "reports" / "summary")
    out.mkdir(parents=True, exist_ok=True)
    sections = []
    db_url = db_url or "sqlite:///" + str(root / "gradebook.db")
    for assignment in _assignments(db_url):
        rows = cell_rows(root, assignment, db_url=db_url)
        students = sorted({r["student"] for r in rows})
        totals = {
            s: sum(float(r["score"] or 0) for r in rows if r["student"] == s) for s in students
        }
        maximum = (
            sum(float(r["max_score"]) for r in rows if r["student"] == students[0])
            if students
            else 0
        )
        cells = list(dict.fromkeys(r["cell"] for r in rows))
        full = {}
        for cell in cells:
            graded = [r for r in rows if r["cell"] == cell and r["status"] == GRADED]
            full[cell] = (
                (sum(1 for r in graded if float(r["score"]) >= float(r["max_score"])) / len(graded))
                if graded
                else None
            )
        # students, not tests: a check run on several inputs counts once
        pairs = {
            (r["student"], f"{r['cell']}: {_base(name)}")
            for r in rows
            for name in r["_failed_names"]
        }
        failures = Counter(name for _, name in pairs)

        fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 3.6))
        ax1.hist(
            list(totals.values()),
            bins=min(10, max(3, len(students))),
            range=(0, maximum or 1),
            color="#4c72b0",
        )
        ax1.set_xlabel(f"total score (of {maximum:g})")
        ax1.set_ylabel("students")
        ax1.yaxis.set_major_locator(MaxNLocator(integer=True))
        ax1.set_title(f"{assignment}: total scores")
        shown = [c for c in cells if full[c] is not None]
        ax2.barh(shown, [full[c] for c in shown], color="#55a868")
        ax2.set_xlim(0, 1)
        ax2.invert_yaxis()
        ax2.set_xlabel("fraction of students with full marks")
        ax2.tick_params(axis="y", labelsize=7)
        fig.tight_layout()
        png = out / f"{assignment}.png"
        fig.savefig(png, dpi=110)
        plt.close(fig)

        top = (
            "".join(
                f"<tr><td>{html.escape(name)}</td><td>{count}</td></tr>"
                for name, count in failures.most_common(10)
            )
            or "<tr><td colspan=2>no failed checks</td></tr>"
        )
        sections.append(
            f"<section><h2>{html.escape(assignment)}</h2>"
            f"<p>{len(students)} students; mean total {sum(totals.values()) / max(len(totals), 1):.1f} of {maximum:g}</p>"
            f'<img src="{png.name}" alt="score histogram and full marks per cell of {html.escape(assignment)}">'
            f"<h3>Checks that failed most often</h3><table><tr><th>check</th><th>students</th></tr>{top}</table></section>"
        )
    page = out / "index.html"
    page.write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Course summary</title>"
        "<style>body{font-family:sans-serif;margin:2em}img{max-width:100%}"
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}table{border-collapse:collapse}</style>"
        f"</head><body><h1>Course summary</h1>{''.join(sections)}</body></html>"
    )
    return page
