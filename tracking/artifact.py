"""``tracking.Artifact``: a versioned set of files that runs log and use.

Build one with :meth:`Artifact.add_file` and :meth:`Artifact.add_dir`, then
``run.log_artifact(artifact)``; ``run.use_artifact("name:latest")`` returns a
logged one, whose :meth:`Artifact.download` copies its files out of the store.
Files are read when the artifact is logged, so later edits to them are not
part of it.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, TYPE_CHECKING, Any

from tracking import artifact_store
from tracking.artifacts import artifact_files, content_digest, store_copy
from tracking.errors import UsageError
from tracking.values import to_json_value

if TYPE_CHECKING:
    from tracking.artifact_store import ArtifactVersion
    from tracking.store import RunStore

logger = logging.getLogger(__name__)

MAX_ENTRY_NAME = 1024


def check_entry_name(name: Any) -> str:
    """Return ``name`` as a relative POSIX path inside an artifact, or raise.

    Rejects absolute paths, ``..`` and ``.`` parts, backslashes and control
    characters, so a stored name can never point outside a download folder.
    """
    if not isinstance(name, str) or not 1 <= len(name) <= MAX_ENTRY_NAME:
        raise ValueError(
            f"artifact file name must be 1 to {MAX_ENTRY_NAME} characters, got "
            f"{name!r:.80}"
        )
    if "\\" in name or any(ord(char) < 32 for char in name):
        raise ValueError(
            f"artifact file name {name!r} must use '/' between folders and hold "
            "no control characters"
        )
    path = PurePosixPath(name)
    if path.is_absolute() or any(part in ("", ".", "..") for part in name.split("/")):
        raise ValueError(
            f"artifact file name {name!r} must be a relative path without '.', "
            "'..' or empty parts"
        )
    return name


@dataclass(frozen=True)
class ArtifactEntry:
    """One file of an artifact: its name inside the artifact, digest and size."""

    path: str
    digest: str | None
    size: int | None
    _artifact: Artifact

    def download(self, root: str | os.PathLike | None = None) -> str:
        """Copy this file into ``root`` (default: the artifact's folder); return it."""
        folder = self._artifact._download_root(root)
        return str(self._artifact._copy_entry(self.path, folder))


class Artifact:
    """A named, typed set of files stored in versions, as ``wandb.Artifact``.

    Parameters
    ----------
    name : str
        Letters, digits, ``_``, ``-`` and ``.``; unique within a project.
    type : str
        Such as ``"dataset"`` or ``"model"``; one name keeps one type.
    description : str, optional
    metadata : dict, optional
        JSON values stored with the version.
    """

    def __init__(
        self,
        name: str,
        type: str,
        description: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        incremental: bool = False,
        use_as: str | None = None,
    ):
        self._name = artifact_store.check_name(name)
        if not isinstance(type, str) or not type or len(type) > 64:
            raise ValueError(f"artifact type must be 1 to 64 characters, got {type!r}")
        self.type = type
        self.description = description
        self.metadata = to_json_value(dict(metadata or {}), "metadata")
        # Files to add: name inside the artifact -> local source path.
        self._sources: dict[str, Path] = {}
        self._scratch: tempfile.TemporaryDirectory | None = None
        self._logged: ArtifactVersion | None = None
        self._store: RunStore | None = None

    @classmethod
    def _from_version(cls, store: RunStore, version: ArtifactVersion) -> Artifact:
        artifact = cls(
            version.name,
            version.type,
            description=version.description,
            metadata=version.manifest.get("metadata"),
        )
        artifact._logged = version
        artifact._store = store
        return artifact

    def __repr__(self) -> str:
        return f"<Artifact {self.name} ({self.type})>"

    # Identity

    @property
    def name(self) -> str:
        """``name:vN`` once logged, else the name given."""
        if self._logged is None:
            return self._name
        return f"{self._name}:{self._logged.version_name}"

    @property
    def source_name(self) -> str:
        return self.name

    @property
    def version(self) -> str | None:
        """``"v0"``, ``"v1"``, ... once logged."""
        return None if self._logged is None else self._logged.version_name

    @property
    def aliases(self) -> list[str]:
        return [] if self._logged is None else list(self._logged.aliases)

    @property
    def digest(self) -> str | None:
        return None if self._logged is None else self._logged.digest

    @property
    def size(self) -> int:
        if self._logged is not None:
            return self._logged.size
        return sum(path.stat().st_size for path in self._sources.values())

    @property
    def qualified_name(self) -> str | None:
        return None if self._logged is None else self._logged.qualified_name

    @property
    def logged_by(self) -> str | None:
        """The id of the run that created this version."""
        return None if self._logged is None else self._logged.run_id

    @property
    def manifest(self) -> dict[str, Any]:
        if self._logged is None:
            return {"files": {name: {} for name in self._sources}}
        return self._logged.manifest

    def wait(self) -> Artifact:
        """Return the artifact: logging is synchronous, so nothing is pending."""
        return self

    # Adding files

    def _require_draft(self, what: str) -> None:
        if self._logged is not None:
            raise UsageError(
                f"artifact {self.name} is logged and cannot change; {what} on a "
                f"new tracking.Artifact({self._name!r}, ...) to make a new version"
            )

    def add_file(
        self,
        local_path: str | os.PathLike,
        name: str | None = None,
        is_tmp: bool = False,
        overwrite: bool = False,
        **_options: Any,
    ) -> ArtifactEntry:
        """Add the file at ``local_path`` under ``name`` (default: its file name)."""
        self._require_draft("call add_file")
        path = Path(local_path)
        if not path.is_file():
            raise ValueError(f"add_file() needs a file; {str(path)!r} is not one")
        entry = check_entry_name(name if name is not None else path.name)
        if entry in self._sources and not overwrite:
            raise ValueError(
                f"artifact {self._name!r} already has a file {entry!r}; pass "
                "overwrite=True to replace it"
            )
        self._sources[entry] = path.resolve()
        return ArtifactEntry(entry, None, path.stat().st_size, self)

    def add_dir(
        self, local_path: str | os.PathLike, name: str | None = None, **_options: Any
    ) -> None:
        """Add every file under the folder ``local_path``, keeping sub-folders.

        ``name`` puts them under that folder inside the artifact.
        """
        self._require_draft("call add_dir")
        folder = Path(local_path)
        if not folder.is_dir():
            raise ValueError(f"add_dir() needs a folder; {str(folder)!r} is not one")
        prefix = f"{check_entry_name(name.strip('/'))}/" if name else ""
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                relative = path.relative_to(folder).as_posix()
                self.add_file(path, name=prefix + relative, overwrite=True)

    @contextlib.contextmanager
    def new_file(
        self, name: str, mode: str = "x", encoding: str | None = None
    ) -> Iterator[IO]:
        """Open a new file that becomes part of the artifact when closed."""
        self._require_draft("call new_file")
        entry = check_entry_name(name)
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="runlens-artifact-")
        path = Path(self._scratch.name) / entry
        path.parent.mkdir(parents=True, exist_ok=True)
        if "b" not in mode and encoding is None:
            encoding = "utf-8"
        with open(path, mode, encoding=encoding) as handle:
            yield handle
        self.add_file(path, name=entry)

    # Logging, called by Run.log_artifact

    def _save(
        self, store: RunStore, run_pk: int, aliases: list[str]
    ) -> ArtifactVersion:
        if self._logged is not None:
            raise UsageError(
                f"artifact {self.name} is already logged; make a new "
                "tracking.Artifact to log a new version"
            )
        if not self._sources:
            raise UsageError(
                f"artifact {self._name!r} has no files; add some with add_file() "
                "or add_dir() before logging it"
            )
        files = {
            name: store_copy(store.artifact_root, source)
            for name, source in sorted(self._sources.items())
        }
        manifest = {"files": files, "metadata": self.metadata}
        self._logged = artifact_store.log_version(
            store,
            run_pk,
            name=self._name,
            type=self.type,
            format="files",
            digest=content_digest(files),
            size=sum(entry["size"] for entry in files.values()),
            manifest=manifest,
            description=self.description,
            aliases=aliases,
        )
        self._store = store
        logger.info(
            "logged artifact %s (%d files, %d bytes)",
            self.name,
            len(files),
            self._logged.size,
        )
        return self._logged

    # Reading a logged artifact

    def _require_logged(self, what: str) -> tuple[RunStore, ArtifactVersion]:
        if self._logged is None or self._store is None:
            raise UsageError(
                f"artifact {self._name!r} is not logged yet; call "
                f"run.log_artifact() before {what}"
            )
        return self._store, self._logged

    def files(self) -> list[ArtifactEntry]:
        """Return the artifact's files."""
        if self._logged is None:
            return [
                ArtifactEntry(name, None, path.stat().st_size, self)
                for name, path in self._sources.items()
            ]
        return [
            ArtifactEntry(name, entry.get("digest"), entry.get("size"), self)
            for name, entry in self._logged.manifest.get("files", {}).items()
        ]

    def get_entry(self, name: str) -> ArtifactEntry:
        """Return the file ``name`` of the artifact."""
        for entry in self.files():
            if entry.path == name:
                return entry
        raise KeyError(
            f"artifact {self.name} has no file {name!r}; it has "
            f"{[entry.path for entry in self.files()][:20]}"
        )

    def get_path(self, name: str) -> ArtifactEntry:
        """Return the file ``name`` of the artifact; call ``.download()`` on it."""
        return self.get_entry(name)

    def download(self, root: str | os.PathLike | None = None, **_options: Any) -> str:
        """Copy every file of the logged artifact into ``root`` and return it.

        The default ``root`` is ``./artifacts/<name>:<version>``, as in W&B.
        """
        folder = self._download_root(root)
        for entry in self.files():
            self._copy_entry(entry.path, folder)
        return str(folder)

    def _download_root(self, root: str | os.PathLike | None) -> Path:
        self._require_logged("download()")
        if root is None:
            root = Path("artifacts") / self.name
        folder = Path(root).resolve()
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def _copy_entry(self, name: str, folder: Path) -> Path:
        store, version = self._require_logged("download()")
        entry = check_entry_name(name)
        target = (folder / entry).resolve()
        if not target.is_relative_to(folder):
            raise UsageError(
                f"artifact file {name!r} would land outside {folder}; not copied"
            )
        single = {"files": {entry: version.manifest["files"][entry]}}
        source = artifact_files(store, single)[entry]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
        return target
