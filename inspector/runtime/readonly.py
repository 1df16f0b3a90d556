"""Read-only connections to a state file, by a URI built so that any path opens that path.

SQLite opens ``mode=ro`` only through a ``file:`` URI, and in a URI ``#`` ends the path, ``?``
starts the parameters and ``%`` escapes: a state under ``a#b/`` built by hand as
``file:a#b/state.sqlite?mode=ro`` opened ``a``, and created it empty. Every reader of the
state goes through here.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.parse
from pathlib import Path


def uri(path: str | os.PathLike[str]) -> str:
    """``file:`` URI of ``path`` (made absolute) opened read-only, every special character escaped."""
    absolute = Path(os.path.abspath(path))
    return f"file:{urllib.parse.quote(os.fsencode(absolute), safe='/')}?mode=ro"


def connect(path: str | os.PathLike[str], timeout: float = 30, check_same_thread: bool = True) -> sqlite3.Connection:
    """A read-only connection to the SQLite file at ``path`` (never creating it)."""
    return sqlite3.connect(uri(path), uri=True, timeout=timeout, check_same_thread=check_same_thread)
