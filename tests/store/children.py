"""Children that run `revrec` commands for the crash tests: month_end_crash_child.py, started
once, forks each run from a process that has imported the libraries already, so that a test
can start (and kill) dozens of commands without paying the start-up of each."""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

CHILD = Path(__file__).with_name("month_end_crash_child.py")


class Children:
    """month_end_crash_child.py, started once: runs `revrec` commands as child processes."""

    def __init__(self, folder):
        self.server = subprocess.Popen(  # noqa: S603 - our own interpreter and helper
            [sys.executable, str(CHILD)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            cwd=folder,
        )
        self.buffer = b""
        self.pids = []
        assert self._line(60) == "ready"

    def start(self, runs):
        """Start these runs (dicts of args, marks, out, err) at once; their pids."""
        assert self.server.stdin is not None
        if self.pids:  # a test failed while its runs went on: end them first
            for pid in self.pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            self.wait()
        self.server.stdin.write(json.dumps({"runs": runs}).encode() + b"\n")
        self.server.stdin.flush()
        kind, *pids = self._line(30).split()
        assert kind == "pids"
        self.pids = [int(pid) for pid in pids]
        return self.pids

    def wait(self, timeout=60):
        """The exit status of each run started last (-9: killed)."""
        try:
            kind, *statuses = self._line(timeout).split()
        except AssertionError:
            for pid in self.pids:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            raise
        assert kind == "done"
        self.pids = []
        return [int(status) for status in statuses]

    def close(self):
        assert self.server.stdin is not None
        self.server.stdin.close()
        try:
            self.server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.server.kill()
            self.server.wait()

    def _line(self, timeout):
        assert self.server.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            readable, _, _ = select.select([self.server.stdout], [], [], max(left, 0))
            if not readable:
                raise AssertionError(f"no answer from {CHILD.name} in {timeout} s")
            chunk = os.read(self.server.stdout.fileno(), 4096)
            if not chunk:
                raise AssertionError(f"{CHILD.name} ended")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line.decode()


def run_request(folder, name, url, args):
    return {
        "args": ["--db", url, *args],
        "marks": str(folder / f"{name}.marks"),
        "out": str(folder / f"{name}.out"),
        "err": str(folder / f"{name}.err"),
    }
