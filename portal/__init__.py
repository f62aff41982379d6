"""The IPAAS portal's project package: settings, URLs, the Celery app, logging, health."""

from portal.celery import app as celery_app

__all__ = ("celery_app",)
