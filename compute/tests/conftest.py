"""Fixtures for stacks: a tenant with a project on cloudsim and an API client with a token."""

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from accounts.tests.factories import ApiClientFactory, TenantFactory, issue_token
from compute.models import Project, Stack


@dataclass
class TenantSetup:
    tenant: object
    project: Project
    client: object
    token: str

    def auth(self) -> dict:
        return {"HTTP_AUTHORIZATION": f"Bearer {self.token}"}


def make_tenant(cloud, *, name: str, project_name: str) -> TenantSetup:
    tenant = TenantFactory(name=name)
    project = Project.objects.create(tenant=tenant, cloud=cloud, name=project_name)
    client = ApiClientFactory(tenant=tenant)
    return TenantSetup(tenant, project, client, issue_token(client))


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.05, what: str = ""):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"Timed out after {timeout} s waiting for {what or predicate}")


def wait_for_stack(name: str, *states: str, timeout: float = 30.0) -> Stack:
    def reached():
        stack = Stack.objects.get(name=name)
        return stack if stack.state in states else None

    return wait_for(reached, timeout=timeout, what=f"stack {name} to be {'/'.join(states)}")


def create_body(**overrides) -> dict:
    body = {
        "user_name": "demo",
        "project_name": "devel",
        "image_id": "",
        "flavor_id": "1",
        "instance_count": "2",
        "floating_ip": "false",
    }
    body.update(overrides)
    return body


def sim_project_state(sim, project: str = "devel") -> dict:
    """The servers, ports and floating IPs cloudsim holds for a project."""
    return sim.control.state()["projects"][project]


def image_id(client, setup, name="cirros") -> str:
    """The id of an image, read from the portal's own catalog endpoint."""
    images = client.get("/openstack/images", {"project_name": "devel"}, **setup.auth())
    return next(i["id"] for i in images.json()["data"]["images"] if i["name"] == name)


def launch(client, setup, **overrides) -> str:
    body = create_body(image_id=image_id(client, setup), **overrides)
    response = client.post("/openstack/compute", body, **setup.auth())
    assert response.status_code == 200, response.json()
    assert response.json()["status"] == 200
    return response.json()["data"]["stack_name"]


def delete(client, setup, stack_name: str):
    return client.delete(
        f"/openstack/delete_instances?project_name=devel&stack_name={stack_name}", **setup.auth()
    )


def failing_callback_receiver():
    """A local callback endpoint that answers 500 to every POST: its URL, and for each POST
    the time it came and its `X-IPAAS-Delivery`. It serves until the test process ends."""
    posts = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            posts.append((time.monotonic(), self.headers["X-IPAAS-Delivery"]))
            self.send_response(500)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hook", posts
