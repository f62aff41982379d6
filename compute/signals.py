"""Signals of the compute app, for apps that follow what instances do (billing meters them)."""

from django.dispatch import Signal

# Sent in the transaction that saves the change: instance, state, at (aware UTC datetime).
instance_state_changed = Signal()
