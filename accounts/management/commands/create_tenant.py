from django.core.management.base import BaseCommand

from accounts import services


class Command(BaseCommand):
    help = "Create a tenant (idempotent), optionally with an owner login."

    def add_arguments(self, parser):
        parser.add_argument("name", help="Short unique name, e.g. acme.")
        parser.add_argument("--display-name", default="")
        parser.add_argument("--owner", metavar="USERNAME", help="Make this user the owner.")

    def handle(self, *args, name, display_name, owner, **options):
        tenant = services.tenant_create(name=name, display_name=display_name, owner_username=owner)
        self.stdout.write(f"Tenant {tenant.name} (id {tenant.pk}) is ready.")
