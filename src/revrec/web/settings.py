"""What a web app is started with: its database, its secret, its cookie and upload limits."""

from __future__ import annotations

import secrets
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    database_url: str | None = None  # None: $REVREC_DATABASE_URL, else ./revrec.db
    # Signs the session cookie; a new random one each start unless given (sessions then end
    # when the server restarts). $REVREC_SECRET_KEY sets it for `revrec serve`.
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    # Secure cookies are sent over HTTPS only: on, except for a server on a loopback address
    # over plain HTTP (the demo on a laptop), which `revrec serve` decides.
    secure_cookies: bool = True
    session_hours: int = 12
    max_upload_bytes: int = 200 * 1024 * 1024
    # Where uploads are spooled while they are imported, and where "Mark as transferred" writes
    # the GL export files (None: a folder `revrec-web` in the system's temporary folder).
    work_folder: str | None = None
    # Run the active jobs on their schedule while the server runs (SPEC §2).
    scheduler: bool = False
    scheduler_tick_seconds: float = 5.0
    # The app's clock: every request's and scheduler tick's `now` (tests may set it ahead).
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def folder(self, name: str) -> Path:
        """A folder of the work folder (made when missing): `uploads`, `gl-export`."""
        base = Path(self.work_folder) if self.work_folder else Path(tempfile.gettempdir())
        found = base / "revrec-web" / name if not self.work_folder else base / name
        found.mkdir(parents=True, exist_ok=True)
        return found
