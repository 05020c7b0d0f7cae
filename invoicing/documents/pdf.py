"""Invoice and credit-note PDF rendering with WeasyPrint from Django templates (one base template, one style).

The DejaVu fonts shipped beside this module are embedded (subset), so names and addresses in any script render
the same on every machine. TEMPLATE_VERSION is stored with every rendering; bump it when the template changes
(or anything else that changes the output: the fonts, PDF_OPTIONS).

Choices measured by bench/pdf.py (figures in bench/RESULTS.documents.md):

- Fonts are subset by HarfBuzz (libharfbuzz-subset >= 4.1), which WeasyPrint uses when the library is installed:
  about 4 ms of CPU per PDF, 1-2 % of the rendering. Without it WeasyPrint falls back to fontTools, about 350 ms
  per PDF (half of the CPU time, throughput halved): workers need libharfbuzz-subset0 (`font_subsetter()` tells
  which one runs). `full_fonts` is slower still (the widths of all of DejaVu's glyphs are read with fontTools on
  every rendering) and makes every PDF 1 MB; `hinting` adds 15 KB per PDF for nothing visible in print; the
  other defaults (compressed streams, images as they are) are kept too.
- The rest of the time is WeasyPrint's CSS cascade, layout and drawing, which grow with the pages (a postpaid
  invoice with its annex is 3-5 pages). WeasyPrint allocates hundreds of thousands of container objects per
  document; with Python's default first-generation threshold (700) the cyclic garbage collector runs thousands
  of times per document and its full collections walk every object of the process. During a rendering the
  threshold is raised to GC_THRESHOLD: about 20 % less CPU per PDF, the same peak memory, the same bytes.

WeasyPrint loads every URL a document names (images, stylesheets, fonts, the images inside an SVG), over the
network or from any readable file. Here a rendering gets only what `resource_path` allows: the bundled fonts and the
files it is given (the admin's own logo); everything else is refused, logged and left out of the PDF.

WeasyPrint is imported inside the functions: importing it takes seconds, which processes that never render a PDF
should not pay.
"""

import atexit
import gc
import logging
import mimetypes
import threading
from collections.abc import Iterable
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

TEMPLATE_VERSION = "2026.3"
FONTS_DIR = Path(__file__).resolve().parent / "fonts"
BUNDLED_FONTS = frozenset(path.resolve() for path in FONTS_DIR.glob("*.ttf"))
# Options of WeasyPrint's write_pdf: its defaults, spelt out (fonts subset, not hinted; streams compressed).
PDF_OPTIONS: dict = {"full_fonts": False, "hinting": False, "uncompressed_pdf": False, "optimize_images": False}
# First-generation threshold of the cyclic garbage collector while a PDF renders (None: leave the collector alone).
GC_THRESHOLD: int | None = 50_000


class ResourceRefused(ValueError):
    """A document named a URL it may not load. WeasyPrint logs it and renders the document without it."""


def resource_path(url: str, *, files: frozenset[Path] = frozenset()) -> Path | None:
    """The file a document may load for `url`, or None: only a `file:` URL without a host that names a bundled font
    or one of `files` (resolved paths), compared after resolving `..` and symbolic links. No network, no data: URL,
    no other file."""
    parts = urlsplit(url)
    if parts.scheme.lower() != "file" or parts.netloc:
        return None
    try:
        path = Path(url2pathname(parts.path)).resolve(strict=True)
    except (OSError, ValueError, RuntimeError):  # missing, a NUL byte, a loop of symbolic links
        return None
    return path if path in BUNDLED_FONTS or path in files else None


def document_fetcher(files: Iterable[Path | str] = ()):
    """The URL fetcher of a rendering that may load the bundled fonts and `files`."""
    return _fetcher_class()(files=frozenset(Path(path).resolve() for path in files))


@lru_cache(maxsize=1)
def _fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class DocumentFetcher(URLFetcher):
        """Serves what `resource_path` allows; refuses (raises) everything else, so WeasyPrint leaves it out."""

        def __init__(self, *, files: frozenset[Path]):
            # No protocol for the inherited opener either, should anything ever reach it.
            super().__init__(allowed_protocols=frozenset(), allow_redirects=False)
            self.files = files

        def fetch(self, url, headers=None):
            path = resource_path(url, files=self.files)
            if path is None:
                logger.warning("PDF rendering refused to load %s", url[:200])
                raise ResourceRefused(f"Not a bundled font or the admin's logo: {url[:200]}")
            content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return URLFetcherResponse(url, path.read_bytes(), {"Content-Type": content_type})

    return DocumentFetcher


@lru_cache(maxsize=1)
def _font_config():
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


@lru_cache(maxsize=1)
def _stylesheet():
    from weasyprint import CSS

    regular = (FONTS_DIR / "DejaVuSans.ttf").as_uri()
    bold = (FONTS_DIR / "DejaVuSans-Bold.ttf").as_uri()
    css = f"""
    @font-face {{ font-family: "Doc Sans"; src: url("{regular}"); }}
    @font-face {{ font-family: "Doc Sans"; font-weight: bold; src: url("{bold}"); }}
    """
    return CSS(string=css, font_config=_font_config(), url_fetcher=document_fetcher())


# Drop the cached font configuration before interpreter shutdown (its finaliser needs the FFI still loaded).
atexit.register(lambda: (_stylesheet.cache_clear(), _font_config.cache_clear()))


def font_subsetter() -> str:
    """ "harfbuzz" when WeasyPrint can subset fonts with HarfBuzz, else "fontTools" (its slow fallback)."""
    from weasyprint.pdf import fonts

    usable = fonts.harfbuzz_subset and fonts.harfbuzz.hb_version_atleast(4, 1, 0)
    return "harfbuzz" if usable else "fontTools"


_gc_lock = threading.Lock()
_gc_state = {"depth": 0, "saved": None}


@contextmanager
def _fewer_collections():
    """Raise the collector's first-generation threshold while any thread renders; restore it after the last."""
    if GC_THRESHOLD is None:
        yield
        return
    with _gc_lock:
        if _gc_state["depth"] == 0:
            _gc_state["saved"] = gc.get_threshold()
            gc.set_threshold(max(GC_THRESHOLD, _gc_state["saved"][0]), *_gc_state["saved"][1:])
        _gc_state["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["depth"] -= 1
            if _gc_state["depth"] == 0:
                gc.set_threshold(*_gc_state["saved"])


def render_html_pdf(html: str, *, files: Iterable[Path | str] = ()) -> bytes:
    """PDF bytes of a document that may load the bundled fonts and `files`, nothing else."""
    from weasyprint import HTML

    with _fewer_collections():
        return HTML(string=html, base_url=str(FONTS_DIR), url_fetcher=document_fetcher(files)).write_pdf(
            stylesheets=[_stylesheet()], font_config=_font_config(), **PDF_OPTIONS
        )


def _logo_files(context: dict) -> list[str]:
    """The only file a document may load besides the fonts: the admin's logo (`logo_uri`), when it has one."""
    logo_uri = context.get("logo_uri")
    return [url2pathname(urlsplit(logo_uri).path)] if logo_uri else []


def render_invoice_pdf(context: dict) -> bytes:
    """PDF bytes of one invoice; `context` is built by services.documents.invoice_document_context."""
    return render_html_pdf(render_to_string("invoicing/pdf/invoice.html", context), files=_logo_files(context))


def render_credit_note_pdf(context: dict) -> bytes:
    """PDF bytes of one credit note; `context` is built by services.documents.credit_note_document_context. It
    shares the invoice's page, branding and styles (templates/invoicing/pdf/_document.html)."""
    return render_html_pdf(render_to_string("invoicing/pdf/credit_note.html", context), files=_logo_files(context))
