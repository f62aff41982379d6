"""The tenant's stack pages, through Django's test client (the browser flow is in web_tests/)."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts.models import Membership
from accounts.tests.factories import MembershipFactory, TenantFactory, UserFactory
from billing.models import FlavorPrice
from compute.models import AuditEvent, Cloud, Operation, Project, Stack, WebhookDelivery
from compute.tests.factories import CIRROS, InstanceFactory, StackFactory, catalog_for

pytestmark = pytest.mark.django_db


@pytest.fixture
def project():
    cloud = Cloud.objects.create(name="cloudsim")
    project = Project.objects.create(tenant=TenantFactory(name="acme"), cloud=cloud, name="devel")
    catalog_for(project)
    FlavorPrice.objects.create(
        flavor_id="1",
        price_per_hour=Decimal("0.0125"),
        currency="EUR",
        effective_from=timezone.now() - timedelta(days=30),
    )
    return project


def sign_in(client, project, role=Membership.Role.MEMBER):
    person = UserFactory()
    MembershipFactory(tenant=project.tenant, user=person, role=role)
    client.force_login(person)
    return person


@pytest.fixture
def other_project():
    cloud = Cloud.objects.get_or_create(name="cloudsim")[0]
    return Project.objects.create(tenant=TenantFactory(name="globex"), cloud=cloud, name="prod")


def make_stack(project, *, state=Stack.State.ACTIVE, servers=2, floating=True):
    stack = StackFactory(project=project, state=state, instance_count=servers)
    for number in range(servers):
        InstanceFactory(
            stack=stack,
            name=f"{stack.name}-{number + 1}",
            floating_ip=f"172.24.4.{number + 10}" if floating else "",
        )
    return stack


def launch_body(**overrides) -> dict:
    body = {
        "image_id": CIRROS,
        "flavor_id": "1",
        "instance_count": "2",
        "floating_ip": "true",
        "user_name": "demo",
    }
    body.update(overrides)
    return body


def test_the_pages_need_a_sign_in(client, project):
    for path in ("/", "/stacks/", "/projects/devel/stacks/", "/projects/devel/launch/"):
        response = client.get(path)
        assert response.status_code == 302, path
        assert response["Location"].startswith("/login/")


def test_the_overview_counts_stacks_and_servers_by_state_and_shows_the_cost_to_date(
    client, project
):
    sign_in(client, project, Membership.Role.VIEWER)
    make_stack(project, state=Stack.State.ACTIVE, servers=2)
    make_stack(project, state=Stack.State.CREATING, servers=1)
    make_stack(project, state=Stack.State.DELETED, servers=0)

    page = client.get("/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "devel" in text
    assert "1 active" in text
    assert "1 creating" in text
    assert "3 active" in text  # servers
    assert "cost to date this month" in text
    assert "deleted" not in text


def test_the_stacks_page_lists_each_stack_with_its_servers_addresses_states_and_age(
    client, project
):
    sign_in(client, project)
    stack = make_stack(project)

    page = client.get("/projects/devel/stacks/")

    text = page.content.decode()
    assert page.status_code == 200
    assert stack.name in text
    for instance in stack.instances.all():
        assert instance.name in text
        assert instance.fixed_ip in text
        assert instance.floating_ip in text
    assert "m1.tiny" in text
    assert 'id="launch-button"' in text
    assert "hx-trigger" not in text  # nothing moves: no polling


def test_a_new_stack_is_under_a_minute_old_and_an_image_gone_from_the_catalog_shows_its_id(
    client, project
):
    sign_in(client, project)
    stack = make_stack(project)
    Stack.objects.filter(pk=stack.pk).update(image_id="retired-image-id")

    listing = client.get("/projects/devel/stacks/").content.decode()
    detail = client.get(f"/stacks/{stack.name}/").content.decode()

    assert "retired-image-id" in listing
    assert "· image</td>" not in listing
    assert "under a minute" in listing
    assert "0\xa0minutes" not in listing + detail
    assert "(just now)" in detail


def test_the_stacks_page_asks_as_many_queries_for_twenty_stacks_as_for_one(client, project):
    sign_in(client, project)
    make_stack(project)
    with CaptureQueriesContext(connection) as one:
        assert client.get("/projects/devel/stacks/").status_code == 200
    for _ in range(19):
        make_stack(project, servers=3)
    with CaptureQueriesContext(connection) as twenty:
        assert client.get("/projects/devel/stacks/").status_code == 200
    with CaptureQueriesContext(connection) as rows:
        assert client.get("/projects/devel/stacks/rows/").status_code == 200

    assert len(twenty) == len(one)
    assert len(twenty) <= 10
    assert len(rows) <= len(twenty)


def test_the_stacks_page_polls_its_rows_while_a_stack_moves_and_stops_once_all_are_settled(
    client, project
):
    sign_in(client, project)
    stack = make_stack(project, state=Stack.State.CREATING)

    building = client.get("/projects/devel/stacks/").content.decode()
    stack.state = Stack.State.ACTIVE
    stack.save()
    settled = client.get("/projects/devel/stacks/rows/").content.decode()

    assert 'hx-get="/projects/devel/stacks/rows/"' in building
    assert 'hx-trigger="every 2s"' in building
    assert settled.startswith('<tbody id="stack-rows"')
    assert "hx-trigger" not in settled


def test_a_polled_fragment_after_the_session_ended_sends_the_page_to_the_sign_in(client, project):
    stack = make_stack(project, state=Stack.State.CREATING)

    rows = client.get(
        "/projects/devel/stacks/rows/",
        HTTP_HX_REQUEST="true",
        HTTP_HX_CURRENT_URL="http://testserver/projects/devel/stacks/",
    )
    status = client.get(f"/stacks/{stack.name}/status/", HTTP_HX_REQUEST="true")

    assert rows.status_code == 204
    assert rows.content == b""
    assert rows["HX-Redirect"] == "/login/?next=/projects/devel/stacks/"
    assert status["HX-Redirect"].startswith("/login/")


def test_a_polled_fragment_that_is_not_found_any_more_stops_the_polling(
    client, project, other_project
):
    sign_in(client, project)
    theirs = make_stack(other_project, state=Stack.State.CREATING)

    rows = client.get("/projects/prod/stacks/rows/", HTTP_HX_REQUEST="true")
    status = client.get(f"/stacks/{theirs.name}/status/", HTTP_HX_REQUEST="true")

    assert rows.status_code == 286  # htmx stops polling on 286
    assert rows["HX-Reswap"] == "none"
    assert status.status_code == 286
    assert client.get("/projects/prod/stacks/rows/").status_code == 404  # a plain GET still


def test_addresses_are_never_split_across_lines_but_long_ids_may_be(client, project):
    sign_in(client, project)
    stack = make_stack(project)

    listing = client.get("/projects/devel/stacks/").content.decode()
    detail = client.get(f"/stacks/{stack.name}/").content.decode()

    for page in (listing, detail):
        assert 'class="mono fixed-ip text-nowrap"' in page
        assert 'class="mono floating-ip text-nowrap"' in page
    assert 'class="mono long-id small' in detail


def test_an_empty_project_explains_how_to_launch_a_stack(client, project):
    sign_in(client, project)

    text = client.get("/projects/devel/stacks/").content.decode()

    assert "No stacks in devel yet" in text
    assert "/projects/devel/launch/" in text


def test_the_stacks_menu_opens_the_first_project(client, project):
    sign_in(client, project)

    response = client.get("/stacks/")

    assert response.status_code == 302
    assert response["Location"] == "/projects/devel/stacks/"


def test_another_tenants_project_and_stack_answer_not_found(client, project, other_project):
    sign_in(client, project, Membership.Role.OWNER)
    theirs = make_stack(other_project)

    assert client.get("/projects/prod/stacks/").status_code == 404
    assert client.get("/projects/prod/stacks/rows/").status_code == 404
    assert client.get("/projects/prod/launch/").status_code == 404
    assert client.get(f"/stacks/{theirs.name}/").status_code == 404
    assert client.get(f"/stacks/{theirs.name}/status/").status_code == 404
    assert client.post(f"/stacks/{theirs.name}/delete/").status_code == 404
    assert Stack.objects.get(pk=theirs.pk).state == Stack.State.ACTIVE


def test_a_viewer_sees_no_launch_or_delete_button_and_a_forged_post_is_refused(client, project):
    sign_in(client, project, Membership.Role.VIEWER)
    stack = make_stack(project)

    listing = client.get("/projects/devel/stacks/").content.decode()
    detail = client.get(f"/stacks/{stack.name}/").content.decode()
    launch = client.post("/projects/devel/launch/", launch_body())
    delete = client.post(f"/stacks/{stack.name}/delete/")

    assert 'id="launch-button"' not in listing
    assert 'id="delete-button"' not in detail
    assert launch.status_code == 403
    assert delete.status_code == 403
    assert client.get("/projects/devel/launch/").status_code == 403
    assert Stack.objects.filter(project=project).count() == 1
    assert Stack.objects.get(pk=stack.pk).state == Stack.State.ACTIVE


def test_the_launch_form_offers_the_catalog_and_shows_the_hourly_price_of_the_stack(
    client, project
):
    sign_in(client, project)

    page = client.get("/projects/devel/launch/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "cirros" in text
    assert "half-uploaded" not in text  # a queued image cannot boot
    assert "m1.small · 1 vCPU · 2 GB RAM · 20 GB disk" in text
    assert '<option value="demo"' in text
    assert "0.0125" in text  # one server of m1.tiny, the first flavor
    assert 'hx-get="/projects/devel/launch/price/"' in text


def test_the_price_box_is_the_count_times_the_flavors_price_in_force(client, project):
    sign_in(client, project)

    three = client.get("/projects/devel/launch/price/", {"flavor_id": "1", "instance_count": 3})
    unpriced = client.get("/projects/devel/launch/price/", {"flavor_id": "2", "instance_count": 1})

    assert "0.0375" in three.content.decode()
    assert "3 servers" in three.content.decode()
    assert "0.0125 EUR an hour" in three.content.decode()
    assert "No price is set" in unpriced.content.decode()


def test_a_launch_with_bad_fields_shows_the_apis_errors_beside_them(client, project):
    sign_in(client, project)

    bad = client.post(
        "/projects/devel/launch/",
        launch_body(instance_count="2.5", image_id="nope", user_name="mallory"),
    )
    unknown = client.post("/projects/devel/launch/", launch_body(image_id="nope"))

    assert bad.status_code == 400
    assert "Must be a whole number." in bad.content.decode()
    assert unknown.status_code == 400
    text = unknown.content.decode()
    assert "Unknown image &#x27;nope&#x27; for project devel." in text
    assert Stack.objects.count() == 0


def test_a_count_out_of_range_shows_no_price_but_says_why(client, project):
    sign_in(client, project)

    fifty = client.get("/projects/devel/launch/price/", {"flavor_id": "1", "instance_count": 50})
    zero = client.get("/projects/devel/launch/price/", {"flavor_id": "1", "instance_count": 0})
    launch = client.post("/projects/devel/launch/", launch_body(instance_count="50"))

    for answer in (fifty, zero, launch):
        text = answer.content.decode()
        assert "The price shows once the number of servers is from 1 to 20." in text
        assert "EUR/h" not in text
    assert "Must be at most 20." in launch.content.decode()


def test_a_launch_with_blank_fields_says_once_per_field_what_is_missing(client, project):
    sign_in(client, project)

    blank = client.post(
        "/projects/devel/launch/", launch_body(image_id="", flavor_id="", user_name="")
    )

    text = blank.content.decode()
    assert blank.status_code == 400
    assert text.count("This field may not be blank.") == 3
    assert "This field is required." not in text


def test_an_empty_post_is_a_submission_with_errors_not_a_fresh_form(client, project):
    sign_in(client, project)

    empty = client.post("/projects/devel/launch/", {})

    assert empty.status_code == 400
    assert empty.context["form"].errors
    assert 'class="invalid-feedback"' in empty.content.decode()
    assert Stack.objects.count() == 0


def test_a_launch_over_the_quota_is_refused_with_the_quota_problem(client, project):
    sign_in(client, project)
    catalog_for(project, max_instances=1)

    response = client.post("/projects/devel/launch/", launch_body(instance_count="2"))

    assert response.status_code == 400
    assert "Quota exceeded for instances" in response.content.decode()
    assert Stack.objects.count() == 0


def test_a_launch_records_the_stack_and_opens_its_page(client, project):
    sign_in(client, project)

    response = client.post("/projects/devel/launch/", launch_body(instance_count="3"))

    stack = Stack.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/stacks/{stack.name}/"
    assert (stack.instance_count, stack.floating_ip, stack.user_name) == (3, True, "demo")
    assert stack.state == Stack.State.CREATING
    assert stack.operations.get().kind == Operation.Kind.CREATE


def test_the_stack_page_shows_servers_timeline_error_webhooks_and_activity(client, project):
    sign_in(client, project)
    stack = make_stack(project, state=Stack.State.FAILED)
    stack.error = "No valid host was found."
    stack.save()
    operation = Operation.objects.create(
        stack=stack,
        kind=Operation.Kind.CREATE,
        state=Operation.State.FAILED,
        step="wait_active",
        deadline=timezone.now(),
        history=[
            {"step": "requested", "at": timezone.now().isoformat(), "note": "2 x flavor 1"},
            {"step": "create_servers", "at": timezone.now().isoformat(), "note": ""},
        ],
    )
    WebhookDelivery.objects.create(
        operation=operation,
        url="https://hooks.example.test/ipaas",
        event="stack.failed",
        payload={},
        state=WebhookDelivery.State.DELIVERED,
        attempts=1,
        last_status=204,
    )
    AuditEvent.objects.create(
        tenant=project.tenant, stack=stack, stack_name=stack.name, action="stack.failed",
        actor="client robot",
    )  # fmt: skip

    page = client.get(f"/stacks/{stack.name}/")

    text = page.content.decode()
    assert page.status_code == 200
    assert "No valid host was found." in text
    assert "create servers" in text
    assert "2 x flavor 1" in text
    assert "https://hooks.example.test/ipaas" in text
    assert "stack.failed" in text
    assert "172.24.4.10" in text
    assert "hx-trigger" not in text


def test_the_stack_page_polls_its_status_while_the_stack_is_being_built(client, project):
    sign_in(client, project)
    stack = make_stack(project, state=Stack.State.CREATING)

    page = client.get(f"/stacks/{stack.name}/").content.decode()
    part = client.get(f"/stacks/{stack.name}/status/").content.decode()

    assert f'hx-get="/stacks/{stack.name}/status/"' in page
    assert part.startswith('<div id="stack-status"')
    assert 'hx-trigger="every 2s"' in part


def test_deleting_asks_first_and_then_starts_the_deletion_as_the_person(client, project):
    person = sign_in(client, project)
    stack = make_stack(project)

    confirm = client.get(f"/stacks/{stack.name}/delete/")
    response = client.post(f"/stacks/{stack.name}/delete/")

    stack.refresh_from_db()
    assert confirm.status_code == 200
    assert "Delete stack" in confirm.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/projects/devel/stacks/"
    assert stack.state == Stack.State.DELETING
    event = AuditEvent.objects.get(stack=stack, action=AuditEvent.Action.DELETE_REQUESTED)
    assert event.actor_user == person


def test_the_stack_page_asks_as_many_queries_for_ten_servers_as_for_one(client, project):
    sign_in(client, project)
    small = make_stack(project, servers=1)
    big = make_stack(project, servers=10)
    for stack in (small, big):
        Operation.objects.create(
            stack=stack,
            kind=Operation.Kind.CREATE,
            state=Operation.State.SUCCEEDED,
            step="finish",
            deadline=timezone.now(),
        )

    with CaptureQueriesContext(connection) as one:
        assert client.get(f"/stacks/{small.name}/").status_code == 200
    with CaptureQueriesContext(connection) as ten:
        assert client.get(f"/stacks/{big.name}/").status_code == 200

    assert len(ten) == len(one)


def test_a_viewer_sees_every_page_of_the_tenant(client, project):
    sign_in(client, project, Membership.Role.VIEWER)
    stack = make_stack(project)

    for path in (
        "/",
        "/projects/devel/stacks/",
        "/projects/devel/stacks/rows/",
        f"/stacks/{stack.name}/",
        f"/stacks/{stack.name}/status/",
        "/billing/",
        "/clients/",
        "/members/",
        "/account/",
        "/account/password/",
    ):
        assert client.get(path).status_code == 200, path
    assert client.get(f"/stacks/{stack.name}/delete/").status_code == 403
    assert client.get("/projects/devel/launch/price/").status_code == 403


def test_a_launch_from_the_page_is_recorded_as_made_by_the_signed_in_person(client, project):
    person = sign_in(client, project)

    response = client.post("/projects/devel/launch/", launch_body())

    assert response.status_code == 302
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE_REQUESTED)
    assert event.actor_user == person
    assert event.actor_client is None
    assert event.actor == f"user {person.get_username()}"


@pytest.mark.parametrize("count", ["\u00b2", "\u0661", "9" * 5000])
def test_a_count_that_is_not_ascii_digits_is_refused_on_the_page(client, project, count):
    sign_in(client, project)

    response = client.post("/projects/devel/launch/", launch_body(instance_count=count))

    assert response.status_code == 400
    assert "Must be a whole number." in response.content.decode()
    assert not Stack.objects.exists()
