"""The launch form: pickers fed from the project's catalog, checked exactly as the API checks.

The fields are parsed by the API's own serializer, so a person and a program get the same
rules and the same words for a bad value; the catalog and quota checks run in the view,
through the same service the API calls.
"""

from django import forms
from django.conf import settings

from compute.models import ProjectCatalog
from compute.serializers import StackCreateSerializer


def _gigabytes(megabytes: int) -> str:
    return f"{megabytes / 1024:g} GB"


def flavor_label(flavor: dict) -> str:
    return (
        f"{flavor['name']} · {flavor['vcpus']} vCPU · {_gigabytes(flavor['ram_mb'])} RAM"
        f" · {flavor['disk_gb']} GB disk"
    )


class StackLaunchForm(forms.Form):
    # The fields are not required here: the serializer says what is missing, in its words,
    # so that a blank field gets one message, not Django's and the API's.
    image_id = forms.CharField(label="Image", widget=forms.Select, required=False)
    flavor_id = forms.CharField(label="Flavor", widget=forms.Select, required=False)
    instance_count = forms.CharField(
        label="Number of servers",
        required=False,
        initial="1",
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
    )
    floating_ip = forms.BooleanField(
        label="Give each server a floating IP", required=False, initial=False
    )
    user_name = forms.CharField(
        label="Launch as OpenStack user",
        widget=forms.Select,
        required=False,
        help_text="A member of the project in Keystone; the servers are made on its behalf.",
    )

    def __init__(self, *args, project_name: str, catalog: ProjectCatalog, **kwargs):
        super().__init__(*args, **kwargs)
        self.project_name = project_name
        images = sorted(catalog.images, key=lambda image: image["name"].lower())
        flavors = sorted(catalog.flavors, key=lambda f: (f["vcpus"], f["ram_mb"], f["name"]))
        self.fields["image_id"].widget.choices = [
            (image["id"], image["name"]) for image in images if image["status"] == "active"
        ]
        self.fields["flavor_id"].widget.choices = [(f["id"], flavor_label(f)) for f in flavors]
        self.fields["user_name"].widget.choices = [(name, name) for name in catalog.member_names]
        self.fields["instance_count"].widget.attrs["max"] = (
            settings.STACK_MAX_INSTANCES_PER_REQUEST
        )
        if catalog.member_names:
            self.fields["user_name"].initial = catalog.member_names[0]
        # A long list is drawn as a list box, which, unlike a drop-down, chooses nothing by
        # itself: start on the first image and the cheapest flavor, as the price box does.
        for name in ("image_id", "flavor_id"):
            choices = self.fields[name].widget.choices
            if choices:
                self.fields[name].initial = choices[0][0]

    def clean(self):
        fields = {name: self.data.get(name, "") for name in StackCreateSerializer().fields}
        fields.update(
            project_name=self.project_name,
            floating_ip="true" if self.cleaned_data.get("floating_ip") else "false",
            callback_url="",
        )
        serializer = StackCreateSerializer(data=fields)
        if not serializer.is_valid():
            for name, problems in serializer.errors.items():
                self.add_error(name if name in self.fields else None, [str(p) for p in problems])
            return self.cleaned_data
        self.cleaned_data.update(serializer.validated_data)
        return self.cleaned_data
