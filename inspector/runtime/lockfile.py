"""An OS lock on a file that is gone again after a clean release.

``flock`` locks die with their holder, so a crash leaves no stale lock; but a lock file left
behind after every clean run is clutter an admin asks about. The holder removes it while it
still holds the lock, and a taker checks, once it has the lock, that the file it locked is
still the one at the path (not one a releasing holder just removed): else two processes could
each hold "the" lock, one on the removed file and one on a new one.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path


def take(path: Path, wait: bool) -> tuple[int, bool]:
    """(fd, created) holding the lock on ``path``; raises BlockingIOError when another holds
    it and ``wait`` is false, OSError when the file cannot be made."""
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            created = True
        except FileExistsError:
            try:
                fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
            except FileNotFoundError:
                continue  # removed between the two opens by a releasing holder: make it again
            created = False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            try:
                same = os.stat(path).st_ino == os.fstat(fd).st_ino
            except FileNotFoundError:
                same = False
        except BaseException:
            os.close(fd)
            raise
        if same:
            return fd, created
        os.close(fd)  # we locked a file its holder removed on release: take the one at the path


def release(fd: int, path: Path, remove: bool = True) -> None:
    """Give the lock up, removing its file first while it is still held (nobody else can be
    inside then, and a waiter that locked it finds it gone and takes a new one)."""
    try:
        if remove:
            try:
                if os.stat(path).st_ino == os.fstat(fd).st_ino:
                    os.unlink(path)
            except FileNotFoundError:
                pass
    finally:
        os.close(fd)
