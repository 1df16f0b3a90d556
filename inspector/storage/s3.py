"""S3-compatible object storage (Jira Data Center 9.9+ with an ``s3-filestore``): list, don't HEAD.

``INSPECTOR_ATTACHMENTS_ROOT=s3://BUCKET/PREFIX``: keys mirror the folder layout,
``PREFIX/<ORIGINALKEY>/<bucket>/<KEY>-<n>/<id>``. A ``ListObjectsV2`` page names up to 1,000
objects with their size and last-modified time where a HEAD answers for one, so the walk lists
every project/bucket prefix first (the orphans come from the same listings) and the checkers
settle rows from what it stored (``listed.py``); only a row no listing settled is HEADed (to
tell a missing object from one the credentials may not read), or every row with
``INSPECTOR_S3_VERIFY_READ=1``.

The client is boto3, for the AWS SDK's credential chain and variables (``AWS_PROFILE``,
``AWS_ACCESS_KEY_ID``, web identity for EKS IRSA, instance profiles, ``AWS_REGION``,
``AWS_ENDPOINT_URL_S3``). Throttling (``SlowDown``, 503) and dropped connections are retried
here (``request``), with a backoff every thread of the process waits out together. Nothing
here writes to the bucket.
"""

from __future__ import annotations

import errno as errnos
import logging
import stat
import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

from ..errors import ConfigError, StorageError
from ..runtime.retry import Outage
from . import Capabilities, Entry, Listing, Probe
from .listed import ListingIndex

log = logging.getLogger("inspector.storage")

CAPABILITIES = Capabilities(ownership=False, settles_from_listing=True)
# What an object looks like to the verdicts: a regular file anyone may read (S3 has no modes;
# a denial shows as an error code, not as bits).
OBJECT_MODE = stat.S_IFREG | 0o444
FOLDER_MODE = stat.S_IFDIR | 0o555
# What waiting may cure (the retry policy decides how long): throttling and the server's own
# trouble. A storage that stays away past INSPECTOR_RETRY_TIMEOUT stops the pass (exit 7), as
# hung stats do on a dead NFS server: recorded as an error, its row would stay one after the
# storage is back, below the resume cursor.
_THROTTLED = {"SlowDown", "503", "RequestLimitExceeded", "Throttling", "ThrottlingException", "TooManyRequests",
              "RequestTimeout", "InternalError", "500", "ServiceUnavailable"}  # fmt: skip
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
# The reason of a probe that the listing settled as absent, before recheck's HEAD.
UNLISTED = "not in the listing"
_DENIED = {"403", "AccessDenied", "Forbidden", "AllAccessDisabled", "InvalidAccessKeyId", "SignatureDoesNotMatch"}


class Root(NamedTuple):
    bucket: str
    prefix: str  # no leading or trailing "/"; "" for the whole bucket


def parse_root(text: str) -> Root:
    rest = text.split("://", 1)[1]
    bucket, _, prefix = rest.partition("/")
    return Root(bucket, prefix.strip("/"))


def check_root(text: str) -> tuple[str, str | None, Probe | None]:
    """A root names a bucket (and a prefix); whether it answers is seen when the walk lists it."""
    root = parse_root(text)
    if not root.bucket or any(c.isspace() for c in root.bucket) or "//" in text.split("://", 1)[1]:
        return text, f"'{text}' is not s3://BUCKET/PREFIX", None
    normalized = f"s3://{root.bucket}/{root.prefix}" if root.prefix else f"s3://{root.bucket}"
    return normalized, None, Probe(0, FOLDER_MODE)


def _code(exc: BaseException) -> tuple[str, int]:
    """(error code, HTTP status) of a botocore ClientError."""
    response: dict[str, Any] = getattr(exc, "response", {}) or {}
    status = int(response.get("ResponseMetadata", {}).get("HTTPStatusCode") or 0)
    return str(response.get("Error", {}).get("Code") or status), status


def _connection_error(exc: BaseException) -> bool:
    from botocore.exceptions import ConnectionError as BotoConnectionError
    from botocore.exceptions import HTTPClientError

    return isinstance(exc, BotoConnectionError | HTTPClientError)


def make_client(endpoint: str | None, region: str | None, pool: int, timeout: float) -> Any:
    """An S3 client from the SDK's standard chain; ``endpoint``/``region`` (from Jira's
    filestore-config.xml) override what the chain says."""
    import boto3
    from botocore.config import Config as BotoConfig

    # botocore says at INFO where it found credentials, once per process: not the admin's concern.
    logging.getLogger("botocore").setLevel(logging.WARNING)

    config = BotoConfig(
        # One quick retry in botocore; throttling and dropped connections are retried by
        # S3Storage.request with a backoff all threads of the process share.
        retries={"mode": "standard", "max_attempts": 2},
        max_pool_connections=pool,
        connect_timeout=min(10.0, timeout),
        read_timeout=timeout,
        # S3-compatible stores (MinIO, Ceph, SeaweedFS) behind an endpoint override expect
        # path-style requests; AWS itself takes both.
        s3={"addressing_style": "path" if endpoint else "auto"},
        user_agent_extra="jira-attachment-inspector",
    )
    return boto3.session.Session().client("s3", endpoint_url=endpoint, region_name=region, config=config)


class S3Reader:
    """An object opened for hashing: a HEAD, then ranged GETs; sequential reads share one stream."""

    def __init__(self, storage: S3Storage, rel: str, known: Probe | None = None):
        self._storage, self._key = storage, storage.key(rel)
        self.probe = known if known is not None and not known.errno else storage.head(rel)
        if self.probe.errno:
            raise OSError(self.probe.errno, self.probe.reason or "cannot read")
        self._body: Any = None
        self._pos = -1

    def read_at(self, offset: int, size: int) -> bytes:
        if size <= 0 or offset >= self.probe.size:
            return b""
        if self._body is not None and offset == self._pos:
            data = self._body.read(size)
        else:
            self._close_body()
            # A big read starts a stream the next reads continue; a small one asks for its range.
            end = "" if size >= 1024 * 1024 else str(offset + size - 1)
            # A restore knows which copy it looked up (its ETag): a copy rewritten since is
            # refused (412) instead of spliced onto what was read of the old one.
            match = {"IfMatch": self.probe.version} if self.probe.version else {}
            response = self._storage.request("get_object", Key=self._key, Range=f"bytes={offset}-{end}", **match)
            self._body = response["Body"]
            data = self._body.read(size)
            if end:
                self._close_body()
        self._pos = offset + len(data)
        return data

    def _close_body(self) -> None:
        if self._body is not None:
            self._body.close()
            self._body = None

    def close(self) -> None:
        self._close_body()


class S3Storage:
    capabilities = CAPABILITIES
    page_size = 1000  # keys a listing page asks for: S3's maximum

    def __init__(
        self, root: str, *, endpoint: str | None = None, region: str | None = None, verify_read: bool = False,
        listed: ListingIndex | None = None, pool: int = 72, timeout: float = 30.0, retry_timeout: float = 120.0,
    ):  # fmt: skip
        self.root = parse_root(root)
        self._client_args = (endpoint, region, pool, timeout)
        self._client: Any = None
        self.verify_read, self.listed = verify_read, listed
        # Every thread of the process waits out one thread's backoff: a throttled bucket sees
        # the whole process slow down, not 64 threads each trying on their own.
        self.outage = Outage(retry_timeout, hold_all=True)
        self._lock = threading.Lock()
        self._throttled = False

    @property
    def client(self) -> Any:
        """Made on first use: a process that asks nothing (the parent, whose orphans the
        listings sized) does not pay boto3's 25 MB."""
        if self._client is None:
            with self._lock:
                if self._client is None:
                    self._client = make_client(*self._client_args)
        return self._client

    def describe(self) -> str:
        return f"s3://{self.root.bucket}/{self.root.prefix}" if self.root.prefix else f"s3://{self.root.bucket}"

    def key(self, rel: str) -> str:
        return f"{self.root.prefix}/{rel}" if self.root.prefix and rel else self.root.prefix or rel

    def _rel(self, key: str) -> str:
        return key[len(self.root.prefix) + 1 :] if self.root.prefix else key

    # requests --------------------------------------------------------------------------------
    def request(self, operation: str, **kwargs: Any) -> Any:
        """One request. Throttling (SlowDown, 503) and a connection that drops are retried by the
        retry policy, one outage for every thread of the process; a storage that stays away past
        its budget stops the pass (StorageError, exit 7)."""
        attempt = 0
        while True:
            self.outage.hold()
            try:
                result = getattr(self.client, operation)(Bucket=self.root.bucket, **kwargs)
            except Exception as exc:
                unreachable = _connection_error(exc)
                throttled = not unreachable and _code(exc)[0] in _THROTTLED
                if not (unreachable or throttled):
                    self.outage.succeeded()  # it answered: whatever this is, the outage is over
                    raise
                if throttled:
                    self._say_throttled()
                if self.outage.failed(attempt) is None:
                    what = "could not be reached" if unreachable else f"kept answering {_code(exc)[0]}"
                    raise StorageError(
                        f"the attachments storage stopped answering: {self.describe()} {what} for "
                        f"{self.outage.failing():.0f} s ({type(exc).__name__}; INSPECTOR_RETRY_TIMEOUT="
                        f"{self.outage.budget:g}); progress up to the last checkpoint is kept, run again once the "
                        "storage is back"
                    ) from None
                attempt += 1
                continue
            self.outage.succeeded()
            return result

    def _say_throttled(self) -> None:
        with self._lock:
            said, self._throttled = self._throttled, True
        if not said:  # once per process: the admin learns the bucket pushes back
            log.warning("%s throttles requests (SlowDown / 503): backing off and retrying", self.describe())

    def head(self, rel: str) -> Probe:
        """The object itself: 404 is missing, a denial is a permissions finding with its code."""
        try:
            response = self.request("head_object", Key=self.key(rel))
        except StorageError:
            raise
        except Exception as exc:
            return _failed_probe(exc)
        modified = response.get("LastModified")
        mtime = int(modified.timestamp()) if modified is not None else 0
        etag = str(response.get("ETag") or "")
        return Probe(0, OBJECT_MODE, -1, -1, int(response.get("ContentLength", 0)), mtime, version=etag)

    def _pages(self, prefix: str, delimiter: str | None) -> Iterator[dict]:
        """ListObjectsV2 pages under ``prefix``, in key order. A page whose connection drops is
        asked for again with the same continuation token (``request``), so a listing
        interrupted halfway continues from its last page, never from the start."""
        kwargs: dict[str, Any] = {"Prefix": prefix, "MaxKeys": self.page_size}
        if delimiter:
            kwargs["Delimiter"] = delimiter
        while True:
            page = self.request("list_objects_v2", **kwargs)
            yield page
            if not page.get("IsTruncated"):
                return
            token = page.get("NextContinuationToken")
            if not token:  # a server that says "more" without saying where: no way to go on
                raise StorageError(
                    f"{self.describe()}: a listing of '{prefix}' says it is truncated but gives no continuation "
                    "token; the storage's ListObjectsV2 is broken, the listing cannot go on"
                )
            kwargs["ContinuationToken"] = token

    # the Storage protocol ---------------------------------------------------------------------
    def probe(self, rel: str) -> Probe:
        """From the walk's listing when it has the key (no request), else a HEAD; absent from a
        listing that covered its prefix, ENOENT ``UNLISTED`` without a request yet: the checker
        looks for a legacy name in the listing first, then ``recheck`` HEADs what is still absent."""
        if self.listed is not None and not self.verify_read:
            found = self.listed.get(rel)
            if found is not None and found.kind == "file":
                return Probe(0, OBJECT_MODE, -1, -1, found.size if found.size is not None else -1, found.mtime or 0)
            if found is None and self.listed.any_under(rel.rsplit("/", 1)[0]):
                return Probe(errnos.ENOENT, reason=UNLISTED)
        head = self.head(rel)
        if head.errno and head.errno != errnos.ENOENT and self.listed is not None:
            # A denied or failed HEAD keeps what the listing said: the size settles "corrupted".
            found = self.listed.get(rel)
            if found is not None and found.kind == "file" and found.size is not None:
                return head._replace(size=found.size, mtime=found.mtime or 0)
        return head

    def recheck(self, rel: str, absent: Probe) -> Probe:
        return self.head(rel) if absent.reason == UNLISTED else absent

    def file(self, rel: str, failed: Probe | None = None) -> Probe:
        return failed or self.probe(rel)

    def folder(self, rel: str) -> Probe:
        """A "folder" exists while a key starts with it; the root always (the walk says whether
        the bucket answers)."""
        if not rel:
            return Probe(0, FOLDER_MODE)
        if self.listed is not None and self.listed.any_under(rel):
            return Probe(0, FOLDER_MODE)
        try:  # no listing has a key under it: ask (an upload may have come after the listing)
            page = self.request("list_objects_v2", Prefix=self.key(rel) + "/", MaxKeys=1)
        except StorageError:
            raise
        except Exception as exc:
            return _failed_probe(exc)
        return Probe(0, FOLDER_MODE) if page.get("KeyCount") else Probe(errnos.ENOENT)

    def folder_probes(self, folder: str) -> Iterator[tuple[str, Probe]]:
        # Prefixes cost nothing to "enter": no request for the root, project and bucket levels.
        yield "", Probe(0, FOLDER_MODE)
        parts = folder.split("/")
        for i in range(1, len(parts) + 1):
            yield "/".join(parts[:i]), Probe(0, FOLDER_MODE)

    def names(self, folder: str) -> set[str] | int:
        if self.listed is not None:
            return self.listed.names(folder)
        listed = self.listing(folder)
        return listed.errno or {entry.name for entry in listed.entries if not entry.is_dir}

    def listing(self, folder: str, with_probe: bool = False, files_apart: bool = False) -> Listing:
        prefix = self.key(folder) + "/" if self.key(folder) else ""
        entries: list[Entry] = []
        try:
            for page in self._pages(prefix, "/"):
                for sub in page.get("CommonPrefixes", ()):
                    entries.append(Entry(sub["Prefix"][len(prefix) :].rstrip("/"), True, False, False, None))
                for obj in page.get("Contents", ()):
                    name = obj["Key"][len(prefix) :]
                    if name:  # the zero-byte "folder" marker of the prefix itself is no entry
                        entries.append(Entry(name, False, False, True, None))
        except StorageError:
            raise
        except Exception as exc:
            return Listing(_failed_probe(exc).errno, [])
        entries.sort(key=lambda e: e.name)
        return Listing(0, entries, Probe(0, FOLDER_MODE) if with_probe else None)

    def walk(self, folder: str) -> Iterator[tuple[str, int, int]]:
        """(relpath, size, mtime) of every object under ``folder``, in key order, one page of up
        to 1,000 at a time; raises OSError when the listing is refused or fails."""
        prefix = self.key(folder) + "/"
        try:
            for page in self._pages(prefix, None):
                for obj in page.get("Contents", ()):
                    modified = obj.get("LastModified")
                    mtime = int(modified.timestamp()) if modified is not None else 0
                    yield self._rel(obj["Key"]), int(obj.get("Size", 0)), mtime
        except StorageError:
            raise
        except Exception as exc:
            probe = _failed_probe(exc)
            raise OSError(probe.errno, probe.reason) from None

    def entry_size(self, rel: str) -> int:
        probe = self.head(rel)
        return probe.size if probe.errno == 0 else -1

    def open(self, rel: str, known: Probe | None = None) -> S3Reader:
        return S3Reader(self, rel, known)


def _failed_probe(exc: BaseException) -> Probe:
    """A failed request as a probe: the errno the verdicts know, the S3 code in ``reason``."""
    from botocore.exceptions import ClientError

    if isinstance(exc, ClientError):
        code, status = _code(exc)
        if code in _NOT_FOUND or status == 404:
            return Probe(errnos.ENOENT, reason=f"{code} (HTTP {status})")
        if code in _DENIED or status == 403:
            # A HEAD's answer has no body, so no code: S3 means AccessDenied by a bare 403.
            return Probe(errnos.EACCES, reason=f"{'AccessDenied' if code.isdigit() else code} (HTTP {status})")
        return Probe(errnos.EIO, reason=f"{code} (HTTP {status})")
    raise exc  # a storage out of reach never gets here: request() raised StorageError


def open_s3(root: str, settings: Any, listed: ListingIndex | None) -> S3Storage:
    """The storage of a configuration (``settings``: the Config)."""
    import importlib.util

    if importlib.util.find_spec("boto3") is None:  # found, not imported: the client comes on first use
        raise ConfigError(
            "INSPECTOR_ATTACHMENTS_ROOT: s3:// needs the s3 extra: pip install 'jira-attachment-inspector[s3]'"
        )
    return S3Storage(
        root, endpoint=settings.s3_endpoint, region=settings.s3_region, verify_read=settings.s3_verify_read,
        listed=listed, pool=settings.checker_threads + 8, timeout=settings.stat_timeout,
        retry_timeout=settings.retry_timeout,
    )  # fmt: skip
