"""Invoice PDF rendering with WeasyPrint from a Django template.

The DejaVu fonts shipped beside this module are embedded (subset), so names and addresses in any script render
the same on every machine. TEMPLATE_VERSION is stored with every rendering; bump it when the template changes.
"""

import atexit
from functools import lru_cache
from pathlib import Path

from django.template.loader import render_to_string

TEMPLATE_VERSION = "2026.1"
FONTS_DIR = Path(__file__).resolve().parent / "fonts"


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
    return CSS(string=css, font_config=_font_config())


# Drop the cached font configuration before interpreter shutdown (its finaliser needs the FFI still loaded).
atexit.register(lambda: (_stylesheet.cache_clear(), _font_config.cache_clear()))


def render_invoice_pdf(context: dict) -> bytes:
    """PDF bytes of one invoice; `context` is built by services.documents.invoice_document_context."""
    from weasyprint import HTML

    html = render_to_string("invoicing/pdf/invoice.html", context)
    return HTML(string=html, base_url=str(FONTS_DIR)).write_pdf(stylesheets=[_stylesheet()], font_config=_font_config())
