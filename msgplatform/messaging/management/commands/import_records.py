"""manage.py import_records FILE --admin SLUG: stream a CSV or JSON-lines file through the ingestion service.

Every line stands alone: a line that cannot be read (not UTF-8, not JSON, a CSV field over the csv module's size
limit) or whose record the service refuses is reported by its line number in the file, and the other lines are
imported. The command then fails (exit code 1) if any line was refused, so a script notices.
"""

import csv
import io
import os
import re
import sys

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from msgplatform.accounts.models import Tenant
from msgplatform.messaging.models import IngestBatch
from msgplatform.messaging.services.ingest import records_ingest

# Bytes that are not UTF-8 come out of the decoder as these (errors="surrogateescape").
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# What may not reach a terminal as it is: control characters (an escape sequence in a message id) and surrogates.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")


def _printable(text: str) -> str:
    return _UNPRINTABLE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 256 else "\ufffd", text)


class Command(BaseCommand):
    help = "Import messaging records from a CSV (with a header row) or JSON-lines file, in batches."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--admin", required=True, help="The admin's signup slug")
        parser.add_argument("--format", choices=["csv", "jsonl"], help="Default: from the file extension")
        parser.add_argument("--batch-size", type=int, default=settings.INGEST_MAX_BATCH)
        parser.add_argument("--quiet-errors", action="store_true", help="Only count rejected records")

    def handle(self, *args, **options):
        try:
            tenant = Tenant.objects.get(signup_slug=options["admin"])
        except Tenant.DoesNotExist:
            raise CommandError(f"No admin with slug {options['admin']!r}.")
        path = options["file"]
        if not os.path.exists(path):
            raise CommandError(f"{path}: no such file.")
        fmt = options["format"] or ("jsonl" if path.endswith((".jsonl", ".ndjson", ".json")) else "csv")
        size = max(1, min(options["batch_size"], settings.INGEST_MAX_BATCH))
        self.quiet = options["quiet_errors"]
        self.tenant = tenant
        total_bytes = os.path.getsize(path) or 1
        self.totals = {"received": 0, "created": 0, "duplicates": 0, "updated": 0, "rejected": 0}
        with open(path, "rb") as raw:
            # Undecodable bytes are kept as surrogates so that the line they are on, and only it, can be refused.
            text = io.TextIOWrapper(raw, encoding="utf-8", errors="surrogateescape", newline="")
            rows = self._csv_rows(text) if fmt == "csv" else self._jsonl_rows(text)
            batch: list = []
            lines: list[int] = []
            for number, row in rows:
                batch.append(row)
                lines.append(number)
                if len(batch) >= size:
                    self._flush(batch, lines)
                    batch, lines = [], []
                    self._progress(raw.tell(), total_bytes)
            if batch:
                self._flush(batch, lines)
        self._progress(total_bytes, total_bytes)
        sys.stderr.write("\n")
        self.stdout.write(
            "received={received} created={created} duplicates={duplicates} updated={updated} "
            "rejected={rejected}".format(**self.totals)
        )
        if self.totals["rejected"]:
            raise CommandError(
                f"{self.totals['rejected']} of {self.totals['received']} records refused (see the lines above); "
                "the others were imported.",
                returncode=1,
            )

    def _jsonl_rows(self, text):
        """(line number, record) of each non-blank line; a line that is not UTF-8 or not JSON is refused."""
        for number, line in enumerate(text, 1):
            if not line.strip():
                continue
            if _UNDECODABLE.search(line):
                self._refuse(number, "is not UTF-8 text")
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                self._refuse(number, f"is not valid JSON: {exc}")

    def _csv_rows(self, text):
        """(line number, record) of each CSV row, named by the header; the line number is the row's first line."""
        undecodable: set[int] = set()

        def checked(lines):
            for number, line in enumerate(lines, 1):
                if number == 1:
                    line = line.removeprefix("\ufeff")  # the byte order mark spreadsheets write
                if _UNDECODABLE.search(line):
                    undecodable.add(number)
                yield line

        reader = csv.reader(checked(text))
        header = None
        read = 0  # physical lines read so far: a row starts on the line after
        while True:
            start = read + 1
            try:
                values = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                read = reader.line_num
                if header is None:
                    raise CommandError(f"line {start} (the header) cannot be read as CSV: {exc}.")
                self._refuse(start, f"cannot be read as CSV: {exc}")
                continue
            read = reader.line_num
            if undecodable.intersection(range(start, read + 1)):
                if header is None:
                    raise CommandError("line 1 (the header) is not UTF-8 text.")
                self._refuse(start, "is not UTF-8 text")
                continue
            if not values:  # a blank line
                continue
            if header is None:
                header = values
                continue
            yield start, dict(zip(header, values, strict=False))

    def _refuse(self, number: int, reason: str) -> None:
        """A line refused before it reached the service: counted as received and rejected."""
        self.totals["received"] += 1
        self.totals["rejected"] += 1
        self._report(f"line {number}: {reason}")

    def _flush(self, batch, lines):
        result = records_ingest(tenant=self.tenant, rows=batch, source=IngestBatch.Source.FILE)
        for key in self.totals:
            self.totals[key] += getattr(result, key)
        for error in result.errors:
            named = f" (message_id {error.message_id})" if error.message_id else ""
            self._report(f"line {lines[error.index]}: {error.field or 'record'} {error.reason}{named}")

    def _report(self, message: str) -> None:
        if not self.quiet:
            self.stderr.write("\n" + _printable(message))

    def _progress(self, done, total):
        width = 30
        filled = int(width * min(done, total) / total)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * min(done, total) // total:3d}% "
            f"{self.totals['received']} records"
        )
        sys.stderr.flush()
