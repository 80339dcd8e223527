"""Artifact versions and aliases: logging, reuse by checksum, use and download."""

from __future__ import annotations

import logging
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import tracking
from tracking import StoreError, artifact_store
from tracking.artifact import check_entry_name


def _dataset(folder: Path, text: str) -> tracking.Artifact:
    (folder / "data.csv").write_text(text)
    artifact = tracking.Artifact("data", type="dataset", metadata={"rows": 2})
    artifact.add_file(folder / "data.csv")
    return artifact


def test_versions_and_latest(store_location, tmp_path):
    run = tracking.init(project="arts")
    first = run.log_artifact(_dataset(tmp_path, "a,b\n1,2\n"))
    assert first.name == "data:v0"
    assert first.version == "v0"
    assert first.aliases == ["latest"]

    second = run.log_artifact(_dataset(tmp_path, "a,b\n1,3\n"), aliases=["best"])
    assert second.version == "v1"
    assert second.aliases == ["latest", "best"]

    same = run.log_artifact(_dataset(tmp_path, "a,b\n1,3\n"))
    assert same.version == "v1"
    run.finish()

    versions = artifact_store.list_versions(tracking.open_store(), "arts", "data")
    assert [(v.version, v.aliases) for v in versions] == [
        (0, ()),
        (1, ("latest", "best")),
    ]


def test_use_artifact_by_version_alias_and_name(store_location, tmp_path):
    with tracking.init(project="arts") as producer:
        producer.log_artifact(_dataset(tmp_path, "v0"), aliases=["first"])
        producer.log_artifact(_dataset(tmp_path, "v1"))
        producer.log_artifact(_dataset(tmp_path, "v2"), aliases=["first"])

    with tracking.init(project="arts") as consumer:
        cases = {
            "data": "v2",
            "data:latest": "v2",
            "data:v0": "v0",
            "data:v1": "v1",
            "data:first": "v2",
            "arts/data:v1": "v1",
            "entity/arts/data:v0": "v0",
        }
        for reference, content in cases.items():
            artifact = consumer.use_artifact(reference, type="dataset")
            folder = artifact.download(tmp_path / "out" / reference.replace("/", "_"))
            assert (Path(folder) / "data.csv").read_text() == content, reference
        with pytest.raises(ValueError, match="has type 'dataset', not 'model'"):
            consumer.use_artifact("data:v0", type="model")

    used = tracking.Api().run(f"arts/{consumer.id}").used_artifacts()
    assert sorted(artifact.version for artifact in used) == ["v0", "v1", "v2"]
    logged = tracking.Api().run(f"arts/{producer.id}").logged_artifacts()
    assert [artifact.version for artifact in logged] == ["v0", "v1", "v2"]


def test_missing_version_or_alias_named(store_location, tmp_path):
    with tracking.init(project="arts") as run:
        run.log_artifact(_dataset(tmp_path, "x"))
        with pytest.raises(StoreError, match="no version or alias 'v7'.*versions v0"):
            run.use_artifact("data:v7")
        with pytest.raises(StoreError, match="no version or alias 'gold'"):
            run.use_artifact("data:gold")
        with pytest.raises(StoreError, match="'other' not found in project 'arts'"):
            run.use_artifact("other:latest")


@pytest.mark.parametrize(
    ("aliases", "message"),
    [
        (["a/b"], "must not contain"),
        (["a:b"], "must not contain"),
        ([""], "1 to 128"),
        (["x" * 129], "1 to 128"),
        ([3], "1 to 128"),
    ],
)
def test_invalid_aliases_rejected(sqlite_store, tmp_path, aliases, message):
    with tracking.init(project="arts") as run:
        with pytest.raises(ValueError, match=message):
            run.log_artifact(_dataset(tmp_path, "x"), aliases=aliases)


def test_version_aliases_ignored_and_long_alias_kept(sqlite_store, tmp_path, caplog):
    with tracking.init(project="arts") as run:
        with caplog.at_level(logging.WARNING):
            artifact = run.log_artifact(
                _dataset(tmp_path, "x"), aliases=["v3", "x" * 128, "X" * 128]
            )
    assert artifact.aliases == ["latest", "x" * 128]
    assert "'v3' ignored" in caplog.text


def test_alias_moves_between_versions(store_location, tmp_path):
    with tracking.init(project="arts") as run:
        run.log_artifact(_dataset(tmp_path, "a"), aliases=["prod"])
        run.log_artifact(_dataset(tmp_path, "b"))
        assert run.use_artifact("data:prod").version == "v0"
        run.log_artifact(_dataset(tmp_path, "c"), aliases=["PROD"])
        assert run.use_artifact("data:PROD").version == "v2"
        with pytest.raises(StoreError, match="no version or alias 'prod'"):
            run.use_artifact("data:prod")


def test_name_keeps_one_type(sqlite_store, tmp_path):
    with tracking.init(project="arts") as run:
        run.log_artifact(_dataset(tmp_path, "a"))
        other = tracking.Artifact("data", type="model")
        other.add_file(tmp_path / "data.csv")
        with pytest.raises(
            StoreError, match="already exists in this project with type"
        ):
            run.log_artifact(other)


def test_log_artifact_from_paths(store_location, tmp_path):
    (tmp_path / "folder" / "sub").mkdir(parents=True)
    (tmp_path / "folder" / "a.txt").write_text("a")
    (tmp_path / "folder" / "sub" / "b.txt").write_text("b")
    (tmp_path / "single.txt").write_text("s")
    with tracking.init(project="arts", id="p1") as run:
        folder = run.log_artifact(tmp_path / "folder")
        single = run.log_artifact(str(tmp_path / "single.txt"), name="one", type="text")
    assert folder.name == "run-p1-folder:v0"
    assert folder.type == "unspecified"
    assert sorted(entry.path for entry in folder.files()) == ["a.txt", "sub/b.txt"]
    assert single.name == "one:v0"

    artifact = tracking.Api().artifact("arts/run-p1-folder:latest")
    target = artifact.get_path("sub/b.txt").download(tmp_path / "dl")
    assert Path(target).read_text() == "b"
    assert Path(target) == (tmp_path / "dl" / "sub" / "b.txt").resolve()


def test_add_dir_with_prefix_and_new_file(sqlite_store, tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x.bin").write_bytes(b"\x00\x01")
    artifact = tracking.Artifact("bundle", type="misc", description="two files")
    artifact.add_dir(tmp_path / "d", name="inputs")
    with artifact.new_file("notes/readme.md") as handle:
        handle.write("hello")
    with tracking.init(project="arts") as run:
        run.log_artifact(artifact)
    loaded = tracking.Api().artifact("arts/bundle:v0")
    assert loaded.description == "two files"
    assert sorted(entry.path for entry in loaded.files()) == [
        "inputs/x.bin",
        "notes/readme.md",
    ]
    folder = Path(loaded.download(tmp_path / "out"))
    assert (folder / "inputs" / "x.bin").read_bytes() == b"\x00\x01"
    assert (folder / "notes" / "readme.md").read_text() == "hello"


@pytest.mark.parametrize(
    "name", ["../x", "/etc/passwd", "a/../../b", "a\\b", "a//b", ".", "a/./b", ""]
)
def test_entry_names_cannot_escape(name):
    with pytest.raises(ValueError):
        check_entry_name(name)


def test_invalid_artifact_names_rejected():
    for name in ("a:b", "a/b", "", "x" * 129, "with space"):
        with pytest.raises(ValueError, match="artifact name"):
            tracking.Artifact(name, type="dataset")


def test_logged_artifact_is_frozen(sqlite_store, tmp_path):
    with tracking.init(project="arts") as run:
        artifact = run.log_artifact(_dataset(tmp_path, "x"))
        with pytest.raises(tracking.UsageError, match="cannot change"):
            artifact.add_file(tmp_path / "data.csv", name="again.csv")
        with pytest.raises(tracking.UsageError, match="already logged"):
            run.log_artifact(artifact)
        with pytest.raises(tracking.UsageError, match="has no files"):
            run.log_artifact(tracking.Artifact("empty", type="x"))


def test_log_model_and_dataset_are_versioned(store_location):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "label": rng.integers(0, 2, 40)})
    runs = []
    for strength in (1.0, 0.01):
        model = LogisticRegression(C=strength).fit(frame[["x"]], frame["label"])
        with tracking.init(project="models") as run:
            run.log_model(model, "clf")
            run.log_dataset(frame, "train", label="label")
        runs.append(run)

    store = tracking.open_store()
    versions = artifact_store.list_versions(store, "models", "clf")
    assert [v.version for v in versions] == [0, 1]
    assert versions[1].aliases == ("latest",)
    assert [
        v.version for v in artifact_store.list_versions(store, "models", "train")
    ] == [0]

    first, second = (store.artifacts("models", run.id) for run in runs)
    assert first.set_index("name").loc["clf", "version"] == 0
    assert second.set_index("name").loc["clf", "version"] == 1
    assert (
        first.set_index("name").loc["train", "artifact_pk"]
        == second.set_index("name").loc["train", "artifact_pk"]
    )
    assert len(store.artifacts("models")) == 4

    model = tracking.Api().artifact("models/clf:v0", type="model")
    assert [entry.path for entry in model.files()] == ["model.skops"]


def test_concurrent_logs_get_distinct_versions(store_location):
    store = tracking.open_store()
    with tracking.init(project="race") as run:
        run_pk = run.store.run("race", run.id)["pk"]
        errors = []

        def log(index: int) -> None:
            try:
                artifact_store.log_version(
                    store,
                    run_pk,
                    name="shared",
                    type="dataset",
                    format="files",
                    digest=f"{index:064x}",
                    size=1,
                    manifest={"files": {}},
                )
            except Exception as exc:  # noqa: BLE001 - collected for the assert
                errors.append(exc)

        threads = [threading.Thread(target=log, args=(i,)) for i in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    versions = artifact_store.list_versions(store, "race", "shared")
    assert sorted(v.version for v in versions) == list(range(8))
    assert sum("latest" in v.aliases for v in versions) == 1


def test_api_artifact_versions_listing(sqlite_store, tmp_path):
    with tracking.init(project="arts") as run:
        run.log_artifact(_dataset(tmp_path, "a"))
        run.log_artifact(_dataset(tmp_path, "b"))
    api = tracking.Api()
    versions = api.artifacts("dataset", "arts/data")
    assert [artifact.version for artifact in versions] == ["v0", "v1"]
    assert versions[0].metadata == {"rows": 2}
    assert versions[1].logged_by == run.id
    with pytest.raises(tracking.UsageError, match="needs a project"):
        api.artifact("data:latest")
    assert tracking.Api(overrides={"project": "arts"}).artifact("data").version == "v1"
