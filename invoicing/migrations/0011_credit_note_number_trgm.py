"""PostgreSQL only: a trigram index for the credit notes' "number contains" search, like inv_number_trgm."""

from django.db import migrations


TRIGRAM_INDEX_SQL = (
    "CREATE INDEX IF NOT EXISTS cn_number_trgm ON invoicing_creditnote USING gin (UPPER(number::text) gin_trgm_ops)"
)


def trigram_index_create(apps, schema_editor):
    connection = schema_editor.connection
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        if cursor.fetchone() is None:
            return  # no extension (see 0006_search_indexes): the search stays correct, it only scans
    schema_editor.execute(TRIGRAM_INDEX_SQL)


def trigram_index_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP INDEX IF EXISTS cn_number_trgm")


class Migration(migrations.Migration):
    dependencies = [("invoicing", "0010_credit_note_email")]

    operations = [migrations.RunPython(trigram_index_create, trigram_index_drop)]
