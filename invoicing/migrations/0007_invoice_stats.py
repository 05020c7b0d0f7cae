import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0002_tenant_test_clock"),
        ("invoicing", "0006_search_indexes"),
    ]

    operations = [
        migrations.CreateModel(
            name="InvoiceTally",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("status", models.CharField(max_length=10)),
                ("payment_status", models.CharField(max_length=16)),
                ("source", models.CharField(max_length=10)),
                ("count", models.BigIntegerField(default=0)),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="accounts.tenant")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("tenant", "status", "payment_status", "source"), name="tally_key")
                ],
            },
        ),
        migrations.CreateModel(
            name="InvoiceMonthTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("invoiced_milli", models.BigIntegerField(default=0)),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="accounts.tenant")),
            ],
            options={"constraints": [models.UniqueConstraint(fields=("tenant", "month"), name="invoice_month_key")]},
        ),
        migrations.CreateModel(
            name="PaymentMonthTotal",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("month", models.DateField()),
                ("count", models.BigIntegerField(default=0)),
                ("amount_milli", models.BigIntegerField(default=0)),
                ("tenant", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, to="accounts.tenant")),
            ],
            options={"constraints": [models.UniqueConstraint(fields=("tenant", "month"), name="payment_month_key")]},
        ),
    ]
