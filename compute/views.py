"""The tenant's stack pages: the stacks of a project, launching, a stack's detail, deleting.

Lists answer from the portal's database. While any stack on a page is being built or
deleted, the page asks for a fragment of itself every two seconds (htmx) and stops once
nothing moves. Launch and delete are plain forms, so they work without JavaScript.
"""

from datetime import datetime

from django.conf import settings
from django.contrib import messages
from django.http import Http404
from django.shortcuts import redirect, render

from accounts.access import tenant_page
from accounts.models import Membership
from compute import selectors, services, summaries
from compute.forms import StackLaunchForm
from compute.models import Stack, WebhookDelivery

POLL_SECONDS = 2


def _project_or_404(request, project_name: str):
    project = selectors.project_get(tenant=request.tenant, name=project_name)
    if project is None:
        raise Http404("No such project.")
    return project


def _stack_or_404(request, stack_name: str) -> Stack:
    stack = selectors.stack_get(tenant=request.tenant, name=stack_name)
    if stack is None:
        raise Http404("No such stack.")
    return stack


def _moving(stacks) -> bool:
    return any(stack.state in summaries.TRANSITIONAL_STATES for stack in stacks)


@tenant_page()
def stack_index(request):
    """`Stacks` in the menu: the first project's stacks, as most tenants have one project."""
    project = selectors.project_list(tenant=request.tenant).first()
    if project is None:
        return render(request, "compute/project_none.html")
    return redirect("stack-list", project_name=project.name)


def _stack_list_context(request, project) -> dict:
    stacks = list(selectors.stack_list(tenant=request.tenant, project=project))
    catalog = summaries.catalog_cached(project=project)
    return {
        "project": project,
        "stacks": stacks,
        "flavors": summaries.flavor_names(catalog),
        "images": summaries.image_names(catalog),
        "polling": _moving(stacks),
        "poll_seconds": POLL_SECONDS,
    }


@tenant_page()
def stack_list(request, project_name: str):
    """A project's live stacks, each with its servers, addresses, states and age."""
    project = _project_or_404(request, project_name)
    context = _stack_list_context(request, project)
    context["projects"] = selectors.project_list(tenant=request.tenant)
    return render(request, "compute/stack_list.html", context)


@tenant_page()
def stack_list_rows(request, project_name: str):
    """The stacks table's body alone, for htmx to swap in while stacks move."""
    project = _project_or_404(request, project_name)
    return render(request, "compute/stack_list_rows.html", _stack_list_context(request, project))


def _launch_context(request, project, form, catalog) -> dict:
    choices = form.fields["flavor_id"].widget.choices
    flavor_id = form["flavor_id"].value() or (choices[0][0] if choices else "")
    return {
        "project": project,
        "projects": selectors.project_list(tenant=request.tenant),
        "form": form,
        "catalog": catalog,
        "price": _price(flavor_id, form["instance_count"].value()),
        "max_count": settings.STACK_MAX_INSTANCES_PER_REQUEST,
        "filter_threshold": 8,
    }


def _price(flavor_id, count) -> summaries.StackPrice | None:
    """The stack's hourly price, or None while the count is not one the launch accepts."""
    try:
        count = int(count)
    except (TypeError, ValueError):
        return None
    if not 1 <= count <= settings.STACK_MAX_INSTANCES_PER_REQUEST:
        return None
    return summaries.stack_hourly_price(
        flavor_id=flavor_id or "", count=count, currency=settings.BILLING_CURRENCY
    )


@tenant_page(Membership.Role.MEMBER)
def stack_launch(request, project_name: str):
    """Launch a stack: the same fields, checks and errors as `POST /openstack/compute`."""
    project = _project_or_404(request, project_name)
    try:
        catalog = services.catalog_current(project=project)
    except services.CloudUnavailable as error:
        return render(
            request,
            "compute/stack_launch_unavailable.html",
            {"project": project, "error": str(error)},
            status=503,
        )
    # Any POST is a submission, even an empty one, so that it gets the fields' errors.
    data = request.POST if request.method == "POST" else None
    form = StackLaunchForm(data, project_name=project.name, catalog=catalog)
    if request.method == "POST" and form.is_valid():
        stack_request = services.StackRequest(
            user_name=form.cleaned_data["user_name"],
            image_id=form.cleaned_data["image_id"],
            flavor_id=form.cleaned_data["flavor_id"],
            instance_count=form.cleaned_data["instance_count"],
            floating_ip=form.cleaned_data["floating_ip"],
        )
        try:
            services.stack_request_check(project=project, request=stack_request)
        except services.StackRequestInvalid as invalid:
            for field, problem in invalid.errors.items():
                form.add_error(field if field in form.fields else None, problem)
        except services.CloudUnavailable as error:
            form.add_error(None, f"The cloud is unreachable: {error}")
        else:
            stack = services.stack_create(
                project=project,
                request=stack_request,
                user=request.user,
                request_id=getattr(request, "request_id", ""),
            )
            messages.success(request, f"{stack.name} is being built.")
            return redirect("stack-detail", stack_name=stack.name)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "compute/stack_launch.html",
        _launch_context(request, project, form, catalog),
        status=status,
    )


@tenant_page(Membership.Role.MEMBER)
def stack_launch_price(request, project_name: str):
    """The price box of the launch form, recomputed as the flavor or the count changes."""
    _project_or_404(request, project_name)
    price = _price(request.GET.get("flavor_id"), request.GET.get("instance_count"))
    return render(
        request,
        "compute/stack_launch_price.html",
        {"price": price, "max_count": settings.STACK_MAX_INSTANCES_PER_REQUEST},
    )


def _timeline(operation) -> list[dict]:
    steps = []
    for entry in operation.history:
        at = entry.get("at")
        try:
            at = datetime.fromisoformat(at) if at else None
        except (TypeError, ValueError):
            at = None
        steps.append({"step": entry.get("step", ""), "note": entry.get("note", ""), "at": at})
    return steps


def _stack_detail_context(request, stack: Stack) -> dict:
    catalog = summaries.catalog_cached(project=stack.project)
    operations = list(stack.operations.all())
    return {
        "stack": stack,
        "project": stack.project,
        "instances": list(stack.instances.order_by("name")),
        "operations": [{"operation": op, "timeline": _timeline(op)} for op in operations],
        "deliveries": list(
            WebhookDelivery.objects.filter(operation__stack=stack).order_by("-created")
        ),
        "audit": list(selectors.audit_list(tenant_id=request.tenant.pk, stack=stack)[:20]),
        "flavor": summaries.flavor_names(catalog).get(stack.flavor_id, stack.flavor_id),
        "image": summaries.image_names(catalog).get(stack.image_id, stack.image_id),
        "polling": stack.state in summaries.TRANSITIONAL_STATES,
        "poll_seconds": POLL_SECONDS,
    }


@tenant_page()
def stack_detail(request, stack_name: str):
    """A stack: its servers, the timeline of each operation, the cloud's error, webhooks."""
    stack = _stack_or_404(request, stack_name)
    return render(request, "compute/stack_detail.html", _stack_detail_context(request, stack))


@tenant_page()
def stack_detail_status(request, stack_name: str):
    """The changing part of a stack's page, for htmx to swap in while it moves."""
    stack = _stack_or_404(request, stack_name)
    return render(
        request, "compute/stack_detail_status.html", _stack_detail_context(request, stack)
    )


@tenant_page(Membership.Role.MEMBER)
def stack_delete(request, stack_name: str):
    """Ask before deleting (GET), then delete (POST): the stack and all its servers go."""
    stack = _stack_or_404(request, stack_name)
    if request.method != "POST":
        return render(request, "compute/stack_delete.html", {"stack": stack})
    if stack.state != Stack.State.DELETED:
        services.stack_delete(
            stack=stack, user=request.user, request_id=getattr(request, "request_id", "")
        )
        messages.success(request, f"{stack.name} is being deleted.")
    return redirect("stack-list", project_name=stack.project.name)
