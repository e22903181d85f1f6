"""Runs `revrec` commands in child processes for tests/store/test_month_end_crash.py.

`python month_end_crash_child.py` imports what every command needs (SQLAlchemy, Alembic,
psycopg, Typer, the command line), checks that it has no thread but its own (so that forking
is safe), forks POOL children that import Polars and the services and wait, prints `ready`, then
reads requests from stdin, one JSON document a line:
`{"runs": [{"args": [...], "marks": PATH, "out": PATH, "err": PATH}, ...]}`. Once the children
taken have their imports done, each gets one run, all at the same moment, and does what the
`revrec` console script does with those arguments (stdout and stderr to the files `out` and
`err`); the server prints `pids PID...`, waits for them, forks new waiting children and prints
`done STATUS...` (each exit code, or -N when signal N ended the child).

A child only observes: it appends to its file `marks` one line `KIND MONOTONIC_SECONDS` (written
straight to the file, so that the lines survive SIGKILL) for `go` (its run received: the command
starts), each database transaction's `begin`, each `write` statement, the `commit` or
`rollback`, the connection's return to the pool (`checkin`) and `exit`. From those the test
tells where in a step its kill landed. Children forked ahead save each run the second of
start-up that importing the libraries costs, which lets the test kill a step dozens of times.
"""

import json
import os
import sys
import time
import traceback
from pathlib import Path

import alembic.command
import alembic.runtime.migration
import alembic.script
import psycopg
import sqlalchemy as sa
import sqlalchemy.dialects.postgresql.psycopg
import sqlalchemy.dialects.sqlite.pysqlite
import typer

from revrec.cli import main as cli_main

WRITES = ("INSERT", "UPDATE", "DELETE")
POOL = 2  # children kept warm: forked, the libraries imported, waiting for a run
PRELOADED = (alembic.command, alembic.runtime.migration, alembic.script, psycopg, sqlalchemy, typer)


def _observe(marks_path: str):
    marks = os.open(marks_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def mark(kind: str) -> None:
        os.write(marks, f"{kind} {time.monotonic():.6f}\n".encode())

    def on_execute(_conn, _cursor, statement, *_args):
        if statement.lstrip().split(None, 1)[0].upper() in WRITES:
            mark("write")

    sa.event.listen(sa.engine.Engine, "begin", lambda _conn: mark("begin"))
    sa.event.listen(sa.engine.Engine, "commit", lambda _conn: mark("commit"))
    sa.event.listen(sa.engine.Engine, "rollback", lambda _conn: mark("rollback"))
    sa.event.listen(sa.engine.Engine, "before_cursor_execute", on_execute)
    sa.event.listen(sa.pool.Pool, "checkin", lambda *_args: mark("checkin"))
    return mark


def _child(run: dict) -> int:
    """The `revrec` console script with these arguments; its exit code."""
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    for fd, path in ((1, run["out"]), (2, run["err"])):
        os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644), fd)
    mark = _observe(run["marks"])
    sys.argv = ["revrec", *run["args"]]
    mark("go")
    code = 0
    try:
        cli_main.main()
    except SystemExit as leaving:
        if leaving.code is None or isinstance(leaving.code, int):
            code = leaving.code or 0
        else:
            print(leaving.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - what the interpreter does with an uncaught error
        traceback.print_exc()
        code = 1
    mark("exit")
    sys.stdout.flush()
    sys.stderr.flush()
    return code


def _warm(reader: int, ready: int) -> int:
    """A child that imports what the commands import inside their functions (after the fork,
    so that the server never starts Polars' threads), says so, then waits for its run."""
    import revrec.services.close  # noqa: PLC0415
    import revrec.services.columns  # noqa: PLC0415
    import revrec.services.journals  # noqa: PLC0415
    import revrec.services.periods  # noqa: F401, PLC0415

    os.write(ready, b"r")
    os.close(ready)
    request = b""
    while not request.endswith(b"\n"):
        chunk = os.read(reader, 65536)
        if not chunk:  # the server has no run for it
            return 0
        request += chunk
    return _child(json.loads(request))


def _fork(pool: list[tuple[int, int, int]]) -> tuple[int, int, int]:
    """A warm child: its pid, the pipe its run is written to, and the pipe it says it is
    ready on."""
    reader, writer = os.pipe()
    ready_reader, ready_writer = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.close(writer)
            os.close(ready_reader)
            for _, other, other_ready in pool:
                os.close(other)
                os.close(other_ready)
            code = _warm(reader, ready_writer)
        finally:
            os._exit(code)
    os.close(reader)
    os.close(ready_writer)
    return pid, writer, ready_reader


def _status(raw: int) -> int:
    return -os.WTERMSIG(raw) if os.WIFSIGNALED(raw) else os.WEXITSTATUS(raw)


def serve() -> None:
    threads = list(Path("/proc/self/task").iterdir())
    if len(threads) != 1:
        sys.exit(f"the server has {len(threads)} threads: forking would not be safe")
    pool: list[tuple[int, int, int]] = []
    while len(pool) < POOL:
        pool.append(_fork(pool))
    print("ready", flush=True)
    for line in sys.stdin:
        runs = json.loads(line)["runs"]
        while len(pool) < len(runs):
            pool.append(_fork(pool))
        taken, pool = pool[: len(runs)], pool[len(runs) :]
        for _, _, ready in taken:  # all ready, so that the runs start at the same moment
            os.read(ready, 1)
            os.close(ready)
        for (_, writer, _), run in zip(taken, runs, strict=True):
            os.write(writer, json.dumps(run).encode() + b"\n")
            os.close(writer)
        print("pids", *(pid for pid, _, _ in taken), flush=True)
        statuses = [_status(os.waitpid(pid, 0)[1]) for pid, _, _ in taken]
        while len(pool) < POOL:  # warming up while the test looks at what the runs did
            pool.append(_fork(pool))
        print("done", *statuses, flush=True)
    for pid, writer, ready in pool:
        os.close(writer)
        os.close(ready)
        os.waitpid(pid, 0)


if __name__ == "__main__":
    serve()
