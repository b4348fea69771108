"""Student HTML made inert before any page shows it.

A submission's markdown cells and outputs are written by the student and
rendered into two pages: the feedback the student opens and the formgrader
page the instructor opens while logged in to a Jupyter server (that can
change grades and run code). Stock nbconvert/nbgrader 0.9.6 put them there
live: nbgrader's ``feedback`` and ``formgrade`` templates render markdown
cells with ``markdown2html`` and nothing after it (``HTMLExporter.sanitize_html``
is ignored there), nbconvert's markdown renderer lets ``[x](javascript:..)``
through, and without ``sanitize_html`` text/html and application/javascript
outputs are copied in as they are.

Both pages come from an ``HTMLExporter`` built from the course's
``nbgrader_config.py`` (GenerateFeedback's exporter and the formgrader's
``HTMLExporter(config=...)``), so the course configures that exporter:

* ``HTMLExporter.sanitize_html = True``: text/html and text/markdown outputs go
  through the ``clean_html`` filter, application/javascript and widget
  outputs (and the widget state) are left out;
* ``HTMLExporter.filters = FILTERS``: ``clean_html`` is nh3 with the allow-list
  below instead of nbconvert's bleach call, and every markdown rendering ends
  in ``clean_html`` (``markdown2html`` and ``strip_files_prefix``, the filters
  nbgrader's templates chain for markdown cells and comments);
* ``HTMLExporter.preprocessors = [SanitizeOutputs]``: outputs are reduced to
  mimetypes the templates render inertly, with metadata the templates cannot
  be steered by.

Why nh3 (ammonia) and not nbconvert's own sanitising: nbconvert's
``SanitizeHTML``/``clean_html`` use bleach (deprecated since 2023) with a list
too short for honest content (no p, h1-h6, img, th, thead: they are shown as
escaped text), and the nbgrader templates do not call it for markdown cells.
ammonia parses with html5ever (the browsers' HTML5 algorithm), so what it
keeps is what the browser sees.

The policy is an allow-list: the tags markdown and pandas produce, no
script/style/iframe/object/embed/form/svg/math/base/meta/link; no ``on*``,
``id``, ``name`` or ``data-*`` attribute (no handlers, no DOM clobbering of the
page's own scripts, no Bootstrap data-api gadgets); classes only those of
pygments highlighting, pandas tables and nbconvert's anchors/task lists (no
Bootstrap or formgrader classes such as ``modal``/``score``); links only
http(s), mailto or relative; images only base64 ``data:`` URLs of raster
images (no beacons to other servers, no requests to the Jupyter server);
inline style only a few text properties with plain values (no ``url(``,
``expression(``, escapes or comments). Text, including ``$...$`` math for
MathJax, is kept as it is.
"""

from __future__ import annotations

import html
import re

import nh3
from jinja2 import pass_context
from nbconvert.filters.strings import strip_files_prefix as _nbconvert_strip_files_prefix
from nbconvert.preprocessors import Preprocessor
from nbformat import NotebookNode
from pygments.token import STANDARD_TYPES
from traitlets import Bool
from traitlets.config import LoggingConfigurable

__all__ = ["FILTERS", "SanitizeOutputs", "SanitizedMarkdown2HTML", "clean_html"]

TAGS = {
    # text
    "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "cite", "code", "dd", "del",
    "details", "dfn", "div", "dl", "dt", "em", "figcaption", "figure", "h1", "h2",
    "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark", "ol", "p",
    "pre", "q", "s", "samp", "small", "span", "strike", "strong", "sub", "summary",
    "sup", "tt", "u", "ul", "var", "wbr",
    # tables (markdown and pandas)
    "caption", "col", "colgroup", "table", "tbody", "td", "tfoot", "th", "thead", "tr",
}  # fmt: skip

ATTRIBUTES = {
    "*": {"title", "style", "lang", "dir"},
    "a": {"href"},
    "img": {"src", "alt", "width", "height"},
    "table": {"border"},
    "td": {"colspan", "rowspan", "align", "valign"},
    "th": {"colspan", "rowspan", "align", "valign", "scope"},
    "tr": {"align", "valign"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
    "details": {"open"},
}

# Classes the honest renderers put on the tags they make; any other class could
# restyle the page with its own CSS (Bootstrap's ``modal``, ``navbar-fixed-top``)
# or be picked up by the formgrader's scripts (``score``, ``comment``, ``tabbable``).
CLASSES = {
    "span": {cls for cls in STANDARD_TYPES.values() if cls} | {"hll"},  # pygments
    "div": {"highlight"},  # pygments' wrapper of a fenced code block
    "table": {"dataframe"},  # pandas
    "a": {"anchor-link"},  # nbconvert's heading anchors
    "li": {"task-list-item"},
}

# ``data`` is allowed here only to reach _filter_attribute, which keeps it on <img src>.
URL_SCHEMES = {"http", "https", "mailto", "data"}

IMAGE_DATA_URL = re.compile(
    r"data:image/(?:png|jpeg|gif|webp);base64,[A-Za-z0-9+/\s]*={0,2}\s*", re.IGNORECASE
)
URL_IGNORED = re.compile(r"[\x00-\x20]")
STYLE_PROPERTIES = {
    "text-align",
    "vertical-align",
    "color",
    "background-color",
    "font-weight",
    "font-style",
    "text-decoration",
}
# plain keywords, numbers, lengths and #colours: no parentheses (url(), expression(),
# var()), no backslash escapes, no comments, no quotes
STYLE_VALUE = re.compile(r"[-#%.,\w ]+", re.ASCII)


def _filter_style(value: str) -> str | None:
    kept = []
    for declaration in value.split(";"):
        prop, colon, val = declaration.partition(":")
        prop, val = prop.strip().lower(), val.strip()
        if colon and prop in STYLE_PROPERTIES and STYLE_VALUE.fullmatch(val):
            kept.append(f"{prop}: {val}")
    return "; ".join(kept) or None


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    """nh3 callback, called after the tag/attribute allow-list and the scheme check."""
    # the scheme as the browser reads it: URL parsers drop tabs and newlines
    # anywhere (``da\tta:`` is ``data:``) and spaces/controls around the URL
    url = URL_IGNORED.sub("", value).lower()
    if attribute == "src" or (attribute == "href" and url.startswith("data:")):
        # images: inline raster data only (http(s) sources are beacons, relative
        # ones requests to the Jupyter server); links: no data: documents
        return value if tag == "img" and IMAGE_DATA_URL.fullmatch(value) else None
    if attribute == "style":
        return _filter_style(value)
    return value


_CLEANER = nh3.Cleaner(
    tags=TAGS,
    # the content of these is dropped with them: ammonia's default, repeated so
    # that it does not depend on the library's default
    clean_content_tags={"script", "style"},
    attributes=ATTRIBUTES,
    attribute_filter=_filter_attribute,
    allowed_classes=CLASSES,
    url_schemes=URL_SCHEMES,
    strip_comments=True,
    link_rel="noopener noreferrer",
)


def clean_html(markup: str | bytes) -> str:
    """Student HTML fragment (str, or UTF-8 bytes as the svg block passes it) -> inert HTML."""
    if isinstance(markup, bytes):
        markup = markup.decode("utf-8", "replace")
    return _CLEANER.clean(str(markup))


def strip_files_prefix(text: str) -> str:
    """nbconvert's ``strip_files_prefix``, cleaned again afterwards: it turns
    ``href="files/javascript:..."`` (a relative URL the sanitiser kept) into
    ``href="javascript:..."``, and nbgrader's templates apply it after
    ``markdown2html``."""
    return clean_html(_nbconvert_strip_files_prefix(text))


class SanitizedMarkdown2HTML(LoggingConfigurable):
    """Jinja filter ``markdown2html``: the exporter's own rendering (math kept
    for MathJax, attachments inlined, code highlighted), then ``clean_html``.

    Registered through ``HTMLExporter.filters``; nbconvert instantiates a
    HasTraits filter class with ``parent=`` the exporter, whose
    ``markdown2html`` method this wraps.
    """

    def __call__(self, context, source: str) -> str:
        try:
            rendered = self.parent.markdown2html(context, source)
        except Exception as err:  # noqa: BLE001 - whatever the student's markdown raises
            # e.g. ![x](attachment:missing) raises InvalidNotebook, which would
            # abort the whole page (the feedback, the formgrader's submission view)
            self.log.warning("markdown not rendered, shown as text: %s", err)
            rendered = f"<pre>{html.escape(source)}</pre>"
        return clean_html(rendered)

    # Jinja passes the template context to a filter that carries
    # ``jinja_pass_arg``; here the filter is this instance, so the marker that
    # ``pass_context`` sets on a function is set on the class.
    jinja_pass_arg = pass_context(__call__).jinja_pass_arg


FILTERS = {
    "clean_html": clean_html,
    "markdown2html": SanitizedMarkdown2HTML,
    "strip_files_prefix": strip_files_prefix,
}

# Output mimetypes the (classic/lab) templates render without running anything:
# text through escaping filters, html and markdown through clean_html, png/jpeg
# as <img src="data:...">, svg as <img src="data:image/svg+xml;base64,..."> (an
# SVG shown as an image runs no script). Everything else (application/javascript,
# widget views, mermaid, pdf, vendor types) is dropped.
RENDERED_MIMETYPES = {
    "text/plain",
    "text/html",
    "text/markdown",
    "text/latex",
    "image/png",
    "image/jpeg",
    "image/svg+xml",
}
BASE64 = re.compile(r"[A-Za-z0-9+/\s]*={0,2}\s*")


def _text(value) -> str | None:
    """A mimebundle value as a string (nbformat allows a list of lines), else None."""
    if isinstance(value, list) and all(isinstance(line, str) for line in value):
        return "".join(value)
    return value if isinstance(value, str) else None


def _image_metadata(metadata) -> dict:
    """Output metadata -> only numeric width/height per raster mimetype.

    The templates write ``width={{ width | escape_html }}`` unquoted, so a string
    width such as ``1 onerror=alert(1)`` is an attribute of its own; they also
    take ``filenames`` as the image's URL and ``isolated`` as a reason for an iframe.
    """
    kept = {}
    for mime in ("image/png", "image/jpeg"):
        entry = metadata.get(mime) if isinstance(metadata, dict) else None
        if isinstance(entry, dict):
            size = {
                key: entry[key]
                for key in ("width", "height")
                if isinstance(entry.get(key), int | float) and not isinstance(entry[key], bool)
            }
            if size:
                kept[mime] = size
    return kept


class SanitizeOutputs(Preprocessor):
    """Outputs reduced to what renders inertly (``HTMLExporter.preprocessors``).

    For every display_data/execute_result output: mimetypes outside
    RENDERED_MIMETYPES are dropped, text/html is cleaned, png/jpeg that is not
    base64 is dropped, metadata keeps numeric image sizes only; an output left
    empty, or of an unknown output_type, is dropped. Streams and errors are
    escaped by the templates and left alone. A code cell's execution count
    that is not an integer is cleared, and the notebook's saved widget state
    is dropped. Markdown is cleaned where it is rendered
    (SanitizedMarkdown2HTML): cleaning markdown source cannot know what the
    renderer will make of it.
    """

    # on wherever it is registered (nbgrader's converters register preprocessors
    # without enabling them; nbconvert's default is off)
    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: dict):
        # saved widget state: templates that include it load the widget manager,
        # which renders the state's HTML widgets (their ``value`` is raw HTML)
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell: NotebookNode, resources: dict, index: int):
        if cell.get("cell_type") == "code":
            # the kernel reports the count (nbclient copies execute_input's): one
            # that is not an integer fails nbconvert's validation, which aborts
            # the page, and the templates write ``In [{{ execution_count }}]`` unescaped
            count = cell.get("execution_count")
            cell.execution_count = count if isinstance(count, int) else None
            cell.outputs = [
                kept for out in cell.get("outputs", []) if (kept := self._output(out)) is not None
            ]
        return cell, resources

    def _output(self, output: NotebookNode) -> NotebookNode | None:
        kind = output.get("output_type")
        if kind in ("stream", "error"):
            return output
        if kind not in ("display_data", "execute_result"):
            return None
        data = output.get("data") if isinstance(output.get("data"), dict) else {}
        kept = {}
        for mime, value in data.items():
            text = _text(value)
            if mime not in RENDERED_MIMETYPES or text is None:
                continue
            if mime == "text/html":
                text = clean_html(text)
            elif mime in ("image/png", "image/jpeg") and not BASE64.fullmatch(text):
                continue
            kept[mime] = text
        if not kept:
            return None  # nothing left to show (the templates warn about an empty bundle)
        # a new node: keys the schema does not have (``svg_filename``, which the
        # templates use as an image URL) are not carried over
        clean = NotebookNode(
            output_type=kind,
            data=NotebookNode(kept),
            metadata=NotebookNode(_image_metadata(output.get("metadata"))),
        )
        if kind == "execute_result":
            count = output.get("execution_count")
            clean["execution_count"] = count if isinstance(count, int) else None
        return clean
