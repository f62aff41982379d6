import json
from datetime import UTC, datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts import services
from accounts.models import ApiClient
from billing.models import FlavorPrice
from compute.models import Cloud, Project

DEMO_TENANT = "demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "demo"
DEMO_CLIENT_NAME = "demo-client"
# Hourly prices of cloudsim's flavors, and a default for any other flavor.
DEMO_PRICES = {
    "*": "0.0200",
    "1": "0.0100",
    "2": "0.0400",
    "3": "0.0800",
    "4": "0.1600",
    "5": "0.3200",
}


class Command(BaseCommand):
    help = (
        "Load the local demo (idempotent): tenant 'demo', its owner login demo/demo, the "
        "OpenStack project 'devel' on the cloud 'cloudsim', and an API client whose "
        "credentials are written to var/demo-client.json."
    )

    @transaction.atomic
    def handle(self, *args, **options):
        tenant = services.tenant_create(
            name=DEMO_TENANT, display_name="Demo Hosting Customer", owner_username=DEMO_USERNAME
        )
        owner = get_user_model().objects.get(username=DEMO_USERNAME)
        if not owner.has_usable_password():
            owner.set_password(DEMO_PASSWORD)
            owner.save(update_fields=["password"])

        cloud, _ = Cloud.objects.get_or_create(name="cloudsim", defaults={"region": "RegionOne"})
        Project.objects.get_or_create(tenant=tenant, name="devel", defaults={"cloud": cloud})
        if not FlavorPrice.objects.exists():
            for flavor_id, price in DEMO_PRICES.items():
                FlavorPrice.objects.create(
                    flavor_id=flavor_id,
                    price_per_hour=price,
                    currency=settings.BILLING_CURRENCY,
                    effective_from=datetime(2020, 1, 1, tzinfo=UTC),
                )

        credentials_file = settings.VAR_DIR / "demo-client.json"
        client = ApiClient.objects.filter(tenant=tenant, name=DEMO_CLIENT_NAME).first()
        if client is None:
            client, secret = services.api_client_create(tenant=tenant, name=DEMO_CLIENT_NAME)
        elif not credentials_file.exists():
            secret = services.api_client_rotate_secret(client=client)
        else:
            secret = None

        if secret is not None:
            credentials_file.parent.mkdir(parents=True, exist_ok=True)
            credentials = {"client_id": client.client_id, "client_secret": secret}
            credentials_file.write_text(json.dumps(credentials, indent=2) + "\n")
            credentials_file.chmod(0o600)
        self.stdout.write(
            f"Demo ready: tenant '{tenant.name}', login {DEMO_USERNAME}/{DEMO_PASSWORD}, "
            f"project 'devel', API client credentials in {credentials_file}."
        )
