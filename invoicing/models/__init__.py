"""The invoicing plugin's tables."""

from .credits import (
    CreditEntry,
    CreditEntryKind,
    CreditNote,
    CreditNoteLine,
    CreditNoteSequence,
    CreditNoteTax,
    CustomerCredit,
    Receipt,
    Refund,
    RefundMethod,
)
from .documents import InvoiceDocument
from .email import EmailKind, EmailLog, EmailStatus, EmailTemplate
from .idempotency import IdempotencyKey
from .invoice import (
    CREDIT_PAYMENT,
    PAYMENT_KINDS,
    DueStatus,
    Invoice,
    InvoiceLine,
    InvoiceSource,
    InvoiceStatus,
    InvoiceTax,
    LineKind,
    Payment,
    PaymentStatus,
    PaymentType,
)
from .jobs import Job
from .license import InvoicingLicense
from .recurring import BillingRun, BillingSchedule, Interval, ScheduleStatus
from .reminders import AutoReminder, ReminderSlot
from .settings import DEFAULT_CREDIT_NOTE_FORMAT, BankDetails, InvoiceSequence, InvoicingSettings, TaxRate
from .stats import InvoiceMonthTotal, InvoiceTally, PaymentMonthTotal

__all__ = [
    "CREDIT_PAYMENT",
    "DEFAULT_CREDIT_NOTE_FORMAT",
    "PAYMENT_KINDS",
    "CreditEntry",
    "CreditEntryKind",
    "CreditNote",
    "CreditNoteLine",
    "CreditNoteSequence",
    "CreditNoteTax",
    "CustomerCredit",
    "Receipt",
    "Refund",
    "RefundMethod",
    "AutoReminder",
    "EmailKind",
    "EmailLog",
    "EmailStatus",
    "EmailTemplate",
    "IdempotencyKey",
    "InvoiceDocument",
    "Job",
    "ReminderSlot",
    "BankDetails",
    "BillingRun",
    "BillingSchedule",
    "Interval",
    "ScheduleStatus",
    "DueStatus",
    "Invoice",
    "InvoiceLine",
    "InvoiceMonthTotal",
    "InvoiceTally",
    "PaymentMonthTotal",
    "InvoiceSequence",
    "InvoiceSource",
    "InvoiceStatus",
    "InvoiceTax",
    "InvoicingLicense",
    "InvoicingSettings",
    "LineKind",
    "Payment",
    "PaymentStatus",
    "PaymentType",
    "TaxRate",
]
