"""Clouds and the OpenStack projects that tenants are given on them."""

from django.db import models

from accounts.models import Tenant


class Cloud(models.Model):
    """An OpenStack cloud, named as an entry of clouds.yaml; its secrets stay there."""

    name = models.CharField(max_length=100, unique=True, help_text="The clouds.yaml entry.")
    region = models.CharField(max_length=100, blank=True)
    is_active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.region})" if self.region else self.name


class Project(models.Model):
    """An OpenStack project on a cloud, assigned to one tenant."""

    tenant = models.ForeignKey(Tenant, on_delete=models.PROTECT, related_name="projects")
    cloud = models.ForeignKey(Cloud, on_delete=models.PROTECT, related_name="projects")
    openstack_id = models.CharField(max_length=64, blank=True, help_text="Keystone project id.")
    name = models.CharField(max_length=64, help_text="Keystone project name.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["tenant__name", "name"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "name"], name="project_name_per_tenant"),
            models.UniqueConstraint(fields=["cloud", "name"], name="project_name_per_cloud"),
        ]

    def __str__(self) -> str:
        return f"{self.name} on {self.cloud.name}"
