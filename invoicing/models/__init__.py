"""The invoicing plugin's tables."""

from .license import InvoicingLicense

__all__ = ["InvoicingLicense"]
