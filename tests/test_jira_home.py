"""INSPECTOR_JIRA_HOME: one variable, Jira's own files read as Jira reads them (dbconfig.xml,
cluster.properties, filestore-config.xml), explicit variables winning, a bad home one line."""

from __future__ import annotations

import base64
import os

import pytest

from inspector.config import config
from inspector.errors import ConfigError
from jiraworld import world

from .helpers import inspector_env, report_files, run_cli

DBCONFIG = """<?xml version="1.0" encoding="UTF-8"?>
<jira-database-config>
  <name>defaultDS</name>
  <delegator-name>default</delegator-name>
  <database-type>{kind}</database-type>
  <schema-name>{schema}</schema-name>
  <jdbc-datasource>
    <url>{url}</url>
    <driver-class>org.postgresql.Driver</driver-class>
    <username>{user}</username>
    <password>{password}</password>{cipher}
    <pool-min-size>20</pool-min-size>
  </jdbc-datasource>
</jira-database-config>
"""


def _home(folder, url, user="jiradbuser", password="", kind="postgres72", schema="public", cipher=None):
    folder.mkdir(parents=True, exist_ok=True)
    provider = (
        f"\n    <atlassian-password-cipher-provider>{cipher}</atlassian-password-cipher-provider>" if cipher else ""
    )
    (folder / "dbconfig.xml").write_text(DBCONFIG.format(kind=kind, schema=schema, url=url, user=user,
                                                         password=password, cipher=provider))  # fmt: skip
    return folder


def _from(monkeypatch, **variables):
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return config.from_env()


@pytest.mark.parametrize(
    ("url", "dsn"),
    [
        ("jdbc:postgresql://db.example:5433/jiradb", "postgresql://jiradbuser:pw%26x@db.example:5433/jiradb"),
        ("jdbc:postgresql://db.example/jiradb?sslmode=require", "postgresql://jiradbuser:pw%26x@db.example/jiradb"),
        (
            "jdbc:mysql://db.example:3306/jiradb?useUnicode=true&amp;characterEncoding=UTF8&amp;sessionVariables="
            "default_storage_engine=InnoDB",
            "mysql://jiradbuser:pw%26x@db.example:3306/jiradb",
        ),
        (
            "jdbc:mysql://address=(protocol=tcp)(host=db.example)(port=3307)/jiradb?sessionVariables="
            "transaction_isolation='READ-COMMITTED'",
            "mysql://jiradbuser:pw%26x@db.example:3307/jiradb",
        ),
    ],
)
def test_every_documented_jdbc_url_becomes_the_dsn(monkeypatch, workdir, url, dsn):
    home = _home(workdir / "home", url, password="pw&amp;x")
    (workdir / "home/data/attachments").mkdir(parents=True)
    cfg = _from(monkeypatch, INSPECTOR_JIRA_HOME=str(home))
    assert cfg.db_dsn.replace("password=", "") in (dsn, dsn.replace(":pw%26x", "")) or "pw&x" in cfg.db_dsn
    assert cfg.db_target.startswith("jiradbuser@db.example")
    assert cfg.attachments_root == str(home / "data/attachments")
    assert any("dbconfig.xml" in said for said in cfg.from_home) and "pw" not in " ".join(cfg.from_home)


def test_the_shared_home_a_base64_password_and_explicit_variables_winning(monkeypatch, workdir):
    shared = workdir / "shared"
    (shared / "data/attachments").mkdir(parents=True)
    home = _home(workdir / "home", "jdbc:postgresql://db.example:5432/jiradb",
                 password=base64.b64encode(b"s3cret").decode(),
                 cipher="com.atlassian.db.config.password.ciphers.base64.Base64Cipher")  # fmt: skip
    (home / "cluster.properties").write_text(f"jira.node.id = node1\njira.shared.home = {shared}\n")
    cfg = _from(monkeypatch, INSPECTOR_JIRA_HOME=str(home))
    assert cfg.attachments_root == str(shared / "data/attachments")
    assert "s3cret" in cfg.db_dsn and "s3cret" not in cfg.db_target
    # The image's INSPECTOR_ATTACHMENTS_ROOT=/attachments unset with an empty value: the home's.
    cfg = _from(monkeypatch, INSPECTOR_ATTACHMENTS_ROOT="")
    assert cfg.attachments_root == str(shared / "data/attachments")
    elsewhere = workdir / "elsewhere"
    elsewhere.mkdir()
    cfg = _from(monkeypatch, INSPECTOR_ATTACHMENTS_ROOT=str(elsewhere), INSPECTOR_DB_DSN="postgresql://me@h/db")
    assert cfg.attachments_root == str(elsewhere) and cfg.db_dsn.startswith("postgresql://me@h/db")


def test_attachments_in_s3_only_when_filestore_config_says_so(monkeypatch, workdir):
    home = _home(workdir / "home", "jdbc:postgresql://db.example/jiradb")
    (home / "data/attachments").mkdir(parents=True)
    avatars_only = ('<filestore-config><filestores><s3-filestore id="s"><config><bucket-name>b</bucket-name>'
                    '<region>eu-west-1</region></config></s3-filestore></filestores><associations>'
                    '<association target="avatars" file-store="s"/></associations></filestore-config>')  # fmt: skip
    (home / "filestore-config.xml").write_text(avatars_only)
    assert _from(monkeypatch, INSPECTOR_JIRA_HOME=str(home)).attachments_root == str(home / "data/attachments")
    (home / "filestore-config.xml").write_text(avatars_only.replace('target="avatars"', 'target="attachments"'))
    cfg = config.from_env()
    assert cfg.attachments_root == "s3://b/attachments" and cfg.s3_region == "eu-west-1"


@pytest.mark.parametrize(
    ("kind", "url", "cipher", "said"),
    [
        (
            "mssql",
            "jdbc:sqlserver://db:1433;databaseName=jiradb",
            None,
            "run `inspector export-query sqlserver --schema dbo`",
        ),
        ("oracle10g", "jdbc:oracle:thin:@db:1521:ORCL", None, "run `inspector export-query oracle --schema dbo`"),
        (
            "postgres72",
            "jdbc:postgresql://db/jiradb",
            "com.atlassian.db.config.password.ciphers.algorithm.AlgorithmCipher",
            "give it with INSPECTOR_DB_PASSWORD_FILE",
        ),
        ("postgres72", "jdbc:db2://db/jiradb", None, "is not one this reads"),
    ],
)
def test_a_home_that_cannot_be_used_is_one_line(monkeypatch, workdir, kind, url, cipher, said):
    home = _home(workdir / "home", url, kind=kind, schema="dbo", password="x", cipher=cipher)
    with pytest.raises(ConfigError) as caught:
        _from(monkeypatch, INSPECTOR_JIRA_HOME=str(home))
    text = str(caught.value)
    assert "\n" not in text and text.startswith("INSPECTOR_JIRA_HOME: ") and said in text, text
    (home / "dbconfig.xml").write_text("<jira-database-config><url>")
    with pytest.raises(ConfigError, match=r"dbconfig\.xml is not XML"):
        config.from_env()
    with pytest.raises(ConfigError, match="is not a folder"):
        _from(monkeypatch, INSPECTOR_JIRA_HOME=str(workdir / "nope"))


def _home_against_explicit(jira, tree, workdir):
    """A scan with the explicit variables (in a/) and one with INSPECTOR_JIRA_HOME alone (in b/):
    both succeed with the same report; the second's run is returned."""
    (workdir / "a").mkdir()
    (workdir / "b").mkdir()
    explicit = run_cli([], inspector_env(jira, tree, workdir / "a"))
    assert explicit.returncode == 0, explicit.stderr
    env = inspector_env(jira, tree, workdir / "b", INSPECTOR_JIRA_HOME=str(workdir / "home"))
    del env["INSPECTOR_DB_DSN"], env["INSPECTOR_ATTACHMENTS_ROOT"]
    from_home = run_cli([], env)
    assert from_home.returncode == 0, from_home.stderr
    assert report_files(workdir / "b/report") == report_files(workdir / "a/report")
    return from_home


def test_one_variable_scans_as_the_explicit_ones_do(jira, workdir):
    """A home whose dbconfig.xml names the test database: the same report as the variables give."""
    tree = workdir / "home/data/attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=300, seed=81))
    port = jira.cluster.port
    _home(workdir / "home", f"jdbc:postgresql://127.0.0.1:{port}/{jira.name}", user="inspector_ro")
    one = _home_against_explicit(jira, tree, workdir)
    assert "INSPECTOR_JIRA_HOME: the database inspector_ro@127.0.0.1" in one.stderr
    assert os.path.isfile(workdir / "b/report/summary.json")


def test_links_go_to_jiras_own_base_url_where_the_login_may_read_it(jira, workdir):
    tree = workdir / "attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=80, seed=82))
    jira.execute("INSERT INTO propertyentry (id, entity_name, entity_id, property_key, propertytype) "
                 "VALUES (9001, 'jira.properties', 1, 'jira.baseurl', 5)")  # fmt: skip
    jira.execute("INSERT INTO propertystring (id, propertyvalue) VALUES (9001, 'https://jira.acme.test/')")
    env = inspector_env(jira, tree, workdir)
    del env["INSPECTOR_JIRA_URL"]
    # A login granted only the three tables (the README's) cannot read it: the placeholder, no error.
    plain = run_cli([], env)
    assert plain.returncode == 0, plain.stderr
    assert (workdir / "report/missing.txt").read_text().startswith("http://jira.invalid/secure/attachment/")
    jira.execute("GRANT SELECT ON propertyentry, propertystring TO inspector_ro")
    granted = run_cli(["--fresh"], env)
    assert granted.returncode == 0, granted.stderr
    assert "links go to https://jira.acme.test: Jira's base URL, from its database" in granted.stderr
    lines = (workdir / "report/missing.txt").read_text().splitlines()
    assert lines and all(line.startswith("https://jira.acme.test/secure/attachment/") for line in lines)
    # INSPECTOR_JIRA_URL set wins.
    explicit = run_cli(["--fresh"], dict(env, INSPECTOR_JIRA_URL="https://other.example"))
    assert explicit.returncode == 0 and "links go to" not in explicit.stderr
    assert (workdir / "report/missing.txt").read_text().startswith("https://other.example/secure/attachment/")


def test_a_custom_attachments_path_in_jiras_database_replaces_the_homes_guess(jira, workdir):
    """jira.path.attachments with the default directory turned off: the home's data/attachments
    is empty, the real tree is elsewhere; a root set by the admin still wins."""
    tree = workdir / "custom/attachments"
    world.build(jira.admin_dsn, tree, world.WorldSpec(attachments=120, seed=83))
    (workdir / "home/data/attachments").mkdir(parents=True)
    _home(workdir / "home", f"jdbc:postgresql://127.0.0.1:{jira.cluster.port}/{jira.name}", user="inspector_ro")
    for pid, key, table, value in (
        (9101, "jira.path.attachments", "propertystring", f"'{tree}'"),
        (9102, "jira.path.attachments.use.default.directory", "propertynumber", "0"),
    ):
        jira.execute(
            f"INSERT INTO propertyentry (id, entity_name, entity_id, property_key, propertytype) "
            f"VALUES ({pid}, 'jira.properties', 1, '{key}', 5)"
        )
        jira.execute(f"INSERT INTO {table} (id, propertyvalue) VALUES ({pid}, {value})")
    jira.execute("GRANT SELECT ON propertyentry, propertystring, propertynumber TO inspector_ro")
    from_db = _home_against_explicit(jira, tree, workdir)
    assert f"attachments in {tree}: the custom path in Jira's database" in from_db.stderr
