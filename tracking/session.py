"""W&B's account and process settings, which a local store does not need."""

from __future__ import annotations

import logging
from typing import Any

logger = logging.getLogger(__name__)


def login(
    key: str | None = None,
    relogin: bool | None = None,
    host: str | None = None,
    anonymous: str | None = None,
    timeout: int | None = None,
    verify: bool = False,
    **kwargs: Any,
) -> bool:
    """Accept W&B's login call and return True.

    Runlens has no account and no server: runs go to the local store, so
    there is nothing to log in to. All arguments are ignored, and a given
    ``key`` is never stored or sent anywhere.
    """
    if key is not None:
        logger.info("login(key=...) ignored: Runlens stores runs locally, no account")
    return True


class Settings:
    """W&B's ``wandb.Settings``, accepted by ``init(settings=...)``.

    Every W&B setting concerns the W&B service, its server or its syncing,
    none of which Runlens has, so the keyword arguments are accepted and
    dropped, and unknown ones are ignored silently as W&B does.
    """

    def __init__(self, **kwargs: Any):
        logger.debug("Settings ignored: %s", sorted(kwargs))

    def __repr__(self) -> str:
        return "Settings()"
