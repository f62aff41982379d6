"""The worker's event loop, as the solo pool of `make run` and the tests drives it."""

import socket
from types import SimpleNamespace

from kombu.asynchronous import Hub

from portal.celery import AckBeforePolling


def test_an_ack_queued_by_a_countdown_task_is_sent_before_the_loop_sleeps():
    hub = Hub()
    AckBeforePolling(parent=None).start(SimpleNamespace(hub=hub))
    events = []
    # A countdown task runs in the hub's timer; its late ack is queued with call_soon.
    hub.call_soon(lambda: None)  # the loop's first turn starts with something to run
    hub.call_later(0, lambda: hub.call_soon(lambda: events.append("ack")))
    hub.poller.poll = lambda timeout: events.append("poll") or []
    broker_socket, _ = socket.socketpair()
    hub.add_reader(broker_socket, lambda *args: None)

    next(hub.create_loop())

    # Without the step the ack waited for the poll to time out: up to 10 s, during which the
    # broker, with a prefetch of one, sent the worker nothing.
    assert events[:2] == ["ack", "poll"]
