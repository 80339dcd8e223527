"""Files kept with a run by ``run.save``, under ``<artifacts>/runs/<pk>/files``.

The folder is named by the run's primary key, never by text from users, and
every target path is resolved and checked to stay inside it.
"""

from __future__ import annotations

import glob
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path, PurePath

logger = logging.getLogger(__name__)

POLICIES = ("live", "now", "end")


@dataclass(frozen=True)
class SavedGlob:
    """A ``run.save`` request, copied again when the run finishes unless "now"."""

    pattern: str
    base_path: str
    policy: str


def run_files_dir(root: Path, run_pk: int) -> Path:
    """Return the folder of a run's saved files."""
    return root / "runs" / str(int(run_pk)) / "files"


def make_saved_glob(
    glob_str: str | os.PathLike,
    base_path: str | os.PathLike | None = None,
    policy: str = "live",
) -> SavedGlob:
    """Check a ``run.save`` request and make its paths absolute, as W&B does.

    A relative glob is taken relative to the working directory and keeps its
    folders below it. An absolute glob without ``base_path`` keeps only its
    last folder, with a warning.

    Raises
    ------
    ValueError
        For an unknown policy, a glob outside ``base_path``, a glob equal to
        it, or one whose first part below it is ``*``.
    """
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)}, got {policy!r}")
    text = os.fspath(glob_str)
    pattern = PurePath(os.path.abspath(text))
    if base_path is not None:
        base = PurePath(os.path.abspath(os.fspath(base_path)))
    elif not PurePath(text).is_absolute():
        base = PurePath(os.path.abspath("."))
    else:
        logger.warning(
            "run.save(%r) keeps only the file's last folder; pass base_path to "
            "keep more, e.g. run.save('/mnt/folder/file.h5', base_path='/mnt')",
            text,
        )
        base = pattern.parent.parent

    if not pattern.is_relative_to(base):
        raise ValueError(
            f"run.save() glob {text!r} is outside base_path {str(base)!r}; give a "
            "base_path that contains it"
        )
    if pattern == base:
        raise ValueError(f"run.save() glob {text!r} must name files below base_path")
    if pattern.relative_to(base).parts[0] == "*":
        raise ValueError(
            f"run.save() glob {text!r} may not start with '*' below base_path "
            f"{str(base)!r}; add a folder or name part before the '*'"
        )
    return SavedGlob(str(pattern), str(base), policy)


def copy_saved(saved: SavedGlob, target_root: Path) -> list[Path]:
    """Copy the files that ``saved`` matches into ``target_root``; return targets."""
    target_root.mkdir(parents=True, exist_ok=True)
    root = target_root.resolve()
    base_parts = len(PurePath(saved.base_path).parts)
    copied = []
    for match in sorted(glob.glob(saved.pattern, recursive=True)):
        source = Path(match)
        if not source.is_file():
            continue
        relative = PurePath(*PurePath(os.path.abspath(match)).parts[base_parts:])
        target = (root / relative).resolve()
        if not target.is_relative_to(root) or target == root:
            logger.warning("run.save(): %s would land outside the run folder", match)
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        copied.append(target)
    return copied


def list_files(target_root: Path) -> list[str]:
    """Return the saved files of a run, as sorted relative POSIX paths."""
    if not target_root.is_dir():
        return []
    return sorted(
        path.relative_to(target_root).as_posix()
        for path in target_root.rglob("*")
        if path.is_file()
    )
