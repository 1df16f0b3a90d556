"""Shards: one pass split across the pods of a Kubernetes Indexed Job (``INSPECTOR_SHARDS=N``,
``INSPECTOR_SHARD_INDEX=i``, by default the pod's ``JOB_COMPLETION_INDEX``).

Who owns what is a pure function of the thing itself, never of a boundary computed at start,
so every pod decides alike whenever it starts, and whatever rows are added during the pass:

- an attachment row belongs to shard ``id mod N``: Jira's ids are sequential, so each shard gets
  an equal share of any range of them however the ids cluster (a database's statistics or
  quantiles would balance as well, but pods starting minutes apart could read different ones);
- an issue folder of the orphan walk belongs to shard ``crc32("KEY/bucket/KEY-n") mod N``: every
  shard lists the few project and bucket folders, each enters only its own issue folders (a
  stable hash spreads them evenly; there are thousands where there are tens of buckets), and
  what lies loose in a bucket folder is the shard's that owns ``crc32("KEY/bucket")``, loose
  files at the root shard 0's. Object storage is listed whole by every shard (a request lists
  1,000 objects, and a shard's rows settle from its own listing: the merge keeps each object
  once);
- a Jira Cloud partition (a project, or a range of a big one's issue numbers) belongs to shard
  ``crc32(name) mod N``.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Shard:
    count: int = 1
    index: int = 0

    def owns_id(self, attachment_id: int) -> bool:
        return self.count == 1 or attachment_id % self.count == self.index

    def owns_name(self, name: str) -> bool:
        """A folder (``KEY/bucket``, ``KEY/bucket/KEY-n``) or a Cloud project, by its name."""
        return self.count == 1 or of_text(name, self.count) == self.index

    def __str__(self) -> str:
        return f"shard {self.index} of {self.count}"


WHOLE = Shard()  # no sharding: one run owns everything


def of_text(text: str, count: int) -> int:
    return zlib.crc32(text.encode("utf-8", "surrogateescape")) % count
