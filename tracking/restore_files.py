"""``wandb.restore``: open a file that a run kept with ``run.save``."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import IO

from tracking import _state
from tracking.errors import UsageError
from tracking.files import list_files, run_files_dir
from tracking.store import open_store


def restore(
    name: str,
    run_path: str | None = None,
    replace: bool = False,
    root: str | os.PathLike | None = None,
) -> IO[str]:
    """Return an open text file of ``name``, kept with ``run.save`` by a run.

    Without ``run_path`` the file comes from the current run's folder (for a
    resumed run, what it saved before). With ``run_path``
    (``[entity/]project/run_id``) it comes from that run in the current run's
    store, or the default store when no run is active, and is copied into
    ``root`` (the current run's ``dir``, else the working directory) unless
    a file of that name is already there and ``replace`` is False.

    Raises
    ------
    ValueError
        If the run kept no file ``name``; the message lists the files it kept.
    """
    current = _state.current()
    if run_path is None:
        if current is None or current.store is None:
            raise UsageError(
                "restore() without run_path needs an active run with a store; "
                "call tracking.init() first or pass run_path='project/run_id'"
            )
        return open(_saved_file(current._files_dir(), name, current.path))

    store = current.store if current is not None and current.store else open_store()
    project, run_id = _split_run_path(run_path)
    record = store.run(project, run_id)
    files_dir = run_files_dir(store.artifact_root, record["pk"])
    source = _saved_file(files_dir, name, run_path)
    if root is None:
        root = current.dir if current is not None else "."
    target = Path(root) / name
    if replace or not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.resolve() != source.resolve():
            shutil.copyfile(source, target)
    return open(target)


def _split_run_path(run_path: str) -> tuple[str, str]:
    parts = [part for part in str(run_path).split("/") if part]
    if not 2 <= len(parts) <= 3:
        raise ValueError(
            f"run_path {run_path!r} must be 'project/run_id' or 'entity/project/run_id'"
        )
    return parts[-2], parts[-1]


def _saved_file(files_dir: Path, name: str, run_label: str) -> Path:
    """Return ``files_dir/name``, rejecting names that leave the folder."""
    root = files_dir.resolve()
    source = (root / name).resolve()
    if not source.is_relative_to(root) or not source.is_file():
        kept = ", ".join(list_files(files_dir)) or "none"
        raise ValueError(
            f"file {name!r} not found in run {run_label}; the files it kept with "
            f"run.save are: {kept}"
        )
    return source
