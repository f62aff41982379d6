"""A WSGI entry point for gunicorn in front of any of the cloud's API services.

oslo.config parses `sys.argv` when Keystone, Glance, Placement, Nova or Neutron builds its
application, and would choke on gunicorn's own arguments: clear them, then import the
module named by `REALCLOUD_WSGI_MODULE` and expose its `application`.
"""

import importlib
import os
import sys

sys.argv = sys.argv[:1]
application = importlib.import_module(os.environ["REALCLOUD_WSGI_MODULE"]).application
