"""The app served by uvicorn in a thread on a free loopback port, until the block ends: what
`revrec bench --pages` times and what the browser tests drive."""

from __future__ import annotations

import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.error import URLError

import uvicorn
from fastapi import FastAPI


@contextmanager
def served(app: FastAPI, *, start_seconds: float = 30.0) -> Iterator[str]:
    """The base URL (http://127.0.0.1:PORT) once /login answers; the server stops (its
    graceful shutdown at most 2 s) when the block ends. A RuntimeError when it does not start
    or stop in time."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # no 40 ms delayed-ACK stalls
    sock.bind(("127.0.0.1", 0))  # the port is held from here on: no race for a free one
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    config = uvicorn.Config(app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    server = uvicorn.Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="revrec-served", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + start_seconds
        while not (server.started and _answers(url)):
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting (see its log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not answer at {url} in {start_seconds} s")
            time.sleep(0.05)
        yield url
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the server did not stop within 15 s")


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/login", timeout=2) as answer:  # noqa: S310 (http://127.0.0.1)
            return bool(answer.status == 200)
    except (URLError, OSError):
        return False
