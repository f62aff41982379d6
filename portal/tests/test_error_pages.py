"""Error reports and error pages never show a token sent in the URL, and API paths always
answer in the envelope, DEBUG or not."""

import sys

import pytest
from django.test import RequestFactory
from django.views.debug import get_exception_reporter_class

SECRET = "T0KEN-IN-THE-URL"


def test_an_error_report_hides_the_token_in_the_url_and_get_parameters(settings):
    request = RequestFactory().get(
        f"/openstack/projects?access_token={SECRET}&access%5Ftoken={SECRET}2&project_name=devel"
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        reporter = get_exception_reporter_class(request)(request, *sys.exc_info())

    text, html = reporter.get_traceback_text(), reporter.get_traceback_html()

    for report in (text, html):
        assert SECRET not in report
        assert "project_name" in report


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/openstack/nowhere", "/oauth/nowhere/deeper"])
def test_an_unknown_api_path_is_an_enveloped_404_even_with_debug_on(client, settings, path):
    settings.DEBUG = True

    response = client.get(f"{path}?access_token={SECRET}")

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"status": 404, "message": "Not found.", "data": {}}
    assert SECRET not in response.content.decode()


@pytest.mark.django_db
def test_a_request_django_refuses_on_an_api_path_is_an_enveloped_400(client):
    response = client.get("/openstack/projects", HTTP_HOST="not-an-allowed-host.example")

    assert response.status_code == 400
    assert response.json() == {"status": 400, "message": "Bad request.", "data": {}}


@pytest.mark.django_db
def test_too_many_form_fields_on_an_api_call_is_a_400_not_a_500(client, settings, devel):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    fields = "&".join(f"f{number}=x" for number in range(20))

    response = client.post(
        f"/openstack/compute?access_token={devel.token}",
        fields,
        content_type="application/x-www-form-urlencoded",
    )

    assert response.status_code == 400
    assert response.json()["status"] == 400
    assert "DATA_UPLOAD_MAX_NUMBER_FIELDS" in response.json()["message"]


@pytest.mark.django_db
def test_a_body_over_the_size_limit_on_an_api_call_is_a_413(client, settings, devel):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100

    response = client.post(
        f"/openstack/compute?access_token={devel.token}",
        {"stack_name": "x" * 500},
        content_type="application/json",
    )

    assert response.status_code == 413
    assert response.json()["status"] == 413
