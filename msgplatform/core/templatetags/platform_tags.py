"""Template helpers of the host's pages: money, formatted as the invoicing plugin formats it on its own pages."""

from decimal import Decimal, InvalidOperation

from django import template

from invoicing import api as invoicing_api

register = template.Library()


@register.filter
def money(amount, currency):
    """`{{ account.balance|money:current_tenant.currency }}`: the amount in its currency (blank for no amount).

    The currency is required: a balance is in its admin's currency, and a page without one is a bug to see.
    """
    if amount is None or amount == "":
        return ""
    if not isinstance(amount, Decimal):
        try:
            amount = Decimal(str(amount))
        except InvalidOperation:
            return ""
    return invoicing_api.money_display(amount, currency)
