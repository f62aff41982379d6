"""A person's day in the portal, in a real browser: launch, watch, use the API, delete, bill.

Two flows only: each browser test costs seconds, so one walks through everything a member and
owner does, the other checks what a viewer may not do.
"""

import json
import re
import subprocess
from datetime import timedelta
from decimal import Decimal

import pytest
import requests
from django.utils import timezone
from playwright.sync_api import expect

from accounts.models import Membership
from accounts.tests.factories import MembershipFactory, UserFactory
from billing import services as billing
from billing.models import FlavorPrice
from compute.models import ProjectCatalog, Stack
from compute.tests.conftest import wait_for_stack
from compute.tests.factories import InstanceFactory, StackFactory, catalog_for
from web_tests.conftest import readme_screenshot

PASSWORD = "correct horse battery"
pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def owner(devel):
    person = UserFactory(username="ada")
    MembershipFactory(tenant=devel.tenant, user=person, role=Membership.Role.OWNER)
    FlavorPrice.objects.create(
        flavor_id="1",
        price_per_hour=Decimal("0.0125"),
        currency="EUR",
        effective_from=timezone.now() - timedelta(days=90),
    )
    return person


@pytest.fixture
def billed_server(devel, owner):
    """A server that ran from late last month until a minute ago: a bill to chart, a statement.

    Its flavor costs 1.00 an hour, so that even today's first minutes show as a bar.
    """
    now = timezone.now()
    month_start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    FlavorPrice.objects.create(
        flavor_id="2", price_per_hour=Decimal("1.00"), currency="EUR",
        effective_from=now - timedelta(days=90),
    )  # fmt: skip
    earlier = StackFactory(
        project=devel.project, state=Stack.State.DELETED, instance_count=1, flavor_id="2"
    )
    server = InstanceFactory(
        stack=earlier, name=f"{earlier.name}-1", state="DELETED", flavor_id="2"
    )
    billing.instance_event_record(
        instance=server, state="ACTIVE", at=month_start - timedelta(days=3)
    )
    billing.instance_event_record(instance=server, state="DELETED", at=now - timedelta(minutes=1))
    billing.statement_close(project=devel.project, month=(month_start - timedelta(days=1)).date())
    return server


def sign_in(page, username: str) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("link", name="Overview")).to_be_visible()


def test_an_owner_launches_watches_uses_the_api_deletes_and_reads_the_bill(
    worker, owner, billed_server, devel, cloudsim, context, live_server
):
    # Servers that take seconds to boot and to go, so the page is seen while they change.
    cloudsim.control.config(boot_time=3, delete_time=3)
    page = context.new_page()
    sign_in(page, "ada")
    expect(page.locator(".project-card")).to_contain_text("devel")
    readme_screenshot(page, "overview")

    # Launch: the price follows the count before anything is submitted.
    page.get_by_role("link", name="Stacks").click()
    page.get_by_role("link", name="Launch a stack").first.click()
    page.get_by_label("Image").select_option(label="cirros")
    page.get_by_label("Flavor").select_option(value="1")
    expect(page.locator("#price-total")).to_have_text("0.0125")
    page.get_by_label("Number of servers").fill("2")
    expect(page.locator("#price-total")).to_have_text("0.0250")
    page.get_by_label("Give each server a floating IP").check()
    page.get_by_label("Launch as OpenStack user").select_option("demo")
    readme_screenshot(page, "launch")
    page.get_by_role("button", name="Launch stack").click()

    # The stack's page turns ACTIVE by itself: the marker survives, so no reload happened.
    expect(page).to_have_url(re.compile(r"/stacks/stack_r-[a-z0-9]{8}/$"))
    stack_name = page.url.rstrip("/").rsplit("/", 1)[-1]
    expect(page.locator("#stack-state")).to_have_text("CREATING")
    page.evaluate("window.notReloaded = true")
    expect(page.locator("#stack-state")).to_have_text("ACTIVE", timeout=60_000)
    assert page.evaluate("window.notReloaded === true")
    expect(page.locator("#instance-table .floating-ip")).to_have_count(2)
    for address in page.locator("#instance-table .floating-ip").all_text_contents():
        assert re.fullmatch(r"172\.24\.4\.\d+", address.strip())
    expect(page.locator(".timeline").first).to_contain_text("servers created")
    readme_screenshot(page, "stack")

    page.get_by_role("link", name=f"Stacks in {devel.project.name}").click()
    row = page.locator(f'tr[data-stack="{stack_name}"]')
    expect(row).to_contain_text("ACTIVE")
    expect(row.locator(".fixed-ip")).to_have_count(2)
    readme_screenshot(page, "stacks")

    # An API client: its secret, copied, gets a token that lists the stack's servers.
    page.get_by_role("link", name="API clients").click()
    page.get_by_label("Name").fill("ci-robot")
    page.get_by_role("button", name="Create client").click()
    expect(page.locator("h1")).to_contain_text("API client created")
    page.get_by_role("button", name="Copy secret").click()
    secret = page.evaluate("navigator.clipboard.readText()")
    assert secret == page.locator("#client-secret").text_content().strip()
    expect(page.locator("#curl-example")).to_contain_text(secret)
    client_id = page.locator("#client-id").text_content().strip()
    token = requests.post(
        f"{live_server.url}/oauth/token",
        data={"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret},
        timeout=10,
    )
    assert token.status_code == 200, token.text
    listed = requests.get(
        f"{live_server.url}/openstack/instances",
        headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        timeout=10,
    )
    assert listed.status_code == 200
    assert len(listed.json()["data"][stack_name]) == 2

    # The page's own command lines, copied and pasted into a shell, do the same.
    page.get_by_role("button", name="Copy commands").click()
    commands = page.evaluate("navigator.clipboard.readText()")
    pasted = subprocess.run(  # noqa: S603 - the shell runs what the page offered to copy
        ["/bin/bash", "-c", commands], capture_output=True, text=True, timeout=30, check=False
    )
    assert pasted.returncode == 0, pasted.stderr
    assert len(json.loads(pasted.stdout)["data"][stack_name]) == 2

    # Delete, after a confirmation; the row leaves the list without a reload.
    page.goto(f"/stacks/{stack_name}/")
    page.get_by_role("link", name="Delete stack…").click()
    page.get_by_role("button", name="Delete stack").click()
    expect(page).to_have_url(re.compile(r"/projects/devel/stacks/$"))
    expect(page.locator(f'tr[data-stack="{stack_name}"]')).to_contain_text("DELETING")
    page.evaluate("window.notReloaded = true")
    expect(page.locator(f'tr[data-stack="{stack_name}"]')).to_have_count(0, timeout=60_000)
    expect(page.get_by_text("No stacks in devel yet")).to_be_visible()
    assert page.evaluate("window.notReloaded === true")
    assert Stack.objects.get(name=stack_name).state == Stack.State.DELETED

    # Billing: the chart of the month, and last month's statement as CSV with its server.
    page.get_by_role("link", name="Billing").click()
    chart = page.locator("svg.daily-cost")
    expect(chart).to_be_visible()
    # Every day of this month so far cost something: each has a bar with height.
    heights = chart.locator("rect").evaluate_all(
        "bars => bars.map(bar => bar.height.baseVal.value)"
    )
    assert len(heights) == timezone.now().day
    assert all(height > 0 for height in heights)
    readme_screenshot(page, "billing")
    with page.expect_download() as download:
        page.locator("a.statement-csv").first.click()
    csv_text = download.value.path().read_text(encoding="utf-8")
    assert "devel" in csv_text
    assert billed_server.name in csv_text


def test_a_viewer_sees_everything_and_can_change_nothing(devel, context, live_server):
    viewer = UserFactory(username="vic")
    MembershipFactory(tenant=devel.tenant, user=viewer, role=Membership.Role.VIEWER)
    page = context.new_page()
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_at_phone_width(page)

    page.goto("/projects/devel/stacks/")
    expect(page.get_by_text("No stacks in devel yet")).to_be_visible()
    expect(page.get_by_role("link", name="Launch a stack")).to_have_count(0)
    # At phone width nothing spills sideways on any page: wide tables scroll in their own box.
    for path in ("/", "/projects/devel/stacks/", "/billing/", "/clients/", "/members/"):
        page.goto(path)
        expect(page.locator("h1")).to_be_visible()
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
    expect(page.get_by_role("button", name="Create client")).to_have_count(0)
    readme_screenshot(page, "phone-members")

    # The chart is scaled down to the phone's width; its day numbers must still be readable.
    page.goto("/billing/")
    day_label = page.locator(".daily-cost text").first
    assert day_label.evaluate("e => e.getBoundingClientRect().height") >= 10

    # Times follow the zone the person picks, here the browser's own.
    page.goto("/account/")
    page.get_by_role("button", name="Use my browser's time zone").click()
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Times are now shown in Asia/Tokyo")).to_be_visible()
    page.goto("/billing/")
    expect(page.locator("main")).to_contain_text("JST")

    # On the narrowest phones an address stays on one line, and the cloud's error breaks
    # between words.
    page.set_viewport_size({"width": 360, "height": 740})
    shown = StackFactory(
        project=devel.project, state=Stack.State.FAILED, instance_count=1,
        error="Quota exceeded for instances: Requested 1, but already used 10 of 10 instances",
    )  # fmt: skip
    InstanceFactory(
        stack=shown, name=f"{shown.name}-1", fixed_ip="10.0.0.211", floating_ip="172.24.4.210"
    )
    page.goto(f"/stacks/{shown.name}/")
    lines_of_text = "e => { const r = document.createRange(); r.selectNodeContents(e);"
    lines_of_text += " return new Set([...r.getClientRects()].map(b => b.top)).size; }"
    for address in (".fixed-ip", ".floating-ip"):
        assert page.locator(f"#stack-status {address}").first.evaluate(lines_of_text) == 1
    assert "Quota exceeded" in page.locator("#stack-error").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto("/projects/devel/stacks/")

    forged = page.request.post(
        "/projects/devel/launch/",
        form={
            "csrfmiddlewaretoken": page.locator(
                "input[name=csrfmiddlewaretoken]"
            ).first.get_attribute("value"),
            "image_id": "cirros",
            "flavor_id": "1",
            "instance_count": "1",
            "floating_ip": "false",
            "user_name": "demo",
        },
        headers={"Referer": f"{live_server.url}/projects/devel/stacks/"},
    )
    assert forged.status == 403
    assert not Stack.objects.exclude(pk=shown.pk).exists()


def sign_in_at_phone_width(page) -> None:
    page.goto("/login/")
    page.get_by_label("Username").fill("vic")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # The menu folds behind its toggler on a phone.
    page.get_by_role("button", name="Menu").click()
    expect(page.get_by_role("link", name="Overview")).to_be_visible()


def test_the_core_actions_work_without_javascript(worker, devel, context_without_script):
    person = UserFactory(username="nojs")
    MembershipFactory(tenant=devel.tenant, user=person, role=Membership.Role.MEMBER)
    page = context_without_script.new_page()
    page.goto("/login/")
    page.get_by_label("Username").fill("nojs")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    # Without script the menu stays unfolded and sign-out is a plain button.
    expect(page.get_by_role("link", name="Overview")).to_be_visible()

    page.goto("/projects/devel/launch/")
    page.get_by_label("Image").select_option(label="cirros")
    page.get_by_label("Number of servers").fill("1")
    page.get_by_label("Launch as OpenStack user").select_option("demo")
    page.get_by_role("button", name="Launch stack").click()
    expect(page).to_have_url(re.compile(r"/stacks/stack_r-[a-z0-9]{8}/$"))
    stack_name = page.url.rstrip("/").rsplit("/", 1)[-1]

    # Nothing updates by itself without script: the person reloads.
    wait_for_stack(stack_name, Stack.State.ACTIVE, timeout=60)
    page.reload()
    expect(page.locator("#stack-state")).to_have_text("ACTIVE")
    page.get_by_role("link", name="Delete stack…").click()
    page.get_by_role("button", name="Delete stack").click()
    expect(page).to_have_url(re.compile(r"/projects/devel/stacks/$"))
    wait_for_stack(stack_name, Stack.State.DELETED, timeout=60)

    # The account links of the script-driven drop-down are plain links too.
    page.get_by_role("link", name="Time zone").click()
    expect(page.get_by_role("button", name="Save")).to_be_visible()
    page.get_by_role("link", name="Change password").click()
    expect(page.get_by_label("Old password")).to_be_visible()

    page.get_by_role("button", name="Sign out").last.click()
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()


def test_a_long_flavor_list_is_narrowed_as_the_person_types(devel, context):
    person = UserFactory(username="lin")
    MembershipFactory(tenant=devel.tenant, user=person, role=Membership.Role.MEMBER)
    sizes = [(vcpus, ram) for vcpus in (1, 2, 4, 8) for ram in (2048, 4096, 8192)]
    catalog_for(devel.project)
    ProjectCatalog.objects.filter(project=devel.project).update(
        flavors=[
            {"id": f"f{n}", "name": f"g{n}.{vcpus}x{ram // 1024}", "vcpus": vcpus,
             "ram_mb": ram, "disk_gb": 20}
            for n, (vcpus, ram) in enumerate(sizes)
        ]
    )  # fmt: skip
    FlavorPrice.objects.create(
        flavor_id="f11", price_per_hour=Decimal("0.5000"), currency="EUR",
        effective_from=timezone.now() - timedelta(days=1),
    )  # fmt: skip
    page = context.new_page()
    sign_in(page, "lin")

    page.goto("/projects/devel/launch/")
    flavors = page.get_by_label("Flavor", exact=True)
    expect(flavors.locator("option")).to_have_count(12)
    page.get_by_placeholder("Filter flavors by name or size").fill("8 vCPU 8 GB")

    # One flavor is left, it is chosen, and the price follows it without a submit.
    expect(flavors.locator("option:not([hidden])")).to_have_count(1)
    expect(flavors).to_have_value("f11")
    expect(page.locator("#price-total")).to_have_text("0.5000")
