"""W&B calls that scripts make besides init/log: login, models, restore, media."""

from __future__ import annotations

import io
import logging
import os
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile

import tracking


def test_login_returns_true(sqlite_store, caplog):
    with caplog.at_level(logging.INFO, logger="tracking.session"):
        assert tracking.login() is True
        assert caplog.records == []
        assert tracking.login(key="secret-key", relogin=True, host="h") is True
    assert len(caplog.records) == 1
    assert "secret-key" not in caplog.text
    assert "ignored" in caplog.text


def test_init_accepts_settings(sqlite_store):
    settings = tracking.Settings(start_method="thread", unknown_option=3)
    run = tracking.init(project="compat", settings=settings)
    assert run.project == "compat"
    run.finish()


def test_run_path_entity_url(sqlite_store, monkeypatch):
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    monkeypatch.delenv("RUNLENS_APP_URL", raising=False)
    run = tracking.init(project="compat proj", id="abc123")
    assert run.entity == "local"
    assert run.path == "local/compat proj/abc123"
    assert run.url == "http://localhost:8501/Runs?project=compat+proj&run=abc123"
    assert run.project_name() == "compat proj"
    assert tracking.Api().run(run.path).id == "abc123"
    run.finish()

    monkeypatch.setenv("RUNLENS_APP_URL", "http://127.0.0.1:9000/")
    run = tracking.init(project="p", id="r2", entity="team")
    assert run.path == "team/p/r2"
    assert run.url == "http://127.0.0.1:9000/Runs?project=p&run=r2"
    run.finish()


def test_run_dir_is_save_folder(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("notes.txt").write_text("kept")
    run = tracking.init(project="compat")
    assert os.path.isdir(run.dir)
    run.save("notes.txt", policy="now")
    assert (Path(run.dir) / "notes.txt").read_text() == "kept"
    assert tracking.Api().run(run.path).files() == ["notes.txt"]
    run.finish()


def test_run_dir_disabled_is_temporary(tmp_path):
    run = tracking.init(project="compat", mode="disabled")
    assert os.path.isdir(run.dir)
    assert run.dir == run.dir
    run.finish()


def test_log_model_path_stores_bytes(sqlite_store, tmp_path):
    source = tmp_path / "model.pt"
    source.write_bytes(bytes(range(256)) * 10)
    run = tracking.init(project="compat", id="run1")
    run.log_model(path=str(source), name="clf", aliases=["best"])
    run.log_model(source)
    run.finish()

    api = tracking.Api()
    named = api.artifact("compat/clf:best")
    assert named.type == "model"
    assert named.version == "v0"
    stored = Path(named.download(tmp_path / "a")) / "model.pt"
    assert stored.read_bytes() == source.read_bytes()
    default = api.artifact("compat/run-run1-model.pt:latest")
    assert default.type == "model"


def test_log_model_folder_and_use_model(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "saved"
    folder.mkdir()
    (folder / "weights.bin").write_bytes(b"\x00\x01\x02")
    (folder / "config.json").write_text('{"layers": 2}')
    single = tmp_path / "single.pt"
    single.write_bytes(b"weights")
    writer = tracking.init(project="compat")
    tracking.log_model(folder, name="bundle")
    tracking.log_model(single, name="one", aliases=["prod"])
    writer.finish()

    reader = tracking.init(project="compat")
    bundle = tracking.use_model("bundle:latest")
    assert sorted(os.listdir(bundle)) == ["config.json", "weights.bin"]
    assert Path(bundle, "weights.bin").read_bytes() == b"\x00\x01\x02"
    one = reader.use_model("one:prod")
    assert os.path.basename(one) == "single.pt"
    assert Path(one).read_bytes() == b"weights"
    reader.finish()
    used = [
        artifact.name for artifact in tracking.Api().run(reader.path).used_artifacts()
    ]
    assert sorted(used) == ["bundle:v0", "one:v0"]


def test_use_model_rejects_other_type(sqlite_store, tmp_path):
    data = tmp_path / "data.csv"
    data.write_text("a\n1\n")
    run = tracking.init(project="compat")
    run.log_artifact(data, name="data", type="dataset")
    with pytest.raises(ValueError, match="has type 'dataset'"):
        run.use_model("data:latest")
    run.finish()


def test_log_model_object_still_works(sqlite_store):
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    run = tracking.init(project="compat")
    run.log_model(model)
    run.finish()
    artifacts = tracking.open_store().artifacts("compat", run.id)
    assert artifacts["name"].tolist() == ["model"]
    assert artifacts["type"].tolist() == ["model"]


def test_restore_current_run(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("ckpt").mkdir()
    Path("ckpt/state.txt").write_text("epoch 3")
    run = tracking.init(project="compat", id="res1")
    run.save("ckpt/state.txt", policy="now")
    with tracking.restore("ckpt/state.txt") as handle:
        assert handle.read() == "epoch 3"
    with pytest.raises(ValueError, match="ckpt/state.txt"):
        tracking.restore("missing.txt")
    with pytest.raises(ValueError, match="not found"):
        tracking.restore("../../../etc/passwd")
    run.finish()


def test_restore_from_run_path(sqlite_store, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("model.h5").write_bytes(b"abc")
    run = tracking.init(project="compat", id="old")
    run.save("model.h5")
    run.finish()
    os.remove("model.h5")

    handle = tracking.restore("model.h5", run_path="compat/old", root=tmp_path / "out")
    with handle:
        assert handle.read() == "abc"
    assert handle.name == str(tmp_path / "out" / "model.h5")

    new_run = tracking.init(project="compat")
    with tracking.restore("model.h5", run_path="local/compat/old") as handle:
        assert handle.read() == "abc"
    assert Path(new_run.dir, "model.h5").read_bytes() == b"abc"
    new_run.finish()


def test_alert_kept_in_summary(sqlite_store, caplog):
    run = tracking.init(project="compat")
    with caplog.at_level(logging.WARNING, logger="tracking.run"):
        tracking.alert("Low accuracy", "accuracy 0.2 below 0.5", level="warn")
    run.alert("Done", "training finished")
    with pytest.raises(ValueError, match="'LOUD'"):
        run.alert("x", "y", level="loud")
    run.finish()
    assert "Low accuracy" in caplog.text
    alerts = tracking.open_store().run("compat", run.id)["summary"]["alerts"]
    assert [a["title"] for a in alerts] == ["Low accuracy", "Done"]
    assert [a["level"] for a in alerts] == ["WARN", "INFO"]
    assert alerts[0]["text"] == "accuracy 0.2 below 0.5"


def test_watch_warns_once(sqlite_store, caplog, monkeypatch):
    from tracking import watch_models

    monkeypatch.setattr(watch_models, "_warned", False)
    run = tracking.init(project="compat")
    with caplog.at_level(logging.WARNING, logger="tracking.watch_models"):
        assert tracking.watch(object(), log="all", log_freq=10) is None
        tracking.watch(object())
        tracking.unwatch()
    assert len(caplog.records) == 1
    assert "gradients" in caplog.text
    run.finish()


def test_html_stored_text(sqlite_store, tmp_path):
    markup = "<h1>Report</h1><p>accuracy 0.91 é</p>"
    page = tmp_path / "page.html"
    page.write_text("<p>from file</p>", encoding="utf-8")
    run = tracking.init(project="compat")
    run.log({"report": tracking.Html(markup)})
    run.log({"report": tracking.Html(io.StringIO("<b>stream</b>"))})
    run.log({"page": tracking.Html(str(page))})
    run.finish()

    api_run = tracking.Api().run(run.path)
    pointer = api_run.summary["report"]
    assert pointer["_type"] == "html-file"
    assert Path(api_run.files_dir(), pointer["path"]).read_text() == "<b>stream</b>"
    page_pointer = api_run.summary["page"]
    stored = Path(api_run.files_dir(), page_pointer["path"]).read_text()
    assert stored == "<p>from file</p>"
    kept = [name for name in api_run.files() if name.endswith(".html")]
    assert len(kept) == 3
    texts = {Path(api_run.files_dir(), name).read_text("utf-8") for name in kept}
    assert markup in texts


def test_audio_samples_and_file(sqlite_store, tmp_path):
    samples = (np.sin(np.linspace(0, 100, 800)) * 3000).astype(np.int16)
    clip = tmp_path / "clip.mp3"
    clip.write_bytes(b"ID3fake-mp3")
    run = tracking.init(project="compat")
    run.log({"tone": tracking.Audio(samples, sample_rate=8000, caption="sine")})
    run.log({"clip": tracking.Audio(clip)})
    run.finish()

    api_run = tracking.Api().run(run.path)
    tone = api_run.summary["tone"]
    assert tone["_type"] == "audio-file"
    assert tone["caption"] == "sine"
    rate, read = wavfile.read(Path(api_run.files_dir(), tone["path"]))
    assert rate == 8000
    np.testing.assert_array_equal(read, samples)
    clip_path = Path(api_run.files_dir(), api_run.summary["clip"]["path"])
    assert clip_path.suffix == ".mp3"
    assert clip_path.read_bytes() == b"ID3fake-mp3"


def test_audio_video_bad_input(tmp_path):
    with pytest.raises(ValueError, match="sample_rate"):
        tracking.Audio(np.zeros(10))
    with pytest.raises(ValueError, match=r"clip\.txt"):
        tracking.Audio(str(tmp_path / "clip.txt"))
    with pytest.raises(FileNotFoundError, match="missing.mp4"):
        tracking.Video(tmp_path / "missing.mp4")
    with pytest.raises(TypeError, match="Video takes the path"):
        tracking.Video(np.zeros((2, 3, 8, 8)))


def test_video_file_stored(sqlite_store, tmp_path):
    movie = tmp_path / "rollout.gif"
    movie.write_bytes(b"GIF89a-frames")
    run = tracking.init(project="compat")
    run.log({"rollout": tracking.Video(movie, caption="episode 1")})
    run.finish()
    api_run = tracking.Api().run(run.path)
    pointer = api_run.summary["rollout"]
    assert pointer["_type"] == "video-file"
    assert pointer["size"] == len(b"GIF89a-frames")
    assert Path(api_run.files_dir(), pointer["path"]).read_bytes() == b"GIF89a-frames"
