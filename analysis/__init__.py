"""Model analysis for Runlens: data loading, metrics and What-If tools."""

from __future__ import annotations

import importlib.util
import os

# Keras 3 reads KERAS_BACKEND once, on its first import. Without TensorFlow it must
# run on PyTorch, so set that before any module of this package imports keras.
if importlib.util.find_spec("tensorflow") is None:
    os.environ.setdefault("KERAS_BACKEND", "torch")
