"""The host platform reaches the invoicing plugin only through its facade (invoicing.api, invoicing.contracts).

import-linter checks the Python imports in CI; these tests say the same here, and cover what it cannot see: the
host's templates load no invoicing template tags and name no invoicing URL (the facade hands them links instead).
"""

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ALLOWED = {"invoicing.api", "invoicing.contracts"}
LOADS_PLUGIN_TAGS = re.compile(r"{%\s*load\s[^%]*\binvoicing_tags\b")
NAMES_PLUGIN_URL = re.compile(r"""{%\s*url\s+["']invoicing:""")


def imported_modules(path: Path):
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            # `from invoicing import api` imports invoicing.api
            yield from (
                f"{node.module}.{alias.name}" if node.module == "invoicing" else node.module for alias in node.names
            )


def test_host_modules_import_only_the_invoicing_facade():
    modules = sorted((ROOT / "msgplatform").rglob("*.py"))

    offenders = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in modules
        for name in imported_modules(path)
        if (name == "invoicing" or name.startswith("invoicing.")) and name not in ALLOWED
    ]

    assert len(modules) > 20
    assert offenders == []


def test_host_templates_neither_load_invoicing_tags_nor_name_invoicing_urls():
    templates = sorted((ROOT / "templates").rglob("*.html"))

    offenders = [
        f"{path.relative_to(ROOT)}: {pattern.pattern}"
        for path in templates
        for pattern in (LOADS_PLUGIN_TAGS, NAMES_PLUGIN_URL)
        if pattern.search(path.read_text())
    ]

    assert len(templates) > 10
    assert offenders == []
