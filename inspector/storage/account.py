"""Writing as the Jira account: the calling thread's file-system identity switched to Jira's.

Linux keeps a file-system uid and gid per thread (``setfsuid(2)``, ``setfsgid(2)``) and checks
every path lookup, create, link and rename against them; when the fsuid leaves 0 the kernel
also drops the file-system capabilities (``CAP_DAC_OVERRIDE``, ``CAP_FOWNER``, ``CAP_CHOWN``...)
from the thread's effective set, and gives them back when it returns to 0. A restore thread
that writes under the attachments root inside ``Account.acting()`` can therefore do exactly
what Jira could do there: a link planted to ``/etc/shadow`` is refused by the kernel, not by a
check of ours, and a file it creates is Jira's from its first byte, with no ``chown``.

Supplementary groups are per thread too at the system-call level: glibc's ``setgroups()``
changes every thread of the process (POSIX asks it to), so the raw system call is made, which
changes only the caller. Reading the backup happens outside ``acting()``, as the process itself.
"""

from __future__ import annotations

import ctypes
import os
import platform
import threading
from collections.abc import Iterator
from contextlib import contextmanager

# setgroups(2) by number: the only call here glibc has no per-thread wrapper for.
_SETGROUPS = {"x86_64": 116, "amd64": 116, "aarch64": 159, "arm64": 159}
_libc: ctypes.CDLL | None = None  # a PyDLL


def _c() -> ctypes.CDLL:
    global _libc
    if _libc is None:
        # PyDLL: the calls keep the GIL. They take a microsecond; releasing and taking back the
        # GIL around each of them, with the other transfer threads busy, cost a restore of
        # 10,000 small files a third of its speed.
        _libc = ctypes.PyDLL(None, use_errno=True)
    return _libc


def _setgroups_thread(groups: list[int]) -> None:
    number = _SETGROUPS[platform.machine().lower()]
    array = (ctypes.c_uint32 * max(1, len(groups)))(*groups)
    if _c().syscall(ctypes.c_long(number), ctypes.c_size_t(len(groups)), array) != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"setgroups: {os.strerror(code)}")


def _current_fsuid() -> int:
    # setfsuid with an invalid id changes nothing and returns the current fsuid.
    return int(_c().setfsuid(ctypes.c_uint32(0xFFFFFFFF)))


def _current_fsgid() -> int:
    return int(_c().setfsgid(ctypes.c_uint32(0xFFFFFFFF)))


class Account:
    """Jira's uid, primary gid and supplementary gids, taken on by a thread inside ``acting()``."""

    def __init__(self, uid: int, gid: int, groups: frozenset[int] | set[int] = frozenset()):
        self.uid, self.gid = uid, gid
        self.groups = sorted({gid, *groups})
        # Already Jira (a container run as Jira's uid): the kernel checks Jira's rights as it is.
        self.native = os.geteuid() == uid and os.getegid() == gid
        self._local = threading.local()

    def problem(self) -> str | None:
        """Why this process cannot write as the account, or None (checked on a scratch thread,
        so nothing of the caller's identity is touched)."""
        if self.native:
            return None
        if os.geteuid() != 0:
            return (f"restore --apply writes as the Jira account (uid {self.uid}, gid {self.gid}); this process "
                    f"runs as uid {os.geteuid()}: run it as root or as uid {self.uid}")  # fmt: skip
        if platform.machine().lower() not in _SETGROUPS:
            return f"writing as the Jira account is not supported on {platform.machine()} (x86_64 and aarch64 are)"
        found: list[str | None] = [None]

        def trial() -> None:
            try:
                with self.acting():
                    pass
            except OSError as exc:
                found[0] = f"cannot take on the Jira account's identity (uid {self.uid}): {exc.strerror}"

        thread = threading.Thread(target=trial, name="account-check")
        thread.start()
        thread.join()
        return found[0]

    @contextmanager
    def acting(self) -> Iterator[None]:
        """The calling thread's file-system identity is Jira's inside the block (re-entrant)."""
        depth = getattr(self._local, "depth", 0)
        if self.native or depth:
            self._local.depth = depth + 1
            try:
                yield
            finally:
                self._local.depth = depth
            return
        libc = _c()
        before_groups = os.getgroups()
        # Groups and gid first, while the thread still has root's capabilities for them.
        _setgroups_thread(self.groups)
        old_gid = int(libc.setfsgid(ctypes.c_uint32(self.gid)))
        old_uid = int(libc.setfsuid(ctypes.c_uint32(self.uid)))
        try:
            if _current_fsuid() != self.uid or _current_fsgid() != self.gid:
                raise OSError(1, "the kernel refused setfsuid/setfsgid (no CAP_SETUID/CAP_SETGID?)")
            self._local.depth = 1
            yield
        finally:
            self._local.depth = 0
            libc.setfsuid(ctypes.c_uint32(old_uid))
            libc.setfsgid(ctypes.c_uint32(old_gid))
            _setgroups_thread(before_groups)
