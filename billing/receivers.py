"""Metering: every state change of an instance becomes an event in the billing history."""

from django.dispatch import receiver

from billing.services import instance_event_record
from compute.signals import instance_state_changed


@receiver(instance_state_changed, dispatch_uid="billing.meter_instance_state")
def meter_instance_state(sender, *, instance, state, at, **kwargs) -> None:
    instance_event_record(instance=instance, state=state, at=at)
