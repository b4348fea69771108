"""Grade one catalogue entry by hand, under several grading seeds.

    python tests/grade_entry.py mistakes 02_layers mse_grad_missing_factor_2
    python tests/grade_entry.py variants 05_fashion_mnist minibatches_generator --seeds 4,5

Prints, per seed, every graded cell's score and the messages of the cells
that lost points, then whether the entry did what the catalogue says
(a mistake loses points in its own cell only, with a matching message; a
variant earns every point). Exit status 1 when it did not.
"""

from __future__ import annotations

import argparse
import re
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import nbformat  # noqa: E402
from catalogue import load  # noqa: E402
from course import ROOT, messages, release_notebook, scores, source_notebook  # noqa: E402

from dlcourse.filled_submission import filled_submission  # noqa: E402
from dlcourse.grading import run_hidden_graders  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=["mistakes", "variants", "cheats"])
    parser.add_argument("assignment")
    parser.add_argument("name")
    parser.add_argument("--seeds", default="1,2,3")
    args = parser.parse_args()
    entry = next((e for e in load(args.kind, args.assignment) if e.name == args.name), None)
    if entry is None:
        print(f"no entry tests/{args.kind}/{args.assignment}/{args.name}.py")
        return 2
    planted = {entry.fields["cell"]: entry.code}
    append = args.kind == "mistakes" and entry.fields.get("mode") != "replace"
    nb = filled_submission(
        release_notebook(args.assignment),
        source_notebook(args.assignment),
        replace=None if append else planted,
        append=planted if append else None,
    )
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"{args.assignment}.ipynb"
        nbformat.write(nb, str(path))
        seeds = [int(s) for s in args.seeds.split(",")]
        # one session, every check once per seed (as the catalogue tests do)
        report = run_hidden_graders(path, args.assignment, ROOT, timeout=3000, seeds=seeds)
        if "error" in report:
            print(f"{report['error']}\n{report.get('log', '')}")
            return 1
        errors = [t for t in report["tests"] if t["outcome"] == "error"]
        for t in errors:
            print(f"GRADER ERROR seed {t.get('seed')}: {t['check']}: {t['message']}")
        ok = not errors
        for seed in seeds:
            cells = report["rounds"][str(seed)]
            got = scores({"cells": cells})
            points = {g: c["points"] for g, c in cells.items()}
            print(f"seed {seed}:")
            for gid, score in got.items():
                print(f"  {gid:32s} {score} / {points[gid]}")
                for m in messages({"cells": cells}, gid):
                    print(f"      - {m[:400]}")
            lost = {g for g in got if got[g] != points[g]}
            if args.kind == "variants":
                ok &= not lost
            elif args.kind == "mistakes":
                loses = entry.fields["loses"]
                ok &= lost == {loses} and any(
                    re.search(entry.fields["symptom"], m) for m in messages({"cells": cells}, loses)
                )
    print("as catalogued" if ok else "NOT as catalogued")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
