"""The orphan walk on a real tree: names only, thumbnails skipped, symlink loops survived,
resume skipping finished units, and folders the account cannot list recorded, not fatal."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inspector.config.config import Identity
from inspector.scan.stages.walker import Claims, Walk, entries_of
from inspector.storage import text_path
from inspector.storage.posix import PosixStorage

from .helpers import as_jira_account, put


def entries(root: Path, after=None) -> dict[str, tuple]:
    units = Walk(PosixStorage(root)).units(after)
    return {rel: (claimed, kind) for _, it in units for rel, claimed, _, kind, _ in entries_of(it)}


def test_walk_lists_files_with_claimed_ids_and_skips_thumbnails(tmp_path):
    put(tmp_path, "A/10000/A-1/100")
    put(tmp_path, "A/10000/A-1/101_old name.txt")
    put(tmp_path, "A/10000/A-1/thumbs/_thumb_100.png")
    put(tmp_path, "A/10000/A-1/notes.txt")
    put(tmp_path, "A/10000/A-1/sub/deeper/7")
    put(tmp_path, "A/10000/thumbs/x")  # only <issue folder>/thumbs is Jira's
    put(tmp_path, "A/stray")
    put(tmp_path, "loose.bin")
    found = entries(tmp_path)
    assert found == {
        "A/10000/A-1/100": (100, "file"),
        "A/10000/A-1/101_old name.txt": (101, "file"),
        "A/10000/A-1/notes.txt": (None, "file"),
        "A/10000/A-1/sub/deeper/7": (None, "file"),
        "A/10000/thumbs/x": (None, "file"),
        "A/stray": (None, "file"),
        "loose.bin": (None, "file"),
    }


def test_symlinked_folders_are_followed_once_and_loops_end(tmp_path):
    put(tmp_path / "disk2", "B/10000/B-1/5")
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(tmp_path / "disk2/B", root / "B")
    os.symlink("..", tmp_path / "disk2/B/10000/B-1/up")  # a loop back up the tree
    found = entries(root)
    assert found["B/10000/B-1/5"] == (5, "file")
    assert len(found) < 10


def test_dangling_and_looping_symlinks_are_listed_as_symlinks(tmp_path):
    (tmp_path / "A/10000/A-1").mkdir(parents=True)
    os.symlink("/nonexistent", tmp_path / "A/10000/A-1/9")
    os.symlink("8", tmp_path / "A/10000/A-1/8")
    put(tmp_path, "A/10000/A-1/7")
    assert entries(tmp_path) == {
        "A/10000/A-1/9": (9, "symlink"),
        "A/10000/A-1/8": (8, "symlink"),
        "A/10000/A-1/7": (7, "file"),
    }


def test_resume_skips_finished_units_in_sorted_order(tmp_path):
    for rel in ("A/10000/A-1/1", "A/20000/A-10001/2", "B/10000/B-1/3", "C/10000/C-1/4"):
        put(tmp_path, rel)
    assert sorted(entries(tmp_path, after=("A", "20000"))) == ["B/10000/B-1/3", "C/10000/C-1/4"]
    units = [u for u, it in Walk(PosixStorage(tmp_path)).units(None) if list(it) is not None]
    assert units == list(enumerate([("A", "10000"), ("A", "20000"), ("B", "10000"), ("C", "10000")]))


def test_undecodable_names_are_stored_visibly(tmp_path):
    (tmp_path / "A/10000/A-1").mkdir(parents=True)
    open(os.path.join(os.fsencode(tmp_path / "A/10000/A-1"), b"bad\xffname"), "wb").close()
    assert "A/10000/A-1/bad\\xffname" in entries(tmp_path)


def _tree_with_a_folder_only_root_enters(root: Path) -> Path:
    """A-1 belongs to the Jira account (uid 2001); A-2 is root's, mode 0700."""
    for rel in ("A/10000/A-1/1", "A/10000/A-2/2"):
        put(root, rel)
    for dirpath, _, _ in os.walk(root):
        os.chown(dirpath, 2001, 2001)
    os.chown(root / "A/10000/A-2", 0, 0)
    os.chmod(root / "A/10000/A-2", 0o700)
    return root


def test_folder_the_account_cannot_list_is_recorded(workdir):
    root = _tree_with_a_folder_only_root_enters(workdir / "attachments")
    found = as_jira_account(lambda: entries(root))
    assert found == {"A/10000/A-1/1": (1, "file"), "A/10000/A-2": (None, "unlistable")}


def test_slow_listings_go_wide_and_keep_everything_in_order(tmp_path, monkeypatch):
    import time

    for i in range(1, 60):
        put(tmp_path, f"A/10000/A-{i}/{i}")
    sequential = [e for _, it in Walk(PosixStorage(tmp_path)).units(None) for e in entries_of(it)]

    class SlowWalk(Walk):
        def _issue_folder(self, rel):
            time.sleep(0.01)  # an NFS round trip or two per listing
            return super()._issue_folder(rel)

    walk = SlowWalk(PosixStorage(tmp_path), threads=16)
    started = time.perf_counter()
    wide = [e for _, it in walk.units(None) for e in entries_of(it)]
    assert wide == sequential and len(wide) == 59
    assert time.perf_counter() - started < 0.3  # 59 listings of 10 ms one after another take 0.6 s


@pytest.mark.faults
def test_a_listing_that_hangs_is_recorded_as_unlistable_and_the_walk_goes_on(tmp_path):
    import threading
    import time

    for i in range(1, 30):
        put(tmp_path, f"A/10000/A-{i}/{i}")
    release = threading.Event()

    class HangingWalk(Walk):
        def _issue_folder(self, rel):
            if rel.endswith("/A-12"):
                release.wait(30)  # a listing on an NFS server that went away
            return super()._issue_folder(rel)

    started = time.monotonic()
    walk = HangingWalk(PosixStorage(tmp_path), threads=1, timeout=0.3)
    entries = [e for _, it in walk.units(None) for e in entries_of(it)]
    took = time.monotonic() - started
    release.set()
    assert ("A/10000/A-12", None, None, "unlistable", None) in entries
    files = {rel for rel, _, _, kind, _ in entries if kind == "file"}
    assert files == {f"A/10000/A-{i}/{i}" for i in range(1, 30) if i != 12}
    assert [e[0] for e in entries] == sorted(e[0] for e in entries)  # order kept
    assert took < 2 and walk.watchdog.hung == 1


JIRA = Identity(uid=2001, gids=frozenset({2001}))


def blocked(root: Path, identity: Identity | None = JIRA) -> list[tuple]:
    walk = Walk(PosixStorage(root), identity=identity)
    for _, it in walk.units(None):
        list(it)
    return sorted(walk.take_blocked())


def test_issue_folders_jira_cannot_enter_are_judged_from_the_listing(tmp_path):
    for rel in ("A/10000/A-1/1", "A/10000/A-2/2", "A/20000/A-3/3", "A/10000/A-04/4", "A/10000/notes/5"):
        put(tmp_path, rel)
    for rel in ("A/10000/A-2", "A/20000/A-3", "A/10000/A-04", "A/10000/notes"):
        os.chown(tmp_path / rel, 0, 0)
        os.chmod(tmp_path / rel, 0o700)
    # A-3 sits in the wrong bucket and A-04 / notes are not names Jira gives: no row resolves there.
    assert blocked(tmp_path) == [("A", 2, "A/10000/A-2", "Jira cannot enter A/10000/A-2/ (mode 0700 owner 0:0)")]
    assert blocked(tmp_path, Identity(0, frozenset({0}))) == []
    assert blocked(tmp_path, None) == []  # no identity given: nothing judged
    walk = Walk(PosixStorage(tmp_path), identity=JIRA)
    for _, it in walk.units(None):
        list(it)
    assert len(walk.take_blocked()) == 1 and walk.take_blocked() == []  # handed out once


def test_an_issue_folder_we_cannot_list_is_still_judged(workdir):
    root = _tree_with_a_folder_only_root_enters(workdir / "attachments")
    found = as_jira_account(lambda: blocked(root))
    assert found == [("A", 2, "A/10000/A-2", "Jira cannot enter A/10000/A-2/ (mode 0700 owner 0:0)")]


def test_walkers_claim_units_one_at_a_time_and_together_see_everything(tmp_path):
    root = tmp_path / "root"
    for p in ("A", "B", "C"):
        for b in (10000, 20000, 30000):
            put(root, f"{p}/{b}/{p}-{b - 1}/1")
    put(root, "loose.bin")
    # Two bucket folders that are symlinks to one folder: entered once, whoever claims them.
    put(tmp_path / "disk2", "shared/D-1/2")
    (root / "D").mkdir()
    for b in (10000, 20000):
        os.symlink(tmp_path / "disk2/shared", root / f"D/{b}")
    whole = entries(root)
    assert [rel for rel in whole if rel.startswith("D/")] == ["D/10000/D-1/2", "D/20000"]
    claims = Claims.local(None)
    walkers = [Walk(PosixStorage(root)).units(None, claims, i) for i in range(3)]
    seen, claimed = {}, []
    for turn in range(40):  # the three take turns, as processes would interleave
        got = next(walkers[turn % 3], None)
        if got is None:
            continue
        unit, it = got
        claimed += [unit] if unit else []
        for rel, claimed_id, _, kind, _ in entries_of(it):
            assert rel not in seen  # nothing twice
            seen[rel] = (claimed_id, kind)
    assert seen == whole  # nothing lost
    assert [seq for seq, _ in claimed] == list(range(11))  # numbered in claim order
    assert [u for _, u in claimed] == sorted(u for _, u in claimed)  # handed out in sorted order
    assert sum(1 for rel in seen if rel == "loose.bin") == 1


def test_a_claim_is_the_first_unit_of_the_walkers_own_list_after_the_last_one_claimed():
    units = sorted((p, b) for p in ("A", "B", "Z_9", "\u00c4", "x\udcff") for b in ("10000", "110000", "20000"))
    claims = Claims.local(("B", "15000"))  # a checkpoint no unit has: resumed after it
    got = []
    while (claim := claims.next(units)) is not None:
        got.append(claim)
    assert got == list(enumerate(u for u in units if u > ("B", "15000")))

    # Two walkers whose listings differ (one folder went away in between): each takes the first
    # of its own list after whatever was claimed last, by either.
    claims, fewer, last, expected = Claims.local(None), [u for u in units if u != units[4]], None, []
    lists = [units if i % 2 else fewer for i in range(len(units) + 2)]  # fewer's turn when units[4] is next
    for own in lists:
        last = next((u for u in own if last is None or u > last), None)
        expected += [last] if last else []
        last = last or expected[-1]
    got = [claims.next(own) for own in lists]
    assert [u for _, u in filter(None, got)] == expected == [u for u in units if u != units[4]]
    assert [seq for seq, _ in filter(None, got)] == list(range(len(expected)))


def test_claims_resume_after_the_checkpoint(tmp_path):
    for p in ("A", "B"):
        put(tmp_path, f"{p}/10000/{p}-1/1")
    units = [u for u, _ in Walk(PosixStorage(tmp_path)).units(("A", "10000"), Claims.local(("A", "10000")))]
    assert units == [(0, ("B", "10000"))]


@pytest.mark.parametrize(
    ("rel", "text"),
    [("A/10000/A-1/5", "A/10000/A-1/5"), ("A/10000/A-1/ä 1.txt", "A/10000/A-1/ä 1.txt"),
     (os.fsdecode(b"A/10000/A-1/x\xff"), "A/10000/A-1/x\\xff")],
)  # fmt: skip
def test_paths_are_stored_as_text_with_undecodable_bytes_escaped(rel, text):
    assert text_path(rel) == text
