"""Renderers: pure functions from plain data to bytes (PDF, XLSX, CSV). No database access here."""
