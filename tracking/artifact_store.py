"""Artifact versions and aliases in the store, and the runs that log and use them.

An artifact name belongs to a project and has one type. Logging content
whose digest matches a version of that name reuses the version; other
content becomes the next version (v0, v1, ...). The logged version always
gets the ``latest`` alias, with any aliases given. An alias names one version
of a name at a time, so adding it to a version moves it there.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, select
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from tracking import schema
from tracking.errors import StoreError
from tracking.values import dumps, loads

if TYPE_CHECKING:
    from tracking.store import RunStore

logger = logging.getLogger(__name__)

LATEST = "latest"
OUTPUT = "output"
INPUT = "input"
MAX_NAME = 128
MAX_ALIAS = 128
_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")
_VERSION = re.compile(r"^v(\d+)$")
# Concurrent writers on PostgreSQL can collide on a new version number or an
# alias; the loser retries its whole transaction.
_RETRIES = 5


@dataclass(frozen=True)
class ArtifactVersion:
    """One stored version of an artifact."""

    pk: int
    project: str
    name: str
    type: str
    version: int
    digest: str
    size: int
    format: str
    manifest: dict[str, Any]
    description: str | None
    created_at: float
    run_id: str
    aliases: tuple[str, ...]

    @property
    def version_name(self) -> str:
        return f"v{self.version}"

    @property
    def qualified_name(self) -> str:
        return f"{self.project}/{self.name}:v{self.version}"


def check_name(name: Any) -> str:
    """Return ``name`` if it is a valid artifact name, else raise ValueError."""
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_NAME:
        raise ValueError(
            f"artifact name must be a string of 1 to {MAX_NAME} characters, "
            f"got {name!r}"
        )
    if not _NAME.match(name):
        raise ValueError(
            f"artifact name {name!r} may contain only letters, digits, '_', '-' and '.'"
        )
    return name


def check_aliases(aliases: Iterable[str] | str | None) -> list[str]:
    """Validate user aliases and return them without duplicates.

    Aliases are 1 to 128 characters without ``/`` or ``:``. Version aliases
    (``v`` followed by digits) are managed by the store, so given ones are
    dropped with a warning, as W&B ignores them.
    """
    if aliases is None:
        return []
    if isinstance(aliases, str):
        aliases = [aliases]
    result: list[str] = []
    for alias in aliases:
        if not isinstance(alias, str) or not 1 <= len(alias) <= MAX_ALIAS:
            raise ValueError(
                f"artifact alias must be a string of 1 to {MAX_ALIAS} characters, "
                f"got {alias!r}"
            )
        if "/" in alias or ":" in alias:
            raise ValueError(f"artifact alias {alias!r} must not contain '/' or ':'")
        if _VERSION.match(alias):
            logger.warning(
                "artifact alias %r ignored: version aliases are given by the store",
                alias,
            )
            continue
        if alias.lower() not in {item.lower() for item in result}:
            result.append(alias)
    return result


def sort_aliases(aliases: Iterable[str]) -> list[str]:
    """Return aliases with ``latest`` first and the others in alphabetical order."""
    return sorted(aliases, key=lambda alias: (alias != LATEST, alias))


def parse_reference(reference: str) -> tuple[str | None, str, str]:
    """Split ``[entity/][project/]name[:version or alias]`` into its parts.

    Returns ``(project or None, name, version or alias)``. The version or
    alias defaults to ``latest``.
    """
    path, _, selector = reference.partition(":")
    parts = path.split("/")
    if len(parts) > 3 or not all(parts):
        raise ValueError(
            f"artifact reference {reference!r} must look like 'name:alias', "
            "'project/name:v3' or 'entity/project/name:latest'"
        )
    project = parts[-2] if len(parts) >= 2 else None
    return project, check_name(parts[-1]), selector or LATEST


def log_version(
    store: RunStore,
    run_pk: int,
    *,
    name: str,
    type: str,
    format: str,
    digest: str,
    size: int,
    manifest: dict[str, Any],
    description: str | None = None,
    aliases: Sequence[str] = (),
) -> ArtifactVersion:
    """Record content logged by a run as a version of ``name`` and return it.

    Raises
    ------
    StoreError
        If ``name`` already exists in the project with another type.
    """
    check_name(name)
    requested = [
        LATEST,
        *(alias for alias in check_aliases(aliases) if alias != LATEST),
    ]
    for attempt in range(_RETRIES):
        try:
            with store.write() as conn, conn.begin():
                artifact_pk = _log_version(
                    conn,
                    run_pk,
                    name=name,
                    type=type,
                    format=format,
                    digest=digest,
                    size=size,
                    manifest=manifest,
                    description=description,
                    aliases=requested,
                )
            break
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise
            logger.info("artifact %r: concurrent write, retrying", name)
    return get_version(store, artifact_pk)


def _log_version(
    conn: Connection,
    run_pk: int,
    *,
    name: str,
    type: str,
    format: str,
    digest: str,
    size: int,
    manifest: dict[str, Any],
    description: str | None,
    aliases: list[str],
) -> int:
    runs, collections, versions = (
        schema.runs,
        schema.artifact_collections,
        schema.artifacts,
    )
    now = time.time()
    project_pk = conn.execute(
        select(runs.c.project_pk).where(runs.c.pk == run_pk)
    ).scalar_one()

    find = (
        select(collections.c.pk, collections.c.type)
        .where(collections.c.project_pk == project_pk)
        .where(collections.c.name == name)
    )
    if conn.dialect.name == "postgresql":
        # Lock the collection row so that concurrent logs of one name take
        # version numbers in turn (SQLite's BEGIN IMMEDIATE already does).
        from sqlalchemy.dialects.postgresql import insert

        conn.execute(
            insert(collections)
            .values(project_pk=project_pk, name=name, type=type, created_at=now)
            .on_conflict_do_nothing(index_elements=["project_pk", "name"])
        )
        find = find.with_for_update()
    collection = conn.execute(find).first()
    if collection is None:
        collection_pk = conn.execute(
            collections.insert().values(
                project_pk=project_pk, name=name, type=type, created_at=now
            )
        ).inserted_primary_key[0]
    elif collection.type != type:
        raise StoreError(
            f"artifact {name!r} already exists in this project with type "
            f"{collection.type!r}; log it with that type or choose another name"
        )
    else:
        collection_pk = collection.pk

    artifact_pk = conn.execute(
        select(versions.c.pk)
        .where(versions.c.collection_pk == collection_pk)
        .where(versions.c.digest == digest)
    ).scalar()
    if artifact_pk is None:
        latest = conn.execute(
            select(func.max(versions.c.version)).where(
                versions.c.collection_pk == collection_pk
            )
        ).scalar()
        artifact_pk = conn.execute(
            versions.insert().values(
                run_pk=run_pk,
                name=name,
                type=type,
                format=format,
                digest=digest,
                size=size,
                manifest=dumps(manifest),
                created_at=now,
                collection_pk=collection_pk,
                version=0 if latest is None else latest + 1,
                description=description,
            )
        ).inserted_primary_key[0]

    _link(conn, run_pk, artifact_pk, OUTPUT)
    for alias in aliases:
        _set_alias(conn, collection_pk, artifact_pk, alias)
    return artifact_pk


def _set_alias(conn: Connection, collection_pk: int, artifact_pk: int, alias: str):
    table = schema.artifact_aliases
    conn.execute(
        delete(table)
        .where(table.c.collection_pk == collection_pk)
        .where(table.c.alias_key == alias.lower())
    )
    conn.execute(
        table.insert().values(
            collection_pk=collection_pk,
            artifact_pk=artifact_pk,
            alias=alias,
            alias_key=alias.lower(),
        )
    )


def _link(conn: Connection, run_pk: int, artifact_pk: int, role: str) -> None:
    table = schema.artifact_links
    found = conn.execute(
        select(table.c.pk)
        .where(table.c.run_pk == run_pk)
        .where(table.c.artifact_pk == artifact_pk)
        .where(table.c.role == role)
    ).first()
    if found is None:
        conn.execute(
            table.insert().values(
                run_pk=run_pk,
                artifact_pk=artifact_pk,
                role=role,
                created_at=time.time(),
            )
        )


def link_input(store: RunStore, run_pk: int, artifact_pk: int) -> None:
    """Record that a run used an artifact version."""
    for attempt in range(_RETRIES):
        try:
            with store.write() as conn, conn.begin():
                _link(conn, run_pk, artifact_pk, INPUT)
            return
        except IntegrityError:
            if attempt == _RETRIES - 1:
                raise


def _version_query():
    versions, collections = schema.artifacts, schema.artifact_collections
    return select(
        versions,
        schema.projects.c.name.label("project"),
        schema.runs.c.run_id.label("creator_run_id"),
    ).select_from(
        versions.join(collections, versions.c.collection_pk == collections.c.pk)
        .join(schema.projects, collections.c.project_pk == schema.projects.c.pk)
        .join(schema.runs, versions.c.run_pk == schema.runs.c.pk)
    )


def _versions(conn: Connection, query: Any) -> list[ArtifactVersion]:
    rows = conn.execute(query).mappings().all()
    pks = [row["pk"] for row in rows]
    aliases: dict[int, list[str]] = {pk: [] for pk in pks}
    table = schema.artifact_aliases
    for start in range(0, len(pks), 900):
        found = conn.execute(
            select(table.c.artifact_pk, table.c.alias)
            .where(table.c.artifact_pk.in_(pks[start : start + 900]))
            .order_by(table.c.pk)
        ).all()
        for artifact_pk, alias in found:
            aliases[artifact_pk].append(alias)
    return [
        ArtifactVersion(
            pk=row["pk"],
            project=row["project"],
            name=row["name"],
            type=row["type"],
            version=row["version"],
            digest=row["digest"],
            size=row["size"],
            format=row["format"],
            manifest=loads(row["manifest"]),
            description=row["description"],
            created_at=row["created_at"],
            run_id=row["creator_run_id"],
            aliases=tuple(sort_aliases(aliases[row["pk"]])),
        )
        for row in rows
    ]


def get_version(store: RunStore, artifact_pk: int) -> ArtifactVersion:
    """Return the version with primary key ``artifact_pk``."""
    query = _version_query().where(schema.artifacts.c.pk == artifact_pk)
    with store.engine.connect() as conn:
        found = _versions(conn, query)
    if not found:
        raise StoreError(f"artifact version {artifact_pk} not found")
    return found[0]


def resolve(
    store: RunStore, project: str, name: str, selector: str = LATEST
) -> ArtifactVersion:
    """Return the version of ``name`` that ``selector`` (``vN`` or an alias) names.

    Raises
    ------
    StoreError
        If the project has no such artifact, version or alias.
    """
    versions, collections = schema.artifacts, schema.artifact_collections
    query = (
        _version_query()
        .where(schema.projects.c.name == project)
        .where(collections.c.name == name)
    )
    number = _VERSION.match(selector)
    if number:
        query = query.where(versions.c.version == int(number.group(1)))
    else:
        aliases = schema.artifact_aliases
        query = query.where(
            versions.c.pk.in_(
                select(aliases.c.artifact_pk).where(aliases.c.alias == selector)
            )
        )
    with store.engine.connect() as conn:
        found = _versions(conn, query)
    if found:
        return found[0]
    known = [f"v{item.version}" for item in list_versions(store, project, name)]
    if not known:
        raise StoreError(
            f"artifact {name!r} not found in project {project!r}; log it first "
            "or check the name and project"
        )
    raise StoreError(
        f"artifact {name!r} in project {project!r} has no version or alias "
        f"{selector!r}; it has versions {', '.join(known)}"
    )


def list_versions(
    store: RunStore, project: str, name: str | None = None, type: str | None = None
) -> list[ArtifactVersion]:
    """Return the versions in a project, oldest first, of one name or type."""
    versions = schema.artifacts
    query = _version_query().where(schema.projects.c.name == project)
    if name is not None:
        query = query.where(versions.c.name == name)
    if type is not None:
        query = query.where(versions.c.type == type)
    query = query.order_by(versions.c.collection_pk, versions.c.version)
    with store.engine.connect() as conn:
        return _versions(conn, query)


def run_versions(
    store: RunStore, run_pk: int, role: str = OUTPUT
) -> list[ArtifactVersion]:
    """Return the versions a run logged (``"output"``) or used (``"input"``)."""
    links = schema.artifact_links
    query = (
        _version_query()
        .where(
            schema.artifacts.c.pk.in_(
                select(links.c.artifact_pk)
                .where(links.c.run_pk == run_pk)
                .where(links.c.role == role)
            )
        )
        .order_by(schema.artifacts.c.created_at)
    )
    with store.engine.connect() as conn:
        return _versions(conn, query)
