"""The watchdog: an operation past its deadline ends FAILED with the reason, a stalled one is
sent again. No worker runs here: what the watchdog sends is only counted."""

from datetime import timedelta

import pytest
from django.utils import timezone

from compute import services
from compute.models import AuditEvent, Operation
from compute.tests.factories import StackFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(monkeypatch):
    messages = []
    monkeypatch.setattr(services, "_send", lambda *args, **kwargs: messages.append(args))
    return messages


def _operation(project, *, kind, step, stack_state, deadline_in, callback_url=""):
    stack = StackFactory(project=project, state=stack_state)
    return Operation.objects.create(
        stack=stack,
        kind=kind,
        state=Operation.State.RUNNING,
        step=step,
        deadline=timezone.now() + timedelta(seconds=deadline_in),
        callback_url=callback_url,
    )


def test_a_delete_past_its_deadline_fails_the_stack_with_the_reason(
    devel, sent, django_capture_on_commit_callbacks
):
    operation = _operation(
        devel.project, kind="DELETE", step="wait_deleted", stack_state="DELETING", deadline_in=-1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.operations_watchdog() == 1

    operation.refresh_from_db()
    stack = operation.stack
    stack.refresh_from_db()
    assert operation.state == "FAILED"
    assert operation.error == "No progress before the deadline (step wait_deleted)."
    assert (stack.state, stack.error) == ("FAILED", operation.error)
    audit = AuditEvent.objects.get(operation=operation)
    assert audit.action == AuditEvent.Action.DELETE_FAILED
    assert sent == []


def test_a_create_past_its_deadline_fails_and_starts_cleaning_up(
    devel, sent, django_capture_on_commit_callbacks
):
    operation = _operation(
        devel.project, kind="CREATE", step="wait_active", stack_state="CREATING", deadline_in=-1
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.operations_watchdog() == 1

    operation.refresh_from_db()
    operation.stack.refresh_from_db()
    assert operation.state == "RUNNING"
    assert operation.step == "cleanup_release"
    assert operation.deadline > timezone.now()
    assert operation.stack.error == "No progress before the deadline (step wait_active)."
    assert sent == [(str(operation.id), str(operation.wakeup))]


def test_a_stalled_operation_within_its_deadline_is_sent_again_not_failed(
    devel, sent, settings, django_capture_on_commit_callbacks
):
    settings.OPERATION_STALL_SECONDS = 0
    operation = _operation(
        devel.project, kind="CREATE", step="wait_active", stack_state="CREATING", deadline_in=600
    )

    with django_capture_on_commit_callbacks(execute=True):
        assert services.operations_watchdog() == 1

    operation.refresh_from_db()
    assert (operation.state, operation.step) == ("RUNNING", "wait_active")
    assert operation.history[-1]["step"] == "woken"
    assert sent == [(str(operation.id), str(operation.wakeup))]


def test_an_operation_moving_within_its_deadline_is_left_alone(devel, sent):
    _operation(
        devel.project, kind="CREATE", step="wait_active", stack_state="CREATING", deadline_in=600
    )

    assert services.operations_watchdog() == 0
    assert sent == []
