"""Content-addressed artifact files: models and datasets that runs store.

Each file is kept once under ``<artifacts>/blobs/<2 hex>/<sha256><suffix>``;
the artifacts table records which files an artifact holds.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from tracking.errors import StoreError
from tracking.store import RunStore

logger = logging.getLogger(__name__)

# Suffixes the store writes; a manifest naming anything else is rejected. Files
# added to a tracking.Artifact are kept without a suffix.
KNOWN_SUFFIXES = (".skops", ".keras", ".joblib", ".parquet", "")
_DIGEST = re.compile(r"^[0-9a-f]{64}$")


def _model_kind(model: Any) -> str:
    module = type(model).__module__
    if module.startswith("keras") or any(
        cls.__module__.startswith("keras") for cls in type(model).__mro__
    ):
        return "keras"
    if hasattr(model, "fit") and hasattr(model, "get_params"):
        return "sklearn"
    raise TypeError(
        f"log_model() stores scikit-learn estimators and Keras models; got "
        f"{type(model).__name__} from {module}"
    )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def blob_path(root: Path, digest: str, suffix: str) -> Path:
    """Return where the blob with ``digest`` lives, refusing malformed entries."""
    if not _DIGEST.match(digest) or suffix not in KNOWN_SUFFIXES:
        raise StoreError(
            f"artifact entry {digest!r}{suffix!r} is malformed; the store may "
            "have been edited by hand"
        )
    return root / "blobs" / digest[:2] / f"{digest}{suffix}"


def _store_file(root: Path, source: Path, suffix: str | None = None) -> dict[str, Any]:
    """Move ``source`` into the blob folder and describe it."""
    digest = _sha256(source)
    suffix = source.suffix if suffix is None else suffix
    target = blob_path(root, digest, suffix)
    target.parent.mkdir(parents=True, exist_ok=True)
    size = source.stat().st_size
    if target.exists():
        source.unlink()
    else:
        os.replace(source, target)
    return {"digest": digest, "suffix": suffix, "size": size}


def store_copy(root: Path, source: Path) -> dict[str, Any]:
    """Copy the file ``source`` into the blob folder and describe it."""
    scratch = root / "tmp"
    scratch.mkdir(parents=True, exist_ok=True)
    handle, copy = tempfile.mkstemp(dir=scratch)
    with os.fdopen(handle, "wb") as target, open(source, "rb") as stream:
        shutil.copyfileobj(stream, target, 1 << 20)
    return _store_file(root, Path(copy), suffix="")


def _save_sklearn(model: Any, folder: Path, stem: str, format: str) -> Path:
    if format == "joblib":
        import joblib

        path = folder / f"{stem}.joblib"
        joblib.dump(model, path)
        return path
    import skops.io

    path = folder / f"{stem}.skops"
    skops.io.dump(model, path)
    return path


def log_model(
    store: RunStore,
    run_pk: int,
    model: Any,
    name: str,
    *,
    preprocessor: Any = None,
    format: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Save ``model`` (and an optional preprocessor) and record the artifact."""
    kind = _model_kind(model)
    if format not in (None, "skops", "joblib", "keras"):
        raise ValueError(f"format must be 'skops', 'joblib' or 'keras', got {format!r}")
    if kind == "keras" and format not in (None, "keras"):
        raise ValueError(f"Keras models are stored as .keras files, not {format!r}")

    with tempfile.TemporaryDirectory(dir=_scratch(store)) as scratch:
        folder = Path(scratch)
        if kind == "keras":
            model_path = folder / "model.keras"
            model.save(model_path)
            file_format = "keras"
        else:
            file_format = format or "skops"
            model_path = _save_sklearn(model, folder, "model", file_format)
        files = {model_path.name: _store_file(store.artifact_root, model_path)}

        if preprocessor is not None:
            path = _save_sklearn(preprocessor, folder, "preprocessor", "skops")
            files[path.name] = _store_file(store.artifact_root, path)

    manifest = {
        "files": files,
        "model_kind": kind,
        "model_class": f"{type(model).__module__}.{type(model).__qualname__}",
        "metadata": dict(metadata or {}),
    }
    _record(store, run_pk, name, "model", file_format, files, manifest)


def log_dataset(
    store: RunStore,
    run_pk: int,
    frame: pd.DataFrame,
    name: str,
    *,
    label: str | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> None:
    """Save ``frame`` as Parquet and record the artifact."""
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"log_dataset() takes a pandas DataFrame, got {type(frame).__name__}"
        )
    if label is not None and label not in frame.columns:
        raise ValueError(
            f"label column {label!r} is not in the frame; columns are "
            f"{list(frame.columns)[:20]}"
        )
    with tempfile.TemporaryDirectory(dir=_scratch(store)) as scratch:
        path = Path(scratch) / "data.parquet"
        frame.to_parquet(path, index=False)
        files = {path.name: _store_file(store.artifact_root, path)}
    manifest = {
        "files": files,
        "label": label,
        "rows": len(frame),
        "columns": [str(column) for column in frame.columns],
        "metadata": dict(metadata or {}),
    }
    _record(store, run_pk, name, "dataset", "parquet", files, manifest)


def _scratch(store: RunStore) -> Path:
    # Scratch files sit on the blobs' file system so os.replace is a rename.
    folder = store.artifact_root / "tmp"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _record(
    store: RunStore,
    run_pk: int,
    name: str,
    type: str,
    format: str,
    files: dict[str, dict[str, Any]],
    manifest: dict[str, Any],
) -> None:
    size = sum(entry["size"] for entry in files.values())
    store.add_artifact(
        run_pk,
        name=name,
        type=type,
        format=format,
        digest=content_digest(files),
        size=size,
        manifest=manifest,
    )
    logger.info("stored %s artifact %r (%d bytes)", type, name, size)


def content_digest(files: Mapping[str, Mapping[str, Any]]) -> str:
    """Return the digest of an artifact: its file names and their contents."""
    lines = "".join(f"{name}:{files[name]['digest']}\n" for name in sorted(files))
    return hashlib.sha256(lines.encode()).hexdigest()


def artifact_files(store: RunStore, manifest: Mapping[str, Any]) -> dict[str, Path]:
    """Return the local path of each file of an artifact, by file name."""
    paths = {}
    for file_name, entry in manifest.get("files", {}).items():
        path = blob_path(store.artifact_root, entry["digest"], entry["suffix"])
        if not path.exists():
            raise StoreError(
                f"artifact file {file_name!r} is missing from {path.parent}; the "
                "artifacts folder may have been moved or deleted"
            )
        paths[file_name] = path
    return paths


def read_dataset(store: RunStore, manifest: Mapping[str, Any]) -> pd.DataFrame:
    """Load a dataset artifact back into a DataFrame."""
    return pd.read_parquet(artifact_files(store, manifest)["data.parquet"])
