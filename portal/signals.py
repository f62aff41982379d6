"""Celery signal handlers: request ids carried in task messages, task metrics, worker metrics.

Connected once per process by `PortalConfig.ready`, so web processes (which send tasks) and
workers (which run them) both have them.
"""

import logging

from celery import signals
from django.conf import settings

from portal import metrics
from portal.logs import request_id_var

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "ipaas_request_id"

# The context token of the request id each running task set, to restore it afterwards.
_bound: dict[str, object] = {}


@signals.before_task_publish.connect
def _carry_request_id(headers=None, **kwargs):
    request_id = request_id_var.get()
    if request_id and headers is not None:
        headers.setdefault(REQUEST_ID_HEADER, request_id)


@signals.task_prerun.connect
def _task_prerun(task_id=None, task=None, **kwargs):
    # A task run inline keeps the id of the request or task that ran it.
    carried = task.request.get(REQUEST_ID_HEADER) if task is not None else None
    _bound[task_id] = request_id_var.set(carried or request_id_var.get())
    metrics.task_started(task_id)


@signals.task_postrun.connect
def _task_postrun(task_id=None, task=None, state=None, **kwargs):
    metrics.task_finished(task_id, getattr(task, "name", "unknown"), state)
    bound = _bound.pop(task_id, None)
    if bound is not None:
        try:
            request_id_var.reset(bound)
        except ValueError:
            # Set in another context (a task run inline by another): clear it instead.
            request_id_var.set("")


@signals.worker_init.connect
def _worker_init(**kwargs):
    metrics.multiprocess_dir_reset()


@signals.worker_ready.connect
def _worker_ready(**kwargs):
    # Workers on machines without a web node still need a scrape target of their own.
    port = settings.METRICS_WORKER_PORT
    if not port:
        return
    from prometheus_client import start_http_server

    start_http_server(
        port, addr=settings.METRICS_WORKER_ADDRESS, registry=metrics.process_registry()
    )
    logger.info("Worker metrics on http://%s:%s/metrics", settings.METRICS_WORKER_ADDRESS, port)
