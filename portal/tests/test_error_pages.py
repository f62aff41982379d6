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
