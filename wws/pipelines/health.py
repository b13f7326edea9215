"""Whether the runs' Postgres database answers, known without waiting for it.

DBOS waits out a database that does not answer (it retries each operation until it can, which is what lets the runs
go on after an outage), so a request to the pipelines API made during an outage would wait as long. A thread asks
the database `SELECT 1` every `PROBE_SECONDS` on a connection of its own (a connection refused fails at once; one
that hangs, by `CONNECT_TIMEOUT_SECONDS`), and the API reads the answer: while the database does not answer, it
says 503 at once, having started nothing. The outage and its end are logged once each.
"""

from __future__ import annotations

import contextlib
import logging
import threading

import sqlalchemy as sa

PROBE_SECONDS = 0.5
CONNECT_TIMEOUT_SECONDS = 2
"""Also the probe's statement timeout, in seconds."""

log = logging.getLogger("wws.pipelines")


def database_error(exc: sa.exc.SQLAlchemyError) -> str:
    """The driver's own first line for a database failure (SQLAlchemy wraps it in a long message)."""
    return str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]


class DatabaseWatch:
    """Probes the database of `engine` (its URL, on connections of its own) until `stop()`."""

    def __init__(self, engine: sa.Engine, name: str):
        self.name = name
        """The database as messages name it (no password)."""
        self._engine = sa.create_engine(
            engine.url,
            poolclass=sa.pool.NullPool,
            connect_args={
                "connect_timeout": CONNECT_TIMEOUT_SECONDS,
                "options": f"-c statement_timeout={CONNECT_TIMEOUT_SECONDS * 1000}",
            },
        )
        self._connection: sa.Connection | None = None
        self._outage: str | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wws-pipelines-database", daemon=True)

    @property
    def outage(self) -> str | None:
        """Why the database does not answer (as of the last probe), or None while it does."""
        return self._outage

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join()
        self._disconnect()
        self._engine.dispose()

    def probe(self) -> None:
        """Ask the database once, and note (and log, when it changes) whether it answers."""
        try:
            if self._connection is None:
                self._connection = self._engine.connect()
            self._connection.execute(sa.text("SELECT 1"))
            self._connection.rollback()
        except sa.exc.SQLAlchemyError as exc:
            self._disconnect()
            cause = database_error(exc)
            if self._outage is None:
                log.error(
                    "the pipelines database %s does not answer (%s): the pipelines API answers 503 and the runs "
                    "wait until it does",
                    self.name,
                    cause,
                )
            self._outage = cause
            return
        if self._outage is not None:
            log.warning("the pipelines database %s answers again: the runs go on", self.name)
        self._outage = None

    def _run(self) -> None:
        while not self._stopping.wait(PROBE_SECONDS):
            self.probe()

    def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(sa.exc.SQLAlchemyError):  # broke with the database: nothing to close
                connection.close()
