"""Forms of the people-facing account pages: time zone, API clients, members."""

import zoneinfo

from django import forms
from django.conf import settings

from accounts.models import Membership


def _timezone_choices() -> list[tuple[str, str]]:
    names = sorted(zoneinfo.available_timezones() - {"localtime", "Factory"})
    return [(name, name.replace("_", " ")) for name in names]


class TimezoneForm(forms.Form):
    timezone = forms.ChoiceField(choices=_timezone_choices, label="Time zone")


class ApiClientCreateForm(forms.Form):
    name = forms.CharField(max_length=255, help_text="Say what the program is, e.g. ci-robot.")
    scopes = forms.MultipleChoiceField(
        choices=lambda: list(settings.API_SCOPES.items()),
        widget=forms.CheckboxSelectMultiple,
        help_text="What its tokens may do.",
    )


class MemberInviteForm(forms.Form):
    identifier = forms.CharField(max_length=150, label="Username or email")
    role = forms.ChoiceField(choices=Membership.Role.choices, initial=Membership.Role.MEMBER)


class MemberRoleForm(forms.Form):
    role = forms.ChoiceField(choices=Membership.Role.choices)
