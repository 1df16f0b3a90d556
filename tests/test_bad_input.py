"""Bad input to the commands that read the state: one clear line and the documented exit code,
never a traceback (each of these printed one before)."""

from __future__ import annotations

import pytest

from jiraworld import world

from .helpers import inspector_env, run_cli


@pytest.fixture(scope="module")
def scanned(cluster, tmp_path_factory):
    """A state file with one finished pass of a small world."""
    import uuid

    from jiraworld.pgcluster import create_jira_database

    from .helpers import JiraDB

    name = f"jira_{uuid.uuid4().hex[:10]}"
    create_jira_database(cluster, name, template="jira_template")
    jira = JiraDB(cluster, name)
    base = tmp_path_factory.mktemp("bad-input")
    base.chmod(0o755)
    world.build(jira.admin_dsn, base / "attachments", world.WorldSpec(attachments=60, seed=5))
    env = inspector_env(jira, base / "attachments", base)
    result = run_cli([], env)
    assert result.returncode == 0, result.stderr
    return env


def _one_line(result, code: int) -> str:
    assert result.returncode == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("inspector: error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


@pytest.mark.parametrize("sql", ["", "   ", "-- only a comment", "/* a comment */ ;", ";"])
def test_an_empty_query_is_refused(scanned, sql):
    line = _one_line(run_cli(["report", "--sql", sql], scanned), 6)
    assert "the query is empty" in line


@pytest.mark.parametrize("pass_id", ["99", "0", "-1"])
def test_a_pass_that_does_not_exist_is_named(scanned, pass_id):
    for args in (["report", "--pass", pass_id], ["report", "--pass", pass_id, "--sql", "SELECT count(*) FROM missing"]):
        line = _one_line(run_cli(args, scanned), 6)
        assert f"--pass {pass_id}: " in line and "holds no such pass (passes kept: 1)" in line


def test_a_pass_that_exists_still_answers(scanned):
    result = run_cli(["report", "--pass", "1", "--sql", "SELECT count(*) AS n FROM attachments", "--format", "csv"],
                     scanned)  # fmt: skip
    assert result.returncode == 0 and result.stdout.splitlines() == ["n", "60"]


def test_help_names_the_file_variables_and_every_view():
    general = run_cli(["--help"], {})
    assert "(or INSPECTOR_DB_DSN_FILE)" in general.stdout and "(or DB_DSN_FILE)" not in general.stdout
    text = " ".join(run_cli(["report", "--help"], {}).stdout.split())
    for view in ("file_hashes", "duplicates", "duplicate_groups", "storage_by_project", "storage_by_type",
                 "storage_by_author", "storage_by_year", "largest_attachments", "largest_issues"):  # fmt: skip
        assert view in text, view
