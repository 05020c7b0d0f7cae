"""Template helpers of the invoicing pages: money in its currency, due badges, role checks.

Money on a page is formatted only by the `money` filter, which calls invoicing.money.money_format with the
currency the amount is in (an invoice's own for its amounts and payments); there is no default currency.
"""

from decimal import Decimal, InvalidOperation

from django import template

from msgplatform.accounts.permissions import Perm, staff_can

from ..money import money_format, unit_price_format
from ..services.builder import line_unit_prices, quantity_text

register = template.Library()


@register.filter
def money(amount, currency):
    """`{{ invoice.total|money:invoice.currency }}`: the amount formatted for the currency (blank for None).

    A missing currency is an error in the page (a wrong symbol on an amount is worse than an error)."""
    if amount is None or amount == "":
        return ""
    if not currency:
        raise ValueError(f"The money filter needs the ISO 4217 currency of the amount {amount!r}")
    if not isinstance(amount, Decimal):
        try:
            amount = Decimal(str(amount))
        except (InvalidOperation, ValueError):
            return ""
    return money_format(amount, currency)


@register.filter
def with_unit_prices(lines, currency):
    """`{% for line, unit_price in lines|with_unit_prices:currency %}`: each line of an invoice (or a preview) with
    its unit price as the invoice shows it: in the currency, every line with the same decimals."""
    lines = list(lines)
    return list(zip(lines, line_unit_prices(lines, currency), strict=True))


@register.filter
def quantity(value) -> str:
    """A line's quantity: "3", "1,500" (never "1.5E+3")."""
    return "" if value is None else quantity_text(Decimal(value))


@register.filter
def record_price(amount, currency):
    """A record's unit price or charge at the precision records are rated at (6 decimals): "$0.007500"."""
    if amount is None or amount == "":
        return ""
    return unit_price_format(Decimal(amount), currency, 6)


@register.simple_tag(takes_context=True)
def staff_may(context, perm: str) -> bool:
    """`{% staff_may "bill" as can_bill %}`: the logged-in staff role allows `perm` (view, bill, manage)."""
    request = context.get("request")
    return bool(request is not None and staff_can(request.user, Perm(perm)))


@register.filter
def days_plural(days) -> str:
    return "day" if days == 1 else "days"


@register.filter
def get_item(mapping, key):
    """`{{ mapping|get_item:key }}` for dictionaries keyed by a variable."""
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def widget(field):
    """Render a bound field's widget with Bootstrap's invalid state and its error/help text described by id."""
    attrs = {}
    base = field.field.widget.attrs.get("class", "")
    if getattr(field.field.widget, "input_type", "") == "checkbox":
        base = "form-check-input"
    described = []
    if field.errors:
        base = f"{base} is-invalid".strip()
        attrs["aria-invalid"] = "true"
        described.append(f"{field.auto_id}-error")
    if field.help_text:
        described.append(f"{field.auto_id}-help")
    if described:
        attrs["aria-describedby"] = " ".join(described)
    if base:
        attrs["class"] = base
    return field.as_widget(attrs=attrs)
