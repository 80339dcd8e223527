"""Alembic revisions of the Runlens store schema; run by :mod:`tracking.migrate`."""
