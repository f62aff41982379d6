"""Parsing of the seed's compute requests; these never call the cloud."""

import re

from django.conf import settings
from rest_framework import serializers

TRUE_WORDS = {"true", "yes", "1"}
FALSE_WORDS = {"false", "no", "0"}
# ASCII only: str.isdigit() also takes superscripts, which int() refuses, and Arabic-Indic
# digits, which int() reads as numbers.
DIGITS = re.compile(r"[0-9]{1,6}")


class StrictIntegerField(serializers.Field):
    """An integer given as a JSON number or a string of ASCII digits; 2.5, "2x", "²" and true
    are not. A string has at most six digits, so that no number is too long to read."""

    default_error_messages = {
        "invalid": "Must be a whole number.",
        "min": "Must be at least {limit}.",
        "max": "Must be at most {limit}.",
    }

    def __init__(self, *, min_value: int, max_value, **kwargs):
        self.min_value, self.max_value = min_value, max_value
        super().__init__(**kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int):
            value = data
        elif isinstance(data, str) and DIGITS.fullmatch(data.strip()):
            value = int(data.strip())
        else:
            self.fail("invalid")
        maximum = self.max_value() if callable(self.max_value) else self.max_value
        if value < self.min_value:
            self.fail("min", limit=self.min_value)
        if value > maximum:
            self.fail("max", limit=maximum)
        return value

    def to_representation(self, value):
        return value


class FlagField(serializers.Field):
    """A yes/no answer: true, false, yes, no, 1 or 0 (any case), or a JSON boolean."""

    default_error_messages = {"invalid": "Must be one of true, false, yes, no, 1, 0."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            return data
        if isinstance(data, int) and data in (0, 1):
            return bool(data)
        word = str(data).strip().lower() if isinstance(data, str) else None
        if word in TRUE_WORDS:
            return True
        if word in FALSE_WORDS:
            return False
        self.fail("invalid")

    def to_representation(self, value):
        return value


class StackCreateSerializer(serializers.Serializer):
    user_name = serializers.CharField(max_length=255)
    project_name = serializers.CharField(max_length=64)
    image_id = serializers.CharField(max_length=64)
    flavor_id = serializers.CharField(max_length=64)
    instance_count = StrictIntegerField(
        min_value=1, max_value=lambda: settings.STACK_MAX_INSTANCES_PER_REQUEST
    )
    floating_ip = FlagField()
    callback_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class StackDeleteSerializer(serializers.Serializer):
    project_name = serializers.CharField(max_length=64)
    # No length limit: a name no stack can have is not found, as on the detail endpoint.
    stack_name = serializers.CharField()
    callback_url = serializers.URLField(
        max_length=500, required=False, allow_blank=True, default=""
    )


class ProjectNameSerializer(serializers.Serializer):
    project_name = serializers.CharField(max_length=64)
