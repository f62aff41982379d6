"""The OpenAPI schema: generated without a warning, served offline, and its examples true."""

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.utils import timezone
from drf_spectacular.generators import SchemaGenerator

from accounts.tests.factories import ApiClientFactory, issue_token
from billing.models import FlavorPrice
from compute.models import Cloud, Project
from compute.tests.conftest import create_body, image_id, launch
from compute.tests.factories import InstanceFactory, StackFactory

pytestmark = pytest.mark.django_db


def test_the_schema_generates_and_validates_without_a_warning(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", tmp_path / "s.yaml")

    assert "/openstack/compute:" in (tmp_path / "s.yaml").read_text()


def test_swagger_ui_and_redoc_are_served_from_the_sidecar_not_a_cdn(client):
    for path in ("/api/docs/", "/api/redoc/"):
        page = client.get(path).content.decode()
        assert "/static/drf_spectacular_sidecar/" in page, path
        assert "cdn" not in page.lower(), path
    assert client.get("/api/schema/").status_code == 200
    asset = client.get("/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js")
    assert asset.status_code == 200


def _shape_problems(example, actual, where="") -> list[str]:
    """Where the real answer's structure differs from the example's (values may differ)."""
    if example is None or actual is None:
        return []
    if isinstance(example, dict):
        if where.endswith(".details"):
            return []  # free-form by design: what each action records
        if not isinstance(actual, dict):
            return [f"{where}: {type(actual).__name__}, documented an object"]
        # Objects keyed by stack name or by field name: compare their values only.
        if where.endswith(".errors") or any(k.startswith("stack_r-") for k in example):
            return [
                p
                for value in actual.values()
                for p in _shape_problems(next(iter(example.values())), value, where + ".*")
            ]
        if set(example) != set(actual):
            return [f"{where}: keys {sorted(actual)}, documented {sorted(example)}"]
        return [p for k in example for p in _shape_problems(example[k], actual[k], f"{where}.{k}")]
    if isinstance(example, list):
        if not isinstance(actual, list):
            return [f"{where}: {type(actual).__name__}, documented a list"]
        return [p for item in actual[:3] for p in _shape_problems(example[0], item, where + "[]")]
    if type(example) is not type(actual):
        return [f"{where}: {type(actual).__name__}, documented {type(example).__name__}"]
    return []


@pytest.fixture
def world(client, devel):
    """A stack in `devel`, a read-only client, and a project whose cloud is unreachable."""
    stack_name = launch(client, devel)
    reader = ApiClientFactory(tenant=devel.tenant, scope="billing:read")
    compute_reader = ApiClientFactory(tenant=devel.tenant, scope="compute:read")
    Project.objects.create(
        tenant=devel.tenant, cloud=Cloud.objects.create(name="not-in-clouds-yaml"), name="far"
    )
    return {
        "stack": stack_name,
        "reader": issue_token(reader),
        "compute_reader": issue_token(compute_reader),
    }


def _message_problems(example, actual) -> list[str]:
    """Where the real message or the bad fields differ from the documented example's.

    A `<...>` in a documented message stands for text that varies, such as a cloud's reason.
    """
    problems = []
    pattern = "".join(
        ".+" if part.startswith("<") else re.escape(part)
        for part in re.split(r"(<[^>]*>)", example["message"])
    )
    if not re.fullmatch(pattern, actual["message"]):
        problems.append(f"message {actual['message']!r}, documented {example['message']!r}")
    documented = set((example["data"] or {}).get("errors", {}))
    real = (
        set((actual["data"] or {}).get("errors", {}))
        if isinstance(actual["data"], dict)
        else set()
    )
    if documented != real:
        problems.append(f"bad fields {sorted(real)}, documented {sorted(documented)}")
    return problems


def test_a_wrong_message_or_bad_field_is_reported_and_a_placeholder_matches_any_reason():
    documented = {
        "message": "Invalid input: project_name",
        "data": {"errors": {"project_name": []}},
    }
    assert _message_problems(documented, documented) == []
    assert _message_problems(documented, {"message": "Invalid input: stack_name", "data": {}})
    assert _message_problems(
        documented, {"message": "Invalid input: project_name", "data": {"errors": {"x": []}}}
    )
    placeholder = {"message": "The cloud is unreachable: <the cloud's reason>", "data": {}}
    assert not _message_problems(
        placeholder, {"message": "The cloud is unreachable: gone", "data": {}}
    )
    assert _message_problems(placeholder, {"message": "The cloud said no: gone", "data": {}})


def _call(client, devel, world, path, method, status, case=""):
    """The request that should answer `status` on the path, for the documented `case`."""
    auth = devel.auth()
    stack = world["stack"]
    url = path.replace("{stack_name}", stack)
    # A 404 for a stack names an existing project and an unknown stack; else an unknown project.
    missing_stack = status == 404 and "stack" in case.lower()
    if missing_stack:
        stack = "stack_r-nothere"
    project = {"project_name": "far" if status == 503 else "devel"}
    if status == 404 and not missing_stack:
        project["project_name"] = "nowhere"
    if status == 401:
        return client.generic(method.upper(), url, HTTP_AUTHORIZATION="Bearer not-a-token")
    if status == 403:
        # A token whose scopes are all of another part of the API.
        other = world["compute_reader" if "billing" in path else "reader"]
        return client.generic(method.upper(), url, HTTP_AUTHORIZATION=f"Bearer {other}")
    if method == "post":
        body = create_body(image_id=image_id(client, devel), **project)
        if status == 400:
            body["instance_count"] = "21"
        return client.post(url, body, **auth)
    if method == "delete":
        query = {**project, "stack_name": stack}
        if status == 400:
            query.pop("stack_name")
        return client.delete(f"{url}?" + "&".join(f"{k}={v}" for k, v in query.items()), **auth)
    if path.endswith("{stack_name}") and status == 404:
        if missing_stack:
            return client.get(url.replace(world["stack"], stack), **auth)
        return client.get(url, project, **auth)
    if path.endswith("/audit") and missing_stack:
        return client.get(url, {**project, "stack_name": stack}, **auth)
    if status == 400:
        return client.get(url, **auth)  # the project_name it needs is missing
    if status == 409:
        # A running server, and a price in another currency than the portal bills in.
        stack = StackFactory(project=Project.objects.get(name="devel"), flavor_id="1")
        InstanceFactory(stack=stack, name=f"{stack.name}-1", flavor_id="1")
        FlavorPrice.objects.create(
            flavor_id="1",
            price_per_hour=Decimal("0.10"),
            currency="USD",
            effective_from=timezone.now() - timedelta(days=1),
        )
        answer = client.get(url, project, **auth)
        FlavorPrice.objects.filter(currency="USD").delete()
        stack.delete()
        return answer
    if path.endswith(("/projects", "{stack_name}")) and status == 200:
        return client.get(url, **auth)
    return client.get(url, project, **auth)


def test_every_documented_example_answers_as_documented(client, devel, world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    checked = []
    for path, methods in schema["paths"].items():
        if not path.startswith("/openstack/") or path.endswith(".csv"):
            continue  # a statement's CSV is a file, not an enveloped answer
        for method, operation in methods.items():
            for status, answer in operation["responses"].items():
                for content in answer.get("content", {}).values():
                    for case, example in content.get("examples", {}).items():
                        response = _call(client, devel, world, path, method, int(status), case)
                        body = response.json()
                        where = f"{method.upper()} {path} {status}"
                        assert response.status_code == int(status), (where, case, body)
                        assert body["status"] == int(status), where
                        problems = _shape_problems(example["value"], body)
                        assert not problems, (where, problems)
                        if int(status) >= 400:
                            problems = _message_problems(example["value"], body)
                            assert not problems, (where, case, problems)
                        checked.append(where)

    assert len(checked) >= 40, checked
    assert {re.sub(r" \d+$", "", c) for c in checked} >= {
        "GET /openstack/instances",
        "POST /openstack/compute",
        "DELETE /openstack/delete_instances",
        "GET /openstack/stacks/{stack_name}",
        "GET /openstack/audit",
        "GET /openstack/billing_instances",
        "GET /openstack/billing_usage",
        "GET /openstack/billing_statements",
    }
