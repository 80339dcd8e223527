"""``wandb.watch`` and ``wandb.unwatch``, accepted without logging gradients."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)

_warned = False


def watch(
    models: Any,
    criterion: Any = None,
    log: str | None = "gradients",
    log_freq: int = 1000,
    idx: int | None = None,
    log_graph: bool = False,
) -> None:
    """Accept W&B's ``watch`` call; Runlens does not log gradients or parameters.

    The first call per process logs a warning, so that a script's missing
    gradient histograms are not a surprise. Log them yourself with
    ``tracking.log({"weights": tracking.Histogram(tensor)})``.
    """
    global _warned
    if not _warned:
        _warned = True
        logger.warning(
            "watch() does not log gradients or parameters in Runlens; log "
            "tracking.Histogram(...) values yourself to chart them"
        )


def unwatch(models: Any = None) -> None:
    """Accept W&B's ``unwatch`` call; :func:`watch` hooks nothing to remove."""
