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
    # JSON: {metric name or glob: its define_metric settings}, e.g. step_metric.
    Column("metrics", Text, nullable=False, default="{}"),
    # Set when the run is deleted from the app; NULL for a live run. A deleted
    # run can be restored until it is purged.
    Column("deleted_at", Float),
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

# Histograms, images and tables logged in history rows. The file sits under the
# artifacts folder; the pointer is the JSON that history rows and the summary
# show for the key at that step.
media = Table(
    "runlens_media",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runlens_runs.pk"), nullable=False),
    Column("key", String(256), nullable=False),
    Column("step", BigInteger, nullable=False),
    # histogram, image-file or table-file, as the pointer's "_type".
    Column("type", String(32), nullable=False),
    Column("pointer", Text, nullable=False),
    Column("timestamp", Float, nullable=False),
)
Index("ix_runlens_media_run_key_step", media.c.run_pk, media.c.key, media.c.step)

# An artifact name within a project; its versions are rows of runlens_artifacts.
artifact_collections = Table(
    "runlens_artifact_collections",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("project_pk", Integer, ForeignKey("runlens_projects.pk"), nullable=False),
    Column("name", String(128), nullable=False),
    Column("type", String(64), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("project_pk", "name", name="uq_runlens_artifact_collections_name"),
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
    # One row is one version (v0, v1, ...) of a collection; run_pk is the run
    # that created it. Logging unchanged content again reuses the row.
    Column(
        "collection_pk",
        Integer,
        ForeignKey("runlens_artifact_collections.pk"),
        nullable=False,
    ),
    Column("version", Integer, nullable=False),
    Column("description", Text),
    UniqueConstraint(
        "collection_pk", "version", name="uq_runlens_artifacts_collection_version"
    ),
    UniqueConstraint(
        "collection_pk", "digest", name="uq_runlens_artifacts_collection_digest"
    ),
)
Index("ix_runlens_artifacts_run", artifacts.c.run_pk)

# Aliases point at one version each; "latest" is kept on the newest version.
artifact_aliases = Table(
    "runlens_artifact_aliases",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column(
        "collection_pk",
        Integer,
        ForeignKey("runlens_artifact_collections.pk"),
        nullable=False,
    ),
    Column("artifact_pk", Integer, ForeignKey("runlens_artifacts.pk"), nullable=False),
    Column("alias", String(128), nullable=False),
    # The alias lower-cased: two aliases of a collection may not differ only in case.
    Column("alias_key", String(128), nullable=False),
    UniqueConstraint(
        "collection_pk", "alias_key", name="uq_runlens_artifact_aliases_key"
    ),
)

# Links between runs and the artifact versions they logged ("output") or used
# ("input").
artifact_links = Table(
    "runlens_artifact_links",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("run_pk", Integer, ForeignKey("runlens_runs.pk"), nullable=False),
    Column("artifact_pk", Integer, ForeignKey("runlens_artifacts.pk"), nullable=False),
    Column("role", String(8), nullable=False),
    Column("created_at", Float, nullable=False),
    UniqueConstraint(
        "run_pk", "artifact_pk", "role", name="uq_runlens_artifact_links_run"
    ),
)
Index("ix_runlens_artifact_links_artifact", artifact_links.c.artifact_pk)

# A sweep: its checked config and state (running, paused, stopped, cancelled or
# finished).
sweeps = Table(
    "runlens_sweeps",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("sweep_id", String(64), nullable=False, unique=True),
    Column("project_pk", Integer, ForeignKey("runlens_projects.pk"), nullable=False),
    Column("name", String(256)),
    Column("method", String(16), nullable=False),
    Column("state", String(16), nullable=False),
    # JSON: the sweep config as given, numbers read from exponent strings.
    Column("config", Text, nullable=False),
    # Seeds random draws, bayes and randomized grids, so trials can be replayed.
    Column("seed", BigInteger, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)

# One row per trial an agent claimed. A grid combination is one grid_index,
# unique within its sweep, so no two agents can claim it.
sweep_trials = Table(
    "runlens_sweep_trials",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("sweep_pk", Integer, ForeignKey("runlens_sweeps.pk"), nullable=False),
    Column("number", Integer, nullable=False),
    Column("run_id", String(64), nullable=False),
    # JSON: {dotted parameter name: value}.
    Column("params", Text, nullable=False),
    Column("grid_index", BigInteger),
    # pending, running, finished, failed, stopped, killed or crashed.
    Column("state", String(16), nullable=False),
    # Set to "hyperband" or "cancel" when the trial has to stop.
    Column("stop_requested", String(32)),
    Column("agent", String(256), nullable=False),
    Column("created_at", Float, nullable=False),
    Column("heartbeat_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("exit_code", Integer),
    Column("error", Text),
    UniqueConstraint("sweep_pk", "number", name="uq_runlens_sweep_trials_number"),
    UniqueConstraint("sweep_pk", "run_id", name="uq_runlens_sweep_trials_run"),
    UniqueConstraint("sweep_pk", "grid_index", name="uq_runlens_sweep_trials_grid"),
)

# Downsampled history: one row per (run, key, bucket of 2**level steps) with
# the bucket's first, last, min and max points. Only buckets that a later step
# has closed are stored, so a row never changes once written.
history_rollup = Table(
    "runlens_history_rollup",
    metadata,
    Column("run_pk", Integer, ForeignKey("runlens_runs.pk"), primary_key=True),
    Column("key", String(256), primary_key=True),
    Column("level", Integer, primary_key=True),
    Column("bucket", BigInteger, primary_key=True),
    Column("count", Integer, nullable=False),
    Column("first_step", BigInteger, nullable=False),
    Column("first_value", Float),
    Column("first_timestamp", Float, nullable=False),
    Column("last_step", BigInteger, nullable=False),
    Column("last_value", Float),
    Column("last_timestamp", Float, nullable=False),
    # The min and max columns are NULL when every value in the bucket is NaN.
    Column("min_step", BigInteger),
    Column("min_value", Float),
    Column("min_timestamp", Float),
    Column("max_step", BigInteger),
    Column("max_value", Float),
    Column("max_timestamp", Float),
)

# A report: a title and a JSON list of Markdown, chart and run table blocks.
reports = Table(
    "runlens_reports",
    metadata,
    Column("pk", Integer, primary_key=True, autoincrement=True),
    Column("report_id", String(64), nullable=False, unique=True),
    Column("title", String(256), nullable=False),
    Column("blocks", Text, nullable=False, default="[]"),
    Column("created_at", Float, nullable=False),
    Column("updated_at", Float, nullable=False),
)
