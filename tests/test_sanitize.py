"""Student HTML is inert in the feedback page and in the formgrader's view of a
submission, and honest content (markdown, tables, math, figures, scores) still
renders. See src/dlcourse/nbgrader_ext/sanitize.py."""

from __future__ import annotations

import base64
import copy
import hashlib
import io
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import numpy as np
import pytest
from bs4 import BeautifulSoup
from course import ROOT
from nbconvert.exporters import HTMLExporter
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output
from nbgrader.preprocessors import GetGrades, NbGraderPreprocessor
from traitlets.config.loader import PyFileConfigLoader

from dlcourse.nbgrader_ext.sanitize import (
    SanitizedMarkdown2HTML,
    SanitizeOutputs,
    clean_html,
    strip_files_prefix,
)

# --- what "live" means ----------------------------------------------------

ACTIVE_TAGS = {
    "script", "iframe", "frame", "frameset", "object", "embed", "applet", "form", "input",
    "button", "textarea", "select", "svg", "math", "base", "meta", "link", "style",
    "template", "noscript", "portal",
}  # fmt: skip
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "background", "poster"}
# an image as data: is inert (an SVG shown by <img> runs no script)
IMAGE_DATA = re.compile(r"data:image/(png|jpeg|gif|webp|svg\+xml);base64,", re.I)


class _LiveFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            value = value or ""
            # what a browser ignores in a URL: whitespace and control characters
            url = re.sub(r"[\x00-\x20]", "", value).lower()
            if name.startswith("on") or name == "srcdoc":
                self.found.append(f"<{tag} {name}=...>")
            elif name in URL_ATTRIBUTES and re.match(r"(java|vb|live)script:", url):
                self.found.append(f"<{tag} {name}={value[:40]}>")
            elif name in URL_ATTRIBUTES and url.startswith("data:"):
                if not (tag == "img" and name == "src" and IMAGE_DATA.match(url)):
                    self.found.append(f"<{tag} {name}={value[:40]}>")
            elif name == "style" and re.search(r"expression|url\(|javascript|\\", value, re.I):
                self.found.append(f"<{tag} style={value[:40]}>")


def live(markup: str) -> list[str]:
    """What in ``markup`` (a fragment, or a page's <body>) could run script."""
    body = re.split(r"<body\b", markup, maxsplit=1, flags=re.I)[-1]
    finder = _LiveFinder()
    finder.feed(body)
    finder.close()
    return finder.found


def test_the_finder_sees_live_markup():
    # the oracle of every test below: were it blind, they would all pass
    assert live('<p><img src=x onerror="fetch(1)"><a href=" JaVa&#x09;script:x">a</a></p>')
    assert live("<svg><script>x</script></svg>") == ["<svg>", "<script>"]
    assert not live('<p><img src="data:image/png;base64,iVBO"><a href="https://x">a</a></p>')


# --- the sanitiser on attack strings -------------------------------------

ATTACKS = [
    "<script>fetch('/api/kernels')</script>",
    "<img src=x onerror=\"fetch('/api/kernels')\">",
    "<IMG SRC=x OnErRoR=alert(1)>",
    "<img src=x onerror\n=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<svg onload=alert(1)><script>alert(2)</script></svg>",
    "<svg><animate onbegin=alert(1) attributeName=x dur=1s></svg>",
    '<svg><a xlink:href="javascript:alert(1)"><text>x</text></a></svg>',
    '<a href="javascript:alert(1)">x</a>',
    '<A HREF="JaVaScRiPt:alert(1)">x</A>',
    '<a href=" &#106;avascript:alert(1)">x</a>',
    '<a href="jav&#x09;ascript:alert(1)">x</a>',
    '<a href="&#x6A;&#x61;&#x76;&#x61;&#x73;&#x63;&#x72;&#x69;&#x70;&#x74;&#x3A;alert(1)">x</a>',
    '<a href="vbscript:msgbox(1)">x</a>',
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">x</a>',
    '<a href="da&#x09;ta:text/html,<script>alert(1)</script>">x</a>',
    '<a href="java&#x0a;script:alert(1)">x</a>',
    '<div style="width: expression(alert(1))">x</div>',
    '<div style="color: red; x: ex/**/pression(alert(1))">x</div>',
    '<div style="background:url(javascript:alert(1))">x</div>',
    '<div style="color: \\65xpression(alert(1))">x</div>',
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<iframe src="/api/kernels"></iframe>',
    '<iframe srcdoc="<script>alert(1)</script>"></iframe>',
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="/api/kernels" method="post"><button formaction="javascript:alert(1)">go</button></form>',
    '<base href="https://evil.example/">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel="stylesheet" href="https://evil.example/x.css">',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<noscript><p title="</noscript><img src=x onerror=alert(1)>"></noscript>',
    "<details open ontoggle=alert(1)>x</details>",
    "<!--<img src=x onerror=alert(1)>-->",
    '<video><source onerror="alert(1)"></video>',
    '<body onload="alert(1)">',
]


@pytest.mark.parametrize("attack", ATTACKS)
def test_attack_is_inert(attack):
    cleaned = clean_html(attack)
    assert not live(cleaned), cleaned
    assert not re.search(r"<[^>]*alert", cleaned), cleaned  # no payload left in any tag


def test_page_gadgets_are_removed():
    # ids and names clobber the page's globals (window.init_mathjax), data-*
    # attributes drive Bootstrap's data-api, and classes reach the page's CSS
    # and the formgrader's scripts ($el.find(".score"))
    cleaned = clean_html(
        '<p id="init_mathjax" name="x" data-toggle="collapse" data-target="#top" '
        'class="modal score tabbable">t</p><span class="k nf">k</span>'
    )
    assert cleaned == '<p>t</p><span class="k nf">k</span>'


def test_beacons_and_requests_to_the_server_are_removed():
    cleaned = clean_html(
        '<img src="https://evil.example/seen.png"><img src="/api/kernels">'
        '<img src="files/x.png"><img src="data:text/html;base64,PHNjcmlwdD4=">'
    )
    assert "src" not in cleaned


def test_files_prefix_cannot_revive_a_url():
    # nbgrader's templates apply strip_files_prefix after markdown2html
    assert not live(strip_files_prefix(clean_html('<a href="files/javascript:alert(1)">x</a>')))
    assert 'href="notes.html"' in strip_files_prefix('<a href="files/notes.html">n</a>')


def test_markdown_link_to_javascript_is_removed():
    # nbconvert's renderer keeps [x](javascript:...) as a live link
    render = SanitizedMarkdown2HTML(parent=HTMLExporter())
    for source in ["[x](javascript:alert(1))", "[x](JaVaScRiPt:alert(1))", "<javascript:alert(1)>"]:
        html = render({}, source)
        assert not live(html) and not re.search(r"<[^>]*alert", html), html


def test_honest_html_is_kept():
    honest = (
        '<table border="1" class="dataframe"><thead><tr style="text-align: right;">'
        "<th></th><th>loss</th></tr></thead><tbody><tr><th>0</th><td>0.25</td></tr>"
        "</tbody></table>"
        "<p>Energy $E = mc^2$, $a &lt; b$ and $$\\sum_i x_i^2 \\le 1$$</p>"
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="plot">'
        '<span style="color: red">red</span> <a href="https://numpy.org">numpy</a>'
        '<div class="highlight"><pre><span class="k">def</span> <span class="nf">f</span>'
        "</pre></div><h2>Title</h2><ul><li><em>a</em></li></ul><blockquote>q</blockquote>"
    )
    cleaned = clean_html(honest)
    for kept in [
        '<table border="1" class="dataframe">',
        '<tr style="text-align: right">',
        "<td>0.25</td>",
        "Energy $E = mc^2$, $a &lt; b$ and $$\\sum_i x_i^2 \\le 1$$",
        '<img src="data:image/png;base64,iVBORw0KGgo=" alt="plot">',
        '<span style="color: red">red</span>',
        '<a href="https://numpy.org" rel="noopener noreferrer">numpy</a>',
        '<span class="k">def</span>',
        "<h2>Title</h2><ul><li><em>a</em></li></ul><blockquote>q</blockquote>",
    ]:
        assert kept in cleaned, (kept, cleaned)


def test_outputs_are_reduced_to_inert_mimetypes():
    cell = new_code_cell("x", execution_count=1)
    cell.outputs = [
        new_output("display_data", data={"application/javascript": "alert(1)"}),
        new_output(
            "display_data",
            data={"text/html": "<b>b</b><script>alert(2)</script>", "text/plain": "b"},
            metadata={"text/html": {"isolated": True}},
        ),
        new_output(
            "execute_result",
            data={"image/png": "iVBORw0KGgo=", "application/vnd.custom": "x"},
            metadata={"image/png": {"width": "1 onerror=alert(3)", "height": 20}},
            execution_count=1,
        ),
        new_output("display_data", data={"image/jpeg": '"><script>alert(4)</script>'}),
        new_output("stream", name="stdout", text="<script>escaped by the template</script>"),
    ]
    nb = new_notebook(cells=[cell])
    cell.execution_count = "<img src=x onerror=alert(1)>"  # as a hostile kernel reports it
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    nb, _ = SanitizeOutputs().preprocess(nb, {})
    assert "widgets" not in nb.metadata
    cell = nb.cells[0]
    assert cell.execution_count is None
    assert [dict(o.get("data", {})) for o in cell.outputs] == [
        {"text/html": "<b>b</b>", "text/plain": "b"},
        {"image/png": "iVBORw0KGgo="},
        {},
    ]
    assert cell.outputs[0].metadata == {}  # no isolated iframe
    assert cell.outputs[1].metadata == {"image/png": {"height": 20}}
    assert cell.outputs[2].output_type == "stream"


# --- whole pages, rendered with the course's configuration ----------------


def _png() -> str:
    import matplotlib.image

    buffer = io.BytesIO()
    matplotlib.image.imsave(buffer, np.linspace(0, 1, 64).reshape(8, 8), format="png")
    return base64.b64encode(buffer.getvalue()).decode()


def _notebook(png: str):
    """An autograded submission: honest work beside every way of smuggling script in."""
    answer = new_markdown_cell(
        "# My answer\n\nThe gradient is **zero** at $x^* = 0$, since $f'(x) = 2x$ and "
        "$a<b$:\n\n$$\\sum_i x_i^2 \\le 1$$\n\n| epoch | loss |\n|---|---|\n| 1 | 0.25 |\n\n"
        "![plot](attachment:plot.png)\n\n"
        "<script>pwned_1()</script>\n\n"
        "<img src=x onerror=\"fetch('/api/kernels');pwned_2()\">\n\n"
        "[click](javascript:pwned_3()) <a href=\"files/javascript:pwned_4()\">f</a>\n\n"
        '<svg onload="pwned_5()"><script>pwned_6()</script></svg>\n\n'
        '<iframe srcdoc="<script>parent.pwned_7()</script>"></iframe>'
        '<details open ontoggle="pwned_8()">d</details>',
        metadata={"nbgrader": {"solution": True, "grade": True, "grade_id": "explain",
                               "points": 2, "schema_version": 3}},
        attachments={"plot.png": {"image/png": png}},
    )  # fmt: skip
    graded = new_code_cell(
        "test_linear()",
        execution_count=3,
        metadata={"nbgrader": {"grade": True, "solution": False, "grade_id": "test_linear",
                               "points": 2, "schema_version": 3, "locked": True}},
        outputs=[
            new_output("stream", name="stdout", text="test_linear: 1.5 / 2 <script>x</script>\n"),
            new_output("execute_result", data={"text/plain": "1.5"}, execution_count=3),
        ],
    )  # fmt: skip
    work = new_code_cell(
        "plot()",
        execution_count=4,
        outputs=[
            new_output("display_data", data={"image/png": png, "text/plain": "<Figure>"}),
            new_output(
                "display_data",
                data={"text/html": "<b>html output</b><img src=x onerror=pwned_10()>"},
                metadata={"text/html": {"isolated": True}},
            ),
            new_output("display_data", data={"application/javascript": "pwned_11()"}),
            new_output(
                "display_data",
                data={"application/vnd.jupyter.widget-view+json": {"model_id": "x"}},
            ),
            new_output(
                "display_data",
                data={"image/png": png},
                metadata={"image/png": {"width": "8 onload=pwned_12()"}},
            ),
            new_output(
                "display_data",
                data={"image/svg+xml": '<svg onload="pwned_13()"><script>pwned_14()</script></svg>'},
            ),
            new_output(
                "display_data",
                data={"text/markdown": "*md output* [m](javascript:pwned_15()) <img src=x onerror=pwned_16()>"},
            ),
        ],
    )  # fmt: skip
    return new_notebook(cells=[answer, graded, work])


def student_parts(page: str) -> str:
    """The parts of a page rendered from the notebook's cells (the formgrader's
    own page around them has its buttons and scripts)."""
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(page, "html.parser")
    parts = soup.select(".text_cell_render, .input_area, .output_area")
    assert len(parts) >= 10, "the template's cell markup changed: update student_parts"
    return "\n".join(str(part) for part in parts)


def _assert_safe_and_honest(page: str, png: str) -> None:
    student = student_parts(page)
    assert not live(student), live(student)
    # no payload left in any tag (payloads shown as escaped text are harmless)
    assert not re.search(r"<[^>]*pwned_", student), re.findall(r"<[^>]*pwned_[^>]*>", student)
    assert re.search(r"<h1[^>]*>My answer", page) and "<strong>zero</strong>" in page
    assert "$x^* = 0$" in page and "$f'(x) = 2x$" in page and "$a&lt;b$" in page
    assert "$$\\sum_i x_i^2 \\le 1$$" in page
    assert "<td>0.25</td>" in page
    # the attachment and the figure: the same PNG, inline twice
    assert page.count(f"data:image/png;base64,{png}") == 3
    assert "test_linear: 1.5 / 2" in page and "<em>md output</em>" in page
    assert "<b>html output</b>" in page


class GradesOfTheNotebook(NbGraderPreprocessor):
    """Stands in for GetGrades, which reads the scores from the gradebook
    (here: ``resources["scores"]``, the notebook's and each code cell's)."""

    def preprocess(self, nb, resources):
        total, cell_score = resources.pop("scores")
        resources["nbgrader"].update(score=total, max_score=4.0, late_penalty=0)
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade"):
                cell.metadata.nbgrader["score"] = cell_score if cell.cell_type == "code" else 0
        return nb, resources


@pytest.fixture(scope="module")
def course_config():
    # the file nbgrader reads, as nbgrader reads it
    return PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()


def _feedback_page(course_config, nb, score: float = 1.5, cell_score: float = 1.5) -> str:
    from nbgrader.converters import GenerateFeedback

    # what GenerateFeedback.start does, without a course folder and gradebook:
    # its exporter with its configuration, then its preprocessors
    converter = GenerateFeedback(config=copy.deepcopy(course_config))
    exporter = HTMLExporter(parent=converter, config=converter.config)
    assert GetGrades in converter.preprocessors
    for pp in converter.preprocessors:
        exporter.register_preprocessor(GradesOfTheNotebook if pp is GetGrades else pp)
    resources = {
        "nbgrader": {"notebook": "01_answer", "assignment": "a", "student": "s"},
        "scores": (score, cell_score),
    }
    page, _ = exporter.from_notebook_node(nb, resources=resources)
    assert "<h4>01_answer (Score: " in page  # the feedback template
    return page


def test_feedback_page_is_inert_and_honest(course_config):
    png = _png()
    nb = _notebook(png)
    # the count comes from the kernel; the template writes it unescaped (the
    # formgrader's default preprocessors reject such a notebook before rendering)
    nb.cells[1].execution_count = "<img src=x onerror=pwned_9()>"
    page = _feedback_page(course_config, nb)
    _assert_safe_and_honest(page, png)
    assert "(Score: 1.5 / 4)" in page  # scores as people write them
    assert "Score: 1.5 / 2 " in page  # the graded cell's panel
    # the feedback page's body has no script of its own: all of it is checked
    assert not live(page), live(page)
    assert not re.search(r"<[^>]*pwned_", page)
    # SVG only as an image, never inline
    assert "data:image/svg+xml;base64," in page


def test_exporter_sanitising_is_a_second_layer(course_config):
    # nbconvert's own switch stays on: were SanitizeOutputs left out, a
    # javascript output would still not become a <script>, and HTML would be cleaned
    config = copy.deepcopy(course_config)
    del config.HTMLExporter["preprocessors"]
    nb = new_notebook(cells=[new_code_cell("x", execution_count=1, outputs=[
        new_output("display_data", data={"application/javascript": "pwned_1()"}),
        new_output("display_data", data={"text/html": "<b>b</b><img src=x onerror=pwned_2()>"}),
    ])])  # fmt: skip
    page = _feedback_page(config, nb)
    assert not live(page) and "pwned_" not in page and "<b>b</b>" in page


def test_formgrader_view_is_inert_and_honest(tmp_path, monkeypatch):
    from nbgrader.server_extensions.formgrader.formgrader import FormgradeExtension

    # the formgrader reads nbgrader_config.py from the folder the server runs in
    # and renders a submission with HTMLExporter(config=its config)
    shutil.copy(ROOT / "nbgrader_config.py", tmp_path)
    monkeypatch.chdir(tmp_path)
    formgrader = FormgradeExtension()
    formgrader.initialize([])
    exporter = HTMLExporter(config=formgrader.config)
    assert exporter.template_name == "formgrade"
    png = _png()
    path = tmp_path / "01_answer.ipynb"
    nbformat.write(_notebook(png), path)
    resources = {
        "assignment_id": "a", "notebook_id": "01_answer", "submission_id": "1", "index": 0,
        "total": 1, "base_url": "/base", "student": "s", "last_name": "L", "first_name": "F",
        "notebook_path": "autograded/s/a/01_answer.ipynb",
    }  # fmt: skip
    page, _ = exporter.from_filename(str(path), resources=resources)
    assert "scoring-buttons" in page  # the formgrade template
    _assert_safe_and_honest(page, png)


def test_markdown_that_cannot_render_is_shown_as_text(course_config):
    nb = new_notebook(cells=[new_markdown_cell("![x](attachment:missing.png) <b>kept</b>")])
    page = _feedback_page(course_config, nb)
    assert "![x](attachment:missing.png) &lt;b&gt;kept&lt;/b&gt;" in page


def _chromium() -> str:
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is missing: scripts/install.sh installs Debian's chromium")
        pytest.skip("chromium is not installed")
    return browser


def _open_offline(page: Path, profile: Path) -> subprocess.CompletedProcess:
    """Chromium, headless and with no network (every host name fails to
    resolve), opens ``page`` from disk as a student would; stdout is the DOM
    once scripts have run, stderr the console."""
    return subprocess.run(
        [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0",
         f"--user-data-dir={profile}", "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


FORMULAS = ["$x^* = 0$", "$f'(x) = 2x$", "$a<b$", "$$\\sum_i x_i^2 \\le 1$$"]


# TeX is a language MathJax interprets in the page: what it could turn into a
# link, an id, a class, a style or a file to fetch
HOSTILE_TEX = (
    "$\\href{javascript:pwned_href()}{a}$ $\\require{pwnedext}b$ "
    "$\\cssId{init_mathjax}{c}$ $\\class{modal}{d}$ $\\style{background:url(x)}{e}$ "
    "$\\unicode[Arial]{x41}$ $\\color{url(https://evil.example/x)}{f}$ "
    "$\\colorbox{url(https://evil.example/y)}{g}$ $\\bbox[url(https://evil.example/z)]{h}$ "
    "$\\bbox[5px,border:1px solid red;background:url(https://evil.example/w)]{i}$ "
    "$\\color{red}{ok}$ $\\color[RGB]{0,128,0}{ok}$"
)


def test_no_script_runs_in_a_browser_and_math_renders_offline(course_config, tmp_path):
    nb = _notebook(_png())
    nb.cells.append(new_markdown_cell(HOSTILE_TEX))
    page = tmp_path / "feedback.html"
    page.write_text(_feedback_page(course_config, nb))
    proc = _open_offline(page, tmp_path / "profile")
    # every payload calls an undefined pwned_N(): one that ran is an Uncaught ReferenceError
    ran = [line for line in proc.stderr.splitlines() if "pwned_" in line]
    assert not ran, ran
    soup = BeautifulSoup(proc.stdout, "html.parser")
    for script in soup.find_all("script"):
        script.decompose()  # MathJax's own code names what it makes
    assert "My answer" in soup.get_text()
    answer, *_, hostile = soup.select(".text_cell_render")
    # MathJax ran from the page itself: each formula became an SVG, no TeX is left
    rendered = answer.find_all("mjx-container", attrs={"jax": "SVG"})
    assert len(rendered) == len(FORMULAS), (len(rendered), proc.stderr[-2000:])
    assert all(box.find("svg") is not None for box in rendered)
    assert [box.get("display") for box in rendered].count("true") == 1  # the $$...$$ one
    for tex in FORMULAS:
        assert tex not in answer.get_text(), tex
    assert not answer.select("[data-mjx-error], merror")  # no TeX error box
    # the hostile TeX is typeset (or shown as an error) with nothing live in it
    assert len(hostile.find_all("mjx-container")) == HOSTILE_TEX.count("$") // 2
    made = str(hostile)
    assert not hostile.select("[href], [id=init_mathjax], .modal, [style*=url]"), made
    links = [tag.get("xlink:href") for tag in hostile.find_all(attrs={"xlink:href": True})]
    assert links and all(link.startswith("#MJX-") for link in links), links  # its own glyphs
    assert not [v for t in hostile.find_all(True) for v in t.attrs.values() if "javascript" in v]
    # honest colours are kept
    assert 'fill="red"' in made and 'fill="#008000"' in made
    # and nothing was even attempted: \color{url(...)} would be an SVG
    # fill="url(...)" that the browser requests (the page's policy would block it)
    fetched = [line for line in proc.stderr.splitlines() if "pwnedext" in line or "evil" in line]
    assert not fetched, fetched


def test_the_page_policy_stops_script_the_sanitiser_would_miss(course_config, tmp_path):
    # defence in depth: markup that got past the sanitiser (planted here after
    # rendering) still cannot run, and the page still cannot reach the network
    html = _feedback_page(course_config, _notebook(_png()))
    planted = (
        '<script>pwned_planted()</script><img src="x" onerror="pwned_handler()">'
        '<img src="https://evil.example/beacon.png">'
    )
    head, body = html.split("<body>", 1)
    page = tmp_path / "planted.html"
    page.write_text(f"{head}<body>{planted}{body}")
    proc = _open_offline(page, tmp_path / "profile")
    ran = [line for line in proc.stderr.splitlines() if "pwned_" in line and "Uncaught" in line]
    assert not ran, ran
    blocked = [line for line in proc.stderr.splitlines() if "Content Security Policy" in line]
    assert any("inline script" in line for line in blocked), proc.stderr[-3000:]
    assert any("evil.example" in line for line in blocked), proc.stderr[-3000:]
    assert "<mjx-container" in proc.stdout  # while MathJax, allowed by hash, runs


def test_the_feedback_page_brings_its_own_mathjax(course_config):
    from dlcourse.nbgrader_ext.offline_math import MATHJAX_VERSION

    page = _feedback_page(course_config, new_notebook(cells=[new_markdown_cell("$x$")]))
    soup = BeautifulSoup(page, "html.parser")
    scripts = soup.find_all("script")
    # the configuration and MathJax 3 (with ui/safe), inline, both in <head>
    assert len(scripts) == 2 and all(s.find_parent("head") for s in scripts)
    assert not any(s.get("src") for s in scripts)
    assert "window.MathJax" in scripts[0].string and MATHJAX_VERSION in scripts[1].string
    assert "cdnjs" not in page and "cdn.jsdelivr" not in page.split("<script>", 1)[0]
    # the policy allows exactly these two scripts, and nothing from anywhere
    policy = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})["content"]
    hashes = re.findall(r"'sha256-([^']+)'", policy)
    assert sorted(hashes) == sorted(
        base64.b64encode(hashlib.sha256(s.string.encode()).digest()).decode() for s in scripts
    )
    assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
    # the policy comes before anything a student wrote
    assert page.index("Content-Security-Policy") < page.index("<body")


def test_feedback_scores_are_written_as_people_write_them(course_config):
    nb = _notebook(_png())
    nb.cells[1].metadata.nbgrader["points"] = 4
    page = _feedback_page(course_config, nb, score=3.6923, cell_score=3.6923)
    assert "(Score: 3.69 / 4)" in page and "Score: 3.69 / 4 " in page
    assert "Test cell</a> (Score: 3.69 / 4)" in page
    assert not re.search(r"\d\.\d{3,}|\d\.0\b", " ".join(re.findall(r"Score:[^<]*", page)))
