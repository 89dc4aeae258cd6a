"""The key everything is signed with: BETTER_AUTH_SECRET, or a development one kept on disk."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from entrypoints.settings import Settings

log = logging.getLogger(__name__)


def signing_secret(settings: Settings) -> bytes:
    """Required and checked in production (``check_settings``); random per process in tests;
    in development generated once per data folder, so tokens survive a restart."""
    if settings.better_auth_secret:
        return settings.better_auth_secret.encode()
    if settings.app_env == "test":
        return secrets.token_bytes(32)
    path = Path(settings.data_dir) / "auth-secret"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:  # created exactly once, even when several workers start together
        descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(descriptor, "w") as file:
            file.write(secrets.token_urlsafe(48))
    log.warning("BETTER_AUTH_SECRET is not set; using a generated development secret")
    return path.read_text().strip().encode()
