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
