"""Create every table of a Runlens store.

Revision ID: 0001
Revises:
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "runlens_projects",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("name"),
    )
    op.create_table(
        "runlens_reports",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("report_id", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=256), nullable=False),
        sa.Column("blocks", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("report_id"),
    )
    op.create_table(
        "runlens_schema_version",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("written_by", sa.String(length=64), nullable=False),
    )
    op.create_table(
        "runlens_artifact_collections",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_pk"],
            ["runlens_projects.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint(
            "project_pk", "name", name="uq_runlens_artifact_collections_name"
        ),
    )
    op.create_table(
        "runlens_runs",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_pk", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("last_step", sa.BigInteger(), nullable=True),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("group_name", sa.String(length=256), nullable=True),
        sa.Column("job_type", sa.String(length=256), nullable=True),
        sa.Column("sweep_id", sa.String(length=64), nullable=True),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("deleted_at", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["project_pk"],
            ["runlens_projects.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("project_pk", "run_id", name="uq_runlens_runs_project_run"),
    )
    op.create_table(
        "runlens_sweeps",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sweep_id", sa.String(length=64), nullable=False),
        sa.Column("project_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=True),
        sa.Column("method", sa.String(length=16), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("seed", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["project_pk"],
            ["runlens_projects.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint("sweep_id"),
    )
    op.create_table(
        "runlens_artifacts",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=256), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("format", sa.String(length=32), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["collection_pk"],
            ["runlens_artifact_collections.pk"],
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["runlens_runs.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint(
            "collection_pk", "digest", name="uq_runlens_artifacts_collection_digest"
        ),
        sa.UniqueConstraint(
            "collection_pk", "version", name="uq_runlens_artifacts_collection_version"
        ),
    )
    op.create_index(
        "ix_runlens_artifacts_run", "runlens_artifacts", ["run_pk"], unique=False
    )
    op.create_table(
        "runlens_history",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["runlens_runs.pk"],
        ),
    )
    op.create_index(
        "ix_runlens_history_run_key_step",
        "runlens_history",
        ["run_pk", "key", "step"],
        unique=False,
    )
    op.create_table(
        "runlens_history_rollup",
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("level", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("first_step", sa.BigInteger(), nullable=False),
        sa.Column("first_value", sa.Float(), nullable=True),
        sa.Column("first_timestamp", sa.Float(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("last_value", sa.Float(), nullable=True),
        sa.Column("last_timestamp", sa.Float(), nullable=False),
        sa.Column("min_step", sa.BigInteger(), nullable=True),
        sa.Column("min_value", sa.Float(), nullable=True),
        sa.Column("min_timestamp", sa.Float(), nullable=True),
        sa.Column("max_step", sa.BigInteger(), nullable=True),
        sa.Column("max_value", sa.Float(), nullable=True),
        sa.Column("max_timestamp", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["runlens_runs.pk"],
        ),
        sa.PrimaryKeyConstraint("run_pk", "key", "level", "bucket"),
    )
    op.create_table(
        "runlens_media",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=256), nullable=False),
        sa.Column("step", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=32), nullable=False),
        sa.Column("pointer", sa.Text(), nullable=False),
        sa.Column("timestamp", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["runlens_runs.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
    )
    op.create_index(
        "ix_runlens_media_run_key_step",
        "runlens_media",
        ["run_pk", "key", "step"],
        unique=False,
    )
    op.create_table(
        "runlens_sweep_trials",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("sweep_pk", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.String(length=64), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("grid_index", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("stop_requested", sa.String(length=32), nullable=True),
        sa.Column("agent", sa.String(length=256), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.Column("heartbeat_at", sa.Float(), nullable=False),
        sa.Column("finished_at", sa.Float(), nullable=True),
        sa.Column("exit_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["sweep_pk"],
            ["runlens_sweeps.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint(
            "sweep_pk", "grid_index", name="uq_runlens_sweep_trials_grid"
        ),
        sa.UniqueConstraint(
            "sweep_pk", "number", name="uq_runlens_sweep_trials_number"
        ),
        sa.UniqueConstraint("sweep_pk", "run_id", name="uq_runlens_sweep_trials_run"),
    )
    op.create_table(
        "runlens_artifact_aliases",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("collection_pk", sa.Integer(), nullable=False),
        sa.Column("artifact_pk", sa.Integer(), nullable=False),
        sa.Column("alias", sa.String(length=128), nullable=False),
        sa.Column("alias_key", sa.String(length=128), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_pk"],
            ["runlens_artifacts.pk"],
        ),
        sa.ForeignKeyConstraint(
            ["collection_pk"],
            ["runlens_artifact_collections.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint(
            "collection_pk", "alias_key", name="uq_runlens_artifact_aliases_key"
        ),
    )
    op.create_table(
        "runlens_artifact_links",
        sa.Column("pk", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("run_pk", sa.Integer(), nullable=False),
        sa.Column("artifact_pk", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.Float(), nullable=False),
        sa.ForeignKeyConstraint(
            ["artifact_pk"],
            ["runlens_artifacts.pk"],
        ),
        sa.ForeignKeyConstraint(
            ["run_pk"],
            ["runlens_runs.pk"],
        ),
        sa.PrimaryKeyConstraint("pk"),
        sa.UniqueConstraint(
            "run_pk", "artifact_pk", "role", name="uq_runlens_artifact_links_run"
        ),
    )
    op.create_index(
        "ix_runlens_artifact_links_artifact",
        "runlens_artifact_links",
        ["artifact_pk"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index(
        "ix_runlens_artifact_links_artifact", table_name="runlens_artifact_links"
    )
    op.drop_table("runlens_artifact_links")
    op.drop_table("runlens_artifact_aliases")
    op.drop_table("runlens_sweep_trials")
    op.drop_index("ix_runlens_media_run_key_step", table_name="runlens_media")
    op.drop_table("runlens_media")
    op.drop_table("runlens_history_rollup")
    op.drop_index("ix_runlens_history_run_key_step", table_name="runlens_history")
    op.drop_table("runlens_history")
    op.drop_index("ix_runlens_artifacts_run", table_name="runlens_artifacts")
    op.drop_table("runlens_artifacts")
    op.drop_table("runlens_sweeps")
    op.drop_table("runlens_runs")
    op.drop_table("runlens_artifact_collections")
    op.drop_table("runlens_schema_version")
    op.drop_table("runlens_reports")
    op.drop_table("runlens_projects")
