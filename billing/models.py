"""Billing records: what each instance did and when, what a flavor cost then, and statements.

Money is `Decimal` throughout, stored with 12 decimal places for prices and 4 for amounts, so
no real price or total is ever cut short; one rounding rule (half up, to the cent) is applied
once per statement line.
"""

from datetime import UTC, datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from compute.models import Instance, Project

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_us(moment: datetime) -> int:
    """Microseconds since the Unix epoch: exact integer arithmetic for time spans in SQL."""
    delta = moment - EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


class InstanceEvent(models.Model):
    """One change of an instance's state, append-only; `key` makes a replay a no-op."""

    instance = models.ForeignKey(Instance, on_delete=models.PROTECT, related_name="events")
    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="+")
    flavor_id = models.CharField(max_length=64)
    state = models.CharField(max_length=10)
    at = models.DateTimeField(help_text="When the instance entered the state (UTC).")
    at_us = models.BigIntegerField(editable=False, help_text="`at` in epoch microseconds.")
    key = models.CharField(max_length=200, unique=True)
    recorded = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["instance", "at_us", "id"]
        indexes = [
            models.Index(fields=["project", "instance", "at_us"]),
            models.Index(fields=["project", "recorded"]),
        ]

    def __str__(self) -> str:
        return f"{self.instance_id} {self.state} at {self.at.isoformat()}"

    def save(self, *args, **kwargs):
        self.at_us = to_us(self.at)
        super().save(*args, **kwargs)


class FlavorPrice(models.Model):
    """The hourly price of a flavor from a moment on, until the next price of that flavor.

    `flavor_id` "*" is the default price, for flavors without a price of their own in force.
    """

    DEFAULT_FLAVOR = "*"

    flavor_id = models.CharField(max_length=64, help_text='A flavor id, or "*" for default.')
    price_per_hour = models.DecimalField(max_digits=24, decimal_places=12)
    currency = models.CharField(max_length=3)
    effective_from = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["flavor_id", "effective_from"]
        constraints = [
            models.UniqueConstraint(
                fields=["flavor_id", "effective_from"], name="one_price_per_flavor_and_moment"
            ),
            models.CheckConstraint(
                condition=models.Q(price_per_hour__gte=0), name="price_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return (
            f"{self.flavor_id}: {self.price_per_hour} {self.currency}/h from {self.effective_from}"
        )

    def clean(self) -> None:
        """A change of price applies from its time on, never backwards, and in the one
        currency that statements are made in.

        Checked here, for the forms that operators use, and not in `save()`, so that fixtures
        and imports can still write the prices of the past.
        """
        errors = {}
        if self._state.adding and self.effective_from and self.effective_from < timezone.now():
            errors["effective_from"] = (
                "A new price applies from now on: usage already billed keeps its price."
            )
        if self.currency and self.currency != settings.BILLING_CURRENCY:
            errors["currency"] = f"Prices are in {settings.BILLING_CURRENCY}."
        if errors:
            raise ValidationError(errors)

    @property
    def has_started(self) -> bool:
        """Whether the price has applied to some moment already, so it may have billed usage."""
        return self.effective_from <= timezone.now()


class Statement(models.Model):
    """A project's bill for one calendar month (UTC); once closed it never changes."""

    project = models.ForeignKey(Project, on_delete=models.PROTECT, related_name="statements")
    period_start = models.DateField(help_text="The first day of the month.")
    period_end = models.DateField(help_text="The first day of the next month.")
    currency = models.CharField(max_length=3)
    total = models.DecimalField(max_digits=20, decimal_places=4, default=0)
    closed = models.DateTimeField()

    class Meta:
        ordering = ["-period_start", "project"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "period_start"], name="one_statement_per_project_month"
            )
        ]

    def __str__(self) -> str:
        return f"{self.project.name} {self.period_start:%Y-%m}"


class StatementLine(models.Model):
    """One instance at one price over the month, or an adjustment for a closed month."""

    class Kind(models.TextChoices):
        USAGE = "USAGE"
        ADJUSTMENT = "ADJUSTMENT"

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.USAGE)
    instance = models.ForeignKey(Instance, null=True, on_delete=models.PROTECT, related_name="+")
    server_id = models.CharField(max_length=64, blank=True)
    instance_name = models.CharField(max_length=255, blank=True)
    stack_name = models.CharField(max_length=32, blank=True)
    flavor_id = models.CharField(max_length=64, blank=True)
    price_per_hour = models.DecimalField(max_digits=24, decimal_places=12, null=True)
    seconds = models.DecimalField(max_digits=20, decimal_places=6, default=0)
    amount = models.DecimalField(max_digits=20, decimal_places=4)
    adjusts = models.ForeignKey(
        Statement, null=True, blank=True, on_delete=models.PROTECT, related_name="adjusted_by"
    )
    description = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["statement", "kind", "stack_name", "instance_name", "id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.instance_name or self.description}: {self.amount}"

    @property
    def hours(self) -> Decimal:
        return (self.seconds / 3600).quantize(Decimal("0.01"))
