"""Create Neutron's schema from its models; `neutron-db-manage stamp heads` then marks it.

Neutron's alembic migrations speak MySQL only now (`ALTER TABLE ... CONVERT TO CHARACTER
SET`); Neutron's own unit tests build the schema from the models instead, which works on
PostgreSQL. Runs in the real cloud's venv: `python neutron_schema.py <database URL>`.
"""

import sys

from neutron.db.migration.models import head
from sqlalchemy import create_engine

engine = create_engine(sys.argv[1])
head.get_metadata().create_all(engine)
print("neutron schema: %d tables" % len(head.get_metadata().tables))
