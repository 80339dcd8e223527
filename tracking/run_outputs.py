"""Run methods that keep files: artifacts logged and used, and ``run.save``."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from tracking.errors import UsageError
from tracking.files import copy_saved, make_saved_glob, run_files_dir

if TYPE_CHECKING:
    from tracking.artifact import Artifact

logger = logging.getLogger(__name__)


class RunOutputs:
    """Mixed into :class:`tracking.Run`; uses its store, primary key and state."""

    def log_artifact(
        self,
        artifact_or_path: Artifact | str | Path,
        name: str | None = None,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
    ) -> Artifact:
        """Store an artifact, or a file or folder, as a version logged by this run.

        Parameters
        ----------
        artifact_or_path : Artifact, str or path
            A :class:`tracking.Artifact`, or a file or folder to wrap in one.
        name : str, optional
            For a path: the artifact name, ``run-<run id>-<file name>`` by default.
        type : str, optional
            For a path: the artifact type, ``"unspecified"`` by default.
        aliases : list of str, optional
            Aliases for the version besides ``latest``, which it always gets.

        Returns
        -------
        Artifact
            The artifact, now naming its version (``name:v0``, ...). Content
            equal to an existing version of the name reuses that version.
        """
        from tracking.artifact import Artifact
        from tracking.artifact_store import check_aliases

        aliases = check_aliases(aliases)
        artifact = artifact_or_path
        if not isinstance(artifact, Artifact):
            path = Path(artifact_or_path)
            artifact = Artifact(
                name or f"run-{self.id}-{path.name}", type or "unspecified"
            )
            if path.is_dir():
                artifact.add_dir(path)
            else:
                artifact.add_file(path)
        if self._require_store("log_artifact"):
            artifact._save(self._store, self._pk, aliases)
        return artifact

    def use_artifact(
        self,
        artifact_or_name: Artifact | str,
        type: str | None = None,
        aliases: Sequence[str] | None = None,
        use_as: str | None = None,
    ) -> Artifact:
        """Record that this run uses an artifact version, and return it.

        ``artifact_or_name`` is ``"name"`` (the latest version), ``"name:v3"``,
        ``"name:alias"``, optionally prefixed with ``project/``, or an
        :class:`tracking.Artifact` (logged first if it is not yet).

        Raises
        ------
        StoreError
            If the name, version or alias does not exist.
        ValueError
            If ``type`` is given and differs from the artifact's type.
        """
        from tracking import artifact_store
        from tracking.artifact import Artifact

        if self._store is None:
            raise UsageError(
                f"run {self.id!r} is in disabled mode; use_artifact needs a store"
            )
        if isinstance(artifact_or_name, Artifact):
            artifact = artifact_or_name
            if artifact._logged is None:
                self.log_artifact(artifact, aliases=aliases)
            artifact_store.link_input(self._store, self._pk, artifact._logged.pk)
            return artifact

        project, name, selector = artifact_store.parse_reference(artifact_or_name)
        version = artifact_store.resolve(
            self._store, project or self.project, name, selector
        )
        if type is not None and type != version.type:
            raise ValueError(
                f"artifact {artifact_or_name!r} has type {version.type!r}, not {type!r}"
            )
        if not self._finished:
            artifact_store.link_input(self._store, self._pk, version.pk)
        return Artifact._from_version(self._store, version)

    def save(
        self,
        glob_str: str | Path | None = None,
        base_path: str | Path | None = None,
        policy: str = "live",
    ) -> list[str]:
        """Copy files into this run's files folder in the store.

        Parameters
        ----------
        glob_str : str or path
            A file or a glob (``"checkpoints/*.keras"``). Relative paths keep
            their folders below the working directory.
        base_path : str or path, optional
            The folder the kept paths start from.
        policy : {"live", "now", "end"}
            ``"now"`` copies once, ``"end"`` when the run finishes and
            ``"live"`` both now and at the end, so the last contents are kept.

        Returns
        -------
        list of str
            The copies made now.
        """
        if glob_str is None:
            logger.warning("run.save() without a path saves nothing")
            return []
        saved = make_saved_glob(glob_str, base_path, policy)
        if not self._require_store("save"):
            return []
        copied = []
        if policy != "end":
            copied = copy_saved(saved, self._files_dir())
        if policy != "now":
            self._saved.append(saved)
        if not copied and policy != "end":
            logger.warning("run.save(%r) matched no files yet", str(glob_str))
        return [str(path) for path in copied]

    def _files_dir(self) -> Path:
        return run_files_dir(self._store.artifact_root, self._pk)
