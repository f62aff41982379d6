import json

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.models import Tenant


class Command(BaseCommand):
    help = "Create an API client for a tenant and print its id and secret, once."

    def add_arguments(self, parser):
        parser.add_argument("tenant", help="The tenant's name.")
        parser.add_argument("--name", required=True, help="What the client is for.")
        parser.add_argument(
            "--scope",
            action="append",
            choices=sorted(settings.API_SCOPES),
            help="Repeat for several; all scopes when omitted.",
        )
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")

    def handle(self, *args, tenant, name, scope, json: bool = False, **options):
        try:
            tenant_obj = Tenant.objects.get(name=tenant)
        except Tenant.DoesNotExist as error:
            raise CommandError(f"No tenant named {tenant!r}.") from error
        client, secret = services.api_client_create(tenant=tenant_obj, name=name, scopes=scope)
        self._print(client, secret, as_json=json)

    def _print(self, client, secret, *, as_json: bool) -> None:
        if as_json:
            payload = {
                "tenant": client.tenant.name,
                "name": client.name,
                "client_id": client.client_id,
                "client_secret": secret,
                "scope": client.scope,
            }
            self.stdout.write(json.dumps(payload))
            return
        self.stdout.write(f"client_id:     {client.client_id}")
        self.stdout.write(f"client_secret: {secret}")
        self.stdout.write(f"scope:         {client.scope}")
        self.stdout.write("The secret is shown only now; store it safely.")
