"""The write side of the Storage seam: where ``inspector restore --apply`` puts verified copies.

The scan's storages only read. A restore writes through a ``Destination``, which knows four
things: make the folders on the way, write a copy under a temporary name (a ``Part``), place
the verified copy under the attachment's name without ever replacing what appeared there, and
move a corrupted file (or whatever else sits at that name) into the quarantine first. The
restore itself never touches a path. Backends: ``posixwrite`` (a folder, written as the Jira
account through descriptors, never through a link) and ``s3write`` (conditional writes,
multipart uploads a killed run continues).
"""

from __future__ import annotations

from typing import NamedTuple, Protocol

from . import Probe, scheme


class Unsafe(Exception):
    """A row the destination will not write, and why (a link where a folder should be, a name
    Jira's account may not write): the row's error, never a write as anyone else."""


class Placed(NamedTuple):
    status: str  # restored | already_ok | error (plan's statuses)
    quarantined: str | None = None
    message: str | None = None
    final: Probe | None = None  # what is at the attachment's name afterwards


class Part(Protocol):
    """A copy being written under a temporary name."""

    ref: str | None  # what the state keeps to find this part again (an S3 upload id)
    offset: int  # bytes already there when it was opened (a continued copy)
    readable: bool  # read_at reads back what was written (else the caller hashes the source)
    placed: bool  # a run killed after placing it: the restore itself is complete

    def write_at(self, offset: int, data: bytes) -> None: ...

    def read_at(self, offset: int, size: int) -> bytes: ...

    def size(self) -> int: ...

    def restart(self) -> None:
        """Drop what was written; the copy starts again at byte 0."""
        ...

    def finish(self) -> None:
        """Make what was written durable (before it is placed)."""
        ...

    def discard(self) -> None:
        """Remove the part (a failed or refused copy)."""
        ...

    def close(self) -> None:
        """Keep the part for the next run (stopped, or the backup went away)."""
        ...


class Destination(Protocol):
    def describe(self) -> str: ...

    def check(self) -> None:
        """Before the first write: raise ConfigError, in one line, where this destination cannot
        be written safely (no way to write as the Jira account; a server that ignores
        conditional writes)."""
        ...

    def part(self, rel: str, attachment_id: int, resume: bool, ref: str | None, size: int = 0) -> Part:
        """The temporary copy of ``rel`` (``size`` bytes once whole): the one a run before left
        when ``resume`` (its ``ref`` as the state recorded it), else a new one, dropping whatever
        had that name."""
        ...

    def place(self, part: Part, rel: str, expected_size: int) -> Placed:
        """The verified part under the attachment's name: never over a file of the right size,
        never over anything that appeared meanwhile without quarantining it first."""
        ...

    def close(self) -> None: ...


def open_destination(root: str, config: object) -> Destination:
    """The destination of a configured attachments root."""
    if scheme(root) == "s3":
        from .s3write import open_s3_destination

        return open_s3_destination(root, config)
    from .posixwrite import open_posix_destination

    return open_posix_destination(root, config)
