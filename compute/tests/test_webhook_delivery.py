"""A webhook delivery message delivered twice, or lost, still makes each attempt once."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compute import services
from compute.models import Operation, WebhookDelivery
from compute.tests.conftest import failing_callback_receiver
from compute.tests.factories import StackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def failing_receiver():
    return failing_callback_receiver()


@pytest.fixture
def delivery(devel, failing_receiver):
    url, _ = failing_receiver
    operation = Operation.objects.create(
        stack=StackFactory(project=devel.project, name="stack_r-hooked01"),
        kind=Operation.Kind.CREATE,
        state=Operation.State.SUCCEEDED,
        step="done",
        deadline=timezone.now(),
    )
    return WebhookDelivery.objects.create(
        operation=operation, url=url, event="stack.active", payload={"event": "stack.active"}
    )


def test_a_duplicated_message_for_an_attempt_already_made_posts_nothing(
    delivery, failing_receiver, settings
):
    settings.WEBHOOK_MAX_ATTEMPTS = 5
    _, posts = failing_receiver

    first = services.webhook_deliver(delivery_id=delivery.pk, attempts_before=0)
    duplicate = services.webhook_deliver(delivery_id=delivery.pk, attempts_before=0)
    second = services.webhook_deliver(delivery_id=delivery.pk, attempts_before=1)

    assert first is not None
    assert first[1] == 1
    assert duplicate is None
    assert second is not None
    assert second[1] == 2
    assert len(posts) == 2
    delivery.refresh_from_db()
    assert delivery.attempts == 2


def test_the_watchdog_sends_an_overdue_delivery_again_and_leaves_a_waiting_one(
    delivery, settings, monkeypatch
):
    settings.OPERATION_STALL_SECONDS = 60
    settings.WEBHOOK_RETRY_BASE_SECONDS = 10
    sent = []
    monkeypatch.setattr(
        services,
        "_send_webhook",
        lambda delivery_id, *, countdown, attempts_before=0: sent.append(
            (delivery_id, attempts_before)
        ),
    )
    # Never sent (the broker was down when it was queued), two minutes ago.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        updated=timezone.now() - timedelta(minutes=2)
    )
    assert services.webhooks_watchdog() == 1
    assert sent == [(delivery.pk, 0)]

    # Its third attempt failed just now: the next is not due for 40 s and a stall.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=3, updated=timezone.now())
    assert services.webhooks_watchdog() == 0

    # The same, long ago: its message was lost.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        updated=timezone.now() - timedelta(minutes=5)
    )
    assert services.webhooks_watchdog() == 1
    assert sent[-1] == (delivery.pk, 3)
