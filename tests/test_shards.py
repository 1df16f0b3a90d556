"""One pass split into shards (INSPECTOR_SHARDS, one process each, as the pods of a Kubernetes
Indexed Job), then ``inspector report --merge``: the merged report equals a single run's,
byte for byte in its lists and counts, also after a shard was killed and run again; sets that
do not belong together are refused."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import orjson
import pytest

from inspector.scan.shards import Shard, of_text
from jiraworld import world

from .helpers import inspector_env, report_files, run_cli

SHARDS = 3


def _world(jira, workdir):
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=900, hostile_rate=0.1, duplicate_rate=0.05))
    return root


def _shard_env(jira, root, workdir, index: int, **extra: str) -> dict[str, str]:
    env = inspector_env(jira, root, workdir, INSPECTOR_SHARDS=str(SHARDS), JOB_COMPLETION_INDEX=str(index), **extra)
    env["INSPECTOR_STATE_DB"] = str(workdir / f"shard-{index}.sqlite")
    env["INSPECTOR_REPORT_DIR"] = str(workdir / f"report-{index}")
    return env


def _comparable(report_dir: Path) -> dict:
    """The lists byte for byte, the summary without its times, and the storage analytics."""
    files = report_files(report_dir)
    for said in ("merged_shards", "run_id"):  # what a merge says of itself (held in the tests that merge)
        files["summary"].pop(said)
    files["storage.json"] = orjson.loads((report_dir / "storage.json").read_bytes())
    return files


def test_ownership_is_a_pure_function_of_the_thing():
    shards = [Shard(SHARDS, i) for i in range(SHARDS)]
    for attachment_id in range(10_000, 10_300):
        assert sum(s.owns_id(attachment_id) for s in shards) == 1
    units = [
        (key, str(b))
        for key in ("ALPHA", "BRAVO", "CHARLIE", "DELTA", "É\udcff")
        for b in range(10_000, 90_000, 10_000)
    ]
    for unit in units:
        assert sum(s.owns_name("/".join(unit)) for s in shards) == 1
    assert of_text("ALPHA/10000", 7) == of_text("ALPHA/10000", 7)  # stable, not Python's salted hash()
    assert Shard().owns_id(5) and Shard().owns_name("A/1")


def test_three_shards_merged_equal_one_run(jira, workdir):
    root = _world(jira, workdir)
    single = run_cli([], inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "single")))
    assert single.returncode == 0, single.stderr
    command = [sys.executable, "-m", "inspector"]
    procs = [
        subprocess.Popen(command, env=_shard_env(jira, root, workdir, i), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for i in range(SHARDS)
    ]  # fmt: skip
    for i, proc in enumerate(procs):
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        # A shard's own summary says what it is, and that its orphans are the merge's to decide.
        assert f"shard   {i} of {SHARDS}" in out and "candidates: report --merge decides" in out, out
    assert "shard " not in single.stdout and "candidates" not in single.stdout
    merged_env = inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    merged = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], merged_env)
    assert merged.returncode == 0, merged.stderr
    assert _comparable(workdir / "merged") == _comparable(workdir / "single")
    said = orjson.loads((workdir / "merged/summary.json").read_bytes())
    assert said["merged_shards"] == SHARDS and said["run_id"] is None
    assert orjson.loads((workdir / "single/summary.json").read_bytes())["merged_shards"] == 0
    # Orphans are sized where the shards found them, whatever root this environment names.
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    other = dict(merged_env, INSPECTOR_ATTACHMENTS_ROOT=str(elsewhere), INSPECTOR_REPORT_DIR=str(workdir / "merged2"))
    again = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], other)
    assert again.returncode == 0 and f"the shards checked {root}" in again.stderr, again.stderr
    assert _comparable(workdir / "merged2") == _comparable(workdir / "single")
    # The shares: every row in exactly one shard, and close to a third each.
    counts = []
    for i in range(SHARDS):
        with sqlite3.connect(workdir / f"shard-{i}.sqlite") as conn:
            counts.append(conn.execute("SELECT count(*) FROM results").fetchone()[0])
            assert {r[0] % SHARDS for r in conn.execute("SELECT id FROM results")} == {i}
    assert sum(counts) == 900 and max(counts) - min(counts) <= 2
    # --sql over the merged pass answers for the whole instance.
    total = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite"), "--format", "csv", "--sql",
                     "SELECT count(*) AS n FROM attachments"], merged_env)  # fmt: skip
    assert total.returncode == 0 and total.stdout.splitlines()[1] == "900", total.stderr


@pytest.mark.slow
def test_a_shard_killed_and_run_again_still_merges_to_the_same_report(jira, workdir):
    root = _world(jira, workdir)
    single = run_cli([], inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "single")))
    assert single.returncode == 0, single.stderr
    for i in (0, 2):
        assert run_cli([], _shard_env(jira, root, workdir, i)).returncode == 0
    slow = _shard_env(jira, root, workdir, 1, INSPECTOR_MAX_ROWS_PER_SECOND="100", INSPECTOR_BATCH_SIZE="10")
    proc = subprocess.Popen([sys.executable, "-m", "inspector"], env=slow, stderr=subprocess.DEVNULL)
    state = workdir / "shard-1.sqlite"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        time.sleep(0.2)
        try:
            with sqlite3.connect(state) as conn:
                if conn.execute("SELECT count(*) FROM results").fetchone()[0] >= 60:
                    break
        except sqlite3.Error:
            pass
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    env = inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    unfinished = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    assert unfinished.returncode == 6 and "shard 1" in unfinished.stderr and "not finished" in unfinished.stderr
    again = run_cli([], _shard_env(jira, root, workdir, 1))
    assert again.returncode == 0, again.stderr
    assert "resuming pass" in again.stderr
    merged = run_cli(["report", "--merge", *(str(workdir / f"shard-{i}.sqlite") for i in range(SHARDS))], env)
    assert merged.returncode == 0, merged.stderr
    assert _comparable(workdir / "merged") == _comparable(workdir / "single")


def test_sets_that_do_not_belong_together_are_refused(jira, workdir):
    root = _world(jira, workdir)
    for i in range(SHARDS):
        assert run_cli([], _shard_env(jira, root, workdir, i)).returncode == 0
    other = dict(
        _shard_env(jira, root, workdir, 0), INSPECTOR_SHARDS="2", INSPECTOR_STATE_DB=str(workdir / "two.sqlite")
    )
    assert run_cli([], other).returncode == 0
    env = inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    shard = [str(workdir / f"shard-{i}.sqlite") for i in range(SHARDS)]
    cases = [
        (shard[:2], "shard 2 of 3 is missing"),
        ([shard[0], shard[1], shard[1]], "shard 2 of 3 is missing"),  # the same file twice counts once
        ([shard[0], shard[1], str(workdir / "two.sqlite")], "is shard 0 of 2"),
        ([*shard, str(workdir / "nothing-*.sqlite")], "no state file matches"),
    ]
    for files, words in cases:
        result = run_cli(["report", "--merge", *files], env)
        errors = [line for line in result.stderr.splitlines() if line.startswith("inspector: error")]
        assert result.returncode == 6 and len(errors) == 1 and words in errors[0], (files, result.stderr)
    dup = workdir / "copy-of-1.sqlite"
    dup.write_bytes(Path(shard[1]).read_bytes())
    twice = run_cli(["report", "--merge", shard[0], shard[1], str(dup), shard[2]], env)
    assert twice.returncode == 6 and "shard 1 is there twice" in twice.stderr
    for column, value, words in (("attachments_root", "/elsewhere", "checked /elsewhere"),
                                 ("source", "other@db:5432/jira", "read other@db:5432/jira")):  # fmt: skip
        foreign = workdir / f"foreign-{column}.sqlite"
        foreign.write_bytes(Path(shard[2]).read_bytes())
        with sqlite3.connect(foreign) as conn:
            conn.execute(f"UPDATE passes SET {column} = ?", (value,))
        result = run_cli(["report", "--merge", shard[0], shard[1], str(foreign)], env)
        assert result.returncode == 6 and f"shard 2 ({foreign})" in result.stderr and words in result.stderr
    wrong = run_cli([], dict(_shard_env(jira, root, workdir, 0), JOB_COMPLETION_INDEX="3"))
    assert wrong.returncode == 2 and "INSPECTOR_SHARD_INDEX: '3' (from JOB_COMPLETION_INDEX)" in wrong.stderr


def test_duplicates_across_shards_are_found_by_the_merge(jira, workdir):
    root = _world(jira, workdir)
    single = run_cli(["--hash"], inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "single")))
    assert single.returncode == 0, single.stderr
    for i in range(SHARDS):
        shard = run_cli(["--hash"], _shard_env(jira, root, workdir, i))
        assert shard.returncode == 0, shard.stderr
    env = inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    partial = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    assert partial.returncode == 0, partial.stderr
    within = (workdir / "merged/duplicates.txt").read_text().splitlines()
    merged = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite"), "--hash"], env)
    assert merged.returncode == 0, merged.stderr
    assert _comparable(workdir / "merged") == _comparable(workdir / "single")
    assert len(within) < len((workdir / "single/duplicates.txt").read_text().splitlines())  # the shards alone miss some


def test_restore_from_the_merged_state(jira, workdir):
    from .helpers import restore_world

    w = restore_world(jira, workdir, attachments=150)
    for i in range(SHARDS):
        env = dict(w.env, INSPECTOR_SHARDS=str(SHARDS), JOB_COMPLETION_INDEX=str(i),
                   INSPECTOR_STATE_DB=str(workdir / f"shard-{i}.sqlite"))  # fmt: skip
        assert run_cli([], env).returncode == 0
    merged_env = dict(w.env, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    assert run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], merged_env).returncode == 0
    env = dict(merged_env, INSPECTOR_STATE_DB=str(workdir / "merged/merged-state.sqlite"))
    result = run_cli(["restore", "--from", str(w.backup), "--apply"], env)
    assert result.returncode == 0, result.stderr
    for aid in w.copied:
        assert (w.root / w.paths[aid]).is_file()
    with sqlite3.connect(workdir / "merged/merged-state.sqlite") as conn:
        restored = {r[0] for r in conn.execute("SELECT id FROM restores WHERE status = 'restored'")}
    assert restored == w.copied
    # A merge again while a restore works from the merged state: refused, the state left whole.
    from inspector.state import exclusive

    with exclusive(workdir / "merged/merged-state.sqlite"):
        again = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], merged_env)
    assert again.returncode == 4 and "another inspector" in again.stderr, again.stderr
    with sqlite3.connect(workdir / "merged/merged-state.sqlite") as conn:
        assert {r[0] for r in conn.execute("SELECT id FROM restores WHERE status = 'restored'")} == w.copied


def test_the_merge_joins_only_shards_of_one_run(jira, workdir):
    """Today's shard 0 with last week's shard 1 would show the files uploaded in between as
    orphans: shards of different INSPECTOR_RUN_IDs are refused, naming each shard's run."""
    root = workdir / "attachments"
    world.build(jira.admin_dsn, root, world.WorldSpec(attachments=90, seed=12))
    for i in range(SHARDS):
        run = "job-b" if i == 1 else "job-a"
        assert run_cli([], _shard_env(jira, root, workdir, i, INSPECTOR_RUN_ID=run)).returncode == 0
    env = inspector_env(jira, root, workdir, INSPECTOR_REPORT_DIR=str(workdir / "merged"))
    mixed = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    lines = mixed.stderr.strip().splitlines()
    assert mixed.returncode == 6 and len(lines) == 1, mixed.stderr
    assert "shard 0: job-a" in lines[0] and "shard 1: job-b" in lines[0] and "different runs" in lines[0]
    assert run_cli([], _shard_env(jira, root, workdir, 1, INSPECTOR_RUN_ID="job-a")).returncode == 0
    one = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    assert one.returncode == 0, one.stderr
    assert f"merged  {SHARDS} shards; one run, INSPECTOR_RUN_ID job-a" in one.stdout, one.stdout
    assert orjson.loads((workdir / "merged/summary.json").read_bytes())["run_id"] == "job-a"
    # Without run ids: said, and passes more than a day apart refused.
    for i in range(SHARDS):
        assert run_cli([], _shard_env(jira, root, workdir, i)).returncode == 0
    unchecked = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    assert unchecked.returncode == 0 and "could not be checked" in unchecked.stderr, unchecked.stderr
    # ...in the merged summary too, where the admin reads it (the log line is gone by then).
    assert "INSPECTOR_RUN_ID: that they are one run could not be checked" in unchecked.stdout, unchecked.stdout
    assert orjson.loads((workdir / "merged/summary.json").read_bytes())["run_id"] is None
    with sqlite3.connect(workdir / "shard-2.sqlite") as conn:
        conn.execute("UPDATE passes SET finished_at = '2020-01-01T00:00:00+00:00' "
                     "WHERE pass_id = (SELECT max(pass_id) FROM passes)")  # fmt: skip
    stale = run_cli(["report", "--merge", str(workdir / "shard-*.sqlite")], env)
    assert stale.returncode == 6 and "more than a day apart" in stale.stderr, stale.stderr


def test_without_shards_the_share_test_is_gone_before_planning(jira, workdir):
    """PostgreSQL guesses that an equality on an expression keeps one row in 200: with
    ``mod(id, 1) = 0`` in the plan it planned every segment for a few hundred rows (the
    projects joined by a scan of all of them per row). Unsharded, the test is folded away; a
    shard keeps it."""
    from inspector import sqlfiles

    world.build(jira.admin_dsn, workdir / "attachments", world.WorldSpec(attachments=300))
    segment = sqlfiles.load("postgres/attachments_segment")

    def plan(shards: int, shard: int) -> str:
        params = {"after": 0, "until": 10**18 - 1, "limit": 100, "shards": shards, "shard": shard}
        return "\n".join(r[0] for r in jira.execute("EXPLAIN " + segment, params))

    assert "mod(" not in plan(1, 0)
    assert "mod(" in plan(SHARDS, 1)
