"""Invoice PDF throughput (issue 5): PDFs per second with the DejaVu fonts embedded, one and two processes.

    .venv/bin/python bench/pdf.py [--prepaid 30] [--postpaid 30] [--runs 5] [--budget 420]
        [--variants chosen,gc_default,fonttools,...] [--paths render,stored] [--procs 1,2] [--no-logo] [--profile]

Database: DATABASE_URL when set (a scratch PostgreSQL database: the bench adds one admin to it and leaves it
there); otherwise a SQLite file in a fresh temporary directory (VAR_DIR, media and broker there too), removed at
the end. The schema comes from `manage.py migrate`.

Data, made through the services with a fixed seed (so every rule of a real invoice applies): one admin (EUR,
Europe/Berlin) with business address, bank details, a 19 % VAT, a PNG logo (`--no-logo` to leave it out), and
users whose names and addresses are in Latin with diacritics, Greek, Cyrillic, Turkish, Polish, Vietnamese,
Hebrew, Arabic and Georgian (all covered by DejaVu Sans):

- prepaid: a recharge invoice each, approved; a third unpaid, a third partially paid (one payment), a third paid
  in two payments (bank reference, transaction id);
- postpaid: each user sends messages over 20 to 60 routes (country, network, channel, price) during the previous
  month (records ingested through the ingestion service), then an invoice of that month is created and approved:
  20 to 60 usage lines and the usage annex (3 to 5 pages in all); half of them partly paid.

Measured, for each variant (see VARIANTS: `chosen` is what invoicing/documents/pdf.py does; the others change its
write_pdf options, force WeasyPrint's fontTools subsetter in place of HarfBuzz, or leave the garbage collector
alone), every run rendering every invoice once:

- `render`: `invoice_document_context(invoice)` + `render_invoice_pdf(context)`, the invoice loaded with its
  tenant and account as the service does (the queries of the context are included);
- `stored`: `invoice_pdf_render(invoice_id=...)`, the worker's path (state key, render, insert of the version);
  the stored versions are deleted before each run, outside the timing;
- in one process, and in two worker processes (spawned, as two Celery workers: each warms up on its own, then
  both start together on half of the invoices; the figure is all PDFs / wall time until the last one finishes).

Runs are interleaved (every variant once per run) so machine noise hits all alike; the figures are medians of the
runs (`--budget` seconds: no run is started that would end later). As the machine may be shared, the CPU time per
PDF is measured too (all processes), with the rate two free cores would give, its split by stage (template, CSS
cascade, boxes, layout, drawing, PDF writing, font embedding, the rest) and by kind (prepaid, postpaid). Also: the
PDF sizes, and a check of every variant's PDFs: fonts embedded (FontFile2), the Unicode names extractable as
text, bytes identical to those of the first variant or not. `--profile`: cProfile of one rendering of each invoice.
"""

from __future__ import annotations

import datetime
import hashlib
import io
import logging
import multiprocessing
import os
import random
import shutil
import signal
import statistics
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the project importable
from bench.common import (  # noqa: E402
    argument_parser,
    django_setup,
    load_average_change,
    machine_summary,
    median_and_runs,
    median_ratio,
    postgres_show,
)

GOAL = 10.0  # PDFs per second on this 2-core machine
CENT = Decimal("0.01")

# name -> (write_pdf options over the product's PDF_OPTIONS, subsetter, collector threshold raised while rendering).
# Subsetter "harfbuzz" (WeasyPrint's when libharfbuzz-subset is installed), "fonttools" (its fallback, forced
# here) or None (full fonts: no subsetting). "chosen" is what invoicing/documents/pdf.py does; "gc_default" is
# the same with the collector left alone (the product before this benchmark).
VARIANTS = {
    "chosen": ({}, "harfbuzz", True),
    "gc_default": ({}, "harfbuzz", False),
    "fonttools": ({}, "fonttools", True),
    "full_fonts": ({"full_fonts": True}, None, True),
    "hinting": ({"hinting": True}, "harfbuzz", True),
    "uncompressed": ({"uncompressed_pdf": True}, "harfbuzz", True),
    "optimize_images": ({"optimize_images": True}, "harfbuzz", True),
    "image_cache": ({"cache": "shared"}, "harfbuzz", True),
}
BASE = "chosen"

NAMES = [
    ("Müller & Söhne Telekommunikation GmbH", "Königstraße 12\n70173 Stuttgart\nDeutschland"),
    ("Ελληνικές Επικοινωνίες Α.Ε.", "Λεωφόρος Κηφισίας 44\n151 25 Μαρούσι\nΕλλάδα"),
    ("ООО «Связь-Сервис»", "ул. Тверская, д. 7\n125009 Москва\nРоссия"),
    ("Çağrı İletişim A.Ş.", "Büyükdere Cad. No: 185\n34394 Şişli/İstanbul\nTürkiye"),
    ("Łączność Polska sp. z o.o.", "ul. Świętokrzyska 30\n00-116 Warszawa\nPolska"),
    ("Công ty Viễn thông Đông Á", "Số 25 Phố Tràng Tiền\nHoàn Kiếm, Hà Nội\nViệt Nam"),
    ("תקשורת ישראל בע״מ", "רחוב הרצל 15\nתל אביב\nישראל"),
    ("شركة الاتصالات المتحدة", "شارع الملك فهد\nالرياض 12211\nالسعودية"),
    ("საქართველოს ტელეკომი", "რუსთაველის გამზირი 10\nთბილისი\nსაქართველო"),
    ("Île-de-France Réseaux SARL", "14 rue de la Paix\n75002 Paris\nFrance"),
    ("Nørdisk Besked ApS", "Østergade 3\n1100 København K\nDanmark"),
    ("Acme Messaging Ltd", "1 Main Street\nLondon EC1A 1BB\nUnited Kingdom"),
]
ROUTES = [
    ("US", "T-Mobile US", "0.0079"), ("US", "AT&T", "0.0081"), ("US", "Verizon", "0.0083"),
    ("CA", "Telus", "0.0085"), ("CA", "Bell", "0.0086"), ("GB", "O2 UK", "0.0352"),
    ("GB", "Vodafone UK", "0.0355"), ("GB", "EE", "0.0349"), ("GB", "Three UK", "0.0361"),
    ("DE", "Telekom.de", "0.0795"), ("DE", "Vodafone.de", "0.0788"), ("DE", "O2 DE", "0.0779"),
    ("FR", "Orange F", "0.0705"), ("FR", "SFR", "0.0711"), ("FR", "Bouygues Telecom", "0.0698"),
    ("ES", "Vodafone ES", "0.0698"), ("ES", "Movistar", "0.0702"), ("IT", "TIM", "0.0781"),
    ("IT", "WindTre", "0.0774"), ("NL", "KPN", "0.0912"), ("NL", "Odido", "0.0905"),
    ("IN", "Airtel", "0.00235"), ("IN", "Jio", "0.00231"), ("BR", "Claro BR", "0.0126"),
    ("BR", "Vivo", "0.0129"), ("MX", "Telcel", "0.0189"), ("NG", "MTN NG", "0.0311"),
    ("ZA", "Vodacom", "0.0197"), ("ID", "Telkomsel", "0.0283"), ("PH", "Globe", "0.0154"),
    ("AE", "Etisalat", "0.0297"),
]  # fmt: skip
CHANNELS = [("sms", 1.0), ("whatsapp", 0.62), ("rcs", 0.9), ("viber", 0.48)]


# --- set-up ----------------------------------------------------------------------------------------------------


def environment_setup(args) -> Path | None:
    """Point Django at the bench database; returns the temporary directory to remove (SQLite) or None."""
    tmp = None
    if not os.environ.get("DATABASE_URL"):
        tmp = Path(tempfile.mkdtemp(prefix="bench_pdf_"))
        os.environ["VAR_DIR"] = str(tmp)
        os.environ["SQLITE_PATH"] = str(tmp / "bench.sqlite3")
        os.environ["MEDIA_ROOT"] = str(tmp / "media")
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    return tmp


def logo_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (480, 144), (255, 255, 255))
    draw = ImageDraw.Draw(image)
    draw.rounded_rectangle((4, 4, 140, 140), radius=24, fill=(20, 90, 170))
    draw.ellipse((30, 30, 114, 114), fill=(255, 255, 255))
    for i in range(6):
        draw.rectangle((170 + i * 50, 40 + i * 8, 205 + i * 50, 104), fill=(20 + i * 30, 90, 170 - i * 20))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def data_create(args) -> tuple[list[int], list[int]]:
    """The admin, its users and invoices; returns (prepaid ids, postpaid ids)."""
    from django.core.files.uploadedfile import SimpleUploadedFile

    from invoicing.models import InvoicingLicense
    from invoicing.services import documents
    from invoicing.services.configuration import (
        bank_details_update,
        settings_logo_set,
        settings_update,
        tax_rate_create,
    )
    from invoicing.services.invoices import invoice_create_postpaid, invoice_create_prepaid
    from invoicing.services.payments import payment_record
    from msgplatform.accounts.models import Account, Tenant
    from msgplatform.core.clock import tenant_today
    from msgplatform.messaging.services.ingest import records_ingest

    rng = random.Random(args.seed)
    # Approval schedules the PDF rendering in a worker after commit; the bench renders itself.
    documents.schedule_pdf_render = lambda invoice_id: None
    n = Tenant.objects.filter(name__startswith="Bench PDF").count() + 1
    tenant = Tenant.objects.create(
        name=f"Bench PDF {n}", currency="EUR", timezone="Europe/Berlin", signup_slug=f"bench-pdf-{n}"
    )
    today = tenant_today(tenant)
    InvoicingLicense.objects.create(
        tenant=tenant, prepaid=True, postpaid=True, valid_until=today + datetime.timedelta(days=365)
    )
    settings_update(
        tenant=tenant,
        actor_id=None,
        business_name="Nordlicht Messaging GmbH",
        business_address="Friedrichstraße 123\n10117 Berlin\nDeutschland",
        business_tax_id="DE 123 456 789",
        business_email="billing@nordlicht.example",
    )
    bank_details_update(
        tenant=tenant,
        actor_id=None,
        bank_name="Berliner Sparkasse",
        branch="Alexanderplatz",
        swift="BELADEBEXXX",
        account_holder="Nordlicht Messaging GmbH",
        account_number="DE89 3704 0044 0532 0130 00",
        notes="Please quote the invoice number with your payment.",
    )
    tax_rate_create(tenant=tenant, actor_id=None, name="USt.", rate="19")
    if args.logo:
        upload = SimpleUploadedFile("logo.png", logo_png(), content_type="image/png")
        settings_logo_set(tenant=tenant, actor_id=None, uploaded=upload)

    def account(i: int, method: str) -> Account:
        name, address = NAMES[i % len(NAMES)]
        return Account.objects.create(
            tenant=tenant,
            name=f"{name} {i:03d}",
            email=f"billing{i}@customer{i}.example",
            billing_method=method,
            billing_name=f"{name} {i:03d}",
            billing_address=address,
            billing_email=f"accounts{i}@customer{i}.example",
            tax_id=f"VAT-{rng.randint(10**8, 10**9 - 1)}",
            apply_tax=True,
            overdraft_limit="1000000" if method == "postpaid" else "0",
        )

    prepaid, postpaid = [], []
    for i in range(args.prepaid):
        user = account(i, "prepaid")
        amount = rng.choice([50, 100, 250, 500, 1000, 2500, 5000])
        invoice = invoice_create_prepaid(
            tenant=tenant, account_id=user.id, actor_id=None, recharge_amount=f"{amount}.00"
        )
        total = invoice.total
        if i % 3 == 1:
            payment_record(
                tenant=tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount=str((total / 2).quantize(CENT)),
                payment_date=today,
                payment_type="bank_transfer",
                bank_reference=f"SEPA-{rng.randint(10**9, 10**10 - 1)}",
            )
        elif i % 3 == 2:
            first = (total * 3 / 10).quantize(CENT)
            payment_record(
                tenant=tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount=str(first),
                payment_date=today,
                payment_type="card",
                transaction_id=f"ch_{i:04d}_{rng.randint(10**9, 10**10 - 1)}",
            )
            payment_record(
                tenant=tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount=str(total - first),
                payment_date=today,
                payment_type="bank_transfer",
                bank_reference=f"SEPA-{rng.randint(10**9, 10**10 - 1)}",
            )
        prepaid.append(invoice.id)

    first_day = (today.replace(day=1) - datetime.timedelta(days=1)).replace(day=1)
    last_day = today.replace(day=1) - datetime.timedelta(days=1)
    days = (last_day - first_day).days + 1
    message = 0
    for i in range(args.postpaid):
        user = account(1000 + i, "postpaid")
        routes = rng.sample([(*r, c, f) for r in ROUTES for c, f in CHANNELS], rng.randint(20, 60))
        rows = []
        for country, network, price, channel, factor in routes:
            for _ in range(rng.randint(2, 12)):
                message += 1
                moment = datetime.datetime.combine(
                    first_day + datetime.timedelta(days=rng.randrange(days)), datetime.time(rng.randint(7, 20))
                )
                rows.append(
                    {
                        "message_id": f"bench-{n}-{message}",
                        "user_id": user.id,
                        "submitted_at": moment.isoformat() + "Z",
                        "destination": f"+{rng.randint(10**10, 10**11 - 1)}",
                        "sender_id": "INFO",
                        "country": country,
                        "mcc": "001",
                        "mnc": "01",
                        "network": network,
                        "channel": channel,
                        "encoding": "gsm7",
                        "parts": rng.choice([1, 1, 1, 2, 3]),
                        "status": "DELIVRD" if rng.random() < 0.9 else "UNDELIV",
                        "unit_price": f"{float(price) * factor:.6f}",
                        "rolled_back": False,
                    }
                )
        result = records_ingest(tenant=tenant, rows=rows)
        if result.created != len(rows):
            sys.exit(f"ingestion stored {result.created} of {len(rows)} records: {result.errors[:3]}")
        invoice = invoice_create_postpaid(
            tenant=tenant, account_id=user.id, actor_id=None, period_start=first_day, period_end=last_day
        )
        if i % 2 and invoice.total > 1:
            payment_record(
                tenant=tenant,
                invoice_id=invoice.id,
                actor_id=None,
                amount=str((invoice.total / 3).quantize(CENT)),
                payment_date=today,
                payment_type="direct_debit",
                bank_reference=f"DD-{rng.randint(10**9, 10**10 - 1)}",
            )
        postpaid.append(invoice.id)
    return prepaid, postpaid


# --- rendering -------------------------------------------------------------------------------------------------

STAGES: dict[str, float] = {}  # CPU seconds per stage, accumulated by instrument()
PRODUCT_OPTIONS: dict = {}  # the product's PDF_OPTIONS and GC_THRESHOLD, kept by instrument()
PRODUCT_GC_THRESHOLD: int | None = None


def variant_apply(name: str) -> None:
    """Set PDF_OPTIONS and the subsetter of a variant in this process."""
    import weasyprint.pdf.fonts as wp_fonts
    from weasyprint.text.ffi import harfbuzz_subset

    from invoicing.documents import pdf

    options, subsetter, fewer_collections = VARIANTS[name]
    options = {**PRODUCT_OPTIONS, **options}
    if options.get("cache") == "shared":
        options["cache"] = _IMAGE_CACHE
    pdf.PDF_OPTIONS.clear()
    pdf.PDF_OPTIONS.update(options)
    pdf.GC_THRESHOLD = PRODUCT_GC_THRESHOLD if fewer_collections else None
    wp_fonts.harfbuzz_subset = None if subsetter == "fonttools" else harfbuzz_subset


_IMAGE_CACHE: dict = {}


def instrument() -> None:
    """Accumulate the CPU time of the rendering's stages in STAGES: the Django template, WeasyPrint's rendering
    (HTML.render: CSS cascade, boxes, layout, drawing of the pages) and PDF writing (Document.write_pdf: PDF
    objects, font embedding with subsetting, compression)."""
    import weasyprint
    import weasyprint.document as wp_document
    import weasyprint.pdf as wp_pdf

    from invoicing.documents import pdf

    global PRODUCT_OPTIONS, PRODUCT_GC_THRESHOLD
    PRODUCT_OPTIONS, PRODUCT_GC_THRESHOLD = dict(pdf.PDF_OPTIONS), pdf.GC_THRESHOLD
    logging.getLogger("weasyprint").setLevel(logging.ERROR)  # the fontTools variant warns on every font
    logging.getLogger("fontTools").setLevel(logging.WARNING)
    logging.getLogger("weasyprint.progress").setLevel(logging.ERROR)

    def timed(module, name, stage):
        original = getattr(module, name)

        def wrapper(*a, **kw):
            started = time.process_time()
            try:
                return original(*a, **kw)
            finally:
                STAGES[stage] = STAGES.get(stage, 0.0) + time.process_time() - started

        setattr(module, name, wrapper)

    timed(pdf, "render_to_string", "template")
    timed(wp_document, "get_all_computed_styles", "styles")
    timed(wp_document, "build_formatting_structure", "boxes")
    timed(wp_document, "draw_page", "draw")
    timed(weasyprint.HTML, "render", "render")
    timed(wp_document.Document, "write_pdf", "write")
    timed(wp_pdf, "build_fonts_dictionary", "fonts")


def render_one(invoice_id: int) -> bytes:
    from invoicing.documents.pdf import render_invoice_pdf
    from invoicing.models import Invoice
    from invoicing.services.documents import invoice_document_context

    invoice = Invoice.objects.select_related("tenant", "account").get(pk=invoice_id)
    return render_invoice_pdf(invoice_document_context(invoice))


def store_one(invoice_id: int) -> int:
    from invoicing.services.documents import invoice_pdf_render

    return invoice_pdf_render(invoice_id=invoice_id).size


def batch(path: str, variant: str, ids: list[int]) -> dict:
    """Render `ids` one after the other: wall and CPU seconds, CPU seconds per stage, sizes."""
    variant_apply(variant)
    STAGES.clear()
    sizes, each = [], {}
    started, cpu = time.perf_counter(), time.process_time()
    for invoice_id in ids:
        before = time.process_time()
        sizes.append(len(render_one(invoice_id)) if path == "render" else store_one(invoice_id))
        each[invoice_id] = time.process_time() - before
    return {
        "wall": time.perf_counter() - started,
        "cpu": time.process_time() - cpu,
        "each": each,
        "stages": dict(STAGES),
        "sizes": sizes,
    }


def stored_clear(ids: list[int]) -> None:
    from invoicing.models import InvoiceDocument

    InvoiceDocument.objects.filter(invoice_id__in=ids).delete()


def worker(conn, warm_ids: list[int]) -> None:
    """A worker process (as a Celery worker): set up Django, warm up, then run batches sent by the parent."""
    django_setup()
    instrument()
    for variant in VARIANTS:
        batch("render", variant, warm_ids)
    conn.send("ready")
    while True:
        message = conn.recv()
        if message is None:
            break
        conn.send(batch(*message))
    from django.db import connections

    connections.close_all()


def check_pdf(content: bytes, expected: list[str]) -> str:
    """Fonts embedded (name: FontFile2 size) and whether the expected texts are extractable."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(content))
    fonts = {}
    for page in reader.pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            descendant = font["/DescendantFonts"][0].get_object()
            file = descendant["/FontDescriptor"].get_object().get("/FontFile2")
            fonts[str(font["/BaseFont"]).split("+")[-1]] = len(file.get_object().get_data()) if file else 0
    text = "\n".join(page.extract_text() for page in reader.pages)
    missing = [t for t in expected if t not in text]
    embedded = ", ".join(f"{name} {size / 1024:.0f} KiB" for name, size in sorted(fonts.items()))
    return f"{len(reader.pages)} page(s); fonts {embedded}; " + (f"MISSING {missing}" if missing else "texts found")


# --- main ------------------------------------------------------------------------------------------------------


def machine() -> str:
    import subprocess

    import weasyprint
    from django.db import connection

    from invoicing.documents.pdf import TEMPLATE_VERSION, font_subsetter

    hb = subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "libharfbuzz-subset0"], capture_output=True, text=True
    ).stdout.strip()
    db = f"PostgreSQL {postgres_show('server_version')[0]}" if connection.vendor == "postgresql" else "SQLite file"
    return machine_summary(
        f"WeasyPrint {weasyprint.__version__}",
        f"libharfbuzz-subset0 {hb or '?'} (subsetter {font_subsetter()})",
        f"database {db}",
        f"template {TEMPLATE_VERSION}",
    )


def main() -> None:
    parser = argument_parser(__doc__)
    parser.add_argument("--prepaid", type=int, default=30)
    parser.add_argument("--postpaid", type=int, default=30)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"of {', '.join(VARIANTS)}")
    parser.add_argument("--paths", default="render,stored", help="render and/or stored")
    parser.add_argument("--procs", default="1,2", help="process counts to measure, of 1 and 2")
    parser.add_argument("--no-logo", dest="logo", action="store_false")
    parser.add_argument("--budget", type=float, default=420, help="seconds: start no run that would end later")
    parser.add_argument("--profile", action="store_true", help="cProfile one rendering of every invoice, then stop")
    args = parser.parse_args()
    variants = [v for v in args.variants.split(",") if v]
    paths = [p for p in args.paths.split(",") if p]
    procs = [int(p) for p in args.procs.split(",") if p]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        sys.exit(f"unknown variant(s): {', '.join(sorted(unknown))}")

    tmp = environment_setup(args)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))  # so that the temporary directory goes
    try:
        django_setup()
        logging.getLogger("weasyprint").setLevel(logging.ERROR)
        from django.core.management import call_command
        from django.db import connections

        call_command("migrate", verbosity=0)
        started = time.perf_counter()
        prepaid, postpaid = data_create(args)
        ids = [i for pair in zip(prepaid, postpaid, strict=False) for i in pair]
        ids += prepaid[len(postpaid) :] + postpaid[len(prepaid) :]
        from invoicing.models import Invoice, InvoiceLine

        lines = [InvoiceLine.objects.filter(invoice_id=i).count() for i in postpaid]  # usage lines of the postpaid ones
        print(
            f"created {len(prepaid)} prepaid and {len(postpaid)} postpaid invoices in "
            f"{time.perf_counter() - started:.0f} s; postpaid lines {min(lines, default=0)}-{max(lines, default=0)}"
            f" (median {statistics.median(lines) if lines else 0}); payments on "
            f"{Invoice.objects.filter(pk__in=ids, amount_paid__gt=0).count()} invoices",
            flush=True,
        )
        print(f"machine: {machine()}", flush=True)
        instrument()
        if args.profile:
            import cProfile
            import pstats

            variant_apply(variants[0])
            for invoice_id in ids[:2]:
                render_one(invoice_id)
            profiler = cProfile.Profile()
            profiler.enable()
            for invoice_id in ids:
                render_one(invoice_id)
            profiler.disable()
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(45)
            stats.sort_stats("tottime").print_stats(25)
            return

        # Checks and sizes (one rendering of every invoice per variant).
        names = {i: Invoice.objects.select_related("account").get(pk=i).account.name for i in ids}
        sizes: dict[str, dict[str, list[int]]] = {}
        digests: dict[int, bytes] = {}
        for variant in variants:
            variant_apply(variant)
            sizes[variant] = {"prepaid": [], "postpaid": []}
            same = 0
            for invoice_id in ids:
                content = render_one(invoice_id)
                sizes[variant]["prepaid" if invoice_id in prepaid else "postpaid"].append(len(content))
                digests.setdefault(invoice_id, hashlib.sha256(content).digest())  # the first variant's bytes
                same += digests[invoice_id] == hashlib.sha256(content).digest()
            print(f"{variant}: {same} of {len(ids)} PDFs byte-identical to those of {variants[0]}")
            for kind, sample in (("prepaid", prepaid[:1]), ("postpaid", postpaid[:1])):
                for invoice_id in sample:
                    print(f"check {variant} {kind}: {check_pdf(render_one(invoice_id), [names[invoice_id]])}")

        connections.close_all()
        context = multiprocessing.get_context("spawn")
        workers = []
        if 2 in procs:
            for _ in range(2):
                parent, child = context.Pipe()
                process = context.Process(target=worker, args=(child, ids[:4]))
                process.start()
                workers.append((process, parent))
            for _, conn in workers:
                assert conn.recv() == "ready"

        # Warm-up in this process, then the runs.
        for variant in variants:
            batch("render", variant, ids[:4])
        load_before = os.getloadavg()
        rate: dict[tuple, list[float]] = {}  # PDFs per wall-clock second
        cpu: dict[tuple, list[float]] = {}  # CPU ms per PDF (all processes)
        stages: dict[tuple, list[dict]] = {}  # CPU ms per PDF per stage
        each: dict[tuple, list[dict]] = {}  # CPU seconds per invoice id
        runs_started = time.perf_counter()
        done_runs = 0
        for run in range(args.runs):
            elapsed = time.perf_counter() - runs_started
            if run and elapsed / run * (run + 1) > args.budget:
                print(f"stopping after {run} runs: another would pass the --budget of {args.budget:.0f} s")
                break
            done_runs += 1
            for path in paths:
                for variant in variants:
                    for n in procs:
                        if path == "stored":
                            stored_clear(ids)
                        if n == 1:
                            results = [batch(path, variant, ids)]
                            seconds = results[0]["wall"]
                        else:
                            started = time.perf_counter()
                            for k, (_, conn) in enumerate(workers):
                                conn.send((path, variant, ids[k::2]))
                            results = [conn.recv() for _, conn in workers]
                            seconds = time.perf_counter() - started
                        key = (path, variant, n)
                        rate.setdefault(key, []).append(len(ids) / seconds)
                        cpu.setdefault(key, []).append(sum(r["cpu"] for r in results) * 1000 / len(ids))
                        merged: dict[str, float] = {}
                        for r in results:
                            for stage, value in r["stages"].items():
                                merged[stage] = merged.get(stage, 0.0) + value * 1000 / len(ids)
                        stages.setdefault(key, []).append(merged)
                        each.setdefault(key, []).append({i: v for r in results for i, v in r["each"].items()})
            print(f"run {run + 1}/{args.runs} done", flush=True)
        load_after = os.getloadavg()
        for _, conn in workers:
            conn.send(None)
        for process, _ in workers:
            process.join()
        if "stored" in paths:
            stored_clear(ids)

        print(
            f"\n{len(ids)} invoices ({len(prepaid)} prepaid, {len(postpaid)} postpaid), median of {done_runs} runs, "
            f"goal >= {GOAL:.0f} PDFs/s; {load_average_change(load_before, load_after)}"
        )
        print(
            "| path | variant | processes | PDFs/s (median) | runs | CPU ms per PDF | PDFs/s if the cores were free "
            "(processes x 1000 / CPU ms) | goal (measured) |"
        )
        print("|---|---|---:|---:|---|---:|---:|---|")
        for path in paths:
            for variant in variants:
                for n in procs:
                    key = (path, variant, n)
                    verdict = "met" if statistics.median(rate[key]) >= GOAL else "missed"
                    cpu_ms = statistics.median(cpu[key])
                    print(
                        f"| {path} | {variant} | {n} | {median_and_runs(rate[key], '.2f')} | {cpu_ms:.0f} | "
                        f"{n * 1000 / cpu_ms:.1f} | {verdict} |"
                    )
        print(f"\nratios to `{BASE}` in the same runs (median of per-run ratios of PDFs/s; of CPU ms per PDF):")
        for path in paths:
            for n in procs:
                if BASE not in variants:
                    continue
                parts = []
                for variant in variants:
                    key, base = (path, variant, n), (path, BASE, n)
                    wall, work = median_ratio(rate[key], rate[base]), median_ratio(cpu[key], cpu[base])
                    parts.append(f"{variant} {wall:.2f} / {work:.2f}")
                print(f"  {path}, {n} process(es): " + ", ".join(parts))

        names_ = ("template", "styles", "boxes", "layout", "draw", "pdf", "fonts", "other")
        print(
            "\nCPU ms per PDF by stage (median over runs): Django template; WeasyPrint's CSS cascade, boxes, layout, "
            "drawing; PDF writing apart from fonts; font embedding (subsetting); other = queries, context, HTML "
            "parsing, storing"
        )
        print(f"| path | variant | processes | {' | '.join(names_)} | fonts share |")
        print(f"|---|---|---:|{'---:|' * (len(names_) + 1)}")
        for path in paths:
            for variant in variants:
                for n in procs:
                    key = (path, variant, n)
                    per_run = []
                    for total, merged in zip(cpu[key], stages[key], strict=True):
                        got = {name: merged.get(name, 0.0) for name in (*names_, "render", "write")}
                        row = {name: got[name] for name in ("template", "styles", "boxes", "draw", "fonts")}
                        row["layout"] = got["render"] - got["styles"] - got["boxes"] - got["draw"]
                        row["pdf"] = got["write"] - got["fonts"]
                        row["other"] = total - got["template"] - got["render"] - got["write"]
                        per_run.append(row)
                    med = {name: statistics.median(r[name] for r in per_run) for name in names_}
                    cells = " | ".join(f"{med[name]:.0f}" for name in names_)
                    print(f"| {path} | {variant} | {n} | {cells} | {med['fonts'] / statistics.median(cpu[key]):.0%} |")

        print("\nCPU ms per PDF by kind (median over runs of the mean per invoice):")
        print("| path | variant | processes | prepaid | postpaid |")
        print("|---|---|---:|---:|---:|")
        for path in paths:
            for variant in variants:
                for n in procs:
                    key = (path, variant, n)
                    cells = []
                    for group in (prepaid, postpaid):
                        wanted = set(group)
                        means = [statistics.mean(v for i, v in e.items() if i in wanted) * 1000 for e in each[key]]
                        cells.append(f"{statistics.median(means):.0f}" if wanted else "-")
                    print(f"| {path} | {variant} | {n} | {' | '.join(cells)} |")

        print("\nPDF sizes (KiB): median [min-max]")
        print("| variant | prepaid | postpaid |")
        print("|---|---:|---:|")
        for variant in variants:
            cells = []
            for kind in ("prepaid", "postpaid"):
                values = sizes[variant][kind]
                cells.append(
                    f"{statistics.median(values) / 1024:.1f} [{min(values) / 1024:.1f}-{max(values) / 1024:.1f}]"
                    if values
                    else "-"
                )
            print(f"| {variant} | {' | '.join(cells)} |")
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
