"""Invoicing pages of an admin's staff. Every URL here is licence-gated by web/guard.py."""

from django.shortcuts import render

from msgplatform.accounts.permissions import Perm, staff_required

from .. import api


@staff_required(Perm.VIEW)
def home(request):
    return render(request, "invoicing/home.html", {"license": api.license_for(request.tenant)})
