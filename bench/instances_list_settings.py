"""Settings of `bench/instances_list.py`: the portal's own, plus a bare view to compare with.

Everything else (database, debug, log level) comes from the environment the bench sets, as
for the portal itself.
"""

from portal.settings import *  # noqa: F403 - the portal's settings, changed only below

ROOT_URLCONF = "bench.instances_list_urls"

# The bench makes one API client, whose secret is hashed on save; PBKDF2's million rounds
# would only slow the set-up. No request the bench times hashes anything.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
