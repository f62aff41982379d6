"""The cloud gateway is the one door to OpenStack: no other module of the portal's apps
imports openstacksdk or keystoneauth."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("accounts", "billing", "compute", "portal")
GATEWAY = ROOT / "compute" / "gateway.py"
CLOUD_PACKAGES = {"openstack", "keystoneauth1"}


def _imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_only_the_gateway_imports_openstack_or_keystoneauth():
    modules = [path for app in APPS for path in sorted((ROOT / app).rglob("*.py"))]
    assert GATEWAY in modules

    importers = {
        str(path.relative_to(ROOT))
        for path in modules
        if _imported_packages(path) & CLOUD_PACKAGES
    }

    assert importers == {"compute/gateway.py"}
