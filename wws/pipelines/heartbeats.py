"""Which processes sharing a Postgres database of runs are alive, whatever host they run on: each beats.

Every process writes, every `BEAT_SECONDS`, when it was last seen (the database's clock, so hosts' clocks do not
matter) in `wws_pipeline_executors`. A process not seen for `DEAD_AFTER_SECONDS` is dead: the first live process
to delete its row (one `DELETE … RETURNING`, so exactly one) takes over its unfinished runs. A process that stops
cleanly marks itself dead at once, so that its unfinished runs are taken over at the next look.

After the database did not answer (every process's beats failed alike), a process declares no one dead until a
whole `DEAD_AFTER_SECONDS` has passed since its own beats came through again: the others, alive, have beaten by
then, and none has its runs taken over while it runs them.
"""

from __future__ import annotations

import socket
import time

import sqlalchemy as sa

BEAT_SECONDS = 5.0
DEAD_AFTER_SECONDS = 30.0

_TABLE = "wws_pipeline_executors"


class Heartbeats:
    """This process's heartbeat in the database of `engine`, and the executors that stopped beating."""

    def __init__(self, engine: sa.Engine, executor_id: str):
        self.engine = engine
        self.executor_id = executor_id
        self._failing = False
        self._trusted_from = 0.0
        """`time.monotonic()` from which the others' beats tell who is dead (see the module's docstring)."""

    def start(self) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(
                    f"CREATE TABLE IF NOT EXISTS {_TABLE} "
                    "(executor_id TEXT PRIMARY KEY, host TEXT NOT NULL, seen_at TIMESTAMPTZ NOT NULL)"
                )
            )
        self.beat()

    def beat(self) -> None:
        try:
            with self.engine.begin() as connection:
                connection.execute(
                    sa.text(
                        f"INSERT INTO {_TABLE} (executor_id, host, seen_at) VALUES (:executor, :host, now()) "
                        "ON CONFLICT (executor_id) DO UPDATE SET seen_at = now()"
                    ),
                    {"executor": self.executor_id, "host": socket.gethostname()},
                )
        except sa.exc.SQLAlchemyError:
            self._failing = True
            raise
        if self._failing:
            self._failing = False
            self._trusted_from = time.monotonic() + DEAD_AFTER_SECONDS

    def dead(self) -> list[str]:
        """The executors not seen for `DEAD_AFTER_SECONDS`, now forgotten: this process takes over their runs."""
        if time.monotonic() < self._trusted_from:
            return []
        with self.engine.begin() as connection:
            rows = connection.execute(
                sa.text(
                    f"DELETE FROM {_TABLE} WHERE seen_at < now() - make_interval(secs => :after) "
                    "AND executor_id <> :executor RETURNING executor_id"
                ),
                {"after": DEAD_AFTER_SECONDS, "executor": self.executor_id},
            )
            return [row[0] for row in rows]

    def stop(self) -> None:
        """Stopping: dead at once, for the others to take over what this process leaves unfinished."""
        with self.engine.begin() as connection:
            connection.execute(
                sa.text(f"UPDATE {_TABLE} SET seen_at = 'epoch' WHERE executor_id = :executor"),
                {"executor": self.executor_id},
            )
