"""Scopes a token may carry: the API's scopes, narrowed to what its client was granted."""

from oauth2_provider.scopes import BaseScopes
from oauth2_provider.settings import oauth2_settings


class ApiClientScopes(BaseScopes):
    """A client asking for no scope gets all of its own; asking for more is refused."""

    def get_all_scopes(self):
        return oauth2_settings.SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs):
        if application is None:
            return list(oauth2_settings.SCOPES)
        return [scope for scope in application.scopes if scope in oauth2_settings.SCOPES]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs):
        return self.get_available_scopes(application, request)
