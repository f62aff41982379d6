from django.apps import AppConfig


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = "Portal"

    def ready(self):
        from compute.gateway import CloudGateway
        from portal import metrics, openapi, signals  # noqa: F401  (connect handlers)

        if metrics.cloud_call_observe not in CloudGateway.observers:
            CloudGateway.observers.append(metrics.cloud_call_observe)
