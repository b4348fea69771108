"""Formulas in the feedback page without internet access, and scores as people write them.

Stock nbgrader's feedback template loads MathJax from a CDN (its header calls
nbconvert's ``mathjax()`` macro without an argument, so ``HTMLExporter.mathjax_url``
does not even reach it): opened offline, the page shows TeX source.

Where the page is opened decides how MathJax gets there. The student opens
``feedback/<student>/<a>/<a>.html`` on their own machine: nbgrader's
``release_feedback``/``fetch_feedback`` hand out that HTML file and nothing
beside it, and an instructor who mails or uploads feedback hands out the page
too. A path into the instructor's venv does not exist there; a copy of MathJax
beside the page is lost by the exchange, and would sit in a folder nbgrader
fills with the student's own submitted files (a submitted
``mathjax/...js`` there would be run by the page). So MathJax is written INTO
the page, as nbconvert already does with the page's CSS and images: one file
that works anywhere, offline, with nothing the student supplied in it.

The build: MathJax 3's ``tex-svg-full.js`` (one file: TeX input with every
extension compiled in, SVG output with its glyphs, so no font and no extension
is ever fetched) and ``ui/safe.js``, from the pinned ``django-static-mathjax``
wheel (MathJax 3.2.2 built from the upstream tag; it needs no Django). About
2.3 MB per feedback page (0.7 MB gzipped). MathJax 2.7 (jupyter-server-mathjax,
Debian's libjs-mathjax) loads its jax, fonts and locale files one by one at run
time, so it cannot be inlined.

The page stays inert (see sanitize.py): its only scripts are these two, and a
Content-Security-Policy ``<meta>`` before the page's body allows exactly them
(by hash), no other script, and no request at all (``default-src 'none'``;
images only ``data:``), so even markup the sanitiser missed could neither run
nor call home. MathJax itself is configured to load nothing (no ``\\require``,
no autoload, no menu, whose accessibility items load components) and to make
no links, ids, classes, styles or colours that are URLs from TeX (``html``
package off, ``ui/safe`` on, colours only names or #hex).

Scores: nbgrader's template prints ``score | float | round(2)`` (4.0 for 4,
1.5 / 2.0); the feedback exporter's ``round`` filter is
:func:`dlcourse.nbgrader_ext.report.format_score` instead (3.69 / 4, 1.5 / 2),
as in the per-check report that report.py writes into each graded cell.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from importlib import resources
from pathlib import Path

from markupsafe import Markup

from dlcourse.nbgrader_ext.report import format_score

__all__ = ["FEEDBACK_FILTERS", "TEMPLATE", "TEMPLATES_DIR", "mathjax_head", "score_round"]

# nbconvert template "dlcourse_feedback": nbgrader's "feedback" template with
# the ``mathjax`` macro replaced (see templates/dlcourse_feedback/)
TEMPLATES_DIR = str(Path(__file__).parent / "templates")
TEMPLATE = "dlcourse_feedback"

MATHJAX_VERSION = "3.2.2"
MATHJAX_FILES = ("tex-svg-full.js", "ui/safe.js")

# nbconvert's MathJax 2 settings for notebooks ($...$ and \(...\) inline,
# $$...$$ and \[...\] displayed, \$ for a dollar sign, AMS numbering), in
# MathJax 3's words, and nothing loaded at run time
CONFIG = {
    "tex": {
        "inlineMath": [["$", "$"], ["\\(", "\\)"]],
        "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
        "processEscapes": True,
        "processEnvironments": True,
        "tags": "ams",
        # require/autoload fetch extension files; html makes links, ids,
        # classes and styles from TeX (\href, \cssId, \class, \style)
        "packages": {"[-]": ["require", "autoload", "html"]},
    },
    "svg": {"fontCache": "global"},
    "options": {"enableMenu": False},
    "loader": {"load": []},
}


INSTALL = "install the course with `pip install -c constraints.txt -e .[grading]`"


def _mathjax_dir() -> Path:
    try:
        root = resources.files("mathjax") / "static" / "mathjax"
        version = json.loads((root / "package.json").read_text()).get("version")
    except (ModuleNotFoundError, OSError, ValueError) as err:
        raise RuntimeError(f"MathJax for the feedback pages is missing ({err}): {INSTALL}") from err
    if version != MATHJAX_VERSION:
        # another package named ``mathjax`` (the PyPI stub, a different build)
        raise RuntimeError(
            f"expected MathJax {MATHJAX_VERSION} from django-static-mathjax, found {version!r}: "
            + INSTALL
        )
    return Path(str(root / "es5"))


# ui/safe filters URLs, ids, classes and styles in what TeX makes, but lets any
# colour through: \\color{url(https://...)} becomes an SVG fill="url(...)", which
# the browser requests (the page's policy blocks it). Colours are kept only as
# names or #hex (what MathJax's color package makes of every colour model).
SAFE_COLORS = """
window.MathJax.startup = {
  ready: function () {
    MathJax.startup.defaultReady();
    var safe = MathJax.startup.document.safe;
    safe.filterMethods.filterColor = function (_safe, value) {
      return /^\\s*(#[0-9a-f]{3,8}|[a-z]+)\\s*$/i.test(String(value)) ? value : null;
    };
    ["mathcolor", "mathbackground", "color", "background"].forEach(function (name) {
      safe.filterAttributes.set(name, "filterColor");
    });
  }
};
"""


def _script(code: str) -> tuple[str, str]:
    """``<script>`` element and its CSP hash source for inline ``code``."""
    # inside <script>, only "</script" ends the element ("<!--" followed by
    # "<script" changes how it is parsed); MathJax 3.2.2 has neither
    lowered = code.lower()
    if "</script" in lowered or "<script" in lowered:
        raise ValueError("this MathJax build cannot be inlined in <script>")
    digest = base64.b64encode(hashlib.sha256(code.encode()).digest()).decode()
    return f"<script>{code}</script>", f"'sha256-{digest}'"


@functools.cache
def mathjax_head() -> str:
    """The ``<head>`` markup that renders the page's math offline: a CSP
    ``<meta>``, MathJax's configuration and MathJax itself (about 2.3 MB)."""
    base = _mathjax_dir()
    config, config_hash = _script("window.MathJax = " + json.dumps(CONFIG) + ";" + SAFE_COLORS)
    # one script: ui/safe registers its filter before MathJax's start-up
    # (which waits for a promise) typesets the page
    code = "\n".join((base / name).read_text(encoding="utf-8") for name in MATHJAX_FILES)
    mathjax, mathjax_hash = _script(code)
    policy = (
        f"default-src 'none'; script-src {config_hash} {mathjax_hash}; "
        "style-src 'unsafe-inline'; img-src data:; font-src data:; "
        "base-uri 'none'; form-action 'none'"
    )
    return (
        f'<meta http-equiv="Content-Security-Policy" content="{policy}">\n'
        f"<!-- MathJax {MATHJAX_VERSION} (Apache-2.0), inlined so that formulas render offline -->\n"
        f"{config}\n{mathjax}\n"
    )


def offline_mathjax(_unused: str = "") -> Markup:
    """Jinja filter called by the template's ``mathjax`` macro."""
    return Markup(mathjax_head())


def score_round(value, precision: int = 2, method: str = "common") -> str:
    """Jinja's ``round`` as nbgrader's feedback template uses it (only on
    scores: ``x | float | round(2)``): 3.69, 4, 3.5 instead of 3.69, 4.0, 3.5."""
    return format_score(value, precision)


# for the exporter that renders feedback (nbgrader_config.py)
FEEDBACK_FILTERS = {"offline_mathjax": offline_mathjax, "round": score_round}
