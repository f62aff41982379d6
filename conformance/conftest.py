"""Conformance: each test runs once on cloudsim and once on the real OpenStack.

The `cloud` fixture is parametrized over both. The real cloud's cases carry the `openstack`
marker and are deselected (never skipped) unless `REALCLOUD_CLOUDS_YAML` names the clouds.yaml
that `make realcloud-up` wrote; `make test-openstack` sets it. The session ends with
"conformance: N of M cases agree on cloudsim and the real cloud" (a case agrees when it
passed on both) and a line for each case that does not.
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path

import pytest
import yaml

from compute.gateway import forget_connections
from compute.tests.conftest import make_tenant
from conformance.clouds import (
    CLOUD_SETTINGS,
    CLOUDSIM,
    OPENSTACK,
    REALCLOUD_ENV,
    TENANT_PROJECT,
    CloudUnderTest,
)

# The clouds.yaml entries the portal's Cloud rows name: each the cloud's admin account,
# which holds a role in devel.
CLOUD_ENTRIES = {CLOUDSIM: "cloudsim", OPENSTACK: "realcloud-admin"}

# nodeid without the cloud -> {cloud: outcome}, for the closing agreement count.
_outcomes: dict[str, dict[str, str]] = defaultdict(dict)


def _realcloud_yaml() -> Path | None:
    value = os.environ.get(REALCLOUD_ENV)
    return Path(value) if value else None


def pytest_collection_modifyitems(config, items):
    if _realcloud_yaml() is not None:
        return
    # Without the real cloud its cases are deselected, so that nothing reads as skipped.
    deselected = [item for item in items if item.get_closest_marker(OPENSTACK)]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if not item.get_closest_marker(OPENSTACK)]


def _case_and_cloud(item) -> tuple[str, str] | None:
    callspec = getattr(item, "callspec", None)
    if callspec is None or "cloud" not in callspec.params:
        return None
    kind = callspec.params["cloud"]
    others = [part for part in callspec.id.split("-") if part != kind]
    case = item.nodeid.split("[")[0] + (f"[{'-'.join(others)}]" if others else "")
    return case, kind


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    found = _case_and_cloud(item)
    if found is None:
        return
    case, kind = found
    # A case passed on a cloud when its setup, call and teardown all passed.
    if report.failed or report.skipped:
        _outcomes[case][kind] = report.outcome
    elif report.when == "call" or (report.when == "teardown" and kind not in _outcomes[case]):
        _outcomes[case].setdefault(kind, "passed")


def pytest_terminal_summary(terminalreporter):
    if not _outcomes:
        return
    write = terminalreporter.write_line
    if _realcloud_yaml() is None:
        passed = sum(1 for by_cloud in _outcomes.values() if by_cloud.get(CLOUDSIM) == "passed")
        write(
            f"conformance: {passed} of {len(_outcomes)} cases passed on cloudsim; the real "
            "cloud's runs were deselected (make test-openstack runs them)"
        )
        return
    # A case agrees when it passed on both clouds; any other pair of outcomes is named.
    agree = [
        case
        for case, by_cloud in _outcomes.items()
        if by_cloud.get(CLOUDSIM) == "passed" and by_cloud.get(OPENSTACK) == "passed"
    ]
    write(
        f"conformance: {len(agree)} of {len(_outcomes)} cases agree on cloudsim and the real "
        "cloud",
        bold=True,
    )
    for case, by_cloud in _outcomes.items():
        if case not in agree:
            outcomes = ", ".join(
                f"{kind} {by_cloud.get(kind, 'deselected')}" for kind in (CLOUDSIM, OPENSTACK)
            )
            write(f"conformance: does not agree: {case} ({outcomes})")


@pytest.fixture(scope="session")
def conformance_clouds_yaml(cloudsim_server, tmp_path_factory) -> Path:
    """One clouds.yaml with cloudsim's entries and, when it is up, the real cloud's."""
    clouds = dict(cloudsim_server.clouds_config()["clouds"])
    real = _realcloud_yaml()
    if real is not None:
        if not real.exists():
            raise pytest.UsageError(
                f"{REALCLOUD_ENV}={real} does not exist: start the cloud with make realcloud-up"
            )
        clouds.update(yaml.safe_load(real.read_text())["clouds"])
    path = tmp_path_factory.mktemp("conformance") / "clouds.yaml"
    path.write_text(yaml.safe_dump({"clouds": clouds}, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(
    params=[CLOUDSIM, pytest.param(OPENSTACK, marks=pytest.mark.openstack)],
)
def cloud(request, cloudsim_server, conformance_clouds_yaml, settings, monkeypatch):
    """The cloud of this run of the case, reset as seeded, with the portal's settings for it."""
    kind = request.param
    monkeypatch.setenv("OS_CLIENT_CONFIG_FILE", str(conformance_clouds_yaml))
    for name, value in CLOUD_SETTINGS[kind].items():
        setattr(settings, name, value)
    under_test = CloudUnderTest(
        kind=kind,
        cloud_name=CLOUD_ENTRIES[kind],
        sim=cloudsim_server if kind == CLOUDSIM else None,
        settings=CLOUD_SETTINGS[kind],
    )
    under_test.reset()
    yield under_test
    # Leave the cloud as the next case expects it, whatever this one left behind.
    under_test.reset()
    forget_connections()


@pytest.fixture
def portal_cloud_row(cloud, transactional_db):
    """The portal's Cloud row for the cloud under test, with its networks."""
    from compute.models import Cloud

    return Cloud.objects.create(
        name=cloud.cloud_name,
        region="RegionOne",
        network_name="private",
        floating_network_name="public",
    )


@pytest.fixture
def tenant(portal_cloud_row):
    """Tenant `acme` owning project `devel` on the cloud under test, with an API token."""
    return make_tenant(portal_cloud_row, name="acme", project_name=TENANT_PROJECT)
