"""Jira's own ``<local home>/filestore-config.xml``: where Data Center 9.9+ keeps attachments
in S3 (the bucket, region and endpoint override of its ``attachments`` association), read so
that the admin need not copy them into ``INSPECTOR_*`` variables."""

from __future__ import annotations

from typing import NamedTuple


class Filestore(NamedTuple):
    bucket: str
    region: str | None
    endpoint: str | None


def read_filestore_config(path: str) -> Filestore:
    """Bucket, region and endpoint override of the ``attachments`` association in Jira's
    ``<local home>/filestore-config.xml``; raises ValueError saying what is missing."""
    import xml.etree.ElementTree as ET

    try:
        tree = ET.parse(path)
    except OSError as exc:
        raise ValueError(f"cannot read '{path}': {exc.strerror}") from None
    except ET.ParseError as exc:
        raise ValueError(f"'{path}' is not XML: {exc}") from None
    root = tree.getroot()
    association = next((a for a in root.iter("association") if a.get("target") == "attachments"), None)
    if association is None:
        raise ValueError(f"'{path}' has no <association target=\"attachments\">: Jira keeps attachments on disk")
    store_id = association.get("file-store")
    store = next((s for s in root.iter("s3-filestore") if s.get("id") == store_id), None)
    if store is None:
        raise ValueError(f"'{path}': no <s3-filestore> has the id '{store_id}' that the attachments association names")

    def text(name: str) -> str | None:
        element = store.find(f"config/{name}")
        return element.text.strip() if element is not None and element.text and element.text.strip() else None

    bucket = text("bucket-name")
    if bucket is None:
        raise ValueError(f"'{path}': <s3-filestore id=\"{store_id}\"> has no <bucket-name>")
    return Filestore(bucket, text("region"), text("endpoint-override"))
