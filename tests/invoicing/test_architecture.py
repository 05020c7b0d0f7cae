"""The plugin's modules import each other without a circle (import-linter checks the layers in CI)."""

import graphlib
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[2]


def test_no_import_circle_among_the_plugins_modules(monkeypatch):
    monkeypatch.setattr(sys, "path", [str(ROOT), *sys.path])
    graph = grimp.build_graph("invoicing", cache_dir=None)
    sorter = graphlib.TopologicalSorter(
        {module: graph.find_modules_directly_imported_by(module) for module in graph.modules}
    )
    try:
        sorter.prepare()
    except graphlib.CycleError as circle:
        raise AssertionError(f"import circle: {' -> '.join(circle.args[1])}") from None
