"""manage.py import_records FILE --admin SLUG: stream a CSV or JSON-lines file through the ingestion service."""

import csv
import io
import os
import sys

import orjson
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from msgplatform.accounts.models import Tenant
from msgplatform.messaging.models import IngestBatch
from msgplatform.messaging.services.ingest import records_ingest


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
        total_bytes = os.path.getsize(path) or 1
        totals = {"received": 0, "created": 0, "duplicates": 0, "updated": 0, "rejected": 0}
        offset = 0
        with open(path, "rb") as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
            rows_iter = csv.DictReader(text) if fmt == "csv" else (orjson.loads(line) for line in text if line.strip())
            batch: list = []
            for row in rows_iter:
                batch.append(row)
                if len(batch) >= size:
                    offset = self._flush(tenant, batch, offset, totals, options)
                    batch = []
                    self._progress(raw.tell(), total_bytes, totals)
            if batch:
                self._flush(tenant, batch, offset, totals, options)
        self._progress(total_bytes, total_bytes, totals)
        sys.stderr.write("\n")
        self.stdout.write(
            "received={received} created={created} duplicates={duplicates} updated={updated} "
            "rejected={rejected}".format(**totals)
        )

    def _flush(self, tenant, batch, offset, totals, options):
        result = records_ingest(tenant=tenant, rows=batch, source=IngestBatch.Source.FILE)
        for key in totals:
            totals[key] += getattr(result, key)
        if not options["quiet_errors"]:
            for error in result.errors:
                # Row numbers count data rows from 1, whatever the batch.
                self.stderr.write(
                    f"\nrow {offset + error.index + 1}: {error.field or 'record'} {error.reason}"
                    f"{f' (message_id {error.message_id})' if error.message_id else ''}"
                )
        return offset + len(batch)

    def _progress(self, done, total, totals):
        width = 30
        filled = int(width * min(done, total) / total)
        sys.stderr.write(
            f"\r[{'#' * filled}{'.' * (width - filled)}] {100 * min(done, total) // total:3d}% "
            f"{totals['received']} records"
        )
        sys.stderr.flush()
