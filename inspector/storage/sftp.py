"""SFTP storage: a copy of Jira's attachments tree on a backup host, read over SSH (asyncssh).

Used by ``inspector restore --from sftp://user@host[:port]/path``. One SSH connection and one
SFTP session carry every request: SFTP lets a client keep many requests in flight on one
channel, so the restore's threads each submit theirs to one event loop (a thread of its own)
and the round trips overlap instead of adding up. asyncssh was chosen by measurement
(README, "Restore"): 2,100-2,700 stats/s with 16-64 in flight through a 2 ms round trip,
where paramiko managed 294/s one at a time and deadlocked with one client shared by threads.

The host key is always checked against a known_hosts file; an unknown or changed key is
refused naming its fingerprint. A dropped connection raises ``ConnectionError`` (the caller
retries with backoff) and the next request connects again. Read-only, like every backend, and
it never leaves the backup: links are reported, not followed (``probe``).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import errno as errnos
import logging
import stat
import threading
import urllib.parse
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any, NamedTuple, TypeVar

from ..errors import ConfigError
from . import Capabilities, Entry, Listing, Probe, probes_down

CAPABILITIES = Capabilities(ownership=True)
log = logging.getLogger("inspector.sftp")
CONNECT_TIMEOUT = 20.0
REQUEST_TIMEOUT = 60.0  # one SFTP request (a stat, a 1 MiB read) on a live connection
_T = TypeVar("_T")
# AES-GCM first: the CPU runs it in hardware through one cryptography call per packet, where
# asyncssh's chacha20-poly1305 (OpenSSH's first choice) builds cipher objects per packet, which
# showed as the largest share of a restore's CPU. The rest stay for servers that need them.
CIPHERS = (
    "aes128-gcm@openssh.com", "aes256-gcm@openssh.com", "aes128-ctr", "aes256-ctr",
    "chacha20-poly1305@openssh.com",
)  # fmt: skip
# SFTP status codes as errnos: FX_EOF, FX_NO_SUCH_FILE, FX_PERMISSION_DENIED (others: EIO).
_ERRNO = {1: errnos.ESTALE, 2: errnos.ENOENT, 3: errnos.EACCES}
_LOST = (6, 7)  # FX_NO_CONNECTION, FX_CONNECTION_LOST: retried by the caller, never an answer


class Target(NamedTuple):
    user: str
    host: str
    port: int
    path: str

    def describe(self) -> str:
        return f"sftp://{self.user}@{self.host}:{self.port}{self.path}"


def parse_url(text: str) -> Target:
    """``sftp://user@host[:port]/path``; raises ValueError naming what is wrong (never echoing a
    password someone put into the URL)."""
    parts = urllib.parse.urlsplit(text)
    if parts.scheme.lower() != "sftp" or not parts.hostname:
        raise ValueError("an SFTP source looks like sftp://user@host[:port]/path/to/attachments")
    if parts.password is not None:
        raise ValueError("put the SFTP password in INSPECTOR_SFTP_PASSWORD (or _FILE), not in the URL")
    if not parts.username:
        raise ValueError(f"sftp://{parts.hostname}: name the user, as sftp://user@{parts.hostname}/path")
    try:
        port = parts.port or 22
    except ValueError:
        raise ValueError(f"sftp://{parts.hostname}: the port is not a number from 1 to 65535") from None
    path = urllib.parse.unquote(parts.path).rstrip("/") or "/"
    if not path.startswith("/"):
        raise ValueError("the SFTP path must be absolute (sftp://user@host/srv/backup/attachments)")
    return Target(urllib.parse.unquote(parts.username), parts.hostname, port, path)


def _probe(attrs: Any) -> Probe:
    return Probe(0, attrs.permissions or 0, attrs.uid if attrs.uid is not None else -1,
                 attrs.gid if attrs.gid is not None else -1, attrs.size or 0, int(attrs.mtime or 0))  # fmt: skip


class SftpReader:
    """A remote file opened on first read; ``read_at`` asks for a range at an offset (a large
    range goes out as many reads in flight), so a copy continues where it stopped. A read that
    filled its range starts the next range of the same size at once (read-ahead): the copy
    writes one chunk while the next is on the wire, instead of a round trip of idle per chunk."""

    def __init__(self, storage: SftpStorage, rel: str, probe: Probe):
        self._storage, self._rel, self.probe = storage, rel, probe
        self._file: Any = None
        self._generation = -1
        self._ahead: tuple[int, int, concurrent.futures.Future[bytes]] | None = None

    async def _read(self, offset: int, size: int) -> bytes:
        sftp, generation = await self._storage._session()
        if self._file is None or generation != self._generation:
            self._file = await sftp.open(self._storage._path(self._rel), "rb")
            self._generation = generation
        data: bytes = await self._file.read(size, offset)
        return data

    def read_at(self, offset: int, size: int) -> bytes:
        ahead, self._ahead = self._ahead, None
        if ahead is not None and ahead[:2] == (offset, size):
            data = self._storage._call(ahead[2])
        else:
            if ahead is not None:
                ahead[2].cancel()
            data = self._storage._call(self._read(offset, size))
        following = offset + size
        if len(data) == size and following < self.probe.size:
            self._ahead = (following, size, self._storage._submit(self._read(following, size)))
        return data

    def close(self) -> None:
        if self._ahead is not None:
            self._ahead[2].cancel()
            self._ahead = None
        if self._file is not None:
            handle, self._file = self._file, None
            self._storage._forget(handle.close())  # no reason to wait for the answer


class SftpStorage:
    capabilities = CAPABILITIES

    def __init__(self, target: Target, *, known_hosts: str, key_file: str | None = None, password: str | None = None):
        with warnings.catch_warnings():  # cryptography's DSA deprecation, printed at asyncssh's import
            warnings.filterwarnings("ignore", message="DSA is deprecated")
            import asyncssh  # noqa: F401
        # asyncssh logs every connection and channel at INFO: our own lines say what matters.
        logging.getLogger("asyncssh").setLevel(max(logging.WARNING, logging.getLogger().level))
        self.target = target
        self._options = {"known_hosts": known_hosts, "key_file": key_file, "password": password}
        self._loop = asyncio.new_event_loop()
        self._loop.set_exception_handler(_quiet_lost_reads)
        self._thread = threading.Thread(target=self._loop.run_forever, name="sftp", daemon=True)
        self._thread.start()
        self._conn: Any = None
        self._sftp: Any = None
        self._generation = 0
        self._connecting: asyncio.Lock | None = None
        self._real_root: str | None = None
        self._real_folders: dict[str, asyncio.Future[bool]] = {}

    def describe(self) -> str:
        return self.target.describe()

    def _path(self, rel: str) -> str:
        base = self.target.path.rstrip("/")
        return f"{base}/{rel}" if rel else (base or "/")

    # the event loop -----------------------------------------------------------------------------
    def _submit(self, coro: Coroutine[Any, Any, _T]) -> concurrent.futures.Future[_T]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def _call(
        self, work: Coroutine[Any, Any, _T] | concurrent.futures.Future[_T], timeout: float = REQUEST_TIMEOUT
    ) -> _T:
        """The result of a coroutine run on the loop (or of one already submitted), with a lost
        connection turned into ConnectionError and the connection dropped for the next call."""
        import asyncssh

        future = work if isinstance(work, concurrent.futures.Future) else self._submit(work)
        try:
            return future.result(timeout)
        except TimeoutError:
            future.cancel()
            self._drop()
            raise TimeoutError(f"{self.describe()}: no answer in {timeout:.0f} s") from None
        except ConnectionRefusedError:
            raise ConnectionRefusedError(f"{self.describe()}: connection refused") from None
        except (asyncssh.DisconnectError, asyncssh.ChannelOpenError, ConnectionError, EOFError) as exc:
            # A lost connection is closed: the next request opens a new one (_session).
            raise ConnectionError(f"{self.describe()}: connection lost ({_why(exc)})") from None
        except asyncssh.SFTPError as exc:
            conn = self._conn
            if exc.code in _LOST or conn is None or conn.is_closed():
                # (a request caught by the connection's end may also come back as a bare EOF)
                raise ConnectionError(f"{self.describe()}: connection lost ({_why(exc)})") from None
            raise OSError(_ERRNO.get(exc.code, errnos.EIO), f"{_why(exc)} (SFTP)") from None

    def _forget(self, coro: Coroutine[Any, Any, Any]) -> None:
        async def quietly() -> None:
            with contextlib.suppress(Exception):  # closing a handle on a dead connection: nothing to do
                await coro

        asyncio.run_coroutine_threadsafe(quietly(), self._loop)

    def _drop(self) -> None:
        """Abort a connection that stopped answering; the next request opens a new one. Only
        the connection the caller used: another thread may have opened a new one meanwhile."""
        generation = self._generation

        async def drop() -> None:
            if self._conn is not None and self._generation == generation:
                self._conn.abort()
                self._conn = self._sftp = None

        self._forget(drop())

    async def _session(self) -> tuple[Any, int]:
        if self._sftp is not None and self._conn is not None and not self._conn.is_closed():
            return self._sftp, self._generation
        if self._connecting is None:
            self._connecting = asyncio.Lock()
        async with self._connecting:
            if self._sftp is None or self._conn is None or self._conn.is_closed():
                self._conn = await self._connect()
                self._sftp = await self._conn.start_sftp_client()
                self._generation += 1
        return self._sftp, self._generation

    async def _connect(self) -> Any:
        import asyncssh

        t, options = self.target, self._options
        known = str(options["known_hosts"])
        try:
            trusted = asyncssh.read_known_hosts(known)
        except OSError as exc:
            raise ConfigError(f"INSPECTOR_SFTP_KNOWN_HOSTS: cannot read '{known}': {exc.strerror}") from None
        # asyncssh: a list of keys; None turns key logins off (a password only); () its default keys.
        keys: Any = [str(options["key_file"])] if options["key_file"] else (None if options["password"] else ())
        try:
            return await asyncssh.connect(
                t.host,
                t.port,
                username=t.user,
                known_hosts=trusted,
                password=options["password"],
                client_keys=keys,
                encryption_algs=CIPHERS,
                agent_path=None,
                connect_timeout=CONNECT_TIMEOUT,
                keepalive_interval=15,
                keepalive_count_max=4,
            )
        except asyncssh.HostKeyNotVerifiable:
            fingerprint = await self._fingerprint()
            raise ConfigError(
                f"{t.host}:{t.port} offered host key {fingerprint}, which {known} does not hold for it (unknown, "
                f"or changed); check it with the backup host's admin, then add it (ssh-keyscan -p {t.port} {t.host})"
            ) from None
        except asyncssh.PermissionDenied:
            how = "key " + str(options["key_file"]) if options["key_file"] else (
                "password" if options["password"] else "default keys")  # fmt: skip
            raise ConfigError(
                f"{t.host}:{t.port} refused the login of '{t.user}' ({how}): check the credentials"
            ) from None

    async def _fingerprint(self) -> str:
        import asyncssh

        try:
            key = await asyncssh.get_server_host_key(self.target.host, self.target.port)
        except (OSError, asyncssh.Error):
            return "(unreadable)"
        if key is None:
            return "(none)"
        return f"{key.get_algorithm()} {key.get_fingerprint('sha256')}"

    def close(self) -> None:
        async def shut() -> None:
            if self._conn is not None:
                self._conn.close()
                await self._conn.wait_closed()

        with contextlib.suppress(Exception):  # a dead connection cannot be closed politely
            asyncio.run_coroutine_threadsafe(shut(), self._loop).result(5)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    # Storage ----------------------------------------------------------------------------------
    async def _stat(self, rel: str, follow: bool = True) -> Probe:
        import asyncssh

        sftp, _ = await self._session()
        try:
            attrs = await (sftp.stat if follow else sftp.lstat)(self._path(rel))
        except asyncssh.SFTPError as exc:
            code = _answered(exc)
            return Probe(code, reason="" if code == errnos.ENOENT else _why(exc))
        return _probe(attrs)

    async def _contained(self, rel: str) -> Probe:
        """A backup copy looked at without leaving the backup: the file with ``lstat`` (a link
        there is reported, not followed), and a file's real path compared with where it should
        be (a link on the way, a project folder pointing elsewhere, is refused)."""
        probe = await self._stat(rel, follow=False)
        if probe.errno or not stat.S_ISREG(probe.mode) or not rel:
            if probe.errno == 0 and stat.S_ISLNK(probe.mode):
                return probe._replace(reason="a symbolic link in the backup: not followed")
            return probe._replace(version=str(probe.mtime))
        if not await self._real_folder(rel.rsplit("/", 1)[0] if "/" in rel else ""):
            return Probe(errnos.ELOOP, reason="reached through a symbolic link in the backup: not followed")
        return probe._replace(version=str(probe.mtime))

    async def _real_folder(self, folder: str) -> bool:
        """Whether ``folder`` is reached without a link: its real path is where it should be.
        Asked once per folder (the files of an issue share it), on the loop, so no lock."""
        task = self._real_folders.get(folder)
        if task is None:
            task = self._real_folders[folder] = asyncio.ensure_future(self._check_folder(folder))
        try:
            return await asyncio.shield(task)
        except BaseException:
            self._real_folders.pop(folder, None)  # a lost connection is no answer: asked again
            raise

    async def _check_folder(self, folder: str) -> bool:
        sftp, _ = await self._session()
        if self._real_root is None:
            self._real_root = str(await sftp.realpath(self._path(""))).rstrip("/")
        real = str(await sftp.realpath(self._path(folder)))
        return real == (f"{self._real_root}/{folder}" if folder else self._real_root or "/")

    def probe(self, rel: str) -> Probe:
        return self._call(self._contained(rel))

    def file(self, rel: str, failed: Probe | None = None) -> Probe:
        probe = failed or self.probe(rel)
        if probe.errno == errnos.ENOENT:
            link = self._call(self._stat(rel, follow=False))
            if link.errno == 0 and stat.S_ISLNK(link.mode):
                return probe._replace(dangling_symlink=True)
        return probe

    def folder(self, rel: str) -> Probe:
        return self.probe(rel)

    def recheck(self, rel: str, absent: Probe) -> Probe:
        return absent

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        return probes_down(self.probe, folder)

    async def _list(self, folder: str) -> Listing:
        import asyncssh

        sftp, _ = await self._session()
        try:
            names = await sftp.readdir(self._path(folder))
        except asyncssh.SFTPError as exc:
            return Listing(_answered(exc), [])
        entries = []
        for name in names:
            if name.filename in (".", ".."):
                continue
            kind = name.attrs.type
            is_dir = kind == asyncssh.FILEXFER_TYPE_DIRECTORY
            entries.append(Entry(name.filename, is_dir, kind == asyncssh.FILEXFER_TYPE_SYMLINK,
                                 kind == asyncssh.FILEXFER_TYPE_REGULAR, None))  # fmt: skip
        return Listing(0, sorted(entries, key=lambda e: e.name))

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        listed = self._call(self._list(folder))
        return listed._replace(folder=self.probe(folder)) if with_probe and not listed.errno else listed

    def names(self, folder: str) -> set[str] | int:
        listed = self.listing(folder)
        return listed.errno or {entry.name for entry in listed.entries}

    def entry_size(self, rel: str) -> int:
        probe = self._call(self._stat(rel, follow=False))
        return probe.size if probe.errno == 0 else -1

    def open(self, rel: str, known: Probe | None = None) -> SftpReader:
        probe = known if known is not None else self.probe(rel)
        if probe.errno:
            raise OSError(probe.errno, probe.reason or "cannot open", self._path(rel))
        return SftpReader(self, rel, probe)


def _answered(exc: Any) -> int:
    """The errno of a stat's or a listing's SFTP answer (no such file, denied, anything else:
    EIO; asyncssh's readdir takes EOF as the listing's end); a lost connection is no answer, and
    is raised again for the caller's retry."""
    if exc.code in _LOST:
        raise exc
    return _ERRNO.get(exc.code, errnos.EIO)


def _quiet_lost_reads(loop: asyncio.AbstractEventLoop, context: dict) -> None:
    """asyncssh reads a large range as many requests; when the connection drops, the ones left
    fail after the read itself has returned what it got (and the copy continues from there).
    Those leftovers are not news: logged at DEBUG instead of as "never retrieved" tracebacks."""
    import asyncssh

    if isinstance(context.get("exception"), (asyncssh.Error, ConnectionError, EOFError)):
        log.debug("SFTP: a request left over from a lost connection: %s", context.get("exception"))
        return
    loop.default_exception_handler(context)


def _why(exc: BaseException) -> str:
    reason = getattr(exc, "reason", None) or str(exc) or type(exc).__name__
    return str(reason).splitlines()[0]


def open_sftp(text: str, settings: Any) -> SftpStorage:
    """The storage of ``sftp://...`` with the SFTP settings of the configuration."""
    import importlib.util

    if importlib.util.find_spec("asyncssh") is None:
        raise ConfigError("--from sftp:// needs the sftp extra: pip install 'jira-attachment-inspector[sftp]'")
    try:
        target = parse_url(text)
    except ValueError as exc:
        raise ConfigError(f"--from: {exc}") from None
    key = str(settings.sftp_key_file) if settings.sftp_key_file else None
    known = str(settings.sftp_known_hosts)
    return SftpStorage(target, known_hosts=known, key_file=key, password=settings.sftp_password)
