"""The portal's URLs plus `/bench/instances/<tenant_id>`: the instance list without DRF.

The bare view runs the query the endpoint needs as one join with `.values()` and answers a
flat `JsonResponse`: no authentication, no model objects, no serializer. It is the floor the
real endpoint is measured against, so it keeps the same filters and order.
"""

from django.http import JsonResponse
from django.urls import path

from compute.models import Instance, Stack
from portal.urls import handler404, handler500
from portal.urls import urlpatterns as portal_urlpatterns

__all__ = ["handler404", "handler500", "urlpatterns"]


def instances_values(request, tenant_id: int):
    rows = (
        Instance.objects.filter(stack__project__tenant_id=tenant_id)
        .exclude(stack__state=Stack.State.DELETED)
        .exclude(state=Instance.State.DELETED)
        .order_by("stack__created", "stack_id", "name")
        .values("stack__name", "server_id", "fixed_ip", "floating_ip")
    )
    return JsonResponse({"status": 200, "message": "success", "data": list(rows)})


urlpatterns = [
    path("bench/instances/<int:tenant_id>", instances_values, name="bench-instances-values"),
    *portal_urlpatterns,
]
