"""The first hour of a new admin: a wrong attachments root is caught before it becomes a report
of "399 of 400 missing", and the settings an admin mistypes get a line that says what is wrong."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from jiraworld import world

from .helpers import ids_in, inspector_env, run_cli


def _refused(result, *words: str) -> str:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector: error: INSPECTOR_ATTACHMENTS_ROOT "), result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def built(jira, workdir):
    home = workdir / "home"
    expected = world.build(jira.admin_dsn, home / "data/attachments", world.WorldSpec(attachments=120, seed=3))
    return home, expected


def test_an_empty_folder_an_unmounted_share_is_refused_before_any_report(jira, workdir, built):
    empty = workdir / "mnt/jira-shared"  # the mount point, its share not mounted
    empty.mkdir(parents=True)
    result = run_cli([], inspector_env(jira, empty, workdir))
    line = _refused(result, str(empty), "nothing is mounted on it", "Nothing was scanned")
    assert f"{empty}/" in line  # one folder that was expected there, by name
    assert not (workdir / "report").exists() and not (workdir / "state.sqlite").exists()


def test_an_empty_mounted_file_system_is_named_as_such(jira, workdir, built):
    mount = workdir / "mnt/share"
    mount.mkdir(parents=True)
    if subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(mount)], capture_output=True).returncode:
        pytest.skip("cannot mount a tmpfs here (not privileged)")
    try:
        _refused(run_cli([], inspector_env(jira, mount, workdir)), "The mounted file system is empty")
    finally:
        subprocess.run(["umount", str(mount)], check=True)


def test_a_root_one_level_off_names_the_right_one(jira, workdir, built):
    home, _ = built
    _refused(
        run_cli([], inspector_env(jira, home, workdir)), f"one level too high: set it to {home / 'data/attachments'}"
    )
    project = next(p for p in (home / "data/attachments").iterdir() if p.is_dir())
    _refused(run_cli([], inspector_env(jira, project, workdir)), f"one level too deep: set it to {project.parent}")


def test_a_root_with_some_projects_gone_is_scanned_and_reported(jira, workdir, built):
    """Only a root that holds none of them is refused: a lost project is what the report is for."""
    home, expected = built
    root = home / "data/attachments"
    projects = sorted(p for p in root.iterdir() if p.is_dir())
    shutil.rmtree(projects[0])
    result = run_cli([], inspector_env(jira, root, workdir))
    assert result.returncode == 0, result.stderr
    assert len(ids_in(workdir / "report/missing.txt")) > len(expected.missing)


def test_permissions_evaluated_for_root_are_warned_about(jira, workdir, built):
    home, _ = built
    root = home / "data/attachments"
    os.chown(root, 0, 0)  # the owner the account is taken from when INSPECTOR_JIRA_UID is not set
    warned = run_cli([], inspector_env(jira, root, workdir))
    assert warned.returncode == 0, warned.stderr
    assert "evaluated for uid 0 (root" in warned.stderr and "INSPECTOR_JIRA_UID" in warned.stderr
    (workdir / "again").mkdir()
    told = run_cli([], inspector_env(jira, root, workdir / "again", INSPECTOR_JIRA_UID="0", INSPECTOR_JIRA_GID="0"))
    assert told.returncode == 0 and "evaluated for uid 0" not in told.stderr  # said on purpose: not warned


# --- messages that say what is wrong -------------------------------------------------------
def _config_errors(monkeypatch, root, **variables: str) -> dict[str, str]:
    from inspector.config import config
    from inspector.errors import ConfigError

    monkeypatch.setenv("INSPECTOR_DB_DSN", "postgresql://inspector@db.example/jira")
    monkeypatch.setenv("INSPECTOR_ATTACHMENTS_ROOT", str(root))
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        config.from_env()
    return dict(line.split(": ", 1) for line in str(caught.value).splitlines())


def test_a_value_that_does_not_parse_is_repeated_and_a_window_says_which_part_is_wrong(monkeypatch, workdir):
    said = _config_errors(monkeypatch, workdir, INSPECTOR_CHECKERS="abc", INSPECTOR_WINDOWS="25:00-26:00",
                          INSPECTOR_TZ="Europe/Berln", INSPECTOR_BATCH_SIZE="0")  # fmt: skip
    assert said["INSPECTOR_CHECKERS"] == "not a valid integer, got 'abc'"
    assert said["INSPECTOR_WINDOWS"] == "'25:00-26:00': the start hour 25 is out of range (00-23; midnight is 00:00)"
    assert said["INSPECTOR_BATCH_SIZE"] == "must be at least 1, got 0"
    said = _config_errors(monkeypatch, workdir, INSPECTOR_WINDOWS="22:00-06:75")
    assert said["INSPECTOR_WINDOWS"] == "'22:00-06:75': the end minute 75 is out of range (00-59)"
    said = _config_errors(monkeypatch, workdir, INSPECTOR_WINDOWS="10pm-6am")
    assert said["INSPECTOR_WINDOWS"] == "'10pm-6am' is not HH:MM-HH:MM (24-hour clock)"


@pytest.mark.parametrize("dsn", ["host=db.example port=abc dbname=jira", "postgresql://u:secret@db.example:99999/j"])
def test_a_dsn_port_that_is_no_number_is_a_configuration_error_found_before_connecting(workdir, dsn):
    import time

    env = {k: v for k, v in os.environ.items() if not k.startswith(("INSPECTOR_", "PG"))}
    env.update(INSPECTOR_DB_DSN=dsn, INSPECTOR_ATTACHMENTS_ROOT=str(workdir), INSPECTOR_STATE_DB=str(workdir / "s"))
    started = time.monotonic()
    result = run_cli([], env)
    assert time.monotonic() - started < 10  # not retried as "failed to resolve host" for the connect timeout
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "INSPECTOR_DB_DSN: port '" in lines[0] and "is not a port number" in lines[0], lines
    assert "secret" not in result.stderr


def test_a_mistyped_variable_is_warned_about_naming_the_closest_one(jira, workdir, built):
    home, _ = built
    env = inspector_env(jira, home / "data/attachments", workdir, INSPECTOR_CHECKER="4", INSPECTOR_STATE="x",
                        INSPECTOR_COLOUR="1")  # fmt: skip
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    warnings = [line for line in result.stderr.splitlines() if "is not a setting of the inspector" in line]
    assert len(warnings) == 3, result.stderr
    assert any("INSPECTOR_CHECKER " in w and "did you mean INSPECTOR_CHECKERS?" in w for w in warnings)
    assert any("INSPECTOR_STATE " in w and "did you mean INSPECTOR_STATE_DB?" in w for w in warnings)
    assert any("INSPECTOR_COLOUR " in w and "inspector --help lists them" in w for w in warnings)


def test_a_scan_the_lock_refuses_says_only_that(jira, workdir, built):
    from inspector.state import exclusive

    home, _ = built
    env = inspector_env(jira, home / "data/attachments", workdir)
    with exclusive(workdir / "state.sqlite"):
        result = run_cli([], env)
    assert result.returncode == 4, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "another inspector" in lines[0] and "scanning" not in result.stderr, lines


def test_hashing_shows_its_progress_in_bytes_with_the_rate_and_what_remains(jira, workdir, built):
    home, _ = built
    env = inspector_env(jira, home / "data/attachments", workdir, INSPECTOR_PROGRESS_INTERVAL="0.2",
                        INSPECTOR_HASH_MAX_MBPS="0.03")  # fmt: skip
    result = run_cli(["--hash"], env)
    assert result.returncode == 0, result.stderr
    import re

    started = re.search(r"hashing (\d+) files \(first and last 64 KiB\): ([\d.]+ \w+) to read", result.stderr)
    assert started and int(started[1]) > 0, result.stderr
    lines = re.findall(r"hashing \d+ files \(first and last 64 KiB\): [\d.]+ \w+ of ([\d.]+ \w+) read, "
                       r"[\d.]+ \w+/s(, about \d+ s left)?", result.stderr)  # fmt: skip
    assert lines and all(total == started[2] for total, _ in lines), result.stderr


def test_building_a_large_demo_world_says_how_far_it_is(jira, workdir, capsys):
    from inspector.commands.demo import _Shown

    world.build(jira.admin_dsn, workdir / "big", world.WorldSpec(attachments=2500, seed=4), progress=_Shown(2500, 0))
    out = capsys.readouterr().out.splitlines()
    assert out == [f"building the demo world: {n} of 2500 attachments written" for n in (1000, 2000)]


# --- what a clean run leaves, and help ---------------------------------------------------
def test_a_clean_run_leaves_no_lock_wal_or_shm_files(jira, workdir, built):
    home, _ = built
    result = run_cli([], inspector_env(jira, home / "data/attachments", workdir))
    assert result.returncode == 0, result.stderr
    beside = sorted(p.name for p in workdir.iterdir() if p.name.startswith("state.sqlite"))
    assert beside == ["state.sqlite"], beside
    assert not (workdir / "report/.lock").exists()
    again = run_cli(["report"], inspector_env(jira, home / "data/attachments", workdir))
    assert again.returncode == 0 and not (workdir / "report/.lock").exists(), again.stderr
    assert run_cli([], inspector_env(jira, home / "data/attachments", workdir)).returncode == 0  # WAL again


def test_a_lock_removed_on_release_is_never_held_twice(workdir):
    import threading

    from inspector.runtime import lockfile

    path = workdir / "state.sqlite.lock"
    first, _ = lockfile.take(path, wait=True)
    got = {}
    waiter = threading.Thread(target=lambda: got.setdefault("fd", lockfile.take(path, wait=True)[0]))
    waiter.start()  # it opens the first holder's file and waits on it
    import time

    time.sleep(0.2)
    lockfile.release(first, path)  # removed while held; the waiter then locks a removed file
    waiter.join(5)
    fd = got["fd"]
    assert os.stat(path).st_ino == os.fstat(fd).st_ino  # ...so it took the one at the path instead
    with pytest.raises(BlockingIOError):
        lockfile.take(path, wait=False)
    lockfile.release(fd, path)
    assert not path.exists()


def test_every_command_helps_with_its_own_usage():
    env = dict(os.environ)
    for command in ("status", "demo"):
        out = run_cli([command, "--help"], env).stdout
        description = out.split("\n\n")[1]
        assert len(description) > 60 and not description.startswith("options"), out
    report = run_cli(["report", "--help"], env).stdout
    for view in ("restores", "storage_by_status_category", "storage_by_staleness", "issue_facts", "duplicates"):
        assert view in report, view
    run = run_cli(["run", "--help"], env).stdout
    assert "INSPECTOR_DB_DSN" not in run and "inspector --help` lists them all" in run
    typo = run_cli(["run", "--frsh"], env)
    assert typo.returncode == 2 and "usage: inspector run " in typo.stderr
    assert "inspector run: error: unrecognized arguments: --frsh" in typo.stderr
