"""cloudsim: an OpenStack API simulator (Keystone v3, Nova, Glance and Neutron subsets)
served over real HTTP, so that the real openstacksdk and `openstack` client can use it.

It is the local cloud of `make run`, the cloud of the test suite and the place where
faults are injected. It depends on nothing in the portal.
"""

__version__ = "0.1.0"
