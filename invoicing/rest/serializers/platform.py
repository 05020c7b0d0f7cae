"""Serializers of the platform owner's endpoints of an admin's licence and test clock.

The admins themselves (AdminOut, AdminCreateIn) are the host's: msgplatform.accounts.rest.
"""

from __future__ import annotations

from rest_framework import serializers

from .common import DayField


class LicenceIn(serializers.Serializer):
    prepaid = serializers.BooleanField()
    postpaid = serializers.BooleanField()
    valid_until = DayField(help_text="Last day of validity (admin's time)")


class ClockAdvanceIn(serializers.Serializer):
    days = serializers.IntegerField(help_text="1 to 366")
