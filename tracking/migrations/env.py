"""Alembic environment for a Runlens store.

Runlens runs migrations itself (see :mod:`tracking.migrate`) on a connection
that already holds its schema lock inside an open transaction, and passes that
connection in ``config.attributes["connection"]``. The revisions are recorded
in ``runlens_alembic_version``, so other tools' Alembic tables in a shared
PostgreSQL database are never read or changed.
"""

from __future__ import annotations

from alembic import context

from tracking.migrate import VERSION_TABLE

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "Runlens migrations run through tracking.migrate, which opens the store "
        "and its lock; open the store with tracking.open_store() instead of "
        "calling the alembic command line"
    )

context.configure(connection=connection, version_table=VERSION_TABLE)
with context.begin_transaction():
    context.run_migrations()
