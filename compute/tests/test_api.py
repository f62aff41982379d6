"""The seed's compute endpoints: input checks, tenant isolation, answers from the database.

These tests use a catalog already cached, so that "never a cloud call" can be asserted by
counting cloudsim's calls.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from compute.models import Operation, Stack
from compute.tests.conftest import create_body
from compute.tests.factories import CIRROS, InstanceFactory, StackFactory, catalog_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def cached(devel):
    catalog_for(devel.project)
    return devel


def _cloud_calls(sim) -> int:
    return sum(sim.control.calls()["by_service"].values())


def _post(client, setup, **overrides):
    body = create_body(**{"image_id": CIRROS, **overrides})
    return client.post("/openstack/compute", body, **setup.auth())


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("instance_count", "two"),
        ("instance_count", "2.5"),
        ("instance_count", "0"),
        ("instance_count", "21"),
        ("instance_count", "-1"),
        ("instance_count", "\u00b2"),
        ("instance_count", "\u0661"),
        ("instance_count", "9" * 5000),
        ("instance_count", "0000002"),
        ("floating_ip", "maybe"),
        ("floating_ip", "2"),
        ("image_id", "no-such-image"),
        ("image_id", "queued-image"),
        ("flavor_id", "99"),
        ("user_name", "mallory"),
        ("callback_url", "not a url"),
    ],
)
def test_bad_input_is_400_naming_the_field_with_no_cloud_call(
    client, cached, cloudsim, field, value
):
    cloudsim.control.clear_calls()

    response = _post(client, cached, **{field: value})

    assert response.status_code == 400
    body = response.json()
    assert body["status"] == 400
    assert list(body["data"]["errors"]) == [field]
    assert field in body["message"]
    assert _cloud_calls(cloudsim) == 0
    assert not Stack.objects.exists()


@pytest.mark.parametrize(
    "missing",
    ["user_name", "project_name", "image_id", "flavor_id", "instance_count", "floating_ip"],
)
def test_a_missing_field_is_400_naming_it(client, cached, missing):
    body = create_body(image_id=CIRROS)
    del body[missing]

    response = client.post("/openstack/compute", body, **cached.auth())

    assert response.status_code == 400
    assert missing in response.json()["data"]["errors"]


def test_json_bodies_are_accepted_like_form_fields(client, cached, cloudsim, monkeypatch):
    monkeypatch.setattr("compute.services._send", lambda *args, **kwargs: None)
    body = create_body(image_id=CIRROS, instance_count=3, floating_ip=True)

    response = client.post(
        "/openstack/compute", body, content_type="application/json", **cached.auth()
    )

    assert response.status_code == 200
    stack = Stack.objects.get()
    assert (stack.instance_count, stack.floating_ip) == (3, True)


@pytest.mark.parametrize("value", [True, 2.0, "\u00b2", "9" * 5000, [2]])
def test_a_json_count_that_is_not_a_whole_number_is_400_naming_it(client, cached, value):
    body = create_body(image_id=CIRROS, instance_count=value)

    response = client.post(
        "/openstack/compute", body, content_type="application/json", **cached.auth()
    )

    assert response.status_code == 400
    assert list(response.json()["data"]["errors"]) == ["instance_count"]
    assert not Stack.objects.exists()


def test_a_count_with_spaces_around_its_digits_is_read(client, cached, monkeypatch):
    monkeypatch.setattr("compute.services._send", lambda *args, **kwargs: None)

    response = _post(client, cached, instance_count=" 3 ")

    assert response.status_code == 200
    assert Stack.objects.get().instance_count == 3


def test_a_create_answers_at_once_with_the_stack_and_its_status_url(
    client, cached, monkeypatch, django_capture_on_commit_callbacks
):
    sent = []
    monkeypatch.setattr("compute.services._send", lambda *args, **kwargs: sent.append(args))

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, cached)

    data = response.json()["data"]
    stack = Stack.objects.get()
    assert response.json()["status"] == 200
    assert data["stack_name"] == stack.name
    assert data["state"] == "CREATING"
    assert data["status_url"].endswith(f"/openstack/stacks/{stack.name}")
    assert stack.name.startswith("stack_r-")
    assert len(stack.name) == len("stack_r-") + 8
    assert Operation.objects.get().step == "create_servers"
    assert len(sent) == 1


def test_a_create_over_the_known_quota_is_400_naming_the_quota(client, devel, cloudsim):
    catalog_for(devel.project, max_instances=3)
    StackFactory(project=devel.project, instance_count=2).instances.set([])
    InstanceFactory.create_batch(2, stack__project=devel.project)
    cloudsim.control.clear_calls()

    response = _post(client, devel, instance_count="2")

    assert response.status_code == 400
    assert "instances" in response.json()["data"]["errors"]["instance_count"]
    assert _cloud_calls(cloudsim) == 0


def test_a_building_stack_counts_in_full_against_the_quota(client, devel, cloudsim):
    catalog_for(devel.project, max_instances=5)
    building = StackFactory(project=devel.project, state="CREATING", instance_count=3)
    InstanceFactory(stack=building, state="BUILD")

    refused = _post(client, devel, instance_count="3")
    allowed = _post(client, devel, instance_count="2")

    assert refused.status_code == 400
    assert "3 in use, limit 5" in refused.json()["data"]["errors"]["instance_count"]
    assert allowed.status_code == 200


def test_a_create_runs_the_same_queries_with_one_stack_building_or_thirty(
    client, cached, monkeypatch
):
    monkeypatch.setattr("compute.services._send", lambda *args, **kwargs: None)
    catalog = catalog_for(cached.project)
    catalog.limits.update(max_instances=-1, max_cores=-1, max_ram_mb=-1)
    catalog.save()

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert _post(client, cached, instance_count="1").status_code == 200
        return len(captured)

    InstanceFactory(stack=StackFactory(project=cached.project, state="CREATING"))
    one = queries()
    for _ in range(30):
        InstanceFactory(stack=StackFactory(project=cached.project, state="CREATING"))

    assert queries() == one


def test_an_unknown_or_foreign_project_is_the_same_404(client, cached, staging):
    catalog_for(staging.project, members=("alice",))
    unknown = _post(client, cached, project_name="nowhere")
    foreign = _post(client, cached, project_name="staging", user_name="alice")

    assert unknown.status_code == foreign.status_code == 404
    assert unknown.json() == foreign.json()


def test_a_client_of_another_tenant_gets_404_on_every_endpoint_and_sees_nothing(
    client, cached, staging
):
    stack = StackFactory(project=cached.project)
    InstanceFactory(stack=stack)
    as_b = staging.auth()

    assert client.get("/openstack/instances", **as_b).json()["data"] == {}
    for response in (
        client.get("/openstack/instances", {"project_name": "devel"}, **as_b),
        client.get(f"/openstack/stacks/{stack.name}", **as_b),
        client.get("/openstack/flavors", {"project_name": "devel"}, **as_b),
        client.get("/openstack/images", {"project_name": "devel"}, **as_b),
        client.delete(
            f"/openstack/delete_instances?project_name=devel&stack_name={stack.name}", **as_b
        ),
        client.delete(
            f"/openstack/delete_instances?project_name=staging&stack_name={stack.name}", **as_b
        ),
        _post(client, staging, project_name="devel"),
    ):
        assert response.status_code == 404
        assert response.json()["status"] == 404
    stack.refresh_from_db()
    assert stack.state == "ACTIVE"


def test_the_instance_list_has_the_seed_shape(client, cached):
    stack = StackFactory(project=cached.project)
    first = InstanceFactory(stack=stack, name="a", fixed_ip="10.0.0.5", floating_ip="172.24.4.9")
    InstanceFactory(stack=stack, name="b", fixed_ip="10.0.0.6", state="DELETED")
    StackFactory(project=cached.project, state="DELETED")

    response = client.get("/openstack/instances", **cached.auth())

    assert response.json() == {
        "status": 200,
        "message": "success",
        "data": {
            stack.name: [{"uid": first.server_id, "ip": "10.0.0.5", "floating_ip": "172.24.4.9"}]
        },
    }


def test_the_instance_list_runs_the_same_queries_for_one_stack_or_fifty(client, cached):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/openstack/instances", **cached.auth()).status_code == 200
        return len(captured)

    InstanceFactory.create_batch(3, stack=StackFactory(project=cached.project))
    one = queries()
    for _ in range(49):
        InstanceFactory.create_batch(3, stack=StackFactory(project=cached.project))

    assert queries() == one
    assert one <= 5


def test_deleting_a_stack_twice_answers_the_same_and_starts_one_deletion(
    client, cached, monkeypatch
):
    monkeypatch.setattr("compute.services._send", lambda *args, **kwargs: None)
    stack = StackFactory(project=cached.project)
    url = f"/openstack/delete_instances?project_name=devel&stack_name={stack.name}"

    first = client.delete(url, **cached.auth())
    second = client.delete(url, **cached.auth())

    assert first.json() == second.json()
    assert first.json()["data"]["state"] == "DELETING"
    assert Operation.objects.filter(kind="DELETE").count() == 1


@pytest.mark.parametrize("name", ["stack_r-nothere", "stack_r-" + "a" * 40])
def test_an_unknown_stack_of_any_length_is_the_same_404_on_delete_and_detail(client, cached, name):
    deleted = client.delete(
        f"/openstack/delete_instances?project_name=devel&stack_name={name}", **cached.auth()
    )
    shown = client.get(f"/openstack/stacks/{name}", **cached.auth())

    assert deleted.status_code == shown.status_code == 404
    assert deleted.json() == shown.json()


@pytest.mark.parametrize("missing", ["project_name", "stack_name"])
def test_delete_without_its_parameters_is_400(client, cached, missing):
    params = {"project_name": "devel", "stack_name": "stack_r-whatever"}
    del params[missing]
    query = "&".join(f"{key}={value}" for key, value in params.items())

    response = client.delete(f"/openstack/delete_instances?{query}", **cached.auth())

    assert response.status_code == 400
    assert missing in response.json()["data"]["errors"]


def test_a_read_only_client_cannot_create_or_delete(client, cached):
    from accounts.tests.factories import ApiClientFactory, issue_token

    reader = issue_token(ApiClientFactory(tenant=cached.tenant, scope="compute:read"))
    auth = {"HTTP_AUTHORIZATION": f"Bearer {reader}"}

    created = client.post("/openstack/compute", create_body(image_id=CIRROS), **auth)
    deleted = client.delete("/openstack/delete_instances?project_name=devel&stack_name=x", **auth)

    assert created.status_code == deleted.status_code == 403
    assert client.get("/openstack/instances", **auth).status_code == 200


def test_flavors_and_images_come_from_the_cached_catalog(client, cached, cloudsim):
    cloudsim.control.clear_calls()

    flavors = client.get("/openstack/flavors", {"project_name": "devel"}, **cached.auth())
    images = client.get("/openstack/images", {"project_name": "devel"}, **cached.auth())

    assert [f["name"] for f in flavors.json()["data"]["flavors"]] == ["m1.tiny", "m1.small"]
    assert flavors.json()["data"]["flavors"][0] == {
        "id": "1",
        "name": "m1.tiny",
        "vcpus": 1,
        "ram_mb": 512,
        "disk_gb": 1,
    }
    assert images.json()["data"]["images"][0]["id"] == CIRROS
    assert _cloud_calls(cloudsim) == 0


def test_the_cloud_unreachable_is_503_in_the_envelope(client, devel, cloudsim):
    # No catalog yet, and every call to the cloud fails: the request cannot be checked.
    cloudsim.control.fail_next(action="503", count=None)

    response = _post(client, devel)

    assert response.status_code == 503
    assert response.json()["status"] == 503
    assert not Stack.objects.exists()


def test_a_stale_catalog_is_refreshed_from_the_cloud(client, devel, cloudsim, settings):
    response = client.get("/openstack/flavors", {"project_name": "devel"}, **devel.auth())

    names = [f["name"] for f in response.json()["data"]["flavors"]]
    assert names[:2] == ["m1.tiny", "m1.small"]
    assert len(names) == 5
    devel.project.refresh_from_db()
    assert devel.project.openstack_id
