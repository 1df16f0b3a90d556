"""The report's DuckDB connections: DuckDB's SQLite extension, loaded from the file its PyPI
package ships (containers next to Jira cannot download it), into a connection that a scan can
have made ahead while its stages run."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb

from ..errors import ReportError


def extension_path() -> Path:
    """The sqlite_scanner extension file of the installed duckdb's version."""
    import duckdb_extension_sqlite_scanner as pkg

    base = Path(pkg.__file__).parent / "extensions" / f"v{duckdb.__version__}"
    path = base / "sqlite_scanner.duckdb_extension"
    if not path.is_file():
        raise ReportError(
            f"DuckDB's sqlite_scanner extension for duckdb {duckdb.__version__} is not installed "
            f"(expected {path}); install duckdb-extension-sqlite-scanner=={duckdb.__version__}"
        )
    return path


def literal(text: str) -> str:
    """``text`` as a SQL string literal."""
    return "'" + text.replace("'", "''") + "'"


# A connection with the SQLite extension loaded, made ahead of a build (``warm_up``); the
# lock is held while one is made, so a build that comes sooner waits for it.
_warm: list[duckdb.DuckDBPyConnection] = []
_warm_lock = threading.Lock()


def new_connection() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB that installs and loads nothing by itself, the extension loaded."""
    conn = duckdb.connect(
        ":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False}
    )
    try:
        conn.execute(f"LOAD {literal(str(extension_path()))}")
    except BaseException:
        conn.close()
        raise
    return conn


def warm_up() -> None:
    """Make the next build's connection now (a scan calls this while its stages run): loading
    the extension checks its signature over 35 MB, 90 ms the build then does not wait for."""
    with _warm_lock:
        try:
            conn = new_connection()
        except Exception:  # a thread of its own, with no one to tell yet
            return  # the build makes its own, and says what is wrong with it
        _warm.append(conn)


def take_connection() -> duckdb.DuckDBPyConnection:
    """The connection made ahead, or a new one (raising what a failed load raises)."""
    with _warm_lock:
        if _warm:
            return _warm.pop()
    return new_connection()
