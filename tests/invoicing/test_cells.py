"""The one formula guard of CSV and spreadsheet text cells."""

import pytest

from invoicing.documents.cells import cell_text


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
        ('=HYPERLINK("x")', '\'=HYPERLINK("x")'),
        ("@SUM(A1:A2)", "'@SUM(A1:A2)"),
        ("+15551234", "'+15551234"),
        ("-1+1", "'-1+1"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("-12.50", "-12.50"),
        ("-7", "-7"),
        ("Acme = Co", "Acme = Co"),
        ("", ""),
        (None, ""),
        (12, "12"),
    ],
)
def test_cell_text_quotes_what_a_spreadsheet_would_run(value, written):
    assert cell_text(value) == written
