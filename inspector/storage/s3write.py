"""Writing restored attachments into an S3 attachments root: never over an object that appeared.

A small file is sent whole with ``PutObject`` and ``If-None-Match: *``; a large one as a
multipart upload whose parts a killed run finds again (the upload id is in the state, its
parts are listed) and continues, and which appears under the attachment's key only when
``CompleteMultipartUpload`` (also ``If-None-Match: *``) makes it whole, after the restore
verified it. When a key is taken (an upload of Jira's, or the corrupted object a pass found),
a right-sized object is left alone; anything else is first copied to the quarantine prefix
(``CopySourceIfMatch`` its ETag) and then replaced with ``If-Match`` that same ETag, so an
object that changed again in between is looked at again, never overwritten blind.

Those guarantees hold only where the server honours conditional writes: AWS S3 does, and so
does SeaweedFS (tested); ``check`` asks the server itself before the first write and
refuses a server that overwrote the probe object.
"""

from __future__ import annotations

import errno as errnos
import logging
import uuid
from typing import Any

from ..errors import ConfigError
from . import Probe
from .destination import Placed, Unsafe
from .s3 import S3Storage, open_s3, parse_root

log = logging.getLogger("inspector.restore")

PART_SIZE = 8 * 1024 * 1024  # S3's minimum is 5 MiB a part (but the last); files up to this go in one PUT
_TAKEN = {"PreconditionFailed", "412", "ConditionalRequestConflict", "409"}


def _code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    error = response.get("Error", {}) if isinstance(response, dict) else {}
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode") if isinstance(response, dict) else None
    return str(error.get("Code") or status or "")


class S3Part:
    """A copy on its way to a key: bytes held until a part is full, parts uploaded as they fill."""

    readable = False  # an upload cannot be read before it completes: the source is hashed instead
    placed = False

    def __init__(self, dest: S3Destination, key: str, size: int, ref: str | None, parts: list[dict]):
        self._dest, self.key, self.expected = dest, key, size
        self.ref = ref  # the multipart upload id, or None for one PUT
        self.parts = parts  # [{"PartNumber", "ETag", "Size"}] already uploaded
        self._buffer = bytearray()
        self.offset = sum(p["Size"] for p in parts)

    @property
    def multipart(self) -> bool:
        return self.expected > PART_SIZE

    def _request(self, operation: str, **kwargs: Any) -> Any:
        return self._dest.storage.request(operation, Key=self.key, **kwargs)

    def _upload(self, data: bytes | bytearray) -> None:
        if self.ref is None:
            self.ref = self._request("create_multipart_upload")["UploadId"]
        number = len(self.parts) + 1
        answer = self._request("upload_part", UploadId=self.ref, PartNumber=number, Body=bytes(data))
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"], "Size": len(data)})

    def write_at(self, offset: int, data: bytes) -> None:
        if offset != self.size():
            raise OSError(errnos.EINVAL, f"an S3 upload is written in order: byte {offset} after {self.size()}")
        self._buffer += data
        while self.multipart and len(self._buffer) >= PART_SIZE:
            self._upload(self._buffer[:PART_SIZE])
            del self._buffer[:PART_SIZE]

    def read_at(self, offset: int, size: int) -> bytes:
        raise OSError(errnos.EINVAL, "an S3 upload cannot be read before it completes")

    def size(self) -> int:
        return sum(p["Size"] for p in self.parts) + len(self._buffer)

    def restart(self) -> None:
        self.discard()
        self.offset = 0

    def finish(self) -> None:
        if self.multipart and self._buffer:  # the last part may be short
            self._upload(self._buffer)
            self._buffer.clear()

    def discard(self) -> None:
        if self.ref is not None:
            try:
                self._request("abort_multipart_upload", UploadId=self.ref)
            except Exception as exc:  # an upload already gone, or no right to abort: S3 expires it
                log.debug("aborting the upload of %s: %s", self.key, exc)
        self.ref, self.parts = None, []
        self._buffer.clear()

    def close(self) -> None:
        self._buffer.clear()  # what no part holds yet is sent again by the next run

    def commit(self, condition: dict[str, str]) -> None:
        if not self.multipart:
            self._request("put_object", Body=bytes(self._buffer), **condition)
            return
        done = {"Parts": [{"PartNumber": p["PartNumber"], "ETag": p["ETag"]} for p in self.parts]}
        self._request("complete_multipart_upload", UploadId=self.ref, MultipartUpload=done, **condition)


class S3Destination:
    def __init__(self, storage: S3Storage, quarantine: str):
        self.storage = storage
        q = parse_root(quarantine)
        self.q_bucket, self.q_prefix = q.bucket, q.prefix

    def describe(self) -> str:
        return self.storage.describe()

    def close(self) -> None:
        pass

    def check(self) -> None:
        """Refuse a server that ignores ``If-None-Match: *`` (it would overwrite): one probe
        object in the quarantine prefix, written twice, then removed."""
        key = f"{self.q_prefix}/.inspector-probe-{uuid.uuid4().hex}".lstrip("/")
        client = self.storage.client
        try:
            client.put_object(Bucket=self.q_bucket, Key=key, Body=b"1", IfNoneMatch="*")
        except Exception as exc:
            raise ConfigError(f"restore --apply cannot write to s3://{self.q_bucket}/{self.q_prefix} (the quarantine "
                              f"prefix): {_code(exc) or exc}") from None  # fmt: skip
        try:
            client.put_object(Bucket=self.q_bucket, Key=key, Body=b"2", IfNoneMatch="*")
            honoured = False
        except Exception as exc:
            honoured = _code(exc) in _TAKEN
            if not honoured:
                raise ConfigError(f"{self.describe()}: a conditional write answered {_code(exc) or exc}") from None
        try:
            client.delete_object(Bucket=self.q_bucket, Key=key)
        except Exception as exc:
            log.warning("could not remove the probe object s3://%s/%s: %s", self.q_bucket, key, _code(exc) or exc)
        if not honoured:
            raise ConfigError(f"{self.describe()} ignores conditional writes (If-None-Match): a restore could "
                              "overwrite objects that appear meanwhile, so it refuses to write there")  # fmt: skip

    def part(self, rel: str, attachment_id: int, resume: bool, ref: str | None, size: int = 0) -> S3Part:
        key = self.storage.key(rel)
        if ref is not None and resume and size > PART_SIZE:
            parts = self._parts(key, ref)
            if parts is not None:
                return S3Part(self, key, size, ref, parts)
        if ref is not None:  # an upload of another copy (or of a file now small): not continued
            S3Part(self, key, size, ref, []).discard()
        return S3Part(self, key, size, None, [])

    def _parts(self, key: str, ref: str) -> list[dict] | None:
        """The parts of a killed run's upload, numbered 1..n without a gap; None if it is gone."""
        found: list[dict] = []
        kwargs: dict[str, Any] = {"UploadId": ref}
        try:
            while True:
                page = self.storage.request("list_parts", Key=key, **kwargs)
                found += [{"PartNumber": p["PartNumber"], "ETag": p["ETag"], "Size": int(p["Size"])}
                          for p in page.get("Parts", ())]  # fmt: skip
                if not page.get("IsTruncated"):
                    break
                kwargs["PartNumberMarker"] = page["NextPartNumberMarker"]
        except Exception as exc:
            if _code(exc) in ("NoSuchUpload", "404"):
                return None
            raise
        found.sort(key=lambda p: p["PartNumber"])
        whole = []
        for number, p in enumerate(found, 1):
            if p["PartNumber"] != number or (p["Size"] != PART_SIZE and number != len(found)):
                break
            whole.append(p)
        # A short last part was the upload's end: sent again with whatever else is left.
        return [p for p in whole if p["Size"] == PART_SIZE]

    def place(self, part: Any, rel: str, expected_size: int) -> Placed:
        assert isinstance(part, S3Part)
        condition = {"IfNoneMatch": "*"}
        quarantined = None
        for _ in range(3):
            try:
                part.commit(condition)
            except Exception as exc:
                if _code(exc) not in _TAKEN:
                    raise
            else:
                return Placed("restored", quarantined, None, self.storage.head(rel))
            present = self.storage.head(rel)
            if present.errno == errnos.ENOENT:
                condition = {"IfNoneMatch": "*"}  # gone again: create it
                continue
            if present.errno:
                raise OSError(present.errno, f"{rel}: {present.reason}")
            if present.size == expected_size:
                part.discard()
                return Placed("already_ok", quarantined, "an object of the right size is there now; left alone")
            quarantined = self._quarantine(rel, present)
            condition = {"IfMatch": present.version}
        part.discard()
        return Placed("error", quarantined, "objects kept appearing at the key during the restore; left alone")

    def _quarantine(self, rel: str, present: Probe) -> str:
        """A copy of the object at ``rel`` (exactly the one seen: its ETag) under the quarantine
        prefix, with .1, .2 when an earlier restore kept one there."""
        base = f"{self.q_prefix}/{rel}".lstrip("/")
        name, n = base, 0
        client = self.storage.client
        while True:
            try:
                client.head_object(Bucket=self.q_bucket, Key=name)
            except Exception as exc:
                if _code(exc) in ("404", "NoSuchKey", "NotFound"):
                    break
                raise
            n += 1
            name = f"{base}.{n}"
        source = {"Bucket": self.storage.root.bucket, "Key": self.storage.key(rel)}
        try:
            client.copy_object(Bucket=self.q_bucket, Key=name, CopySource=source, CopySourceIfMatch=present.version)
        except Exception as exc:
            raise Unsafe(f"{rel} could not be quarantined ({_code(exc) or exc}): left alone") from None
        log.info("quarantined %s as s3://%s/%s", rel, self.q_bucket, name)
        return f"s3://{self.q_bucket}/{name}"


def quarantine_of(root: str, configured: str | None) -> str:
    """The quarantine prefix: INSPECTOR_RESTORE_QUARANTINE when it is an s3:// URL, else
    ``inspector-quarantine/<root prefix>`` in the root's bucket (outside every project prefix)."""
    if configured and configured.startswith("s3://"):
        return configured.rstrip("/")
    parsed = parse_root(root)
    return f"s3://{parsed.bucket}/inspector-quarantine" + (f"/{parsed.prefix}" if parsed.prefix else "")


def open_s3_destination(root: str, config: Any) -> S3Destination:
    storage = open_s3(root, config, None)
    return S3Destination(storage, quarantine_of(root, str(config.restore_quarantine)))
