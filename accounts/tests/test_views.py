"""The people's account pages: sign-in, tenant and time zone, API clients and members."""

import pytest
from django.contrib.auth import get_user_model

from accounts import sign_in
from accounts.models import ApiClient, Membership
from accounts.tests.factories import (
    ApiClientFactory,
    MembershipFactory,
    TenantFactory,
    UserFactory,
)
from compute.models import Cloud, Project, Stack
from compute.tests.factories import StackFactory

pytestmark = pytest.mark.django_db
PASSWORD = "correct horse battery"


@pytest.fixture
def tenant():
    tenant = TenantFactory(name="acme")
    Project.objects.create(
        tenant=tenant, cloud=Cloud.objects.create(name="cloudsim"), name="devel"
    )
    return tenant


def person_in(tenant, role=Membership.Role.OWNER, **fields):
    person = UserFactory(**fields)
    MembershipFactory(tenant=tenant, user=person, role=role)
    return person


def test_a_person_signs_in_and_out(client, tenant):
    person = person_in(tenant)

    signed_in = client.post("/login/", {"username": person.username, "password": PASSWORD})
    overview = client.get("/")
    signed_out = client.post("/logout/")

    assert signed_in.status_code == 302
    assert overview.status_code == 200
    assert "acme" in overview.content.decode()
    assert signed_out.status_code == 302
    assert client.get("/").status_code == 302


def test_sign_ins_are_refused_for_a_while_after_too_many_failures_even_with_the_password(
    client, tenant
):
    person = person_in(tenant)
    for _ in range(sign_in.LOGIN_FAILURE_LIMIT):
        failed = client.post("/login/", {"username": person.username, "password": "guess"})
        assert failed.status_code == 200

    throttled = client.post("/login/", {"username": person.username, "password": PASSWORD})
    other = client.post("/login/", {"username": person_in(tenant).username, "password": PASSWORD})

    assert throttled.status_code == 429
    assert int(throttled["Retry-After"]) > 0
    assert "Too many failed sign-ins" in throttled.content.decode()
    assert other.status_code == 302  # another username from the same address still may


def test_the_password_change_page_changes_the_password(client, tenant):
    person = person_in(tenant)
    client.force_login(person)

    page = client.get("/account/password/")
    new = "a new long one 42"
    changed = client.post(
        "/account/password/",
        {"old_password": PASSWORD, "new_password1": new, "new_password2": new},
    )

    person.refresh_from_db()
    assert page.status_code == 200
    assert changed.status_code == 302
    assert person.check_password("a new long one 42")


def test_a_person_of_two_tenants_switches_but_not_into_a_stranger_tenant(client, tenant):
    person = person_in(tenant, Membership.Role.VIEWER)
    globex = TenantFactory(name="globex")
    MembershipFactory(tenant=globex, user=person, role=Membership.Role.OWNER)
    stranger = TenantFactory(name="initech")
    client.force_login(person)

    switched = client.post("/tenant/switch/", {"tenant_id": globex.pk})
    overview = client.get("/").content.decode()
    refused = client.post("/tenant/switch/", {"tenant_id": stranger.pk})

    assert switched.status_code == 302
    assert client.session["tenant_id"] == globex.pk
    assert '<h1 class="h3 mb-0">globex</h1>' in overview
    assert refused.status_code == 404
    assert client.session["tenant_id"] == globex.pk


def test_times_are_shown_in_the_time_zone_the_person_chose(client, tenant):
    person = person_in(tenant)
    stack = StackFactory(project=Project.objects.get(name="devel"))
    client.force_login(person)

    saved = client.post("/account/", {"timezone": "Asia/Tokyo"})
    page = client.get(f"/stacks/{stack.name}/").content.decode()

    assert saved.status_code == 302
    assert client.session["timezone"] == "Asia/Tokyo"
    assert "JST" in page
    assert client.post("/account/", {"timezone": "Mars/Olympus"}).status_code == 200


def test_the_chosen_time_zone_is_still_in_force_at_the_next_sign_in(client, tenant):
    person = person_in(tenant)
    stack = StackFactory(project=Project.objects.get(name="devel"))
    client.force_login(person)
    client.post("/account/", {"timezone": "Asia/Tokyo"})
    client.post("/logout/")

    client.post("/login/", {"username": person.username, "password": PASSWORD})
    page = client.get(f"/stacks/{stack.name}/").content.decode()
    settings_page = client.get("/account/").content.decode()

    assert "JST" in page
    assert '<option value="Asia/Tokyo" selected>' in settings_page


def test_a_person_who_never_chose_a_zone_sees_utc(client, tenant):
    client.force_login(person_in(tenant))

    assert "Times in UTC" in client.get("/").content.decode()


def test_the_account_links_are_reachable_without_script(client, tenant):
    client.force_login(person_in(tenant))

    page = client.get("/").content.decode()

    # The second <noscript> is the menu's; the first only unfolds the navigation bar.
    fallback = page.split("<noscript>")[2].split("</noscript>")[0]
    assert 'href="/account/"' in fallback
    assert 'href="/account/password/"' in fallback
    assert "Sign out" in fallback


def test_an_owner_creates_an_api_client_and_sees_its_secret_once(client, tenant):
    client.force_login(person_in(tenant))

    created = client.post("/clients/new/", {"name": "ci-robot", "scopes": ["compute:read"]})
    listing = client.get("/clients/")

    api_client = ApiClient.objects.get(name="ci-robot")
    secret = created.context["secret"]
    assert created.status_code == 200
    assert created["Cache-Control"] == "no-store"
    assert secret in created.content.decode()
    assert api_client.client_id in created.content.decode()
    assert api_client.tenant == tenant
    assert api_client.scope == "compute:read"
    assert "/oauth/token" in created.content.decode()
    assert secret not in listing.content.decode()
    assert api_client.client_id in listing.content.decode()


def test_the_clients_page_example_names_its_placeholders_in_visible_text(client, tenant):
    client.force_login(person_in(tenant))

    page = client.get("/clients/").content.decode()

    # Raw "<client id>" would be an unknown tag that the browser hides, leaving ''.
    assert "CLIENT_ID='&lt;client id&gt;'" in page
    assert "CLIENT_SECRET='&lt;the secret shown when the client was made&gt;'" in page
    assert "<client id>" not in page


def test_the_secret_of_a_new_client_gets_a_token(client, tenant):
    client.force_login(person_in(tenant))
    created = client.post("/clients/new/", {"name": "ci-robot", "scopes": ["compute:read"]})
    api_client = ApiClient.objects.get(name="ci-robot")

    token = client.post(
        "/oauth/token",
        {"grant_type": "client_credentials", "client_id": api_client.client_id,
         "client_secret": created.context["secret"]},
    )  # fmt: skip

    assert token.status_code == 200
    assert token.json()["scope"] == "compute:read"


def test_an_owner_rotates_and_revokes_a_client(client, tenant):
    client.force_login(person_in(tenant))
    api_client = ApiClientFactory(tenant=tenant, name="robot")

    rotated = client.post(f"/clients/{api_client.pk}/rotate/")
    revoked = client.post(f"/clients/{api_client.pk}/revoke/")

    api_client.refresh_from_db()
    assert rotated.status_code == 200
    assert rotated["Cache-Control"] == "no-store"
    assert rotated.context["secret"] != api_client.plain_secret
    assert revoked.status_code == 302
    assert not api_client.is_active


def test_members_and_viewers_see_clients_but_cannot_make_rotate_or_revoke_them(client, tenant):
    api_client = ApiClientFactory(tenant=tenant, name="robot")
    for role in (Membership.Role.MEMBER, Membership.Role.VIEWER):
        client.force_login(person_in(tenant, role))

        listing = client.get("/clients/")

        assert listing.status_code == 200
        assert "robot" in listing.content.decode()
        assert "Create client" not in listing.content.decode()
        assert (
            client.post("/clients/new/", {"name": "x", "scopes": ["compute:read"]}).status_code
            == 403
        )
        assert client.post(f"/clients/{api_client.pk}/rotate/").status_code == 403
        assert client.post(f"/clients/{api_client.pk}/revoke/").status_code == 403
    assert ApiClient.objects.count() == 1
    assert ApiClient.objects.get().is_active


def test_another_tenants_client_is_not_found(client, tenant):
    client.force_login(person_in(tenant))
    theirs = ApiClientFactory(tenant=TenantFactory(name="globex"))

    assert client.post(f"/clients/{theirs.pk}/rotate/").status_code == 404
    assert client.post(f"/clients/{theirs.pk}/revoke/").status_code == 404
    assert theirs.client_id not in client.get("/clients/").content.decode()


def test_an_owner_invites_people_by_username_or_email_and_sets_their_roles(client, tenant):
    client.force_login(person_in(tenant))
    known = UserFactory(username="grace", email="grace@example.test")

    by_email = client.post(
        "/members/invite/", {"identifier": "GRACE@example.test", "role": "viewer"}
    )
    unknown = client.post("/members/invite/", {"identifier": "new@example.test", "role": "member"})
    membership = Membership.objects.get(tenant=tenant, user=known)
    role = client.post(f"/members/{membership.pk}/role/", {"role": "member"})

    made = get_user_model().objects.get(username="new@example.test")
    assert by_email.status_code == unknown.status_code == role.status_code == 302
    assert Membership.objects.get(pk=membership.pk).role == Membership.Role.MEMBER
    assert not made.has_usable_password()
    assert Membership.objects.get(tenant=tenant, user=made).role == Membership.Role.MEMBER
    page = client.get("/members/").content.decode()
    assert "no password yet" in page


def test_inviting_an_unknown_username_makes_no_login_and_says_why(client, tenant):
    client.force_login(person_in(tenant))
    people = get_user_model().objects.count()

    unknown = client.post("/members/invite/", {"identifier": "nobody", "role": "owner"})
    bad = client.post("/members/invite/", {"identifier": "not a valid/username!", "role": "owner"})
    bad_email = client.post("/members/invite/", {"identifier": "a b@example", "role": "owner"})

    assert unknown.status_code == bad.status_code == bad_email.status_code == 400
    assert "No person with that username" in unknown.content.decode()
    assert 'value="nobody"' in unknown.content.decode()
    assert "No person with that username" in bad.content.decode()
    assert "is not an email address a login can be made for" in bad_email.content.decode()
    assert get_user_model().objects.count() == people
    assert Membership.objects.filter(tenant=tenant).count() == 1


def test_an_owner_removes_a_member_but_never_the_last_owner(client, tenant):
    owner = person_in(tenant)
    member = person_in(tenant, Membership.Role.MEMBER)
    client.force_login(owner)
    own = Membership.objects.get(user=owner)

    removed = client.post(f"/members/{Membership.objects.get(user=member).pk}/remove/")
    last = client.post(f"/members/{own.pk}/remove/", follow=True)
    demoted = client.post(f"/members/{own.pk}/role/", {"role": "viewer"}, follow=True)

    assert removed.status_code == 302
    assert not Membership.objects.filter(user=member).exists()
    assert "A tenant needs an owner" in last.content.decode()
    assert "A tenant needs an owner" in demoted.content.decode()
    assert Membership.objects.get(pk=own.pk).role == Membership.Role.OWNER


def test_a_member_cannot_manage_members_and_another_tenants_membership_is_not_found(
    client, tenant
):
    member = person_in(tenant, Membership.Role.MEMBER)
    owner = person_in(tenant)
    stranger = MembershipFactory(tenant=TenantFactory(name="globex"))
    client.force_login(member)

    assert client.get("/members/").status_code == 200
    assert client.post("/members/invite/", {"identifier": "x", "role": "owner"}).status_code == 403
    owner_membership = Membership.objects.get(user=owner)
    assert client.post(f"/members/{owner_membership.pk}/remove/").status_code == 403
    client.force_login(owner)
    assert client.post(f"/members/{stranger.pk}/remove/").status_code == 404
    assert Membership.objects.filter(pk=stranger.pk).exists()


def test_a_person_in_no_tenant_is_told_so(client):
    client.force_login(UserFactory())

    page = client.get("/")

    assert page.status_code == 403
    assert "You belong to no tenant yet" in page.content.decode()


def test_the_overview_asks_as_many_queries_for_twenty_stacks_as_for_one(
    client, tenant, django_assert_max_num_queries
):
    client.force_login(person_in(tenant))
    project = Project.objects.get(name="devel")
    StackFactory(project=project)
    for _ in range(19):
        StackFactory(project=project, state=Stack.State.CREATING)

    with django_assert_max_num_queries(12):
        assert client.get("/").status_code == 200
