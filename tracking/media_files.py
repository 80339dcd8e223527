"""HTML, audio and video that ``run.log`` keeps as files in the run's folder.

Unlike histograms, images and tables, these are not in the store's media
table: each is written once to ``<run files>/media/<sha256><suffix>`` and
replaced in the history row and the summary by a pointer such as
``{"_type": "html-file", "path": "media/ab12....html", ...}``. The path is
relative to the run's files folder, so ``Api().run(path).files()`` lists it
and ``tracking.restore(path)`` reads it.
"""

from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path
from typing import Any

import numpy as np

from tracking.media import Media

AUDIO_FORMATS = (".wav", ".mp3", ".ogg", ".flac")
VIDEO_FORMATS = (".gif", ".mp4", ".webm", ".ogg")


class RunFileMedia(Media):
    """Media kept in the run's files folder; subclasses set ``TYPE``."""

    suffix = ""
    caption: str | None = None

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        raise NotImplementedError

    def _write(self, files_dir: Path) -> dict[str, Any]:
        """Write the file under ``files_dir/media`` and return its pointer."""
        data, extra = self._encode()
        digest = hashlib.sha256(data).hexdigest()
        relative = f"media/{digest}{self.suffix}"
        target = files_dir / relative
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        pointer = {"_type": self.TYPE, "path": relative, "sha256": digest}
        pointer["size"] = len(data)
        if self.caption is not None:
            pointer["caption"] = self.caption
        return {**pointer, **extra}


class Html(RunFileMedia):
    """An HTML document: markup text, a path to a ``.html`` file, or a text stream.

    ``inject`` is accepted for W&B compatibility; the text is stored as given.
    """

    TYPE = "html-file"
    suffix = ".html"

    def __init__(self, data: str | os.PathLike | io.TextIOBase, inject: bool = True):
        if hasattr(data, "read"):
            self.html = data.read()
        elif isinstance(data, os.PathLike) or (
            isinstance(data, str) and data.lower().endswith((".html", ".htm"))
        ):
            self.html = Path(data).read_text(encoding="utf-8")
        elif isinstance(data, str):
            self.html = data
        else:
            raise TypeError(
                f"Html takes markup text, a path to an .html file or a text "
                f"stream, got {type(data).__name__}"
            )

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        return self.html.encode("utf-8"), {}


class Audio(RunFileMedia):
    """A sound: a path to an audio file, or samples with their ``sample_rate``.

    Samples (a 1-d array, or 2-d with one column per channel) are written as
    a WAV file with :func:`scipy.io.wavfile.write`.
    """

    TYPE = "audio-file"

    def __init__(
        self,
        data_or_path: str | os.PathLike | Any,
        sample_rate: int | None = None,
        caption: str | None = None,
    ):
        self.caption = caption
        self.sample_rate = sample_rate
        if isinstance(data_or_path, str | os.PathLike):
            self._path = _checked_path(data_or_path, AUDIO_FORMATS, "Audio")
            self.suffix = self._path.suffix.lower()
            self._samples = None
            return
        if sample_rate is None:
            raise ValueError(
                "Audio from samples needs sample_rate, e.g. "
                "Audio(samples, sample_rate=16000)"
            )
        self._path = None
        self._samples = np.asarray(data_or_path)
        self.suffix = ".wav"

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        from scipy.io import wavfile

        extra = {} if self.sample_rate is None else {"sample_rate": self.sample_rate}
        if self._path is not None:
            return self._path.read_bytes(), extra
        buffer = io.BytesIO()
        wavfile.write(buffer, int(self.sample_rate), self._samples)
        return buffer.getvalue(), extra


class Video(RunFileMedia):
    """A video file (``.gif``, ``.mp4``, ``.webm`` or ``.ogg``) given by its path.

    NOTE: W&B also encodes numpy frame arrays, which needs moviepy; Runlens
    takes files only and raises ``TypeError`` for arrays.
    """

    TYPE = "video-file"

    def __init__(
        self,
        data_or_path: str | os.PathLike,
        caption: str | None = None,
        fps: int | None = None,
        format: str | None = None,
    ):
        if not isinstance(data_or_path, str | os.PathLike):
            raise TypeError(
                f"Video takes the path of a {', '.join(VIDEO_FORMATS)} file, got "
                f"{type(data_or_path).__name__}; encode frames to a file first"
            )
        self.caption = caption
        self._path = _checked_path(data_or_path, VIDEO_FORMATS, "Video")
        self.suffix = self._path.suffix.lower()

    def _encode(self) -> tuple[bytes, dict[str, Any]]:
        return self._path.read_bytes(), {}


def _checked_path(path: str | os.PathLike, formats: tuple[str, ...], kind: str) -> Path:
    path = Path(path)
    if path.suffix.lower() not in formats:
        raise ValueError(
            f"{kind} file {str(path)!r} has an unsupported format; use one of "
            f"{', '.join(formats)}"
        )
    if not path.is_file():
        raise FileNotFoundError(f"{kind} file {str(path)!r} not found")
    return path
