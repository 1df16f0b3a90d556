"""The Source seam: where attachment rows come from.

A source yields plain rows (tuples in ``model.AttachmentRow`` order) in id order, in batches,
for an id range, and estimates how many there are. It retries its own transient failures and
raises ``DatabaseError`` (exit 3) for the rest. Each process opens its own source from the
configuration: a connection never crosses a process boundary.

``open_source(config, name)`` picks the backend from the configuration: Jira's PostgreSQL
(``postgres``) or MySQL/MariaDB (``mysql``) by the DSN's form, Jira Cloud over REST (``cloud``)
by its URL.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ..config.config import Config

# Ids are numeric(18,0) in Jira's schema: no id is above this.
MAX_ID = 10**18 - 1


class Source(Protocol):
    def describe(self) -> str:
        """What is read, for messages (``user@host:port/db``), never a secret."""
        ...

    def estimate(self) -> int:
        """About how many attachment rows there are (for progress), cheaply."""
        ...

    def rows(self, after: int, until: int, batch_size: int) -> Iterator[list[tuple]]:
        """Batches of rows with ``after < id <= until`` in id order; a transient failure is
        waited out and reading continues after the last row yielded."""
        ...

    def retried(self) -> int:
        """How many transient failures were waited out so far (for the log)."""
        ...

    def close(self) -> None: ...


def open_source(config: Config, name: str) -> Source:
    """The configured source, connected (``name`` tells its sessions apart on the server)."""
    if config.jira_cloud_url:
        from .cloud import CloudSource

        return CloudSource(config)
    if config.rows_file is not None:
        from .rowsfile import RowsFileSource

        return RowsFileSource(config, name)
    from . import mysql

    if mysql.handles(config.db_dsn):
        return mysql.MySqlSource(config, name)
    from .postgres import PostgresSource

    return PostgresSource(config, name)
