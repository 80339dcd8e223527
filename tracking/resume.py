"""Resuming runs: W&B's ``resume=`` modes and what a resumed run reloads.

| ``resume=`` | run id exists        | run id does not exist |
|-------------|----------------------|-----------------------|
| ``"must"``  | resume               | error                 |
| ``"allow"`` | resume               | new run with that id  |
| ``"never"`` | error                | new run with that id  |
| ``"auto"``  | resume               | new run with that id  |

``"auto"`` without an id takes the id from ``<dir>/runlens/wandb-resume.json``,
which the previous ``"auto"`` run of that folder wrote and which is deleted
when a run finishes with exit code 0. ``True`` means ``"auto"`` and ``False``
no resuming (both deprecated in W&B). ``WANDB_RESUME`` sets the mode when the
argument is left out.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from tracking import schema
from tracking.errors import StoreError, UsageError
from tracking.store import RunStore

logger = logging.getLogger(__name__)

MODES = ("allow", "must", "never", "auto")
RESUME_ENV = "WANDB_RESUME"
RESUME_FILE = "wandb-resume.json"


def resolve_mode(resume: bool | str | None) -> str | None:
    """Return the resume mode, or None for a new run that must not exist yet."""
    if resume is None:
        resume = os.environ.get(RESUME_ENV) or None
    if resume is None or resume is False:
        return None
    if resume is True:
        logger.warning("resume=True is deprecated; use resume='auto'")
        return "auto"
    if resume not in MODES:
        raise ValueError(
            f"resume must be one of {', '.join(MODES)} or a bool; got {resume!r}"
        )
    return resume


def resume_file(folder: str | os.PathLike | None) -> Path:
    """Return the file that keeps the id of the last ``"auto"`` run of a folder."""
    return Path(folder if folder is not None else os.getcwd()) / "runlens" / RESUME_FILE


def read_resume_id(folder: str | os.PathLike | None) -> str | None:
    """Return the run id in the folder's resume file, or None."""
    path = resume_file(folder)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        logger.warning("ignoring unreadable resume file %s: %s", path, exc)
        return None
    run_id = data.get("run_id") if isinstance(data, dict) else None
    return run_id if isinstance(run_id, str) else None


def write_resume_file(folder: str | os.PathLike | None, run_id: str) -> Path:
    path = resume_file(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"run_id": run_id}), encoding="utf-8")
    return path


def find_run(store: RunStore, project: str, run_id: str) -> dict[str, Any] | None:
    """Return a run's record, or None if the project has no run with that id."""
    try:
        return store.run(project, run_id)
    except StoreError as exc:
        if "not found" in str(exc):
            return None
        raise


def check_resume(
    mode: str | None, run_id: str, project: str, record: dict[str, Any] | None
) -> bool:
    """Return whether to resume ``record``; raise when the mode forbids the case."""
    if mode == "must" and record is None:
        raise UsageError(
            f"resume='must' but run {run_id!r} does not exist in project "
            f"{project!r}; check the id and project, or pass resume='allow' to "
            "start it"
        )
    if mode == "never" and record is not None:
        raise UsageError(
            f"run {run_id!r} already exists in project {project!r} and "
            "resume='never'; choose another id, or pass resume='allow' to "
            "continue it"
        )
    if record is None or mode in (None, "never"):
        return False
    if record["state"] == "running":
        logger.warning(
            "resuming run %s although it still reads as running; if another "
            "process is logging to it, their steps will interleave",
            run_id,
        )
    return True


def history_aggregates(
    store: RunStore, run_pk: int, keys: list[str] | None = None
) -> dict[str, tuple[float, float, float, float, float, int]]:
    """Return ``(first, last, min, max, sum, count)`` of each key in a run's history.

    Grouped queries, so a resumed run's ``define_metric`` summaries keep
    counting from where they were without reading every row into Python.
    NaN (stored as NULL) makes min, max and sum NaN, as it does while logging.
    """
    # NOTE: booleans are stored as 0.0 and 1.0, so here they count towards
    # min, max and mean, which they do not while logging.
    history = schema.history
    if keys is None:
        conditions = [history.c.run_pk == run_pk]
    else:
        conditions = [
            and_(
                history.c.run_pk == run_pk, history.c.key.in_(keys[start : start + 900])
            )
            for start in range(0, len(keys), 900)
        ]
    result = {}
    with store.engine.connect() as conn:
        for condition in conditions:
            result.update(_aggregate(conn, condition))
    return result


def _aggregate(conn: Any, condition: Any) -> dict[str, tuple]:
    history = schema.history
    grouped = (
        select(
            history.c.key,
            func.min(history.c.step).label("first_step"),
            func.max(history.c.step).label("last_step"),
            func.min(history.c.value).label("low"),
            func.max(history.c.value).label("high"),
            func.sum(history.c.value).label("total"),
            func.count().label("count"),
            func.count(history.c.value).label("numbers"),
        )
        .where(condition)
        .group_by(history.c.key)
        .subquery()
    )
    ends = (
        select(history.c.key, history.c.step, history.c.value)
        .select_from(
            history.join(
                grouped,
                and_(
                    history.c.key == grouped.c.key,
                    history.c.step.in_([grouped.c.first_step, grouped.c.last_step]),
                ),
            )
        )
        .where(condition)
    )
    groups = conn.execute(select(grouped)).mappings().all()
    values = {(row.key, row.step): row.value for row in conn.execute(ends)}

    nan = float("nan")
    result = {}
    for row in groups:
        first = values.get((row["key"], row["first_step"]))
        last = values.get((row["key"], row["last_step"]))
        has_nan = row["numbers"] < row["count"]
        result[row["key"]] = (
            nan if first is None else first,
            nan if last is None else last,
            nan if has_nan else row["low"],
            nan if has_nan else row["high"],
            nan if has_nan else float(row["total"]),
            int(row["count"]),
        )
    return result
