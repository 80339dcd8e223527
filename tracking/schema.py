"""Tables of a Runlens store, described once for SQLite and PostgreSQL."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

# Bump on every change to the tables below and teach open_store to upgrade.
SCHEMA_VERSION = 1

# Every table carries this prefix so that a shared PostgreSQL database can
# hold other tools' tables beside ours.
metadata = MetaData()

schema_version = Table(
    "runlens_schema_version",
    metadata,
    Column("version", Integer, nullable=False),
    Column("written_by", String(64), nullable=False),
)

projects = Table(
    "runlens_projects",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
)

runs = Table(
    "runlens_runs",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("project_pk", Integer, ForeignKey("runlens_projects.pk"), nullable=False),
    Column("run_id", String(64), nullable=False),
    Column("name", String(256), nullable=False),
    Column("state", String(16), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("exit_code", Integer),
    Column("last_step", BigInteger),
    Column("config", Text, nullable=False, default="{}"),
    Column("summary", Text, nullable=False, default="{}"),
    Column("tags", Text, nullable=False, default="[]"),
    Column("notes", Text),
    Column("group_name", String(256)),
    Column("job_type", String(256)),
    Column("sweep_id", String(64)),
    UniqueConstraint("project_pk", "run_id", name="uq_runlens_runs_project_run"),
)

# One row per logged value: long format keeps any number of keys per step.
history = Table(
    "runlens_history",
    metadata,
    Column("run_pk", Integer, ForeignKey("runlens_runs.pk"), nullable=False),
    Column("key", String(256), nullable=False),
    Column("step", BigInteger, nullable=False),
    # NULL is NaN (SQLite cannot store NaN); infinities are stored as they are.
    Column("value", Float),
    Column("timestamp", Float, nullable=False),
)
Index(
    "ix_runlens_history_run_key_step", history.c.run_pk, history.c.key, history.c.step
)

artifacts = Table(
    "runlens_artifacts",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runlens_runs.pk"), nullable=False),
    Column("name", String(256), nullable=False),
    Column("type", String(64), nullable=False),
    Column("format", String(32), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    # JSON: {"files": {file name: {"digest": ..., "size": ...}}, ...}
    Column("manifest", Text, nullable=False),
    Column("created_at", Float, nullable=False),
)
Index("ix_runlens_artifacts_run", artifacts.c.run_pk)
