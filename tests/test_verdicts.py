"""Pure per-row logic, no processes and no disks: Jira's layout and the verdicts on probes."""

from __future__ import annotations

import errno
import stat

import pytest

from inspector.config.config import Identity
from inspector.jira import layout
from inspector.scan import verdicts
from inspector.storage import Probe

from .helpers import row

JIRA = Identity(uid=2001, gids=frozenset({2001, 3000}))


def probe(mode=stat.S_IFREG | 0o644, uid=2001, gid=2001, size=10, err=0) -> Probe:
    return Probe(err, mode, uid, gid, size, 0)


@pytest.mark.parametrize(
    ("num", "expected"),
    [(1, 10000), (9999, 10000), (10000, 10000), (10001, 20000), (20000, 20000), (20001, 30000), (123456, 130000)],
)
def test_bucket_edges(num, expected):
    assert layout.bucket(num) == expected


def test_renamed_project_uses_original_key_for_every_level():
    assert layout.row_folder(row(issue_num=10001)) == "OLD/20000/OLD-10001"


@pytest.mark.parametrize(
    ("kw", "flag", "words"),
    [
        ({"issue_exists": False, "project_id": None, "issue_num": None}, "missing", "issue 500 does not exist"),
        ({"project_id": None}, "missing", "project of issue 500"),
        ({"issue_num": None}, "missing", "no issue number"),
        ({"original_key": "A/../B"}, "error", "not a plain Jira key"),
        ({"original_key": "../.."}, "error", "not a plain Jira key"),
        ({"original_key": ""}, "error", "not a plain Jira key"),
        ({"original_key": "AB\n"}, "error", "not a plain Jira key"),
    ],
)
def test_rows_without_a_folder(kw, flag, words):
    r = row(**kw)
    assert layout.row_folder(r) is None and layout.row_path(r) is None
    verdict = verdicts.unplaced(r)
    assert verdict.flag == flag and words in verdict.detail


@pytest.mark.parametrize("key", ["AB", "A1", "JIRA_2", "X"])
def test_plain_keys(key):
    assert layout.is_plain_key(key)


@pytest.mark.parametrize("num", [1, 7, 10000, 10001, 123456])
def test_folder_issue_inverts_issue_folder(num):
    r = row(issue_num=num)
    assert layout.folder_issue(layout.row_folder(r)) == (r.original_key, num)


@pytest.mark.parametrize(
    "rel",
    ["OLD/10000", "OLD/10000/OLD-7/x", "OLD/20000/OLD-7", "OLD/10000/OLD-07", "OLD/10000/NEW-7", "OLD/10000/OLD-",
     "OLD/10000/OLD-٣", "o.d/10000/o.d-7", "OLD/10000/OLD-7x"],
)  # fmt: skip
def test_folder_issue_refuses_what_no_row_resolves_to(rel):
    assert layout.folder_issue(rel) is None


@pytest.mark.parametrize(
    ("name", "claimed"),
    [
        ("10100", 10100),
        ("10100_report.pdf", 10100),
        ("_x", None),
        ("abc", None),
        ("٣٣", None),
        ("9" * 25, None),
        ("９", None),
        ("9" * 18, int("9" * 18)),
        ("9" * 19 + "_x", None),
        ("12_", 12),
    ],
)
def test_claimed_id(name, claimed):
    assert layout.claimed_id(name) == claimed


@pytest.mark.parametrize(
    ("mode", "uid", "gid", "readable"),
    [
        (0o400, 2001, 0, True),  # owner bit
        (0o040, 2001, 2001, False),  # owner bits win even when the group could read
        (0o040, 0, 2001, True),  # primary group
        (0o040, 0, 3000, True),  # supplementary group
        (0o004, 0, 0, True),  # others
        (0o600, 0, 0, False),  # root-owned private file: the bad `chown -R` case
        (0o000, 2001, 2001, False),
    ],
)
def test_can_read_is_evaluated_for_the_jira_account(mode, uid, gid, readable):
    assert verdicts.can_read(stat.S_IFREG | mode, uid, gid, JIRA) is readable


def test_root_identity_reads_everything():
    assert verdicts.can_read(stat.S_IFREG, 5, 5, Identity(0, frozenset({0})))


def test_can_enter_needs_execute_not_read():
    assert not verdicts.can_enter(stat.S_IFDIR | 0o644, 2001, 2001, JIRA)
    assert verdicts.can_enter(stat.S_IFDIR | 0o711, 0, 0, JIRA)


def _dirs(*probes):
    return [(rel, p) for rel, p in zip(["", "K", "K/10000", "K/10000/K-1"], probes, strict=False)]


def test_folder_verdicts():
    ok = probe(mode=stat.S_IFDIR | 0o755)
    assert verdicts.folder_verdict(_dirs(ok, ok, ok, ok), JIRA) == (None, False)
    verdict, final = verdicts.folder_verdict(_dirs(ok, ok, probe(err=errno.ENOENT)), JIRA)
    assert final and verdict.flag == "missing" and "K/10000" in verdict.detail
    verdict, final = verdicts.folder_verdict(_dirs(ok, probe(err=errno.EACCES)), JIRA)
    assert final and verdict.flag == "permissions"
    verdict, final = verdicts.folder_verdict(_dirs(ok, probe(mode=stat.S_IFREG | 0o644)), JIRA)
    assert final and verdict.flag == "missing" and "not a folder" in verdict.detail
    locked = probe(mode=stat.S_IFDIR | 0o700, uid=0, gid=0)
    verdict, final = verdicts.folder_verdict(_dirs(ok, locked, ok, ok), JIRA)
    assert not final and verdict.flag == "permissions" and "mode 0700 owner 0:0" in verdict.detail
    verdict, final = verdicts.folder_verdict(_dirs(ok, probe(err=errno.EIO)), JIRA)
    assert final and verdict.flag == "error" and "EIO" in verdict.detail


def test_file_verdicts():
    r = row(filesize=10)
    assert verdicts.file_verdicts(r, "x", probe(size=10), JIRA) == []
    [v] = verdicts.file_verdicts(r, "x", probe(size=11), JIRA)
    assert v == verdicts.Verdict("corrupted", "expected 10 bytes, found 11")
    [v] = verdicts.file_verdicts(r, "x", probe(mode=stat.S_IFDIR | 0o755), JIRA)
    assert v.flag == "corrupted" and "folder" in v.detail
    [v] = verdicts.file_verdicts(r, "x", probe(mode=stat.S_IFIFO | 0o644), JIRA)
    assert v.flag == "corrupted" and "not a regular file" in v.detail
    both = verdicts.file_verdicts(r, "x", probe(size=3, mode=stat.S_IFREG | 0o600, uid=0, gid=0), JIRA)
    assert [v.flag for v in both] == ["corrupted", "permissions"]
    [v] = verdicts.file_verdicts(r, "x", Probe(errno.ENOENT, dangling_symlink=True), JIRA)
    assert v.flag == "missing" and "dangling symlink" in v.detail
    [v] = verdicts.file_verdicts(r, "x", Probe(errno.ELOOP), JIRA)
    assert v.flag == "error" and "ELOOP" in v.detail
    assert verdicts.file_verdicts(row(filesize=None), "x", probe(size=99), JIRA) == []


def test_result_sets_independent_flags_and_joins_details():
    from inspector.jira.model import FLAG_BITS, RESULT_COLUMNS

    found = [
        verdicts.Verdict("permissions", "a"),
        verdicts.Verdict("corrupted", "b"),
        verdicts.Verdict("permissions", "c"),
    ]
    named = dict(zip(RESULT_COLUMNS, verdicts.result(3, row(), "K/1", probe(size=4), found), strict=True))
    assert named["pass_id"] == 3 and named["actual_size"] == 4 and named["filename"] == "a.txt"
    assert named["flags"] == FLAG_BITS["permissions"] | FLAG_BITS["corrupted"]
    assert named["detail"] == "a; b; c"
    clean = dict(zip(RESULT_COLUMNS, verdicts.result(3, row(), "K/1", probe(), []), strict=True))
    assert clean["flags"] == 0 and clean["detail"] is None


@pytest.mark.parametrize("filesize", [None, 0, 10, 11])
@pytest.mark.parametrize("kind", [stat.S_IFREG, stat.S_IFDIR, stat.S_IFLNK, stat.S_IFIFO])
@pytest.mark.parametrize("perm", [0o000, 0o004, 0o040, 0o400, 0o600, 0o644])
@pytest.mark.parametrize(("uid", "gid"), [(2001, 2001), (0, 0), (0, 3000), (2001, 0)])
def test_fast_path_agrees_with_the_full_rules(filesize, kind, perm, uid, gid):
    r = row(filesize=filesize)
    p = probe(mode=kind | perm, uid=uid, gid=gid, size=10)
    fast = verdicts.healthy(1, r, "x", p, JIRA)
    assert (fast is not None) == (verdicts.file_verdicts(r, "x", p, JIRA) == [])
    if fast is not None:  # the fast path's row is the full rules' row
        assert fast == verdicts.result(1, r, "x", p, [])


def test_a_storage_without_owners_judges_no_account():
    """Object storage has no owner or mode: ``identity`` None reads and enters everything, and
    only what the storage answers (a denial, a wrong size) is a finding."""
    assert verdicts.can_read(stat.S_IFREG, 0, 0, None) and verdicts.can_enter(stat.S_IFDIR, 0, 0, None)
    assert verdicts.file_verdicts(row(), "x", probe(mode=stat.S_IFREG | 0o600, uid=0, gid=0), None) == []
    [v] = verdicts.file_verdicts(row(), "x", Probe(errno.EACCES), None)
    assert v.flag == "permissions"


def test_a_read_denied_or_failed_keeps_the_size_the_listing_gave():
    """S3 with VERIFY_READ: the HEAD is denied (or fails) but the listing showed the object's size:
    a size other than Jira's is still corrupted, as the file-system scan would say both."""
    from inspector.jira.model import FILESIZE

    r = row()
    size = r[FILESIZE]

    def flags(probe: Probe) -> list[str]:
        return [v.flag for v in verdicts.file_verdicts(r, "x", probe, None)]

    denied = verdicts.file_verdicts(r, "x", Probe(errno.EACCES, size=size + 1, reason="AccessDenied (HTTP 403)"), None)
    assert [v.flag for v in denied] == ["corrupted", "permissions"]
    assert f"expected {size} bytes, the listing shows {size + 1}" in denied[0].detail
    assert flags(Probe(errno.EIO, size=size + 1, reason="InternalError (HTTP 500)")) == ["corrupted", "error"]
    assert flags(Probe(errno.EACCES, size=size)) == flags(Probe(errno.EACCES)) == ["permissions"]
