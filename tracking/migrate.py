"""Schema migrations of a store with Alembic, in Runlens's own version table.

:class:`tracking.RunStore` calls :func:`upgrade` when it opens a store, on a
connection inside the transaction that holds the schema lock (``BEGIN
IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL). Many processes that
open a new store at once therefore create its tables once: the first one
migrates, and the others wait for the lock and find the store at the head
revision.
"""

from __future__ import annotations

import logging
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect
from sqlalchemy.engine import Connection

from tracking import schema
from tracking.errors import StoreError

logger = logging.getLogger(__name__)

VERSION_TABLE = "runlens_alembic_version"
SCRIPT_LOCATION = Path(__file__).resolve().parent / "migrations"


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an Alembic config for the Runlens revisions, built in code."""
    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def include_runlens_tables(name: str | None, kind: str, _parent: object) -> bool:
    """Alembic ``include_name`` hook: compare only Runlens's own tables.

    Other tools' tables in a shared database, and the version table that
    Alembic writes itself, are left out.
    """
    if kind != "table" or name is None:
        return True
    return name.startswith("runlens_") and name != VERSION_TABLE


def head_revision() -> str:
    """Return the newest revision among this Runlens's migration scripts."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def current_revision(connection: Connection) -> str | None:
    """Return the store's revision, or None when it has no version table."""
    context = MigrationContext.configure(
        connection, opts={"version_table": VERSION_TABLE}
    )
    return context.get_current_revision()


def upgrade(connection: Connection, store_name: str) -> None:
    """Bring a store's tables to the head revision on ``connection``.

    The caller holds the schema lock and commits. A store whose version table
    names a revision this Runlens does not know was written by a newer one.

    Raises
    ------
    StoreError
        Naming the store's revision and the newest one known here.
    """
    config = alembic_config(connection)
    script = ScriptDirectory.from_config(config)
    head = script.get_current_head()
    current = current_revision(connection)
    if current == head:
        return
    if current is not None and current not in _known_revisions(script):
        raise StoreError(
            f"store {store_name!r} is at schema revision {current!r}, written by "
            f"a newer Runlens; this Runlens has revisions up to {head!r}. "
            "Upgrade Runlens to open it."
        )
    if current is None and _has_runlens_tables(connection):
        _stamp_matching_store(config, connection, store_name)
        return
    logger.info("migrating store %s from %s to %s", store_name, current, head)
    command.upgrade(config, "head")


def _known_revisions(script: ScriptDirectory) -> set[str]:
    return {revision.revision for revision in script.walk_revisions()}


def _has_runlens_tables(connection: Connection) -> bool:
    return any(
        name.startswith("runlens_") for name in inspect(connection).get_table_names()
    )


def _stamp_matching_store(config: Config, connection: Connection, store_name: str):
    """Record the head revision in a store made before migrations, if it matches.

    A development build of Runlens created tables without Alembic. When its
    tables and columns equal the head revision's, the store is stamped at
    head. Otherwise it is left unchanged, because creating or altering tables
    around an unknown layout could fail half-way.

    Raises
    ------
    StoreError
        Listing the first differences.
    """
    context = MigrationContext.configure(
        connection,
        opts={
            "include_name": include_runlens_tables,
        },
    )
    differences = compare_metadata(context, schema.metadata)
    if differences:
        listed = "; ".join(_describe(difference) for difference in differences[:4])
        raise StoreError(
            f"store {store_name!r} has Runlens tables but no {VERSION_TABLE} "
            f"table, and they differ from this Runlens's schema ({listed}). It "
            "was made by a development build before schema migrations and "
            "cannot be upgraded; open it with that build to export what you "
            "need, or choose a new store location."
        )
    logger.info("recording the head revision in %s, made before migrations", store_name)
    command.stamp(config, "head")


def _describe(difference: tuple | list) -> str:
    """Return an Alembic autogenerate difference as "add_column table.column"."""
    if isinstance(difference, list):
        # Changes to one column come as a list of tuples.
        difference = difference[0]
    names = []
    for part in difference[1:]:
        name = part if isinstance(part, str) else getattr(part, "name", None)
        if name:
            names.append(str(name))
    return f"{difference[0]} {'.'.join(names[:2])}"
