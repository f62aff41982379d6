from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in

        from accounts.access import person_timezone_restore

        user_logged_in.connect(person_timezone_restore, dispatch_uid="person_timezone_restore")
