"""POSIX access ACLs, evaluated for the Jira account: each answer of ``acl.allows`` held against
the kernel's own, on real files whose ACLs ``setfacl`` wrote (the kernel's answer: opening the
file, or entering the folder, as the Jira account, with ``storage.account``), then a scan of a
tree where ACLs grant what the mode denies and take what it seems to allow."""

from __future__ import annotations

import os
import random
import shutil
import subprocess
import threading

import pytest

from inspector.scan import acl
from inspector.storage.account import Account

from .helpers import ids_in, inspector_env, run_cli

JIRA = Account(2001, 2001, {2001, 3000})
GIDS = frozenset({2001, 3000})

pytestmark = pytest.mark.skipif(shutil.which("setfacl") is None and not os.environ.get("CI"),
                                reason="setfacl is not installed (Debian: acl)")  # fmt: skip


def _kernel(path: str, folder: bool) -> bool:
    """What the kernel lets the Jira account do: enter the folder, or open the file to read."""
    answer: list[bool] = []

    def attempt() -> None:
        with JIRA.acting():
            try:
                if folder:
                    os.stat(os.path.join(path, "probe"))
                else:
                    os.close(os.open(path, os.O_RDONLY))
                answer.append(True)
            except PermissionError:
                answer.append(False)
            except FileNotFoundError:  # entered the folder: the name just is not there
                answer.append(True)

    thread = threading.Thread(target=attempt)
    thread.start()
    thread.join()
    return answer[0]


def _setfacl(path: str, spec: str) -> None:
    subprocess.run(["setfacl", "--set", spec, path], check=True, capture_output=True)


CASES = [
    ("u::rw-,u:2001:r--,g::---,m::r--,o::---", 0, 0, True),  # a named entry grants what the mode denies
    ("u::rw-,u:2001:---,g::r--,m::r--,o::r--", 0, 0, False),  # ...and takes what "other" would give
    ("u::rw-,g::r--,g:3000:---,m::r--,o::---", 0, 0, False),  # no group of it grants: other is not asked
    ("u::rw-,g::---,g:3000:r--,m::---,o::r--", 0, 0, True),  # a mask of --- : the kernel asks the mode
    ("u::rw-,g::---,g:3000:r--,m::--x,o::r--", 0, 0, False),  # the mask takes the named group's read
    ("u::rw-,g::---,g:3000:r--,m::r--,o::---", 0, 0, True),
    ("u::---,u:4000:rwx,g::---,m::rwx,o::r--", 2001, 0, False),  # the owner entry alone decides for the owner
    ("u::r--,u:2001:---,g::---,m::---,o::---", 2001, 0, True),  # (a named entry for the owner is not asked)
    ("u::rw-,g::r--,m::r--,o::---", 0, 2001, True),  # the owning group
]


@pytest.mark.parametrize("spec,owner,group,expected", CASES)
def test_allows_is_the_kernels_answer_on_files(workdir, spec, owner, group, expected):
    path = str(workdir / "f")
    with open(path, "w") as f:
        f.write("x")
    os.chown(path, owner, group)
    _setfacl(path, spec)
    entries = acl.parse(os.getxattr(path, acl.XATTR))
    assert entries is not None
    allowed, why = acl.allows(entries, acl.READ, owner, group, 2001, GIDS)
    assert allowed == _kernel(path, folder=False) == expected, why


def test_allows_is_the_kernels_answer_on_random_acls(workdir):
    rng = random.Random(7)
    bits = ["---", "r--", "r-x", "--x", "rwx"]
    checked = 0
    for n in range(80):
        folder = n % 2 == 1
        path = str(workdir / f"x{n}")
        os.mkdir(path) if folder else open(path, "w").close()
        owner, group = rng.choice([(0, 0), (0, 2001), (0, 3000), (5000, 5000), (2001, 0)])
        os.chown(path, owner, group)
        parts = [f"u::{rng.choice(bits)}", f"g::{rng.choice(bits)}", f"o::{rng.choice(bits)}"]
        for who in rng.sample(["u:2001", "u:4000", "g:2001", "g:3000", "g:4000"], rng.randint(0, 3)):
            parts.append(f"{who}:{rng.choice(bits)}")
        if any(p.count(":") == 2 and not p.startswith(("u::", "g::", "o::")) for p in parts) or rng.random() < 0.5:
            parts.append(f"m::{rng.choice(bits)}")
        _setfacl(path, ",".join(parts))
        try:
            raw = os.getxattr(path, acl.XATTR)
        except OSError:  # a minimal ACL is only the mode: judged by it, as a file without an ACL
            continue
        entries = acl.parse(raw)
        assert entries is not None
        want = acl.EXECUTE if folder else acl.READ
        allowed, why = acl.allows(entries, want, owner, group, 2001, GIDS)
        assert allowed == _kernel(path, folder), (",".join(parts), owner, group, why)
        checked += 1
    assert checked > 30


def test_parse_refuses_what_is_not_an_acl():
    assert acl.parse(b"") is None and acl.parse(b"\x01\x00\x00\x00") is None
    assert acl.parse(b"\x02\x00\x00\x00" + b"\x01\x00\x06\x00") is None  # a torn entry


def test_a_scan_reads_acls_where_they_decide(jira, workdir):
    from jiraworld import world

    root = workdir / "attachments"
    expected = world.build(jira.admin_dsn, root, world.WorldSpec(attachments=80, fault_rate=0, seed=21,
                                                                 lock_folders=False))  # fmt: skip
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name.isdigit() and int(p.name) in expected.issue_of)
    granted, taken, entered = files[0], files[1], files[2]
    os.chown(granted, 0, 0)
    os.chmod(granted, 0o600)
    _setfacl(str(granted), "u::rw-,u:2001:r--,g::---,m::r--,o::---")  # the mode denies, the ACL grants
    os.chown(taken, 0, 0)
    os.chmod(taken, 0o644)
    _setfacl(str(taken), "u::rw-,u:2001:---,g::r--,m::r--,o::r--")  # the mode allows, the ACL takes it
    issue = entered.parent
    os.chown(issue, 0, 0)
    _setfacl(str(issue), "u::rwx,u:2001:r-x,g::---,m::r-x,o::---")  # a folder only the ACL opens
    result = run_cli([], inspector_env(jira, root, workdir))
    assert result.returncode == 0, result.stderr
    flagged = ids_in(workdir / "report/permissions.txt")
    assert int(taken.name) in flagged and int(granted.name) not in flagged and int(entered.name) not in flagged
    lines = (workdir / "report/permissions.txt").read_text().splitlines()
    detail = next(line for line in lines if f"/secure/attachment/{taken.name}/" in line)
    assert "ACL user:2001:---" in detail
