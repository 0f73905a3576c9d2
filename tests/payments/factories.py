"""Factories of the payments app: invoices of key accounts and their escalations."""

import datetime
from decimal import Decimal

import factory

from payments.models import Invoice


class InvoiceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Invoice

    account = factory.SubFactory("tests.factories.AccountFactory")
    number = factory.Sequence(lambda n: f"RE-{n:06d}")
    amount = Decimal("12500.00")
    currency = "EUR"
    issue_date = factory.LazyFunction(lambda: datetime.date(2026, 10, 1))
    due_date = factory.LazyFunction(lambda: datetime.date(2026, 10, 31))
    amount_paid = Decimal("0")
