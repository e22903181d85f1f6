"""What a web app is started with: its database, its secret, its cookie and upload limits."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field


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
    # Run the active jobs on their schedule while the server runs (SPEC §2).
    scheduler: bool = False
    scheduler_tick_seconds: float = 5.0
